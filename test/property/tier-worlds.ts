/**
 * Generated clusters with the cluster tiers, shared by the tier differential test and diff's: v1
 * worlds (worlds.ts) with AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy of
 * every version and tier, every peer and port shape (rules that fail closed included), and host-network
 * pods on generated Node objects.
 */
import fc from 'fast-check';

import type { ClusterSnapshot, Protocol } from '../../src/lib/engine/model.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import { namespaceLabels, nsSelector, pod, podSelector, policy } from './worlds.js';

/** CIDRs over the generated pod addresses (10.0.<i%3>.<i+1>, fd00::<i*0x40>, 192.168.0.<i>), host bits set in some. */
export const NETWORKS = [
  '10.0.0.0/16',
  '10.0.1.0/24',
  '10.0.2.3/32',
  '10.0.1.7/24',
  '0.0.0.0/0',
  '192.168.0.0/30',
  'fd00::/64',
  'fd00::/121',
  'fd00::80/122',
  '::/0',
];

/** Port ranges (start < end) whose bounds meet the probes. */
const RANGES: [number, number][] = [
  [80, 81],
  [443, 8080],
  [8000, 9000],
  [1, 1024],
  [7000, 7777],
];
const NUMBERS = [53, 80, 81, 443, 7777, 8080, 9090];
const NAMES = ['http', 'dns', 'metrics', 'nope'];
const protocol = fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP');

type Kind = ClusterTierPolicy['kind'];
type Obj = Record<string, unknown>;

/** Namespace and pod selectors that often match: everything, one namespace by name, one app, or any generated selector. */
const tierNsSelector = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('a', 'b', 'c').map((n) => ({ matchLabels: { 'kubernetes.io/metadata.name': n } })),
  },
  { weight: 2, arbitrary: nsSelector },
);
const tierPodSelector = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  { weight: 2, arbitrary: fc.constantFrom('web', 'db').map((app) => ({ matchLabels: { app } })) },
  { weight: 2, arbitrary: podSelector },
);

/** Node selectors: every node, by role, or by the absence of a role. */
const nodeSelector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('a', 'b').map((role) => ({ matchLabels: { role } })),
  fc.constant({ matchExpressions: [{ key: 'role', operator: 'DoesNotExist' }] }),
  fc.constant({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['x'] }] }),
);

/**
 * Node objects n0..n2 (labels role, zone; an internal address 172.16.0.<i>, sometimes an external one
 * that is also a generated pod's IP, 10.0.<i%3>.<i+1>, and an IPv6 one fd00::1:<i>).
 */
const node = fc.record({
  labels: fc.dictionary(fc.constantFrom('role', 'zone'), fc.constantFrom('a', 'b', 'x'), { maxKeys: 2 }),
  external: fc.boolean(),
  v6: fc.boolean(),
});

/** Where a host-network pod runs: a node index (3: a node not in the snapshot), and how it is found. */
const placement = fc.record({ node: fc.integer({ min: 0, max: 3 }), byName: fc.boolean(), byIp: fc.boolean() });

/** A peer of a rule; `unknown` is a field no version knows (pruned by the API server: the peer fails closed). */
const peerOf = (kind: Kind, direction: 'ingress' | 'egress'): fc.Arbitrary<Obj> => {
  // NamespacedPod.namespaceSelector: required in v1alpha1, optional (empty: all namespaces) in v1alpha2.
  const namespaceSelector =
    kind === 'ClusterNetworkPolicy' ? fc.option(tierNsSelector, { nil: undefined }) : tierNsSelector;
  const common: fc.WeightedArbitrary<Obj>[] = [
    { weight: 4, arbitrary: tierNsSelector.map((namespaces) => ({ namespaces })) },
    {
      weight: 4,
      arbitrary: fc.tuple(namespaceSelector, tierPodSelector).map(([namespaces, podSel]) => ({
        pods: { ...(namespaces ? { namespaceSelector: namespaces } : {}), podSelector: podSel },
      })),
    },
    { weight: 1, arbitrary: fc.constant({ futurePeer: { everything: true } }) },
  ];
  if (direction === 'ingress') return fc.oneof(...common);
  return fc.oneof(
    ...common,
    {
      weight: 4,
      arbitrary: fc
        .uniqueArray(fc.constantFrom(...NETWORKS), { minLength: 1, maxLength: 3 })
        .map((networks) => ({ networks })),
    },
    { weight: 3, arbitrary: nodeSelector.map((nodes) => ({ nodes })) },
    { weight: 1, arbitrary: fc.constant({ domainNames: ['example.com', '*.example.org'] }) },
  );
};

