/**
 * diff against two who-can matrices computed independently: for generated worlds and generated
 * changes (policies added, changed and deleted, pods relabelled and added, namespaces relabelled),
 * the pairs diff reports, with their ports before and after, are exactly the pairs whose answer the
 * reference evaluator (test/support/reference-evaluator.ts) gives differently in the two worlds, on
 * every probe port; with the cluster tiers and --prune too, against the tier reference. The after-world
 * of the reference is built here (diff-changes.ts), by name, sharing no code with the engine's apply.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import type { ClusterSnapshot } from '../../src/lib/engine/model.js';
import { ReferenceEvaluator } from '../support/reference-evaluator.js';
import { TierReference } from '../support/tier-reference.js';
import { runs, SEED } from './arbitraries.js';
import { change, changeOf, firstDifference } from './diff-changes.js';
import { tierPolicy, tierWorld, withNodes } from './tier-worlds.js';
import { pod, policy, toSnapshot, world } from './worlds.js';

const v1Reference = (snapshot: ClusterSnapshot) => new ReferenceEvaluator(snapshot);

describe('diff vs two who-can matrices of the reference evaluator', () => {
  test('generated worlds and changes: the pairs and ports diff reports are the set difference', () => {
    let reported = 0;
    fc.assert(
      fc.property(world, change, (w, c) => {
        const before = toSnapshot(w);
        const difference = firstDifference(before, c, v1Reference);
        reported += difference === undefined ? 1 : 0;
        if (difference) {
          throw new Error(
            `${difference}\nreplay: FC_SEED=${SEED}\nworld: ${JSON.stringify(before)}\nchange: ${JSON.stringify(changeOf(before, c))}`,
          );
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000)),
    );
    expect(reported).toBeGreaterThan(0);
  }, 120_000);

  // diff compares only the pods a change can touch, and for a source whose egress asks the same in
  // both worlds only the destinations of the ingress rules that admit it in one world alone: larger
  // worlds (most pairs unchanged) and changes of one kind at a time, peers alone included.
  test('larger worlds, one kind of change: relabels, namespace labels, added pods, policies, peers only', () => {
    const larger = fc.record({
      namespaceLabels: world.map((w) => w.namespaceLabels),
      pods: fc.array(pod, { minLength: 6, maxLength: 12 }),
      policies: fc.array(policy, { minLength: 3, maxLength: 8 }),
    });
    const relabels = fc.array(fc.tuple(fc.nat(11), pod), { minLength: 1, maxLength: 4 });
    const none = { relabel: [], namespaces: [], added: [], policies: [], deletes: [] };
    const oneKind = fc.oneof(
      relabels.map((relabel) => ({ ...none, relabel })),
      change.map((c) => ({ ...none, namespaces: c.namespaces })),
      change.map((c) => ({ ...none, added: c.added })),
      change.map((c) => ({ ...none, policies: c.policies, deletes: c.deletes })),
    );
    fc.assert(
      fc.property(larger, oneKind, fc.boolean(), (w, c, peersOnly) => {
        const before = toSnapshot(w);
        // Peers only: a policy keeps its namespace, podSelector and policyTypes; its rules change.
        const policies = peersOnly
          ? c.policies.map(([index, p]): [number, typeof p] => {
              const old = w.policies[index % w.policies.length];
              const spec = { ...p.spec, podSelector: old.spec.podSelector, policyTypes: old.spec.policyTypes };
              return [index % w.policies.length, { namespace: old.namespace, spec }];
            })
          : c.policies;
        const generated = { ...c, policies };
        const difference = firstDifference(before, generated, v1Reference);
        if (difference) {
          throw new Error(
            `${difference}\nreplay: FC_SEED=${SEED}\nworld: ${JSON.stringify(before)}\nchange: ${JSON.stringify(changeOf(before, generated))}`,
          );
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 400)),
    );
  }, 120_000);

  // The cluster tiers in both worlds (the tier reference, test/support/tier-reference.ts, over the v1
  // one), tier policies added or replaced by the change, and --prune: the after-world of the namespaces
  // the change covers is what it holds (tier policies, cluster-scoped, are never pruned).
  test('with the cluster tiers and --prune: the pairs and ports diff reports are the set difference', () => {
    const withTiers = fc.record({
      generated: change,
      tiers: fc.array(fc.tuple(fc.nat(5), tierPolicy), { maxLength: 2 }),
      prune: fc.boolean(),
    });
    let pruned = 0;
    fc.assert(
      fc.property(tierWorld, withTiers, (w, { generated, tiers, prune }) => {
        const before = withNodes(toSnapshot(w), w);
        const c = { ...generated, tiers, prune };
        if (prune && (c.relabel.length > 0 || c.added.length > 0 || c.policies.length > 0)) pruned++;
        const difference = firstDifference(before, c, (snapshot) => new TierReference(snapshot));
        if (difference) {
          throw new Error(
            `${difference}\nreplay: FC_SEED=${SEED}\nworld: ${JSON.stringify(before)}\nchange: ${JSON.stringify({ ...changeOf(before, c), prune })}`,
          );
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 300)),
    );
    // The runs did prune something.
    expect(pruned).toBeGreaterThan(0);
  }, 120_000);
});
