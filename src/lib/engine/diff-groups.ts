/**
 * A diff's changes grouped as the views show them: by the workloads (or address blocks) at either
 * end, the ports lost or gained, and (for diff) the rules responsible before and after.
 */
import type { V1Pod } from '@kubernetes/client-node';

import type { World } from './world.js';
import type { BlockDiff, ChangeBlock, ReachabilityDiff } from './diff.js';
import type { Decision, IpBlock, PodRef, PortSet } from './model.js';
import { keyOf } from './model.js';
import { smallPair } from './number-trie.js';
import { emptyPortSet, isEmptyPortSet } from './ports.js';
import { workloadOf } from './targets.js';

/** One end of a group of changes: a workload (or bare pod, kind `Pod`), or addresses outside the cluster. */
export type ChangeEnd = { namespace: string; kind: string; name: string } | { addresses: IpBlock[] };

/** Changes with the same ends and the same ports, grouped: pod pairs of two workloads, or the pods of a workload and addresses. */
export interface ChangeGroup {
  from: ChangeEnd;
  to: ChangeEnd;
  /** Pod pairs in the group (a workload and addresses: its pods). */
  count: number;
  /** The ports each of them loses (cut) or gains (opened). */
  ports: PortSet;
  /** The ports each keeps (cut: still allowed after; opened: allowed before); empty for addresses. */
  kept: PortSet;
  /** Why the group's connections were allowed before, and are after (one of them stands for all: the group holds only connections whose rules are the same); undefined on a side where they were not. */
  before?: Decision;
  after?: Decision;
}

/** A pod pair and ports, as the previews' findings list them. */
export interface PairPorts {
  from: PodRef;
  to: PodRef;
  ports: PortSet;
}

/**
 * What the groupings of one diff share (the opened and the cut changes are grouped apart): the ends
 * seen (workload, bare pod or addresses), by number, each pod's end, and the numbers of what the ends
 * are joined with.
 */
class GroupKeys {
  readonly ends: ChangeEnd[] = [];
  readonly endKeys: string[] = [];
  private readonly endIds = new Map<string, number>();
  /** The end of each pod, by reference (blocks and pairs share the references). */
  private readonly ofPod = new Map<PodRef, number>();
  /** The same by namespace/name (each world has its own references). */
  private readonly ofKey = new Map<string, number>();
  /** What the ends are joined with (ports, and rules when groups tell them apart), by number. */
  private readonly suffixIds = new Map<string, number>();
  /** The same numbers by the objects of blocks (which share their port sets and decisions): ports, kept, before, after. */
  private readonly suffixOfObjects = new Map<
    PortSet,
    Map<PortSet, Map<Decision | undefined, Map<Decision | undefined, number>>>
  >();
  /** The last blockSuffix asked (consecutive blocks may share their objects). */
  private last?: { ports: PortSet; kept: PortSet; before?: Decision; after?: Decision; suffix: number };
  /** Scratch for `collect`: per end, the last call that saw it and where; two lists of ends and pod counts. */
  private seenIn = new Int32Array(64);
  private seenAt = new Int32Array(64);
  private calls = 0;
  readonly found = [new Int32Array(64), new Int32Array(64)];
  readonly counts = [new Int32Array(64), new Int32Array(64)];
  /** Each end's place in the views' order of names (ranksOf), while no end is added. */
  private ranks?: Int32Array | null;

  constructor(
    private readonly worlds: World[],
    /** Whether groups also tell apart the rules that allowed them (diff shows them; the previews do not). */
    readonly isByRules: boolean,
  ) {}

  /** The number of an end. */
  end(end: ChangeEnd): number {
    const key = endKey(end);
    let id = this.endIds.get(key);
    if (id === undefined) {
      this.endIds.set(key, (id = this.ends.length));
      this.ends.push(end);
      this.endKeys.push(key);
      this.ranks = undefined;
    }
    return id;
  }

