/**
 * Addresses outside the cluster as peers of a pod: as sources (the pod's ingress: who-can) or as
 * destinations (the pod's egress: reachable-from). The blocks the pod's rules admit, those they do not
 * (for --explain), and whether every address of a block the user names is admitted. Only the pod's
 * side decides: an address has no policy (NetworkPolicy selects pods).
 */
import type { AddressSet } from './ipblock.js';
import {
  addressesOfBlock,
  addressesOverlap,
  blocksOf,
  cidrsOf,
  compileIpBlock,
  isEmptyAddressSet,
  subtractAddresses,
  unionAddresses,
} from './ipblock.js';
import type { Connection } from './answer.js';
import { atomsOf } from './matrix.js';
import type { Decision, Direction, DirectionDecision, IpBlock, PortSet, Protocol, RuleRef } from './model.js';
import { portsOfRule } from './peers.js';
import {
  emptyPortSet,
  fullPortSet,
  isEmptyPortSet,
  subtractPortSets,
  portSetContains,
  portSetOf,
  resolvePorts,
  unionPortSets,
} from './ports.js';
import type { CompiledPolicy, CompiledRule, PodClass, PodInfo, World } from './world.js';
import type { TierAddressSide } from './tier-addresses.js';
import { admittedWithTiers, EVERY_ADDRESS, tierAddressSide, tierPortSets, tierRulesOn } from './tier-addresses.js';
import type { TierRuleHit } from './tiers.js';

/** Every address of each family: what a rule admitting every peer, or no isolation, lets in. */
const ANY_ADDRESS: readonly IpBlock[] = [
  { cidr: '0.0.0.0/0', except: [] },
  { cidr: '::/0', except: [] },
];

/** The address's half of a connection: it does not apply (addresses have no policy). */
const NOT_APPLICABLE: DirectionDecision = {
  allowed: true,
  isolated: false,
  selectedBy: [],
  allowedBy: [],
  peerAdmittedBy: [],
  applies: false,
};

/**
 * The decision for a destination without the port name asked about: the name resolves on the
 * destination pod (NetworkPolicyPort.port), so no rule of either side can admit a connection to it.
 */
export function noSuchPortDecision(destination: PodClass): Decision {
  return {
    allowed: false,
    ingress: {
      allowed: false,
      isolated: destination.ingressPolicies.length > 0,
      selectedBy: destination.ingressPolicies.map((p) => p.ref),
      allowedBy: [],
      peerAdmittedBy: [],
      reason: 'no-such-port',
      applies: true,
    },
    egress: NOT_APPLICABLE,
  };
}

/** One port asked about. */
type Point = { port: number; protocol: Protocol };

/** An ingress rule of the target as far as addresses go: the addresses its peers admit, and its ports there. */
interface AddressRule {
  ref: RuleRef;
  addresses: AddressSet;
  ports: PortSet;
}

/** The policies that select the pod for a direction. */
function policiesOf(world: World, pod: PodInfo, direction: Direction): CompiledPolicy[] {
  const cls = world.classes[pod.classId];
  return direction === 'ingress' ? cls.ingressPolicies : cls.egressPolicies;
}

/**
 * A rule's ports toward an address: ingress, as they resolve on the pod (the destination); egress,
 * the destination is the address, which has no container port a name could resolve to.
 */
function portsToward(rule: CompiledRule, pod: PodInfo, direction: Direction): PortSet {
  return direction === 'ingress' ? portsOfRule(rule, pod.pod) : (rule.fixedPorts ?? resolvePorts(rule.ports, {}));
}

/** A connection between a pod and an address block, oriented by the pod's direction. */
function between(
  pod: PodInfo,
  block: IpBlock,
  direction: Direction,
  decision: Decision,
  port?: Point,
  ports?: PortSet,
): Connection {
  const ends =
    direction === 'ingress'
      ? { from: { ipBlock: block }, to: { pod: pod.ref } }
      : { from: { pod: pod.ref }, to: { ipBlock: block } };
  return port
    ? { ...ends, port: port.port, protocol: port.protocol, decision }
    : { ...ends, ports: ports ?? emptyPortSet(), decision };
}

