/**
 * The one diff engine: what a change does to reachability (the pod pairs and address blocks whose
 * allowed ports differ between two worlds, with the rules responsible on each side), grouped by
 * workload as the previews and diff show it (diff-groups.ts). The class machinery is in
 * diff-classes.ts, the addresses in diff-addresses.ts.
 */
import type { PodInfo, World } from './world.js';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import type { JointPod, PodGroup } from './diff-classes.js';
import {
  BlockCollector,
  Column,
  Decisions,
  destinationsFrom,
  GroupsByClass,
  groupPods,
  PortSetIds,
  SourceReader,
  sourcesInto,
  SourcesView,
} from './diff-classes.js';
import { layoutOf } from './layout.js';
import { diffAddresses, podsOfEither, portsInScope } from './diff-addresses.js';
import type { ClusterSnapshot, Decision, Direction, IpBlock, PodRef, PolicyRef, PortQuery, PortSet } from './model.js';
import { keyOf, refOf } from './model.js';
import { fullPortSet, isEmptyPortSet } from './ports.js';

export { groupChanges, groupPairs } from './diff-groups.js';
export type { ChangeEnd, ChangeGroup, PairPorts } from './diff-groups.js';

/** How a pair's allowed ports differ between two worlds, and why it was allowed on each side. */
interface PortsChange {
  before: PortSet;
  after: PortSet;
  /** Ports allowed before and denied after. */
  lost: PortSet;
  /** Ports denied before and allowed after. */
  gained: PortSet;
  /** Why the pair was allowed before (the policies and rules that admitted it); undefined when it was not. */
  decisionBefore?: Decision;
  /** Why it is allowed after; undefined when it is not. */
  decisionAfter?: Decision;
}

/** One pod pair whose allowed ports differ between two worlds. */
export interface ReachabilityChange extends PortsChange {
  from: PodRef;
  to: PodRef;
}

/** A pod's traffic with addresses outside the cluster that a change denies (or allows) on some ports. */
export interface AddressChange {
  pod: PodRef;
  /** `ingress`: the addresses are sources (they reach the pod); `egress`: destinations. */
  direction: Direction;
  /** The addresses, as few blocks as they take. */
  blocks: IpBlock[];
  /** The ports lost (in `cutAddresses`) or gained (in `openedAddresses`) for every one of them. */
  ports: PortSet;
  /**
   * Every port allowed for them before the change, and after it: one set is empty when the blocks
   * are only added or removed; with both non-empty the same blocks may be in both lists (ports lost
   * and ports gained).
   */
  before: PortSet;
  after: PortSet;
  /** Why the first block was admitted before (when it was), and after: the rules over all its ports, or the scope's port. */
  decisionBefore?: Decision;
  decisionAfter?: Decision;
}

/** Pairs that lose ports and pairs that gain ports (a pair may be in both), and the same for addresses. */
export interface ReachabilityDiff {
  cut: ReachabilityChange[];
  opened: ReachabilityChange[];
  cutAddresses: AddressChange[];
  openedAddresses: AddressChange[];
}

/** Which (source, destination) pairs a diff compares: who-can's filters. Default: every pair, and addresses. */
export interface DiffScope {
  /** Only these destination pods (of either world); addresses are then no destination. */
  targets?: PodRef[];
  /** Only these source pods (of either world); addresses are then no source. */
  sources?: PodRef[];
  /** Only this address block as the source: no pod is then a source. */
  sourceBlock?: IpBlock;
  /** Only this port; a port name resolves on each destination pod, in each world. */
  port?: PortQuery;
}

/**
 * Pod pairs whose ports change alike: every pod of `to` from every pod of `from`, a pod never with
 * itself (`count` leaves those pairs out). Every pair of the block has the same ports before and
 * after, and the same decision on each side (diff-classes.ts: Decisions), so one answer per world
 * stands for every pair.
 */
export interface ChangeBlock extends PortsChange {
  from: PodRef[];
  to: PodRef[];
  /** Pairs in the block: |from| x |to| less the pods at both ends. */
  count: number;
  /** Pods at both ends (their pairs with themselves are not in the block). */
  both?: PodRef[];
}

