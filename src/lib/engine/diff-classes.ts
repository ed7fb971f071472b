/**
 * The class machinery of the diff engine: pods of both worlds grouped by their classes in each, port
 * sets as small numbers, one world's answers for one class as a column, the decisions between
 * classes shared by the pairs that read the same rules, and changed pairs collected into blocks.
 */
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, PodInfo, World } from './world.js';
import type { ChangeBlock } from './diff.js';
import { portSetKey } from './diff-groups.js';
import type { Decision, PodRef, PortSet } from './model.js';
import { emptyPortSet, intersectPortSets, isEmptyPortSet, subtractPortSets } from './ports.js';
import { analysePair, decideOnAllPorts } from './evaluate.js';
import { TrieNode } from './number-trie.js';
import { ruleAdmitsClass } from './peers.js';
import type { BitLayout } from './matrix.js';
import { allowedSourceClasses, Evaluator } from './matrix.js';
import type { Acc, Bits, Layout, Point } from './layout.js';
import { layoutOf } from './layout.js';
import { allowedDestinations } from './outbound.js';
import { tierSourceClasses } from './tier-matrix.js';

/** A pod of either world: its info in each (undefined: not in that world), and whether the change can touch it. */
export interface JointPod {
  ref: PodRef;
  was?: PodInfo;
  now?: PodInfo;
  /** The change can touch what reaches the pod (ingress), what it reaches (egress). */
  isAffectedIn: boolean;
  isAffectedOut: boolean;
}

/** Pods alike in both worlds at one end of the pairs: same class before, same class after, same scope port. */
export interface PodGroup {
  id: number;
  classBefore: number;
  classAfter: number;
  /** The scope's port on these pods in each world (a name resolves per pod), as a port set id; undefined: every port. */
  portBefore?: number;
  portAfter?: number;
  isAffected: boolean;
  pods: PodRef[];
}

/** Groups pods by their classes in both worlds (and whatever `extra` tells apart), in first-seen order. */
export function groupPods(
  pods: JointPod[],
  isAffected: (p: JointPod) => boolean,
  extra: (p: JointPod) => string,
): { groups: PodGroup[]; groupOf: Map<PodRef, number> } {
  const byKey = new Map<string, PodGroup>();
  const groups: PodGroup[] = [];
  const groupOf = new Map<PodRef, number>();
  for (const p of pods) {
    const classBefore = p.was?.classId ?? -1;
    const classAfter = p.now?.classId ?? -1;
    const affected = isAffected(p);
    const key = `${classBefore} ${classAfter} ${affected ? 1 : 0} ${extra(p)}`;
    let group = byKey.get(key);
    if (!group) {
      group = { id: groups.length, classBefore, classAfter, isAffected: affected, pods: [] };
      byKey.set(key, group);
      groups.push(group);
    }
    group.pods.push(p.ref);
    groupOf.set(p.ref, group.id);
  }
  return { groups, groupOf };
}

/** Port sets of both worlds as small numbers: equal sets, equal numbers (0: empty). */
export class PortSetIds {
  private readonly byKey = new Map<string, number>();
  private readonly ids = new Map<PortSet, number>();
  /** Id -> a port set with it. */
  readonly sets: PortSet[] = [emptyPortSet()];
  /** (id, scope port id) -> id of their intersection. */
  private readonly within = new Map<number, number>();
  /** (id before, id after) -> the ports of both and what is lost and gained between them, one object each. */
  private readonly changes = new Map<number, Pick<ChangeBlock, 'before' | 'after' | 'lost' | 'gained'>>();

  id(ports: PortSet | undefined): number {
    if (!ports) return 0;
    let id = this.ids.get(ports);
    if (id === undefined) {
      const key = isEmptyPortSet(ports) ? '' : portSetKey(ports);
      id = key === '' ? 0 : this.byKey.get(key);
      if (id === undefined) {
        this.byKey.set(key, (id = this.sets.length));
        this.sets.push(ports);
      }
      this.ids.set(ports, id);
    }
    return id;
  }

  /** The ports of ids `was` and `now`, and those lost and gained between them: the same objects for the same ids. */
  change(was: number, now: number): Pick<ChangeBlock, 'before' | 'after' | 'lost' | 'gained'> {
    const key = pairKey(was, now);
    let change = this.changes.get(key);
    if (!change) {
      const [before, after] = [this.sets[was], this.sets[now]];
      change = { before, after, lost: subtractPortSets(before, after), gained: subtractPortSets(after, before) };
      this.changes.set(key, change);
    }
    return change;
  }

