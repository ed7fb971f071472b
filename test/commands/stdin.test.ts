/**
 * `-f -` with piped stdin, through the built CLI as users run it: oclif fills an empty first argument
 * from piped stdin unless the argument sets ignoreStdin, so the manifests must never become TARGET,
 * NAMESPACE or NAME.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { ROOT } from './run-command.js';

const SEED = readFileSync(join(ROOT, 'examples', 'seed', 'tenant-a.yaml'), 'utf8');

/** Runs `node bin/run.js ...argv` with the seed world piped to stdin (needs `npm run build`). */
function pipe(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), ...argv], {
    cwd: ROOT,
    input: SEED,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('-f - reads piped stdin as manifests, never as the positional argument', () => {
  it('who-can', () => {
    const run = pipe(['who-can', '-n', 'tenant-a', '-f', '-', '--port', '80/TCP', '--no-headers']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^tenant-a\/backend +tenant-a\/frontend +1 +80\/TCP +tenant-a\/pol1$/m);
    expect(run.status).toBe(0);
  });

  it('isolate', () => {
    const run = pipe(['isolate', '-n', 'tenant-a', '-f', '-', '--dry-run=client', '-o', 'yaml']);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.stdout).toMatch(/^kind: NetworkPolicy$/m);
    expect(run.stdout).toMatch(/^ {2}namespace: tenant-a$/m);
    expect(run.status).toBe(0);
  });

  it('allow', () => {
    const argv = ['allow', '-n', 'tenant-a', '-f', '-', '--from', 'segment=frontend', '--to', 'segment=backend'];
    const run = pipe([...argv, '--port', '80/TCP', '--dry-run=client', '-o', 'yaml']);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.stdout).toMatch(/^ {2}name: allow-frontend-to-backend-on-80-tcp$/m);
    expect(run.status).toBe(0);
  });
});