  /** The end (workload, or the pod itself) of a pod, by number. */
  workload(ref: PodRef): number {
    let id = this.ofPod.get(ref);
    if (id === undefined) {
      // Each world has its own reference for a pod: the second finds the first's end by key.
      const key = keyOf(ref);
      id = this.ofKey.get(key);
      if (id === undefined) {
        let pod: V1Pod | undefined;
        for (const world of this.worlds) if ((pod = world.podsByKey.get(key)?.pod)) break;
        id = this.end({ namespace: ref.namespace, ...(pod ? workloadOf(pod) : { kind: 'Pod', name: ref.name }) });
        this.ofKey.set(key, id);
      }
      this.ofPod.set(ref, id);
    }
    return id;
  }

  /**
   * The ends of some pods with how many pods each has, in the order first seen, into `found[slot]`
   * and `counts[slot]` (read before the next call with that slot); returns how many ends.
   */
  collect(pods: readonly PodRef[], slot: 0 | 1): number {
    const call = ++this.calls;
    let found = this.found[slot];
    let counts = this.counts[slot];
    let n = 0;
    for (const pod of pods) {
      const end = this.workload(pod);
      if (end >= this.seenIn.length) this.growSeen(end);
      if (this.seenIn[end] === call) {
        counts[this.seenAt[end]]++;
        continue;
      }
      if (n === found.length) {
        [found, counts] = [grown(found), grown(counts)];
        [this.found[slot], this.counts[slot]] = [found, counts];
      }
      this.seenIn[end] = call;
      this.seenAt[end] = n;
      found[n] = end;
      counts[n++] = 1;
    }
    return n;
  }

  /** The pods at both ends of a block (their pairs with themselves are not in it), counted by end. */
  selfOf(block: ChangeBlock): Map<number, number> | undefined {
    if (!block.both || block.both.length === 0) return undefined;
    const self = new Map<number, number>();
    for (const pod of block.both) {
      const end = this.workload(pod);
      self.set(end, (self.get(end) ?? 0) + 1);
    }
    return self;
  }

  private growSeen(end: number): void {
    const size = Math.max(end + 1, this.seenIn.length * 2);
    this.seenIn = grown(this.seenIn, size);
    this.seenAt = grown(this.seenAt, size);
  }

  /** The number of what the ends are joined with: the ports, and the rules when groups tell them apart. */
  suffix(ports: PortSet, kept: PortSet, why: Pick<ChangeGroup, 'before' | 'after'>): number {
    const rules = this.isByRules ? [rulesKey(why.before), rulesKey(why.after)] : [];
    const key = [portSetKey(ports), portSetKey(kept), ...rules].join('\u0000');
    let id = this.suffixIds.get(key);
    if (id === undefined) this.suffixIds.set(key, (id = this.suffixIds.size));
    return id;
  }

  /** suffix, remembered by the objects. */
  blockSuffix(ports: PortSet, kept: PortSet, why: Pick<ChangeGroup, 'before' | 'after'>): number {
    const [before, after] = this.isByRules ? [why.before, why.after] : [undefined, undefined];
    const last = this.last;
    if (last && last.ports === ports && last.kept === kept && last.before === before && last.after === after) {
      return last.suffix;
    }
    let byKept = this.suffixOfObjects.get(ports);
    if (!byKept) this.suffixOfObjects.set(ports, (byKept = new Map()));
    let byBefore = byKept.get(kept);
    if (!byBefore) byKept.set(kept, (byBefore = new Map()));
    let byAfter = byBefore.get(before);
    if (!byAfter) byBefore.set(before, (byAfter = new Map()));
    let suffix = byAfter.get(after);
    if (suffix === undefined) byAfter.set(after, (suffix = this.suffix(ports, kept, why)));
    this.last = { ports, kept, before, after, suffix };
    return suffix;
  }

  /** Each end's place in the views' order of names (ranksOf), or null when names must be compared whole. */
  endRanks(): Int32Array | null {
    this.ranks ??= ranksOf(this.endKeys);
    return this.ranks;
  }
}

/** Groups changes by their ends and ports, largest group first, then by the names at the ends. */
class Grouper {
  /** Groups by suffix, then by their ends (from, to); and all of them in the order they were made, with their ends. */
  private readonly groups = new Map<number, Map<number, ChangeGroup>>();
  private readonly made: ChangeGroup[] = [];
  private readonly madeFrom: number[] = [];
  private readonly madeTo: number[] = [];