/** A diff as blocks of pod pairs (never one object per pair), and the pods' traffic with addresses. */
export interface BlockDiff {
  blocks: ChangeBlock[];
  cutAddresses: AddressChange[];
  openedAddresses: AddressChange[];
}

const NO_PODS: PodRef[] = [];

/**
 * The pods whose connections a change can touch, per side: `ingress`, the pods whose answers as
 * destinations may differ (their own labels, addresses or namespace labels changed, or a changed
 * policy selects them for ingress); `egress`, the same as sources (a changed policy selects them for
 * egress). A pair's answer reads the destination's ingress policies matched against the source and
 * the source's egress policies matched against the destination, so a pair with neither its
 * destination in `ingress` nor its source in `egress` has the same answer in both worlds.
 */
interface AffectedPods {
  ingress: PodRef[];
  egress: PodRef[];
}

/**
 * Compares reachability (all ports, or the scope's port) before and after a change, as blocks of pod
 * pairs: every pair with at least one end among `affected` (the pods whose connections the change
 * can touch: those changed, added or removed, those in a namespace whose labels change, those a
 * changed policy selects in either world; per side, AffectedPods), and between the affected pods and
 * addresses outside the cluster. Pods are grouped by their classes in both worlds, so each group pair
 * is compared once: the allowed source classes of each affected destination group (who-can's
 * engine), and the destination classes of each affected source group (reachable-from's), in both
 * worlds, as port set ids. The changed pairs around one group go into one block per distinct answer
 * (BlockCollector). A pod of one world only has no connection in the other; pairs outside the scope
 * are left out.
 */
export function diffBlocks(
  before: World,
  after: World,
  affected: PodRef[] | AffectedPods,
  scope: DiffScope = {},
): BlockDiff {
  const sides = Array.isArray(affected) ? { ingress: affected, egress: affected } : affected;
  const affectedIn = new Set(sides.ingress.map(keyOf));
  const affectedOut = new Set(sides.egress.map(keyOf));
  const targetKeys = scope.targets && new Set(scope.targets.map(keyOf));
  const sourceKeys = scope.sources && new Set(scope.sources.map(keyOf));
  const joint: JointPod[] = [];
  for (const [key, ref] of podsOfEither(before, after))
    joint.push({
      ref,
      was: before.podsByKey.get(key),
      now: after.podsByKey.get(key),
      isAffectedIn: affectedIn.has(key),
      isAffectedOut: affectedOut.has(key),
    });
  const { port } = scope;
  // A port name resolves on each destination pod, in each world.
  const portOn = (info: PodInfo | undefined) => (port && info ? portsInScope(fullPortSet(), port, info) : undefined);
  const ids = new PortSetIds();
  const targets = groupPods(
    joint.filter((p) => !targetKeys || targetKeys.has(keyOf(p.ref))),
    (p) => p.isAffectedIn,
    (p) => (port ? `${ids.id(portOn(p.was))} ${ids.id(portOn(p.now))}` : ''),
  );
  if (port) {
    const byRef = new Map(joint.map((p) => [p.ref, p]));
    for (const g of targets.groups) {
      const first = byRef.get(g.pods[0])!;
      g.portBefore = ids.id(portOn(first.was));
      g.portAfter = ids.id(portOn(first.now));
    }
  }
  const sources = groupPods(
    scope.sourceBlock ? [] : joint.filter((p) => !sourceKeys || sourceKeys.has(keyOf(p.ref))),
    (p) => p.isAffectedOut,
    () => '',
  );
  // Pods at both ends of a group pair: their pairs with themselves are no pairs.
  const both = new Map<number, PodRef[]>();
  const hasBoth = new Uint8Array(targets.groups.length);
  for (const [ref, t] of targets.groupOf) {
    const s = sources.groupOf.get(ref);
    if (s === undefined) continue;
    const key = t * sources.groups.length + s;
    const list = both.get(key);
    if (list) list.push(ref);
    else both.set(key, [ref]);
    hasBoth[t] = 1;
  }

  const collector = new BlockCollector(ids, [new Decisions(before), new Decisions(after)]);
  const compare = (t: PodGroup, s: PodGroup, was: number, now: number): void => {
    if (was === now && t.portBefore === t.portAfter) return;
    const wasInScope = ids.intersect(was, t.portBefore);
    const nowInScope = ids.intersect(now, t.portAfter);
    if (wasInScope === nowInScope) return;
    const self = hasBoth[t.id] === 1 ? (both.get(t.id * sources.groups.length + s.id) ?? NO_PODS) : NO_PODS;
    const count = t.pods.length * s.pods.length - self.length;
    if (count > 0) collector.add(s, t, wasInScope, nowInScope, self, count);
  };
  const comparison = { before, after, ids, collector, compare };
  const columns = [new Column(before.classes.length, ids), new Column(after.classes.length, ids)];
  const classes = Math.max(before.classes.length, after.classes.length);
  // Cluster tiers: each group's answers of both worlds as columns (who-can's into it, or reachable-from's
  // out of it), compared with the groups some column gives ports to: the others are denied in both.
  const compareColumns = (
    groups: PodGroup[],
    others: PodGroup[],
    end: 'to' | 'from',
    answer: typeof sourcesInto | typeof destinationsFrom,
  ) => {
    const byClass = new GroupsByClass(classes, others);
    for (const g of groups) {
      columns[0].fill(answer(before, g.classBefore));
      columns[1].fill(answer(after, g.classAfter));
      collector.start(end);
      for (const o of byClass.of(columns[0].classes, columns[1].classes)) {
        const [was, now] = [columns[0].at(o.classBefore), columns[1].at(o.classAfter)];
        if (end === 'to') compare(g, o, was, now);
        else compare(o, g, was, now);
      }
    }
  };
  // Into each affected destination group: every source group, from who-can's answers in both worlds.
  const affectedTargets = targets.groups.filter((t) => t.isAffected);
  if (affectedTargets.length > 0 && sources.groups.length > 0) {
    if (before.tiers || after.tiers) compareColumns(affectedTargets, sources.groups, 'to', sourcesInto);
    else compareIntoAffected(comparison, affectedTargets, sources.groups);
  }
  // Out of each affected source group: the destination groups not compared above.
  const unaffected = targets.groups.filter((t) => !t.isAffected);
  const affectedSources = sources.groups.filter((s) => s.isAffected);
  if (unaffected.length > 0 && affectedSources.length > 0) {
    if (before.tiers || after.tiers) compareColumns(affectedSources, unaffected, 'from', destinationsFrom);
    else compareIntoUnaffected(comparison, unaffected, affectedSources);
  }
  columns[0].fill(undefined);
  columns[1].fill(undefined);
  return { blocks: collector.close(), ...diffAddresses(before, after, affectedIn, affectedOut, scope) };
}

