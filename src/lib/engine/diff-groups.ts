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

/** A workload (or addresses) at one end, with its key. */
interface KeyedEnd {
  end: ChangeEnd;
  key: string;
}

/** Groups changes by their ends and ports, largest group first, then by the names at the ends. */
class Grouper {
  private readonly groups = new Map<string, ChangeGroup>();
  /** The workload of each pod, by reference (blocks and pairs share the references). */
  private readonly ofPod = new Map<PodRef, KeyedEnd>();
  /** The pods of one end of blocks by workload, with how many each has (once per array: blocks share them). */
  private readonly ends = new Map<PodRef[], Map<string, { end: ChangeEnd; pods: number }>>();

  constructor(
    private readonly worlds: World[],
    /** Whether groups also tell apart the rules that allowed them (diff shows them; the previews do not). */
    private readonly isByRules = false,
  ) {}

  workload(ref: PodRef): KeyedEnd {
    let found = this.ofPod.get(ref);
    if (!found) {
      const key = keyOf(ref);
      const pod = this.worlds.map((w) => w.podsByKey.get(key)?.pod).find((p) => p !== undefined);
      const end = { namespace: ref.namespace, ...(pod ? workloadOf(pod) : { kind: 'Pod', name: ref.name }) };
      this.ofPod.set(ref, (found = { end, key: endKey(end) }));
    }
    return found;
  }

  /** What the ends' keys are joined with: the ports, and the rules when groups tell them apart. */
  suffix(ports: PortSet, kept: PortSet, why: Pick<ChangeGroup, 'before' | 'after'>): string {
    const rules = this.isByRules ? [rulesKey(why.before), rulesKey(why.after)] : [];
    return [portSetKey(ports), portSetKey(kept), ...rules].join('\u0000');
  }

  put(
    from: KeyedEnd,
    to: KeyedEnd,
    ports: PortSet,
    kept: PortSet,
    why: Pick<ChangeGroup, 'before' | 'after'> = {},
    count = 1,
    suffix = this.suffix(ports, kept, why),
  ): void {
    const key = `${from.key}\u0000${to.key}\u0000${suffix}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { from: from.end, to: to.end, count: 0, ports, kept, ...(this.isByRules ? why : {}) };
      this.groups.set(key, group);
    }
    group.count += count;
  }

  workloads(pods: PodRef[]): Map<string, { end: ChangeEnd; pods: number }> {
    let byKey = this.ends.get(pods);
    if (!byKey) {
      byKey = new Map();
      for (const pod of pods) {
        const { end, key } = this.workload(pod);
        const entry = byKey.get(key);
        if (entry) entry.pods++;
        else byKey.set(key, { end, pods: 1 });
      }
      this.ends.set(pods, byKey);
    }
    return byKey;
  }

  /** A block's pairs, by the workloads at either end: the pods of each pair of workloads multiplied, less a pod with itself. */
  putBlock(block: ChangeBlock, ports: PortSet, kept: PortSet, why: Pick<ChangeGroup, 'before' | 'after'>): void {
    const self = new Map<string, number>();
    for (const pod of block.both ?? []) {
      const { key } = this.workload(pod);
      self.set(key, (self.get(key) ?? 0) + 1);
    }
    const suffix = this.suffix(ports, kept, why);
    const froms = [...this.workloads(block.from)];
    for (const [toKey, to] of this.workloads(block.to)) {
      for (const [fromKey, from] of froms) {
        const count = to.pods * from.pods - (toKey === fromKey ? (self.get(toKey) ?? 0) : 0);
        if (count > 0) this.put({ ...from, key: fromKey }, { ...to, key: toKey }, ports, kept, why, count, suffix);
      }
    }
  }

  sorted(): ChangeGroup[] {
    const labels = new Map<ChangeGroup, string>();
    for (const g of this.groups.values()) labels.set(g, `${endKey(g.to)} ${endKey(g.from)}`);
    return [...this.groups.values()].sort((a, b) => b.count - a.count || labels.get(a)!.localeCompare(labels.get(b)!));
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
    const end = { addresses: change.blocks };
    const addresses = { end, key: endKey(end) };
    const why = which === 'cut' ? { before: change.decision } : { after: change.decision };
    if (change.direction === 'ingress') grouper.put(addresses, pod, change.ports, emptyPortSet(), why);
    else grouper.put(pod, addresses, change.ports, emptyPortSet(), why);
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