  /** The id of the ports of `id` that are also in `scope` (an id); `id` itself without a scope. */
  intersect(id: number, scope: number | undefined): number {
    if (scope === undefined || id === 0) return id;
    const key = id * 65536 + scope;
    let out = this.within.get(key);
    if (out === undefined) this.within.set(key, (out = this.id(intersectPortSets(this.sets[id], this.sets[scope]))));
    return out;
  }
}

/** The port set id each class of one world allows, from (or to) one class of it: filled per query, cleared after. */
export class Column {
  private readonly ids: Int32Array;
  private filled: ArrayLike<number> = [];

  constructor(
    size: number,
    private readonly portIds: PortSetIds,
  ) {
    this.ids = new Int32Array(size);
  }

  fill(answer: { ids: ArrayLike<number>; ports?: PortSet[] } | undefined): void {
    for (let i = 0; i < this.filled.length; i++) this.ids[this.filled[i]] = 0;
    this.filled = answer?.ids ?? [];
    for (let i = 0; i < this.filled.length; i++) this.ids[this.filled[i]] = this.portIds.id(answer!.ports![i]);
  }

  at(classId: number): number {
    return classId < 0 ? 0 : this.ids[classId];
  }

  /** The classes given a port set by the last fill (the others have none). */
  get classes(): ArrayLike<number> {
    return this.filled;
  }
}

/**
 * The groups of pods by their class in one world: the groups a column can give ports to. A pair of
 * groups whose columns are empty in both worlds is denied in both, so it need not be compared.
 */
export class GroupsByClass {
  private readonly first: Int32Array;
  private readonly next: Int32Array;
  private readonly seen: Int32Array;
  private stamp = 0;

  constructor(
    classes: number,
    private readonly groups: readonly PodGroup[],
  ) {
    this.first = new Int32Array(classes * 2).fill(-1);
    this.next = new Int32Array(groups.length * 2).fill(-1);
    this.seen = new Int32Array(groups.length);
    // Chains per class, one for each world (before: 2 * class, after: 2 * class + 1), newest first.
    for (let g = groups.length - 1; g >= 0; g--) {
      const { classBefore, classAfter } = groups[g];
      if (classBefore >= 0) this.link(2 * classBefore, 2 * g);
      if (classAfter >= 0) this.link(2 * classAfter + 1, 2 * g + 1);
    }
  }

  private link(head: number, entry: number): void {
    this.next[entry] = this.first[head];
    this.first[head] = entry;
  }

  /** The groups whose class before is in `before` or whose class after is in `after`, in group order. */
  of(before: ArrayLike<number>, after: ArrayLike<number>): PodGroup[] {
    this.stamp++;
    const ids: number[] = [];
    const take = (classes: ArrayLike<number>, world: number) => {
      for (let i = 0; i < classes.length; i++) {
        for (let e = this.first[2 * classes[i] + world]; e >= 0; e = this.next[e]) {
          const g = e >>> 1;
          if (this.seen[g] === this.stamp) continue;
          this.seen[g] = this.stamp;
          ids.push(g);
        }
      }
    };
    take(before, 0);
    take(after, 1);
    ids.sort((a, b) => a - b);
    return ids.map((g) => this.groups[g]);
  }
}

/** One evaluator per world, reused by every query of a diff (its scratch sets are full width). */
const evaluators = new WeakMap<World, Evaluator>();

/**
 * The source classes allowed into a class, with their ports (cluster tiers: their own evaluator), as
 * allowedSourceClasses answers them.
 */
export function sourcesInto(world: World, classId: number) {
  if (classId < 0) return undefined;
  const cls = world.classes[classId];
  if (world.tiers) return tierSourceClasses(world, cls);
  let evaluator = evaluators.get(world);
  if (!evaluator) evaluators.set(world, (evaluator = new Evaluator(layoutOf(world))));
  return allowedSourceClasses(world, cls, undefined, evaluator);
}

/**
 * One world's bits seen through a few source pods only (bit i: the i-th source, one pod standing for
 * its class): every bitset of the layout gathered onto them once, so the evaluator's set operations
 * run over a few words instead of every pod of the world. Restricting a set to some of its elements
 * commutes with AND and OR, so each source's answer is the one the whole layout gives it.
 */
export class SourcesView implements BitLayout {
  readonly world: World;
  readonly nWords: number;
  readonly all: Bits;
  readonly egressOpen: Bits;
  /** Class -> the bit of a source of that class (-1: none): what Evaluator.sourceCount reads. */
  readonly start: Int32Array;
  private readonly gathered = new Map<Bits, Bits>();

