/**
 * A plain, independent evaluator of the cluster-scoped tiers (AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy v1alpha1, ClusterNetworkPolicy v1alpha2 and v1beta1), one (source,
 * destination, port, protocol) at a time, from the raw objects. Written from the Go type comments of
 * kubernetes-sigs/network-policy-api (apis/v1alpha1/*_types.go, apis/v1alpha2/clusternetworkpolicy_types.go),
 * sharing no code with the engine (only its types); NetworkPolicy v1 is the other independent reference
 * (reference-evaluator.ts). Slow on purpose: the property tests hold the engine against it.
 *
 * Where the API text leaves a choice open, the reference makes the engine's (docs/semantics.md), each
 * said where it is made: same-priority policies in name order, a BaselineAdminNetworkPolicy at
 * priority 0, a `nodes` peer matches its nodes' addresses and the host-network pods on them (by node
 * name or address) and fails closed when the Node objects could not be read, `domainNames` match no
 * pod and no address, a `networks` CIDR matches a pod holding any address in it.
 */
import type { ClusterNode, ClusterSnapshot, Direction, Protocol } from '../../src/lib/engine/model.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import { cidrContains, parseAddress, ReferenceEvaluator, selectorMatches, type RefPod } from './reference-evaluator.js';

type Obj = Record<string, unknown>;
type Labels = Record<string, string>;

/** One end of the traffic: a pod of the snapshot, or one address outside the cluster. */
type TierRefEnd = { pod: RefPod } | { address: string };

/** Which layer decided a direction. */
type Layer = 'Admin' | 'NetworkPolicy' | 'Baseline' | 'default';

/** A rule of a policy, by kind, policy name, direction and index. */
export interface TierRefRule {
  kind: string;
  name: string;
  index: number;
  ruleName: string;
  action: 'Accept' | 'Deny' | 'Pass';
}