/** A decision made by the pod's side alone (the address side does not apply). */
function decided(direction: Direction, side: DirectionDecision): Decision {
  return direction === 'ingress'
    ? { allowed: side.allowed, ingress: side, egress: NOT_APPLICABLE }
    : { allowed: side.allowed, ingress: NOT_APPLICABLE, egress: side };
}

/** The pod's rules of a direction that admit some address (every address for a rule without `from`/`to`). */
function addressRules(world: World, target: PodInfo, direction: Direction): AddressRule[] {
  const out: AddressRule[] = [];
  for (const policy of policiesOf(world, target, direction)) {
    for (const rule of policy[direction] ?? []) {
      // Ports only for rules admitting addresses (most rules name pods only).
      if (rule.peers === 'all')
        out.push({ ref: rule.ref, addresses: EVERY_ADDRESS, ports: portsToward(rule, target, direction) });
      else {
        const blocks = rule.peers.flatMap((peer) => (peer.kind === 'ipBlock' ? [addressesOfBlock(peer.block)] : []));
        if (blocks.length > 0)
          out.push({
            ref: rule.ref,
            addresses: unionAddresses(...blocks),
            ports: portsToward(rule, target, direction),
          });
      }
    }
  }
  return out;
}

/**
 * The address blocks a pod's rules of a direction admit (ingress: sources that may reach it; egress:
 * destinations it may reach): those the rules name, each with the rules that admit it, and every
 * address when the pod is not isolated in that direction.
 */
export function externalConnections(world: World, pod: PodInfo, direction: Direction, port?: Point): Connection[] {
  const tiers = tierAddressSide(world, world.classes[pod.classId], direction);
  if (tiers) return tieredExternalConnections(world, pod, direction, tiers, port);
  const policies = policiesOf(world, pod, direction);
  const blocks = new Map<string, { block: IpBlock; rules: { ref: RuleRef; ports: PortSet }[] }>();
  const add = (block: IpBlock, rule?: { ref: RuleRef; ports: PortSet }) => {
    const key = blockKey(block);
    const entry = blocks.get(key) ?? { block, rules: [] };
    if (rule) entry.rules.push(rule);
    blocks.set(key, entry);
  };
  const isolated = policies.length > 0;
  if (!isolated) ANY_ADDRESS.forEach((b) => add(b));
  for (const policy of policies) {
    for (const rule of policy[direction] ?? []) {
      const ports = portsToward(rule, pod, direction);
      if (rule.peers === 'all') ANY_ADDRESS.forEach((b) => add(b, { ref: rule.ref, ports }));
      else for (const peer of rule.peers) if (peer.kind === 'ipBlock') add(peer.block.block, { ref: rule.ref, ports });
    }
  }
  const selectedBy = policies.map((p) => p.ref);
  const side = (allowedBy: RuleRef[]): DirectionDecision => ({
    allowed: true,
    isolated,
    selectedBy,
    allowedBy,
    peerAdmittedBy: [],
    applies: true,
  });
  const out: Connection[] = [];
  for (const { block, rules } of blocks.values()) {
    if (port) {
      const allowedBy = rules.filter((r) => portSetContains(r.ports, port.protocol, port.port)).map((r) => r.ref);
      if (isolated && allowedBy.length === 0) continue;
      out.push(between(pod, block, direction, decided(direction, side(allowedBy)), port));
    } else {
      const ports = isolated ? unionPortSets(...rules.map((r) => r.ports)) : fullPortSet();
      if (isEmptyPortSet(ports)) continue;
      const allowedBy = rules.filter((r) => !isEmptyPortSet(r.ports)).map((r) => r.ref);
      out.push(between(pod, block, direction, decided(direction, side(allowedBy)), undefined, ports));
    }
  }
  return out;
}

