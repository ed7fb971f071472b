/**
 * A diff's changes grouped as the views show them: by the workloads (or address blocks) at either
 * end, the ports lost or gained, and (for diff) the rules responsible before and after.
 */
import type { World } from './world.js';
import type { BlockDiff, ChangeBlock, ReachabilityDiff } from './diff.js';
import type { Decision, IpBlock, PodRef, PortSet } from './model.js';
import { keyOf } from './model.js';
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

/** Groups changes by their ends and ports, largest group first, then by the names at the ends. */
class Grouper {
  /** Each end seen (workload, bare pod or addresses), by number, and the numbers by key. */
  private readonly ends: ChangeEnd[] = [];
  private readonly endKeys: string[] = [];
  private readonly endIds = new Map<string, number>();
  /** The end of each pod, by reference (blocks and pairs share the references). */
  private readonly ofPod = new Map<PodRef, number>();
  /** The pods of one end of blocks by end (once per array: blocks share them): end numbers and pod counts. */
  private readonly podsByEnd = new Map<PodRef[], { ends: number[]; pods: number[] }>();
  /** What the ends are joined with (ports, and rules when groups tell them apart), by number. */
  private readonly suffixIds = new Map<string, number>();
  /** The same numbers by the objects of blocks (which share their port sets and decisions): ports, kept, before, after. */
  private readonly suffixOfObjects = new Map<
    PortSet,
    Map<PortSet, Map<Decision | undefined, Map<Decision | undefined, number>>>
  >();
  /** Groups by suffix, then by their ends (from, to); and all of them in the order they were made. */
  private readonly groups = new Map<number, Map<number, ChangeGroup>>();
  private readonly made: ChangeGroup[] = [];
  /** What groups of one count are sorted by: the names at the ends (to, then from). */
  private readonly labels = new Map<ChangeGroup, string>();

  constructor(
    private readonly worlds: World[],
    /** Whether groups also tell apart the rules that allowed them (diff shows them; the previews do not). */
    private readonly isByRules = false,
  ) {}

  /** The number of an end. */
  end(end: ChangeEnd): number {
    const key = endKey(end);
    let id = this.endIds.get(key);
    if (id === undefined) {
      this.endIds.set(key, (id = this.ends.length));
      this.ends.push(end);
      this.endKeys.push(key);
    }
    return id;
  }

  /** The end (workload, or the pod itself) of a pod, by number. */
  workload(ref: PodRef): number {
    let id = this.ofPod.get(ref);
    if (id === undefined) {
      const key = keyOf(ref);
      const pod = this.worlds.map((w) => w.podsByKey.get(key)?.pod).find((p) => p !== undefined);
      id = this.end({ namespace: ref.namespace, ...(pod ? workloadOf(pod) : { kind: 'Pod', name: ref.name }) });
      this.ofPod.set(ref, id);
    }
    return id;
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
  private blockSuffix(ports: PortSet, kept: PortSet, why: Pick<ChangeGroup, 'before' | 'after'>): number {
    const [before, after] = this.isByRules ? [why.before, why.after] : [undefined, undefined];
    const level = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
      let value = map.get(key);
      if (value === undefined) map.set(key, (value = make()));
      return value;
    };
    const byBefore = level(
      level(this.suffixOfObjects, ports, () => new Map()),
      kept,
      () => new Map(),
    );
    return level(
      level(byBefore, before, () => new Map()),
      after,
      () => this.suffix(ports, kept, why),
    );
  }

  put(
    from: number,
    to: number,
    ports: PortSet,
    kept: PortSet,
    why: Pick<ChangeGroup, 'before' | 'after'> = {},
    count = 1,
    suffix = this.suffix(ports, kept, why),
  ): void {
    let bySuffix = this.groups.get(suffix);
    if (!bySuffix) this.groups.set(suffix, (bySuffix = new Map()));
    // Ends are numbered from 0 and far fewer than 2^26.
    const ends = from * 0x4000000 + to;
    let group = bySuffix.get(ends);
    if (!group) {
      group = { from: this.ends[from], to: this.ends[to], count: 0, ports, kept, ...(this.isByRules ? why : {}) };
      bySuffix.set(ends, group);
      this.made.push(group);
      this.labels.set(group, `${this.endKeys[to]} ${this.endKeys[from]}`);
    }
    group.count += count;
  }

