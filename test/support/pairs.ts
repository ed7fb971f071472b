/** An engine answer with its pairs listed, for tests that assert on pairs (small worlds only). */
import type { World } from '../../src/lib/engine/world.js';
import type { Decision, Peer, PodRef } from '../../src/lib/engine/model.js';
import { reachableFrom, type ReachableQuery } from '../../src/lib/engine/reachable-from.js';
import type { ClassMatrix } from '../../src/lib/engine/matrix.js';
import type { PortSet, Protocol } from '../../src/lib/engine/model.js';
import { reachabilityMatrix, whoCan, type WhoCanQuery } from '../../src/lib/engine/who-can.js';
import {
  connectionsOf,
  type Connection,
  type ConnectionGroup,
  type Orientation,
  type ReachAnswer,
  type StreamedAnswer,
} from '../../src/lib/engine/answer.js';
import type { ReachReport } from '../../src/lib/services/report.js';

/** A command's report as the table views take it: fails when its answer was streamed (-o json, -o yaml). */
export function eager(report: ReachReport<ReachAnswer | StreamedAnswer>): ReachReport {
  if ('shares' in report.answer) throw new Error('the answer was streamed: its groups are computed as it is written');
  return { ...report, answer: report.answer };
}

/** whoCan's result plus every allowed and denied (source, target) pair, expanded by connectionsOf. */
export function whoCanPairs(
  world: World,
  query: WhoCanQuery,
): ReachAnswer & { connections: Connection[]; denied: Connection[] } {
  const result = whoCan(world, query);
  return {
    ...result,
    connections: [...connectionsOf(result, 'allowed')],
    denied: [...connectionsOf(result, 'denied')],
  };
}

/**
 * The whole matrix (one port, or all ports) with its class pairs expanded to pod pairs, keyed
 * `ns/source>ns/target` (a pod to itself left out), each with its ports or `true` (one port).
 */
export function matrixPodPairs(
  world: World,
  port?: { port: number; protocol: Protocol },
): { matrix: ClassMatrix; pairs: Map<string, PortSet | true> } {
  const pairs = new Map<string, PortSet | true>();
  const matrix = reachabilityMatrix(world, port, {
    visit: (target, sources) => {
      for (const [id, ports] of sources)
        for (const src of world.classes[id].members)
          for (const dst of target.members)
            if (src !== dst)
              pairs.set(`${src.ref.namespace}/${src.ref.name}>${dst.ref.namespace}/${dst.ref.name}`, ports);
    },
  });
  return { matrix, pairs };
}

/** reachableFrom's answer plus every allowed and denied (source, destination) pair, expanded by connectionsOf. */
export function reachablePairs(
  world: World,
  query: ReachableQuery,
): ReachAnswer & { connections: Connection[]; denied: Connection[] } {
  const result = reachableFrom(world, query);
  return {
    ...result,
    connections: [...connectionsOf(result, 'allowed')],
    denied: [...connectionsOf(result, 'denied')],
  };
}

/**
 * An answer with one group per pod pair (address blocks dropped from the pairs): the finest grouping an
 * answer can have. Each group decides as its pair says.
 */
export function resultOfPairs(
  subjects: PodRef[],
  allowed: Iterable<Connection>,
  denied: Iterable<Connection> = [],
  external: Connection[] = [],
  orientation: Orientation = 'inbound',
): ReachAnswer {
  const decisions: Decision[] = [];
  const groupsOf = (connections: Iterable<Connection>): ConnectionGroup[] => {
    const groups: ConnectionGroup[] = [];
    for (const c of connections) {
      if (!('pod' in c.from) || !('pod' in c.to)) continue;
      const { from, to, decision, ...rest } = c;
      const [subject, peer] = orientation === 'inbound' ? [to.pod, from.pod] : [from.pod, to.pod];
      groups.push({ ...rest, subjects: [subject], peers: [peer], decisionId: decisions.length });
      decisions.push(decision);
    }
    return groups;
  };
  const groups = groupsOf(allowed);
  const deniedGroups = groupsOf(denied);
  return {
    orientation,
    subjects,
    groups,
    deniedGroups,
    external,
    deniedExternal: [],
    warnings: [],
    decide: (group) => decisions[group.decisionId],
  };
}

/** The same answer with every group split into its pairs: views must draw it the same. */
export function splitIntoPairs(result: ReachAnswer): ReachAnswer {
  const pairs = resultOfPairs(
    result.subjects,
    connectionsOf(result, 'allowed'),
    connectionsOf(result, 'denied'),
    result.external,
    result.orientation,
  );
  return { ...pairs, deniedExternal: result.deniedExternal, warnings: result.warnings };
}

/** The pod of a connection's end (who-can's destinations are always pods). */
export function podOf(peer: Peer): PodRef {
  if (!('pod' in peer)) throw new Error(`expected a pod, got ${JSON.stringify(peer)}`);
  return peer.pod;
}
