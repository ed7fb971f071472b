/**
 * The verdict of traffic between two pods once cluster-scoped tiers are in play: per direction, the
 * Admin tier, then NetworkPolicy v1, then the Baseline tier, then the default (allowed). The order is
 * ClusterNetworkPolicySpec.tier's comment in network-policy-api apis/v1alpha2.
 */
import type { V1Pod } from '@kubernetes/client-node';

import { parseIp, type Ip } from './ipblock.js';
import type { Direction, Protocol } from './model.js';
import type { Labels } from './selector.js';
import {
  ipKey,
  networksContain,
  type NodesPeer,
  type CompiledTierPolicy,
  type Tier,
  type TierAction,
  type TierPeer,
  type TierPolicyRef,
  type TierPort,
  type TierRule,
  type TierSet,
} from './tiers-compile.js';

/** One end of the traffic: a pod as the tiers see it. */
export interface TierEndpoint {
  namespace: string;
  namespaceLabels: Labels;
  labels: Labels;
  ips: readonly Ip[];
  /** Container ports (named ports resolve on the destination pod). */
  ports: readonly { name?: string; port: number; protocol: Protocol }[];
  /** Host-network pods are never selected by subject, namespaces or pods (upstream comments). */
  isHostNetwork?: boolean;
  /** The pod's node (spec.nodeName) and its addresses (status.hostIP, hostIPs): what a nodes peer matches. */
  nodeName?: string;
  hostIps?: readonly Ip[];
}

/** What a nodes peer reads of a pod. */
export type TierHost = Pick<TierEndpoint, 'isHostNetwork' | 'ips' | 'nodeName' | 'hostIps'>;

/** A pod's node as the tiers see it: spec.nodeName and status.hostIP / hostIPs. */
export function hostOf(pod: V1Pod): Pick<TierEndpoint, 'nodeName' | 'hostIps'> {
  const texts = new Set<string>();
  if (pod.status?.hostIP) texts.add(pod.status.hostIP);
  for (const h of pod.status?.hostIPs ?? []) if (h?.ip) texts.add(h.ip);
  const hostIps = [...texts].map(parseIp).filter((ip): ip is Ip => ip !== undefined);
  return { ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}), ...(hostIps.length ? { hostIps } : {}) };
}

/**
 * Whether a pod is a node a nodes peer selects, as traffic to it goes: the peer matches the nodes'
 * IPs, which a host-network pod shares. So a host-network pod whose spec.nodeName is a selected node,
 * or one of whose IPs (pod IPs, host IPs) is a selected node's address; never a pod on the pod network.
 */
export function onSelectedNode(peer: NodesPeer, pod: TierHost): boolean {
  if (!pod.isHostNetwork) return false;
  if (pod.nodeName !== undefined && peer.names.has(pod.nodeName)) return true;
  if (peer.addressKeys.size === 0) return false;
  return (
    pod.ips.some((ip) => peer.addressKeys.has(ipKey(ip))) ||
    (pod.hostIps ?? []).some((ip) => peer.addressKeys.has(ipKey(ip)))
  );
}

/** What NetworkPolicy v1 says about one direction: whether some v1 policy selects the pod for it, and its verdict. */
interface V1Verdict {
  isolated: boolean;
  allowed: boolean;
}

/** Which layer decided a direction. */
type TierLayer = 'Admin' | 'NetworkPolicy' | 'Baseline' | 'default';

/** A rule of a tier policy that matched. */
export interface TierRuleHit {
  policy: TierPolicyRef;
  tier: Tier;
  priority: number;
  direction: Direction;
  rule: { index: number; name: string };
  action: TierAction;
}

/** Two or more policies of one tier and priority that match the traffic: the API lets an implementation apply either. */
interface TierAmbiguity {
  tier: Tier;
  priority: number;
  /** The policies, in the order assumed (by name). */
  policies: TierPolicyRef[];
  /** The one assumed to apply (the first by name). */
  assumed: TierPolicyRef;
}

