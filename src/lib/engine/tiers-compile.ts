/**
 * Cluster-scoped policy tiers (issue 16), read and compiled: AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) and ClusterNetworkPolicy (v1alpha2,
 * v1beta1: one schema). The type comments of kubernetes-sigs/network-policy-api's apis/v1alpha1 and
 * apis/v1alpha2 *_types.go are the spec; the field each function reads is named at it.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from './ipblock.js';
import type { ClusterNode, Protocol } from './model.js';
import { compileSelector, validateSelector, type CompiledSelector } from './selector.js';

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

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The tier of a policy: spec.tier of a ClusterNetworkPolicy, else the kind's. */
function tierOf(policy: ClusterTierPolicy): Tier | undefined {
  if (policy.kind === 'AdminNetworkPolicy') return 'Admin';
  if (policy.kind === 'BaselineAdminNetworkPolicy') return 'Baseline';
  const tier = policy.spec.tier;
  return tier === 'Admin' || tier === 'Baseline' ? tier : undefined;
}

/** Actions each kind accepts (v1alpha1 AdminNetworkPolicyRuleAction, BaselineAdminNetworkPolicyRuleAction; v1alpha2 ClusterNetworkPolicyRuleAction). */
function actionsOf(kind: ClusterTierPolicy['kind']): Record<string, TierAction> {
  if (kind === 'AdminNetworkPolicy') return { Allow: 'Accept', Deny: 'Deny', Pass: 'Pass' };
  if (kind === 'BaselineAdminNetworkPolicy') return { Allow: 'Accept', Deny: 'Deny' };
  return { Accept: 'Accept', Deny: 'Deny', Pass: 'Pass' };
}

/** The peer fields a kind knows per direction; any other field is pruned by the API server. */
function peerFieldsOf(kind: ClusterTierPolicy['kind'], direction: 'ingress' | 'egress'): readonly string[] {
  // v1alpha1 AdminNetworkPolicyIngressPeer / v1alpha2 ClusterNetworkPolicyIngressPeer.
  if (direction === 'ingress') return ['namespaces', 'pods'];
  // v1alpha1 BaselineAdminNetworkPolicyEgressPeer has no domainNames (AdminNetworkPolicyEgressPeer and
  // v1alpha2 ClusterNetworkPolicyEgressPeer do).
  if (kind === 'BaselineAdminNetworkPolicy') return ['namespaces', 'pods', 'nodes', 'networks'];
  return ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'];
}

/** Whether the policy is read with v1alpha1's ports shape (portNumber/namedPort/portRange) rather than `protocols`. */
function isV1alpha1(policy: ClusterTierPolicy): boolean {
  return policy.kind !== 'ClusterNetworkPolicy';
}

function checkSelectorAt(value: unknown, field: string, problems: string[]): void {
  if (!isObj(value)) {
    problems.push(`${field}: must be a label selector`);
    return;
  }
  problems.push(...validateSelector(value as V1LabelSelector, field));
}

function checkPort(value: unknown, field: string, problems: string[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535)
    problems.push(`${field}: must be a port number from 1 to 65535`);
}

function checkProtocol(value: unknown, field: string, problems: string[]): void {
  if (value !== undefined && value !== 'TCP' && value !== 'UDP' && value !== 'SCTP')
    problems.push(`${field}: must be TCP, UDP or SCTP`);
}

/** A port range's bounds: start < end (v1alpha1 PortRange and v1alpha2 PortRange XValidation). */
function checkRange(range: Obj, field: string, problems: string[]): void {
  checkPort(range.start, `${field}.start`, problems);
  checkPort(range.end, `${field}.end`, problems);
  if (typeof range.start === 'number' && typeof range.end === 'number' && range.start >= range.end)
    problems.push(`${field}: start must be less than end`);
}

/** Known fields set on an object, of those a type has; more than one breaks MaxProperties=1. */
function knownFields(value: Obj, fields: readonly string[]): string[] {
  return fields.filter((f) => value[f] !== undefined && value[f] !== null);
}

