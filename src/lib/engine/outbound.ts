/**
 * The outbound view with the world's bitsets: which destination pods one source class may reach, on a
 * port or on which ports. A destination is reached when the source's egress admits it (no egress
 * isolation, or an egress rule whose peers hold it) AND its ingress admits the source (no ingress
 * isolation, or an ingress rule of a policy selecting it whose peers hold the source), a word of 32
 * destination pods at a time. Ports resolve on the destination (NetworkPolicyPort names, both sides):
 * destinations are taken per set of named container ports, the few kinds a world has.
 */
import type { Bits, Layout, Point } from './layout.js';
import { Acc, layoutOf } from './layout.js';
import { atomsOf } from './matrix.js';
import type { PortSet, Protocol } from './model.js';
import { namespacesOfPeer } from './peers.js';
import { portSetContains, portsHold, resolveNamedPort, unionPortSets } from './ports.js';
import { tierPortCuts } from './tier-matrix.js';
import { tierMasksAt } from './outbound-tiers.js';
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, World } from './world.js';

/** A rule with the policy it belongs to. */
interface RuleOf {
  policy: CompiledPolicy;
  rule: CompiledRule;
  /** A named ingress rule: per point, the kinds of its policy's pods on which its ports hold the point (kept). */
  kindsOn?: Map<string, PodClass[]>;
}

/**
 * Ingress rules that admit the same sources (one bucket of the index), with what every source they admit
 * reuses: the rules split by their kind of ports, and per point the destinations their numeric-port
 * rules open (kept), so a source ORs one set per bucket rather than one per rule.
 */
interface RuleList {
  rules: RuleOf[];
  split?: SideRules;
  /** Point key -> the pods selected for ingress by the policies of the fixed rules holding the point. */
  admitAt?: Map<string, Bits>;
}

/** Rules by the podSelector of their peer (`*` when absent). */
type PodSelectorBuckets = Map<string, RuleList & { pods?: (CompiledPeer & { kind: 'pods' })['pods'] }>;

/** What outbound questions need beyond the world's own indexes, built on the first one. */
interface OutboundIndex {
  /** Pods no policy selects for ingress: they admit every source. */
  ingressOpen: Bits;
  /** Policy -> the classes it selects for ingress. */
  ingressClasses: Map<CompiledPolicy, number[]>;
  policyIngress: Map<CompiledPolicy, Bits>;
  /** Ingress rules that admit every source (`from` empty). */
  ingressToAll: RuleList;
  /**
   * The ingress rules with a pod peer, by the source namespaces they look at: the policy's own
   * (peers without a namespaceSelector, keyed by namespace) or a namespaceSelector's (keyed by it:
   * selectors repeat, so a source checks each once); within, by the peer's podSelector (absent: every pod).
   */
  ingressByOwnNamespace: Map<string, PodSelectorBuckets>;
  ingressByNamespaceSelector: Map<string, { namespaces: Set<string>; buckets: PodSelectorBuckets }>;
  /** ipBlock peer id -> ingress rules with that peer. */
  ingressByIpBlock: Map<number, RuleList>;
  /** Named-port set id -> a class that has it (its pods resolve every rule's port names alike). */
  namedPortClass: Map<number, PodClass>;
  /** Named-port set id -> the pods whose class has it. */
  namedPortBits: Map<number, Bits>;
  /** Policy -> the named-port kinds (a class of each) among the pods it selects for ingress. */
  policyKinds: Map<CompiledPolicy, PodClass[]>;
}

const indexes = new WeakMap<World, OutboundIndex>();