/** The verdict of one direction, and what decided it. */
export interface TierDirectionDecision {
  allowed: boolean;
  decidedBy: TierLayer;
  /** The rule that decided (Admin/Baseline), absent for NetworkPolicy and default. */
  rule?: TierRuleHit;
  /** Pass rules met on the way (each skips the rest of its tier). */
  passedBy: TierRuleHit[];
  ambiguities: TierAmbiguity[];
  /** Rules with domainNames peers among those the traffic reached: not evaluated statically. */
  domainNameRules: TierRuleHit[];
}

/** Whether a connection is allowed: both the source's egress and the destination's ingress. */
export interface TierDecision {
  allowed: boolean;
  ingress: TierDirectionDecision;
  egress: TierDirectionDecision;
}

/** A port and protocol to ask about (numbers only: the port the connection is made to). */
interface TierPortQuery {
  port: number;
  protocol: Protocol;
}

/** Whether a policy's spec.subject selects a pod (host-network pods never). */
export function selectsSubject(policy: CompiledTierPolicy, pod: TierEndpoint): boolean {
  if (pod.isHostNetwork) return false;
  const { namespaces, pods } = policy.subject;
  return namespaces.matches(pod.namespaceLabels) && (pods === undefined || pods.matches(pod.labels));
}

/** Whether a compiled peer matches the other end of the traffic. */
export function peerMatches(peer: TierPeer, other: TierEndpoint): boolean {
  switch (peer.kind) {
    case 'namespaces':
      return !other.isHostNetwork && peer.namespaces.matches(other.namespaceLabels);
    case 'pods':
      return !other.isHostNetwork && peer.namespaces.matches(other.namespaceLabels) && peer.pods.matches(other.labels);
    // Networks: cluster-internal traffic is checked against the CIDRs too (upstream comment).
    case 'networks':
      return networksContain(peer.cidrs, other.ips);
    case 'nodes':
      return onSelectedNode(peer, other);
    // Domain names are resolved at run time (recorded by the caller).
    case 'domainNames':
      return false;
  }
}

/** Whether a port matcher includes the port; a named port resolves on the destination pod. */
function portMatches(port: TierPort, query: TierPortQuery, destination: TierEndpoint): boolean {
  if ('namedPort' in port) {
    return destination.ports.some(
      (p) => p.name === port.namedPort && p.port === query.port && p.protocol === query.protocol,
    );
  }
  return port.protocol === query.protocol && port.from <= query.port && query.port <= port.to;
}

function ruleMatches(rule: TierRule, other: TierEndpoint, query: TierPortQuery, destination: TierEndpoint): boolean {
  const peers = rule.peers === 'all' || rule.peers.some((p) => peerMatches(p, other));
  const ports = rule.ports === 'all' || rule.ports.some((p) => portMatches(p, query, destination));
  return peers && ports;
}

export function hitOf(policy: CompiledTierPolicy, direction: Direction, rule: TierRule): TierRuleHit {
  return {
    policy: policy.ref,
    tier: policy.tier,
    priority: policy.priority,
    direction,
    rule: { index: rule.index, name: rule.name },
    action: rule.action,
  };
}

/** The first rule of a policy, in written order, that matches the traffic. */
function firstMatch(
  policy: CompiledTierPolicy,
  direction: Direction,
  other: TierEndpoint,
  query: TierPortQuery,
  destination: TierEndpoint,
): TierRule | undefined {
  return policy[direction].find((r) => ruleMatches(r, other, query, destination));
}

/** One tier's answer: a final Accept/Deny, a Pass, or nothing matched. */
interface TierOutcome {
  final?: TierRuleHit;
  passed?: TierRuleHit;
  ambiguities: TierAmbiguity[];
  domainNameRules: TierRuleHit[];
}

