/**
 * Addresses outside the cluster with cluster tiers: the addresses a pod's side of a direction admits
 * on a port when Admin and Baseline rules may match them. Tier ingress peers are pods and namespaces
 * only, so from outside only a rule that fails closed (it denies everything) can match; egress rules
 * match addresses through `networks` and through `nodes` (the selected nodes' addresses). The first matching rule decides each address, as for pods.
 */
import type { AddressSet } from './ipblock.js';
import {
  addressesOfBlock,
  compileIpBlock,
  formatCidr,
  isEmptyAddressSet,
  subtractAddresses,
  unionAddresses,
} from './ipblock.js';
import type { Direction, PortSet, Protocol } from './model.js';
import { emptyPortSet, fullPortSet, portSetContains, portSetOf, unionPortSets } from './ports.js';
import { endpointOf } from './tier-sides.js';
import { hitOf, selectsSubject, type TierRuleHit } from './tiers.js';
import type { Tier, TierRule, TierSet } from './tiers-compile.js';
import type { PodClass, TierWorld, World } from './world.js';

/** Every address of each family. */
export const EVERY_ADDRESS: AddressSet = unionAddresses(
  addressesOfBlock(compileIpBlock({ cidr: '0.0.0.0/0', except: [] })),
  addressesOfBlock(compileIpBlock({ cidr: '::/0', except: [] })),
);

/** A tier rule as far as addresses go: the addresses it matches, and its ports. */
export interface TierAddressRule {
  hit: TierRuleHit;
  addresses: AddressSet;
  ports: PortSet;
}

/** The tier rules of a pod's side of a direction that can match addresses, per tier, in evaluation order. */
export interface TierAddressSide {
  admin: TierAddressRule[];
  baseline: TierAddressRule[];
  /** A NetworkPolicy selects the pod for the direction: the Baseline tier is never reached. */
  isolated: boolean;
}

/** The part of `a` inside `b`. */
function intersectAddresses(a: AddressSet, b: AddressSet): AddressSet {
  return subtractAddresses(a, subtractAddresses(a, b));
}

function addressesOf(rule: TierRule): AddressSet | undefined {
  if (rule.peers === 'all') return EVERY_ADDRESS;
  // networks: their CIDRs; nodes: the selected nodes' own addresses (each one address).
  const cidrs = rule.peers.flatMap((peer) =>
    peer.kind === 'networks'
      ? peer.cidrs.map((c) => c.text)
      : peer.kind === 'nodes'
        ? peer.ips.map((ip) => formatCidr(ip.family, ip.value, ip.family === 4 ? 32 : 128))
        : [],
  );
  const sets = cidrs.map((cidr) => addressesOfBlock(compileIpBlock({ cidr, except: [] })));
  return sets.length ? unionAddresses(...sets) : undefined;
}

/** A rule's ports toward an address: a named port resolves on the pod for ingress, on nothing for egress. */
function portsOf(rule: TierRule, cls: PodClass, direction: Direction): PortSet {
  if (rule.ports === 'all') return fullPortSet();
  const endpoint = endpointOf(cls);
  return unionPortSets(
    emptyPortSet(),
    ...rule.ports.map((p) => {
      if (!('namedPort' in p)) return portSetOf(p.protocol, p.from, p.to);
      if (direction === 'egress') return emptyPortSet();
      const found = endpoint.ports.filter((c) => c.name === p.namedPort);
      return unionPortSets(emptyPortSet(), ...found.map((c) => portSetOf(c.protocol, c.port, c.port)));
    }),
  );
}

const addressSides = new WeakMap<TierWorld, Map<number, TierAddressSide | null>>();

/**
 * The tier rules that can match addresses for a pod class in a direction; undefined when there are none.
 * Worked out once per tier class (its classes share what the tier selectors and port names read),
 * direction and NetworkPolicy isolation.
 */
export function tierAddressSide(world: World, cls: PodClass, direction: Direction): TierAddressSide | undefined {
  const tw = world.tiers;
  if (!tw) return undefined;
  const isolated = (direction === 'ingress' ? cls.ingressPolicies : cls.egressPolicies).length > 0;
  let memo = addressSides.get(tw);
  if (!memo) addressSides.set(tw, (memo = new Map()));
  const key = tw.classOf[cls.id] * 4 + (direction === 'ingress' ? 2 : 0) + (isolated ? 1 : 0);
  let side = memo.get(key);
  if (side === undefined) memo.set(key, (side = addressSideOf(tw.set, cls, direction, isolated) ?? null));
  return side ?? undefined;
}