/** The tier rules, each once. */
function uniqueHits(hits: TierRuleHit[]): TierRuleHit[] {
  return [...new Set(hits)];
}

/**
 * externalConnections when tier rules can match addresses: per set of ports no rule tells apart, the
 * addresses admitted, as blocks, each with the rules that admit part of it.
 */
function tieredExternalConnections(
  world: World,
  pod: PodInfo,
  direction: Direction,
  tiers: TierAddressSide,
  port?: Point,
): Connection[] {
  const policies = policiesOf(world, pod, direction);
  const isolated = policies.length > 0;
  const rules = addressRules(world, pod, direction);
  const points = port
    ? [{ point: port, ports: portSetOf(port.protocol, port.port, port.port) }]
    : atomsOf([...rules.map((r) => r.ports), ...tierPortSets(tiers)]);
  const groups = new Map<string, { addresses: AddressSet; ports: PortSet[]; points: Point[] }>();
  for (const { point, ports } of points) {
    const admitted = admittedWithTiers(tiers, isolated, admittedOn(isolated, rules, point), point);
    if (isEmptyAddressSet(admitted)) continue;
    const key = cidrsOf(admitted).join(',');
    const group = groups.get(key) ?? { addresses: admitted, ports: [], points: [] };
    group.ports.push(ports);
    group.points.push(point);
    groups.set(key, group);
  }
  const out: Connection[] = [];
  for (const group of groups.values()) {
    for (const block of blocksOf(group.addresses)) {
      const addresses = addressesOfBlock(compileIpBlock(block));
      const on = (r: AddressRule) =>
        group.points.some((p) => portSetContains(r.ports, p.protocol, p.port)) &&
        addressesOverlap(r.addresses, addresses);
      const side: DirectionDecision = {
        allowed: true,
        isolated,
        selectedBy: policies.map((p) => p.ref),
        allowedBy: rules.filter(on).map((r) => r.ref),
        peerAdmittedBy: [],
        applies: true,
        tierRules: uniqueHits(group.points.flatMap((p) => tierRulesOn(tiers, addresses, p, 'Accept'))),
        passedBy: uniqueHits(group.points.flatMap((p) => tierRulesOn(tiers, addresses, p, 'Pass'))),
      };
      out.push(between(pod, block, direction, decided(direction, side), port, unionPortSets(...group.ports)));
    }
  }
  return out;
}

function blockKey(block: IpBlock): string {
  return `${block.cidr}!${block.except.join(',')}`;
}

/**
 * Whether every address of `block` is admitted by the pod's side of a direction (ingress: may reach the
 * pod; egress: may be reached from it), on `port` or (without one) on which ports: when the pod is not
 * isolated in that direction, or when rules on that port admitting every peer or naming ipBlocks
 * (cidr less except) hold every one of its addresses.
 */