function outboundIndex(world: World, layout: Layout): OutboundIndex {
  let index = indexes.get(world);
  if (index) return index;
  const ingressClasses = new Map<CompiledPolicy, number[]>();
  const open: number[] = [];
  const namedPortClasses = new Map<number, number[]>();
  const namedPortClass = new Map<number, PodClass>();
  for (const cls of world.classes) {
    if (cls.ingressPolicies.length === 0) open.push(cls.id);
    for (const p of cls.ingressPolicies) {
      const list = ingressClasses.get(p);
      if (list) list.push(cls.id);
      else ingressClasses.set(p, [cls.id]);
    }
    const same = namedPortClasses.get(cls.namedPorts);
    if (same) same.push(cls.id);
    else {
      namedPortClasses.set(cls.namedPorts, [cls.id]);
      namedPortClass.set(cls.namedPorts, cls);
    }
  }
  index = {
    ingressOpen: layout.ofClasses(open),
    ingressClasses,
    policyIngress: new Map(),
    ingressToAll: { rules: [] },
    ingressByOwnNamespace: new Map(),
    ingressByNamespaceSelector: new Map(),
    ingressByIpBlock: new Map(),
    namedPortClass,
    namedPortBits: new Map([...namedPortClasses].map(([k, ids]) => [k, layout.ofClasses(ids)])),
    policyKinds: new Map(),
  };
  for (const policy of ingressClasses.keys()) {
    for (const rule of policy.ingress ?? []) {
      if (rule.peers === 'all') {
        index.ingressToAll.rules.push({ policy, rule });
        continue;
      }
      for (const peer of rule.peers) {
        if (peer.kind === 'ipBlock') {
          const list = index.ingressByIpBlock.get(peer.id) ?? { rules: [] };
          list.rules.push({ policy, rule });
          index.ingressByIpBlock.set(peer.id, list);
          continue;
        }
        // NetworkPolicyPeer: namespaceSelector absent is the policy's own namespace.
        let buckets: PodSelectorBuckets;
        if (!peer.namespaces) {
          buckets = index.ingressByOwnNamespace.get(policy.ref.namespace) ?? new Map();
          index.ingressByOwnNamespace.set(policy.ref.namespace, buckets);
        } else {
          let group = index.ingressByNamespaceSelector.get(peer.namespaces.key);
          if (!group) {
            const namespaces = new Set(namespacesOfPeer(world, peer, policy.ref.namespace));
            index.ingressByNamespaceSelector.set(peer.namespaces.key, (group = { namespaces, buckets: new Map() }));
          }
          buckets = group.buckets;
        }
        const key = peer.pods?.key ?? '*';
        let bucket = buckets.get(key);
        if (!bucket) buckets.set(key, (bucket = { pods: peer.pods, rules: [] }));
        bucket.rules.push({ policy, rule });
      }
    }
  }
  indexes.set(world, index);
  return index;
}

function policyIngress(index: OutboundIndex, layout: Layout, policy: CompiledPolicy): Bits {
  let bits = index.policyIngress.get(policy);
  if (!bits) {
    bits = layout.ofClasses(index.ingressClasses.get(policy) ?? []);
    index.policyIngress.set(policy, bits);
  }
  return bits;
}

/**
 * The lists of ingress rules (of policies selecting some pod) whose peers admit the pods of a source
 * class. A rule with two peers that both admit the source comes twice: what is done with them (OR)
 * does not mind.
 */
function ingressRulesAdmitting(index: OutboundIndex, source: PodClass): RuleList[] {
  const out: RuleList[] = [index.ingressToAll];
  const take = (buckets: PodSelectorBuckets | undefined) => {
    for (const bucket of buckets?.values() ?? []) {
      // podSelector absent: every pod of those namespaces; present, it must match too (AND).
      if (!bucket.pods || bucket.pods.matches(source.labels)) out.push(bucket);
    }
  };
  take(index.ingressByOwnNamespace.get(source.namespace));
  for (const { namespaces, buckets } of index.ingressByNamespaceSelector.values()) {
    if (namespaces.has(source.namespace)) take(buckets);
  }
  for (const id of source.ipBlockIds) {
    const list = index.ingressByIpBlock.get(id);
    if (list) out.push(list);
  }
  return out;
}

/** A list's rules split by their kind of ports (kept on the list). */
function splitOf(list: RuleList): SideRules {
  return (list.split ??= split(list.rules));
}

/**
 * The pods whose ingress the numeric-port rules of a list open on a point: those selected by the
 * policies of its rules holding the point (kept per list and point; the same for every source the
 * list admits).
 */
function fixedAdmitAt(index: OutboundIndex, layout: Layout, list: RuleList, point: Point): Bits {
  list.admitAt ??= new Map();
  let bits = list.admitAt.get(point.key);
  if (bits) return bits;
  const policies = new Set<CompiledPolicy>();
  for (const r of splitOf(list).fixed) {
    if (portSetContains(r.rule.fixedPorts!, point.protocol, point.port)) policies.add(r.policy);
  }
  const ids: number[] = [];
  for (const policy of policies) for (const id of index.ingressClasses.get(policy) ?? []) ids.push(id);
  bits = layout.ofClasses(ids);
  list.admitAt.set(point.key, bits);
  return bits;
}

