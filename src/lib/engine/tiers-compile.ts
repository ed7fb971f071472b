/**
 * Cluster-scoped policy tiers (issue 16), read and compiled: AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) and ClusterNetworkPolicy (v1alpha2,
 * v1beta1: one schema). The type comments of kubernetes-sigs/network-policy-api's apis/v1alpha1 and
 * apis/v1alpha2 *_types.go are the spec; the field each function reads is named at it.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from './ipblock.js';
import type { ClusterNode, Protocol } from './model.js';
import { compileSelector, type CompiledSelector } from './selector.js';
import { isObject } from './json.js';
import { actionsOf, isV1alpha1, peerFieldsOf, tierOf, validateTierPolicy, type Obj } from './tiers-validate.js';

/** The API group of the three kinds. */
export const TIER_API_GROUP = 'policy.networking.k8s.io';

/** The kinds of cluster-scoped policy, each with the API versions it is read at. */
export const TIER_KINDS: Readonly<Record<ClusterTierPolicy['kind'], readonly string[]>> = {
  AdminNetworkPolicy: ['v1alpha1'],
  BaselineAdminNetworkPolicy: ['v1alpha1'],
  ClusterNetworkPolicy: ['v1alpha2', 'v1beta1'],
};

/**
 * A cluster-scoped policy as the API stores it (no namespace): what a snapshot carries. `spec` is
 * kept as written so that fields this version does not know can be seen (and fail closed).
 */