  constructor(readonly keys: GroupKeys) {}

  put(
    from: number,
    to: number,
    ports: PortSet,
    kept: PortSet,
    why: Pick<ChangeGroup, 'before' | 'after'> = {},
    count = 1,
    suffix = this.keys.suffix(ports, kept, why),
  ): void {
    let bySuffix = this.groups.get(suffix);
    if (!bySuffix) this.groups.set(suffix, (bySuffix = new Map()));
    this.add(bySuffix, from, to, ports, kept, why, count);
  }

  private add(
    bySuffix: Map<number, ChangeGroup>,
    from: number,
    to: number,
    ports: PortSet,
    kept: PortSet,
    why: Pick<ChangeGroup, 'before' | 'after'>,
    count: number,
  ): void {
    // Ends are numbered from 0 and far fewer than 2^26.
    const ends = smallPair(from, to);
    let group = bySuffix.get(ends);
    if (!group) {
      const { ends: all, isByRules } = this.keys;
      group = { from: all[from], to: all[to], count: 0, ports, kept, ...(isByRules ? why : {}) };
      bySuffix.set(ends, group);
      this.made.push(group);
      this.madeFrom.push(from);
      this.madeTo.push(to);
    }
    group.count += count;
  }

  /**
   * A block's pairs, by the workloads at either end (counted by GroupKeys.collect into its two
   * slots: 0 the sources, 1 the destinations): the pods of each pair of workloads multiplied, less a
   * pod with itself (`self`: such pods by end).
   */
  putPairs(
    fromCount: number,
    toCount: number,
    self: Map<number, number> | undefined,
    ports: PortSet,
    kept: PortSet,
    why: Pick<ChangeGroup, 'before' | 'after'>,
  ): void {
    const { keys } = this;
    const suffix = keys.blockSuffix(ports, kept, why);
    let bySuffix = this.groups.get(suffix);
    if (!bySuffix) this.groups.set(suffix, (bySuffix = new Map()));
    const { found, counts } = keys;
    const [froms, fromPods, tos, toPods] = [found[0], counts[0], found[1], counts[1]];
    for (let i = 0; i < toCount; i++) {
      const to = tos[i];
      for (let j = 0; j < fromCount; j++) {
        const from = froms[j];
        const count = toPods[i] * fromPods[j] - (self && to === from ? (self.get(to) ?? 0) : 0);
        if (count > 0) this.add(bySuffix, from, to, ports, kept, why, count);
      }
    }
  }

  sorted(): ChangeGroup[] {
    const { made, madeFrom, madeTo } = this;
    const ranks = this.keys.endRanks();
    const order = ranks ? orderByRanks(made, madeFrom, madeTo, ranks) : undefined;
    if (order) return Array.from(order, (i) => made[i]);
    // The names at the ends as one label, compared whole.
    const { endKeys } = this.keys;
    const counts = made.map((g) => g.count);
    const labels = made.map((_, i) => `${endKeys[madeTo[i]]} ${endKeys[madeFrom[i]]}`);
    const byLabels = made.map((_, i) => i);
    byLabels.sort((a, b) => counts[b] - counts[a] || COLLATOR.compare(labels[a], labels[b]) || a - b);
    return byLabels.map((i) => made[i]);
  }
}

/**
 * Groups in the views' order (largest count first, then by the places of the names at the ends, `to`
 * then `from`, then as made): the groups of each count sorted as numbers that hold the two places and
 * the index; undefined when those numbers would not fit in a double's 53 bits.
 */
