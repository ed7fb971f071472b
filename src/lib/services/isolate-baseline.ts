/**
 * `isolate --baseline` between the command and the engine: the ClusterNetworkPolicy version the
 * cluster serves (or the refusal naming what it does serve), the policy, the world with and without
 * it (what it cuts, or with --off what removing it opens), the pods that stay reachable from outside
 * the cluster (which such a policy cannot deny), and the change to write.
 */
import { tierVersionsToRead } from '../cluster/tier-policies.js';
import type { ClusterObject, ClusterResource, ServedApiGroup } from '../cluster/types.js';
import { externalConnections } from '../engine/addresses.js';
import { BASELINE_PRIORITY, baselineNamespaces, buildBaselinePolicy } from '../engine/baseline.js';
import { compileWorld } from '../engine/compile.js';
import { diffReachability, type ReachabilityDiff } from '../engine/diff.js';
import { findDnsPeer, type DnsPeer } from '../engine/isolation.js';
import type { ClusterSnapshot } from '../engine/model.js';
import { TIER_API_GROUP, type ClusterTierPolicy } from '../engine/tiers-compile.js';
import { NetpolError, UsageError } from '../errors.js';
import { isManagedByUs, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ObjectChange, type WriteOutcome } from '../write.js';
import { previewOf, requireNamespaces, type IsolateOptions, type IsolatePreview } from './isolate.js';

/** The resource of ClusterNetworkPolicy (its CRD's plural). */
const PLURAL = 'clusternetworkpolicies';
/** What `-f` (no cluster to ask) writes: the newest version, the storage version of network-policy-api v0.3.0. */
const OFFLINE_VERSION = 'v1beta1';
/** The longest metadata.name (a DNS subdomain). */
const MAX_NAME = 253;

/** What `isolate --baseline` planned and did, as data. */
export interface BaselineResult {
  mode: 'baseline';
  off: boolean;
  /** The namespaces the policy is for (with --off: those its subject names). */
  namespaces: string[];
  name: string;
  resource: ClusterResource;
  /**
   * write: create or update ours; delete: --off removes ours; none: --off found nothing of that name;
   * foreign: --off found one kubectl-netpol did not create (left alone).
   */
  action: 'write' | 'delete' | 'none' | 'foreign';
  priority: number;
  egress: boolean;
  dns?: DnsPeer;
  diff: ReachabilityDiff;
  preview: IsolatePreview;
  /** Pods of the namespaces that still take traffic from some address outside the cluster after the change. */
  reachableFromOutside: number;
  outcomes: WriteOutcome<ClusterObject>[];
}

/** The default name: one per set of namespaces, `netpol-baseline-` and their names, sorted, joined by `-`. */
function baselineName(namespaces: readonly string[]): string {
  return `netpol-baseline-${[...new Set(namespaces)].sort().join('-')}`;
}

/**
 * Where to write: the newest ClusterNetworkPolicy version the cluster serves (v1beta1, else v1alpha2);
 * offline, v1beta1. Refuses, naming what the cluster serves, when it serves neither.
 */
function baselineResource(apiGroups: ServedApiGroup[] | undefined, isOffline: boolean): ClusterResource {
  const at = (version: string) => ({ group: TIER_API_GROUP, version, plural: PLURAL });
  if (isOffline) return at(OFFLINE_VERSION);
  const hint =
    'install the network-policy-api CRDs (v0.3.0 or later) with a network plugin that enforces them, or run isolate without --baseline to write NetworkPolicies';
  if (apiGroups === undefined) {
    throw new NetpolError(
      `cannot tell whether the cluster serves ClusterNetworkPolicy: the API groups it serves could not be read (forbidden); nothing was written`,
      1,
      'ask for get on /apis (discovery), or run isolate without --baseline',
    );
  }
  const group = apiGroups.find((g) => g.name === TIER_API_GROUP);
  const version = group ? tierVersionsToRead(group.versions).ClusterNetworkPolicy : undefined;
  if (version !== undefined) return at(version);
  const serves = group
    ? `it serves ${TIER_API_GROUP} ${group.versions.join(', ')} only`
    : `the API group ${TIER_API_GROUP} is absent`;
  throw new NetpolError(
    `the cluster does not serve ClusterNetworkPolicy (${TIER_API_GROUP} v1beta1 or v1alpha2): ${serves}; nothing was written`,
    1,
    hint,
  );
}

/** The plan: the result so far and the change that carries it out (none when there is nothing to do). */
export function planBaseline(
  snapshot: ClusterSnapshot,
  apiGroups: ServedApiGroup[] | undefined,
  namespaces: string[],
  options: IsolateOptions,
): { result: BaselineResult; changes: ObjectChange<ClusterObject>[] } {
  const off = options.mode === 'off';
  const priority = options.baseline?.priority ?? BASELINE_PRIORITY;
  const resource = baselineResource(apiGroups, options.isOffline);
  const name = options.baseline?.name ?? baselineName(namespaces);
  if (name.length > MAX_NAME) {
    throw new UsageError(
      `the default name ${name.slice(0, 40)}... is longer than ${MAX_NAME} characters`,
      'name the policy with --name',
    );
  }
  const world = compileWorld(snapshot);
  const existing = (snapshot.clusterPolicies ?? []).find(
    (p) => p.kind === 'ClusterNetworkPolicy' && p.metadata.name === name,
  );
  const ref = { namespace: '', name };
  let action: BaselineResult['action'];
  let covered = namespaces;
  let after = world;
  let changes: ObjectChange<ClusterObject>[] = [];
  const dns = !off && options.directions.includes('egress') && options.allowDns ? findDnsPeer(world) : undefined;
  if (off) {
    action = !existing ? 'none' : isManagedByUs(existing) ? 'delete' : 'foreign';
    if (action === 'delete') {
      covered = baselineNamespaces(existing!) ?? namespaces;
      after = compileWorld(withClusterPolicy(snapshot, name));
      changes = [{ action: 'delete', ref }];
    }
  } else {
    requireNamespaces(snapshot, namespaces, true);
    action = 'write';
    const policy = buildBaselinePolicy({
      name,
      namespaces,
      egress: options.directions.includes('egress'),
      dns,
      priority,
      apiVersion: `${resource.group}/${resource.version}`,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    });
    after = compileWorld(withClusterPolicy(snapshot, name, policy));
    changes = [{ action: 'apply', ref, object: policy as ClusterObject }];
  }
  const affected = after.pods.filter((p) => covered.includes(p.ref.namespace)).map((p) => p.ref);
  const diff = diffReachability(world, after, affected);
  const reachableFromOutside = after.pods.filter(
    (p) => covered.includes(p.ref.namespace) && externalConnections(after, p, 'ingress').length > 0,
  ).length;
  const result: BaselineResult = {
    mode: 'baseline',
    off,
    namespaces: covered,
    name,
    resource,
    action,
    priority,
    egress: options.directions.includes('egress'),
    dns,
    diff,
    preview: previewOf(world, diff, off ? 'opened' : 'cut'),
    reachableFromOutside,
    outcomes: [],
  };
  return { result, changes };
}

/** The snapshot with the cluster policy of that name replaced by `policy` (removed when undefined). */
function withClusterPolicy(snapshot: ClusterSnapshot, name: string, policy?: ClusterTierPolicy): ClusterSnapshot {
  const others = (snapshot.clusterPolicies ?? []).filter(
    (p) => !(p.kind === 'ClusterNetworkPolicy' && p.metadata.name === name),
  );
  return { ...snapshot, clusterPolicies: policy ? [...others, policy] : others };
}
