/** The shared conformance checker, run against the built CLI (`who-can -A --port P/PROTO -o json` per case). */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { requirePrograms } from '../../support/programs.js';
import { sharedPath } from '../../support/shared.js';

const CHECK = sharedPath('conformance', 'check.py');

requirePrograms('python3').describe('../shared/conformance/check.py through the CLI', () => {
  test('every case passes', () => {
    expect(existsSync(CHECK)).toBe(true);
    const run = spawnSync('python3', [CHECK, '--jobs', '2', '-q'], {
      encoding: 'utf8',
      env: { ...process.env, NETPOL_BIN: `node ${resolve('bin/run.js')}`, NODE_OPTIONS: '' },
      timeout: 240_000,
    });
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(run.stdout);
    expect([run.status, run.stdout.split('\n').filter((l) => l.startsWith('FAIL'))]).toEqual([0, []]);
    expect(Number(summary?.[1])).toBeGreaterThan(20);
    expect(Number(summary?.[2])).toBe(0);
  }, 300_000);
});
