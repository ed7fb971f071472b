/**
 * A plain, independent NetworkPolicy evaluator: one pod pair and one port at a time, written from the
 * networking.k8s.io/v1 API reference and apimachinery's label selector rules, sharing no code with the
 * engine (only its types). Slow on purpose; tests hold the engine's fast paths against it.
 *
 * Decisions where the API is silent follow docs/semantics.md: an ipBlock matches a pod when it
 * contains one of the pod's IPs; a pod can always reach itself.
 */
import type {
  V1ContainerPort,
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Pod,
} from '@kubernetes/client-node';

import type { ClusterSnapshot, Protocol } from '../../src/lib/engine/model.js';

type Labels = Record<string, string>;

/** A pod as the reference sees it. */
export interface RefPod {
  /** Position in ReferenceEvaluator.pods. */
  index: number;
  namespace: string;
  name: string;
  labels: Labels;
  ips: string[];
  ports: V1ContainerPort[];
}

/** LabelSelector semantics (metav1.LabelSelector): matchLabels AND every matchExpression. */
export function selectorMatches(selector: V1LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!(key in labels) || labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expr.key);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(labels[expr.key])) return false;
        break;
      case 'NotIn':
        // A pod without the key is not in the set: NotIn matches it.
        if (has && values.includes(labels[expr.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** An address as a BigInt with its family, or undefined when it is not an IP. */
export function parseAddress(text: string): { v6: boolean; value: bigint } | undefined {
  if (text.includes(':')) {
    const [head, tail = ''] = text.split('::');
    const headParts = head ? head.split(':') : [];
    const tailParts = text.includes('::') ? (tail ? tail.split(':') : []) : [];
    const parts = text.includes('::')
      ? [...headParts, ...new Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts]
      : headParts;
    if (parts.length !== 8) return undefined;
    let value = 0n;
    for (const p of parts) value = (value << 16n) | BigInt(parseInt(p || '0', 16));
    return { v6: true, value };
  }
  const octets = text.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  return { v6: false, value: BigInt(((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3]) };
}

/** Whether an address lies in a CIDR (host bits of the CIDR ignored; families must agree). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const net = parseAddress(base);
  const addr = parseAddress(ip);
  if (!net || !addr || net.v6 !== addr.v6) return false;
  const width = addr.v6 ? 128n : 32n;
  const bits = BigInt(bitsText ?? String(width));
  const shift = width - bits;
  return net.value >> shift === addr.value >> shift;
}

/** Whether a pod's IP is in the block and in none of its exceptions. */
function ipBlockMatches(block: { cidr: string; except?: string[] }, pod: RefPod): boolean {
  return pod.ips.some((ip) => cidrContains(block.cidr, ip) && !(block.except ?? []).some((e) => cidrContains(e, ip)));
}

/** NetworkPolicyPeer against a pod, for a policy in `policyNamespace`. */
function peerMatches(
  peer: V1NetworkPolicyPeer,
  policyNamespace: string,
  pod: RefPod,
  namespaceLabels: Map<string, Labels>,
): boolean {
  if (peer.ipBlock) return ipBlockMatches(peer.ipBlock, pod);
  // namespaceSelector absent: the policy's own namespace; present (even {}): namespaces it selects.
  const inNamespaces = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabels.get(pod.namespace) ?? {})
    : pod.namespace === policyNamespace;
  if (!inNamespaces) return false;
  // podSelector absent: every pod there.
  return peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true;
}

/** NetworkPolicyPort list against a port, named ports resolved on the destination. */
function portsMatch(ports: V1NetworkPolicyPort[] | undefined, port: number, protocol: Protocol, dst: RefPod): boolean {
  // Empty or absent: every port of every protocol.
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined || p.port === null) return true;
    if (typeof p.port === 'number')
      return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
    // A name: the destination's container port of that name and the same protocol.
    return dst.ports.some((c) => c.name === p.port && (c.protocol ?? 'TCP') === protocol && c.containerPort === port);
  });
}

/** policyTypes as written; absent or empty: Ingress, and Egress when there are egress rules. */
function appliesTo(policy: V1NetworkPolicy, direction: 'Ingress' | 'Egress'): boolean {
  const types = policy.spec?.policyTypes ?? [];
  if (types.length > 0) return types.includes(direction);
  return direction === 'Ingress' || (policy.spec?.egress ?? []).length > 0;
}

/** The ingress rule's peers, whichever way they were written. */
function fromOf(rule: object): V1NetworkPolicyPeer[] | undefined {
  const r = rule as { _from?: V1NetworkPolicyPeer[]; from?: V1NetworkPolicyPeer[] };
  return r._from ?? r.from;
}

/** Whether a rule's peers admit an address: none listed (everyone), or an ipBlock holding it. */
function admitsAddress(peers: V1NetworkPolicyPeer[] | undefined, address: string): boolean {
  if (!peers || peers.length === 0) return true;
  return peers.some(
    (peer) =>
      peer.ipBlock !== undefined &&
      cidrContains(peer.ipBlock.cidr, address) &&
      !(peer.ipBlock.except ?? []).some((e) => cidrContains(e, address)),
  );
}