/** What both halves of the comparison share: the worlds, port set ids, and where a changed pair goes. */
interface Comparison {
  before: World;
  after: World;
  ids: PortSetIds;
  collector: BlockCollector;
  compare: (t: PodGroup, s: PodGroup, was: number, now: number) => void;
}

/**
 * Every source group against the affected targets, target by target (who-can's evaluator of each
 * world, over every pod), reading each group's bit in both worlds. When both label classes cut the
 * ports into the same atoms, a group that every atom's answer holds alike in both worlds has the same
 * ports in both and is passed over without asking them. NetworkPolicy v1 worlds only.
 */
function compareIntoAffected(
  { before, after, ids, collector, compare }: Comparison,
  targets: PodGroup[],
  sources: PodGroup[],
): void {
  const readers = [before, after].map((world) => new SourceReader(world, layoutOf(world)));
  const bitsBefore = Int32Array.from(sources, (s) => readers[0].bitOf(s.classBefore));
  const bitsAfter = Int32Array.from(sources, (s) => readers[1].bitOf(s.classAfter));
  const atoms: Int32Array[][] = [[], []];
  for (const t of targets) {
    readers[0].target(t.classBefore);
    readers[1].target(t.classAfter);
    const [was, now] = [readers[0].reached, readers[1].reached];
    // Each atom's answer in both worlds, when they can be compared atom by atom.
    const atomwise = was && now && readers[0].atomsKey === readers[1].atomsKey && t.portBefore === t.portAfter;
    if (atomwise) for (let w = 0; w < 2; w++) atoms[w] = readers[w].atomWords();
    collector.start('to');
    for (let g = 0; g < sources.length; g++) {
      const b0 = bitsBefore[g];
      const b1 = bitsAfter[g];
      const isIn0 = b0 >= 0 && was !== undefined && was.has(b0);
      const isIn1 = b1 >= 0 && now !== undefined && now.has(b1);
      if (!isIn0 && !isIn1) continue;
      if (atomwise && isIn0 && isIn1 && isHeldAlike(atoms[0], b0, atoms[1], b1)) continue;
      compare(t, sources[g], isIn0 ? ids.id(readers[0].ports(b0)) : 0, isIn1 ? ids.id(readers[1].ports(b1)) : 0);
    }
  }
}

