/** An engine answer with its pairs listed, for tests that assert on pairs (small worlds only). */
import type { World } from '../../src/lib/engine/world.js';
import {
  connectionsOf,
  whoCan,
  type Connection,
  type ConnectionGroup,
  type WhoCanQuery,
  type WhoCanResult,
} from '../../src/lib/engine/who-can.js';

/** whoCan's result plus every allowed and denied (source, target) pair, expanded by connectionsOf. */
export function whoCanPairs(
  world: World,
  query: WhoCanQuery,
): WhoCanResult & { connections: Connection[]; denied: Connection[] } {
  const result = whoCan(world, query);
  return {
    ...result,
    connections: [...connectionsOf(result, 'allowed')],
    denied: [...connectionsOf(result, 'denied')],
  };
}

/** One group per pod pair (external address blocks dropped): the finest grouping an answer can have. */
export function groupsOfPairs(connections: Iterable<Connection>): ConnectionGroup[] {
  const groups: ConnectionGroup[] = [];
  for (const c of connections) {
    if (!('pod' in c.from)) continue;
    const { from, to, ...rest } = c;
    groups.push({ ...rest, targets: [to], sources: [from.pod] });
  }
  return groups;
}

/** The same answer with every group split into its pairs: views must draw it the same. */
export function splitIntoPairs(result: WhoCanResult): WhoCanResult {
  return {
    ...result,
    groups: groupsOfPairs(connectionsOf(result, 'allowed')),
    deniedGroups: groupsOfPairs(connectionsOf(result, 'denied')),
  };
}
