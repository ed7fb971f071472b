/** The bitset matrix (what the bench times) holds exactly the pairs and ports who-can lists pod by pod. */
import { describe, expect, test } from '@jest/globals';

import { generateCluster } from '../../bench/generate.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import { reachabilityMatrix } from '../../src/lib/engine/who-can.js';
import { whoCanPairs, podOf } from '../support/pairs.js';

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
      expect(matrix.pairCount).toBe(
        whoCanPairs(world, { targets, port }).connections.filter((c) => 'pod' in c.from).length,
      );
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
});
