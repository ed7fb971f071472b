/**
 * The views' order of groups compared by numbers: whenever ranksOf gives places to the ends' names,
 * comparing two groups' `to` places, then their `from` places, orders them as comparing their labels
 * `to from` whole with localeCompare does (what the groupings did before); when it cannot be sure it
 * says so (null).
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import { ranksOf } from '../../src/lib/engine/diff-groups.js';
import { runs } from './arbitraries.js';

/** Names built of characters where collation and code order disagree: case, punctuation, spaces, digits. */
const name = fc
  .array(fc.constantFrom(...'aAbB09 /-!.:,_zZ'.split('')), { minLength: 0, maxLength: 7 })
  .map((chars) => chars.join(''));

/** Names as the groupings write ends: `namespace/Kind/name`, or address blocks joined by spaces. */
const endName = fc.oneof(
  fc.tuple(name, fc.constantFrom('Deployment', 'Pod', 'StatefulSet', 'deployment'), name).map((p) => p.join('/')),
  fc
    .array(fc.constantFrom('0.0.0.0/0!', '::/0!', '10.0.0.0/8!10.1.0.0/16', '10.0.0.0/8!'), {
      minLength: 1,
      maxLength: 3,
    })
    .map((blocks) => blocks.join(' ')),
  name,
);

/** -1, 0 or 1. */
const sign = (n: number) => Math.sign(n);

function checkOrder(keys: string[]): boolean {
  const ranks = ranksOf(keys);
  if (!ranks) return false;
  for (let t1 = 0; t1 < keys.length; t1++) {
    for (let f1 = 0; f1 < keys.length; f1++) {
      for (let t2 = 0; t2 < keys.length; t2++) {
        for (let f2 = 0; f2 < keys.length; f2++) {
          const whole = `${keys[t1]} ${keys[f1]}`.localeCompare(`${keys[t2]} ${keys[f2]}`);
          const byRanks = ranks[t1] - ranks[t2] || ranks[f1] - ranks[f2];
          if (sign(whole) !== sign(byRanks)) {
            throw new Error(
              `"${keys[t1]} ${keys[f1]}" vs "${keys[t2]} ${keys[f2]}": ${whole} by labels, ${byRanks} by ranks`,
            );
          }
        }
      }
    }
  }
  return true;
}

describe('ranksOf: the order of group labels by the places of their ends', () => {
  test('ends as the groupings name them: the same order as the whole labels, or null', () => {
    let ranked = 0;
    fc.assert(
      fc.property(fc.uniqueArray(endName, { minLength: 1, maxLength: 6 }), (keys) => {
        ranked += checkOrder(keys) ? 1 : 0;
      }),
      runs(2000),
    );
    // Most sets of names can be ranked: the fallback is for the rare sets that cannot.
    expect(ranked).toBeGreaterThan(1000);
  });

  test('names the ranks cannot order are refused', () => {
    // Equal but for case: the collation's first level would let the `from` names decide first.
    expect(ranksOf(['a/Pod/x', 'a/pod/x'])).toBeNull();
    // A name followed by a space begins another: its label goes on with its `from` name against the rest.
    expect(ranksOf(['0.0.0.0/0!', '0.0.0.0/0! ::/0!'])).toBeNull();
    // A character below the space that joins the label.
    expect(ranksOf(['a\tb', 'a'])).toBeNull();
    expect(ranksOf(['a/Deployment/web', 'a/Pod/web-1', '0.0.0.0/0! ::/0!'])).not.toBeNull();
  });

  test('the refused names do order differently by places than as whole labels', () => {
    // Why each refusal is needed: the labels' order and the places' order disagree on these.
    expect('a/Pod/x b'.localeCompare('a/pod/x a')).toBeGreaterThan(0);
    expect('a/Pod/x'.localeCompare('a/pod/x')).toBeGreaterThan(0);
    expect('0.0.0.0/0! b'.localeCompare('0.0.0.0/0! ::/0! a')).toBeGreaterThan(0);
    expect('0.0.0.0/0!'.localeCompare('0.0.0.0/0! ::/0!')).toBeLessThan(0);
  });
});