function orderByRanks(
  made: readonly ChangeGroup[],
  madeFrom: readonly number[],
  madeTo: readonly number[],
  ranks: Int32Array,
): Int32Array | undefined {
  const places = ranks.length;
  const byCount = new Map<number, number[]>();
  for (let i = 0; i < made.length; i++) {
    const list = byCount.get(made[i].count);
    if (list) list.push(i);
    else byCount.set(made[i].count, [i]);
  }
  const order = new Int32Array(made.length);
  let at = 0;
  for (const count of [...byCount.keys()].sort((a, b) => b - a)) {
    const list = byCount.get(count)!;
    if (places * places * list.length >= 2 ** 53) return undefined;
    const keys = new Float64Array(list.length);
    for (let k = 0; k < list.length; k++) {
      const i = list[k];
      keys[k] = (ranks[madeTo[i]] * places + ranks[madeFrom[i]]) * list.length + k;
    }
    keys.sort();
    for (const key of keys) order[at++] = list[key % list.length];
  }
  return order;
}

/** The collation of the views' order of names (as localeCompare), made once. */
const COLLATOR = new Intl.Collator();

/**
 * Each key's place among `keys` by COLLATOR (equal keys, equal places), when comparing the label
 * `to from` of two groups is comparing their `to` keys' places, then their `from` keys': null when
 * that cannot be sure. It is when every key is printable ASCII (no character the collation ignores
 * or puts below the space that joins the label), no two keys differ only in case (letters equal at
 * the collation's first level would let the `from` keys decide first), and no key followed by a
 * space begins another (the label of the shorter would go on comparing its `from` key against the
 * rest of the longer).
 */
export function ranksOf(keys: readonly string[]): Int32Array | null {
  if (COLLATOR.resolvedOptions().ignorePunctuation) return null;
  const lower = new Set<string>();
  for (const key of keys) {
    if (!/^[!-~ ]*$/.test(key)) return null;
    lower.add(key.toLowerCase());
  }
  if (lower.size !== keys.length) return null;
  for (const key of lower) {
    for (let at = key.indexOf(' '); at >= 0; at = key.indexOf(' ', at + 1))
      if (lower.has(key.slice(0, at))) return null;
  }
  const order = keys.map((_, i) => i).sort((a, b) => COLLATOR.compare(keys[a], keys[b]));
  const ranks = new Int32Array(keys.length);
  for (let i = 1; i < order.length; i++) {
    const isSame = COLLATOR.compare(keys[order[i - 1]], keys[order[i]]) === 0;
    ranks[order[i]] = isSame ? ranks[order[i - 1]] : i;
  }
  return ranks;
}

/** A copy of an array with room for more. */
function grown(array: Int32Array<ArrayBuffer>, size = array.length * 2): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(size);
  bigger.set(array);
  return bigger;
}

/**
 * Groups the changes of one kind (`cut` or `opened`) by the workloads (workloadOf, looked up in
 * `worlds`, the first that has the pod) or addresses at either end, their ports and the rules that
 * allowed them before and after, largest group first, then by the names at the ends.
 */
export function groupChanges(
  worlds: World | World[],
  diff: ReachabilityDiff | BlockDiff,
  which: 'cut' | 'opened',
  opts: { byRules?: boolean } = {},
): ChangeGroup[] {
  const grouper = new Grouper(new GroupKeys([worlds].flat(), opts.byRules === true));
  return groupInto(diff, which === 'opened' ? { opened: grouper } : { cut: grouper })[which]!;
}

/** groupChanges of both kinds, each block's ends looked up once for the two. */
export function groupBoth(
  worlds: World[],
  diff: ReachabilityDiff | BlockDiff,
  opts: { byRules?: boolean } = {},
): { opened: ChangeGroup[]; cut: ChangeGroup[] } {
  const keys = new GroupKeys(worlds, opts.byRules === true);
  const { opened, cut } = groupInto(diff, { opened: new Grouper(keys), cut: new Grouper(keys) });
  return { opened: opened!, cut: cut! };
}