/** The named-port kinds of the pods a policy selects for ingress: where its named ports can resolve. */
function policyKinds(index: OutboundIndex, world: World, policy: CompiledPolicy): PodClass[] {
  let kinds = index.policyKinds.get(policy);
  if (!kinds) {
    const ids = new Set((index.ingressClasses.get(policy) ?? []).map((id) => world.classes[id].namedPorts));
    kinds = [...ids].map((id) => index.namedPortClass.get(id)!);
    index.policyKinds.set(policy, kinds);
  }
  return kinds;
}

/** What to ask of the destinations: a port number, a port name (resolved on each), or every port. */
export type OutboundPort = { port: number; protocol: Protocol } | { name: string; protocol: Protocol } | undefined;

/**
 * The destinations a source may reach, as parallel lists (tens of thousands of classes at 50k pods: no
 * object per entry): per destination class, the port it was reached on (a name asked about may resolve
 * differently on pods of one class: then the class comes once per number, and only its pods that
 * resolve to it are reached), or without a port the ports allowed. In class order, then port order.
 */
interface OutboundEntries {
  ids: ArrayLike<number>;
  /** With a port: the number it resolved to on the class's pods. */
  port?: ArrayLike<number>;
  /** Without a port: the ports allowed. */
  ports?: PortSet[];
}

/** Pods by the number a port name resolves to on them, as bits (once per world and name). */
const namedPortPods = new WeakMap<World, Map<string, Map<number, Bits>>>();

function podsResolving(world: World, layout: Layout, name: string, protocol: Protocol): Map<number, Bits> {
  let byName = namedPortPods.get(world);
  if (!byName) namedPortPods.set(world, (byName = new Map()));
  const key = `${name}/${protocol}`;
  let byNumber = byName.get(key);
  if (byNumber) return byNumber;
  const accs = new Map<number, Acc>();
  for (const cls of world.classes) {
    cls.members.forEach((pod, i) => {
      const number = resolveNamedPort(pod.pod, name, protocol);
      if (number === undefined) return;
      let acc = accs.get(number);
      if (!acc) accs.set(number, (acc = new Acc(layout.nWords)));
      const bit = layout.start[cls.id] + i;
      acc.words[bit >>> 5] |= 1 << (bit & 31);
      if (bit >>> 5 < acc.lo) acc.lo = bit >>> 5;
      if ((bit >>> 5) + 1 > acc.hi) acc.hi = (bit >>> 5) + 1;
    });
  }
  byNumber = new Map([...accs].map(([number, acc]) => [number, acc.toBits()]));
  byName.set(key, byNumber);
  return byNumber;
}

/** The rules of one side for a source, split by whether their ports are the same on every destination. */
interface SideRules {
  /** Ports written as numbers (or none): the same set on every destination. */
  fixed: RuleOf[];
  /** Ports that name container ports: they resolve per destination (per named-port kind). */
  named: RuleOf[];
}

function split(rules: RuleOf[]): SideRules {
  const out: SideRules = { fixed: [], named: [] };
  for (const r of rules) (r.rule.fixedPorts === undefined ? out.named : out.fixed).push(r);
  return out;
}

/** One source's question, ready to be asked on any point: its rules on both sides, and where to look them up. */
interface Outbound {
  world: World;
  /** The source class asked about. */
  source: PodClass;
  layout: Layout;
  index: OutboundIndex;
  /** The source's egress is isolated: only its egress rules reach anything. */
  isolated: boolean;
  egress: SideRules;
  /** The ingress rules (of any destination) whose peers admit the source, by the lists they come in. */
  ingressLists: RuleList[];
  /** Of those, the rules whose ports name container ports. */
  ingressNamed: RuleOf[];
  /** Named-port kinds (a class of each) on which some named rule is asked. */
  kinds: PodClass[];
}

/**
 * The destination classes the pods of a source class may reach (a pod reaching itself is the caller's
 * to leave out), computed with the world's bitsets.
 */
