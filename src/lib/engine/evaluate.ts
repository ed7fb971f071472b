/** Traffic -> Decision {allowed, ingress, egress}, with the policies and rules responsible. */
import type { PodClass, World } from './world.js';
import { portsOfRule, ruleAdmitsClass } from './peers.js';
import type { Decision, DecidingLayer, DirectionDecision, PolicyRef, PortSet, Protocol, RuleRef } from './model.js';
import {
  emptyPortSet,
  fullPortSet,
  intersectPortSets,
  isEmptyPortSet,
  portSetContains,
  unionPortSets,
} from './ports.js';
import type { TierRuleHit } from './tiers.js';
import { allowedWithTiers, segmentAt, segmentsOn, type TierSide } from './tier-sides.js';
import { tierSideBetween } from './tier-world.js';

/** The rules of one direction that admit the other side, each with the ports it admits on the destination. */
interface SideAnalysis {
  isolated: boolean;
  selectedBy: PolicyRef[];
  rules: { ref: RuleRef; ports: PortSet }[];
  /** The ports allowed: every port when not isolated, else the union of the rules' ports; with tiers, theirs. */
  ports: PortSet;
  /** What the cluster tiers decide in this direction (absent: NetworkPolicy v1 alone). */
  tiers?: TierSide;
  /** With tiers: the ports NetworkPolicy v1 alone allows. */
  v1Ports?: PortSet;
}

/** Both directions of traffic from one pod class to another. */
interface PairAnalysis {
  ingress: SideAnalysis;
  egress: SideAnalysis;
}

function analyseSide(
  policies: PodClass['ingressPolicies'],
  direction: 'ingress' | 'egress',
  other: PodClass,
  destination: PodClass,
): SideAnalysis {
  if (policies.length === 0) return { isolated: false, selectedBy: [], rules: [], ports: fullPortSet() };
  const rules: SideAnalysis['rules'] = [];
  for (const policy of policies) {
    for (const rule of policy[direction] ?? []) {
      // Named ports resolve on the destination pod, for ingress and egress rules alike.
      if (ruleAdmitsClass(rule, other))
        rules.push({ ref: rule.ref, ports: portsOfRule(rule, destination.representative.pod) });
    }
  }
  return {
    isolated: true,
    selectedBy: policies.map((p) => p.ref),
    rules,
    ports: rules.length ? unionPortSets(...rules.map((r) => r.ports)) : emptyPortSet(),
  };
}

/** The cluster tiers' part of one side: the ports they let through, with NetworkPolicy v1's verdict under them. */
function withTiers(
  world: World,
  side: SideAnalysis,
  direction: 'ingress' | 'egress',
  source: PodClass,
  destination: PodClass,
): SideAnalysis {
  const tw = world.tiers;
  if (!tw) return side;
  const found = tierSideBetween(tw, direction, tw.classOf[source.id], tw.classOf[destination.id]);
  if (!found) return side;
  // A NetworkPolicy that selects the pod for the direction decides before the Baseline tier is reached.
  const tiers = side.isolated ? { ...found, baseline: [] } : found;
  if (tiers.admin.length === 0 && tiers.baseline.length === 0) return side;
  return { ...side, tiers, v1Ports: side.ports, ports: allowedWithTiers(tiers, side.isolated, side.ports) };
}

/** Analyses traffic from the pods of one class to the pods of another, not kept (a whole-matrix scan). */
function analyseClassPair(world: World, source: PodClass, destination: PodClass): PairAnalysis {
  return {
    // Ingress: the destination's policies, their rules' peers matched against the source.
    ingress: withTiers(
      world,
      analyseSide(destination.ingressPolicies, 'ingress', source, destination),
      'ingress',
      source,
      destination,
    ),
    // Egress: the source's policies, their rules' peers matched against the destination.
    egress: withTiers(
      world,
      analyseSide(source.egressPolicies, 'egress', destination, destination),
      'egress',
      source,
      destination,
    ),
  };
}

/**
 * Class pairs whose analysis a world keeps. A whole-cluster answer analyses about as many pairs as
 * there are pod pairs (pods with their own IP are classes of their own when ipBlocks cover pod IPs):
 * past this many the memo starts over, so memory stays bounded by the world, not by the answer.
 */
const PAIR_MEMO_LIMIT = 1 << 16;

/** Analyses traffic from the pods of one class to the pods of another (memoised per world, up to PAIR_MEMO_LIMIT pairs). */
export function analysePair(world: World, source: PodClass, destination: PodClass): PairAnalysis {
  const key = source.id * world.classes.length + destination.id;
  const known = world.cache.get(key) as PairAnalysis | undefined;
  if (known) return known;
  const analysis = analyseClassPair(world, source, destination);
  if (world.cache.size >= PAIR_MEMO_LIMIT) world.cache.clear();
  world.cache.set(key, analysis);
  return analysis;
}

/** A direction no policy isolates: allowed, nothing responsible. */
function notIsolated(): DirectionDecision {
  return { allowed: true, isolated: false, selectedBy: [], allowedBy: [], peerAdmittedBy: [], applies: true };
}

