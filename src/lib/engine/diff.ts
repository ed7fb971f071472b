/** What a change of policies does to reachability: the world after it, and the pod-to-pod connections it opens and cuts. */
import type { World } from './world.js';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import type { AddressPorts } from './addresses.js';
import { addressChanges } from './addresses.js';
import { blocksOf } from './ipblock.js';
import type { ClusterSnapshot, Direction, IpBlock, PodRef, PolicyRef, PortSet } from './model.js';
import { keyOf, refOf } from './model.js';
import { workloadOf } from './targets.js';
import { emptyPortSet, isEmptyPortSet, subtractPortSets } from './ports.js';
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
}

/** Pairs that lose ports and pairs that gain ports (a pair may be in both), and the same for addresses. */
export interface ReachabilityDiff {
  cut: ReachabilityChange[];
  opened: ReachabilityChange[];
  cutAddresses: AddressChange[];
  openedAddresses: AddressChange[];
}

function allowedPorts(
  world: World,
  targets: PodRef[],
  sources: PodRef[],
): Map<string, { from: PodRef; to: PodRef; ports: PortSet }> {
  const out = new Map<string, { from: PodRef; to: PodRef; ports: PortSet }>();
  if (targets.length === 0 || sources.length === 0) return out;
  // Only the ports are compared: no decision is computed.
  // who-can's pairs: the subject is the destination, the peer the source.
  for (const { subject: to, peer: from, group } of pairsOf(whoCan(world, { targets, sources }), 'allowed')) {
    if (group.ports) out.set(`${keyOf(from)} ${keyOf(to)}`, { from, to, ports: group.ports });
  }
  return out;
}

/**
 * Compares reachability (all ports) before and after a change: pod to pod, for every pair with at least
 * one end among `affected` (the pods whose ingress or egress the change can touch), and between the
 * affected pods and addresses outside the cluster. Both worlds must hold the same pods; pods are taken
 * from `after`.
 */
export function diffReachability(before: World, after: World, affected: PodRef[]): ReachabilityDiff {
  const affectedKeys = new Set(affected.map(keyOf));
  const all = after.pods.map((p) => p.ref);
  const others = all.filter((p) => !affectedKeys.has(keyOf(p)));
  const inScope = all.filter((p) => affectedKeys.has(keyOf(p)));
  const collect = (world: World) =>
    new Map([...allowedPorts(world, inScope, all), ...allowedPorts(world, others, inScope)]);
  const was = collect(before);
  const now = collect(after);
  const diff: ReachabilityDiff = { cut: [], opened: [], cutAddresses: [], openedAddresses: [] };
  for (const key of new Set([...was.keys(), ...now.keys()])) {
    const b = was.get(key);
    const a = now.get(key);
    const pair = (a ?? b)!;
    const beforePorts = b?.ports ?? emptyPortSet();
    const afterPorts = a?.ports ?? emptyPortSet();
    const change: ReachabilityChange = {
      from: pair.from,
      to: pair.to,
      before: beforePorts,
      after: afterPorts,
      lost: subtractPortSets(beforePorts, afterPorts),
      gained: subtractPortSets(afterPorts, beforePorts),
    };
    if (!isEmptyPortSet(change.lost)) diff.cut.push(change);
    if (!isEmptyPortSet(change.gained)) diff.opened.push(change);
  }
  const order = (x: ReachabilityChange, y: ReachabilityChange) =>
    `${keyOf(x.to)} ${keyOf(x.from)}`.localeCompare(`${keyOf(y.to)} ${keyOf(y.from)}`);
  diff.cut.sort(order);
  diff.opened.sort(order);
  for (const ref of inScope) {
    const was = before.podsByKey.get(keyOf(ref));
    const now = after.podsByKey.get(keyOf(ref));
    if (!was || !now) continue;
    for (const direction of ['ingress', 'egress'] as const) {
      const { lost, gained } = addressChanges(before, was, after, now, direction);
      const change = (e: AddressPorts): AddressChange => ({
        pod: ref,
        direction,
        blocks: blocksOf(e.addresses),
        ports: e.ports,
      });
      diff.cutAddresses.push(...lost.map(change));
      diff.openedAddresses.push(...gained.map(change));
    }
  }
  return diff;
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

  constructor(private readonly world: World) {}

  workload(ref: PodRef): ChangeEnd {
    const pod = this.world.podsByKey.get(keyOf(ref))?.pod;
    return { namespace: ref.namespace, ...(pod ? workloadOf(pod) : { kind: 'Pod', name: ref.name }) };
  }

  put(from: ChangeEnd, to: ChangeEnd, ports: PortSet, kept: PortSet): void {
    const key = [endKey(from), endKey(to), portSetKey(ports), portSetKey(kept)].join('\u0000');
    const group = this.groups.get(key) ?? { from, to, count: 0, ports, kept };
    group.count++;
    this.groups.set(key, group);
  }

  sorted(): ChangeGroup[] {
    const label = (g: ChangeGroup) => `${endKey(g.to)} ${endKey(g.from)}`;
    return [...this.groups.values()].sort((a, b) => b.count - a.count || label(a).localeCompare(label(b)));
  }
}

/**
 * Groups the changes of one kind (`cut` or `opened`) by the workloads (workloadOf) or addresses at
 * either end and their ports, largest group first, then by the names at the ends.
 */
export function groupChanges(world: World, diff: ReachabilityDiff, which: 'cut' | 'opened'): ChangeGroup[] {
  const grouper = new Grouper(world);
  for (const change of which === 'cut' ? diff.cut : diff.opened) {
    const [ports, kept] = which === 'cut' ? [change.lost, change.after] : [change.gained, change.before];
    grouper.put(grouper.workload(change.from), grouper.workload(change.to), ports, kept);
  }
  for (const change of which === 'cut' ? diff.cutAddresses : diff.openedAddresses) {
    const pod = grouper.workload(change.pod);
    const addresses = { addresses: change.blocks };
    if (change.direction === 'ingress') grouper.put(addresses, pod, change.ports, emptyPortSet());
    else grouper.put(pod, addresses, change.ports, emptyPortSet());
  }
  return grouper.sorted();
}

/** Pod pairs grouped by the workloads at either end and their ports, largest group first. */
export function groupPairs(world: World, pairs: readonly PairPorts[]): ChangeGroup[] {
  const grouper = new Grouper(world);
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
