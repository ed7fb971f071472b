/**
 * oclif.manifest.json is generated (`npm run build`) and committed; oclif trusts it over the command
 * classes, so a stale one shows old help and old flags. This fails when it no longer matches them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import type { Command } from '@oclif/core';

import { ROOT } from './run-command.js';

interface ManifestFlag {
  name: string;
  char?: string;
  default?: unknown;
  dependsOn?: string[];
  description?: string;
  multiple?: boolean;
  options?: string[];
  type: 'boolean' | 'option';
}

interface ManifestCommand {
  args: Record<string, { name: string; description?: string; required?: boolean }>;
  description?: string;
  examples?: unknown[];
  flags: Record<string, ManifestFlag>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, ManifestCommand>;
  version: string;
};
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const commandIds = readdirSync(join(ROOT, 'src', 'commands'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => basename(file, '.ts'))
  .sort();

/** The parts of a flag that help and parsing depend on, from either side. */
function flagShape(flag: {
  char?: string;
  default?: unknown;
  dependsOn?: readonly string[];
  description?: string;
  multiple?: boolean;
  options?: readonly string[];
  type: string;
}): Record<string, unknown> {
  return {
    char: flag.char,
    default: typeof flag.default === 'function' ? '<dynamic>' : flag.default,
    dependsOn: flag.dependsOn,
    description: flag.description,
    multiple: flag.type === 'option' ? (flag.multiple ?? false) : undefined,
    options: flag.options,
    type: flag.type,
  };
}

describe('oclif.manifest.json', () => {
  it('lists exactly the commands in src/commands, at the package version', () => {
    expect(Object.keys(manifest.commands).sort()).toEqual(commandIds);
    expect(manifest.version).toBe(packageJson.version);
  });

  it.each(commandIds)('matches the flags, arguments and help of %s', async (id) => {
    const { default: command } = (await import(`../../src/commands/${id}.js`)) as {
      default: Command.Class;
    };
    const entry = manifest.commands[id];
    const flags = { ...command.baseFlags, ...command.flags };
    expect(Object.keys(entry.flags).sort()).toEqual(Object.keys(flags).sort());
    for (const [name, flag] of Object.entries(flags)) {
      expect({ name, ...flagShape(entry.flags[name]) }).toEqual({ name, ...flagShape(flag) });
    }
    const args = Object.entries(command.args ?? {}).map(([name, arg]) => [
      name,
      arg.description,
      arg.required ?? false,
    ]);
    expect(Object.values(entry.args).map((arg) => [arg.name, arg.description, arg.required ?? false])).toEqual(args);
    expect(entry.description).toBe(command.description);
    expect(entry.examples).toEqual(command.examples);
  });
});
