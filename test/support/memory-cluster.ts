/**
 * An in-memory cluster behind the same interface as the live one (ClusterConnection/ClusterApi), for
 * command tests: NetworkPolicy writes change its snapshot, `dryRun: 'All'` validates without storing,
 * and errors come as the live loader maps them (404 not found, 409 conflict, 403 forbidden naming verb and
 * resource). Failures can be injected per call. Cluster-scoped objects (ClusterNetworkPolicy) are
 * kept in the snapshot's clusterPolicies; `apiGroups` is what discovery would list.
 */
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';

import { toTypedPolicy } from '../../src/lib/cluster/policy-shape.js';
import type {
  ClusterApi,
  ClusterConnection,
  ClusterObject,
  ClusterResource,
  LoadedSnapshot,
  ServedApiGroup,
  SnapshotScope,
  WriteOptions,
} from '../../src/lib/cluster/types.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import type { ClusterSnapshot } from '../../src/lib/engine/model.js';
import { ApiError } from '../../src/lib/errors.js';
import { hasNodesPeer } from '../../src/lib/engine/tiers-compile.js';

/** The verbs the API calls use, as RBAC names them. */
type Verb = 'list' | 'get' | 'create' | 'update' | 'delete';

/** One API call as the memory cluster saw it. */
interface ApiCall {
  verb: Verb;
  resource: 'namespaces' | 'networkpolicies' | 'clusternetworkpolicies';
  namespace?: string;
  name?: string;
  dryRun: boolean;
}

/** A failure to inject: the first calls matching `match` (all when `times` is undefined) fail with `error`. */
interface Injected {
  match: (call: ApiCall) => boolean;
  error: (call: ApiCall) => Error;
  times?: number;
}

const clone = <T>(value: T): T => structuredClone(value);

/** A ClusterConnection over a snapshot held in memory. */
export class MemoryCluster implements ClusterConnection {
  contextName = 'memory';
  server = 'https://memory.invalid';
  defaultNamespace: string;
  readonly snapshot: ClusterSnapshot;
  /** Every API call made, in order (snapshot loads are not API calls here). */
  readonly calls: ApiCall[] = [];
  readonly api: ClusterApi;
  /** The user named in 403 messages. */
  user: string;
  private readonly injected: Injected[] = [];
  private readonly forbiddenLoads: { verb: Verb; resource: string }[] = [];
  private resourceVersion = 1000;
  /** What discovery lists (GET /apis); undefined: not readable. */
  apiGroups?: ServedApiGroup[];

  constructor(
    snapshot: ClusterSnapshot,
    opts: { defaultNamespace?: string; user?: string; apiGroups?: ServedApiGroup[] } = {},
  ) {
    this.apiGroups = opts.apiGroups;
    this.snapshot = clone(snapshot);
    // The API server holds every policy in one shape, as snapshots do (`_from`).
    this.snapshot.policies = this.snapshot.policies.map(toTypedPolicy);
    for (const policy of this.snapshot.policies) this.stamp(policy, 'kubectl-client-side-apply');
    this.defaultNamespace = opts.defaultNamespace ?? 'default';
    this.user = opts.user ?? 'tester';
    this.api = this.makeApi();
  }

  /** Makes calls matching `match` fail with `error` (the first `times` of them, or all). */
  failOn(
    match: Partial<ApiCall> | ((call: ApiCall) => boolean),
    error: (call: ApiCall) => Error,
    times?: number,
  ): this {
    const test =
      typeof match === 'function'
        ? match
        : (call: ApiCall) => Object.entries(match).every(([key, value]) => call[key as keyof ApiCall] === value);
    this.injected.push({ match: test, error, times });
    return this;
  }

  /** Refuses `verb` on `resource` to this user, as RBAC would: a 403 naming both. */
  forbid(verb: Verb, resource: 'namespaces' | 'networkpolicies'): this {
    this.forbiddenLoads.push({ verb, resource });
    return this.failOn({ verb, resource }, (call) => this.forbidden(verb, resource, call.namespace));
  }

  /** A 403 worded as the API server words it, mapped as live.ts maps it. */
  forbidden(verb: string, resource: string, namespace?: string): ApiError {
    const group = resource === 'networkpolicies' ? 'networking.k8s.io' : '';
    const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
    const server = `${resource} is forbidden: User "${this.user}" cannot ${verb} resource "${resource}" in API group "${group}"${scope}`;
    const qualified = group ? `${resource}.${group}` : resource;
    const isRead = verb === 'list' || verb === 'get';
    return new ApiError(
      `forbidden: user "${this.user}" cannot ${verb} resource "${resource}" in API group "${group}"${scope}`,
      403,
      server,
      `ask for ${verb} on ${qualified}${isRead ? ' or use -f to read manifests' : ''}`,
    );
  }

