/**
 * Cluster tiers over pod classes and port sets: for traffic from one class to another, which ports
 * each tier decides in one direction, and how (the first matching rule decides a port: the Admin tier
 * by priority then rule order, NetworkPolicy v1 when it selects the pod, then the Baseline tier, else
 * allowed). tiers.ts answers the same question one port at a time, from the API's text; this module
 * answers it for every port at once, for the engine's queries.
 */
import type { Direction, PortSet } from './model.js';
import type { PROTOCOLS } from './model.js';
import {
  emptyPortSet,
  fullPortSet,
  intersectPortSets,
  isEmptyPortSet,
  portSetOf,
  subtractPortSets,
  unionPortSets,
} from './ports.js';
import type { TierRuleHit } from './tiers.js';
import { hitOf, hostOf, selectsSubject, peerMatches, type TierEndpoint } from './tiers.js';
import type { CompiledTierPolicy, Tier, TierPort, TierRule, TierSet } from './tiers-compile.js';
import type { PodClass } from './world.js';

/** The ports one rule decides for the traffic (those no earlier rule of its tier decided). */
export interface TierSegment {
  hit: TierRuleHit;
  ports: PortSet;
}

/** What the tiers say about one direction of traffic between two classes. */
export interface TierSide {
  /** Admin-tier segments in evaluation order (Accept, Deny and Pass): disjoint. */
  admin: TierSegment[];
  /** Ports no Admin rule decided (Pass included): NetworkPolicy v1, then the Baseline tier, decide them. */
  undecided: PortSet;
  /** Baseline-tier segments over `undecided` (only when no NetworkPolicy v1 selects the pod for the direction). */
  baseline: TierSegment[];
}

/** The tier view of a pod class (its representative stands for all: classes are cut by every tier selector). */
export function endpointOf(cls: PodClass): TierEndpoint {
  const pod = cls.representative;
  const ports: TierEndpoint['ports'][number][] = [];
  for (const c of pod.pod.spec?.containers ?? [])
    for (const p of c.ports ?? [])
      ports.push({ name: p.name, port: p.containerPort, protocol: (p.protocol ?? 'TCP') as 'TCP' });
  return {
    namespace: cls.namespace,
    namespaceLabels: cls.namespaceLabels,
    labels: cls.labels,
    ips: pod.ips,
    ports,
    isHostNetwork: pod.isHostNetwork,
    ...(pod.isHostNetwork ? hostOf(pod.pod) : {}),
  };
}

/** The ports a tier rule's port matcher holds on the destination (a named port resolves there, any protocol). */
function portsOf(port: TierPort, destination: TierEndpoint): PortSet {
  if ('namedPort' in port) {
    const found = destination.ports.filter((p) => p.name === port.namedPort);
    return unionPortSets(emptyPortSet(), ...found.map((p) => portSetOf(p.protocol, p.port, p.port)));
  }
  return portSetOf(port.protocol, port.from, port.to);
}

function rulePorts(rule: TierRule, destination: TierEndpoint): PortSet {
  if (rule.ports === 'all') return fullPortSet();
  return unionPortSets(emptyPortSet(), ...rule.ports.map((p) => portsOf(p, destination)));
}

/**
 * One tier's segments over the ports still open: policies selecting the subject in order, their rules
 * in order; each matching rule decides the ports it holds that no earlier rule took. Returns the
 * segments and the ports nothing in the tier matched.
 */
function tierSegments(
  policies: readonly CompiledTierPolicy[],
  direction: Direction,
  subject: TierEndpoint,
  other: TierEndpoint,
  destination: TierEndpoint,
  open: PortSet,
): { segments: TierSegment[]; rest: PortSet } {
  const segments: TierSegment[] = [];
  let rest = open;
  for (const policy of policies) {
    if (isEmptyPortSet(rest)) break;
    if (policy[direction].length === 0 || !selectsSubject(policy, subject)) continue;
    for (const rule of policy[direction]) {
      if (rule.peers !== 'all' && !rule.peers.some((p) => peerMatches(p, other))) continue;
      const ports = intersectPortSets(rulePorts(rule, destination), rest);
      if (isEmptyPortSet(ports)) continue;
      segments.push({ hit: hitOf(policy, direction, rule), ports });
      rest = subtractPortSets(rest, ports);
      if (isEmptyPortSet(rest)) break;
    }
  }
  return { segments, rest };
}

