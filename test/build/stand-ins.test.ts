/**
 * What scripts/build.sh bundles in place of two of oclif's dependencies must answer as they do:
 * ejs-verbatim.cjs renders every text oclif renders as ejs does, whether it skips ejs (no tag) or
 * hands the text on (a tag); tinyglobby-lazy.cjs globs as tinyglobby does; command-order.cjs, given to
 * oclif's sort of the commands, orders ids as localeCompare does.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { ROOT } from '../commands/run-command.js';

type Render = (template: string, data: object) => string;
const require = createRequire(import.meta.url);
const verbatim = require(join(ROOT, 'scripts', 'build', 'ejs-verbatim.cjs')) as { render: Render };
const ejs = require('ejs') as { render: Render };
type Glob = (patterns: string[], options: { cwd: string }) => Promise<string[]>;
const lazyGlob = require(join(ROOT, 'scripts', 'build', 'tinyglobby-lazy.cjs')) as { glob: Glob };
const tinyglobby = require('tinyglobby') as { glob: Glob };

/** Every string in a JSON value. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

const data = { config: { bin: 'kubectl netpol' }, opts: {} };

describe('ejs-verbatim', () => {
  const texts = stringsOf(JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')));

  it('renders every text of the manifest as ejs does', () => {
    expect(texts.length).toBeGreaterThan(100);
    expect(texts.map((t) => verbatim.render(t, data))).toEqual(texts.map((t) => ejs.render(t, data)));
  });

  it.each([
    ['<%= config.bin %> who-can', 'kubectl netpol who-can'],
    ['literal <%% and %%>', 'literal <% and %>'],
    ['a\r\nb\n  c\\n "q" \'s\' `t`', 'a\r\nb\n  c\\n "q" \'s\' `t`'],
  ])('renders %j as ejs does', (text, rendered) => {
    expect(verbatim.render(text, data)).toBe(rendered);
    expect(ejs.render(text, data)).toBe(rendered);
  });
});

describe('tinyglobby-lazy', () => {
  it('globs as tinyglobby does', async () => {
    const patterns = ['**/*.ts', '!**/*.test.ts'];
    const found = await lazyGlob.glob(patterns, { cwd: join(ROOT, 'src') });
    expect(found).toContain('commands/who-can.ts');
    expect(found.sort()).toEqual((await tinyglobby.glob(patterns, { cwd: join(ROOT, 'src') })).sort());
  });
});

describe('command-order', () => {
  const { compareIds } = require(join(ROOT, 'scripts', 'build', 'command-order.cjs')) as {
    compareIds: (a: string, b: string) => number;
  };
  const sign = (n: number) => Math.sign(n);

  it("orders the manifest's command ids as localeCompare does", () => {
    const ids = Object.keys(
      (JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: object }).commands,
    );
    expect(ids.length).toBeGreaterThan(5);
    const reversed = [...ids].reverse();
    expect([...reversed].sort(compareIds)).toEqual([...reversed].sort((a, b) => a.localeCompare(b)));
  });

  it('compares ids of its alphabet, and any other strings, as localeCompare does', () => {
    const alphabet = fc.constantFrom(...'_-:0123456789abcdefghijklmnopqrstuvwxyz'.split(''));
    const ranked = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(''));
    const any = fc.oneof(ranked, fc.string({ maxLength: 6 }), fc.constantFrom('B', 'é', 'who-can', 'Who-can', 'a b'));
    fc.assert(
      fc.property(fc.oneof(ranked, any), fc.oneof(ranked, any), (a, b) => {
        expect(sign(compareIds(a, b))).toBe(sign(a.localeCompare(b)));
      }),
      { numRuns: 5000 },
    );
  });
});
