/**
 * Small generated clusters using every feature of the API (the differential suites' worlds): three
 * namespaces, pods with labels, IPs (v4, v6, none, outside the blocks) and named ports, and policies
 * with every kind of peer, port and policyTypes.
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
import type { ClusterSnapshot, Protocol } from '../../src/lib/engine/model.js';

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

const nsSelector = selectorOver(NS_KEYS, [...VALUES, ...NAMESPACES]);
const podSelector = selectorOver(POD_KEYS);

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

export const world = fc.record({
  namespaceLabels: fc.tuple(
    ...NAMESPACES.map(() =>
      fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('prod', 'dev', 'a'), { maxKeys: 2 }),
    ),
  ),
  pods: fc.array(pod, { minLength: 2, maxLength: 7 }),
  policies: fc.array(policy, { maxLength: 4 }),
});

type GeneratedWorld = typeof world extends fc.Arbitrary<infer T> ? T : never;

/** The generated world as a ClusterSnapshot (pods named p0, p1, ...; IPs by index). */
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
      spec: { containers: [{ name: 'c', ports: p.ports.map((cp) => ({ ...cp })) }] },
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
  return { namespaces, pods, policies, services: [], workloads: [] };
}

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