/** The policies of one tier, in evaluation order (the set is sorted already). */
function ofTier(set: TierSet, tier: Tier): CompiledTierPolicy[] {
  return set.policies.filter((p) => p.tier === tier);
}

const byTier = new WeakMap<TierSet, Record<Tier, CompiledTierPolicy[]>>();

/**
 * The tiers' view of one direction of traffic from `source` to `destination`; undefined when no tier
 * policy selects the direction's subject pod (NetworkPolicy v1 alone decides, as without tiers).
 * `v1Isolated`: whether a NetworkPolicy selects the subject for the direction (then the Baseline tier is
 * never reached).
 */
export function tierSide(
  set: TierSet,
  direction: Direction,
  source: TierEndpoint,
  destination: TierEndpoint,
  v1Isolated: boolean,
): TierSide | undefined {
  let tiers = byTier.get(set);
  if (!tiers) byTier.set(set, (tiers = { Admin: ofTier(set, 'Admin'), Baseline: ofTier(set, 'Baseline') }));
  const [subject, other] = direction === 'ingress' ? [destination, source] : [source, destination];
  const admin = tierSegments(tiers.Admin, direction, subject, other, destination, fullPortSet());
  // Pass skips the rest of the Admin tier: its ports are decided below, as if no Admin rule matched.
  const passed = admin.segments.filter((s) => s.hit.action === 'Pass').map((s) => s.ports);
  const undecided = unionPortSets(admin.rest, ...passed);
  const baseline = v1Isolated
    ? { segments: [] }
    : tierSegments(tiers.Baseline, direction, subject, other, destination, undecided);
  if (admin.segments.length === 0 && baseline.segments.length === 0) return undefined;
  return { admin: admin.segments, undecided, baseline: baseline.segments };
}

/** The ports segments of an action cover. */
function covered(segments: readonly TierSegment[], action?: TierRuleHit['action']): PortSet {
  return unionPortSets(
    emptyPortSet(),
    ...segments.filter((s) => !action || s.hit.action === action).map((s) => s.ports),
  );
}

/**
 * The ports a direction allows with the tiers: those an Admin rule accepts, and of the ports it left
 * undecided, NetworkPolicy v1's when it isolates the pod (`v1Ports`), else those the Baseline tier
 * accepts or leaves alone.
 */
export function allowedWithTiers(side: TierSide, v1Isolated: boolean, v1Ports: PortSet): PortSet {
  const accepted = covered(side.admin, 'Accept');
  if (v1Isolated) return unionPortSets(accepted, intersectPortSets(side.undecided, v1Ports));
  const baselineDenied = covered(side.baseline, 'Deny');
  return unionPortSets(accepted, subtractPortSets(side.undecided, baselineDenied));
}

/** The segment that decides one port, and the Pass segment on its way (undefined: not a tier's port). */
export function segmentAt(
  segments: readonly TierSegment[],
  protocol: (typeof PROTOCOLS)[number],
  port: number,
): TierSegment | undefined {
  return segments.find((s) => s.ports[protocol].some((r) => r.from <= port && port <= r.to));
}

/** The tier rules behind a set of ports: segments of `action` that hold some of them. */
export function segmentsOn(
  segments: readonly TierSegment[],
  ports: PortSet,
  action: TierRuleHit['action'],
): TierRuleHit[] {
  return segments
    .filter((s) => s.hit.action === action && !isEmptyPortSet(intersectPortSets(s.ports, ports)))
    .map((s) => s.hit);
}
