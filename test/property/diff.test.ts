/**
 * diff against two who-can matrices computed independently: for generated worlds and generated
 * changes (policies added, changed and deleted, pods relabelled and added, namespaces relabelled),
 * the pairs diff reports, with their ports before and after, are exactly the pairs whose answer the
 * reference evaluator (test/support/reference-evaluator.ts) gives differently in the two worlds, on
 * every probe port. The after-world of the reference is built here, by name, sharing no code with
 * the engine's apply.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { V1Namespace, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';

import type { ReachabilityChange } from '../../src/lib/engine/diff.js';
import { changesOf } from '../../src/lib/engine/diff.js';
import type { ClusterSnapshot, PolicyRef } from '../../src/lib/engine/model.js';
import { portSetContains } from '../../src/lib/engine/ports.js';
import { planDiff } from '../../src/lib/services/diff.js';
import { ReferenceEvaluator } from '../support/reference-evaluator.js';
import { runs, SEED } from './arbitraries.js';
import { NAMESPACES, NUMBER_PROBES, pod, policy, toSnapshot, world } from './worlds.js';

/** A change: policies to add or replace (by index: an existing one's name, or a new one), to delete, pods to relabel or add, namespace labels. */
const change = fc.record({
  policies: fc.array(fc.tuple(fc.nat(6), policy), { maxLength: 2 }),
  deletes: fc.array(fc.nat(6), { maxLength: 1 }),
  relabel: fc.array(fc.tuple(fc.nat(7), pod), { maxLength: 2 }),
  added: fc.array(pod, { maxLength: 2 }),
  namespaces: fc.array(
    fc.tuple(
      fc.constantFrom(...NAMESPACES),
      fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('prod', 'dev', 'a'), { maxKeys: 2 }),
    ),
    { maxLength: 2 },
  ),
});

type GeneratedChange = typeof change extends fc.Arbitrary<infer T> ? T : never;

