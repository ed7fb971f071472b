/** Resolving what a query names (a pod, a workload, a service, a label selector) to pods. */
import type { V1LabelSelector, V1Pod, V1Service } from '@kubernetes/client-node';
import type { PodInfo, World } from './world.js';
import type { PodRef, PortQuery, Protocol, Warning, Workload, WorkloadKind } from './model.js';
import { keyOf } from './model.js';
import { compileSelector, formatSelector } from './selector.js';

/** What TARGET or --from names. */
export type TargetSpec =
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'service'; namespace: string; name: string }
  | { kind: WorkloadKind; namespace: string; name: string }
  /** Pods matching a selector (undefined: every pod) in the given namespaces (undefined: every namespace). */
  | { kind: 'selector'; namespaces?: string[]; selector?: V1LabelSelector };

/** A query that names something the snapshot does not hold (a Service port, say). */
export class QueryError extends Error {}

/** What resolving names reads many times over one world: its pods per namespace and per owner (in the world's order), and its workloads by kind, namespace and name. */
interface TargetIndex {
  podsByNamespace: Map<string, PodInfo[]>;
  workloads: Map<string, Workload>;
  owned?: Map<string, PodInfo[]>;
}

const indexes = new WeakMap<World, TargetIndex>();

function indexOf(world: World): TargetIndex {
  let index = indexes.get(world);
  if (!index) {
    index = { podsByNamespace: new Map(), workloads: new Map() };
    for (const pod of world.pods) {
      const list = index.podsByNamespace.get(pod.ref.namespace);
      if (list) list.push(pod);
      else index.podsByNamespace.set(pod.ref.namespace, [pod]);
    }
    // The first of a kind, namespace and name, as a search in the snapshot's order finds it.
    for (const w of world.snapshot.workloads) {
      const key = `${w.kind}/${w.namespace}/${w.name}`;
      if (!index.workloads.has(key)) index.workloads.set(key, w);
    }
    indexes.set(world, index);
  }
  return index;
}

/** Pods by their owner (workloadOf) as `kind/namespace/name`, in the world's order; built on first use. */
function ownedBy(world: World): Map<string, PodInfo[]> {
  const index = indexOf(world);
  if (!index.owned) {
    index.owned = new Map();
    for (const pod of world.pods) {
      const owner = workloadOf(pod.pod);
      const key = `${owner.kind}/${pod.ref.namespace}/${owner.name}`;
      const list = index.owned.get(key);
      if (list) list.push(pod);
      else index.owned.set(key, [pod]);
    }
  }
  return index.owned;
}

/** The pods of the namespaces given (undefined: every pod), in the world's order. */
function podsOf(world: World, namespaces: string[] | undefined): readonly PodInfo[] {
  if (namespaces?.length === 1) return indexOf(world).podsByNamespace.get(namespaces[0]) ?? [];
  const inScope = namespaces ? new Set(namespaces) : undefined;
  return inScope ? world.pods.filter((p) => inScope.has(p.ref.namespace)) : world.pods;
}

function podsMatching(world: World, namespaces: string[] | undefined, selector: V1LabelSelector): PodRef[] {
  const compiled = compileSelector(selector);
  return podsOf(world, namespaces)
    .filter((p) => compiled.matches(p.pod.metadata?.labels ?? {}))
    .map((p) => p.ref);
}

/** Pods a spec names, in snapshot order; an empty list comes with a warning saying why. */
export function resolveTargets(world: World, spec: TargetSpec): { pods: PodRef[]; warnings: Warning[] } {
  const none = (message: string) => ({ pods: [], warnings: [{ code: 'no-target' as const, message }] });
  if (spec.kind === 'selector') {
    const pods = podsMatching(world, spec.namespaces, spec.selector ?? {});
    const where = spec.namespaces ? `namespace ${spec.namespaces.join(', ')}` : 'any namespace';
    if (pods.length > 0) return { pods, warnings: [] };
    const text = spec.selector ? formatSelector(spec.selector) : '';
    return none(text ? `no pods in ${where} match the selector ${text}` : `no pods in ${where}`);
  }
  const ref = `${spec.kind.toLowerCase()} ${keyOf(spec)}`;
  if (spec.kind === 'pod') {
    const pod = world.podsByKey.get(keyOf(spec));
    return pod ? { pods: [pod.ref], warnings: [] } : none(`pod ${keyOf(spec)} not found`);
  }
  if (spec.kind === 'service') {
    const service = world.snapshot.services.find(
      (s) => s.metadata?.namespace === spec.namespace && s.metadata?.name === spec.name,
    );
    if (!service) return none(`service ${keyOf(spec)} not found`);
    const selector = service.spec?.selector;
    // A Service without a selector has no pods of its own (its endpoints are managed by hand).
    if (!selector || Object.keys(selector).length === 0) return none(`service ${keyOf(spec)} has no pod selector`);
    const pods = podsMatching(world, [spec.namespace], { matchLabels: selector });
    return pods.length ? { pods, warnings: [] } : none(`service ${keyOf(spec)} selects no pods`);
  }
  const workload = indexOf(world).workloads.get(`${spec.kind}/${spec.namespace}/${spec.name}`);
  let pods: PodRef[];
  if (workload?.selector) pods = podsMatching(world, [spec.namespace], workload.selector);
  else {
    pods = (ownedBy(world).get(`${spec.kind}/${spec.namespace}/${spec.name}`) ?? []).map((p) => p.ref);
  }
  if (pods.length) return { pods, warnings: [] };
  return none(workload ? `${ref} has no pods` : `${ref} not found`);
}