/** The changes into the groupers of either kind: the blocks (in one pass), then the pairs, then the addresses. */
function groupInto(
  diff: ReachabilityDiff | BlockDiff,
  groupers: { opened?: Grouper; cut?: Grouper },
): { opened?: ChangeGroup[]; cut?: ChangeGroup[] } {
  const { opened, cut } = groupers;
  const keys = (opened ?? cut)!.keys;
  let [from, to]: (readonly PodRef[] | undefined)[] = [];
  let [fromCount, toCount] = [0, 0];
  for (const block of 'blocks' in diff ? diff.blocks : []) {
    const isOpened = opened !== undefined && !isEmptyPortSet(block.gained);
    const isCut = cut !== undefined && !isEmptyPortSet(block.lost);
    if (!isOpened && !isCut) continue;
    // Consecutive blocks (those around one group) share the group's pods.
    if (block.from !== from) fromCount = keys.collect((from = block.from), 0);
    if (block.to !== to) toCount = keys.collect((to = block.to), 1);
    const self = keys.selfOf(block);
    const why = { before: block.decisionBefore, after: block.decisionAfter };
    if (isOpened) opened.putPairs(fromCount, toCount, self, block.gained, block.before, why);
    if (isCut) cut.putPairs(fromCount, toCount, self, block.lost, block.after, why);
  }
  const out: { opened?: ChangeGroup[]; cut?: ChangeGroup[] } = {};
  for (const [which, grouper] of [
    ['opened', opened],
    ['cut', cut],
  ] as const) {
    if (!grouper) continue;
    const pairs = 'blocks' in diff ? [] : which === 'cut' ? diff.cut : diff.opened;
    for (const change of pairs) {
      const [ports, kept] = which === 'cut' ? [change.lost, change.after] : [change.gained, change.before];
      const why = { before: change.decisionBefore, after: change.decisionAfter };
      grouper.put(keys.workload(change.from), keys.workload(change.to), ports, kept, why);
    }
    for (const change of which === 'cut' ? diff.cutAddresses : diff.openedAddresses) {
      const pod = keys.workload(change.pod);
      const addresses = keys.end({ addresses: change.blocks });
      const why = { before: change.decisionBefore, after: change.decisionAfter };
      const kept = which === 'cut' ? change.after : change.before;
      if (change.direction === 'ingress') grouper.put(addresses, pod, change.ports, kept, why);
      else grouper.put(pod, addresses, change.ports, kept, why);
    }
    out[which] = grouper.sorted();
  }
  return out;
}

/** Pod pairs grouped by the workloads at either end and their ports, largest group first. */
export function groupPairs(world: World, pairs: readonly PairPorts[]): ChangeGroup[] {
  const grouper = new Grouper(new GroupKeys([world], false));
  const { keys } = grouper;
  for (const pair of pairs) grouper.put(keys.workload(pair.from), keys.workload(pair.to), pair.ports, emptyPortSet());
  return grouper.sorted();
}

function endKey(end: ChangeEnd): string {
  if ('addresses' in end) return end.addresses.map((b) => `${b.cidr}!${b.except.join(',')}`).join(' ');
  return `${end.namespace}/${end.kind}/${end.name}`;
}

/** Keys of port sets and rules already written (blocks share their port sets and decisions). */
const portSetKeys = new WeakMap<PortSet, string>();
const rulesKeys = new WeakMap<Decision, string>();

/** A port set as a string: equal sets, equal strings. */
export function portSetKey(ports: PortSet): string {
  let key = portSetKeys.get(ports);
  if (key === undefined) portSetKeys.set(ports, (key = JSON.stringify(ports)));
  return key;
}

/**
 * The rules that allowed a connection, on both sides, as a key; '-' when it was not allowed. The
 * cluster tier rules that accepted it are part of it: the views name them beside the rules.
 */
function rulesKey(decision: Decision | undefined): string {
  if (!decision) return '-';
  let key = rulesKeys.get(decision);
  if (key === undefined) rulesKeys.set(decision, (key = rulesKeyOf(decision)));
  return key;
}

function rulesKeyOf(decision: Decision): string {
  const sides = [decision.ingress, ...(decision.egress.applies ? [decision.egress] : [])];
  return sides
    .map(
      (side) =>
        side.allowedBy.map((r) => `${keyOf(r.policy)} ${r.direction}[${r.index}]`).join(',') +
        (side.tierRules ? ` ${JSON.stringify(side.tierRules)}` : ''),
    )
    .join(';');
}
