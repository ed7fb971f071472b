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
import { pairKey, smallPair, TrieNode } from './number-trie.js';
import type { BitLayout } from './matrix.js';
import { allowedSourceClasses, Evaluator } from './matrix.js';
import type { Acc, Bits, Layout, Point } from './layout.js';
import { hasBit, layoutOf } from './layout.js';
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
 * Who-can's evaluator of one world (over every pod, or a few sources only: SourcesView), walked over
 * target classes: the label-class part is computed once per run of targets of one label class.
 */
export class SourceReader {
  readonly evaluator: Evaluator<BitLayout>;
  private labelClass = -1;
  private signature = -1;
  /** Key of the atoms of the last label class (equal keys: the same port sets in the same order). */
  atomsKey = '';
  /** The sources allowed into the last target (by bit: source index); undefined: no target. */
  reached: Acc | undefined;

  constructor(
    private readonly world: World,
    private readonly layout: BitLayout,
  ) {
    this.evaluator = new Evaluator(layout);
  }

  /** The bit of a source class (-1: none; in a SourcesView, of a source of that class). */
  bitOf(classId: number): number {
    return classId < 0 ? -1 : this.layout.start[classId];
  }

  /** Each atom's answer for the last target, as words (copies: valid after the next call too). */
  atomWords(): Int32Array[] {
    return this.evaluator.atoms.map((_, a) => this.evaluator.atomSources(a).words.slice());
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
   * Decision keys by what they read: the label classes (source, target), then the ipBlock peers
   * holding their addresses (held) and the tier classes. There is about one key per changed pair
   * of groups, and most pairs of label classes have one: the first key of a pair of label classes
   * by its number (`byLabels`), with what else it read beside it (`keyAddresses`, `keyTiers`); the
   * pair's other keys by text (`more`).
   */
  private readonly byLabels = new Map<number, number>();
  private readonly more = new Map<string, number>();
  private readonly keyAddresses: number[] = [0];
  private readonly keyTiers: number[] = [0];
  /** Key -> its decision (index 0: none). */
  private readonly decisions: (Decision | undefined)[] = [undefined];
  private readonly ids = new Map<Decision, number>();
  /** Decisions by what they read: the two sides' parts (Sides), the named ports, the tier classes. */
  private readonly byParts = new TrieNode<Decision>();
  private readonly sides: { ingress: Sides; egress: Sides };
  /** Per label class, the ipBlock peers its policies' rules read, per direction (held). */
  private readonly blocksRead: { ingress: (BlocksRead | undefined)[]; egress: (BlocksRead | undefined)[] } = {
    ingress: [],
    egress: [],
  };
  /** The lists of held ipBlock peers, by number (0: none). */
  private readonly heldIds = new Map<string, number>([['', 0]]);
  /**
   * With one end fixed (fix): the last key per label class of the other end, with the ipBlock peers
   * held and the tier class it was asked for (a key reads nothing else of the other end).
   */
  private fixed: 'source' | 'target' | undefined;
  private session = 0;
  private readonly seen: Int32Array;
  private readonly seenHeld: Int32Array;
  private readonly seenTierClass: Int32Array;
  private readonly seenKey: Int32Array;

  constructor(private readonly world: World) {
    const n = world.labelClasses.length;
    [this.seen, this.seenHeld, this.seenTierClass, this.seenKey] = [0, 1, 2, 3].map(() => new Int32Array(n));
    const layout = layoutOf(world);
    this.sides = { ingress: new Sides(layout, 'ingress'), egress: new Sides(layout, 'egress') };
  }

  /** The decision from pods of class `source` to pods of class `target` (all ports). */
  of(source: number, target: number): Decision {
    return this.decisions[this.key(source, target)]!;
  }

  /** A number per decision object (0: none): keys whose rules are the same have the same. */
  id(decision: Decision | undefined): number {
    return decision ? this.ids.get(decision)! : 0;
  }

  /**
   * Until the next call, every key asked for has the same class at this end (`undefined`: none
   * fixed), so keys are remembered by the other end's label class.
   */
  fix(end: 'source' | 'target' | undefined): void {
    this.fixed = end;
    this.session++;
  }

  /** The decision key of traffic from class `source` to class `target` (a number from 1). */
  key(source: number, target: number): number {
    if (!this.fixed) return this.lookUp(source, target);
    const { classes, tiers } = this.world;
    const s = classes[source];
    const t = classes[target];
    // Of the other end a key reads its label class, the tier class and what the fixed end's rules'
    // ipBlock peers hold of its addresses (its own rules' hold on the fixed end follow its label class).
    const isTargetFixed = this.fixed === 'target';
    const { labelClass } = isTargetFixed ? s : t;
    const held = isTargetFixed ? this.held(t, 'ingress', s) : this.held(s, 'egress', t);
    const tierClass = tiers ? tiers.classOf[isTargetFixed ? source : target] : -1;
    if (
      this.seen[labelClass] === this.session &&
      this.seenHeld[labelClass] === held &&
      this.seenTierClass[labelClass] === tierClass
    )
      return this.seenKey[labelClass];
    const key = this.lookUp(source, target);
    this.seen[labelClass] = this.session;
    this.seenHeld[labelClass] = held;
    this.seenTierClass[labelClass] = tierClass;
    this.seenKey[labelClass] = key;
    return key;
  }

  private lookUp(source: number, target: number): number {
    const { world } = this;
    const s = world.classes[source];
    const t = world.classes[target];
    const labels = s.labelClass * world.labelClasses.length + t.labelClass;
    const addresses = smallPair(this.held(t, 'ingress', s), this.held(s, 'egress', t));
    const tiers = world.tiers ? smallPair(world.tiers.classOf[source], world.tiers.classOf[target]) : 0;
    const first = this.byLabels.get(labels);
    if (first !== undefined && this.keyAddresses[first] === addresses && this.keyTiers[first] === tiers) return first;
    const text = first === undefined ? '' : `${labels} ${addresses} ${tiers}`;
    let key = first === undefined ? undefined : this.more.get(text);
    if (key === undefined) {
      key = this.decide(s, t);
      this.keyAddresses[key] = addresses;
      this.keyTiers[key] = tiers;
      if (first === undefined) this.byLabels.set(labels, key);
      else this.more.set(text, key);
    }
    return key;
  }

  /** The decision of a key (0: none). */
  decision(key: number): Decision | undefined {
    return this.decisions[key];
  }

  /** A new key, its decision shared with every key whose pair the same rules and ports answer. */
  private decide(s: PodClass, t: PodClass): number {
    // Ingress: the destination's policies (isolation, selectedBy) and their rules that admit the
    // source; egress: the source's policies and their rules that admit the destination.
    let node = this.byParts.step(this.sides.ingress.part(t, s));
    node = node.step(this.sides.egress.part(s, t));
    // Named ports resolve on the destination (portsOfRule); the tiers answer per pair of tier classes.
    node = node.step(t.namedPorts);
    const { tiers } = this.world;
    if (tiers) node = node.step(tiers.classOf[s.id]).step(tiers.classOf[t.id]);
    let decision = node.value;
    if (!decision) {
      node.value = decision = decideOnAllPorts(analysePair(this.world, s, t)).decision;
      this.ids.set(decision, this.ids.size + 1);
    }
    this.decisions.push(decision);
    return this.decisions.length - 1;
  }

  /**
   * Which of the ipBlock peers of `owner`'s policies' rules in this direction hold the addresses of
   * the class at the other end (peerAdmitsClass reads no more of them), as a number (0: none, or no
   * such peer); memoised per label class and address signature.
   */
  private held(owner: PodClass, direction: 'ingress' | 'egress', other: PodClass): number {
    const memo = this.blocksRead[direction];
    let read = memo[owner.labelClass];
    if (!read) {
      const ids = new Set<number>();
      for (const p of direction === 'ingress' ? owner.ingressPolicies : owner.egressPolicies)
        for (const r of p[direction] ?? [])
          if (r.peers !== 'all') for (const peer of r.peers) if (peer.kind === 'ipBlock') ids.add(peer.id);
      read = { ids: [...ids].sort((a, b) => a - b), bySignature: new Map() };
      memo[owner.labelClass] = read;
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

/** The policies that select a class for one direction, as a decision reads them: their rules in order. */
interface Side {
  /** The same number for lists of the same policies in the same order. */
  id: number;
  /** Per rule, the pods each of its peers admits (the layout's bits); undefined: every peer. */
  peers: (Bits[] | undefined)[];
  /** Parts by the mask of the rules that admit the other end (up to 31 rules), or by their indexes as text. */
  parts: Map<number | string, number>;
}

/**
 * One direction's part of decisions, as numbers: a class's policies for that direction (which select
 * it, so isolate it) and which of their rules admit the class at the other end, read from the bits of
 * the rules' peers (the layout's, which peers.ts's peerAdmitsClass answers alike: who-can reads the
 * same bits). Equal numbers, equal parts.
 */
class Sides {
  /** Per label class. */
  private readonly sides: (Side | undefined)[] = [];
  /** Lists of policies by their policies' numbers (a number per policy object). */
  private readonly byPolicies = new TrieNode<Side>();
  private readonly policyIds = new Map<CompiledPolicy, number>();
  private count = 0;
  private partCount = 0;

  constructor(
    private readonly layout: Layout,
    private readonly direction: 'ingress' | 'egress',
  ) {}

  /** The part of `owner`'s policies of this direction whose rules admit `other` or not. */
  part(owner: PodClass, other: PodClass): number {
    const side = this.sideOf(owner);
    const { peers } = side;
    const bit = this.layout.start[other.id];
    let key: number | string;
    if (peers.length <= 31) {
      let mask = 0;
      for (let r = 0; r < peers.length; r++) if (admits(peers[r], bit)) mask |= 1 << r;
      key = mask;
    } else key = peers.flatMap((bits, r) => (admits(bits, bit) ? [r] : [])).join(',');
    let part = side.parts.get(key);
    if (part === undefined) side.parts.set(key, (part = this.partCount++));
    return part;
  }

  private sideOf(owner: PodClass): Side {
    let side = this.sides[owner.labelClass];
    if (!side) {
      const policies = this.direction === 'ingress' ? owner.ingressPolicies : owner.egressPolicies;
      let node = this.byPolicies;
      for (const policy of policies) {
        let id = this.policyIds.get(policy);
        if (id === undefined) this.policyIds.set(policy, (id = this.policyIds.size));
        node = node.step(id);
      }
      if (!node.value) {
        const rules = policies.flatMap((p) =>
          (p[this.direction] ?? []).map((rule) => ({ rule, namespace: p.ref.namespace })),
        );
        node.value = {
          id: this.count++,
          peers: rules.map(({ rule, namespace }) =>
            rule.peers === 'all' ? undefined : rule.peers.map((peer) => this.layout.peer(peer, namespace)),
          ),
          parts: new Map(),
        };
      }
      side = this.sides[owner.labelClass] = node.value;
    }
    return side;
  }
}

/** Whether a rule (its peers' bits; undefined: every peer) admits the pod at `bit`. */
function admits(peers: Bits[] | undefined, bit: number): boolean {
  if (!peers) return true;
  for (const bits of peers) if (hasBit(bits, bit)) return true;
  return false;
}

/** A block being filled: the pods at its open end (shared with the first group's until a second comes). */
interface OpenBlock {
  block: ChangeBlock;
  was: number;
  now: number;
  pods: PodRef[];
  isShared: boolean;
  self: PodRef[] | undefined;
  /** Another block of the same decision keys, with other ports. */
  next: OpenBlock | undefined;
}

/**
 * Numbers from 0 for the decision keys met since `restart`, so that a pair of them is one small number
 * (V8 keeps those unboxed, and a map keyed by them makes no object per lookup).
 */
class SessionNumbers {
  private stamps = new Int32Array(1024);
  private numbers = new Int32Array(1024);
  private session = 1;
  private count = 0;

  restart(): void {
    this.session++;
    this.count = 0;
  }

  of(key: number): number {
    if (key >= this.stamps.length) {
      const size = Math.max(key + 1, 2 * this.stamps.length);
      const [stamps, numbers] = [new Int32Array(size), new Int32Array(size)];
      stamps.set(this.stamps);
      numbers.set(this.numbers);
      [this.stamps, this.numbers] = [stamps, numbers];
    }
    if (this.stamps[key] !== this.session) {
      this.stamps[key] = this.session;
      this.numbers[key] = this.count++;
    }
    return this.numbers[key];
  }
}

/**
 * Collects the changed group pairs around one group (the block's fixed end) into blocks: one per
 * distinct answer (ports and decisions before and after), its other end the groups that have it.
 */
export class BlockCollector {
  readonly blocks: ChangeBlock[] = [];
  /** The blocks open around the group, by their decision keys (numbered per group: SessionNumbers), then ports. */
  private readonly open = new Map<number, OpenBlock>();
  private readonly opened: OpenBlock[] = [];
  private readonly numbers = [new SessionNumbers(), new SessionNumbers()];
  private isOpenAtSource = true;

  constructor(
    private readonly ids: PortSetIds,
    private readonly decisions: [Decisions, Decisions],
  ) {}

  /** Starts the blocks around one group: its pods are the destinations (`to`) or the sources (`from`). */
  start(fixed: 'to' | 'from'): void {
    this.close();
    this.isOpenAtSource = fixed === 'to';
    for (const decisions of this.decisions) decisions.fix(fixed === 'to' ? 'target' : 'source');
  }

  /**
   * Adds the pairs from `s` to `t` (their port set ids in scope before and after; `self`: pods at both
   * ends, `count`: the pairs) to the block of their answer.
   */
  add(s: PodGroup, t: PodGroup, was: number, now: number, self: PodRef[], count: number): void {
    const [before, after] = this.decisions;
    const keyBefore = was === 0 ? 0 : before.key(s.classBefore, t.classBefore);
    const keyAfter = now === 0 ? 0 : after.key(s.classAfter, t.classAfter);
    const slot = smallPair(this.numbers[0].of(keyBefore), this.numbers[1].of(keyAfter));
    const first = this.open.get(slot);
    let open = first;
    while (open && (open.was !== was || open.now !== now)) open = open.next;
    const pods = this.isOpenAtSource ? s.pods : t.pods;
    if (!open) {
      const block: ChangeBlock = {
        from: this.isOpenAtSource ? [] : s.pods,
        to: this.isOpenAtSource ? t.pods : [],
        count: 0,
        ...this.ids.change(was, now),
      };
      const decisionBefore = before.decision(keyBefore);
      const decisionAfter = after.decision(keyAfter);
      if (decisionBefore) block.decisionBefore = decisionBefore;
      if (decisionAfter) block.decisionAfter = decisionAfter;
      open = { block, was, now, pods, isShared: true, self: undefined, next: first };
      this.open.set(slot, open);
      this.opened.push(open);
      this.blocks.push(block);
    } else {
      if (open.isShared) {
        open.pods = open.pods.slice();
        open.isShared = false;
      }
      for (const pod of pods) open.pods.push(pod);
    }
    if (self.length > 0) {
      open.self ??= [];
      for (const pod of self) open.self.push(pod);
    }
    open.block.count += count;
  }

  /** Joins the open ends of the blocks around the last group (one group's list: shared, not copied). */
  close(): ChangeBlock[] {
    for (const { block, pods, self } of this.opened) {
      if (this.isOpenAtSource) block.from = pods;
      else block.to = pods;
      if (self) block.both = self;
    }
    this.opened.length = 0;
    this.open.clear();
    for (const numbers of this.numbers) numbers.restart();
    for (const decisions of this.decisions) decisions.fix(undefined);
    return this.blocks;
  }
}
