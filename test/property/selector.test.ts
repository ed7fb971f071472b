/** Properties of kubectl's label-selector syntax (parseSelector, formatSelector) against LabelSelector semantics. */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import {
  compileSelector,
  formatSelector,
  matchesSelector,
  parseSelector,
  SelectorSyntaxError,
  validateSelector,
} from '../../src/lib/engine/selector.js';
import { labels, runs, selector, selectorish } from './arbitraries.js';

describe('parseSelector', () => {
  test('any text: a selector the API server accepts, or a SelectorSyntaxError of one line quoting the text', () => {
    fc.assert(
      fc.property(fc.oneof(selectorish, fc.string({ maxLength: 20 })), (text) => {
        let parsed;
        try {
          parsed = parseSelector(text);
        } catch (error) {
          expect(error).toBeInstanceOf(SelectorSyntaxError);
          const message = (error as Error).message;
          expect(message.startsWith(`invalid label selector "${text}": `)).toBe(true);
          expect(message.slice(text.length).includes('\n')).toBe(false);
          return;
        }
        expect(validateSelector(parsed, 'selector')).toEqual([]);
      }),
      runs(3000),
    );
  });

  test('formatSelector then parseSelector means the same selector (same requirements, same matches)', () => {
    fc.assert(
      fc.property(selector, fc.array(labels, { minLength: 1, maxLength: 8 }), (original, labelSets) => {
        const text = formatSelector(original);
        const back = parseSelector(text);
        expect(compileSelector(back).key).toBe(compileSelector(original).key);
        for (const set of labelSets) expect(matchesSelector(back, set)).toBe(matchesSelector(original, set));
      }),
      runs(3000),
    );
  });

  test('parseSelector then formatSelector is a fixed point of the text', () => {
    fc.assert(
      fc.property(selectorish, (text) => {
        let parsed;
        try {
          parsed = parseSelector(text);
        } catch {
          return;
        }
        const canonical = formatSelector(parsed);
        expect(formatSelector(parseSelector(canonical))).toBe(canonical);
      }),
      runs(3000),
    );
  });

  test.each([
    // apimachinery's parser reads `k in ()` as the one empty value.
    ['k in ()', { matchExpressions: [{ key: 'k', operator: 'In', values: [''] }] }],
    ['k notin ()', { matchExpressions: [{ key: 'k', operator: 'NotIn', values: [''] }] }],
  ])('%s (regression found by the round trip)', (text, expected) => {
    expect(parseSelector(text)).toEqual(expected);
  });
});