/** A port entry of the kind's shape (v1alpha1 ports or v1alpha2 protocols); sometimes one no version knows. */
const portOf = (kind: Kind): fc.Arbitrary<Obj> => {
  const unknown = { weight: 1, arbitrary: fc.constant<Obj>({ futurePort: 1 }) };
  const range = fc.constantFrom(...RANGES);
  if (kind !== 'ClusterNetworkPolicy')
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.option(protocol, { nil: undefined }), fc.constantFrom(...NUMBERS))
          .map(([p, port]) => ({ portNumber: { ...(p ? { protocol: p } : {}), port } })),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.option(protocol, { nil: undefined }), range)
          .map(([p, [start, end]]) => ({ portRange: { ...(p ? { protocol: p } : {}), start, end } })),
      },
      { weight: 3, arbitrary: fc.constantFrom(...NAMES).map((namedPort) => ({ namedPort })) },
      unknown,
    );
  return fc.oneof(
    {
      weight: 7,
      arbitrary: fc
        .tuple(
          fc.constantFrom('tcp', 'udp', 'sctp'),
          fc.oneof(
            fc.constantFrom(...NUMBERS).map((number) => ({ number })),
            range.map(([start, end]) => ({ range: { start, end } })),
          ),
        )
        .map(([p, destinationPort]) => ({ [p]: { destinationPort } })),
    },
    { weight: 3, arbitrary: fc.constantFrom(...NAMES).map((destinationNamedPort) => ({ destinationNamedPort })) },
    unknown,
  );
};

const ACTIONS: Record<Kind, string[]> = {
  AdminNetworkPolicy: ['Allow', 'Deny', 'Pass'],
  BaselineAdminNetworkPolicy: ['Allow', 'Deny'],
  ClusterNetworkPolicy: ['Accept', 'Deny', 'Pass'],
};

