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
}

/** An ingress rule with the label classes its policy selects for ingress (the index's list, shared by the policy's rules). */
interface IngressRuleOf extends RuleOf {
  selects: number[];
}

/**
 * Ingress rules that admit the same sources (one bucket of the index), with what every source they
 * admit reuses: per point, the destinations their rules open (kept), so a source ORs one set per
 * bucket rather than one per rule.
 */
interface RuleList {
  rules: IngressRuleOf[];
  /** A list made of other lists (their rules together): its sets are theirs, ORed. */
  parts?: RuleList[];
  /** Point key -> the pods for whose ingress a rule of the list holds the point. */
  admitAt?: Map<string, Bits>;
  /** The same as [first bit, bits] pairs, for a list that is a part of others (kept only there). */
  runsAt?: Map<string, number[]>;
  /** The port sets of its rules on the pods their policies select (where the port space is cut). */
  cuts?: PortSet[];
}

/** Rules by the podSelector of their peer (`*` when absent). */
type PodSelectorBuckets = Map<string, RuleList & { pods?: (CompiledPeer & { kind: 'pods' })['pods'] }>;

/**
 * What outbound questions need beyond the world's own indexes, built on the first one: the pods no
 * policy isolates for ingress, each label class's named-port kind, and the ingress rules (each with
 * the label classes its policy selects) by the sources they admit. What only some questions read is made when first read: the
 * named-port kinds, and each list's destinations per point.
 */
interface OutboundIndex {
  /** Pods no policy selects for ingress: they admit every source. */
  ingressOpen: Bits;
  /** Label class -> its named-port kind (PodClass.namedPorts, the same for its classes). */
  kindOfLabelClass: Int32Array;
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
  /**
   * Address signature -> the ingress rules with an ipBlock peer holding its addresses, in one list
   * (a pod's address may lie in hundreds of blocks; made when a source of the signature is first asked about).
   */
  ingressBySignature: Map<number, RuleList>;
  /** Point key -> a rule's port list (rules of one text share it) -> per named-port kind, whether it holds the point there. */
  namedHolds: Map<string, Map<CompiledRule['ports'], (boolean | undefined)[]>>;
  /** The named-port kinds: a class of each, and the pods of each (made when a rule naming a port reads them). */
  kinds?: { classes: PodClass[]; bits: Map<number, Bits> };
}

const indexes = new WeakMap<World, OutboundIndex>();

function outboundIndex(world: World, layout: Layout): OutboundIndex {
  let index = indexes.get(world);
  if (index) return index;
  // Per label class rather than per class: its classes share one list of policies (and are one run of bits).
  const open: number[] = [];
  const ingressLabelClasses = new Map<CompiledPolicy, number[]>();
  const { labelClasses } = world;
  const kindOfLabelClass = new Int32Array(labelClasses.length);
  for (let lc = 0; lc < labelClasses.length; lc++) {
    const first = labelClasses[lc][0];
    kindOfLabelClass[lc] = first.namedPorts;
    const policies = first.ingressPolicies;
    if (policies.length === 0) open.push(lc);
    for (const p of policies) {
      const ids = ingressLabelClasses.get(p);
      if (ids) ids.push(lc);
      else ingressLabelClasses.set(p, [lc]);
    }
  }
  index = {
    ingressOpen: layout.ofLabelClasses(open),
    kindOfLabelClass,
    ingressToAll: { rules: [] },
    ingressByOwnNamespace: new Map(),
    ingressByNamespaceSelector: new Map(),
    ingressByIpBlock: new Map(),
    ingressBySignature: new Map(),
    namedHolds: new Map(),
  };
  // Policies that select no pod for ingress open nothing: their rules are left out.
  for (const [policy, selects] of ingressLabelClasses) {
    for (const rule of policy.ingress ?? []) {
      if (rule.peers === 'all') {
        index.ingressToAll.rules.push({ policy, rule, selects });
        continue;
      }
      for (const peer of rule.peers) {
        if (peer.kind === 'ipBlock') {
          const list = index.ingressByIpBlock.get(peer.id);
          if (list) list.rules.push({ policy, rule, selects });
          else index.ingressByIpBlock.set(peer.id, { rules: [{ policy, rule, selects }] });
          continue;
        }
        // NetworkPolicyPeer: namespaceSelector absent is the policy's own namespace.
        let buckets: PodSelectorBuckets | undefined;
        if (!peer.namespaces) {
          buckets = index.ingressByOwnNamespace.get(policy.ref.namespace);
          if (!buckets) index.ingressByOwnNamespace.set(policy.ref.namespace, (buckets = new Map()));
        } else {
          let group = index.ingressByNamespaceSelector.get(peer.namespaces.key);
          if (!group) {
            const namespaces = new Set(namespacesOfPeer(world, peer, policy.ref.namespace));
            index.ingressByNamespaceSelector.set(peer.namespaces.key, (group = { namespaces, buckets: new Map() }));
          }
          buckets = group.buckets;
        }
        const key = peer.pods?.key ?? '*';
        const bucket = buckets.get(key);
        if (bucket) bucket.rules.push({ policy, rule, selects });
        else buckets.set(key, { pods: peer.pods, rules: [{ policy, rule, selects }] });
      }
    }
  }
  indexes.set(world, index);
  return index;
}

