import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import Allow from '../src/commands/allow.js';
import Isolate from '../src/commands/isolate.js';
import WhoCan from '../src/commands/who-can.js';
import { flagTableOf, flagTableOfClasses, normalizeArgv as normalize, type FlagTable } from '../src/lib/argv.js';
import { ROOT } from './commands/run-command.js';

/** The table bin/run.js uses: oclif's manifest of the flag definitions. */
const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Parameters<typeof flagTableOf>[0];
};
const TABLE: FlagTable = flagTableOf(manifest.commands);
const normalizeArgv = (argv: readonly string[]) => normalize(argv, TABLE);

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

  it('reads which flags take a value from the definitions: the manifest says what the classes say', () => {
    const classes = flagTableOfClasses({ allow: Allow, isolate: Isolate, 'who-can': WhoCan });
    for (const id of ['allow', 'isolate', 'who-can']) {
      expect(TABLE.singleValue.get(id)).toEqual(classes.singleValue.get(id));
    }
    expect([...classes.valueFlags].every((flag) => TABLE.valueFlags.has(flag))).toBe(true);
    // The ones kubectl users type most: -n, -o, -l, --context take one value; -f and allow's --from repeat.
    const whoCan = TABLE.singleValue.get('who-can')!;
    expect([whoCan.short.get('n'), whoCan.short.get('o'), whoCan.short.get('l'), whoCan.long.has('context')]).toEqual([
      'namespace',
      'output',
      'selector',
      true,
    ]);
    expect([whoCan.long.has('filename'), TABLE.singleValue.get('allow')!.long.has('from')]).toEqual([false, false]);
    expect(['-f', '--from', '--request-timeout'].every((flag) => TABLE.valueFlags.has(flag))).toBe(true);
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
