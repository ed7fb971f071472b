/** Decisions (diff-classes.ts): one decision key per pair of label classes, one decision object per distinct answer. */
import { describe, expect, test } from '@jest/globals';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { Decisions } from '../../src/lib/engine/diff-classes.js';
import { analysePair, decideOnAllPorts } from '../../src/lib/engine/evaluate.js';
import { WorldBuilder } from './world-builder.js';

const world = () =>
  compileWorld(
    new WorldBuilder()
      .namespace('x')
      .pod('x/db', { app: 'db' })
      .pod('x/web-1', { app: 'web', track: 'stable' })
      .pod('x/web-2', { app: 'web', track: 'canary' })
      .pod('x/batch', { app: 'batch' })
      .policy('x/db', {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }],
      })
      // Reads `track`, so the two web pods are label classes of their own.
      .policy('x/canary', { podSelector: { matchLabels: { track: 'canary' } }, policyTypes: ['Egress'] })
      .build(),
  );

describe('Decisions', () => {
  test('pairs of other label classes admitted by the same rules share one decision, as analysePair decides it', () => {
    const w = world();
    const classOf = (name: string) => w.podsByKey.get(`x/${name}`)!.classId;
    const decisions = new Decisions(w);
    const [db, web1, web2, batch] = ['db', 'web-1', 'web-2', 'batch'].map(classOf);
    expect(w.classes[web1].labelClass).not.toBe(w.classes[web2].labelClass);

    // web-2's egress is isolated by x/canary (no rule): its answer differs from web-1's.
    const keys = [decisions.key(web1, db), decisions.key(web2, db), decisions.key(batch, db)];
    expect(new Set(keys).size).toBe(3);
    expect(decisions.key(web1, db)).toBe(keys[0]);
    for (const [i, source] of [web1, web2, batch].entries()) {
      expect(decisions.decision(keys[i])).toEqual(
        decideOnAllPorts(analysePair(w, w.classes[source], w.classes[db])).decision,
      );
    }
    expect(decisions.decision(keys[0])!.ingress.allowedBy.map((r) => r.policy.name)).toEqual(['db']);
  });

  test('a source alike in what the rules read reuses the decision object of another label class', () => {
    const w = compileWorld(
      new WorldBuilder()
        .namespace('x')
        .pod('x/db', { app: 'db' })
        .pod('x/web-1', { app: 'web', track: 'stable' })
        .pod('x/web-2', { app: 'web', track: 'canary' })
        .policy('x/db', {
          podSelector: { matchLabels: { app: 'db' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }],
        })
        .policy('x/canary-in', { podSelector: { matchLabels: { track: 'canary' } }, policyTypes: ['Ingress'] })
        .build(),
    );
    const classOf = (name: string) => w.podsByKey.get(`x/${name}`)!.classId;
    const [db, web1, web2] = ['db', 'web-1', 'web-2'].map(classOf);
    expect(w.classes[web1].labelClass).not.toBe(w.classes[web2].labelClass);
    const decisions = new Decisions(w);
    const [k1, k2] = [decisions.key(web1, db), decisions.key(web2, db)];
    expect(k1).not.toBe(k2);
    expect(decisions.decision(k2)).toBe(decisions.decision(k1));
    expect(decisions.id(decisions.of(web2, db))).toBe(decisions.id(decisions.of(web1, db)));
    // Into web-2 (isolated for ingress, no rule) the answer is another.
    expect(decisions.of(db, web2)).not.toBe(decisions.of(db, web1));
  });
});
