import { describe, expect, it } from '@jest/globals';

import { parseRequestTimeout } from '../src/lib/flags.js';

describe('parseRequestTimeout', () => {
  it.each([
    ['0', 0],
    ['30', 30_000],
    ['5s', 5000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
  ])('parses %s as %d ms', (text, ms) => {
    expect(parseRequestTimeout(text)).toBe(ms);
  });

  it.each(['5x', 's', '-1s', '1 m', ''])('rejects %j', (text) => {
    expect(() => parseRequestTimeout(text)).toThrow(/--request-timeout/);
  });
});
