/** What a change of policies does to reachability: the world after it, and the pod-to-pod connections it opens and cuts. */
import type { World } from './world.js';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import type { ClusterSnapshot, PodRef, PolicyRef, PortSet } from './model.js';
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

/** Pairs that lose ports and pairs that gain ports; a pair may be in both. */
export interface ReachabilityDiff {
  cut: ReachabilityChange[];
  opened: ReachabilityChange[];
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
 * Compares pod-to-pod reachability (all ports) before and after a change, for every pair with at least
 * one end among `affected` (the pods whose ingress or egress the change can touch). Both worlds must hold
 * the same pods; pods are taken from `after`.
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
  const diff: ReachabilityDiff = { cut: [], opened: [] };
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
  return diff;
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

/** Connections grouped by source and destination workload (namespace, kind, name), largest first. */
export interface ChangeGroup {
  from: { namespace: string; kind: string; name: string };
  to: { namespace: string; kind: string; name: string };
  count: number;
}

/** Groups pod-to-pod changes by the workloads at either end (workloadOf), largest group first, then by name. */
export function groupChanges(world: World, changes: readonly ReachabilityChange[]): ChangeGroup[] {
  const workload = (ref: PodRef) => {
    const pod = world.podsByKey.get(keyOf(ref))?.pod;
    return { namespace: ref.namespace, ...(pod ? workloadOf(pod) : { kind: 'Pod', name: ref.name }) };
  };
  const groups = new Map<string, ChangeGroup>();
  for (const change of changes) {
    const from = workload(change.from);
    const to = workload(change.to);
    const key = [from.namespace, from.kind, from.name, to.namespace, to.kind, to.name].join('\u0000');
    const group = groups.get(key) ?? { from, to, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  const label = (g: ChangeGroup) =>
    `${g.to.namespace}/${g.to.kind}/${g.to.name} ${g.from.namespace}/${g.from.kind}/${g.from.name}`;
  return [...groups.values()].sort((a, b) => b.count - a.count || label(a).localeCompare(label(b)));
}