/** A snapshot prepared for per-pair questions. */
export class ReferenceEvaluator {
  readonly pods: RefPod[];
  private readonly namespaceLabels = new Map<string, Labels>();
  private readonly policiesByNamespace = new Map<string, V1NetworkPolicy[]>();
  /** Memo of peer-against-pod results (1 no, 2 yes), per peer object: the same pairs recur for every port asked. */
  private readonly peerMemo = new Map<V1NetworkPolicyPeer, Uint8Array>();

  constructor(snapshot: ClusterSnapshot) {
    for (const ns of snapshot.namespaces) {
      const name = ns.metadata?.name ?? '';
      this.namespaceLabels.set(name, { ...(ns.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name });
    }
    for (const p of snapshot.policies) {
      const ns = p.metadata?.namespace ?? 'default';
      this.policiesByNamespace.set(ns, [...(this.policiesByNamespace.get(ns) ?? []), p]);
    }
    this.pods = snapshot.pods
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .map((p: V1Pod, index) => ({
        index,
        namespace: p.metadata?.namespace ?? 'default',
        name: p.metadata?.name ?? '',
        labels: p.metadata?.labels ?? {},
        ips: [
          ...new Set([...(p.status?.podIPs ?? []).map((x) => x.ip), p.status?.podIP].filter((x): x is string => !!x)),
        ],
        ports: (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
      }));
  }

  /** Policies of the pod's namespace that select it for a direction. */
  selecting(pod: RefPod, direction: 'Ingress' | 'Egress'): V1NetworkPolicy[] {
    return (this.policiesByNamespace.get(pod.namespace) ?? []).filter(
      (p) => appliesTo(p, direction) && selectorMatches(p.spec?.podSelector ?? {}, pod.labels),
    );
  }

  /** Whether `src` may open a connection to `dst` on port/protocol. */
  allows(src: RefPod, dst: RefPod, port: number, protocol: Protocol): boolean {
    if (src === dst) return true;
    return this.ingressAllows(src, dst, port, protocol) && this.egressAllows(src, dst, port, protocol);
  }

  /** The destination's ingress side: not isolated, or some rule of a selecting policy admits src on the port. */
  ingressAllows(
    src: RefPod,
    dst: RefPod,
    port: number,
    protocol: Protocol,
    policies = this.selecting(dst, 'Ingress'),
  ): boolean {
    if (policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.ingress ?? []).some((rule) => {
        const peers = fromOf(rule);
        const admitsPeer = !peers || peers.length === 0 || peers.some((peer) => this.peerMatches(peer, p, src));
        return admitsPeer && portsMatch(rule.ports, port, protocol, dst);
      }),
    );
  }

  /** The source's egress side: not isolated, or some rule of a selecting policy admits dst on the port. */
  egressAllows(
    src: RefPod,
    dst: RefPod,
    port: number,
    protocol: Protocol,
    policies = this.selecting(src, 'Egress'),
  ): boolean {
    if (policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.egress ?? []).some((rule) => {
        const peers = rule.to;
        const admitsPeer = !peers || peers.length === 0 || peers.some((peer) => this.peerMatches(peer, p, dst));
        return admitsPeer && portsMatch(rule.ports, port, protocol, dst);
      }),
    );
  }

  /**
   * The destination's ingress side for one address outside the cluster as the source: not isolated, or
   * a rule admitting every peer or an ipBlock holding the address (cidr less except), on the port.
   * Selector peers select pods, never addresses; a port name resolves on the destination pod.
   */
  ingressAdmitsAddress(address: string, dst: RefPod, port: number, protocol: Protocol): boolean {
    const policies = this.selecting(dst, 'Ingress');
    if (policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.ingress ?? []).some(
        (rule) => admitsAddress(fromOf(rule), address) && portsMatch(rule.ports, port, protocol, dst),
      ),
    );
  }

  /** The source's egress side for one address as the destination; a port name resolves on nothing there. */
  egressAdmitsAddress(src: RefPod, address: string, port: number, protocol: Protocol): boolean {
    const policies = this.selecting(src, 'Egress');
    if (policies.length === 0) return true;
    const nowhere: RefPod = { index: -1, namespace: '', name: '', labels: {}, ips: [address], ports: [] };
    return policies.some((p) =>
      (p.spec?.egress ?? []).some(
        (rule) => admitsAddress(rule.to, address) && portsMatch(rule.ports, port, protocol, nowhere),
      ),
    );
  }

  private peerMatches(peer: V1NetworkPolicyPeer, policy: V1NetworkPolicy, pod: RefPod): boolean {
    let memo = this.peerMemo.get(peer);
    if (!memo) {
      memo = new Uint8Array(this.pods.length);
      this.peerMemo.set(peer, memo);
    }
    if (memo[pod.index] === 0) {
      const matches = peerMatches(peer, policy.metadata?.namespace ?? 'default', pod, this.namespaceLabels);
      memo[pod.index] = matches ? 2 : 1;
    }
    return memo[pod.index] === 2;
  }
}
