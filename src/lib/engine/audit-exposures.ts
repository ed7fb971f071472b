/**
 * audit's exposures: pods every public address may reach (addresses.ts decides, tiers included), and
 * pods every pod of every namespace may reach, per workload.
 */
import { addressConnection } from './addresses.js';
import type { AddressSet } from './ipblock.js';
import { addressesOfBlock, compileIpBlock, isEmptyAddressSet, subtractAddresses, unionAddresses } from './ipblock.js';
import type { IpBlock, PortSet, RuleRef, TierRuleRef } from './model.js';
import { portsOfRule } from './peers.js';
import { emptyPortSet, fullPortSet, intersectPortSets, isEmptyPortSet, unionPortSets } from './ports.js';
import { workloadOf } from './targets.js';
import { EVERY_ADDRESS, tierAddressSide } from './tier-addresses.js';
import type { CompiledPolicy, PodClass, PodInfo, World } from './world.js';
import { admitsEveryPod, everyPodSide } from './audit-every-pod.js';
import {
  finding,
  ruleKey,
  sortRules,
  sortTierRules,
  tierRuleKey,
  type Exposure,
  type Finding,
  type FindingDetails,
  type FindingObject,
} from './audit-findings.js';

/** The public address space of each family: every address but the private ranges pods and LANs use (POD_ADDRESS_RANGES). */
const INTERNET: readonly IpBlock[] = [
  { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'] },
  { cidr: '::/0', except: ['fc00::/7'] },
];

const INTERNET_ADDRESSES: readonly AddressSet[] = INTERNET.map((block) => addressesOfBlock(compileIpBlock(block)));

/** An exposure of some pods, as found per class and merged per workload. */
interface ExposureGroup {
  namespace: string;
  object: FindingObject;
  pods: number;
  ports: PortSet[];
  rules: Map<string, RuleRef>;
  blocks: Map<string, IpBlock>;
  accepting: Map<string, TierRuleRef>;
  denying: Map<string, TierRuleRef>;
  isolated: boolean;
  classes: Set<number>;
}

/** How a class's pods are open to some peers: the ports, the rules and tier rules behind it, the blocks. */
interface Opening {
  ports: PortSet[];
  rules: RuleRef[];
  blocks: IpBlock[];
  /** Tier rules that open some of the ports, and those that keep pods out on others. */
  accepting: TierRuleRef[];
  denying: TierRuleRef[];
}

/**
 * Pods that the whole internet may reach (every public address, addresses.ts decides, on some
 * port), and pods that every pod of every namespace may reach, per workload; both with the tiers.
 */
export function exposures(world: World, isIn: (ns: string) => boolean): Finding[] {
  const internet = new Map<string, ExposureGroup>();
  const everyone = new Map<string, ExposureGroup>();
  // Classes of one label class (and tier class) differ only in their own addresses, which decide
  // nothing here (the pods are the destination): their exposure is worked out once.
  const known = new Map<string, ClassExposure>();
  for (const [namespace, classes] of world.index.classesByNamespace) {
    if (!isIn(namespace)) continue;
    for (const cls of classes) {
      const key = world.tiers ? `${cls.labelClass}/${world.tiers.classOf[cls.id]}` : String(cls.labelClass);
      let exposure = known.get(key);
      if (!exposure) known.set(key, (exposure = exposureOf(world, cls)));
      const { isolated, internet: open, fromAll } = exposure;
      if (open.blocks.length > 0) addExposure(internet, cls, isolated, open);
      if (fromAll.ports.length > 0) addExposure(everyone, cls, isolated, fromAll);
    }
  }
  const toFindings = (groups: Map<string, ExposureGroup>, id: 'exposed-to-internet' | 'exposed-to-all-namespaces') =>
    [...groups.values()].map((g) => {
      const tierRules =
        g.accepting.size + g.denying.size > 0
          ? { tierRules: { accepting: sortTierRules(g.accepting), denying: sortTierRules(g.denying) } }
          : {};
      const exposure: Exposure = g.isolated
        ? { isolated: true, rules: sortRules([...g.rules.values()]), ...tierRules }
        : { isolated: false, ...tierRules };
      const ports = unionPortSets(...g.ports);
      const details: FindingDetails =
        id === 'exposed-to-internet'
          ? { id, pods: g.pods, ports, blocks: [...g.blocks.values()], ...exposure }
          : { id, pods: g.pods, ports, ...exposure };
      return finding(details, g.object, g.namespace);
    });
  return [...toFindings(internet, 'exposed-to-internet'), ...toFindings(everyone, 'exposed-to-all-namespaces')];
}

/** How a class's pods are exposed: to the public address space (by block), and to every pod of every namespace. */
interface ClassExposure {
  isolated: boolean;
  internet: Opening;
  /** Empty `ports`: no exposure. */
  fromAll: Opening;
}

function exposureOf(world: World, cls: PodClass): ClassExposure {
  const pod = cls.representative;
  const isolated = cls.ingressPolicies.length > 0;
  // Any pod of any namespace: the rules admitting every pod (isolated), or every port, then the tiers.
  const v1 = isolated ? everyPodRules(cls, pod) : { rules: [], ports: [fullPortSet()] };
  const tiers = everyPodSide(world, cls, 'ingress', isolated, unionPortSets(emptyPortSet(), ...v1.ports));
  const fromAll: Opening = { ...v1, blocks: [], accepting: [], denying: [] };
  if (tiers) {
    // NetworkPolicy's rules count where the tiers leave it the ports they open.
    fromAll.rules = v1.rules.filter((_, i) => !isEmptyPortSet(intersectPortSets(v1.ports[i], tiers.ports)));
    fromAll.ports = isEmptyPortSet(tiers.ports) ? [] : [tiers.ports];
    fromAll.accepting = tiers.accepting;
    fromAll.denying = tiers.denying;
  }
  const internet: Opening = { blocks: [], ports: [], rules: [], accepting: [], denying: tiers?.denying ?? [] };
  // Isolated pods (no tier rule naming addresses) admit a whole block on some port only if their
  // rules together, on any port, name every address of it: else there is nothing to ask.
  const named =
    isolated && !tierAddressSide(world, cls, 'ingress')
      ? unionAddresses(...cls.ingressPolicies.map(addressesNamedBy))
      : undefined;
  INTERNET.forEach((block, i) => {
    if (named && !isEmptyAddressSet(subtractAddresses(INTERNET_ADDRESSES[i], named))) return;
    const connection = addressConnection(world, pod, block, 'ingress');
    if (!connection.decision.allowed || !connection.ports || isEmptyPortSet(connection.ports)) return;
    internet.blocks.push(block);
    internet.ports.push(connection.ports);
    internet.rules.push(...connection.decision.ingress.allowedBy);
    internet.accepting.push(...(connection.decision.ingress.tierRules ?? []));
  });
  return { isolated, internet, fromAll };
}

const namedAddresses = new WeakMap<CompiledPolicy, AddressSet>();

/** Every address a policy's ingress rules admit on some port: their ipBlocks, or all for a rule without `from`. */
function addressesNamedBy(policy: CompiledPolicy): AddressSet {
  let set = namedAddresses.get(policy);
  if (!set) {
    const rules = policy.ingress ?? [];
    set = rules.some((r) => r.peers === 'all')
      ? EVERY_ADDRESS
      : unionAddresses(
          ...rules.flatMap((r) =>
            r.peers === 'all'
              ? []
              : r.peers.flatMap((peer) => (peer.kind === 'ipBlock' ? [addressesOfBlock(peer.block)] : [])),
          ),
        );
    namedAddresses.set(policy, set);
  }
  return set;
}

/** The ingress rules of a class's policies that admit every pod of every namespace, and their ports on its pods. */
function everyPodRules(cls: PodClass, pod: PodInfo): { rules: RuleRef[]; ports: PortSet[] } {
  const rules: RuleRef[] = [];
  const ports: PortSet[] = [];
  for (const policy of cls.ingressPolicies) {
    for (const rule of policy.ingress ?? []) {
      if (!admitsEveryPod(rule)) continue;
      const on = portsOfRule(rule, pod.pod);
      if (isEmptyPortSet(on)) continue;
      rules.push(rule.ref);
      ports.push(on);
    }
  }
  return { rules, ports };
}

/** Adds a class's exposure to its workloads' groups (members of one class may belong to several workloads). */
function addExposure(groups: Map<string, ExposureGroup>, cls: PodClass, isolated: boolean, opening: Opening): void {
  for (const member of cls.members) {
    const owner = workloadOf(member.pod);
    const key = `${cls.namespace}\u0000${owner.kind}\u0000${owner.name}\u0000${isolated}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        namespace: cls.namespace,
        object: owner,
        pods: 0,
        ports: [],
        rules: new Map(),
        blocks: new Map(),
        accepting: new Map(),
        denying: new Map(),
        isolated,
        classes: new Set(),
      };
      groups.set(key, group);
    }
    group.pods++;
    // A class's exposure is the same for all its members: merged once per group.
    if (group.classes.has(cls.id)) continue;
    group.classes.add(cls.id);
    group.ports.push(...opening.ports);
    for (const rule of opening.rules) group.rules.set(ruleKey(rule), rule);
    for (const block of opening.blocks) group.blocks.set(block.cidr, block);
    for (const rule of opening.accepting) group.accepting.set(tierRuleKey(rule), rule);
    for (const rule of opening.denying) group.denying.set(tierRuleKey(rule), rule);
  }
}