/** Whether every atom's answer holds the bit `x` of one world exactly when it holds `y` of the other. */
function isHeldAlike(xs: Int32Array[], x: number, ys: Int32Array[], y: number): boolean {
  for (let a = 0; a < xs.length; a++)
    if (((xs[a][x >>> 5] >>> (x & 31)) & 1) !== ((ys[a][y >>> 5] >>> (y & 31)) & 1)) return false;
  return true;
}

/**
 * The affected sources against the unaffected targets, target by target in label-class order of both
 * worlds: who-can's evaluator over the affected sources' bits only (SourcesView), its label-class part
 * once per label class, and a target's answers reused for the next one that cannot tell them apart.
 * The same answers as each source's destinations (reachable-from's) without a pass over every pod per
 * source. NetworkPolicy v1 worlds only.
 */
function compareIntoUnaffected(
  { before, after, ids, collector, compare }: Comparison,
  targets: PodGroup[],
  sources: PodGroup[],
): void {
  const readers = [before, after].map((world, w) => {
    const layout = layoutOf(world);
    const bits = Int32Array.from(sources, (s) => {
      const classId = w === 0 ? s.classBefore : s.classAfter;
      return classId < 0 ? -1 : layout.start[classId];
    });
    return new SourceReader(world, new SourcesView(layout, bits));
  });
  const labelClassOf = (world: World, classId: number) => (classId < 0 ? -1 : world.classes[classId].labelClass);
  const ordered = targets
    .map((t, index) => ({
      t,
      index,
      lcBefore: labelClassOf(before, t.classBefore),
      lcAfter: labelClassOf(after, t.classAfter),
    }))
    .sort((x, y) => x.lcBefore - y.lcBefore || x.lcAfter - y.lcAfter || x.t.id - y.t.id);
  // Per target, the sources whose ports differ: (source index, port set id before, after), one list
  // for the targets that reuse an answer.
  const foundOf: number[][] = [];
  let found: number[] = [];
  let isFresh = false;
  for (const { t, index } of ordered) {
    const changedBefore = readers[0].target(t.classBefore);
    const changedAfter = readers[1].target(t.classAfter);
    // Every source is compared when the scope's port differs on the target (the ports may then differ).
    const isScoped = t.portBefore !== t.portAfter;
    if (changedBefore || changedAfter || isScoped || !isFresh) {
      found = differingSources(readers[0], readers[1], sources.length, ids, isScoped);
      isFresh = !isScoped;
    }
    foundOf[index] = found;
  }
  // Then compared source by source, each source's targets in their order (counted, then placed):
  // blocks around a source, as many pairs each as around a target of one pod.
  const starts = new Int32Array(sources.length + 1);
  for (const list of foundOf) for (let k = 0; k < list.length; k += 3) starts[list[k] + 1]++;
  for (let i = 0; i < sources.length; i++) starts[i + 1] += starts[i];
  const placed = starts.slice(0, sources.length);
  const entries = new Int32Array(3 * starts[sources.length]);
  foundOf.forEach((list, index) => {
    for (let k = 0; k < list.length; k += 3) {
      const at = 3 * placed[list[k]]++;
      entries[at] = index;
      entries[at + 1] = list[k + 1];
      entries[at + 2] = list[k + 2];
    }
  });
  sources.forEach((s, i) => {
    collector.start('from');
    for (let e = 3 * starts[i]; e < 3 * starts[i + 1]; e += 3)
      compare(targets[entries[e]], s, entries[e + 1], entries[e + 2]);
  });
}

/**
 * The sources whose ports differ between the readers' last targets, as (source index, port set id
 * before, after); with `all`, every source. When both label classes cut the ports into the same atoms,
 * only the sources some atom's answer differs on can differ, found a word of 32 sources at a time.
 */