function checkPortEntry(policy: ClusterTierPolicy, entry: unknown, field: string, problems: string[]): void {
  // Both shapes: exactly one field (MinProperties=1, MaxProperties=1); unknown fields are pruned by
  // the API server, so an entry of unknown fields only is kept and fails closed.
  if (!isObj(entry) || Object.keys(entry).length === 0) {
    problems.push(`${field}: must set one field`);
    return;
  }
  if (isV1alpha1(policy)) {
    const set = knownFields(entry, ['portNumber', 'namedPort', 'portRange']);
    if (set.length > 1) problems.push(`${field}: must set only one of portNumber, namedPort, portRange`);
    if (isObj(entry.portNumber)) {
      checkProtocol(entry.portNumber.protocol, `${field}.portNumber.protocol`, problems);
      checkPort(entry.portNumber.port, `${field}.portNumber.port`, problems);
    } else if (entry.portNumber !== undefined) problems.push(`${field}.portNumber: must be {protocol, port}`);
    if (entry.namedPort !== undefined && typeof entry.namedPort !== 'string')
      problems.push(`${field}.namedPort: must be a string`);
    if (isObj(entry.portRange)) {
      checkProtocol(entry.portRange.protocol, `${field}.portRange.protocol`, problems);
      checkRange(entry.portRange, `${field}.portRange`, problems);
    } else if (entry.portRange !== undefined) problems.push(`${field}.portRange: must be {protocol, start, end}`);
    return;
  }
  const set = knownFields(entry, ['tcp', 'udp', 'sctp', 'destinationNamedPort']);
  if (set.length > 1) problems.push(`${field}: must set only one of tcp, udp, sctp, destinationNamedPort`);
  for (const proto of ['tcp', 'udp', 'sctp']) {
    const value = entry[proto];
    if (value === undefined) continue;
    const port = isObj(value) ? value.destinationPort : undefined;
    if (!isObj(port)) {
      problems.push(`${field}.${proto}.destinationPort: must be set`);
      continue;
    }
    const portSet = knownFields(port, ['number', 'range']);
    if (portSet.length !== 1) problems.push(`${field}.${proto}.destinationPort: must set one of number, range`);
    if (port.number !== undefined) checkPort(port.number, `${field}.${proto}.destinationPort.number`, problems);
    if (port.range !== undefined) {
      if (isObj(port.range)) checkRange(port.range, `${field}.${proto}.destinationPort.range`, problems);
      else problems.push(`${field}.${proto}.destinationPort.range: must be {start, end}`);
    }
  }
  if (entry.destinationNamedPort !== undefined && typeof entry.destinationNamedPort !== 'string')
    problems.push(`${field}.destinationNamedPort: must be a string`);
}

function checkPeer(peer: unknown, known: readonly string[], field: string, problems: string[]): void {
  // Exactly one field (MinProperties=1, MaxProperties=1); one the CRD does not know is pruned, which
  // leaves the peer empty to us: that is kept and fails closed (compilePeer).
  if (!isObj(peer) || Object.keys(peer).length === 0) {
    problems.push(`${field}: must set one field`);
    return;
  }
  const set = knownFields(peer, known);
  if (set.length > 1) problems.push(`${field}: must set only one of ${set.join(', ')}`);
  if (peer.namespaces !== undefined) checkSelectorAt(peer.namespaces, `${field}.namespaces`, problems);
  if (known.includes('nodes') && peer.nodes !== undefined) checkSelectorAt(peer.nodes, `${field}.nodes`, problems);
  if (peer.pods !== undefined) {
    if (!isObj(peer.pods)) problems.push(`${field}.pods: must be {namespaceSelector, podSelector}`);
    else {
      // NamespacedPod: podSelector is required; namespaceSelector is required in v1alpha1 and optional
      // (empty = all namespaces) in v1alpha2, so an absent one is read as {}.
      if (peer.pods.podSelector === undefined) problems.push(`${field}.pods.podSelector: required`);
      else checkSelectorAt(peer.pods.podSelector, `${field}.pods.podSelector`, problems);
      if (peer.pods.namespaceSelector !== undefined)
        checkSelectorAt(peer.pods.namespaceSelector, `${field}.pods.namespaceSelector`, problems);
    }
  }
  if (known.includes('networks') && peer.networks !== undefined) {
    // Networks: MinItems=1, MaxItems=25, each isCIDR.
    const networks = peer.networks;
    if (!Array.isArray(networks) || networks.length === 0 || networks.length > 25)
      problems.push(`${field}.networks: must list 1 to 25 CIDRs`);
    else
      networks.forEach((n, i) => {
        if (typeof n !== 'string' || parseCidr(n) === undefined)
          problems.push(`${field}.networks[${i}]: invalid CIDR ${JSON.stringify(n)}`);
      });
  }
  if (known.includes('domainNames') && peer.domainNames !== undefined) {
    const names = peer.domainNames;
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string'))
      problems.push(`${field}.domainNames: must list 1 to 25 domain names`);
  }
}