function addressSideOf(
  set: TierSet,
  cls: PodClass,
  direction: Direction,
  isolated: boolean,
): TierAddressSide | undefined {
  const endpoint = endpointOf(cls);
  const side: Record<Tier, TierAddressRule[]> = { Admin: [], Baseline: [] };
  for (const policy of set.policies) {
    if (policy[direction].length === 0 || !selectsSubject(policy, endpoint)) continue;
    for (const rule of policy[direction]) {
      const addresses = addressesOf(rule);
      if (addresses)
        side[policy.tier].push({
          hit: hitOf(policy, direction, rule),
          addresses,
          ports: portsOf(rule, cls, direction),
        });
    }
  }
  if (side.Admin.length === 0 && side.Baseline.length === 0) return undefined;
  return { admin: side.Admin, baseline: side.Baseline, isolated };
}

/**
 * One tier over the addresses still open on a port: what it accepts, what it leaves (and passes), and
 * the addresses each matching rule decides (those no earlier rule of the tier took).
 */
function walk(rules: readonly TierAddressRule[], open: AddressSet, protocol: Protocol, port: number) {
  let rest = open;
  let accepted: AddressSet = unionAddresses();
  let passed: AddressSet = unionAddresses();
  const decided: { hit: TierRuleHit; addresses: AddressSet }[] = [];
  for (const rule of rules) {
    if (isEmptyAddressSet(rest)) break;
    if (!portSetContains(rule.ports, protocol, port)) continue;
    const matched = intersectAddresses(rest, rule.addresses);
    if (isEmptyAddressSet(matched)) continue;
    decided.push({ hit: rule.hit, addresses: matched });
    if (rule.hit.action === 'Accept') accepted = unionAddresses(accepted, matched);
    if (rule.hit.action === 'Pass') passed = unionAddresses(passed, matched);
    rest = subtractAddresses(rest, matched);
  }
  return { accepted, rest: unionAddresses(rest, passed), decided };
}

/**
 * The addresses admitted on a port with the tiers: Admin accepts; of the rest, NetworkPolicy v1's
 * (`v1Admitted`) when it isolates the pod, else what the Baseline tier accepts or leaves alone.
 */
export function admittedWithTiers(
  side: TierAddressSide,
  isolated: boolean,
  v1Admitted: AddressSet,
  point: { protocol: Protocol; port: number },
): AddressSet {
  const admin = walk(side.admin, EVERY_ADDRESS, point.protocol, point.port);
  if (isolated) return unionAddresses(admin.accepted, intersectAddresses(admin.rest, v1Admitted));
  const baseline = walk(side.baseline, admin.rest, point.protocol, point.port);
  // Pass in the Baseline tier does not exist; what no rule matched is allowed.
  return unionAddresses(admin.accepted, baseline.accepted, baseline.rest);
}

/**
 * The tier rules of an action that decide some of `addresses` on a port (for the answer's why): a rule
 * an earlier one of its tier shadows there does not, nor does the Baseline tier when a NetworkPolicy
 * selects the pod (it is never reached).
 */
export function tierRulesOn(
  side: TierAddressSide,
  addresses: AddressSet,
  point: { protocol: Protocol; port: number },
  action: TierRuleHit['action'],
): TierRuleHit[] {
  const admin = walk(side.admin, EVERY_ADDRESS, point.protocol, point.port);
  const decided = side.isolated
    ? admin.decided
    : [...admin.decided, ...walk(side.baseline, admin.rest, point.protocol, point.port).decided];
  return decided
    .filter((d) => d.hit.action === action && !isEmptyAddressSet(intersectAddresses(d.addresses, addresses)))
    .map((d) => d.hit);
}

/** The port sets of a side's rules, to cut the port space where they differ. */
export function tierPortSets(side: TierAddressSide | undefined): PortSet[] {
  return side ? [...side.admin, ...side.baseline].map((r) => r.ports) : [];
}
