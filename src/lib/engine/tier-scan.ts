/**
 * Queries over a world that holds cluster tier policies: pair by pair over the pod classes, through the
 * one pair analysis (evaluate.ts) that accounts for Admin tier, NetworkPolicy v1 and Baseline tier
 * together. The bitset paths (matrix.ts, outbound.ts) compute NetworkPolicy v1 alone; a tier can allow
 * what v1 denies (an Admin Accept) and deny what v1 allows, so they hand tier worlds to these.
 */
import { analysePair, analyseClassPair, decideOnPort } from './evaluate.js';
import type { PortSet, Protocol } from './model.js';
import { intersectPortSets, isEmptyPortSet, resolveNamedPort } from './ports.js';
import type { PodClass, World } from './world.js';

/** The ports both directions allow (empty: denied). */
function pairPorts(world: World, source: PodClass, destination: PodClass, keep: boolean): PortSet {
  const pair = keep ? analysePair(world, source, destination) : analyseClassPair(world, source, destination);
  return intersectPortSets(pair.ingress.ports, pair.egress.ports);
}

function allowedOn(
  world: World,
  source: PodClass,
  destination: PodClass,
  port: { port: number; protocol: Protocol },
  keep: boolean,
): boolean {
  const pair = keep ? analysePair(world, source, destination) : analyseClassPair(world, source, destination);
  return decideOnPort(pair, port.protocol, port.port).allowed;
}

/** The destination classes a class may reach: on a port by number or by name (per number it resolves to), or with their ports. */
export function tierDestinationClasses(
  world: World,
  source: PodClass,
  port: { port: number; protocol: Protocol } | { name: string; protocol: Protocol } | undefined,
): { ids: ArrayLike<number>; ports: PortSet[] } | { ids: ArrayLike<number>; port: ArrayLike<number> } {
  const ids: number[] = [];
  if (port === undefined) {
    const ports: PortSet[] = [];
    for (const destination of world.classes) {
      const allowed = pairPorts(world, source, destination, true);
      if (isEmptyPortSet(allowed)) continue;
      ids.push(destination.id);
      ports.push(world.portSets.intern(allowed));
    }
    return { ids, ports };
  }
  const numbers: number[] = [];
  for (const destination of world.classes) {
    // A port name resolves on each destination pod: the numbers the class's pods give, each asked.
    const found =
      'name' in port
        ? [
            ...new Set(
              destination.members
                .map((m) => resolveNamedPort(m.pod, port.name, port.protocol))
                .filter((n): n is number => n !== undefined),
            ),
          ].sort((a, b) => a - b)
        : [port.port];
    for (const number of found) {
      if (!allowedOn(world, source, destination, { port: number, protocol: port.protocol }, true)) continue;
      ids.push(destination.id);
      numbers.push(number);
    }
  }
  return { ids, port: numbers };
}