export interface ClusterTierPolicy {
  apiVersion: string;
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy';
  /** labels: what marks the one `isolate --baseline` wrote (managed-by), kept so --off can tell it from others'. */
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The two cluster tiers; NetworkPolicy v1 sits between them. */
export type Tier = 'Admin' | 'Baseline';

/** A rule's action, with v1alpha1's Allow read as Accept (same meaning). */
export type TierAction = 'Accept' | 'Deny' | 'Pass';

/** A cluster-scoped policy by kind and name (they have no namespace). */
export interface TierPolicyRef {
  kind: ClusterTierPolicy['kind'];
  name: string;
}

/** A peer of a rule, compiled. Pods and namespaces peers never match host-network pods (upstream comment). */
export type TierPeer =
  | { kind: 'namespaces'; namespaces: CompiledSelector }
  | { kind: 'pods'; namespaces: CompiledSelector; pods: CompiledSelector }
  | { kind: 'networks'; cidrs: Cidr[] }
  /** Nodes by label: their IPs, so host-network pods on them and their addresses (tiers.ts onSelectedNode). */
  | NodesPeer
  /** Domain names: resolved at run time, so not evaluated statically. */
  | { kind: 'domainNames'; names: string[] };

/**
 * A nodes peer, resolved against the snapshot's Node objects once: the nodes its selector selects (by
 * name) and their IP addresses (status.addresses), as the API says the peer matches "the nodeIPs".
 */
export interface NodesPeer {
  kind: 'nodes';
  /** Position among the set's nodes peers (TierSet.nodePeers). */
  id: number;
  names: ReadonlySet<string>;
  /** The selected nodes' addresses, parsed, and as `family/value` keys for lookup. */
  ips: readonly Ip[];
  addressKeys: ReadonlySet<string>;
}

/** `family/value` of an address: equal addresses, equal keys. */
export function ipKey(ip: Ip): string {
  return `${ip.family}/${ip.value}`;
}

/**
 * The Node objects a set's nodes peers select from: 'unreadable' when they were needed and could not
 * be read, 'absent' when the snapshot holds none (files without `kind: Node`): either way which nodes a
 * peer selects is unknown and the peers fail closed. An empty list is a cluster listed with no nodes.
 */
type TierNodes = readonly ClusterNode[] | 'unreadable' | 'absent';

/** A port matcher of a rule: a range on a protocol, or a container port name resolved on the destination. */
export type TierPort = { protocol: Protocol; from: number; to: number } | { namedPort: string };

/** Why a rule was compiled to fail closed (warning codes, as data). */
export type TierWarningCode =
  /** A peer with no field this version understands (an unknown or empty peer). */
  | 'unknown-peer'
  /** A protocols/ports entry with no field this version understands. */
  | 'unknown-port'
  /** A nodes peer, when the Node objects could not be read. */
  | 'unreadable-nodes'
  /** A nodes peer, when the snapshot holds no Node objects (files without `kind: Node`). */
  | 'absent-nodes';

/** One ingress or egress rule, compiled. */
export interface TierRule {
  /** spec.ingress[index] / spec.egress[index]. */
  index: number;
  name: string;
  action: TierAction;
  /** 'all' for a Deny/Pass rule that fails closed (it denies everything). */
  peers: TierPeer[] | 'all';
  /** 'all' when the rule names no ports (every port of every protocol). */
  ports: TierPort[] | 'all';
  /** The rule has domainNames peers: a caller must say these are not evaluated statically. */
  hasDomainNames: boolean;
  /** Set when the rule fails closed, with why. */
  failClosed?: TierWarningCode;
}

/** A valid cluster-scoped policy, compiled. */
export interface CompiledTierPolicy {
  ref: TierPolicyRef;
  tier: Tier;
  /** spec.priority; BaselineAdminNetworkPolicy (a singleton) has none and is given 0. */
  priority: number;
  /** spec.subject: namespaces, or pods (namespaceSelector AND podSelector). */
  subject: { namespaces: CompiledSelector; pods?: CompiledSelector };
  ingress: TierRule[];
  egress: TierRule[];
}

/** Something about a tier policy a caller should say, as data. */
export interface TierWarning {
  code: TierWarningCode | 'invalid-policy';
  policy: TierPolicyRef;
  /** The field concerned, e.g. spec.egress[0].to[1]. */
  field: string;
  /** With invalid-policy: what the CRD validation rejects there. */
  problems?: string[];
}

/** Compiled tier policies, with what was left out or fails closed. */
export interface TierSet {
  /** In evaluation order: priority, then name. */
  policies: CompiledTierPolicy[];
  warnings: TierWarning[];
  /** Every compiled nodes peer, by id (a host-network pod's class is cut by which of them select its node). */
  nodePeers: NodesPeer[];
}

function selectorOf(value: unknown): CompiledSelector {
  return compileSelector(isObject(value) ? (value as V1LabelSelector) : {});
}

/**
 * A namespaces peer as v0.1.x of the API wrote it (AdminNetworkPolicy v1alpha1 before its peers were
 * simplified; those CRDs are still installed on clusters): `{namespaceSelector | sameLabels |
 * notSameLabels}`. Undefined when `value` is today's label selector; 'unsupported' for sameLabels and
 * notSameLabels (relative to the subject's namespace), which are not evaluated: the peer fails closed.
 */
function legacyNamespaces(value: Obj): CompiledSelector | 'unsupported' | undefined {
  const legacy = ['namespaceSelector', 'sameLabels', 'notSameLabels'].filter((k) => value[k] !== undefined);
  if (legacy.length === 0) return undefined;
  if (legacy.length > 1 || legacy[0] !== 'namespaceSelector') return 'unsupported';
  return selectorOf(value.namespaceSelector);
}

/** A peer compiled; undefined when it sets no field this version knows (it fails closed). */
function compilePeer(peer: Obj, known: readonly string[], nodes: NodeResolver): TierPeer | undefined {
  if (peer.namespaces !== undefined && peer.namespaces !== null) {
    const legacy = isObject(peer.namespaces) ? legacyNamespaces(peer.namespaces) : undefined;
    if (legacy === 'unsupported') return undefined;
    return { kind: 'namespaces', namespaces: legacy ?? selectorOf(peer.namespaces) };
  }
  if (isObject(peer.pods)) {
    // v0.1.x: pods: {namespaces: {namespaceSelector | sameLabels | notSameLabels}, podSelector}.
    if (peer.pods.namespaces !== undefined) {
      const legacy = isObject(peer.pods.namespaces) ? legacyNamespaces(peer.pods.namespaces) : undefined;
      if (legacy === undefined || legacy === 'unsupported') return undefined;
      return { kind: 'pods', namespaces: legacy, pods: selectorOf(peer.pods.podSelector) };
    }
    return {
      kind: 'pods',
      namespaces: selectorOf(peer.pods.namespaceSelector),
      pods: selectorOf(peer.pods.podSelector),
    };
  }
  if (known.includes('networks') && Array.isArray(peer.networks))
    return { kind: 'networks', cidrs: peer.networks.map((n) => parseCidr(String(n))).filter((c) => c !== undefined) };
  if (known.includes('nodes') && peer.nodes !== undefined && peer.nodes !== null) return nodes(peer.nodes);
  if (known.includes('domainNames') && Array.isArray(peer.domainNames))
    return { kind: 'domainNames', names: peer.domainNames.map(String) };
  return undefined;
}

/** A ports entry compiled; undefined when it sets no field this version knows (it fails closed). */
function compilePort(policy: ClusterTierPolicy, entry: Obj): TierPort | undefined {
  if (isV1alpha1(policy)) {
    // AdminNetworkPolicyPort: portNumber {protocol (default TCP), port}, namedPort, portRange {protocol, start, end}.
    if (isObject(entry.portNumber)) {
      const port = Number(entry.portNumber.port);
      return { protocol: (entry.portNumber.protocol as Protocol | undefined) ?? 'TCP', from: port, to: port };
    }
    if (typeof entry.namedPort === 'string') return { namedPort: entry.namedPort };
    if (isObject(entry.portRange))
      return {
        protocol: (entry.portRange.protocol as Protocol | undefined) ?? 'TCP',
        from: Number(entry.portRange.start),
        to: Number(entry.portRange.end),
      };
    return undefined;
  }
  // ClusterNetworkPolicyProtocol: tcp/udp/sctp {destinationPort: {number} | {range: {start, end}}}, destinationNamedPort.
  for (const [field, protocol] of [
    ['tcp', 'TCP'],
    ['udp', 'UDP'],
    ['sctp', 'SCTP'],
  ] as const) {
    const value = entry[field];
    if (!isObject(value) || !isObject(value.destinationPort)) continue;
    const port = value.destinationPort;
    if (isObject(port.range)) return { protocol, from: Number(port.range.start), to: Number(port.range.end) };
    return { protocol, from: Number(port.number), to: Number(port.number) };
  }
  if (typeof entry.destinationNamedPort === 'string') return { namedPort: entry.destinationNamedPort };
  return undefined;
}

/** Resolves a nodes peer's selector to the nodes it selects (and numbers the peer). */
type NodeResolver = (selector: unknown) => NodesPeer;

function nodeResolver(nodes: TierNodes, peers: NodesPeer[]): NodeResolver {
  // Each node's addresses parsed once: status.addresses of type InternalIP and ExternalIP that are IPs.
  const parsed = (typeof nodes === 'string' ? [] : nodes).map((n) => ({
    node: n,
    ips: n.addresses.map(parseIp).filter((ip): ip is Ip => ip !== undefined),
  }));
  return (selector) => {
    const matches = selectorOf(selector);
    const selected = parsed.filter((n) => matches.matches(n.node.labels));
    const ips = selected.flatMap((n) => n.ips);
    const peer: NodesPeer = {
      kind: 'nodes',
      id: peers.length,
      names: new Set(selected.map((n) => n.node.name)),
      ips,
      addressKeys: new Set(ips.map(ipKey)),
    };
    peers.push(peer);
    return peer;
  };
}

function compileRules(
  policy: ClusterTierPolicy,
  direction: 'ingress' | 'egress',
  warnings: TierWarning[],
  nodes: { resolve: NodeResolver; unknown?: 'unreadable-nodes' | 'absent-nodes' },
): TierRule[] {
  const rules = policy.spec[direction];
  if (!Array.isArray(rules)) return [];
  const ref = { kind: policy.kind, name: policy.metadata.name };
  const actions = actionsOf(policy.kind);
  const peersField = direction === 'ingress' ? 'from' : 'to';
  const portsField = isV1alpha1(policy) ? 'ports' : 'protocols';
  return rules.map((raw: Obj, index) => {
    const action = actions[String(raw.action)];
    const peers: TierPeer[] = [];
    let failClosed: TierWarningCode | undefined;
    (raw[peersField] as Obj[]).forEach((p, j) => {
      const peer = compilePeer(p, peerFieldsOf(policy.kind, direction), nodes.resolve);
      const field = `spec.${direction}[${index}].${peersField}[${j}]`;
      if (peer?.kind === 'nodes' && nodes.unknown) {
        // Which nodes it selects is unknown: as for a peer this version does not understand.
        failClosed ??= nodes.unknown;
        warnings.push({ code: nodes.unknown, policy: ref, field });
      } else if (peer) peers.push(peer);
      else {
        failClosed ??= 'unknown-peer';
        warnings.push({ code: 'unknown-peer', policy: ref, field });
      }
    });
    let ports: TierPort[] | 'all' = 'all';
    const rawPorts = raw[portsField];
    if (Array.isArray(rawPorts)) {
      ports = [];
      rawPorts.forEach((e: Obj, j) => {
        const port = compilePort(policy, e);
        if (port) (ports as TierPort[]).push(port);
        else {
          failClosed ??= 'unknown-port';
          warnings.push({
            code: 'unknown-port',
            policy: ref,
            field: `spec.${direction}[${index}].${portsField}[${j}]`,
          });
        }
      });
    }
    const hasDomainNames = peers.some((p) => p.kind === 'domainNames');
    const name = typeof raw.name === 'string' ? raw.name : '';
    if (failClosed) {
      // Fail closed (ClusterNetworkPolicyIngressPeer comment): an Accept rule with a part it does not
      // understand matches no traffic (its other peers and ports included); a Deny or Pass rule is a
      // "Deny all" rule.
      return action === 'Accept'
        ? { index, name, action, peers: [], ports: [], hasDomainNames, failClosed }
        : { index, name, action: 'Deny', peers: 'all', ports: 'all', hasDomainNames, failClosed };
    }
    return { index, name, action, peers, ports, hasDomainNames };
  });
}

/** Compiles one valid policy (validateTierPolicy returned nothing). */
function compileTierPolicy(
  policy: ClusterTierPolicy,
  warnings: TierWarning[],
  nodes: { resolve: NodeResolver; unknown?: 'unreadable-nodes' | 'absent-nodes' },
): CompiledTierPolicy {
  const subject = policy.spec.subject as Obj;
  const tier = tierOf(policy) ?? 'Admin';
  return {
    ref: { kind: policy.kind, name: policy.metadata.name },
    tier,
    priority: typeof policy.spec.priority === 'number' ? policy.spec.priority : 0,
    subject: isObject(subject.pods)
      ? { namespaces: selectorOf(subject.pods.namespaceSelector), pods: selectorOf(subject.pods.podSelector) }
      : { namespaces: selectorOf(subject.namespaces) },
    ingress: compileRules(policy, 'ingress', warnings, nodes),
    egress: compileRules(policy, 'egress', warnings, nodes),
  };
}

/**
 * Compiles cluster-scoped policies once; invalid ones are left out with an invalid-policy warning.
 * `nodes`: the snapshot's Node objects, which nodes peers select from (snapshotNodes).
 */
export function compileTierPolicies(policies: readonly ClusterTierPolicy[], nodes: TierNodes): TierSet {
  const warnings: TierWarning[] = [];
  const nodePeers: NodesPeer[] = [];
  const resolver = {
    resolve: nodeResolver(nodes, nodePeers),
    unknown: typeof nodes === 'string' ? (`${nodes}-nodes` as const) : undefined,
  };
  const compiled: CompiledTierPolicy[] = [];
  for (const policy of policies) {
    const problems = validateTierPolicy(policy);
    if (problems.length > 0) {
      warnings.push({
        code: 'invalid-policy',
        policy: { kind: policy.kind, name: policy.metadata.name },
        field: problems[0]!.split(':')[0]!,
        problems,
      });
      continue;
    }
    compiled.push(compileTierPolicy(policy, warnings, resolver));
  }
  // Evaluation order within a tier: priority, lower first; equal priorities by name (an assumption
  // the evaluator reports when it matters).
  compiled.sort((a, b) => a.priority - b.priority || (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0));
  return { policies: compiled, warnings, nodePeers };
}

/** The Node objects of a snapshot as nodes peers select from them (absent: none were read). */
export function snapshotNodes(snapshot: { nodes?: ClusterNode[]; nodesUnreadable?: boolean }): TierNodes {
  return snapshot.nodesUnreadable ? 'unreadable' : (snapshot.nodes ?? 'absent');
}

/** Whether a policy (as written) has a nodes peer: what makes the live loader read Node objects. */
export function hasNodesPeer(policy: ClusterTierPolicy): boolean {
  const rules = policy.spec.egress;
  if (!Array.isArray(rules)) return false;
  return rules.some(
    (r) =>
      isObject(r) && Array.isArray(r.to) && r.to.some((p) => isObject(p) && p.nodes !== undefined && p.nodes !== null),
  );
}

/** Whether one of an endpoint's IPs is in a networks peer's CIDRs. */
export function networksContain(cidrs: readonly Cidr[], ips: readonly Ip[]): boolean {
  return cidrs.some((c) => ips.some((ip) => cidrContains(c, ip)));
}