  /** The ends of some pods, with how many pods each has, in the order first seen. */
  workloads(pods: PodRef[]): { ends: number[]; pods: number[] } {
    let found = this.podsByEnd.get(pods);
    if (!found) {
      found = { ends: [], pods: [] };
      const at = new Map<number, number>();
      for (const pod of pods) {
        const end = this.workload(pod);
        const i = at.get(end);
        if (i !== undefined) found.pods[i]++;
        else {
          at.set(end, found.ends.length);
          found.ends.push(end);
          found.pods.push(1);
        }
      }
      this.podsByEnd.set(pods, found);
    }
    return found;
  }

  /** A block's pairs, by the workloads at either end: the pods of each pair of workloads multiplied, less a pod with itself. */
  putBlock(block: ChangeBlock, ports: PortSet, kept: PortSet, why: Pick<ChangeGroup, 'before' | 'after'>): void {
    const self = new Map<number, number>();
    for (const pod of block.both ?? []) {
      const end = this.workload(pod);
      self.set(end, (self.get(end) ?? 0) + 1);
    }
    const suffix = this.blockSuffix(ports, kept, why);
    const froms = this.workloads(block.from);
    const tos = this.workloads(block.to);
    for (let i = 0; i < tos.ends.length; i++) {
      const to = tos.ends[i];
      for (let j = 0; j < froms.ends.length; j++) {
        const from = froms.ends[j];
        const count = tos.pods[i] * froms.pods[j] - (to === from ? (self.get(to) ?? 0) : 0);
        if (count > 0) this.put(from, to, ports, kept, why, count, suffix);
      }
    }
  }

  sorted(): ChangeGroup[] {
    const { labels } = this;
    // As localeCompare (the same collation), with the labels read from an array, not a map.
    const order = this.made.map((group, i) => ({ i, count: group.count, label: labels.get(group)! }));
    const compare = new Intl.Collator().compare;
    order.sort((a, b) => b.count - a.count || compare(a.label, b.label) || a.i - b.i);
    return order.map(({ i }) => this.made[i]);
  }
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
  const grouper = new Grouper([worlds].flat(), opts.byRules === true);
  const blocks = 'blocks' in diff ? diff.blocks : [];
  for (const block of blocks) {
    const [ports, kept] = which === 'cut' ? [block.lost, block.after] : [block.gained, block.before];
    if (!isEmptyPortSet(ports))
      grouper.putBlock(block, ports, kept, { before: block.decisionBefore, after: block.decisionAfter });
  }
  const pairs = 'blocks' in diff ? [] : which === 'cut' ? diff.cut : diff.opened;
  for (const change of pairs) {
    const [ports, kept] = which === 'cut' ? [change.lost, change.after] : [change.gained, change.before];
    const why = { before: change.decisionBefore, after: change.decisionAfter };
    grouper.put(grouper.workload(change.from), grouper.workload(change.to), ports, kept, why);
  }
  for (const change of which === 'cut' ? diff.cutAddresses : diff.openedAddresses) {
    const pod = grouper.workload(change.pod);
    const addresses = grouper.end({ addresses: change.blocks });
    const why = { before: change.decisionBefore, after: change.decisionAfter };
    const kept = which === 'cut' ? change.after : change.before;
    if (change.direction === 'ingress') grouper.put(addresses, pod, change.ports, kept, why);
    else grouper.put(pod, addresses, change.ports, kept, why);
  }
  return grouper.sorted();
}

/** Pod pairs grouped by the workloads at either end and their ports, largest group first. */
export function groupPairs(world: World, pairs: readonly PairPorts[]): ChangeGroup[] {
  const grouper = new Grouper([world]);
  for (const pair of pairs)
    grouper.put(grouper.workload(pair.from), grouper.workload(pair.to), pair.ports, emptyPortSet());
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