/** A direction a tier rule decided. */
function tierDecided(
  side: SideAnalysis,
  layer: DecidingLayer,
  hit: TierRuleHit,
  passedBy: TierRuleHit[],
): DirectionDecision {
  const allowed = hit.action === 'Accept';
  const decision: DirectionDecision = {
    allowed,
    isolated: side.isolated,
    selectedBy: side.selectedBy,
    allowedBy: [],
    peerAdmittedBy: [],
    applies: true,
    decidedBy: layer,
    tierRules: [hit],
    passedBy,
  };
  if (!allowed) decision.reason = 'denied-by-tier';
  return decision;
}

/** One direction's decision for one port with the cluster tiers: Admin, then NetworkPolicy v1, then Baseline. */
function decideTiersOnPort(
  side: SideAnalysis & { tiers: TierSide },
  protocol: Protocol,
  port: number,
): DirectionDecision {
  const admin = segmentAt(side.tiers.admin, protocol, port);
  if (admin && admin.hit.action !== 'Pass') return tierDecided(side, 'Admin', admin.hit, []);
  const passedBy = admin ? [admin.hit] : [];
  if (side.isolated)
    return { ...decideSideOnPort({ ...side, tiers: undefined }, protocol, port), decidedBy: 'NetworkPolicy', passedBy };
  const baseline = segmentAt(side.tiers.baseline, protocol, port);
  // A Pass in the Baseline tier leaves the port to the default (allowed), as no match would.
  if (baseline && baseline.hit.action !== 'Pass') return tierDecided(side, 'Baseline', baseline.hit, passedBy);
  if (baseline) passedBy.push(baseline.hit);
  return { ...notIsolated(), decidedBy: 'default', passedBy };
}

/** One direction's decision over all ports with the cluster tiers, given the ports finally allowed. */
function decideTiersOnPorts(side: SideAnalysis & { tiers: TierSide }, allowedPorts: PortSet): DirectionDecision {
  const { tiers } = side;
  const v1Side = { ...side, tiers: undefined, ports: side.v1Ports ?? side.ports };
  const v1 = decideSideOnPorts(v1Side, intersectPortSets(allowedPorts, tiers.undecided));
  const segments = [...tiers.admin, ...tiers.baseline];
  const allowed = !isEmptyPortSet(side.ports);
  const tierRules = allowed
    ? segmentsOn(segments, allowedPorts, 'Accept')
    : segmentsOn(segments, fullPortSet(), 'Deny');
  const passedBy = segmentsOn(tiers.admin, allowed ? allowedPorts : fullPortSet(), 'Pass');
  const decision: DirectionDecision = { ...v1, allowed, tierRules, passedBy };
  if (allowed) {
    delete decision.reason;
    decision.peerAdmittedBy = [];
  } else if (tierRules.length > 0) {
    decision.reason = 'denied-by-tier';
    decision.peerAdmittedBy = [];
  }
  return decision;
}

/** One direction's decision for one port. */
function decideSideOnPort(side: SideAnalysis, protocol: Protocol, port: number): DirectionDecision {
  if (side.tiers) return decideTiersOnPort(side as SideAnalysis & { tiers: TierSide }, protocol, port);
  if (!side.isolated) {
    return notIsolated();
  }
  const allowedBy = side.rules.filter((r) => portSetContains(r.ports, protocol, port)).map((r) => r.ref);
  const allowed = allowedBy.length > 0;
  return {
    allowed,
    isolated: true,
    selectedBy: side.selectedBy,
    allowedBy,
    peerAdmittedBy: allowed ? [] : side.rules.map((r) => r.ref),
    reason: allowed ? undefined : side.rules.length ? 'no-rule-admits-port' : 'no-rule-admits-peer',
    applies: true,
  };
}

/** One direction's decision over all ports, given the ports finally allowed. */
function decideSideOnPorts(side: SideAnalysis, allowedPorts: PortSet): DirectionDecision {
  if (side.tiers) return decideTiersOnPorts(side as SideAnalysis & { tiers: TierSide }, allowedPorts);
  if (!side.isolated) {
    return notIsolated();
  }
  const allowedBy = side.rules
    .filter((r) => !isEmptyPortSet(intersectPortSets(r.ports, allowedPorts)))
    .map((r) => r.ref);
  const allowed = !isEmptyPortSet(side.ports);
  return {
    allowed,
    isolated: true,
    selectedBy: side.selectedBy,
    allowedBy,
    peerAdmittedBy: allowedBy.length ? [] : side.rules.map((r) => r.ref),
    reason: allowed ? undefined : side.rules.length ? 'no-rule-admits-port' : 'no-rule-admits-peer',
    applies: true,
  };
}

/**
 * Decides traffic between pod classes on one port: allowed only if the source's egress AND the
 * destination's ingress both allow it. (A pod reaching itself is the caller's to allow.)
 */
export function decideOnPort(pair: PairAnalysis, protocol: Protocol, port: number): Decision {
  const ingress = decideSideOnPort(pair.ingress, protocol, port);
  const egress = decideSideOnPort(pair.egress, protocol, port);
  return { allowed: ingress.allowed && egress.allowed, ingress, egress };
}

/** Decides traffic between pod classes over all ports: the ports both directions allow. */
export function decideOnAllPorts(pair: PairAnalysis): { decision: Decision; ports: PortSet } {
  const ports = intersectPortSets(pair.ingress.ports, pair.egress.ports);
  const ingress = decideSideOnPorts(pair.ingress, ports);
  const egress = decideSideOnPorts(pair.egress, ports);
  // Each side may allow ports the other does not: the connection needs a port both allow.
  return { decision: { allowed: !isEmptyPortSet(ports), ingress, egress }, ports };
}