export function allowedDestinations(world: World, source: PodClass, port?: OutboundPort): OutboundEntries {
  const layout = layoutOf(world);
  const index = outboundIndex(world, layout);
  const isolated = source.egressPolicies.length > 0;
  const egress = split(
    source.egressPolicies.flatMap((policy) => (policy.egress ?? []).map((rule) => ({ policy, rule }))),
  );
  // Nothing leaves a source whose egress is isolated by policies without rules: no need to look further
  // (unless a cluster tier may let it out before NetworkPolicy is asked).
  if (isolated && egress.fixed.length === 0 && egress.named.length === 0 && !world.tiers) {
    return port === undefined ? { ids: [], ports: [] } : { ids: [], port: [] };
  }
  const ingressLists = ingressRulesAdmitting(index, source);
  const ingressNamed: RuleOf[] = [];
  for (const list of ingressLists) for (const r of splitOf(list).named) ingressNamed.push(r);
  const hasNamed = egress.named.length > 0 || ingressNamed.length > 0;
  const q: Outbound = {
    world,
    source,
    layout,
    index,
    isolated,
    egress,
    ingressLists,
    ingressNamed,
    kinds: hasNamed ? [...index.namedPortClass.values()] : [],
  };

  if (port !== undefined) {
    // A port asked by name: the destinations that resolve it to each number; else the number asked.
    const numbers: [number, Bits | undefined][] =
      'name' in port ? [...podsResolving(world, layout, port.name, port.protocol)] : [[port.port, undefined]];
    const found = numbers.map(([number, pods]) => {
      const at = { port: number, protocol: port.protocol, key: `${number}/${port.protocol}` };
      return { number, ids: layout.classesIn(destinationsAt(q, at, pods)) };
    });
    if (found.length === 1)
      return { ids: found[0].ids, port: new Int32Array(found[0].ids.length).fill(found[0].number) };
    const merged = found
      .flatMap(({ number, ids }) => Array.from(ids, (id) => [id, number]))
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return { ids: merged.map((e) => e[0]), port: merged.map((e) => e[1]) };
  }

  // Every port: the port space cut where any rule's ports (on any kind of destination) begin or end.
  const ingressFixed = ingressLists.flatMap((list) => splitOf(list).fixed);
  const sets = [...egress.fixed, ...ingressFixed].map((r) => r.rule.fixedPorts!);
  for (const r of [...egress.named, ...ingressNamed]) for (const k of q.kinds) sets.push(layout.ports(r.rule, k));
  if (world.tiers) sets.push(...tierPortCuts(world.tiers));
  const atPoints: { acc: Acc; ports: PortSet }[] = [];
  const union = new Acc(layout.nWords);
  for (const { point, ports } of atomsOf(dedupe(sets))) {
    const acc = destinationsAt(q, point);
    if (acc.hi <= acc.lo) continue;
    union.or(acc.toBits());
    atPoints.push({ acc, ports });
  }
  // Classes reached on the same atoms have the same ports: one union per distinct set of atoms.
  const byAtoms = new Map<string, PortSet>();
  const ids = layout.classesIn(union);
  const ports = Array.from(ids, (id) => {
    const bit = layout.start[id];
    let key = '';
    for (let i = 0; i < atPoints.length; i++) if (atPoints[i].acc.has(bit)) key += `${i},`;
    let set = byAtoms.get(key);
    if (!set) {
      const held = atPoints.filter((a) => a.acc.has(bit)).map((a) => a.ports);
      byAtoms.set(key, (set = world.portSets.intern(unionPortSets(...held))));
    }
    return set;
  });
  return { ids, ports };
}

/** Port sets, each once (rules repeat the same ports). */
function dedupe(sets: PortSet[]): PortSet[] {
  return [...new Set(sets)];
}

/** Both halves of an outbound answer on one point, full width: the source's egress, the destinations' ingress. */
interface Sides {
  /** Destinations the source's egress admits. */
  egress: Int32Array;
  /** Destinations whose ingress admits the source. */
  ingress: Int32Array;
}

/**
 * What each side admits on one point. Rules with numeric ports are the same on every destination and
 * are answered once; rules naming ports add, per named-port kind, what they admit on its destinations
 * (kinds split the pods, so each destination takes its own kind's part).
 */
