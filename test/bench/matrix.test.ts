/** The class-level matrix (what the bench times) counts exactly the pairs who-can lists pod by pod. */
import { describe, expect, test } from '@jest/globals';

import { generateCluster } from '../../bench/generate.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import { reachabilityMatrix, whoCan } from '../../src/lib/engine/who-can.js';

describe('reachabilityMatrix', () => {
  test.each([1, 2])('seed %i: pair counts equal who-can over every target, one port and all ports', (seed) => {
    const world = compileWorld(generateCluster({ pods: 300, seed }).snapshot);
    const targets = world.pods.map((p) => p.ref);
    for (const port of [{ port: 80, protocol: 'TCP' as const }, { port: 53, protocol: 'UDP' as const }, undefined]) {
      const listed = whoCan(world, { targets, port }).connections.filter((c) => 'pod' in c.from);
      const seen = new Map<string, string>();
      reachabilityMatrix(world, port, {
        visit: (target, allowed) => {
          for (const [id, ports] of allowed) {
            seen.set(`${id}>${target.id}`, ports === true ? 'port' : formatPortSet(ports));
          }
        },
      });
      expect(reachabilityMatrix(world, port).pairCount).toBe(listed.length);
      // Each listed pair's ports are what the matrix says for its two classes.
      for (const c of listed.slice(0, 2000)) {
        if (!('pod' in c.from)) continue;
        const from = world.podsByKey.get(`${c.from.pod.namespace}/${c.from.pod.name}`)!;
        const to = world.podsByKey.get(`${c.to.namespace}/${c.to.name}`)!;
        expect(seen.get(`${from.classId}>${to.classId}`)).toBe(port ? 'port' : formatPortSet(c.ports!));
      }
    }
  });
});