/**
 * A Service port (number or name, optional protocol) resolved to what its pods receive:
 * spec.ports[].targetPort, a number or a container port name. Throws QueryError when the Service has no such port.
 */
export function resolveServicePort(
  world: World,
  service: { namespace: string; name: string },
  port: number | string,
  protocol?: Protocol,
): PortQuery {
  const mappings = servicePorts(world, service);
  const match = mappings.find(
    (m) =>
      (typeof port === 'number' ? m.port === port : m.name === port) &&
      (protocol === undefined || m.target.protocol === protocol),
  );
  if (!match) {
    const known = mappings.map((m) => `${m.name ? `${m.name}:` : ''}${m.port}/${m.target.protocol}`);
    throw new QueryError(
      `service ${keyOf(service)} has no port ${port}${protocol ? `/${protocol}` : ''} (it has ${known.join(', ') || 'none'})`,
    );
  }
  return match.target;
}

/** A Service port and what its pods receive (ServicePort.targetPort, defaulting to port). */
interface ServicePortMapping {
  service: { namespace: string; name: string };
  /** The Service port, and its name when it has one. */
  port: number;
  name?: string;
  /** What the pods receive: a number, or a container port name resolved on each pod. */
  target: PortQuery;
}

function mappingsOf(service: V1Service): ServicePortMapping[] {
  const ref = { namespace: service.metadata?.namespace ?? 'default', name: service.metadata?.name ?? '' };
  return (service.spec?.ports ?? []).map((p) => {
    const target = p.targetPort ?? p.port;
    const mapping: ServicePortMapping = {
      service: ref,
      port: p.port,
      target: {
        port: typeof target === 'string' && /^\d+$/.test(target) ? Number(target) : target,
        protocol: (p.protocol ?? 'TCP') as Protocol,
      },
    };
    if (p.name) mapping.name = p.name;
    return mapping;
  });
}

/** Every port of a Service, mapped to what its pods receive (through a Service, no other port is reached). */
export function servicePorts(world: World, service: { namespace: string; name: string }): ServicePortMapping[] {
  const svc = world.snapshot.services.find(
    (s) => s.metadata?.namespace === service.namespace && s.metadata?.name === service.name,
  );
  if (!svc) throw new QueryError(`service ${keyOf(service)} not found`);
  return mappingsOf(svc);
}

/**
 * Services that take `port` (of this protocol) to another port of the target pods, where the pods
 * declare no container port `port`: who asks about a pod on a Service's port likely meant the Service.
 */
export function serviceMappingsOfPort(world: World, targets: PodRef[], port: PortQuery): ServicePortMapping[] {
  if (typeof port.port !== 'number') return [];
  const pods = targets.map((t) => world.podsByKey.get(keyOf(t))?.pod).filter((p): p is V1Pod => p !== undefined);
  const declares = pods.some((pod) =>
    (pod.spec?.containers ?? []).some((c) =>
      (c.ports ?? []).some((p) => p.containerPort === port.port && (p.protocol ?? 'TCP') === port.protocol),
    ),
  );
  if (declares) return [];
  const out: ServicePortMapping[] = [];
  for (const svc of world.snapshot.services) {
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const compiled = compileSelector({ matchLabels: selector });
    const namespace = svc.metadata?.namespace ?? 'default';
    const selects = pods.some(
      (pod) => (pod.metadata?.namespace ?? 'default') === namespace && compiled.matches(pod.metadata?.labels ?? {}),
    );
    if (!selects) continue;
    for (const m of mappingsOf(svc)) {
      if (m.port === port.port && m.target.protocol === port.protocol && m.target.port !== port.port) out.push(m);
    }
  }
  return out;
}

/** The workload that owns a pod (a ReplicaSet's Deployment when its pod-template-hash says so), or the pod itself. */
export function workloadOf(pod: V1Pod): { kind: string; name: string } {
  const owners = pod.metadata?.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller) ?? owners[0];
  if (!owner) return { kind: 'Pod', name: pod.metadata?.name ?? '' };
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  }
  return { kind: owner.kind, name: owner.name };
}

/** One warning per workload (or bare pod) whose pods lack the port name asked about, with their count. */
export function missingPortWarnings(pods: readonly PodInfo[], port: PortQuery): Warning[] {
  const byOwner = new Map<string, { label: string; count: number }>();
  for (const pod of pods) {
    const owner = workloadOf(pod.pod);
    const label =
      owner.kind === 'Pod' ? `pod ${keyOf(pod.ref)}` : `${owner.kind.toLowerCase()} ${pod.ref.namespace}/${owner.name}`;
    const entry = byOwner.get(label) ?? { label, count: 0 };
    entry.count++;
    byOwner.set(label, entry);
  }
  return [...byOwner.values()].map(({ label, count }) => ({
    code: 'unresolved-named-port' as const,
    message: `${label.startsWith('pod ') ? label : `${count} pod${count === 1 ? '' : 's'} of ${label}`} ${
      label.startsWith('pod ') || count === 1 ? 'has' : 'have'
    } no container port named "${port.port}" (${port.protocol}), so nothing reaches ${count === 1 ? 'it' : 'them'} on it`,
  }));
}
