/** The bitset matrix (what the bench times) holds exactly the pairs and ports who-can lists pod by pod. */
import { describe, expect, test } from '@jest/globals';

import { generateCluster, tierPolicies } from '../../bench/generate.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { Protocol } from '../../src/lib/engine/model.js';
import { formatPortSet, portSetContains } from '../../src/lib/engine/ports.js';
import { reachabilityMatrix } from '../../src/lib/engine/who-can.js';
import { matrixPodPairs, whoCanPairs, podOf } from '../support/pairs.js';
import { TierReference } from '../support/tier-reference.js';

describe('reachabilityMatrix', () => {
  test.each([1, 2, 3])('seed %i: every pair and its ports equal who-can over every target', (seed) => {
    const world = compileWorld(generateCluster({ pods: 300, seed }).snapshot);
    const targets = world.pods.map((p) => p.ref);
    for (const port of [{ port: 80, protocol: 'TCP' as const }, { port: 53, protocol: 'UDP' as const }, undefined]) {
      // who-can's pod-by-pod list, as (source class > target pod) -> ports.
      const listed = new Map<string, string>();
      for (const c of whoCanPairs(world, { targets, port }).connections) {
        if (!('pod' in c.from)) continue;
        const from = world.podsByKey.get(`${c.from.pod.namespace}/${c.from.pod.name}`)!;
        const to = world.podsByKey.get(`${podOf(c.to).namespace}/${podOf(c.to).name}`)!;
        listed.set(`${from.classId}>${to.classId}`, port ? 'port' : formatPortSet(c.ports!));
      }
      const seen = new Map<string, string>();
      const matrix = reachabilityMatrix(world, port, {
        visit: (target, allowed) => {
          for (const [id, ports] of allowed)
            seen.set(`${id}>${target.id}`, ports === true ? 'port' : formatPortSet(ports));
        },
      });
      expect(matrix.complete).toBe(true);
      // Class pairs that only hold a pod to itself are in the matrix but have no pod pair to list.
      const lonely = (key: string) => {
        const [a, b] = key.split('>').map(Number);
        return a === b && world.classes[a].members.length === 1;
      };
      expect(new Map([...seen].filter(([k]) => !lonely(k)))).toEqual(listed);
      const listedPairs = whoCanPairs(world, { targets, port }).connections.filter((c) => 'pod' in c.from).length;
      expect(matrix.pairCount).toBe(listedPairs);
      // Without a visit, one port is counted without building each class's sources: the same count.
      expect(reachabilityMatrix(world, port).pairCount).toBe(listedPairs);
    }
  });

  test('progress can stop it early', () => {
    const world = compileWorld(generateCluster({ pods: 300, seed: 1 }).snapshot);
    let calls = 0;
    const partial = reachabilityMatrix(world, undefined, { progress: () => ++calls < 3 });
    expect(partial.complete).toBe(false);
    expect(calls).toBe(3);
    expect(partial.pairCount).toBeLessThan(reachabilityMatrix(world).pairCount);
  });

  test.each([1])('seed %i with cluster tier policies: every pod pair and port equals the tier reference', (seed) => {
    // who-can shares the tier evaluator with the matrix, so the independent reference is the judge here.
    const { snapshot } = generateCluster({ pods: 120, seed });
    snapshot.clusterPolicies = tierPolicies(snapshot, 12, seed);
    const world = compileWorld(snapshot);
    const reference = new TierReference(snapshot);
    const refPods = new Map(reference.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    // Every container port, and the edges of the generated rules' ranges (tier rules: 5000-6000, 8080).
    const probes = new Map<string, { port: number; protocol: Protocol }>();
    const probe = (port: number, protocol: Protocol) => probes.set(`${port}/${protocol}`, { port, protocol });
    for (const pod of snapshot.pods)
      for (const c of pod.spec?.containers ?? [])
        for (const p of c.ports ?? []) probe(p.containerPort, (p.protocol ?? 'TCP') as Protocol);
    for (const port of [1, 80, 443, 4999, 5000, 5001, 5999, 6000, 6001, 8080, 8081, 65535]) probe(port, 'TCP');
    probe(53, 'UDP');
    probe(1, 'SCTP');
    for (const port of [{ port: 8080, protocol: 'TCP' as const }, undefined]) {
      const { matrix, pairs: allowed } = matrixPodPairs(world, port);
      const checks = port ? [port] : [...probes.values()];
      const wrong: string[] = [];
      let pairs = 0;
      for (const src of reference.pods)
        for (const dst of reference.pods) {
          if (src === dst) continue;
          const key = `${src.namespace}/${src.name}>${dst.namespace}/${dst.name}`;
          const ports = allowed.get(key);
          if (ports !== undefined) pairs++;
          for (const check of checks) {
            const got = ports !== undefined && (ports === true || portSetContains(ports, check.protocol, check.port));
            const want = reference.allows(
              refPods.get(`${src.namespace}/${src.name}`)!,
              dst,
              check.port,
              check.protocol,
            );
            if (got !== want) wrong.push(`${key} ${check.port}/${check.protocol}: matrix ${got}, reference ${want}`);
          }
        }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(matrix.pairCount).toBe(pairs);
      expect(reachabilityMatrix(world, port).pairCount).toBe(pairs);
    }
  });
});
