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
  intersectPortSets,
  isEmptyPortSet,
  portSetOf,
  resolveNamedPort,
  subtractPortSets,
} from './ports.js';
import { whoCan } from './who-can.js';
import { pairsOf } from './answer.js';

/** One pod pair whose allowed ports differ between two worlds. */
export interface ReachabilityChange {
  from: PodRef;
  to: PodRef;
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

/** An allowed pair of one world, and how to ask why. */
interface Allowed {
  from: PodRef;
  to: PodRef;
  ports: PortSet;
  decide: () => Decision;
}

function allowedPorts(world: World, targets: PodRef[], sources: PodRef[], into: Map<string, Allowed>): void {
  if (targets.length === 0 || sources.length === 0) return;
  // Only the ports are compared: a decision is computed only for a pair that changes.
  const answer = whoCan(world, { targets, sources });
  // who-can's pairs: the subject is the destination, the peer the source.
  for (const { subject: to, peer: from, group } of pairsOf(answer, 'allowed')) {
    if (group.ports)
      into.set(`${keyOf(from)} ${keyOf(to)}`, { from, to, ports: group.ports, decide: () => answer.decide(group) });
  }
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

/**
 * Compares reachability (all ports, or the scope's port) before and after a change: pod to pod, for
 * every pair with at least one end among `affected` (the pods whose connections the change can touch:
 * those changed, added or removed, those in a namespace whose labels change, those a changed policy
 * selects in either world), and between the affected pods and addresses outside the cluster. A pod
 * of one world only has no connection in the other; pairs outside the scope are left out.
 */
export function diffReachability(
  before: World,
  after: World,
  affected: PodRef[],
  scope: DiffScope = {},
): ReachabilityDiff {
  const affectedKeys = new Set(affected.map(keyOf));
  const targetKeys = scope.targets && new Set(scope.targets.map(keyOf));
  const sourceKeys = scope.sources && new Set(scope.sources.map(keyOf));
  const collect = (world: World) => {
    const all = world.pods.map((p) => p.ref);
    const targets = targetKeys ? all.filter((p) => targetKeys.has(keyOf(p))) : all;
    const sources = scope.sourceBlock ? [] : sourceKeys ? all.filter((p) => sourceKeys.has(keyOf(p))) : all;
    const out = new Map<string, Allowed>();
    allowedPorts(
      world,
      targets.filter((p) => affectedKeys.has(keyOf(p))),
      sources,
      out,
    );
    allowedPorts(
      world,
      targets.filter((p) => !affectedKeys.has(keyOf(p))),
      sources.filter((p) => affectedKeys.has(keyOf(p))),
      out,
    );
    return out;
  };
  const was = collect(before);
  const now = collect(after);
  const diff: ReachabilityDiff = { cut: [], opened: [], cutAddresses: [], openedAddresses: [] };
  for (const key of new Set([...was.keys(), ...now.keys()])) {
    const b = was.get(key);
    const a = now.get(key);
    const pair = (a ?? b)!;
    const destinationKey = keyOf(pair.to);
    const beforePorts = b ? portsInScope(b.ports, scope.port, before.podsByKey.get(destinationKey)) : emptyPortSet();
    const afterPorts = a ? portsInScope(a.ports, scope.port, after.podsByKey.get(destinationKey)) : emptyPortSet();
    const lost = subtractPortSets(beforePorts, afterPorts);
    const gained = subtractPortSets(afterPorts, beforePorts);
    if (isEmptyPortSet(lost) && isEmptyPortSet(gained)) continue;
    const change: ReachabilityChange = {
      from: pair.from,
      to: pair.to,
      before: beforePorts,
      after: afterPorts,
      lost,
      gained,
    };
    if (b && !isEmptyPortSet(beforePorts)) change.decisionBefore = b.decide();
    if (a && !isEmptyPortSet(afterPorts)) change.decisionAfter = a.decide();
    if (!isEmptyPortSet(lost)) diff.cut.push(change);
    if (!isEmptyPortSet(gained)) diff.opened.push(change);
  }
  const order = (x: ReachabilityChange, y: ReachabilityChange) =>
    `${keyOf(x.to)} ${keyOf(x.from)}`.localeCompare(`${keyOf(y.to)} ${keyOf(y.from)}`);
  diff.cut.sort(order);
  diff.opened.sort(order);
  const block = scope.sourceBlock && addressesOfBlock(compileIpBlock(scope.sourceBlock));
  for (const [key, ref] of podsOfEither(before, after)) {
    if (!affectedKeys.has(key)) continue;
    const was = before.podsByKey.get(key);
    const now = after.podsByKey.get(key);
    for (const direction of ['ingress', 'egress'] as const) {
      // Addresses are sources (ingress) unless the sources are pods; destinations (egress) unless the targets are.
      const inScope =
        direction === 'ingress'
          ? !sourceKeys && (!targetKeys || targetKeys.has(key))
          : !targetKeys && !block && (!sourceKeys || sourceKeys.has(key));
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
 * The pods that the policies named select in `world` (a policy it left out as invalid selects none):
 * with both worlds of a change, the pods whose ingress or egress the change can touch.
 */
export function podsSelectedBy(world: World, refs: readonly PolicyRef[]): PodRef[] {
  const wanted = new Set(refs.map(keyOf));
  const policies = world.policies.filter((p) => wanted.has(keyOf(p.ref)));
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
  ): void {
    const rules = this.isByRules ? [rulesKey(why.before), rulesKey(why.after)] : [];
    const key = [endKey(from), endKey(to), portSetKey(ports), portSetKey(kept), ...rules].join('\u0000');
    const group = this.groups.get(key) ?? { from, to, count: 0, ports, kept, ...(this.isByRules ? why : {}) };
    group.count++;
    this.groups.set(key, group);
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
  diff: ReachabilityDiff,
  which: 'cut' | 'opened',
  opts: { byRules?: boolean } = {},
): ChangeGroup[] {
  const grouper = new Grouper([worlds].flat(), opts.byRules === true);
  for (const change of which === 'cut' ? diff.cut : diff.opened) {
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