function differingSources(
  before: SourceReader,
  after: SourceReader,
  count: number,
  ids: PortSetIds,
  all: boolean,
): number[] {
  const found: number[] = [];
  const add = (i: number) => {
    const was = ids.id(before.ports(i));
    const now = ids.id(after.ports(i));
    if (all || was !== now) found.push(i, was, now);
  };
  if (all) {
    for (let i = 0; i < count; i++) add(i);
    return found;
  }
  const words = new Int32Array((count + 31) >>> 5);
  const wasReached = before.reached;
  const nowReached = after.reached;
  if (wasReached && nowReached && before.atomsKey === after.atomsKey) {
    const atoms = before.evaluator.atoms.length;
    for (let a = 0; a < atoms; a++) {
      const x = before.evaluator.atomSources(a).words;
      const y = after.evaluator.atomSources(a).words;
      for (let w = 0; w < words.length; w++) words[w] |= x[w] ^ y[w];
    }
  } else {
    for (const reached of [wasReached, nowReached])
      if (reached) for (let w = 0; w < words.length; w++) words[w] |= reached.words[w];
  }
  for (let w = 0; w < words.length; w++)
    for (let word = words[w]; word !== 0; word &= word - 1) add((w << 5) + 31 - Math.clz32(word & -word));
  return found;
}

/** The pod pairs of blocks, one at a time, each with its block's ports and decisions. */
export function* changesOf(blocks: readonly ChangeBlock[]): Generator<ReachabilityChange> {
  for (const block of blocks) {
    const { before, after, lost, gained, decisionBefore, decisionAfter } = block;
    const change = { before, after, lost, gained, decisionBefore, decisionAfter };
    for (const to of block.to) for (const from of block.from) if (from !== to) yield { from, to, ...change };
  }
}

/**
 * Compares reachability before and after a change (see diffBlocks), pair by pair: what the previews
 * list. Pairs losing ports are in `cut`, pairs gaining ports in `opened` (a pair may be in both), each
 * sorted by destination, then source.
 */
export function diffReachability(
  before: World,
  after: World,
  affected: PodRef[],
  scope: DiffScope = {},
): ReachabilityDiff {
  const { blocks, cutAddresses, openedAddresses } = diffBlocks(before, after, affected, scope);
  const diff: ReachabilityDiff = { cut: [], opened: [], cutAddresses, openedAddresses };
  for (const change of changesOf(blocks)) {
    if (!isEmptyPortSet(change.lost)) diff.cut.push(change);
    if (!isEmptyPortSet(change.gained)) diff.opened.push(change);
  }
  const order = (x: ReachabilityChange, y: ReachabilityChange) =>
    `${keyOf(x.to)} ${keyOf(x.from)}`.localeCompare(`${keyOf(y.to)} ${keyOf(y.from)}`);
  diff.cut.sort(order);
  diff.opened.sort(order);
  return diff;
}

/**
 * The pods that the policies named select in `world` (a policy it left out as invalid selects none),
 * for one direction (the policies that apply to it) or both: with both worlds of a change, the pods
 * whose ingress or egress the change can touch.
 */
export function podsSelectedBy(world: World, refs: readonly PolicyRef[], direction?: Direction): PodRef[] {
  const wanted = new Set(refs.map(keyOf));
  // A policy applies to a direction when it has that side (policyTypes, as compile.ts infers them).
  const policies = world.policies.filter((p) => wanted.has(keyOf(p.ref)) && (!direction || p[direction] !== undefined));
  return world.pods
    .filter((pod) =>
      policies.some(
        (p) => p.ref.namespace === pod.ref.namespace && p.podSelector.matches(pod.pod.metadata?.labels ?? {}),
      ),
    )
    .map((pod) => pod.ref);
}

/** The snapshot after a change: policies removed (by namespace/name) and added, everything else as is. */
export function withPolicies(
  snapshot: ClusterSnapshot,
  change: { add?: V1NetworkPolicy[]; remove?: PolicyRef[] },
): ClusterSnapshot {
  const gone = new Set([...(change.remove ?? []), ...(change.add ?? []).map(refOf)].map(keyOf));
  return {
    ...snapshot,
    policies: [...snapshot.policies.filter((p) => !gone.has(keyOf(refOf(p)))), ...(change.add ?? [])],
  };
}
