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
import { shareDecisions, type KeyedShareGroups } from '../../src/lib/engine/whole-cluster.js';
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

  it.each(PORTS)('allowed groups with one entry key have the same ports and admitting rules (%s)', (_port, port) => {
    const query = { targets: world.pods.map((pod) => pod.ref), port };
    const shared = shareDecisions(world, whoCanStreamed(world, query));
    const own = [...openShares(whoCanStreamed(world, query))];
    const byKey = new Map<number, unknown>();
    let groups = 0;
    [...openShares(shared)].forEach(({ shares }, position) =>
      shares.forEach((share: KeyedShareGroups, index) => {
        const theirs = own[position].shares[index];
        if (tiers > 0) {
          // Tier rules are part of an entry: with tiers every group is decided on its own.
          expect(share.entryOf).toBeUndefined();
          return;
        }
        share.groups.forEach((group, g) => {
          const key = share.entryOf!(group);
          expect(key).toBeGreaterThanOrEqual(0);
          const decision = theirs.decide(theirs.groups[g]);
          const says = {
            ports: group.ports,
            port: group.port,
            protocol: group.protocol,
            portName: group.portName,
            ingress: decision.ingress.allowedBy,
            egress: decision.egress.allowedBy,
          };
          if (byKey.has(key)) expect(says).toEqual(byKey.get(key));
          else byKey.set(key, says);
          groups++;
        });
      }),
    );
    if (tiers > 0) return;
    expect(groups).toBeGreaterThan(100);
    expect(byKey.size).toBeLessThan(groups / 4);
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
