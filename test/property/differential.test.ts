/**
 * The engine against the independent reference evaluator (test/support/reference-evaluator.ts) on
 * thousands of small generated clusters using every feature of the API. For every pod pair and
 * every probe port (numbers, ranges, protocols, named ports), who-can's answer must equal the
 * reference's. On a mismatch fast-check shrinks the cluster and the failure prints the seed, the
 * path to replay it (FC_SEED=<seed>) and the cluster as JSON.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import { compileWorld } from '../../src/lib/engine/compile.js';
import { validatePolicy } from '../../src/lib/engine/validate.js';
import { reachabilityMatrix } from '../../src/lib/engine/who-can.js';
import type { Protocol } from '../../src/lib/engine/model.js';
import { ReferenceEvaluator } from '../support/reference-evaluator.js';
import { runs, SEED } from './arbitraries.js';
import { firstDifference, NAMED_PROBES, namespaceLabels, NUMBER_PROBES, policy, pod, toSnapshot } from './worlds.js';

const world = fc.record({
  namespaceLabels,
  pods: fc.array(pod, { minLength: 2, maxLength: 7 }),
  policies: fc.array(policy, { maxLength: 4 }),
});

const PROBES = {
  numbers: NUMBER_PROBES,
  names: NAMED_PROBES,
  allPorts: [...NUMBER_PROBES, { port: 1, protocol: 'UDP' as Protocol }, { port: 9000, protocol: 'SCTP' as Protocol }],
};

describe('engine vs reference evaluator on generated clusters', () => {
  test('every pod pair, every probe port (numbers, ranges, protocols, named ports), three query paths', () => {
    let pairs = 0;
    fc.assert(
      fc.property(world, (w) => {
        const snapshot = toSnapshot(w);
        // The reference does not validate: every generated policy must be one the API server accepts.
        for (const p of snapshot.policies) expect(validatePolicy(p)).toEqual([]);
        const difference = firstDifference(snapshot, new ReferenceEvaluator(snapshot), PROBES);
        pairs += w.pods.length * (w.pods.length - 1);
        if (difference) {
          throw new Error(`${difference}\nreplay: FC_SEED=${SEED}\ncluster: ${JSON.stringify(snapshot)}`);
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000)),
    );
    expect(pairs).toBeGreaterThan(1000);
  }, 120_000);

  test('the one-port matrix counts the pod pairs the reference allows', () => {
    let allowed = 0;
    fc.assert(
      fc.property(world, (w) => {
        const snapshot = toSnapshot(w);
        const reference = new ReferenceEvaluator(snapshot);
        const engine = compileWorld(snapshot);
        for (const probe of NUMBER_PROBES) {
          let expected = 0;
          for (const src of reference.pods)
            for (const dst of reference.pods)
              if (src !== dst && reference.allows(src, dst, probe.port, probe.protocol)) expected++;
          allowed += expected;
          const got = reachabilityMatrix(engine, probe).pairCount;
          if (got !== expected)
            throw new Error(
              `matrix ${probe.port}/${probe.protocol}: ${got} pairs, reference ${expected}\nreplay: FC_SEED=${SEED}\ncluster: ${JSON.stringify(snapshot)}`,
            );
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000) / 2),
    );
    expect(allowed).toBeGreaterThan(1000);
  }, 120_000);
});
