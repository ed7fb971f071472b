/** Traffic -> Decision {allowed, ingress, egress}, with the policies and rules responsible. */
import type { PodClass, World } from './world.js';
import { portsOfRule, ruleAdmitsClass } from './peers.js';
import type { Decision, DirectionDecision, PolicyRef, PortSet, Protocol, RuleRef } from './model.js';
import {
  emptyPortSet,
  fullPortSet,
  intersectPortSets,
  isEmptyPortSet,
  portSetContains,
  unionPortSets,
} from './ports.js';

/** The rules of one direction that admit the other side, each with the ports it admits on the destination. */
interface SideAnalysis {
  isolated: boolean;
  selectedBy: PolicyRef[];
  rules: { ref: RuleRef; ports: PortSet }[];
  /** Every port when not isolated, else the union of the rules' ports. */
  ports: PortSet;
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

/** Analyses traffic from the pods of one class to the pods of another (memoised per world). */
export function analysePair(world: World, source: PodClass, destination: PodClass): PairAnalysis {
  const key = source.id * world.classes.length + destination.id;
  const known = world.cache.get(key) as PairAnalysis | undefined;
  if (known) return known;
  const analysis: PairAnalysis = {
    // Ingress: the destination's policies, their rules' peers matched against the source.
    ingress: analyseSide(destination.ingressPolicies, 'ingress', source, destination),
    // Egress: the source's policies, their rules' peers matched against the destination.
    egress: analyseSide(source.egressPolicies, 'egress', destination, destination),
  };
  world.cache.set(key, analysis);
  return analysis;
}

/** One direction's decision for one port. */
function decideSideOnPort(side: SideAnalysis, protocol: Protocol, port: number): DirectionDecision {
  if (!side.isolated) {
    return { allowed: true, isolated: false, selectedBy: [], allowedBy: [], peerAdmittedBy: [], applies: true };
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
  if (!side.isolated) {
    return { allowed: true, isolated: false, selectedBy: [], allowedBy: [], peerAdmittedBy: [], applies: true };
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