  /** `bits`: the layout's bit of each source (-1: not in this world). */
  constructor(
    private readonly layout: Layout,
    private readonly bits: Int32Array,
  ) {
    this.world = layout.world;
    this.nWords = (bits.length + 31) >>> 5;
    this.start = new Int32Array(layout.world.classes.length).fill(-1);
    for (let i = bits.length - 1; i >= 0; i--) if (bits[i] >= 0) this.start[layout.classOfBit[bits[i]]] = i;
    this.all = this.gather(layout.all);
    this.egressOpen = this.gather(layout.egressOpen);
  }

  peer(peer: CompiledPeer, policyNamespace: string): Bits {
    return this.gather(this.layout.peer(peer, policyNamespace));
  }

  ports(rule: CompiledRule, target: PodClass): PortSet {
    return this.layout.ports(rule, target);
  }

  policyEgress(policy: CompiledPolicy): Bits {
    return this.gather(this.layout.policyEgress(policy));
  }

  egressRulesOfSignature(signature: number): { policy: CompiledPolicy; rule: CompiledRule }[] {
    return this.layout.egressRulesOfSignature(signature);
  }

  ipEgress(target: PodClass, point: Point): Bits {
    return this.gather(this.layout.ipEgress(target, point));
  }

  /** The sources among `full`'s bits (memoised per bitset: the layout's are memoised too). */
  private gather(full: Bits): Bits {
    let out = this.gathered.get(full);
    if (out) return out;
    const { bits } = this;
    const { lo, words } = full;
    const mine = new Int32Array(this.nWords);
    let first = this.nWords;
    let last = -1;
    for (let i = 0; i < bits.length; i++) {
      const w = (bits[i] >>> 5) - lo;
      if (bits[i] < 0 || w < 0 || w >= words.length || (words[w] & (1 << (bits[i] & 31))) === 0) continue;
      mine[i >>> 5] |= 1 << (i & 31);
      first = Math.min(first, i >>> 5);
      last = i >>> 5;
    }
    out = { lo: last < 0 ? 0 : first, words: mine.slice(first, last + 1) };
    this.gathered.set(full, out);
    return out;
  }
}

/**
 * Who-can's evaluator of one world, over a few sources only (SourcesView), walked over target
 * classes in label-class order: the label-class part is computed once per label class.
 */
export class SourceReader {
  readonly evaluator: Evaluator<SourcesView>;
  private labelClass = -1;
  private signature = -1;
  /** Key of the atoms of the last label class (equal keys: the same port sets in the same order). */
  atomsKey = '';
  /** The sources allowed into the last target (by bit: source index); undefined: no target. */
  reached: Acc | undefined;

  constructor(
    private readonly world: World,
    view: SourcesView,
  ) {
    this.evaluator = new Evaluator(view);
  }

  /**
   * Answers for target class `classId` (-1: none) until the next call; false when the answers are
   * those of the last call (same label class, and the same addresses or no ipBlock part).
   */
  target(classId: number): boolean {
    if (classId < 0) {
      const changed = this.reached !== undefined || this.labelClass === -1;
      this.reached = undefined;
      this.labelClass = -2;
      return changed;
    }
    const cls = this.world.classes[classId];
    let changed = false;
    if (cls.labelClass !== this.labelClass) {
      this.labelClass = cls.labelClass;
      this.evaluator.labelClass(this.world.labelClasses[cls.labelClass]);
      this.atomsKey = this.evaluator.atoms.map((a) => portSetKey(a.ports)).join('|');
      changed = true;
    }
    const wasUnion = this.reached === this.evaluator.union;
    this.reached = this.evaluator.classSources(cls);
    // Within a label class the ipBlock part of egress depends only on the class's addresses.
    if (!(wasUnion && this.reached === this.evaluator.union) && cls.ipSignature !== this.signature) changed = true;
    this.signature = cls.ipSignature;
    return changed;
  }

  /** The ports the source at `bit` may reach the last target on; undefined: none. */
  ports(bit: number): PortSet | undefined {
    if (!this.reached?.has(bit)) return undefined;
    return this.evaluator.portsAt(bit);
  }
}

/** The destination classes a class may reach, with their ports. */
export function destinationsFrom(world: World, classId: number) {
  return classId < 0 ? undefined : allowedDestinations(world, world.classes[classId]);
}

/**
 * The decisions of one world between classes. A pair's answer reads the destination's ingress rules
 * against the source and the source's egress rules against the destination: the classes' label
 * classes (namespace, labels, named ports), of their addresses only which of those rules' ipBlock
 * peers hold them, and the cluster tiers between their tier classes. Pairs alike in these share one
 * decision key (a number, `of`); their decision is worked out once per distinct answer (the rules of
 * both sides that admit the pair, the destination's named ports, the tier classes), so keys whose
 * rules are the same share one decision object, made when a key of them is first asked for.
 */
