/**
 * scripts/build/compiled.mjs, which dist/ loads oclif through (dist/oclif.cjs): the CommonJS file runs
 * with its require, module and dynamic import(); V8's compiled code is written after the first run,
 * in a directory of the user's own, read by the next run and accepted by V8; NODE_DISABLE_COMPILE_CACHE
 * turns it off; a damaged cache is compiled anew and rewritten; writing one removes the stale ones. Each run is a process of its own (the
 * cache is written as the process exits), laid out as dist/ is: the loader and the file side by side.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { ROOT } from '../commands/run-command.js';

let dist: string;
let cache: string;

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), 'netpol-compiled-'));
  cache = join(dist, 'cache');
  copyFileSync(join(ROOT, 'scripts', 'build', 'compiled.mjs'), join(dist, 'compiled.mjs'));
  // A CommonJS file as the build leaves oclif's: its dynamic import renamed to __netpolImport.
  writeFileSync(
    join(dist, 'lib.cjs'),
    [
      "const path = require('node:path');",
      'exports.name = path.basename(__filename);',
      'exports.same = module.exports === exports;',
      "exports.load = async () => (await __netpolImport('node:path')).sep;",
      'exports.answer = () => 6 * 7;',
    ].join('\n'),
  );
  writeFileSync(
    join(dist, 'main.mjs'),
    [
      "import vm from 'node:vm';",
      "import { loadCompiled } from './compiled.mjs';",
      // Which way the loader compiled: with cached code V8 accepted, or anew.
      'const seen = [];',
      'const Script = vm.Script;',
      'vm.Script = class extends Script { constructor(s, o) { super(s, o); seen.push(o.cachedData === undefined ? "compiled" : this.cachedDataRejected ? "rejected" : "cached"); } };',
      "const lib = loadCompiled('lib.cjs', 'h1');",
      'console.log(JSON.stringify({ name: lib.name, same: lib.same, answer: lib.answer(), sep: await lib.load(), seen }));',
    ].join('\n'),
  );
});

afterAll(() => rmSync(dist, { recursive: true, force: true }));

function run(env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [join(dist, 'main.mjs')], {
    env: { ...process.env, NODE_COMPILE_CACHE: cache, ...env },
    encoding: 'utf8',
  });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(result.stdout) as { name: string; same: boolean; answer: number; sep: string; seen: string[] };
}

const cacheFiles = () => readdirSync(cache).filter((f) => f.endsWith('.bin'));

describe('compiled.mjs', () => {
  it('runs the file with its require, module and import(); writes the compiled code once, then uses it', () => {
    rmSync(cache, { recursive: true, force: true });
    const first = run();
    expect(first).toEqual({ name: 'lib.cjs', same: true, answer: 42, sep: '/', seen: ['compiled'] });
    expect(cacheFiles()).toEqual([`${process.version}-${process.arch}-h1.bin`]);
    // The user's own: the directory 0700, the file 0600.
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(statSync(join(cache, cacheFiles()[0])).mode & 0o777).toBe(0o600);
    expect(run()).toEqual({ ...first, seen: ['cached'] });
  });

  it('compiles anew and rewrites a damaged cache; NODE_DISABLE_COMPILE_CACHE=1 neither reads nor writes one', () => {
    rmSync(cache, { recursive: true, force: true });
    run();
    const file = join(cache, cacheFiles()[0]);
    const good = readFileSync(file);
    writeFileSync(file, Buffer.alloc(good.length, 7));
    expect(run().seen).toEqual(['rejected']);
    expect(run().seen).toEqual(['cached']);
    rmSync(cache, { recursive: true, force: true });
    expect(run({ NODE_DISABLE_COMPILE_CACHE: '1' }).seen).toEqual(['compiled']);
    expect(() => readdirSync(cache)).toThrow();
  });

  it('removes, when it writes a cache file, those unused for two weeks and partial writes an hour old', () => {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { mode: 0o700 });
    const days = (n: number) => new Date(Date.now() - n * 24 * 3600 * 1000);
    const put = (name: string, age: Date) => {
      writeFileSync(join(cache, name), 'x', { mode: 0o600 });
      utimesSync(join(cache, name), age, age);
    };
    put('v18.0.0-x64-old.bin', days(15));
    put('v20.0.0-x64-recent.bin', days(13));
    put('v20.0.0-x64-recent.bin.4242', days(1));
    put('v20.0.0-x64-writing.bin.4343', new Date());
    put('notes.txt', days(100));
    run();
    expect(readdirSync(cache).sort()).toEqual(
      [
        `${process.version}-${process.arch}-h1.bin`,
        'notes.txt',
        'v20.0.0-x64-recent.bin',
        'v20.0.0-x64-writing.bin.4343',
      ].sort(),
    );
  });
});