export function addressConnection(
  world: World,
  pod: PodInfo,
  block: IpBlock,
  direction: Direction,
  port?: Point,
): Connection {
  const policies = policiesOf(world, pod, direction);
  const asked = addressesOfBlock(compileIpBlock(block));
  const connection = (side: DirectionDecision, ports?: PortSet): Connection =>
    between(pod, block, direction, decided(direction, side), port, ports);
  const tiers = tierAddressSide(world, world.classes[pod.classId], direction);
  if (policies.length === 0 && !tiers) return connection({ ...NOT_APPLICABLE, applies: true }, fullPortSet());
  const isolated = policies.length > 0;
  const selectedBy = policies.map((p) => p.ref);
  const touching = addressRules(world, pod, direction).filter((r) => addressesOverlap(r.addresses, asked));
  const side = (fields: Partial<DirectionDecision>): DirectionDecision => ({
    allowed: false,
    isolated,
    selectedBy,
    allowedBy: [],
    peerAdmittedBy: [],
    applies: true,
    ...fields,
  });
  // The ports on which the rules together admit every asked address, cut into atoms no rule tells apart.
  const points = port
    ? [{ point: port, ports: portSetOf(port.protocol, port.port, port.port) }]
    : atomsOf([...touching.map((r) => r.ports), ...tierPortSets(tiers)]);
  const allowedPorts: PortSet[] = [];
  const allowedBy = new Set<RuleRef>();
  const accepted: TierRuleHit[] = [];
  for (const { point, ports } of points) {
    const on = touching.filter((r) => portSetContains(r.ports, point.protocol, point.port));
    if (tiers) {
      const v1 = isolated ? unionAddresses(...on.map((r) => r.addresses)) : EVERY_ADDRESS;
      if (!isEmptyAddressSet(subtractAddresses(asked, admittedWithTiers(tiers, isolated, v1, point)))) continue;
      allowedPorts.push(ports);
      for (const r of on) allowedBy.add(r.ref);
      accepted.push(...tierRulesOn(tiers, asked, point, 'Accept'));
      continue;
    }
    if (on.length === 0 || !isEmptyAddressSet(subtractAddresses(asked, unionAddresses(...on.map((r) => r.addresses)))))
      continue;
    allowedPorts.push(ports);
    for (const r of on) allowedBy.add(r.ref);
  }
  if (allowedPorts.length > 0) {
    const fields: Partial<DirectionDecision> = { allowed: true, allowedBy: [...allowedBy] };
    if (tiers) Object.assign(fields, { tierRules: uniqueHits(accepted), passedBy: [] });
    return connection(side(fields), unionPortSets(...allowedPorts));
  }
  const denying = tiers ? uniqueHits(points.flatMap(({ point }) => tierRulesOn(tiers, asked, point, 'Deny'))) : [];
  if (denying.length > 0 || !isolated) {
    return connection(side({ reason: 'denied-by-tier', tierRules: denying, passedBy: [] }));
  }
  if (touching.length === 0) return connection(side({ reason: 'no-rule-admits-peer' }));
  const onPort = port ? touching.filter((r) => portSetContains(r.ports, port.protocol, port.port)) : touching;
  if (onPort.length === 0) {
    return connection(side({ reason: 'no-rule-admits-port', peerAdmittedBy: touching.map((r) => r.ref) }));
  }
  const rest = subtractAddresses(asked, unionAddresses(...onPort.map((r) => r.addresses)));
  return connection(
    side({ reason: 'partly-admitted', peerAdmittedBy: onPort.map((r) => r.ref), notAdmitted: cidrsOf(rest) }),
  );
}

/**
 * The address blocks a pod's side of a direction does not admit, for --explain: every address
 * (`0.0.0.0/0`, `::/0`) when not all of it is admitted, and (with a port) each block a rule names on
 * other ports only.
 */
export function deniedExternalConnections(
  world: World,
  pod: PodInfo,
  direction: Direction,
  port?: Point,
): Connection[] {
  const policies = policiesOf(world, pod, direction);
  if (policies.length === 0 && !tierAddressSide(world, world.classes[pod.classId], direction)) return [];
  const out: Connection[] = [];
  const seen = new Set<string>();
  const consider = (block: IpBlock) => {
    const key = blockKey(block);
    if (seen.has(key)) return;
    seen.add(key);
    const c = addressConnection(world, pod, block, direction, port);
    if (!c.decision.allowed) out.push(c);
  };
  ANY_ADDRESS.forEach(consider);
  if (!port) return out;
  for (const policy of policies) {
    for (const rule of policy[direction] ?? []) {
      if (rule.peers === 'all') continue;
      for (const peer of rule.peers) if (peer.kind === 'ipBlock') consider(peer.block.block);
    }
  }
  return out;
}

/** Addresses and the ports allowed to (or from) every one of them before a change and after it. */
export interface AddressPorts {
  addresses: AddressSet;
  before: PortSet;
  after: PortSet;
}