export class Decisions {
  /**
   * Decision keys, in levels of numbers: the label classes (source, target), the ipBlock peers
   * holding their addresses (held), the tier classes. Numbers, not strings: there is about one key
   * per changed pair of groups.
   */
  private readonly byKey = new Map<number, Map<number, number | Map<number, number>>>();
  /** Key -> its decision (index 0: none). */
  private readonly decisions: (Decision | undefined)[] = [undefined];
  private readonly ids = new Map<Decision, number>();
  /** Decisions by what they read, as a trie of numbers (RuleTrie). */
  private readonly byRules = new RuleTrie<Decision>();
  private readonly blocksRead = {
    ingress: new Map<CompiledPolicy[], BlocksRead>(),
    egress: new Map<CompiledPolicy[], BlocksRead>(),
  };
  /** The lists of held ipBlock peers, by number (0: none). */
  private readonly heldIds = new Map<string, number>([['', 0]]);

  constructor(private readonly world: World) {}

  /** The decision from pods of class `source` to pods of class `target` (all ports). */
  of(source: number, target: number): Decision {
    return this.decisions[this.key(source, target)]!;
  }

  /** A number per decision object (0: none): keys whose rules are the same have the same. */
  id(decision: Decision | undefined): number {
    return decision ? this.ids.get(decision)! : 0;
  }

  /** The decision key of traffic from class `source` to class `target` (a number from 1). */
  key(source: number, target: number): number {
    const { world } = this;
    const s = world.classes[source];
    const t = world.classes[target];
    const labels = s.labelClass * world.labelClasses.length + t.labelClass;
    const addresses = pairKey(this.held(t.ingressPolicies, 'ingress', s), this.held(s.egressPolicies, 'egress', t));
    let byAddresses = this.byKey.get(labels);
    if (!byAddresses) this.byKey.set(labels, (byAddresses = new Map()));
    if (world.tiers) {
      const tiers = pairKey(world.tiers.classOf[source], world.tiers.classOf[target]);
      let byTiers = byAddresses.get(addresses) as Map<number, number> | undefined;
      if (!byTiers) byAddresses.set(addresses, (byTiers = new Map()));
      let key = byTiers.get(tiers);
      if (key === undefined) byTiers.set(tiers, (key = this.decide(s, t)));
      return key;
    }
    let key = byAddresses.get(addresses) as number | undefined;
    if (key === undefined) byAddresses.set(addresses, (key = this.decide(s, t)));
    return key;
  }

  /** The decision of a key (0: none). */
  decision(key: number): Decision | undefined {
    return this.decisions[key];
  }

  /** A new key, its decision shared with every key whose pair the same rules and ports answer. */
  private decide(s: PodClass, t: PodClass): number {
    const trie = this.byRules;
    trie.reset();
    // Ingress: the destination's policies (isolation, selectedBy) and their rules that admit the source.
    for (const policy of t.ingressPolicies) {
      trie.step(trie.idOf(policy));
      for (const rule of policy.ingress ?? []) if (ruleAdmitsClass(rule, s)) trie.step(trie.idOf(rule));
    }
    trie.step(-1);
    // Egress: the source's policies and their rules that admit the destination.
    for (const policy of s.egressPolicies) {
      trie.step(trie.idOf(policy));
      for (const rule of policy.egress ?? []) if (ruleAdmitsClass(rule, t)) trie.step(trie.idOf(rule));
    }
    // Named ports resolve on the destination (portsOfRule); the tiers answer per pair of tier classes.
    trie.step(-2 - t.namedPorts);
    const { tiers } = this.world;
    if (tiers) {
      trie.step(-1);
      trie.step(tiers.classOf[s.id]);
      trie.step(tiers.classOf[t.id]);
    }
    let decision = trie.value();
    if (!decision) {
      trie.set((decision = decideOnAllPorts(analysePair(this.world, s, t)).decision));
      this.ids.set(decision, this.ids.size + 1);
    }
    this.decisions.push(decision);
    return this.decisions.length - 1;
  }

