/**
 * What the CRD validation of the cluster-scoped policy kinds rejects (validateTierPolicy), and the
 * reading of their spec that validation and compilation (tiers-compile.ts) share: a policy's tier, the
 * actions and peer fields each kind knows, its ports shape.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import type { ClusterTierPolicy, Tier, TierAction } from './tiers-compile.js';
import { parseCidr } from './ipblock.js';
import { validateSelector } from './selector.js';
import { isObject } from './json.js';

export type Obj = Record<string, unknown>;

/** The tier of a policy: spec.tier of a ClusterNetworkPolicy, else the kind's. */
export function tierOf(policy: ClusterTierPolicy): Tier | undefined {
  if (policy.kind === 'AdminNetworkPolicy') return 'Admin';
  if (policy.kind === 'BaselineAdminNetworkPolicy') return 'Baseline';
  const tier = policy.spec.tier;
  return tier === 'Admin' || tier === 'Baseline' ? tier : undefined;
}

/** Actions each kind accepts (v1alpha1 AdminNetworkPolicyRuleAction, BaselineAdminNetworkPolicyRuleAction; v1alpha2 ClusterNetworkPolicyRuleAction). */
export function actionsOf(kind: ClusterTierPolicy['kind']): Record<string, TierAction> {
  if (kind === 'AdminNetworkPolicy') return { Allow: 'Accept', Deny: 'Deny', Pass: 'Pass' };
  if (kind === 'BaselineAdminNetworkPolicy') return { Allow: 'Accept', Deny: 'Deny' };
  return { Accept: 'Accept', Deny: 'Deny', Pass: 'Pass' };
}

/** The peer fields a kind knows per direction; any other field is pruned by the API server. */
export function peerFieldsOf(kind: ClusterTierPolicy['kind'], direction: 'ingress' | 'egress'): readonly string[] {
  // v1alpha1 AdminNetworkPolicyIngressPeer / v1alpha2 ClusterNetworkPolicyIngressPeer.
  if (direction === 'ingress') return ['namespaces', 'pods'];
  // v1alpha1 BaselineAdminNetworkPolicyEgressPeer has no domainNames (AdminNetworkPolicyEgressPeer and
  // v1alpha2 ClusterNetworkPolicyEgressPeer do).
  if (kind === 'BaselineAdminNetworkPolicy') return ['namespaces', 'pods', 'nodes', 'networks'];
  return ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'];
}

/** Whether the policy is read with v1alpha1's ports shape (portNumber/namedPort/portRange) rather than `protocols`. */
export function isV1alpha1(policy: ClusterTierPolicy): boolean {
  return policy.kind !== 'ClusterNetworkPolicy';
}

function checkSelectorAt(value: unknown, field: string, problems: string[]): void {
  if (!isObject(value)) {
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
  if (!isObject(entry) || Object.keys(entry).length === 0) {
    problems.push(`${field}: must set one field`);
    return;
  }
  if (isV1alpha1(policy)) {
    const set = knownFields(entry, ['portNumber', 'namedPort', 'portRange']);
    if (set.length > 1) problems.push(`${field}: must set only one of portNumber, namedPort, portRange`);
    if (isObject(entry.portNumber)) {
      checkProtocol(entry.portNumber.protocol, `${field}.portNumber.protocol`, problems);
      checkPort(entry.portNumber.port, `${field}.portNumber.port`, problems);
    } else if (entry.portNumber !== undefined) problems.push(`${field}.portNumber: must be {protocol, port}`);
    if (entry.namedPort !== undefined && typeof entry.namedPort !== 'string')
      problems.push(`${field}.namedPort: must be a string`);
    if (isObject(entry.portRange)) {
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
    const port = isObject(value) ? value.destinationPort : undefined;
    if (!isObject(port)) {
      problems.push(`${field}.${proto}.destinationPort: must be set`);
      continue;
    }
    const portSet = knownFields(port, ['number', 'range']);
    if (portSet.length !== 1) problems.push(`${field}.${proto}.destinationPort: must set one of number, range`);
    if (port.number !== undefined) checkPort(port.number, `${field}.${proto}.destinationPort.number`, problems);
    if (port.range !== undefined) {
      if (isObject(port.range)) checkRange(port.range, `${field}.${proto}.destinationPort.range`, problems);
      else problems.push(`${field}.${proto}.destinationPort.range: must be {start, end}`);
    }
  }
  if (entry.destinationNamedPort !== undefined && typeof entry.destinationNamedPort !== 'string')
    problems.push(`${field}.destinationNamedPort: must be a string`);
}

function checkPeer(peer: unknown, known: readonly string[], field: string, problems: string[]): void {
  // Exactly one field (MinProperties=1, MaxProperties=1); one the CRD does not know is pruned, which
  // leaves the peer empty to us: that is kept and fails closed (compilePeer).
  if (!isObject(peer) || Object.keys(peer).length === 0) {
    problems.push(`${field}: must set one field`);
    return;
  }
  const set = knownFields(peer, known);
  if (set.length > 1) problems.push(`${field}: must set only one of ${set.join(', ')}`);
  if (peer.namespaces !== undefined) checkSelectorAt(peer.namespaces, `${field}.namespaces`, problems);
  if (known.includes('nodes') && peer.nodes !== undefined) checkSelectorAt(peer.nodes, `${field}.nodes`, problems);
  if (peer.pods !== undefined) {
    if (!isObject(peer.pods)) problems.push(`${field}.pods: must be {namespaceSelector, podSelector}`);
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
    if (!isObject(rule)) {
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
        Array.isArray(ports) && ports.some((p) => isObject(p) && (p.namedPort ?? p.destinationNamedPort) !== undefined);
      const addresses =
        Array.isArray(peers) &&
        peers.some((p) => isObject(p) && (p.networks ?? p.nodes ?? p.domainNames) !== undefined);
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
  if (!isObject(spec)) return ['spec: required'];
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
  if (!isObject(subject)) problems.push('spec.subject: required');
  else {
    const set = knownFields(subject, ['namespaces', 'pods']);
    if (set.length !== 1) problems.push('spec.subject: must set exactly one of namespaces, pods');
    else checkPeer(subject, ['namespaces', 'pods'], 'spec.subject', problems);
  }
  checkRules(policy, 'ingress', problems);
  checkRules(policy, 'egress', problems);
  return problems;
}