/** A rule; an egress rule with networks, nodes or domainNames peers keeps no named port (the CRD rejects that). */
const ruleOf = (kind: Kind, direction: 'ingress' | 'egress') =>
  fc
    .record(
      {
        name: fc.constantFrom('r', 'allow-web', 'deny-db', ''),
        action: fc.constantFrom(...ACTIONS[kind]),
        peers: fc.array(peerOf(kind, direction), { minLength: 1, maxLength: 2 }),
        ports: fc.array(portOf(kind), { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: ['action', 'peers'] },
    )
    .map(({ name, action, peers, ports }) => {
      const addressPeers = peers.some((p) => p.networks ?? p.nodes ?? p.domainNames);
      const kept = addressPeers
        ? ports?.filter((p) => p.namedPort === undefined && p.destinationNamedPort === undefined)
        : ports;
      const rule: Obj = { action, [direction === 'ingress' ? 'from' : 'to']: peers };
      if (name) rule.name = name;
      if (kept?.length) rule[kind === 'ClusterNetworkPolicy' ? 'protocols' : 'ports'] = kept;
      return rule;
    });

/** spec.subject: namespaces, or pods (namespaceSelector optional in v1alpha2). */
const subjectOf = (kind: Kind) =>
  fc.oneof(
    tierNsSelector.map((namespaces) => ({ namespaces })),
    fc
      .tuple(tierNsSelector, tierPodSelector)
      .map(([namespaceSelector, podSel]) => ({ pods: { namespaceSelector, podSelector: podSel } })),
    ...(kind === 'ClusterNetworkPolicy' ? [tierPodSelector.map((podSel) => ({ pods: { podSelector: podSel } }))] : []),
  );

/** One tier policy of any kind and version; priorities from a small set, so that equal ones are common. */
export const tierPolicy = fc
  .record({
    version: fc.constantFrom('anp', 'banp', 'cnp-v1alpha2', 'cnp-v1beta1'),
    tier: fc.constantFrom('Admin', 'Baseline'),
    priority: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, fc.constantFrom(0, 5, 1000)),
    ingress: fc.boolean(),
    egress: fc.boolean(),
  })
  .chain(({ version, tier, priority, ingress, egress }) => {
    const kind: Kind =
      version === 'anp'
        ? 'AdminNetworkPolicy'
        : version === 'banp'
          ? 'BaselineAdminNetworkPolicy'
          : 'ClusterNetworkPolicy';
    return fc
      .record({
        subject: subjectOf(kind),
        ingress: ingress ? fc.array(ruleOf(kind, 'ingress'), { maxLength: 3 }) : fc.constant(undefined),
        egress: egress ? fc.array(ruleOf(kind, 'egress'), { maxLength: 3 }) : fc.constant(undefined),
      })
      .map(({ subject, ingress: inRules, egress: outRules }) => {
        const spec: Obj = { subject };
        if (kind === 'ClusterNetworkPolicy') spec.tier = tier;
        if (kind !== 'BaselineAdminNetworkPolicy') spec.priority = priority;
        if (inRules) spec.ingress = inRules;
        if (outRules) spec.egress = outRules;
        const apiVersion = `policy.networking.k8s.io/${version === 'cnp-v1beta1' ? 'v1beta1' : version === 'cnp-v1alpha2' ? 'v1alpha2' : 'v1alpha1'}`;
        return { apiVersion, kind, metadata: { name: '' }, spec } as ClusterTierPolicy;
      });
  });

export const tierWorld = fc
  .record({
    namespaceLabels,
    pods: fc.array(
      // Host-network pods, some alike but for their node (a DaemonSet's): classes must still tell them apart.
      fc
        .tuple(pod, fc.integer({ min: 0, max: 7 }))
        .map(([p, n]) =>
          n === 0
            ? { ...p, hostNetwork: true }
            : n <= 2
              ? { ...p, namespace: 'a', labels: { app: 'agent' }, ips: [], hostNetwork: true }
              : p,
        ),
      { minLength: 2, maxLength: 6 },
    ),
    policies: fc.array(policy, { maxLength: 3 }),
    clusterPolicies: fc.array(tierPolicy, { minLength: 1, maxLength: 5 }),
    nodes: fc.array(node, { maxLength: 3 }),
    placements: fc.array(placement, { minLength: 6, maxLength: 6 }),
    nodesUnreadable: fc.oneof(
      { weight: 9, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    nodesListedEmpty: fc.boolean(),
  })
  .map((w) => {
    // Names: unique across kinds; the one BaselineAdminNetworkPolicy a cluster may hold is `default`.
    let hasBaseline = false;
    const clusterPolicies = w.clusterPolicies.flatMap((p, i) => {
      if (p.kind !== 'BaselineAdminNetworkPolicy')
        return [{ ...p, metadata: { name: `${p.kind === 'AdminNetworkPolicy' ? 'anp' : 'cnp'}${i}` } }];
      if (hasBaseline) return [];
      hasBaseline = true;
      return [{ ...p, metadata: { name: 'default' } }];
    });
    return { ...w, clusterPolicies };
  });

/** The Node objects of a generated world, and its host-network pods placed on them (nodeName, hostIP). */
export function withNodes(
  snapshot: ClusterSnapshot,
  w: {
    nodes: { labels: Record<string, string>; external: boolean; v6: boolean }[];
    placements: { node: number; byName: boolean; byIp: boolean }[];
    nodesUnreadable: boolean;
    nodesListedEmpty: boolean;
  },
): ClusterSnapshot {
  const nodes = w.nodes.map((n, i) => ({
    name: `n${i}`,
    labels: { ...n.labels },
    addresses: [`172.16.0.${i}`, ...(n.external ? [`10.0.${i % 3}.${i + 1}`] : []), ...(n.v6 ? [`fd00::1:${i}`] : [])],
  }));
  const pods = snapshot.pods.map((p, i) => {
    const at = w.placements[i];
    if (!p.spec?.hostNetwork || !at) return p;
    const hostIP = at.byIp ? (nodes[at.node]?.addresses[0] ?? `172.16.0.${at.node}`) : undefined;
    return {
      ...p,
      spec: { ...p.spec, ...(at.byName ? { nodeName: `n${at.node}` } : {}) },
      status: { ...p.status, ...(hostIP ? { hostIP } : {}) },
    };
  });
  return {
    ...snapshot,
    pods,
    // No Node objects: absent (none read: nodes peers fail closed) or listed empty (they select none).
    ...(nodes.length || w.nodesListedEmpty ? { nodes } : {}),
    ...(w.nodesUnreadable ? { nodesUnreadable: true } : {}),
  };
}

/** Every CIDR written in a snapshot's policies (ipBlock cidr and except, networks). */
export function cidrsOf(snapshot: ClusterSnapshot): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string' && /^[0-9a-f.:]+\/\d+$/.test(value)) found.add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach(walk);
  };
  walk([snapshot.policies, snapshot.clusterPolicies]);
  // Node addresses: where a nodes peer's addresses begin and end.
  for (const n of snapshot.nodes ?? []) for (const a of n.addresses) found.add(`${a}/${a.includes(':') ? 128 : 32}`);
  return [...found];
}