/** The named-port kinds of a world: a class of each (its pods resolve every rule's port names alike), and their pods. */
function kindsOf(index: OutboundIndex, world: World, layout: Layout): NonNullable<OutboundIndex['kinds']> {
  if (index.kinds) return index.kinds;
  // By label class (its classes share their named ports), from the kinds the index read.
  const byKind = new Map<number, number[]>();
  const classes: PodClass[] = [];
  const { kindOfLabelClass } = index;
  for (let lc = 0; lc < kindOfLabelClass.length; lc++) {
    const same = byKind.get(kindOfLabelClass[lc]);
    if (same) same.push(lc);
    else {
      byKind.set(kindOfLabelClass[lc], [lc]);
      classes.push(world.labelClasses[lc][0]);
    }
  }
  const bits = new Map([...byKind].map(([k, ids]) => [k, layout.ofLabelClasses(ids)]));
  return (index.kinds = { classes, bits });
}

/**
 * The lists of ingress rules (of any policy) whose peers admit the pods of a source class. A rule
 * with two peers that both admit the source comes twice: what is done with them (OR) does not mind.
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
  if (source.ipBlockIds.size > 0) out.push(signatureList(index, source));
  return out;
}

/**
 * The ingress rules with an ipBlock peer that holds the addresses of a source's pods, as one list of
 * the lists of those blocks (kept per signature: signatures share most of their blocks, so each
 * block's sets are made once and a signature's are their OR).
 */
function signatureList(index: OutboundIndex, source: PodClass): RuleList {
  let list = index.ingressBySignature.get(source.ipSignature);
  if (list) return list;
  const parts: RuleList[] = [];
  for (const id of source.ipBlockIds) {
    const part = index.ingressByIpBlock.get(id);
    if (part) parts.push(part);
  }
  list = { rules: [], parts };
  index.ingressBySignature.set(source.ipSignature, list);
  return list;
}

/**
 * The pods whose ingress the rules of a list open on a point: those selected by the policy of a rule
 * whose ports hold the point on them (numbers: on every pod; names: resolved on each label class's
 * pods). Kept per list and point: the same for every source the list admits.
 */
function admitAt(index: OutboundIndex, world: World, layout: Layout, list: RuleList, point: Point): Bits {
  list.admitAt ??= new Map();
  let bits = list.admitAt.get(point.key);
  if (bits) return bits;
  if (list.parts) {
    // A list of lists (an address signature's blocks: hundreds, each a few label classes far apart in
    // the layout) is set once from their runs of bits together, not as hundreds of wide sets ORed.
    const runs: number[] = [];
    for (const part of list.parts) {
      part.runsAt ??= new Map();
      let held = part.runsAt.get(point.key);
      if (!held) {
        held = [];
        for (const lc of labelClassesAt(index, world, part, point)) held.push(...layout.labelClassRun(lc));
        part.runsAt.set(point.key, held);
      }
      for (let i = 0; i < held.length; i++) runs.push(held[i]);
    }
    bits = layout.ofRuns(runs);
  } else bits = layout.ofLabelClasses(labelClassesAt(index, world, list, point));
  list.admitAt.set(point.key, bits);
  return bits;
}