/** The change as manifests, and as --delete refs. */
function changeOf(before: ClusterSnapshot, c: GeneratedChange): { change: ClusterSnapshot; deletes: PolicyRef[] } {
  const generated = toSnapshot({
    namespaceLabels: [{}, {}, {}],
    pods: [...c.relabel.map(([, p]) => p), ...c.added],
    policies: c.policies.map(([, p]) => p),
  });
  const pods: V1Pod[] = [];
  c.relabel.forEach(([index], i) => {
    const old = before.pods[index % before.pods.length];
    // The same pod (name, namespace, ports, addresses) with other labels.
    pods.push({ ...old, metadata: { ...old.metadata, labels: { ...generated.pods[i].metadata!.labels } } });
  });
  c.added.forEach((_, i) => {
    const added = generated.pods[c.relabel.length + i];
    pods.push({ ...added, metadata: { ...added.metadata, name: `new${i}` } });
  });
  const policies: V1NetworkPolicy[] = c.policies.map(([index], i) => {
    const written = generated.policies[i];
    const replaced = before.policies.length > 0 && index < before.policies.length ? before.policies[index] : undefined;
    const metadata = replaced
      ? { name: replaced.metadata!.name, namespace: replaced.metadata!.namespace }
      : { name: `added${i}`, namespace: written.metadata!.namespace };
    return { ...written, metadata };
  });
  const named = new Set(policies.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`));
  const deletes = c.deletes
    .filter((index) => index < before.policies.length)
    .map((index) => ({
      namespace: before.policies[index].metadata!.namespace!,
      name: before.policies[index].metadata!.name!,
    }))
    .filter((ref) => !named.has(`${ref.namespace}/${ref.name}`));
  const namespaces: V1Namespace[] = c.namespaces.map(([name, labels]) => ({
    metadata: { name, labels: { ...labels } },
  }));
  return {
    change: { namespaces, pods, policies, services: [], workloads: [] },
    deletes: [...new Map(deletes.map((d) => [`${d.namespace}/${d.name}`, d])).values()],
  };
}

/** The after-world as `kubectl apply` leaves it, by name: written here, not by the engine. */
function applied(before: ClusterSnapshot, change: ClusterSnapshot, deletes: PolicyRef[]): ClusterSnapshot {
  const byKey = <T extends { metadata?: { namespace?: string; name?: string } }>(items: T[]) =>
    new Map(items.map((i) => [`${i.metadata?.namespace ?? ''}/${i.metadata?.name}`, i]));
  const namespaces = byKey(before.namespaces);
  for (const n of change.namespaces) namespaces.set(`/${n.metadata?.name}`, n);
  const pods = byKey(before.pods);
  for (const p of change.pods) pods.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  const policies = byKey(before.policies);
  for (const p of change.policies) policies.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  for (const d of deletes) policies.delete(`${d.namespace}/${d.name}`);
  return {
    namespaces: [...namespaces.values()],
    pods: [...pods.values()],
    policies: [...policies.values()],
    services: [],
    workloads: [],
  };
}

/** The first pair and probe where diff and the two reference matrices disagree. */
function firstDifference(before: ClusterSnapshot, generated: GeneratedChange): string | undefined {
  const { change: c, deletes } = changeOf(before, generated);
  const after = applied(before, c, deletes);
  const result = planDiff(before, c, { deletes, prune: false, impliedNamespaces: [] });
  const changes = new Map<string, ReachabilityChange>();
  for (const change of changesOf(result.diff.blocks))
    changes.set(`${change.from.namespace}/${change.from.name}->${change.to.namespace}/${change.to.name}`, change);
  const [was, now] = [new ReferenceEvaluator(before), new ReferenceEvaluator(after)];
  const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;
  const find = (reference: ReferenceEvaluator, k: string) => reference.pods.find((p) => key(p) === k);
  const keys = [...new Set([...was.pods, ...now.pods].map(key))];
  let differing = 0;
  for (const src of keys) {
    for (const dst of keys) {
      if (src === dst) continue;
      const change = changes.get(`${src}->${dst}`);
      let differs = false;
      for (const probe of NUMBER_PROBES) {
        const allows = (reference: ReferenceEvaluator) => {
          const [s, d] = [find(reference, src), find(reference, dst)];
          return s !== undefined && d !== undefined && reference.allows(s, d, probe.port, probe.protocol);
        };
        const [b, a] = [allows(was), allows(now)];
        if (b !== a) differs = true;
        const label = `${src} -> ${dst} on ${probe.port}/${probe.protocol}`;
        if (!change && b !== a)
          return `${label}: reference ${b ? 'allows' : 'denies'} before, ${a ? 'allows' : 'denies'} after; diff says nothing`;
        if (change && portSetContains(change.before, probe.protocol, probe.port) !== b)
          return `${label}: diff's before is wrong`;
        if (change && portSetContains(change.after, probe.protocol, probe.port) !== a)
          return `${label}: diff's after is wrong`;
      }
      if (differs) differing++;
    }
  }
  // Every pair diff reports is one of the pods of either world.
  for (const k of changes.keys()) {
    const [src, dst] = k.split('->');
    if (!keys.includes(src) || !keys.includes(dst)) return `diff reports ${k}, a pair of no world`;
  }
  if (changes.size < differing) return `diff reports ${changes.size} pairs, the reference ${differing} at least`;
  return undefined;
}

describe('diff vs two who-can matrices of the reference evaluator', () => {
  test('generated worlds and changes: the pairs and ports diff reports are the set difference', () => {
    let reported = 0;
    fc.assert(
      fc.property(world, change, (w, c) => {
        const before = toSnapshot(w);
        const difference = firstDifference(before, c);
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
        const difference = firstDifference(before, generated);
        if (difference) {
          throw new Error(
            `${difference}\nreplay: FC_SEED=${SEED}\nworld: ${JSON.stringify(before)}\nchange: ${JSON.stringify(changeOf(before, generated))}`,
          );
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 400)),
    );
  }, 120_000);
});
