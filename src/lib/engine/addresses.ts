/**
 * Addresses outside the cluster as sources: the blocks a target's ingress rules admit, those it does
 * not (for --explain), and whether every address of a block the user names may reach it. Only the
 * target's ingress decides: an address has no egress policy (NetworkPolicy selects pods).
 */
import type { AddressSet } from './ipblock.js';
import {
  addressesOfBlock,
  addressesOverlap,
  cidrsOf,
  compileIpBlock,
  isEmptyAddressSet,
  subtractAddresses,
  unionAddresses,
} from './ipblock.js';
import { atomsOf } from './matrix.js';
import type { Decision, DirectionDecision, IpBlock, PortSet, Protocol, RuleRef } from './model.js';
import { portsOfRule } from './peers.js';
import { emptyPortSet, fullPortSet, isEmptyPortSet, portSetContains, portSetOf, unionPortSets } from './ports.js';
import type { Connection } from './who-can.js';
import type { PodInfo, World } from './world.js';

/** Every address of each family: what a rule admitting every peer, or no isolation, lets in. */
const ANY_ADDRESS: readonly IpBlock[] = [
  { cidr: '0.0.0.0/0', except: [] },
  { cidr: '::/0', except: [] },
];

const EVERY_ADDRESS: AddressSet = unionAddresses(...ANY_ADDRESS.map((b) => addressesOfBlock(compileIpBlock(b))));

/** The egress half of an address's connection: it does not apply (addresses have no egress policy). */
export const NOT_APPLICABLE: DirectionDecision = {
  allowed: true,
  isolated: false,
  selectedBy: [],
  allowedBy: [],
  peerAdmittedBy: [],
  applies: false,
};

/** One port asked about. */
type Point = { port: number; protocol: Protocol };

/** An ingress rule of the target as far as addresses go: the addresses its peers admit, and its ports there. */
interface AddressRule {
  ref: RuleRef;
  addresses: AddressSet;
  ports: PortSet;
}

/** The target's ingress rules that admit some address (every address for a rule without `from`). */
function addressRules(world: World, target: PodInfo): AddressRule[] {
  const cls = world.classes[target.classId];
  const out: AddressRule[] = [];
  for (const policy of cls.ingressPolicies) {
    for (const rule of policy.ingress ?? []) {
      const ports = portsOfRule(rule, target.pod);
      if (rule.peers === 'all') out.push({ ref: rule.ref, addresses: EVERY_ADDRESS, ports });
      else {
        const blocks = rule.peers.flatMap((peer) => (peer.kind === 'ipBlock' ? [addressesOfBlock(peer.block)] : []));
        if (blocks.length > 0) out.push({ ref: rule.ref, addresses: unionAddresses(...blocks), ports });
      }
    }
  }
  return out;
}

/**
 * Address blocks that may reach a target from outside the cluster: those its ingress rules name, each
 * with the rules that admit it; every address when the target is not isolated for ingress.
 */
export function externalConnections(world: World, target: PodInfo, port?: Point): Connection[] {
  const cls = world.classes[target.classId];
  const blocks = new Map<string, { block: IpBlock; rules: { ref: RuleRef; ports: PortSet }[] }>();
  const add = (block: IpBlock, rule?: { ref: RuleRef; ports: PortSet }) => {
    const key = `${block.cidr}!${block.except.join(',')}`;
    const entry = blocks.get(key) ?? { block, rules: [] };
    if (rule) entry.rules.push(rule);
    blocks.set(key, entry);
  };
  const isolated = cls.ingressPolicies.length > 0;
  if (!isolated) ANY_ADDRESS.forEach((b) => add(b));
  for (const policy of cls.ingressPolicies) {
    for (const rule of policy.ingress ?? []) {
      const ports = portsOfRule(rule, target.pod);
      if (rule.peers === 'all') ANY_ADDRESS.forEach((b) => add(b, { ref: rule.ref, ports }));
      else for (const peer of rule.peers) if (peer.kind === 'ipBlock') add(peer.block.block, { ref: rule.ref, ports });
    }
  }
  const out: Connection[] = [];
  for (const { block, rules } of blocks.values()) {
    const selectedBy = cls.ingressPolicies.map((p) => p.ref);
    const side = (allowedBy: RuleRef[]): DirectionDecision => ({
      allowed: true,
      isolated,
      selectedBy,
      allowedBy,
      peerAdmittedBy: [],
      applies: true,
    });
    if (port) {
      const allowedBy = rules.filter((r) => portSetContains(r.ports, port.protocol, port.port)).map((r) => r.ref);
      if (isolated && allowedBy.length === 0) continue;
      const decision = { allowed: true, ingress: side(allowedBy), egress: NOT_APPLICABLE };
      out.push({ from: { ipBlock: block }, to: target.ref, port: port.port, protocol: port.protocol, decision });
    } else {
      const ports = isolated ? unionPortSets(...rules.map((r) => r.ports)) : fullPortSet();
      if (isEmptyPortSet(ports)) continue;
      const allowedBy = rules.filter((r) => !isEmptyPortSet(r.ports)).map((r) => r.ref);
      out.push({
        from: { ipBlock: block },
        to: target.ref,
        ports,
        decision: { allowed: true, ingress: side(allowedBy), egress: NOT_APPLICABLE },
      });
    }
  }
  return out;
}