/** The label classes whose ingress the rules of a list (not made of lists) open on a point; a class may come twice. */
function labelClassesAt(index: OutboundIndex, world: World, list: RuleList, point: Point): number[] {
  const { protocol, port } = point;
  const ids: number[] = [];
  const { kindOfLabelClass } = index;
  let byPorts = index.namedHolds.get(point.key);
  if (!byPorts) index.namedHolds.set(point.key, (byPorts = new Map()));
  // A label class listed twice (two rules of one policy) is one run of bits set twice: no harm.
  for (const { rule, selects } of list.rules) {
    if (rule.fixedPorts) {
      if (portSetContains(rule.fixedPorts, protocol, port)) for (const lc of selects) ids.push(lc);
      continue;
    }
    // Port names resolve alike on pods of one named-port kind: asked once per port list (rules of one
    // text share it), kind and point, on a class of that kind.
    let byKind = byPorts.get(rule.ports);
    if (!byKind) byPorts.set(rule.ports, (byKind = []));
    for (const lc of selects) {
      const kind = kindOfLabelClass[lc];
      let holds = byKind[kind];
      if (holds === undefined)
        holds = byKind[kind] = portsHold(rule.ports, world.labelClasses[lc][0].representative.pod, protocol, port);
      if (holds) ids.push(lc);
    }
  }
  return ids;
}

/** The port sets of a list's rules, named ports resolved on each label class their policy selects (kept on the list). */
function cutsOf(index: OutboundIndex, world: World, layout: Layout, list: RuleList): PortSet[] {
  if (list.cuts) return list.cuts;
  const sets = new Set<PortSet>();
  for (const part of list.parts ?? []) for (const set of cutsOf(index, world, layout, part)) sets.add(set);
  for (const { rule, selects } of list.rules) {
    if (rule.fixedPorts) sets.add(rule.fixedPorts);
    else for (const lc of selects) sets.add(layout.ports(rule, world.labelClasses[lc][0]));
  }
  return (list.cuts = [...sets]);
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
  const q: Outbound = { world, source, layout, index, isolated, egress, ingressLists };

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

  // Every port: the port space cut where any rule's ports (on the destinations it applies to) begin or end.
  const sets = egress.fixed.map((r) => r.rule.fixedPorts!);
  if (egress.named.length > 0) {
    for (const k of kindsOf(index, world, layout).classes)
      for (const r of egress.named) sets.push(layout.ports(r.rule, k));
  }
  for (const list of ingressLists) sets.push(...cutsOf(index, world, layout, list));
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
 * What each side admits on one point. Egress rules with numeric ports are the same on every
 * destination and are answered once; those naming ports add, per named-port kind, what they admit on
 * its destinations (kinds split the pods, so each destination takes its own kind's part). The
 * ingress side is one kept set per list of rules admitting the source (admitAt).
 */
function sidesAt(q: Outbound, point: Point): Sides {
  const { layout, index, world } = q;
  const n = layout.nWords;
  // Egress of the source: every pod when it is not isolated, else what its rules on this point admit.
  const reach = new Acc(n);
  const egressOf = (rules: RuleOf[], into: Acc, cls?: PodClass): void => {
    for (const r of rules) {
      // On a kind of destination, a port name resolves on its representative (as layout.ports does).
      const holds = cls
        ? portsHold(r.rule.ports, cls.representative.pod, point.protocol, point.port)
        : portSetContains(r.rule.fixedPorts!, point.protocol, point.port);
      if (!holds) continue;
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
  // Ingress of the destinations: those not isolated, and those a rule admitting the source opens.
  const admit = new Acc(n);
  admit.or(index.ingressOpen);
  for (const list of q.ingressLists) admit.or(admitAt(index, world, layout, list, point));
  const egress = reach.words;
  // What the named egress rules add on destinations of one kind (none when the egress is not isolated).
  if (q.isolated && q.egress.named.length > 0) {
    const kinds = kindsOf(index, world, layout);
    const named = new Acc(n);
    for (const cls of kinds.classes) {
      named.clear();
      egressOf(q.egress.named, named, cls);
      if (named.hi <= named.lo) continue;
      const kind = kinds.bits.get(cls.namedPorts)!;
      for (let w = 0; w < kind.words.length; w++) egress[kind.lo + w] |= named.words[kind.lo + w] & kind.words[w];
    }
  }
  return { egress, ingress: admit.words };
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