function sidesAt(q: Outbound, point: Point): Sides {
  const { layout, index } = q;
  const n = layout.nWords;
  // On a kind of destination, a port name resolves on its representative (as layout.ports does).
  const on = (r: RuleOf, cls?: PodClass) =>
    cls
      ? portsHold(r.rule.ports, cls.representative.pod, point.protocol, point.port)
      : portSetContains(r.rule.fixedPorts!, point.protocol, point.port);
  // Egress of the source: every pod when it is not isolated, else what its rules on this point admit.
  const reach = new Acc(n);
  const egressOf = (rules: RuleOf[], into: Acc, cls?: PodClass): void => {
    for (const r of rules) {
      if (!on(r, cls)) continue;
      if (r.rule.peers === 'all') {
        into.clear();
        into.or(layout.all);
        return;
      }
      for (const peer of r.rule.peers) into.or(layout.peer(peer, r.policy.ref.namespace));
    }
  };
  if (q.isolated) egressOf(q.egress.fixed, reach);
  else reach.or(layout.all);
  // Ingress of the destinations: those not isolated, and those a rule admitting the source selects.
  const admit = new Acc(n);
  admit.or(index.ingressOpen);
  for (const list of q.ingressLists) admit.or(fixedAdmitAt(index, layout, list, point));
  // What the named ingress rules admit, per kind of destination (only the kinds their policies select).
  const admitNamed = new Map<PodClass, Acc>();
  for (const r of q.ingressNamed) {
    r.kindsOn ??= new Map();
    let kinds = r.kindsOn.get(point.key);
    if (!kinds) r.kindsOn.set(point.key, (kinds = policyKinds(index, q.world, r.policy).filter((cls) => on(r, cls))));
    for (const cls of kinds) {
      let acc = admitNamed.get(cls);
      if (!acc) admitNamed.set(cls, (acc = new Acc(n)));
      acc.or(policyIngress(index, layout, r.policy));
    }
  }
  const egress = reach.words;
  const ingress = admit.words;
  // What the named egress rules add on destinations of one kind (none when the egress is not isolated).
  const egressNamed = new Acc(q.isolated ? n : 0);
  for (const cls of q.kinds) {
    egressNamed.clear();
    if (q.isolated) egressOf(q.egress.named, egressNamed, cls);
    const admitted = admitNamed.get(cls);
    if (egressNamed.hi <= egressNamed.lo && !admitted) continue;
    const kind = index.namedPortBits.get(cls.namedPorts)!;
    const named = egressNamed.hi > egressNamed.lo ? egressNamed.words : undefined;
    for (let w = 0; w < kind.words.length; w++) {
      const i = kind.lo + w;
      if (named) egress[i] |= named[i] & kind.words[w];
      if (admitted) ingress[i] |= admitted.words[i] & kind.words[w];
    }
  }
  return { egress, ingress };
}

/**
 * The destination pods reached on one point: the source's egress admits them AND their ingress admits
 * the source (with cluster tiers, as their rules say first), within `mask`.
 */
function destinationsAt(q: Outbound, point: Point, mask?: Bits): Acc {
  const { layout } = q;
  const n = layout.nWords;
  const { egress, ingress } = sidesAt(q, point);
  const tiers = q.world.tiers ? tierMasksAt(q.world, q.layout, q.index.ingressOpen, q.source, point) : undefined;
  const out = new Acc(n);
  for (let i = 0; i < n; i++) {
    let bits: number;
    if (!tiers || tiers.silent) bits = egress[i] & ingress[i];
    else {
      const m = tiers;
      const undecidedOut = ~(m.acceptOut[i] | m.denyOut[i]);
      const out = m.acceptOut[i] | (undecidedOut & egress[i] & ~(q.isolated ? 0 : m.baselineDenyOut[i]));
      const undecidedIn = ~(m.acceptIn[i] | m.denyIn[i]);
      const into = m.acceptIn[i] | (undecidedIn & ingress[i] & ~(m.ingressOpen[i] & m.baselineDenyIn[i]));
      bits = out & into & m.all[i];
    }
    if (mask) {
      const w = i - mask.lo;
      bits &= w >= 0 && w < mask.words.length ? mask.words[w] : 0;
    }
    if (bits === 0) continue;
    out.words[i] = bits;
    if (i < out.lo) out.lo = i;
    out.hi = i + 1;
  }
  return out;
}