  /** The policies stored now, as `ns/name` sorted. */
  policyKeys(): string[] {
    return this.snapshot.policies.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();
  }

  /** One stored policy. */
  policy(namespace: string, name: string): V1NetworkPolicy | undefined {
    return this.find(namespace, name);
  }

  async loadSnapshot(scope: SnapshotScope): Promise<LoadedSnapshot> {
    for (const { verb, resource } of this.forbiddenLoads) {
      if (verb === 'list') throw this.forbidden('list', resource);
    }
    const inScope = (ns: string | undefined) => !scope.namespaces || scope.namespaces.includes(ns ?? 'default');
    const s = this.snapshot;
    return {
      snapshot: clone({
        namespaces: s.namespaces,
        pods: s.pods.filter((p) => inScope(p.metadata?.namespace)),
        policies: s.policies.filter((p) => inScope(p.metadata?.namespace)),
        services: s.services.filter((p) => inScope(p.metadata?.namespace)),
        workloads: s.workloads.filter((w) => inScope(w.namespace)),
        ...(s.clusterPolicies?.length ? { clusterPolicies: s.clusterPolicies } : {}),
        // As the live loader: Nodes only when a cluster policy's nodes peer, or the scope, asks for them.
        ...(s.nodes && (scope.nodes === true || (s.clusterPolicies ?? []).some(hasNodesPeer))
          ? { nodes: s.nodes }
          : {}),
      }),
      warnings: [],
      ...(this.apiGroups ? { apiGroups: clone(this.apiGroups) } : {}),
    };
  }

  private record(call: ApiCall): void {
    this.calls.push(call);
    for (const injected of this.injected) {
      if (injected.times === 0 || !injected.match(call)) continue;
      if (injected.times !== undefined) injected.times--;
      throw injected.error(call);
    }
  }

  private find(namespace: string, name: string): V1NetworkPolicy | undefined {
    return this.snapshot.policies.find((p) => p.metadata?.namespace === namespace && p.metadata?.name === name);
  }

  private requireNamespace(name: string): V1Namespace {
    const ns = this.snapshot.namespaces.find((n) => n.metadata?.name === name);
    if (!ns) throw new ApiError(`namespace "${name}" not found`, 404, `namespaces "${name}" not found`);
    return ns;
  }

  private stamp(policy: V1NetworkPolicy, fieldManager: string): void {
    policy.metadata ??= {};
    policy.metadata.uid ??= `uid-${this.resourceVersion}`;
    policy.metadata.resourceVersion = String(++this.resourceVersion);
    policy.metadata.creationTimestamp ??= new Date(0);
    policy.metadata.managedFields = [
      { manager: fieldManager, operation: 'Update', apiVersion: 'networking.k8s.io/v1' },
    ];
  }

  /** What the API server stores: typed ingress rules (`_from`), apiVersion and kind set. */
  private normalize(namespace: string, body: V1NetworkPolicy): V1NetworkPolicy {
    const policy = clone(body);
    policy.apiVersion = 'networking.k8s.io/v1';
    policy.kind = 'NetworkPolicy';
    policy.metadata = { ...policy.metadata, namespace };
    for (const rule of policy.spec?.ingress ?? []) {
      const plain = rule as { from?: unknown; _from?: unknown };
      if (plain.from !== undefined) {
        plain._from ??= plain.from;
        delete plain.from;
      }
    }
    return policy;
  }

