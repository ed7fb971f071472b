import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { normalizeArgv, REPEATABLE_BY_COMMAND, SINGLE_VALUE_FLAGS } from '../src/lib/argv.js';
import { ROOT } from './commands/run-command.js';

describe('normalizeArgv', () => {
  it.each([
    [
      ['-n', 'x', 'who-can', 'web'],
      ['who-can', '-n', 'x', 'web'],
    ],
    [
      ['--namespace', 'x', 'who-can'],
      ['who-can', '--namespace', 'x'],
    ],
    [
      ['--namespace=x', 'who-can'],
      ['who-can', '--namespace=x'],
    ],
    [
      ['-nx', 'who-can'],
      ['who-can', '-nx'],
    ],
    [
      ['-A', 'who-can', '--port', '80'],
      ['who-can', '-A', '--port', '80'],
    ],
    [
      ['--context', 'kind', '--kubeconfig', '/k', '-o', 'json', 'who-can', 'b'],
      ['who-can', '--context', 'kind', '--kubeconfig', '/k', '-o', 'json', 'b'],
    ],
    [
      ['-f', 'dir', '-f', '-', 'who-can'],
      ['who-can', '-f', 'dir', '-f', '-'],
    ],
    [
      ['-l', 'app=web', '--request-timeout', '5s', 'who-can'],
      ['who-can', '-l', 'app=web', '--request-timeout', '5s'],
    ],
    [
      ['--no-headers', '-n', 'who-can', 'who-can'],
      ['who-can', '--no-headers', '-n', 'who-can'],
    ],
  ])('moves leading flags after the command: %j', (argv, expected) => {
    expect(normalizeArgv(argv)).toEqual(expected);
  });

  it.each([[['who-can', '-n', 'x']], [['--help']], [['--version']], [['-n', 'x']], [[]], [['--', 'who-can']]])(
    'leaves %j alone',
    (argv) => {
      expect(normalizeArgv(argv)).toEqual(argv);
    },
  );
});

describe('a repeated one-value flag: the last one wins, as in kubectl', () => {
  it.each([
    [
      ['isolate', '-n', 'a', '-n', 'b'],
      ['isolate', '-n', 'b'],
    ],
    [
      ['-n', 'a', 'who-can', 'web', '--namespace=b', '-nc'],
      ['who-can', 'web', '-nc'],
    ],
    [
      ['isolate', '--namespace', 'a', 'x', '-n=b', '-o', 'json', '-o', 'yaml'],
      ['isolate', 'x', '-n=b', '-o', 'yaml'],
    ],
    [
      ['who-can', '--port', '80', '--from', 'a', '--port', '81'],
      ['who-can', '--from', 'a', '--port', '81'],
    ],
    [
      ['allow', '--from', 'a', '--from', 'b', '--port', '80', '--port', '81', '-n', 'x', '-n', 'y'],
      ['allow', '--from', 'a', '--from', 'b', '--port', '80', '--port', '81', '-n', 'y'],
    ],
    [
      ['who-can', '-f', 'a', '-f', 'b', '-A', '-A'],
      ['who-can', '-f', 'a', '-f', 'b', '-A', '-A'],
    ],
    [
      ['who-can', '-n', 'a', '--', '-n', 'b'],
      ['who-can', '-n', 'a', '--', '-n', 'b'],
    ],
  ])('%j', (argv, expected) => {
    expect(normalizeArgv(argv)).toEqual(expected);
  });

  it('knows every flag that takes one value, and every one a command repeats', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, { flags: Record<string, { type: string; char?: string; multiple?: boolean }> }>;
    };
    for (const [id, command] of Object.entries(manifest.commands)) {
      for (const [name, flag] of Object.entries(command.flags)) {
        if (flag.type !== 'option') continue;
        const repeats = REPEATABLE_BY_COMMAND[id]?.includes(name) ?? false;
        if (flag.multiple) {
          expect([id, name, !SINGLE_VALUE_FLAGS.has(name) || repeats]).toEqual([id, name, true]);
        } else {
          expect([id, name, SINGLE_VALUE_FLAGS.has(name), repeats]).toEqual([id, name, true, false]);
          expect([id, name, SINGLE_VALUE_FLAGS.get(name)]).toEqual([id, name, flag.char]);
        }
      }
    }
  });

  it('kubectl-netpol isolate -n a -n tenant-a runs in tenant-a', () => {
    const out = execFileSync(
      'node',
      [
        'bin/run.js',
        'isolate',
        '-n',
        'nope',
        '-f',
        'examples/seed',
        '-n',
        'tenant-a',
        '--dry-run=client',
        '-o',
        'name',
      ],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(out).toBe('networkpolicy.networking.k8s.io/default-deny\n');
  });
});
