/**
 * The one diff engine: what a change does to reachability (the pod pairs and address blocks whose
 * allowed ports differ between two worlds, with the rules responsible on each side), grouped by
 * workload as the previews and diff show it.
 */
import type { PodInfo, World } from './world.js';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import type { AddressPorts } from './addresses.js';
import { addressChanges, addressConnection, externalConnections } from './addresses.js';
import {
  addressesOfBlock,
  blocksOf,
  compileIpBlock,
  isEmptyAddressSet,
  subtractAddresses,
  unionAddresses,
} from './ipblock.js';
import type {
  ClusterSnapshot,
  Decision,
  Direction,
  IpBlock,
  PodRef,
  PolicyRef,
  PortQuery,
  PortSet,
  Protocol,
} from './model.js';
import { keyOf, PROTOCOLS, refOf } from './model.js';
import { workloadOf } from './targets.js';
import {
  emptyPortSet,
  fullPortSet,
  intersectPortSets,
  isEmptyPortSet,
  portSetOf,
  resolveNamedPort,
  subtractPortSets,
} from './ports.js';
import { analysePair, decideOnAllPorts } from './evaluate.js';
import { allowedSourceClasses } from './matrix.js';
import { allowedDestinations } from './outbound.js';
import { tierSourceClasses } from './tier-matrix.js';

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
  /** Why the first block was admitted on the first of the ports (before a cut, after an opening). */
  decision?: Decision;
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
 * itself (`count` leaves those pairs out). The pods of each end are alike in both worlds (one pod
 * class before, one after), so one answer per world stands for every pair.
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

/** The ports of `ports` that the scope's port is on `destination` (a name resolves on the pod); all without one. */
function portsInScope(ports: PortSet, port: PortQuery | undefined, destination: PodInfo | undefined): PortSet {
  if (!port) return ports;
  const number =
    typeof port.port === 'number'
      ? port.port
      : destination && resolveNamedPort(destination.pod, port.port, port.protocol);
  if (number === undefined) return emptyPortSet();
  return intersectPortSets(ports, portSetOf(port.protocol, number, number));
}

/** Every pod of either world, once, by key (the after-world's copy first). */
function podsOfEither(before: World, after: World): Map<string, PodRef> {
  const pods = new Map<string, PodRef>();
  for (const world of [after, before])
    for (const p of world.pods) if (!pods.has(keyOf(p.ref))) pods.set(keyOf(p.ref), p.ref);
  return pods;
}

/** A pod of either world: its class in each (-1: not in that world), and whether the change can touch it. */
interface JointPod {
  ref: PodRef;
  was?: PodInfo;
  now?: PodInfo;
  /** The change can touch what reaches the pod (ingress), what it reaches (egress). */
  isAffectedIn: boolean;
  isAffectedOut: boolean;
}

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