/**
 * Whether every address of `block` may reach `target`, on `port` or (without one) on which ports: the
 * target's ingress admits an address when it is not isolated, or when a rule on that port admits every
 * peer or names an ipBlock holding the address (cidr less except). A block is allowed on a port only if
 * every one of its addresses is.
 */
export function addressConnection(world: World, target: PodInfo, block: IpBlock, port?: Point): Connection {
  const cls = world.classes[target.classId];
  const from = { ipBlock: block };
  const asked = addressesOfBlock(compileIpBlock(block));
  const connection = (decision: Decision, ports?: PortSet): Connection =>
    port
      ? { from, to: target.ref, port: port.port, protocol: port.protocol, decision }
      : { from, to: target.ref, ports: ports ?? emptyPortSet(), decision };
  if (cls.ingressPolicies.length === 0) {
    const open: DirectionDecision = { ...NOT_APPLICABLE, applies: true };
    return connection({ allowed: true, ingress: open, egress: NOT_APPLICABLE }, fullPortSet());
  }
  const selectedBy = cls.ingressPolicies.map((p) => p.ref);
  const touching = addressRules(world, target).filter((r) => addressesOverlap(r.addresses, asked));
  const side = (fields: Partial<DirectionDecision>): DirectionDecision => ({
    allowed: false,
    isolated: true,
    selectedBy,
    allowedBy: [],
    peerAdmittedBy: [],
    applies: true,
    ...fields,
  });
  // The ports on which the rules together admit every asked address, cut into atoms no rule tells apart.
  const points = port
    ? [{ point: port, ports: portSetOf(port.protocol, port.port, port.port) }]
    : atomsOf(touching.map((r) => r.ports));
  const allowedPorts: PortSet[] = [];
  const allowedBy = new Set<RuleRef>();
  for (const { point, ports } of points) {
    const on = touching.filter((r) => portSetContains(r.ports, point.protocol, point.port));
    if (on.length === 0 || !isEmptyAddressSet(subtractAddresses(asked, unionAddresses(...on.map((r) => r.addresses)))))
      continue;
    allowedPorts.push(ports);
    for (const r of on) allowedBy.add(r.ref);
  }
  if (allowedPorts.length > 0) {
    const ingress = side({ allowed: true, allowedBy: [...allowedBy] });
    return connection({ allowed: true, ingress, egress: NOT_APPLICABLE }, unionPortSets(...allowedPorts));
  }
  if (touching.length === 0) {
    return connection({ allowed: false, ingress: side({ reason: 'no-rule-admits-peer' }), egress: NOT_APPLICABLE });
  }
  const onPort = port ? touching.filter((r) => portSetContains(r.ports, port.protocol, port.port)) : touching;
  if (onPort.length === 0) {
    const ingress = side({ reason: 'no-rule-admits-port', peerAdmittedBy: touching.map((r) => r.ref) });
    return connection({ allowed: false, ingress, egress: NOT_APPLICABLE });
  }
  const rest = subtractAddresses(asked, unionAddresses(...onPort.map((r) => r.addresses)));
  const ingress = side({
    reason: 'partly-admitted',
    peerAdmittedBy: onPort.map((r) => r.ref),
    notAdmitted: cidrsOf(rest),
  });
  return connection({ allowed: false, ingress, egress: NOT_APPLICABLE });
}

/**
 * The address blocks denied a target, for --explain: every address (`0.0.0.0/0`, `::/0`) when not all
 * of it is admitted, and (with a port) each block a rule names on other ports only.
 */
export function deniedExternalConnections(world: World, target: PodInfo, port?: Point): Connection[] {
  const cls = world.classes[target.classId];
  if (cls.ingressPolicies.length === 0) return [];
  const out = ANY_ADDRESS.map((block) => addressConnection(world, target, block, port)).filter(
    (c) => !c.decision.allowed,
  );
  if (!port) return out;
  const keyOfBlock = (b: IpBlock) => `${b.cidr}!${b.except.join(',')}`;
  const seen = new Set(out.map((c) => ('ipBlock' in c.from ? keyOfBlock(c.from.ipBlock) : '')));
  for (const policy of cls.ingressPolicies) {
    for (const rule of policy.ingress ?? []) {
      if (rule.peers === 'all') continue;
      for (const peer of rule.peers) {
        if (peer.kind !== 'ipBlock') continue;
        const key = keyOfBlock(peer.block.block);
        if (seen.has(key)) continue;
        seen.add(key);
        const c = addressConnection(world, target, peer.block.block, port);
        if (!c.decision.allowed) out.push(c);
      }
    }
  }
  return out;
}