  private makeApi(): ClusterApi {
    const np = 'networkpolicies' as const;
    return {
      listNamespaces: async () => {
        this.record({ verb: 'list', resource: 'namespaces', dryRun: false });
        return clone(this.snapshot.namespaces);
      },
      readNamespace: async (name) => {
        this.record({ verb: 'get', resource: 'namespaces', name, dryRun: false });
        return clone(this.requireNamespace(name));
      },
      listNetworkPolicies: async (namespace) => {
        this.record({ verb: 'list', resource: np, namespace, dryRun: false });
        return clone(this.snapshot.policies.filter((p) => !namespace || p.metadata?.namespace === namespace));
      },
      readNetworkPolicy: async (namespace, name) => {
        this.record({ verb: 'get', resource: np, namespace, name, dryRun: false });
        const found = this.find(namespace, name);
        return found ? clone(found) : undefined;
      },
      createNetworkPolicy: async (namespace, body, opts: WriteOptions = {}) => {
        const name = body.metadata?.name ?? '';
        this.record({ verb: 'create', resource: np, namespace, name, dryRun: opts.dryRun === 'All' });
        this.requireNamespace(namespace);
        if (this.find(namespace, name)) {
          const message = `networkpolicies.networking.k8s.io "${name}" already exists`;
          throw new ApiError(`conflict: ${message}`, 409, message);
        }
        const policy = this.normalize(namespace, body);
        delete policy.metadata!.resourceVersion;
        this.stamp(policy, opts.fieldManager ?? 'unknown');
        if (opts.dryRun !== 'All') this.snapshot.policies.push(clone(policy));
        return policy;
      },
      replaceNetworkPolicy: async (namespace, name, body, opts: WriteOptions = {}) => {
        this.record({ verb: 'update', resource: np, namespace, name, dryRun: opts.dryRun === 'All' });
        const current = this.find(namespace, name);
        if (!current) {
          throw new ApiError(
            `networkpolicy "${name}" not found in namespace "${namespace}"`,
            404,
            `networkpolicies.networking.k8s.io "${name}" not found`,
          );
        }
        const wanted = body.metadata?.resourceVersion;
        if (wanted !== undefined && wanted !== current.metadata?.resourceVersion) {
          const message = `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`;
          throw new ApiError(`conflict: ${message}`, 409, message);
        }
        const policy = this.normalize(namespace, body);
        policy.metadata!.uid = current.metadata?.uid;
        policy.metadata!.creationTimestamp = current.metadata?.creationTimestamp;
        this.stamp(policy, opts.fieldManager ?? 'unknown');
        if (opts.dryRun !== 'All')
          this.snapshot.policies.splice(this.snapshot.policies.indexOf(current), 1, clone(policy));
        return policy;
      },
      deleteNetworkPolicy: async (namespace, name, opts = {}) => {
        this.record({ verb: 'delete', resource: np, namespace, name, dryRun: opts.dryRun === 'All' });
        const current = this.find(namespace, name);
        if (!current) {
          throw new ApiError(
            `networkpolicy "${name}" not found in namespace "${namespace}"`,
            404,
            `networkpolicies.networking.k8s.io "${name}" not found`,
          );
        }
        if (opts.dryRun !== 'All') this.snapshot.policies.splice(this.snapshot.policies.indexOf(current), 1);
      },
      ...this.makeClusterObjectApi(),
    };
  }

  /** The cluster-scoped objects stored now, by name. */
  clusterObject(name: string): ClusterTierPolicy | undefined {
    return this.snapshot.clusterPolicies?.find((p) => p.metadata.name === name);
  }

  /** Cluster-scoped objects, held as the snapshot's clusterPolicies (one kind: ClusterNetworkPolicy). */
  private makeClusterObjectApi(): Pick<
    ClusterApi,
    'readClusterObject' | 'createClusterObject' | 'replaceClusterObject' | 'deleteClusterObject'
  > {
    const resource = 'clusternetworkpolicies' as const;
    const stored = () => (this.snapshot.clusterPolicies ??= []);
    const notFound = (r: ClusterResource, name: string) =>
      new ApiError(`${r.plural} "${name}" not found`, 404, `${r.plural}.${r.group} "${name}" not found`);
    const store = (r: ClusterResource, body: ClusterObject, dryRun: boolean): ClusterObject => {
      const object = clone(body);
      object.metadata.resourceVersion = String(++this.resourceVersion);
      const policy = { ...object, kind: 'ClusterNetworkPolicy', apiVersion: `${r.group}/${r.version}` };
      if (!dryRun) {
        const at = stored().findIndex((p) => p.metadata.name === body.metadata.name);
        stored().splice(at < 0 ? stored().length : at, at < 0 ? 0 : 1, policy as ClusterTierPolicy);
      }
      return policy;
    };
    return {
      readClusterObject: async (_r, name) => {
        this.record({ verb: 'get', resource, name, dryRun: false });
        const found = this.clusterObject(name);
        return found ? (clone(found) as ClusterObject) : undefined;
      },
      createClusterObject: async (r, body, opts: WriteOptions = {}) => {
        const name = body.metadata.name;
        this.record({ verb: 'create', resource, name, dryRun: opts.dryRun === 'All' });
        if (this.clusterObject(name)) {
          const message = `${r.plural}.${r.group} "${name}" already exists`;
          throw new ApiError(`conflict: ${message}`, 409, message);
        }
        return store(r, body, opts.dryRun === 'All');
      },
      replaceClusterObject: async (r, name, body, opts: WriteOptions = {}) => {
        this.record({ verb: 'update', resource, name, dryRun: opts.dryRun === 'All' });
        if (!this.clusterObject(name)) throw notFound(r, name);
        return store(r, body, opts.dryRun === 'All');
      },
      deleteClusterObject: async (r, name, opts = {}) => {
        this.record({ verb: 'delete', resource, name, dryRun: opts.dryRun === 'All' });
        const current = this.clusterObject(name);
        if (!current) throw notFound(r, name);
        if (opts.dryRun !== 'All') stored().splice(stored().indexOf(current), 1);
      },
    };
  }
}
