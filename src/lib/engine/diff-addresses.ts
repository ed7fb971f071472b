/**
 * The address half of a diff: what a change does to pods' traffic with addresses outside the
 * cluster (pods as destinations of addresses, and as sources reaching them).
 */
import type { PodInfo, World } from './world.js';
import type { AddressChange, BlockDiff, DiffScope } from './diff.js';
import type { AddressPorts } from './addresses.js';
import { addressChanges, addressConnection, externalConnections, splitAddresses } from './addresses.js';
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
import {
  emptyPortSet,
  intersectPortSets,
  isEmptyPortSet,
  portSetOf,
  resolveNamedPort,
  subtractPortSets,
} from './ports.js';

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
      // Regions alike within the scope (the same ports before and after) are one change.
      const alike = new Map<string, AddressPorts>();
      for (const region of addressChangesOf(before, was, after, now, direction)) {
        const addresses = block
          ? subtractAddresses(region.addresses, subtractAddresses(region.addresses, block))
          : region.addresses;
        // A port name resolves on the destination: the pod for ingress, in each world; an address has none.
        const wasPorts = portsInScope(region.before, scope.port, direction === 'ingress' ? was : undefined);
        const nowPorts = portsInScope(region.after, scope.port, direction === 'ingress' ? now : undefined);
        if (isEmptyAddressSet(addresses) || portSetKey(wasPorts) === portSetKey(nowPorts)) continue;
        const key = `${portSetKey(wasPorts)} ${portSetKey(nowPorts)}`;
        const seen = alike.get(key);
        if (seen) seen.addresses = unionAddresses(seen.addresses, addresses);
        else alike.set(key, { addresses, before: wasPorts, after: nowPorts });
      }
      for (const region of alike.values()) {
        const blocks = blocksOf(region.addresses);
        // The rules that admit the first block, over all its ports as a pod pair's decision is (on the
        // scope's port when there is one).
        const why = (world: World, pod: PodInfo | undefined, ports: PortSet) => {
          if (!pod || isEmptyPortSet(ports)) return {};
          const point = scope.port ? firstPort(ports) : undefined;
          const decision = addressConnection(world, pod, blocks[0], direction, point).decision;
          return decision.allowed ? { decision } : {};
        };
        const { decision: decisionBefore } = why(before, was, region.before);
        const { decision: decisionAfter } = why(after, now, region.after);
        const change: AddressChange = {
          pod: ref,
          direction,
          blocks,
          ports: subtractPortSets(region.before, region.after),
          before: region.before,
          after: region.after,
          ...(decisionBefore ? { decisionBefore } : {}),
          ...(decisionAfter ? { decisionAfter } : {}),
        };
        if (!isEmptyPortSet(change.ports)) diff.cutAddresses.push(change);
        const gained = subtractPortSets(region.after, region.before);
        if (!isEmptyPortSet(gained)) diff.openedAddresses.push({ ...change, ports: gained });
      }
    }
  }
  return diff;
}

/** The lowest port of a non-empty port set, with its protocol. */
function firstPort(ports: PortSet): { port: number; protocol: Protocol } {
  const protocol = PROTOCOLS.find((p) => ports[p].length > 0)!;
  return { port: ports[protocol][0].from, protocol };
}

const NO_ADDRESS = unionAddresses();

/** What a change does to a pod's traffic with addresses; a pod of one world only has all of it lost, or gained. */
function addressChangesOf(
  before: World,
  was: PodInfo | undefined,
  after: World,
  now: PodInfo | undefined,
  direction: Direction,
): AddressPorts[] {
  if (was && now) return addressChanges(before, was, after, now, direction);
  // Every address the pod's rules admit is lost, or gained.
  const [world, pod] = was ? [before, was] : [after, now!];
  const sides = externalConnections(world, pod, direction).flatMap((c) => {
    const peer = direction === 'ingress' ? c.from : c.to;
    if (!('ipBlock' in peer) || !c.ports) return [];
    const addresses = addressesOfBlock(compileIpBlock(peer.ipBlock));
    return [
      was
        ? { before: addresses, after: NO_ADDRESS, ports: c.ports }
        : { before: NO_ADDRESS, after: addresses, ports: c.ports },
    ];
  });
  return splitAddresses(sides);
}
