/**
 * diff's SourcesView (the layout seen through a few source pods) against the whole layout: for
 * generated clusters, any subset of the pods as sources (a source may repeat) and every target class,
 * who-can's evaluator gives each source through the view exactly the ports it gives over every pod,
 * per atom and in all.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import { compileWorld } from '../../src/lib/engine/compile.js';
import { SourcesView } from '../../src/lib/engine/diff-classes.js';
import { layoutOf } from '../../src/lib/engine/layout.js';
import { Evaluator } from '../../src/lib/engine/matrix.js';
import { portSetKey } from '../../src/lib/engine/diff-groups.js';
import { runs, SEED } from './arbitraries.js';
import { toSnapshot, world } from './worlds.js';

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
});