/**
 * Walks one tier's policies that select the subject, lower priority first; the first matching rule
 * decides. Same priority: the API leaves the order to the implementation; we assume name order and
 * report the ambiguity when more than one of them matches.
 */
function evaluateTier(
  policies: readonly CompiledTierPolicy[],
  direction: Direction,
  subject: TierEndpoint,
  other: TierEndpoint,
  query: TierPortQuery,
  destination: TierEndpoint,
): TierOutcome {
  const outcome: TierOutcome = { ambiguities: [], domainNameRules: [] };
  // The set is in evaluation order already (compileTierPolicies).
  const selecting = policies.filter((p) => p[direction].length > 0 && selectsSubject(p, subject));
  for (let i = 0; i < selecting.length; i++) {
    const policy = selecting[i]!;
    for (const rule of policy[direction]) {
      if (rule.hasDomainNames) outcome.domainNameRules.push(hitOf(policy, direction, rule));
      if (!ruleMatches(rule, other, query, destination)) continue;
      const hit = hitOf(policy, direction, rule);
      const rivals = selecting.filter(
        (p, j) => j > i && p.priority === policy.priority && firstMatch(p, direction, other, query, destination),
      );
      if (rivals.length > 0) {
        outcome.ambiguities.push({
          tier: policy.tier,
          priority: policy.priority,
          policies: [policy.ref, ...rivals.map((p) => p.ref)],
          assumed: policy.ref,
        });
      }
      if (rule.action === 'Pass') outcome.passed = hit;
      else outcome.final = hit;
      return outcome;
    }
  }
  return outcome;
}

/** Decides one direction: Admin tier, then NetworkPolicy v1 if it selects the pod, then Baseline, then allowed. */
function decideDirection(
  set: TierSet,
  direction: Direction,
  v1: V1Verdict,
  source: TierEndpoint,
  destination: TierEndpoint,
  query: TierPortQuery,
): TierDirectionDecision {
  const [subject, other] = direction === 'ingress' ? [destination, source] : [source, destination];
  const passedBy: TierRuleHit[] = [];
  const ambiguities: TierAmbiguity[] = [];
  const domainNameRules: TierRuleHit[] = [];
  for (const tier of ['Admin', 'Baseline'] as const) {
    if (tier === 'Baseline' && v1.isolated) {
      // A NetworkPolicy that selects the pod for this direction always decides (tier comment).
      return { allowed: v1.allowed, decidedBy: 'NetworkPolicy', passedBy, ambiguities, domainNameRules };
    }
    const policies = set.policies.filter((p) => p.tier === tier);
    const outcome = evaluateTier(policies, direction, subject, other, query, destination);
    ambiguities.push(...outcome.ambiguities);
    domainNameRules.push(...outcome.domainNameRules);
    if (outcome.passed) passedBy.push(outcome.passed);
    if (outcome.final) {
      return {
        allowed: outcome.final.action === 'Accept',
        decidedBy: tier,
        rule: outcome.final,
        passedBy,
        ambiguities,
        domainNameRules,
      };
    }
  }
  // No tier decided: the default Kubernetes policy, every pod may talk to every pod.
  return { allowed: true, decidedBy: 'default', passedBy, ambiguities, domainNameRules };
}

/**
 * The verdict of a connection from `source` to `destination` on a port, with cluster tiers: the
 * source's egress and the destination's ingress must both allow it. `v1` is NetworkPolicy v1's verdict
 * for each direction (the caller's engine computes it).
 */
export function decideWithTiers(
  set: TierSet,
  v1: Record<Direction, V1Verdict>,
  source: TierEndpoint,
  destination: TierEndpoint,
  query: TierPortQuery,
): TierDecision {
  const egress = decideDirection(set, 'egress', v1.egress, source, destination, query);
  const ingress = decideDirection(set, 'ingress', v1.ingress, source, destination, query);
  return { allowed: egress.allowed && ingress.allowed, ingress, egress };
}