/** Pods alike in both worlds at one end of the pairs: same class before, same class after, same scope port. */
interface PodGroup {
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
function groupPods(
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
class PortSetIds {
  private readonly byKey = new Map<string, number>();
  private readonly ids = new Map<PortSet, number>();
  /** Id -> a port set with it. */
  readonly sets: PortSet[] = [emptyPortSet()];
  /** (id, scope port id) -> id of their intersection. */
  private readonly within = new Map<number, number>();

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
class Column {
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
}

/** The source classes allowed into a class, with their ports (cluster tiers: their own evaluator). */
function sourcesInto(world: World, classId: number) {
  if (classId < 0) return undefined;
  const cls = world.classes[classId];
  return world.tiers ? tierSourceClasses(world, cls) : allowedSourceClasses(world, cls);
}

/** The destination classes a class may reach, with their ports. */
function destinationsFrom(world: World, classId: number) {
  return classId < 0 ? undefined : allowedDestinations(world, world.classes[classId]);
}

/**
 * Compares reachability (all ports, or the scope's port) before and after a change, as blocks of pod
 * pairs: every pair with at least one end among `affected` (the pods whose connections the change
 * can touch: those changed, added or removed, those in a namespace whose labels change, those a
 * changed policy selects in either world; per side, AffectedPods), and between the affected pods and
 * addresses outside the cluster. Pods are grouped by their classes in both worlds, so each group pair is compared once:
 * the allowed source classes of each affected destination group (who-can's engine), and the
 * destination classes of each affected source group (reachable-from's), in both worlds. A pod of one
 * world only has no connection in the other; pairs outside the scope are left out.
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
  for (const [ref, t] of targets.groupOf) {
    const s = sources.groupOf.get(ref);
    if (s === undefined) continue;
    const key = t * sources.groups.length + s;
    const list = both.get(key);
    if (list) list.push(ref);
    else both.set(key, [ref]);
  }

  const blocks: ChangeBlock[] = [];
  const decisions = [new Map<number, Decision>(), new Map<number, Decision>()];
  const decide = (which: 0 | 1, world: World, source: number, target: number): Decision => {
    const key = source * world.classes.length + target;
    let decision = decisions[which].get(key);
    if (!decision) {
      decision = decideOnAllPorts(analysePair(world, world.classes[source], world.classes[target])).decision;
      decisions[which].set(key, decision);
    }
    return decision;
  };
  const compare = (t: PodGroup, s: PodGroup, was: number, now: number): void => {
    if (was === now && t.portBefore === t.portAfter) return;
    const [wasInScope, nowInScope] = [ids.intersect(was, t.portBefore), ids.intersect(now, t.portAfter)];
    if (wasInScope === nowInScope) return;
    const [beforePorts, afterPorts] = [ids.sets[wasInScope], ids.sets[nowInScope]];
    const self = both.get(t.id * sources.groups.length + s.id) ?? [];
    const count = t.pods.length * s.pods.length - self.length;
    if (count === 0) return;
    const block: ChangeBlock = {
      from: s.pods,
      to: t.pods,
      count,
      ...(self.length > 0 ? { both: self } : {}),
      before: beforePorts,
      after: afterPorts,
      lost: subtractPortSets(beforePorts, afterPorts),
      gained: subtractPortSets(afterPorts, beforePorts),
    };
    if (!isEmptyPortSet(beforePorts)) block.decisionBefore = decide(0, before, s.classBefore, t.classBefore);
    if (!isEmptyPortSet(afterPorts)) block.decisionAfter = decide(1, after, s.classAfter, t.classAfter);
    blocks.push(block);
  };
  // Into each affected destination group: every source group, from who-can's columns of both worlds.
  const columns = [new Column(before.classes.length, ids), new Column(after.classes.length, ids)];
  for (const t of targets.groups) {
    if (!t.isAffected || sources.groups.length === 0) continue;
    columns[0].fill(sourcesInto(before, t.classBefore));
    columns[1].fill(sourcesInto(after, t.classAfter));
    for (const s of sources.groups) compare(t, s, columns[0].at(s.classBefore), columns[1].at(s.classAfter));
  }
  // Out of each affected source group: the destination groups not compared above.
  const unaffectedTargets = targets.groups.filter((t) => !t.isAffected);
  for (const s of sources.groups) {
    if (!s.isAffected || unaffectedTargets.length === 0) continue;
    columns[0].fill(destinationsFrom(before, s.classBefore));
    columns[1].fill(destinationsFrom(after, s.classAfter));
    for (const t of unaffectedTargets) compare(t, s, columns[0].at(t.classBefore), columns[1].at(t.classAfter));
  }
  columns[0].fill(undefined);
  columns[1].fill(undefined);
  return { blocks, ...diffAddresses(before, after, affectedIn, affectedOut, scope) };
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

/** What a change does to the affected pods' traffic with addresses outside the cluster, within the scope. */
function diffAddresses(
  before: World,
  after: World,
  affectedIn: Set<string>,
  affectedOut: Set<string>,
  scope: DiffScope,
): Pick<BlockDiff, 'cutAddresses' | 'openedAddresses'> {
  const targetKeys = scope.targets && new Set(scope.targets.map(keyOf));
  const sourceKeys = scope.sources && new Set(scope.sources.map(keyOf));
  const diff: Pick<BlockDiff, 'cutAddresses' | 'openedAddresses'> = { cutAddresses: [], openedAddresses: [] };
  const block = scope.sourceBlock && addressesOfBlock(compileIpBlock(scope.sourceBlock));
  for (const [key, ref] of podsOfEither(before, after)) {
    if (!affectedIn.has(key) && !affectedOut.has(key)) continue;
    const was = before.podsByKey.get(key);
    const now = after.podsByKey.get(key);
    for (const direction of ['ingress', 'egress'] as const) {
      // Addresses are sources (ingress) unless the sources are pods; destinations (egress) unless the targets are.
      const inScope =
        direction === 'ingress'
          ? affectedIn.has(key) && !sourceKeys && (!targetKeys || targetKeys.has(key))
          : affectedOut.has(key) && !targetKeys && !block && (!sourceKeys || sourceKeys.has(key));
      if (!inScope) continue;
      const { lost, gained } = addressChangesOf(before, was, after, now, direction);
      const change = (e: AddressPorts, world: World, pod: PodInfo | undefined): AddressChange[] => {
        const addresses = block ? subtractAddresses(e.addresses, subtractAddresses(e.addresses, block)) : e.addresses;
        // A port name resolves on the destination: the pod for ingress; an address has none.
        const ports = portsInScope(e.ports, scope.port, direction === 'ingress' ? (now ?? was) : undefined);
        if (isEmptyAddressSet(addresses) || isEmptyPortSet(ports) || !pod) return [];
        const blocks = blocksOf(addresses);
        const point = firstPort(ports);
        const decision = addressConnection(world, pod, blocks[0], direction, point).decision;
        return [{ pod: ref, direction, blocks, ports, ...(decision.allowed ? { decision } : {}) }];
      };
      diff.cutAddresses.push(...lost.flatMap((e) => change(e, before, was)));
      diff.openedAddresses.push(...gained.flatMap((e) => change(e, after, now)));
    }
  }
  return diff;
}

/** The lowest port of a non-empty port set, with its protocol. */
function firstPort(ports: PortSet): { port: number; protocol: Protocol } {
  const protocol = PROTOCOLS.find((p) => ports[p].length > 0)!;
  return { port: ports[protocol][0].from, protocol };
}

/** What a change does to a pod's traffic with addresses; a pod of one world only has all of it lost, or gained. */
function addressChangesOf(
  before: World,
  was: PodInfo | undefined,
  after: World,
  now: PodInfo | undefined,
  direction: Direction,
): { lost: AddressPorts[]; gained: AddressPorts[] } {
  if (was && now) return addressChanges(before, was, after, now, direction);
  // Every address the pod's rules admit, the blocks of one port set as one entry (as addressChanges gives them).
  const all = (world: World, pod: PodInfo): AddressPorts[] => {
    const byPorts = new Map<string, AddressPorts>();
    for (const c of externalConnections(world, pod, direction)) {
      const peer = direction === 'ingress' ? c.from : c.to;
      if (!('ipBlock' in peer) || !c.ports) continue;
      const addresses = addressesOfBlock(compileIpBlock(peer.ipBlock));
      const key = portSetKey(c.ports);
      const entry = byPorts.get(key);
      byPorts.set(key, { addresses: entry ? unionAddresses(entry.addresses, addresses) : addresses, ports: c.ports });
    }
    return [...byPorts.values()];
  };
  return { lost: was ? all(before, was) : [], gained: now ? all(after, now) : [] };
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
  private readonly groups = new Map<string, ChangeGroup>();

  constructor(
    private readonly worlds: World[],
    /** Whether groups also tell apart the rules that allowed them (diff shows them; the previews do not). */
    private readonly isByRules = false,
  ) {}

  workload(ref: PodRef): ChangeEnd {
    const key = keyOf(ref);
    const pod = this.worlds.map((w) => w.podsByKey.get(key)?.pod).find((p) => p !== undefined);
    return { namespace: ref.namespace, ...(pod ? workloadOf(pod) : { kind: 'Pod', name: ref.name }) };
  }

  put(
    from: ChangeEnd,
    to: ChangeEnd,
    ports: PortSet,
    kept: PortSet,
    why: Pick<ChangeGroup, 'before' | 'after'> = {},
    count = 1,
  ): void {
    const rules = this.isByRules ? [rulesKey(why.before), rulesKey(why.after)] : [];
    const key = [endKey(from), endKey(to), portSetKey(ports), portSetKey(kept), ...rules].join('\u0000');
    const group = this.groups.get(key) ?? { from, to, count: 0, ports, kept, ...(this.isByRules ? why : {}) };
    group.count += count;
    this.groups.set(key, group);
  }

  /** The pods of one end of blocks by workload, with how many each has (once per array: blocks share them). */
  private readonly ends = new Map<PodRef[], Map<string, { end: ChangeEnd; pods: number }>>();

  workloads(pods: PodRef[]): Map<string, { end: ChangeEnd; pods: number }> {
    let byKey = this.ends.get(pods);
    if (!byKey) {
      byKey = new Map();
      for (const pod of pods) {
        const end = this.workload(pod);
        const key = endKey(end);
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
      const key = endKey(this.workload(pod));
      self.set(key, (self.get(key) ?? 0) + 1);
    }
    for (const [toKey, to] of this.workloads(block.to)) {
      for (const [fromKey, from] of this.workloads(block.from)) {
        const count = to.pods * from.pods - (toKey === fromKey ? (self.get(toKey) ?? 0) : 0);
        if (count > 0) this.put(from.end, to.end, ports, kept, why, count);
      }
    }
  }

  sorted(): ChangeGroup[] {
    const label = (g: ChangeGroup) => `${endKey(g.to)} ${endKey(g.from)}`;
    return [...this.groups.values()].sort((a, b) => b.count - a.count || label(a).localeCompare(label(b)));
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
    const addresses = { addresses: change.blocks };
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

function portSetKey(ports: PortSet): string {
  return JSON.stringify(ports);
}

/** The rules that allowed a connection, on both sides, as a key; '-' when it was not allowed. */
function rulesKey(decision: Decision | undefined): string {
  if (!decision) return '-';
  const sides = [decision.ingress, ...(decision.egress.applies ? [decision.egress] : [])];
  return sides
    .map((side) => side.allowedBy.map((r) => `${keyOf(r.policy)} ${r.direction}[${r.index}]`).join(','))
    .join(';');
}
