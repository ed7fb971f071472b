/**
 * renderHelpFast (src/cli-help.ts) answers `--help` and `--version` from the manifest with oclif's
 * Help class: what it prints must be what oclif's own run prints, byte for byte, for the root and
 * every command, at any width; and it must leave to oclif whatever it cannot answer the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';

import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Config, Help } from '@oclif/core';

import { renderHelpFast, type ManifestCommand, type PackageJson } from '../src/cli-help.js';
import { ROOT } from './commands/run-command.js';

const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, ManifestCommand>;
};
// Fresh copies each time: oclif's Help rewrites command ids in place (`:` to the topic separator).
const commands = () => structuredClone(manifest.commands);

let config: Config;
beforeAll(async () => {
  config = await Config.load(ROOT);
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** Everything `run` wrote to stdout, and whether it answered. */
async function captured(run: () => Promise<boolean | void>): Promise<{ answered: boolean | void; stdout: string }> {
  let stdout = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  // oclif's ux.stdout writes with console.log, which jest takes for itself.
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    stdout += `${format(...args)}\n`;
  });
  const answered = await run();
  jest.restoreAllMocks();
  return { answered, stdout };
}

/** What oclif's main.run prints for a help argv: its Help on the fully loaded Config. */
function oclifHelp(argv: string[], maxWidth: number) {
  return captured(() => new Help(config, { maxWidth }).showHelp(argv));
}

const ids = Object.keys(manifest.commands);

describe('renderHelpFast', () => {
  it('covers every command, the hidden one too', () => {
    expect(ids).toEqual(expect.arrayContaining(['who-can', 'isolate', '__complete']));
  });

  it.each([40, 80, 132])('prints the root help as oclif does at width %i', async (maxWidth) => {
    for (const argv of [['--help'], []]) {
      const fast = await captured(() => renderHelpFast(argv, pjson, commands(), { maxWidth }));
      const oclif = await oclifHelp(argv, maxWidth);
      expect(fast).toEqual({ answered: true, stdout: oclif.stdout });
      expect(fast.stdout).toContain('COMMANDS');
    }
  });

  it.each(ids.flatMap((id) => [40, 80, 132].map((width) => [id, width] as const)))(
    'prints `%s --help` as oclif does at width %i',
    async (id, maxWidth) => {
      for (const argv of [
        [id, '--help'],
        ['--help', id],
        [id, '-n', 'x', '--help', 'extra'],
      ]) {
        const fast = await captured(() => renderHelpFast(argv, pjson, commands(), { maxWidth }));
        const oclif = await oclifHelp(argv, maxWidth);
        expect(fast).toEqual({ answered: true, stdout: oclif.stdout });
        expect(fast.stdout).toContain('USAGE');
      }
    },
  );

  it('prints the version as oclif does: its user agent', async () => {
    const fast = await captured(() => renderHelpFast(['--version'], pjson, commands()));
    expect(fast).toEqual({ answered: true, stdout: `${config.userAgent}\n` });
  });

  it('throws what oclif throws for the help of an unknown command', async () => {
    const fast = captured(() => renderHelpFast(['nope', '--help'], pjson, commands()));
    await expect(fast).rejects.toThrow('Command nope not found.');
    await expect(oclifHelp(['nope', '--help'], 80)).rejects.toThrow('Command nope not found.');
  });

  it.each([
    ['a command to run', ['who-can', 'web'], pjson, commands()],
    ['the word help (oclif looks for a command `help`)', ['help', 'who-can'], pjson, commands()],
    ['a --help after --', ['who-can', '--', '--help'], pjson, commands()],
    ['--version not first', ['who-can', '--version'], pjson, commands()],
    ['a theme', ['--help'], { ...pjson, oclif: { ...pjson.oclif, theme: { bin: 'red' } } }, commands()],
    ['a help class', ['--help'], { ...pjson, oclif: { ...pjson.oclif, helpClass: './help.js' } }, commands()],
    ['plugins', ['--help'], { ...pjson, oclif: { ...pjson.oclif, plugins: ['@oclif/plugin-help'] } }, commands()],
    ['hooks', ['--version'], { ...pjson, oclif: { ...pjson.oclif, hooks: { init: './init.js' } } }, commands()],
    [
      'a single-command CLI',
      ['--help'],
      { ...pjson, oclif: { ...pjson.oclif, commands: { strategy: 'single', target: './x.js' } } },
      commands(),
    ],
    ['a command with dynamic help', ['--help'], pjson, { ...commands(), x: { id: 'x', hasDynamicHelp: true } }],
    ['a command with an alias', ['--help'], pjson, { ...commands(), x: { id: 'x', aliases: ['y'] } }],
  ])('leaves to oclif, printing nothing: %s', async (_, argv, pkg, cmds) => {
    expect(await captured(() => renderHelpFast(argv, pkg as PackageJson, cmds))).toEqual({
      answered: false,
      stdout: '',
    });
  });
});
