/** An engine answer with its pairs listed, for tests that assert on pairs (small worlds only). */
import type { World } from '../../src/lib/engine/world.js';
import type { Decision, PodRef } from '../../src/lib/engine/model.js';
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

/**
 * An answer with one group per pod pair (address blocks dropped from the pairs): the finest grouping an
 * answer can have. Each group decides as its pair says.
 */
export function resultOfPairs(
  targets: PodRef[],
  allowed: Iterable<Connection>,
  denied: Iterable<Connection> = [],
  external: Connection[] = [],
): WhoCanResult {
  const decisions: Decision[] = [];
  const groupsOf = (connections: Iterable<Connection>): ConnectionGroup[] => {
    const groups: ConnectionGroup[] = [];
    for (const c of connections) {
      if (!('pod' in c.from)) continue;
      const { from, to, decision, ...rest } = c;
      groups.push({ ...rest, targets: [to], sources: [from.pod], decisionId: decisions.length });
      decisions.push(decision);
    }
    return groups;
  };
  const groups = groupsOf(allowed);
  const deniedGroups = groupsOf(denied);
  return {
    targets,
    groups,
    deniedGroups,
    external,
    deniedExternal: [],
    warnings: [],
    decide: (group) => decisions[group.decisionId],
  };
}

/** The same answer with every group split into its pairs: views must draw it the same. */
export function splitIntoPairs(result: WhoCanResult): WhoCanResult {
  const pairs = resultOfPairs(
    result.targets,
    connectionsOf(result, 'allowed'),
    connectionsOf(result, 'denied'),
    result.external,
  );
  return { ...pairs, deniedExternal: result.deniedExternal, warnings: result.warnings };
}
