/**
 * Generated small clusters, and the comparison of the engine's answers with a reference evaluator, for
 * the differential property suites (NetworkPolicy v1 alone: differential.test.ts; with the cluster
 * tiers: tiers-differential.test.ts): namespaces, pods with labels, IPv4 and IPv6 addresses and
 * container ports, NetworkPolicies using every feature of the API, and the probe ports asked about.
 */
import fc from 'fast-check';
import type {
  V1LabelSelector,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Pod,
} from '@kubernetes/client-node';

import { toTypedPolicy } from '../../src/lib/cluster/policy-shape.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { ClusterSnapshot, Decision, PortQuery, Protocol } from '../../src/lib/engine/model.js';
import { formatPortSet, portSetContains } from '../../src/lib/engine/ports.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import { podOf, reachablePairs, whoCanPairs } from '../support/pairs.js';
import type { RefPod } from '../support/reference-evaluator.js';

export const NAMESPACES = ['a', 'b', 'c'];
const POD_KEYS = ['app', 'tier'];
const NS_KEYS = ['env', 'kubernetes.io/metadata.name'];
const VALUES = ['web', 'db', 'a', 'b', 'prod', ''];

/** Container ports a pod may declare (names unique per pod, as the API requires). */
const CONTAINER_PORTS = [
  { name: 'http', containerPort: 80 },
  { name: 'http', containerPort: 8080 },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
  { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
  { name: 'assoc', containerPort: 7777, protocol: 'SCTP' },
  { name: 'http', containerPort: 81, protocol: 'UDP' },
];

/** Numeric probes: in and out of the generated ports and ranges, every protocol. */
export const NUMBER_PROBES: { port: number; protocol: Protocol }[] = [
  { port: 80, protocol: 'TCP' },
  { port: 81, protocol: 'TCP' },
  { port: 443, protocol: 'TCP' },
  { port: 8080, protocol: 'TCP' },
  { port: 9090, protocol: 'TCP' },
  { port: 65535, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 81, protocol: 'UDP' },
  { port: 7777, protocol: 'SCTP' },
];
export const NAMED_PROBES: { port: string; protocol: Protocol }[] = [
  { port: 'http', protocol: 'TCP' },
  { port: 'http', protocol: 'UDP' },
  { port: 'dns', protocol: 'UDP' },
];

const requirement = (keys: string[]) =>
  fc.oneof(
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('In', 'NotIn'),
      values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }),
    }),
    fc.record({ key: fc.constantFrom(...keys), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
  );

const selectorOver = (keys: string[], values: string[] = VALUES): fc.Arbitrary<V1LabelSelector> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant({}) },
    {
      weight: 4,
      arbitrary: fc
        .record(
          {
            matchLabels: fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), {
              minKeys: 1,
              maxKeys: 2,
            }),
            matchExpressions: fc.array(requirement(keys), { minLength: 1, maxLength: 2 }),
          },
          { requiredKeys: [] },
        )
        .map((s) => s as V1LabelSelector),
    },
  );

export const nsSelector = selectorOver(NS_KEYS, [...VALUES, ...NAMESPACES]);
export const podSelector = selectorOver(POD_KEYS);

/** ipBlocks over the generated pod IPs: v4 and v6, with excepts strictly inside. */
const ipBlock = fc.constantFrom<{ cidr: string; except?: string[] }>(
  { cidr: '10.0.0.0/16' },
  { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] },
  { cidr: '10.0.0.0/8', except: ['10.0.0.0/24', '10.0.2.0/25'] },
  { cidr: '0.0.0.0/0', except: ['10.0.1.0/24'] },
  { cidr: '10.0.1.7/24' },
  { cidr: 'fd00::/64', except: ['fd00::100/120'] },
  { cidr: 'fd00::/56' },
  { cidr: '::/0', except: ['fd00::/64'] },
  { cidr: '10.0.2.1/32' },
);

const peer: fc.Arbitrary<V1NetworkPolicyPeer> = fc.oneof(
  podSelector.map((p) => ({ podSelector: p })),
  nsSelector.map((n) => ({ namespaceSelector: n })),
  fc.tuple(podSelector, nsSelector).map(([p, n]) => ({ podSelector: p, namespaceSelector: n })),
  ipBlock.map((b) => ({ ipBlock: b })),
);

