/**
 * What diff reads from bits instead of asking pod by pod (diff-classes.ts), on generated clusters:
 * SourcesView (the layout seen through a few source pods; any subset, a source may repeat) gives each
 * source exactly the ports who-can's evaluator gives it over every pod, per atom and in all; a rule's
 * peers' bits hold a class exactly when peerAdmitsClass admits it (Decisions reads them); and Decisions
 * gives every class pair analysePair's decision, with or without one end fixed, with cluster tiers too.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import { compileWorld } from '../../src/lib/engine/compile.js';
import { Decisions, SourcesView } from '../../src/lib/engine/diff-classes.js';
import { analysePair, decideOnAllPorts } from '../../src/lib/engine/evaluate.js';
import { hasBit, layoutOf } from '../../src/lib/engine/layout.js';
import { Evaluator } from '../../src/lib/engine/matrix.js';
import { portSetKey } from '../../src/lib/engine/diff-groups.js';
import { ruleAdmitsClass } from '../../src/lib/engine/peers.js';
import type { World } from '../../src/lib/engine/world.js';
import { runs, SEED } from './arbitraries.js';
import { tierWorld, withNodes } from './tier-worlds.js';
import { toSnapshot, world } from './worlds.js';

/** Every class pair's decision from Decisions, asked with no end fixed, then each target, then each source fixed. */
function checkDecisions(engine: World): number {
  const { classes } = engine;
  const expected = (s: number, t: number) => decideOnAllPorts(analysePair(engine, classes[s], classes[t])).decision;
  const decisions = new Decisions(engine);
  let checked = 0;
  const check = (s: number, t: number) => {
    const got = decisions.of(s, t);
    if (JSON.stringify(got) !== JSON.stringify(expected(s, t)))
      throw new Error(`class ${s} -> ${t}: ${JSON.stringify(got)}\nexpected ${JSON.stringify(expected(s, t))}`);
    // One object per distinct decision: equal ids, equal decisions.
    checked++;
  };
  for (const s of classes) for (const t of classes) check(s.id, t.id);
  for (const t of classes) {
    decisions.fix('target');
    for (const s of classes) check(s.id, t.id);
  }
  for (const s of classes) {
    decisions.fix('source');
    for (const t of classes) check(s.id, t.id);
  }
  decisions.fix(undefined);
  const byId = new Map<number, string>();
  for (const s of classes)
    for (const t of classes) {
      const decision = decisions.of(s.id, t.id);
      const text = byId.get(decisions.id(decision)) ?? JSON.stringify(decision);
      expect(JSON.stringify(decision)).toBe(text);
      byId.set(decisions.id(decision), text);
    }
  return checked;
}

describe('SourcesView: the evaluator over a few sources answers as over every pod', () => {
  test('generated clusters, subsets of sources, every target class', () => {
    let answered = 0;
    fc.assert(
      fc.property(world, fc.array(fc.nat(), { maxLength: 12 }), (w, picks) => {
        const engine = compileWorld(toSnapshot(w));
        const layout = layoutOf(engine);
        const pods = engine.pods;
        // A pick past the pods stands for a source absent from this world (-1).
        const bits = Int32Array.from(picks, (n) =>
          n % (pods.length + 1) === pods.length ? -1 : layout.start[pods[n % (pods.length + 1)].classId],
        );
        const full = new Evaluator(layout);
        const view = new Evaluator(new SourcesView(layout, bits));
        for (const classes of engine.labelClasses) {
          full.labelClass(classes);
          view.labelClass(classes);
          expect(view.atoms.map((a) => portSetKey(a.ports))).toEqual(full.atoms.map((a) => portSetKey(a.ports)));
          for (const cls of classes) {
            const reached = full.classSources(cls);
            const seen = view.classSources(cls);
            bits.forEach((bit, i) => {
              const ports = bit >= 0 && reached.has(bit) ? portSetKey(full.portsAt(bit)) : undefined;
              const got = seen.has(i) ? portSetKey(view.portsAt(i)) : undefined;
              if (got !== ports)
                throw new Error(
                  `source ${i} (bit ${bit}) into class ${cls.id}: view ${got}, layout ${ports}\nreplay: FC_SEED=${SEED}`,
                );
              full.atoms.forEach((_, a) => {
                const inFull = bit >= 0 && full.atomSources(a).has(bit);
                expect(view.atomSources(a).has(i)).toBe(inFull);
              });
              answered += ports === undefined ? 0 : 1;
            });
          }
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000) / 2),
    );
    expect(answered).toBeGreaterThan(100);
  }, 120_000);

  test("a rule's peers' bits hold a class exactly when the rule admits it", () => {
    let admitted = 0;
    fc.assert(
      fc.property(world, (w) => {
        const engine = compileWorld(toSnapshot(w));
        const layout = layoutOf(engine);
        for (const policy of engine.policies)
          for (const rule of [...(policy.ingress ?? []), ...(policy.egress ?? [])])
            for (const cls of engine.classes) {
              const bits =
                rule.peers === 'all' ||
                rule.peers.some((peer) => hasBit(layout.peer(peer, policy.ref.namespace), layout.start[cls.id]));
              if (bits !== ruleAdmitsClass(rule, cls))
                throw new Error(
                  `${rule.ref.policy.name} ${rule.ref.direction}[${rule.ref.index}] and class ${cls.id}: bits ${bits}\nreplay: FC_SEED=${SEED}`,
                );
              admitted += bits ? 1 : 0;
            }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000) / 2),
    );
    expect(admitted).toBeGreaterThan(100);
  }, 120_000);

  test("Decisions: analysePair's decision for every class pair, with and without a fixed end", () => {
    let checked = 0;
    fc.assert(
      fc.property(world, (w) => {
        checked += checkDecisions(compileWorld(toSnapshot(w)));
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000) / 4),
    );
    fc.assert(
      fc.property(tierWorld, (w) => {
        checked += checkDecisions(compileWorld(withNodes(toSnapshot(w), w)));
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000) / 4),
    );
    expect(checked).toBeGreaterThan(1000);
  }, 120_000);
});