function checkRules(policy: ClusterTierPolicy, direction: 'ingress' | 'egress', problems: string[]): void {
  const rules = policy.spec[direction];
  if (rules === undefined || rules === null) return;
  if (!Array.isArray(rules) || rules.length > 100) {
    problems.push(`spec.${direction}: must be a list of at most 100 rules`);
    return;
  }
  const actions = actionsOf(policy.kind);
  const peersField = direction === 'ingress' ? 'from' : 'to';
  const portsField = isV1alpha1(policy) ? 'ports' : 'protocols';
  rules.forEach((rule: unknown, i) => {
    const at = `spec.${direction}[${i}]`;
    if (!isObj(rule)) {
      problems.push(`${at}: must be a rule`);
      return;
    }
    if (typeof rule.action !== 'string' || !(rule.action in actions))
      problems.push(`${at}.action: must be one of ${Object.keys(actions).join(', ')}`);
    if (rule.name !== undefined && (typeof rule.name !== 'string' || rule.name.length > 100))
      problems.push(`${at}.name: must be a string of at most 100 characters`);
    // From/To: MinItems=1, MaxItems=100 (v1alpha1) / 25 (v1alpha2).
    const peers = rule[peersField];
    if (!Array.isArray(peers) || peers.length === 0) problems.push(`${at}.${peersField}: must list at least one peer`);
    else
      peers.forEach((p, j) =>
        checkPeer(p, peerFieldsOf(policy.kind, direction), `${at}.${peersField}[${j}]`, problems),
      );
    const ports = rule[portsField];
    if (ports !== undefined && ports !== null) {
      if (!Array.isArray(ports) || ports.length === 0)
        problems.push(`${at}.${portsField}: must list at least one entry`);
      else ports.forEach((p, j) => checkPortEntry(policy, p, `${at}.${portsField}[${j}]`, problems));
      // Egress rule XValidation: networks/nodes/domainNames peers have no named ports.
      const named =
        Array.isArray(ports) && ports.some((p) => isObj(p) && (p.namedPort ?? p.destinationNamedPort) !== undefined);
      const addresses =
        Array.isArray(peers) && peers.some((p) => isObj(p) && (p.networks ?? p.nodes ?? p.domainNames) !== undefined);
      if (direction === 'egress' && named && addresses)
        problems.push(`${at}.${portsField}: a named port cannot be used with networks, nodes or domainNames peers`);
    }
  });
}

/**
 * What the CRD's validation would reject in a policy, as `field: problem` lines (empty when valid).
 * Fields it does not know are not problems: the API server prunes them (compileTierPolicy fails closed).
 */
export function validateTierPolicy(policy: ClusterTierPolicy): string[] {
  const problems: string[] = [];
  const spec = policy.spec;
  if (!isObj(spec)) return ['spec: required'];
  if (policy.kind === 'ClusterNetworkPolicy' && tierOf(policy) === undefined)
    problems.push('spec.tier: must be Admin or Baseline');
  // Priority: 0..1000 (v1alpha1 ANP and v1alpha2 CNP); BANP has none.
  if (policy.kind !== 'BaselineAdminNetworkPolicy') {
    const p = spec.priority;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 1000)
      problems.push('spec.priority: must be a whole number from 0 to 1000');
  } else if (policy.metadata.name !== 'default') {
    // BaselineAdminNetworkPolicy is a singleton: metadata.name must be "default" (CRD XValidation).
    problems.push('metadata.name: must be "default"');
  }
  // Subject: exactly one of namespaces, pods.
  const subject = spec.subject;
  if (!isObj(subject)) problems.push('spec.subject: required');
  else {
    const set = knownFields(subject, ['namespaces', 'pods']);
    if (set.length !== 1) problems.push('spec.subject: must set exactly one of namespaces, pods');
    else checkPeer(subject, ['namespaces', 'pods'], 'spec.subject', problems);
  }
  checkRules(policy, 'ingress', problems);
  checkRules(policy, 'egress', problems);
  return problems;
}

function selectorOf(value: unknown): CompiledSelector {
  return compileSelector(isObj(value) ? (value as V1LabelSelector) : {});
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
    const legacy = isObj(peer.namespaces) ? legacyNamespaces(peer.namespaces) : undefined;
    if (legacy === 'unsupported') return undefined;
    return { kind: 'namespaces', namespaces: legacy ?? selectorOf(peer.namespaces) };
  }
  if (isObj(peer.pods)) {
    // v0.1.x: pods: {namespaces: {namespaceSelector | sameLabels | notSameLabels}, podSelector}.
    if (peer.pods.namespaces !== undefined) {
      const legacy = isObj(peer.pods.namespaces) ? legacyNamespaces(peer.pods.namespaces) : undefined;
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
    if (isObj(entry.portNumber)) {
      const port = Number(entry.portNumber.port);
      return { protocol: (entry.portNumber.protocol as Protocol | undefined) ?? 'TCP', from: port, to: port };
    }
    if (typeof entry.namedPort === 'string') return { namedPort: entry.namedPort };
    if (isObj(entry.portRange))
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
    if (!isObj(value) || !isObj(value.destinationPort)) continue;
    const port = value.destinationPort;
    if (isObj(port.range)) return { protocol, from: Number(port.range.start), to: Number(port.range.end) };
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
    subject: isObj(subject.pods)
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
    (r) => isObj(r) && Array.isArray(r.to) && r.to.some((p) => isObj(p) && p.nodes !== undefined && p.nodes !== null),
  );
}

/** Whether one of an endpoint's IPs is in a networks peer's CIDRs. */
export function networksContain(cidrs: readonly Cidr[], ips: readonly Ip[]): boolean {
  return cidrs.some((c) => ips.some((ip) => cidrContains(c, ip)));
}