const port: fc.Arbitrary<V1NetworkPolicyPort> = fc.oneof(
  fc.record(
    { protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), port: fc.constantFrom(53, 80, 81, 443, 7777, 8080) },
    { requiredKeys: ['port'] },
  ),
  fc
    .tuple(
      fc.constantFrom(80, 443, 8000, 9000),
      fc.constantFrom(0, 1, 100, 1000),
      fc.constantFrom<Protocol>('TCP', 'UDP'),
    )
    .map(([from, span, protocol]) => ({ protocol, port: from, endPort: from + span })),
  fc.record(
    { protocol: fc.constantFrom<Protocol>('TCP', 'UDP'), port: fc.constantFrom('http', 'dns', 'metrics', 'nope') },
    { requiredKeys: ['port'] },
  ),
  fc.record({ protocol: fc.constantFrom<Protocol>('UDP', 'SCTP') }),
);

/** A rule: peers absent, empty or listed; ports absent, empty or listed. */
const rule = (peersField: 'from' | 'to') =>
  fc
    .record({
      peers: fc.oneof(fc.constant(undefined), fc.constant([]), fc.array(peer, { minLength: 1, maxLength: 2 })),
      ports: fc.oneof(fc.constant(undefined), fc.constant([]), fc.array(port, { minLength: 1, maxLength: 2 })),
    })
    .map(({ peers, ports }) => ({
      ...(peers !== undefined ? { [peersField]: peers } : {}),
      ...(ports !== undefined ? { ports } : {}),
    }));

export const policy = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES),
    podSelector: podSelector,
    policyTypes: fc.constantFrom(undefined, [], ['Ingress'], ['Egress'], ['Ingress', 'Egress'], ['Egress', 'Ingress']),
    ingress: fc.oneof(fc.constant(undefined), fc.array(rule('from'), { maxLength: 2 })),
    egress: fc.oneof(fc.constant(undefined), fc.array(rule('to'), { maxLength: 2 })),
  })
  .map(({ namespace, ...spec }) => ({ namespace, spec }));

