/**
 * The address half of a diff: what a change does to pods' traffic with addresses outside the
 * cluster (pods as destinations of addresses, and as sources reaching them).
 */
import type { PodInfo, World } from './world.js';
import type { AddressChange, BlockDiff, DiffScope } from './diff.js';
import type { AddressPorts } from './addresses.js';
import { addressChanges, addressConnection, externalConnections } from './addresses.js';
import { portSetKey } from './diff-groups.js';
import {
  addressesOfBlock,
  blocksOf,
  compileIpBlock,
  isEmptyAddressSet,
  subtractAddresses,
  unionAddresses,
} from './ipblock.js';
import type { Direction, PodRef, PortQuery, PortSet, Protocol } from './model.js';
import { keyOf, PROTOCOLS } from './model.js';
import { emptyPortSet, intersectPortSets, isEmptyPortSet, portSetOf, resolveNamedPort } from './ports.js';

/** The ports of `ports` that the scope's port is on `destination` (a name resolves on the pod); all without one. */
export function portsInScope(ports: PortSet, port: PortQuery | undefined, destination: PodInfo | undefined): PortSet {
  if (!port) return ports;
  const number =
    typeof port.port === 'number'
      ? port.port
      : destination && resolveNamedPort(destination.pod, port.port, port.protocol);
  if (number === undefined) return emptyPortSet();
  return intersectPortSets(ports, portSetOf(port.protocol, number, number));
}

/** Every pod of either world, once, by key (the after-world's copy first). */
export function podsOfEither(before: World, after: World): Map<string, PodRef> {
  const pods = new Map<string, PodRef>();
  for (const world of [after, before])
    for (const p of world.pods) if (!pods.has(keyOf(p.ref))) pods.set(keyOf(p.ref), p.ref);
  return pods;
}

/** What a change does to the affected pods' traffic with addresses outside the cluster, within the scope. */
export function diffAddresses(
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
