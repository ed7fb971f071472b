import { describe, expect, it } from '@jest/globals';

import { normalizeArgv } from '../src/lib/argv.js';

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