/** The addresses a pod's side of a direction admits on one port: every one when it is not isolated. */
function admittedOn(isolated: boolean, rules: AddressRule[], point: Point): AddressSet {
  if (!isolated) return EVERY_ADDRESS;
  return unionAddresses(
    ...rules.filter((r) => portSetContains(r.ports, point.protocol, point.port)).map((r) => r.addresses),
  );
}

/**
 * What a change of policies does to one pod's traffic with addresses outside the cluster in a
 * direction (ingress: from them; egress: to them): the addresses whose allowed ports differ, split
 * into regions whose every address has the same ports before and the same after (one entry each).
 */
export function addressChanges(
  before: World,
  beforePod: PodInfo,
  after: World,
  afterPod: PodInfo,
  direction: Direction,
): AddressPorts[] {
  const was = {
    isolated: policiesOf(before, beforePod, direction).length > 0,
    rules: addressRules(before, beforePod, direction),
    tiers: tierAddressSide(before, before.classes[beforePod.classId], direction),
  };
  const now = {
    isolated: policiesOf(after, afterPod, direction).length > 0,
    rules: addressRules(after, afterPod, direction),
    tiers: tierAddressSide(after, after.classes[afterPod.classId], direction),
  };
  if (!was.isolated && !now.isolated && !was.tiers && !now.tiers) return [];
  const admitted = (side: typeof was, point: Point) => {
    const v1 = admittedOn(side.isolated, side.rules, point);
    return side.tiers ? admittedWithTiers(side.tiers, side.isolated, v1, point) : v1;
  };
  // Ports no rule of either world tells apart are decided once (atoms).
  const atoms = atomsOf([
    ...[...was.rules, ...now.rules].map((r) => r.ports),
    ...tierPortSets(was.tiers),
    ...tierPortSets(now.tiers),
  ]);
  return splitAddresses(
    atoms.map(({ point, ports }) => ({ before: admitted(was, point), after: admitted(now, point), ports })),
  );
}

/**
 * Addresses split into regions whose every address has the same ports before and the same after,
 * given what each world admits on each of some port sets; the regions whose ports differ. A region
 * starts as every address admitted anywhere, and each port set splits it by what it admits before
 * and after.
 */
export function splitAddresses(sides: { before: AddressSet; after: AddressSet; ports: PortSet }[]): AddressPorts[] {
  interface Region {
    addresses: AddressSet;
    before: PortSet[];
    after: PortSet[];
  }
  let regions: Region[] = [
    { addresses: unionAddresses(...sides.flatMap((s) => [s.before, s.after])), before: [], after: [] },
  ];
  for (const side of sides) {
    const next: Region[] = [];
    for (const region of regions) {
      const inBefore = intersectAddresses(region.addresses, side.before);
      const outBefore = subtractAddresses(region.addresses, side.before);
      const parts: [AddressSet, boolean, boolean][] = [
        [intersectAddresses(inBefore, side.after), true, true],
        [subtractAddresses(inBefore, side.after), true, false],
        [intersectAddresses(outBefore, side.after), false, true],
        [subtractAddresses(outBefore, side.after), false, false],
      ];
      for (const [addresses, isBefore, isAfter] of parts)
        if (!isEmptyAddressSet(addresses))
          next.push({
            addresses,
            before: isBefore ? [...region.before, side.ports] : region.before,
            after: isAfter ? [...region.after, side.ports] : region.after,
          });
    }
    regions = next;
  }
  return regions
    .map((r) => ({ addresses: r.addresses, before: unionPortSets(...r.before), after: unionPortSets(...r.after) }))
    .filter(
      (r) =>
        !isEmptyPortSet(subtractPortSets(r.before, r.after)) || !isEmptyPortSet(subtractPortSets(r.after, r.before)),
    );
}

/** The addresses in both sets. */
function intersectAddresses(a: AddressSet, b: AddressSet): AddressSet {
  return subtractAddresses(a, subtractAddresses(a, b));
}