/** The verdict of one direction and what decided it. */
export interface TierRefDirection {
  allowed: boolean;
  decidedBy: Layer;
  rule?: TierRefRule;
  passedBy: TierRefRule[];
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The tier a policy belongs to: by kind for v1alpha1, spec.tier for ClusterNetworkPolicy. */
function tierOf(policy: ClusterTierPolicy): 'Admin' | 'Baseline' {
  if (policy.kind === 'AdminNetworkPolicy') return 'Admin';
  if (policy.kind === 'BaselineAdminNetworkPolicy') return 'Baseline';
  return policy.spec.tier === 'Baseline' ? 'Baseline' : 'Admin';
}

/**
 * Evaluation order within a tier: spec.priority, lower first ("checked before policies with higher
 * priority values"). Equal priorities: the API says "the implementation can apply any of the matching
 * policies"; the engine assumes name order, and so does this reference. BaselineAdminNetworkPolicy has
 * no priority (it is the one `default` of its kind): 0, as the engine reads it.
 */
function inEvaluationOrder(policies: ClusterTierPolicy[], ties: 'name' | 'reverse'): ClusterTierPolicy[] {
  const priority = (p: ClusterTierPolicy) => (typeof p.spec.priority === 'number' ? p.spec.priority : 0);
  const sign = ties === 'name' ? 1 : -1;
  return [...policies].sort((a, b) => {
    if (priority(a) !== priority(b)) return priority(a) - priority(b);
    return sign * (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
  });
}

/** The action of a rule, v1alpha1's Allow read as Accept ("allows the selected traffic"). */
function actionOf(rule: Obj): 'Accept' | 'Deny' | 'Pass' {
  return rule.action === 'Allow' || rule.action === 'Accept' ? 'Accept' : rule.action === 'Deny' ? 'Deny' : 'Pass';
}

/**
 * The peer fields the CRD of a kind knows for a direction. Any other field is pruned by the API server,
 * so a peer that sets only such a field is an empty peer to us: it fails closed.
 * AdminNetworkPolicyIngressPeer / ClusterNetworkPolicyIngressPeer: namespaces, pods.
 * AdminNetworkPolicyEgressPeer / ClusterNetworkPolicyEgressPeer: namespaces, pods, nodes, networks, domainNames.
 * BaselineAdminNetworkPolicyEgressPeer: namespaces, pods, nodes, networks.
 */
function knownPeerFields(kind: ClusterTierPolicy['kind'], direction: Direction): string[] {
  if (direction === 'ingress') return ['namespaces', 'pods'];
  if (kind === 'BaselineAdminNetworkPolicy') return ['namespaces', 'pods', 'nodes', 'networks'];
  return ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'];
}

/** The port entry fields of a kind: AdminNetworkPolicyPort (v1alpha1) or ClusterNetworkPolicyProtocol (v1alpha2). */
function knownPortFields(kind: ClusterTierPolicy['kind']): string[] {
  return kind === 'ClusterNetworkPolicy'
    ? ['tcp', 'udp', 'sctp', 'destinationNamedPort']
    : ['portNumber', 'namedPort', 'portRange'];
}

/** Whether an object sets none of the fields a version knows ("no fields are set": fail closed). */
function setsNoKnownField(value: unknown, fields: string[]): boolean {
  return !isObj(value) || !fields.some((f) => value[f] !== undefined && value[f] !== null);
}

/** One direction of traffic: its subject pod, the other end, the destination, and the port. */
interface Traffic {
  direction: Direction;
  subject: RefPod;
  other: TierRefEnd;
  dst: TierRefEnd;
  port: number;
  protocol: Protocol;
}

/** A pod's view for the tiers: its namespace's labels, whether it uses the host network, and its node. */
interface TierPodFacts {
  namespaceLabels: Labels;
  isHostNetwork: boolean;
  nodeName?: string;
  /** The pod's IPs and its host IPs: a host-network pod's are its node's. */
  addresses: string[];
}

/** Whether two addresses are the same (any spelling). */
function sameAddress(a: string, b: string): boolean {
  const x = parseAddress(a);
  const y = parseAddress(b);
  return x !== undefined && y !== undefined && x.v6 === y.v6 && x.value === y.value;
}

/** A snapshot prepared for per-connection questions with the cluster tiers. */
export class TierReference {
  /** NetworkPolicy v1's reference: the layer between the two tiers. */
  readonly v1: ReferenceEvaluator;
  readonly pods: RefPod[];
  private readonly facts: TierPodFacts[] = [];
  private readonly tiers: Record<'Admin' | 'Baseline', ClusterTierPolicy[]>;
  private readonly nodes: readonly ClusterNode[];
  /** The Node objects could not be read: a nodes peer is one this reference cannot evaluate. */
  private readonly nodesUnknown: boolean;

  /** `ties`: the order of same-priority policies, name order as the engine assumes (or the reverse, to find where it matters). */
  constructor(snapshot: ClusterSnapshot, ties: 'name' | 'reverse' = 'name') {
    this.v1 = new ReferenceEvaluator(snapshot);
    this.pods = this.v1.pods;
    const namespaceLabels = new Map<string, Labels>();
    for (const ns of snapshot.namespaces) {
      const name = ns.metadata?.name ?? '';
      namespaceLabels.set(name, { ...(ns.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name });
    }
    for (const pod of this.pods) {
      const raw = snapshot.pods.find(
        (p) => (p.metadata?.namespace ?? 'default') === pod.namespace && p.metadata?.name === pod.name,
      );
      const hostIps = [raw?.status?.hostIP, ...(raw?.status?.hostIPs ?? []).map((h) => h.ip)];
      this.facts[pod.index] = {
        namespaceLabels: namespaceLabels.get(pod.namespace) ?? { 'kubernetes.io/metadata.name': pod.namespace },
        isHostNetwork: raw?.spec?.hostNetwork === true,
        nodeName: raw?.spec?.nodeName,
        addresses: [...pod.ips, ...hostIps.filter((ip): ip is string => typeof ip === 'string')],
      };
    }
    this.nodes = snapshot.nodes ?? [];
    // Which nodes exist is unknown when they could not be read or none were read (not an empty list).
    this.nodesUnknown = snapshot.nodesUnreadable === true || snapshot.nodes === undefined;
    const all = snapshot.clusterPolicies ?? [];
    this.tiers = {
      Admin: inEvaluationOrder(
        all.filter((p) => tierOf(p) === 'Admin'),
        ties,
      ),
      Baseline: inEvaluationOrder(
        all.filter((p) => tierOf(p) === 'Baseline'),
        ties,
      ),
    };
  }

  /** Whether a pod uses the host network (no tier subject or pod/namespace peer selects it). */
  isHostNetwork(pod: RefPod): boolean {
    return this.facts[pod.index].isHostNetwork;
  }

  /** Whether `src` may open a connection to `dst` on port/protocol: the source's egress and the destination's ingress. */
  allows(src: RefPod, dst: RefPod, port: number, protocol: Protocol): boolean {
    if (src === dst) return true;
    return (
      this.decide('egress', { pod: src }, { pod: dst }, port, protocol).allowed &&
      this.decide('ingress', { pod: src }, { pod: dst }, port, protocol).allowed
    );
  }

  /**
   * One direction of traffic from `src` to `dst` (the subject is `dst` for ingress, `src` for egress;
   * the other end may be an address): Admin tier, then NetworkPolicy v1 when a NetworkPolicy selects
   * the subject for the direction, then Baseline tier, else allowed (ClusterNetworkPolicySpec.tier).
   */
  decide(direction: Direction, src: TierRefEnd, dst: TierRefEnd, port: number, protocol: Protocol): TierRefDirection {
    const subject = direction === 'ingress' ? dst : src;
    if (!('pod' in subject)) throw new Error('the subject of a direction is a pod');
    const traffic: Traffic = {
      direction,
      subject: subject.pod,
      other: direction === 'ingress' ? src : dst,
      dst,
      port,
      protocol,
    };
    const passedBy: TierRefRule[] = [];
    const admin = this.walkTier('Admin', traffic);
    if (admin && admin.action !== 'Pass')
      return { allowed: admin.action === 'Accept', decidedBy: 'Admin', rule: admin, passedBy };
    // Pass: "skip any remaining ANP rules, and then pass execution to any NetworkPolicies that select
    // the pod. If the pod is not selected by any NetworkPolicies then execution is passed to any
    // BaselineAdminNetworkPolicies that select the pod."
    if (admin) passedBy.push(admin);
    const v1 = this.v1Side(traffic);
    // "v1.NetworkPolicy always makes a final decision for selected pods."
    if (v1 !== undefined) return { allowed: v1, decidedBy: 'NetworkPolicy', passedBy };
    const baseline = this.walkTier('Baseline', traffic);
    if (baseline && baseline.action !== 'Pass')
      return { allowed: baseline.action === 'Accept', decidedBy: 'Baseline', rule: baseline, passedBy };
    if (baseline) passedBy.push(baseline);
    // "If a given connection wasn't allowed or denied by any of the tiers, the default kubernetes
    // policy is applied, which says that all pods can communicate with each other."
    return { allowed: true, decidedBy: 'default', passedBy };
  }

  /** NetworkPolicy v1 for the subject's direction: undefined when no NetworkPolicy selects it for it. */
  private v1Side({ direction, subject, other, dst, port, protocol }: Traffic): boolean | undefined {
    const policies = this.v1.selecting(subject, direction === 'ingress' ? 'Ingress' : 'Egress');
    if (policies.length === 0) return undefined;
    if (direction === 'ingress') {
      return 'pod' in other
        ? this.v1.ingressAllows(other.pod, subject, port, protocol, policies)
        : this.v1.ingressAdmitsAddress(other.address, subject, port, protocol);
    }
    return 'pod' in dst
      ? this.v1.egressAllows(subject, dst.pod, port, protocol, policies)
      : this.v1.egressAdmitsAddress(subject, dst.address, port, protocol);
  }

  /**
   * The first rule of a tier that matches: its policies selecting the subject, in evaluation order, and
   * within a policy its rules "in the order in which the rule is written". Undefined: nothing matched.
   */
  private walkTier(tier: 'Admin' | 'Baseline', traffic: Traffic): TierRefRule | undefined {
    const { direction, subject } = traffic;
    for (const policy of this.tiers[tier]) {
      if (!this.selectsSubject(policy, subject)) continue;
      const rules = policy.spec[direction];
      if (!Array.isArray(rules)) continue;
      for (let index = 0; index < rules.length; index++) {
        const rule = rules[index] as Obj;
        const found: TierRefRule = {
          kind: policy.kind,
          name: policy.metadata.name,
          index,
          ruleName: typeof rule.name === 'string' ? rule.name : '',
          action: actionOf(rule),
        };
        const match = this.ruleMatches(policy, rule, traffic);
        if (match === 'deny-all') return { ...found, action: 'Deny' };
        if (match) return found;
      }
    }
    return undefined;
  }

  /**
   * Whether a rule matches: one of its peers matches the other end ("If any element matches ... then
   * the specified action is applied") and, when it lists ports, one of them holds the port. A peer or
   * port entry that sets no field this version knows fails closed: "For Accept rules ... matching no
   * traffic. For Deny and Pass rules ... a 'Deny all' rule" ('deny-all').
   */
  private ruleMatches(policy: ClusterTierPolicy, rule: Obj, traffic: Traffic): boolean | 'deny-all' {
    const { direction, other, dst, port, protocol } = traffic;
    const peers = (rule[direction === 'ingress' ? 'from' : 'to'] ?? []) as unknown[];
    const ports = rule[policy.kind === 'ClusterNetworkPolicy' ? 'protocols' : 'ports'] as unknown[] | undefined;
    // A nodes peer when the Node objects are unknown cannot be evaluated: as an unknown peer.
    const unknown =
      peers.some((p) => setsNoKnownField(p, knownPeerFields(policy.kind, direction))) ||
      (this.nodesUnknown && peers.some((p) => isObj(p) && isObj(p.nodes))) ||
      (ports ?? []).some((p) => setsNoKnownField(p, knownPortFields(policy.kind)));
    if (unknown) return actionOf(rule) === 'Accept' ? false : 'deny-all';
    const peerMatches = peers.some((p) => this.peerMatches(p as Obj, other));
    // "If Ports is not set then the rule does not filter traffic via port" / "If unspecified,
    // protocol-specific attributes will not be used to match traffic."
    const portMatches =
      ports === undefined || ports.some((e) => portEntryMatches(policy, e as Obj, dst, port, protocol));
    return peerMatches && portMatches;
  }

  /** spec.subject: namespaces, or pods (namespaceSelector AND podSelector). "Note that host-networked pods are not included in subject selection." */
  private selectsSubject(policy: ClusterTierPolicy, pod: RefPod): boolean {
    const facts = this.facts[pod.index];
    if (facts.isHostNetwork) return false;
    const subject = policy.spec.subject as Obj;
    if (isObj(subject.namespaces)) return selectorMatches(subject.namespaces, facts.namespaceLabels);
    const pods = subject.pods as Obj;
    return (
      selectorMatches((pods.namespaceSelector ?? {}) as Obj, facts.namespaceLabels) &&
      selectorMatches((pods.podSelector ?? {}) as Obj, pod.labels)
    );
  }

  /** One peer against the other end of the traffic. */
  private peerMatches(peer: Obj, other: TierRefEnd): boolean {
    if (peer.networks !== undefined) {
      // "cluster-internal traffic will be checked against the rule as well": a pod's own addresses.
      const addresses = 'pod' in other ? other.pod.ips : [other.address];
      return (peer.networks as string[]).some((cidr) => addresses.some((ip) => cidrContains(cidr, ip)));
    }
    // "It selects the nodeIPs ... present in the node.Status.Addresses field of the node": the node's
    // own addresses, and so the host-network pods on it (they share its IPs); found by its name too.
    if (isObj(peer.nodes)) {
      const selected = this.nodes.filter((n) => selectorMatches(peer.nodes as Obj, n.labels));
      if (!('pod' in other)) return selected.some((n) => n.addresses.some((a) => sameAddress(a, other.address)));
      const facts = this.facts[other.pod.index];
      if (!facts.isHostNetwork) return false;
      return selected.some(
        (n) => n.name === facts.nodeName || n.addresses.some((a) => facts.addresses.some((b) => sameAddress(a, b))),
      );
    }
    // Domain names are resolved at run time: they match no pod and, statically, no address.
    if (peer.domainNames !== undefined) return false;
    if (!('pod' in other)) return false;
    const facts = this.facts[other.pod.index];
    // "Note that host-networked pods are not included in this type of peer."
    if (facts.isHostNetwork) return false;
    if (isObj(peer.namespaces)) return selectorMatches(peer.namespaces, facts.namespaceLabels);
    const pods = peer.pods as Obj;
    // NamespacedPod.namespaceSelector: "if empty, it selects all Namespaces".
    return (
      selectorMatches((pods.namespaceSelector ?? {}) as Obj, facts.namespaceLabels) &&
      selectorMatches((pods.podSelector ?? {}) as Obj, other.pod.labels)
    );
  }
}

/**
 * One port entry against the port: v1alpha1 AdminNetworkPolicyPort (portNumber {protocol default TCP,
 * port}, portRange {protocol, start, end} inclusive, namedPort) or v1alpha2 ClusterNetworkPolicyProtocol
 * (tcp/udp/sctp destinationPort {number} or {range}, destinationNamedPort). A name "selects a port on a
 * pod based on name": the destination pod's container port of that name, with its protocol; an address
 * has none.
 */
function portEntryMatches(policy: ClusterTierPolicy, entry: Obj, dst: TierRefEnd, port: number, protocol: Protocol) {
  const named = (name: string) =>
    'pod' in dst &&
    dst.pod.ports.some((c) => c.name === name && c.containerPort === port && (c.protocol ?? 'TCP') === protocol);
  const inRange = (start: unknown, end: unknown) => Number(start) <= port && port <= Number(end);
  if (policy.kind !== 'ClusterNetworkPolicy') {
    if (isObj(entry.portNumber))
      return (
        ((entry.portNumber.protocol as string | undefined) ?? 'TCP') === protocol && entry.portNumber.port === port
      );
    if (isObj(entry.portRange))
      return (
        ((entry.portRange.protocol as string | undefined) ?? 'TCP') === protocol &&
        inRange(entry.portRange.start, entry.portRange.end)
      );
    return typeof entry.namedPort === 'string' && named(entry.namedPort);
  }
  if (typeof entry.destinationNamedPort === 'string') return named(entry.destinationNamedPort);
  const byProtocol: Record<Protocol, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
  const match = entry[byProtocol[protocol]];
  if (!isObj(match) || !isObj(match.destinationPort)) return false;
  const destination = match.destinationPort;
  if (isObj(destination.range)) return inRange(destination.range.start, destination.range.end);
  return destination.number === port;
}

/** A CIDR's first and last address, host bits ignored; undefined when it is not a CIDR. */
function rangeOf(cidr: string): { v6: boolean; first: bigint; last: bigint } | undefined {
  const [base, bitsText] = cidr.split('/');
  const address = parseAddress(base);
  if (!address) return undefined;
  const width = address.v6 ? 128n : 32n;
  const hostBits = width - BigInt(bitsText ?? String(width));
  const first = (address.value >> hostBits) << hostBits;
  return { v6: address.v6, first, last: first + (1n << hostBits) - 1n };
}

/** An address as text (IPv6 written out in full, which parseAddress reads back). */
function addressText(v6: boolean, value: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  return [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((value >> shift) & 0xffffn).toString(16)).join(':');
}

/**
 * Addresses of `block` that stand for all of it: its first address and every place inside it where one
 * of `cidrs` starts or ends. Whatever reads addresses only through those CIDRs answers the same for
 * every address between two of these, so checking these checks every address of the block.
 */
export function addressesToCheck(block: string, cidrs: readonly string[]): string[] {
  const asked = rangeOf(block);
  if (!asked) throw new Error(`not a CIDR: ${block}`);
  const points = new Set<bigint>([asked.first]);
  for (const cidr of cidrs) {
    const range = rangeOf(cidr);
    if (!range || range.v6 !== asked.v6) continue;
    for (const point of [range.first, range.last + 1n])
      if (asked.first <= point && point <= asked.last) points.add(point);
  }
  return [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((p) => addressText(asked.v6, p));
}