export const pod = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  labels: fc.dictionary(fc.constantFrom(...POD_KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 }),
  ips: fc.constantFrom<('v4' | 'v6' | 'other')[][]>(['v4'], ['v6'], ['v4', 'v6'], [], ['other']),
  ports: fc.subarray([0, 1, 2, 3, 4, 5]).map((idx) => {
    // Names are unique per pod and protocol: keep the first of each.
    const seen = new Set<string>();
    return idx
      .map((i) => CONTAINER_PORTS[i])
      .filter((p) => {
        const key = `${p.name}/${p.protocol ?? 'TCP'}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
  }),
});

/** Labels of the namespaces a, b, c. */
export const namespaceLabels = fc.tuple(
  ...NAMESPACES.map(() =>
    fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('prod', 'dev', 'a'), { maxKeys: 2 }),
  ),
);

/** A generated cluster of pods and NetworkPolicies. */
export const world = fc.record({
  namespaceLabels,
  pods: fc.array(pod, { minLength: 2, maxLength: 7 }),
  policies: fc.array(policy, { maxLength: 4 }),
});

/** A generated cluster, before it is written as a snapshot. */
interface GeneratedWorld {
  namespaceLabels: Record<string, string>[];
  pods: ((typeof pod extends fc.Arbitrary<infer T> ? T : never) & { hostNetwork?: boolean })[];
  policies: (typeof policy extends fc.Arbitrary<infer T> ? T : never)[];
  clusterPolicies?: ClusterTierPolicy[];
}

/** The generated world as a ClusterSnapshot (pods named p0, p1, ...; IPs by index: 10.0.<i%3>.<i+1>, fd00::<i*0x40>, 192.168.0.<i>). */
export function toSnapshot(w: GeneratedWorld): ClusterSnapshot {
  const namespaces: V1Namespace[] = NAMESPACES.map((name, i) => ({
    metadata: { name, labels: { ...w.namespaceLabels[i] } },
  }));
  const pods: V1Pod[] = w.pods.map((p, i) => {
    const ips = p.ips.map((kind) =>
      kind === 'v4' ? `10.0.${i % 3}.${i + 1}` : kind === 'v6' ? `fd00::${(i * 0x40).toString(16)}` : `192.168.0.${i}`,
    );
    return {
      metadata: { name: `p${i}`, namespace: p.namespace, labels: { ...p.labels } },
      spec: {
        containers: [{ name: 'c', ports: p.ports.map((cp) => ({ ...cp })) }],
        ...(p.hostNetwork ? { hostNetwork: true } : {}),
      },
      status: ips.length
        ? { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) }
        : { phase: 'Pending' },
    } as V1Pod;
  });
  const policies = w.policies.map((p, i) => {
    const spec = Object.fromEntries(Object.entries(p.spec).filter(([, v]) => v !== undefined));
    const plain = { metadata: { name: `np${i}`, namespace: p.namespace }, spec } as unknown as V1NetworkPolicy;
    // As the snapshot builders hold every policy: `from` under `_from`.
    return toTypedPolicy(plain);
  });
  const snapshot: ClusterSnapshot = { namespaces, pods, policies, services: [], workloads: [] };
  if (w.clusterPolicies) snapshot.clusterPolicies = w.clusterPolicies;
  return snapshot;
}

const pairKey = (from: { namespace: string; name: string }, to: { namespace: string; name: string }) =>
  `${from.namespace}/${from.name}->${to.namespace}/${to.name}`;

/** What the engine is held against: a reference's pods (snapshot order, completed pods left out) and its verdict per pair and port. */
export interface Reference {
  readonly pods: RefPod[];
  allows(src: RefPod, dst: RefPod, port: number, protocol: Protocol): boolean;
}

/** The ports asked about: one by one (numbers and names), and those the all-ports answers are read at. */
interface Probes {
  numbers: { port: number; protocol: Protocol }[];
  names: { port: string; protocol: Protocol }[];
  allPorts: { port: number; protocol: Protocol }[];
}

/** How many pod pairs and (pair, port) questions a comparison asked. */
export interface Asked {
  pairs: number;
  questions: number;
}

/**
 * Compares the engine with a reference on every pod pair and probe, asked four ways (who-can and
 * reachable-from, each with and without --from/--to and --explain), then all ports at once both ways;
 * returns the first difference. `checkDecision` also looks at the decision of each pair of a one-port
 * answer with --explain (the port resolved on the destination).
 */
export function firstDifference(
  snapshot: ClusterSnapshot,
  reference: Reference,
  probes: Probes,
  asked: Asked = { pairs: 0, questions: 0 },
  checkDecision?: (
    src: RefPod,
    dst: RefPod,
    port: number,
    protocol: Protocol,
    decision: Decision,
  ) => string | undefined,
): string | undefined {
  const compiled = compileWorld(snapshot);
  const targets = compiled.pods.map((p) => p.ref);
  const refPods = reference.pods;
  const byKey = new Map(refPods.map((p) => [`${p.namespace}/${p.name}`, p]));
  asked.pairs += refPods.length * (refPods.length - 1);
  // The reference's verdicts, each computed once (the four ways of asking share them).
  const verdicts = new Map<string, boolean>();
  const allows = (src: RefPod, dst: RefPod, port: number, protocol: Protocol): boolean => {
    const key = `${src.index}>${dst.index}:${port}/${protocol}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = reference.allows(src, dst, port, protocol);
      verdicts.set(key, verdict);
      asked.questions++;
    }
    return verdict;
  };

  const check = (query: PortQuery, label: string, viaSources: boolean, outbound = false): string | undefined => {
    // Outbound: the same pairs asked the other way (reachable-from), every pod a source.
    const result = outbound
      ? reachablePairs(compiled, {
          sources: targets,
          port: query,
          ...(viaSources ? { destinations: targets, includeDenied: true } : {}),
        })
      : whoCanPairs(compiled, {
          targets,
          port: query,
          ...(viaSources ? { sources: targets, includeDenied: true } : {}),
        });
    const allowed = new Set<string>();
    for (const c of result.connections)
      if ('pod' in c.from && 'pod' in c.to) allowed.add(pairKey(c.from.pod, c.to.pod));
    const denied = new Set<string>();
    for (const c of result.denied) if ('pod' in c.from && 'pod' in c.to) denied.add(pairKey(c.from.pod, c.to.pod));
    if (viaSources && checkDecision) {
      for (const c of [...result.connections, ...result.denied]) {
        if (!('pod' in c.from) || !('pod' in c.to) || c.port === undefined) continue;
        const problem = checkDecision(
          byKey.get(`${c.from.pod.namespace}/${c.from.pod.name}`)!,
          byKey.get(`${c.to.pod.namespace}/${c.to.pod.name}`)!,
          c.port,
          c.protocol ?? query.protocol,
          c.decision,
        );
        if (problem)
          return `${label}${outbound ? ' outbound' : ''} (--explain): ${pairKey(c.from.pod, c.to.pod)} ${problem}`;
      }
    }
    for (const dst of refPods) {
      const number =
        typeof query.port === 'number'
          ? query.port
          : dst.ports.find((cp) => cp.name === query.port && (cp.protocol ?? 'TCP') === query.protocol)?.containerPort;
      for (const src of refPods) {
        if (src === dst) continue;
        const key = pairKey(src, dst);
        const expected = number !== undefined && allows(src, dst, number, query.protocol);
        if (allowed.has(key) !== expected) {
          return `${label}${outbound ? ' outbound' : ''}${viaSources ? ' (--from, --explain)' : ''}: ${key} engine ${allowed.has(key) ? 'allows' : 'denies'}, reference ${expected ? 'allows' : 'denies'}`;
        }
        // With --explain, every pair asked about is either allowed or denied (named ports the target lacks: neither).
        if (viaSources && number !== undefined && allowed.has(key) === denied.has(key)) {
          return `${label} (--explain): ${key} is ${allowed.has(key) ? 'both allowed and denied' : 'neither allowed nor denied'}`;
        }
      }
    }
    return undefined;
  };

  for (const probe of [...probes.numbers, ...probes.names]) {
    const label = `${probe.port}/${probe.protocol}`;
    const diff =
      check(probe, label, false) ??
      check(probe, label, true) ??
      check(probe, label, false, true) ??
      check(probe, label, true, true);
    if (diff) return diff;
  }
  // All ports at once: the port set of each allowed pair holds exactly the probes the reference allows.
  const all = whoCanPairs(compiled, { targets });
  const sets = new Map<string, (typeof all.connections)[number]['ports']>();
  for (const c of all.connections) if ('pod' in c.from) sets.set(pairKey(c.from.pod, podOf(c.to)), c.ports);
  // The same asked the other way: the outbound port sets are the inbound ones.
  const outbound = reachablePairs(compiled, { sources: targets });
  const outSets = new Map<string, (typeof all.connections)[number]['ports']>();
  for (const c of outbound.connections) if ('pod' in c.to) outSets.set(pairKey(podOf(c.from), c.to.pod), c.ports);
  for (const [key, ports] of outSets) {
    if (!sets.has(key)) return `all ports outbound: ${key} reached outbound only`;
    if (formatPortSet(ports!) !== formatPortSet(sets.get(key)!))
      return `all ports outbound: ${key} outbound ${formatPortSet(ports!)}, inbound ${formatPortSet(sets.get(key)!)}`;
  }
  if (outSets.size !== [...sets.keys()].length)
    return `all ports outbound: ${outSets.size} pairs, inbound ${sets.size}`;
  for (const dst of refPods) {
    for (const src of refPods) {
      if (src === dst) continue;
      const key = pairKey(src, dst);
      const ports = sets.get(key);
      for (const probe of probes.allPorts) {
        const expected = allows(src, dst, probe.port, probe.protocol);
        const actual = ports !== undefined && portSetContains(ports, probe.protocol, probe.port);
        if (actual !== expected) {
          return `all ports: ${key} on ${probe.port}/${probe.protocol} engine ${actual ? 'allows' : 'denies'}, reference ${expected ? 'allows' : 'denies'}`;
        }
      }
    }
  }
  return undefined;
}
