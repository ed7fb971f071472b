/**
 * Help examples are promises: each one is written as `kubectl netpol ...` (what a user types, and
 * what `<%= config.bin %>` renders to) and each one runs. The offline examples (`--filename` on the
 * bundled examples/) run here, in process; the live, shell and terminal ones run in
 * test/e2e/help-examples.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { Config } from '@oclif/core';
import type { Command } from '@oclif/core';

import { ROOT, runCommand } from './run-command.js';
import { classifyExample, isSuccessStatus, loadCommands, loadExamples, splitWords } from '../support/help-examples.js';

const commands = await loadCommands();
const examples = await loadExamples();
const offline = examples.filter((e) => e.kind === 'offline');

describe('help examples', () => {
  it('are written for the bin oclif renders: package.json oclif.bin is `kubectl netpol`', async () => {
    const config = await Config.load(ROOT);
    expect(config.bin).toBe('kubectl netpol');
    expect(examples.filter((e) => e.command.includes('<%'))).toEqual([]);
  });

  it.each([...commands].filter(([, command]) => !command.hidden).map(([id]) => [id, id]))(
    '%s has examples, each invoking `kubectl netpol %s` with long flag names',
    (id) => {
      const own = examples.filter((e) => e.id === id);
      expect(own.length).toBeGreaterThan(0);
      for (const example of own) {
        expect(example.command).toContain(`kubectl netpol ${id}`);
        expect(example.description.length).toBeGreaterThan(0);
        expect(example.argv.filter((w) => /^-[a-zA-Z]$/.test(w))).toEqual([]);
      }
    },
  );

  it('include offline ones, on the bundled examples, for who-can and isolate', () => {
    expect([...new Set(offline.map((e) => e.id))]).toEqual(expect.arrayContaining(['isolate', 'who-can']));
  });

  it.each(offline.map((e) => [e.command, e] as const))('`%s` succeeds on the bundled examples', async (_, example) => {
    const command = commands.get(example.id) as Command.Class & { new (argv: string[], config: Config): Command };
    expect(example.argv[0]).toBe(example.id);
    const result = await runCommand(command as never, example.argv.slice(1));
    expect({
      exitCode: isSuccessStatus(example.id, result.exitCode) ? 'success' : result.exitCode,
      stderr: result.stderr.match(/^error:.*$/m)?.[0],
    }).toEqual({ exitCode: 'success', stderr: undefined });
    expect(result.stdout.length).toBeGreaterThan(0);
  });
});

describe('classifyExample', () => {
  it.each([
    ['kubectl netpol who-can --filename examples/seed', 'offline', ''],
    ['kubectl netpol who-can --namespace db', 'live', ''],
    ['kubectl netpol diff --filename examples/shop-change', 'live', ''],
    ['kubectl netpol diff --base examples/shop --filename examples/shop-change', 'offline', ''],
    ["kubectl netpol allow --from 'app=web@tenant-b' --to app=api", 'live', ''],
    ['kubectl netpol allow --filename examples/seed --dry-run=client', 'terminal', 'On a terminal: choose'],
    ['source <(kubectl netpol completion bash)', 'shell', ''],
    ['kubectl netpol completion zsh > "${fpath[1]}/_kubectl-netpol"', 'shell', ''],
  ])('%s is %s', (command, kind, description) => {
    expect(classifyExample(command, description).kind).toBe(kind);
  });

  it('splits words as sh does for quotes', () => {
    expect(splitWords(`a 'b c' "d'e" f=''`)).toEqual(['a', 'b c', "d'e", 'f=']);
  });
});