  /**
   * Which of the ipBlock peers of these policies' rules in this direction hold the addresses of the
   * class at the other end (peerAdmitsClass reads no more of them), as a number (0: none, or no such
   * peer); memoised per policy list and address signature.
   */
  private held(policies: CompiledPolicy[], direction: 'ingress' | 'egress', other: PodClass): number {
    const memo = this.blocksRead[direction];
    let read = memo.get(policies);
    if (!read) {
      const ids = new Set<number>();
      for (const p of policies)
        for (const r of p[direction] ?? [])
          if (r.peers !== 'all') for (const peer of r.peers) if (peer.kind === 'ipBlock') ids.add(peer.id);
      read = { ids: [...ids].sort((a, b) => a - b), bySignature: new Map() };
      memo.set(policies, read);
    }
    if (read.ids.length === 0) return 0;
    let id = read.bySignature.get(other.ipSignature);
    if (id === undefined) {
      const key = read.ids.filter((peer) => other.ipBlockIds.has(peer)).join(',');
      id = this.heldIds.get(key);
      if (id === undefined) this.heldIds.set(key, (id = this.heldIds.size));
      read.bySignature.set(other.ipSignature, id);
    }
    return id;
  }
}

/** The ipBlock peers some policies' rules read, and which of them each address signature is in (held's number). */
interface BlocksRead {
  ids: number[];
  bySignature: Map<number, number>;
}

/**
 * Values keyed by sequences of numbers (objects numbered by idOf), walked a number at a time: no key
 * string or array is made per lookup.
 */
class RuleTrie<V> {
  private readonly root = new TrieNode<V>();
  private node = this.root;
  private readonly ids = new Map<object, number>();

  /** A number (from 0) per object. */
  idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.ids.size));
    return id;
  }

  /** Starts a new sequence. */
  reset(): void {
    this.node = this.root;
  }

  step(n: number): void {
    this.node = this.node.step(n);
  }

  value(): V | undefined {
    return this.node.value;
  }

  set(value: V): void {
    this.node.value = value;
  }
}

/** A block being filled: the pod lists of the groups at its open end, joined when it is closed. */
interface OpenBlock {
  block: ChangeBlock;
  lists: PodRef[][];
  self: PodRef[][];
}

/**
 * Collects the changed group pairs around one group (the block's fixed end) into blocks: one per
 * distinct answer (ports and decisions before and after), its other end the groups that have it.
 */
export class BlockCollector {
  readonly blocks: ChangeBlock[] = [];
  /** The blocks open around the group, by ports (before, after) then decisions (before, after): pairs of ids. */
  private open = new Map<number, Map<number, OpenBlock>>();
  private isOpenAtSource = true;

  constructor(
    private readonly ids: PortSetIds,
    private readonly decisions: [Decisions, Decisions],
  ) {}

  /** Starts the blocks around one group: its pods are the destinations (`to`) or the sources (`from`). */
  start(fixed: 'to' | 'from'): void {
    this.close();
    this.isOpenAtSource = fixed === 'to';
  }

  /**
   * Adds the pairs from `s` to `t` (their port set ids in scope before and after; `self`: pods at both
   * ends, `count`: the pairs) to the block of their answer.
   */
  add(s: PodGroup, t: PodGroup, was: number, now: number, self: PodRef[], count: number): void {
    const [before, after] = this.decisions;
    const keyBefore = was === 0 ? 0 : before.key(s.classBefore, t.classBefore);
    const keyAfter = now === 0 ? 0 : after.key(s.classAfter, t.classAfter);
    let byRules = this.open.get(pairKey(was, now));
    if (!byRules) this.open.set(pairKey(was, now), (byRules = new Map()));
    const rules = pairKey(keyBefore, keyAfter);
    let open = byRules.get(rules);
    if (!open) {
      const [decisionBefore, decisionAfter] = [before.decision(keyBefore), after.decision(keyAfter)];
      const block: ChangeBlock = {
        from: this.isOpenAtSource ? [] : s.pods,
        to: this.isOpenAtSource ? t.pods : [],
        count: 0,
        ...this.ids.change(was, now),
      };
      if (decisionBefore) block.decisionBefore = decisionBefore;
      if (decisionAfter) block.decisionAfter = decisionAfter;
      byRules.set(rules, (open = { block, lists: [], self: [] }));
      this.blocks.push(block);
    }
    open.lists.push(this.isOpenAtSource ? s.pods : t.pods);
    if (self.length > 0) open.self.push(self);
    open.block.count += count;
  }

  /** Joins the open ends of the blocks around the last group (one list: shared, not copied). */
  close(): ChangeBlock[] {
    for (const byRules of this.open.values()) {
      for (const { block, lists, self } of byRules.values()) {
        const pods = lists.length === 1 ? lists[0] : lists.flat();
        if (this.isOpenAtSource) block.from = pods;
        else block.to = pods;
        if (self.length > 0) block.both = self.flat();
      }
    }
    this.open = new Map();
    return this.blocks;
  }
}

/** Two ids (port sets, decisions: far fewer than 2^26 each) as one number. */
function pairKey(a: number, b: number): number {
  return a * 0x4000000 + b;
}
