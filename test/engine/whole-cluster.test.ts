/**
 * shareDecisions: the groups of a whole-cluster answer alike in what their decision reads share one
 * decision object, and it is the decision the answer itself gives each group (with and without
 * cluster tiers, on all ports, one port and a port name).
 */
import { describe, expect, it } from '@jest/globals';

import { generateCluster, tierPolicies } from '../../bench/generate.js';
import { openShares } from '../../src/lib/engine/answer.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { Decision, PortQuery } from '../../src/lib/engine/model.js';
import { shareDecisions } from '../../src/lib/engine/whole-cluster.js';
import { whoCanStreamed } from '../../src/lib/engine/who-can.js';

const PORTS: [string, PortQuery | undefined][] = [
  ['all ports', undefined],
  ['80/TCP', { port: 80, protocol: 'TCP' }],
  ['http', { port: 'http', protocol: 'TCP' }],
];

describe.each([
  ['NetworkPolicy only', 0],
  ['with 6 tier policies', 6],
])('on a generated world of 60 pods, %s', (_name, tiers) => {
  const { snapshot } = generateCluster({ pods: 60, seed: 3 });
  if (tiers > 0) snapshot.clusterPolicies = tierPolicies(snapshot, tiers, 3);
  const world = compileWorld(snapshot);

  it.each(PORTS)('each group gets the decision the answer gives it, shared by groups alike (%s)', (_port, port) => {
    const query = { targets: world.pods.map((pod) => pod.ref), port, includeDenied: true };
    const own = whoCanStreamed(world, query);
    const shared = shareDecisions(world, whoCanStreamed(world, query));
    const ownGroups = [...openShares(own)];
    const distinct = new Set<Decision>();
    let groups = 0;
    [...openShares(shared)].forEach(({ subject, shares }, position) => {
      expect(subject).toEqual(ownGroups[position].subject);
      shares.forEach((share, index) => {
        const theirs = ownGroups[position].shares[index];
        for (const which of ['groups', 'deniedGroups'] as const) {
          expect(share[which]).toEqual(theirs[which]);
          share[which].forEach((group, g) => {
            const decision = share.decide(group);
            expect(decision).toEqual(theirs.decide(theirs[which][g]));
            distinct.add(decision);
            groups++;
          });
        }
      });
    });
    expect(groups).toBeGreaterThan(100);
    // Pods with addresses of their own are classes of their own; their decisions are not.
    expect(distinct.size).toBeLessThan(groups / 2);
  });

  it.each(PORTS)('a memo that starts over every few decisions gives the same decisions (%s)', (_port, port) => {
    const query = { targets: world.pods.map((pod) => pod.ref), port, includeDenied: true };
    const own = [...openShares(whoCanStreamed(world, query))];
    const small = [...openShares(shareDecisions(world, whoCanStreamed(world, query), { memoLimit: 3 }))];
    small.forEach(({ shares }, position) =>
      shares.forEach((share, index) => {
        const theirs = own[position].shares[index];
        for (const which of ['groups', 'deniedGroups'] as const)
          share[which].forEach((group, g) => expect(share.decide(group)).toEqual(theirs.decide(theirs[which][g])));
      }),
    );
  });
});
