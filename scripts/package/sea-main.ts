/**
 * Entry of the standalone executable (Node single executable application). bin/run.js finds the
 * commands through package.json, oclif.manifest.json and dynamic imports of dist/commands/*.js;
 * inside one bundled file there is no file to find, so this hands oclif the package.json and a root
 * plugin whose commands are the classes build-sea.sh imports statically ("explicit" discovery with
 * the command table already in place). client-node stays behind the commands' `await import()`,
 * which esbuild turns into a lazily evaluated part of the bundle.
 */
import { dirname } from 'node:path';

import { Plugin, flush, run } from '@oclif/core';
import type { Command, Interfaces } from '@oclif/core';

import packageJson from '../../package.json' with { type: 'json' };
import { flagTableOfClasses, normalizeArgv } from '../../src/lib/argv.js';
import { reportError } from '../../src/lib/base-command.js';

/** Command id -> command class, as in src/commands (file name = id). */
export type CommandTable = Record<string, Command.Class>;

/** package.json as oclif sees it, with command discovery pointed at the in-memory table. */
function standalonePjson(): Interfaces.PJSON {
  return {
    ...packageJson,
    oclif: { ...packageJson.oclif, commands: { strategy: 'explicit', target: '<bundled>', identifier: 'COMMANDS' } },
  } as unknown as Interfaces.PJSON;
}

/** A loaded root plugin that never reads the file system for its manifest or its commands. */
async function loadRootPlugin(root: string, commands: CommandTable): Promise<Plugin> {
  const plugin = new Plugin({ isRoot: true, root, pjson: standalonePjson(), ignoreManifest: true });
  // loadCommandsFromTarget() returns commandCache when it is set, before importing any target.
  (plugin as unknown as { commandCache: CommandTable }).commandCache = commands;
  await plugin.load();
  return plugin;
}

/** Runs the CLI as bin/run.js does: kubectl-style argv, oclif's run, one-line errors. */
export async function runStandalone(commands: CommandTable, argv: readonly string[]): Promise<void> {
  try {
    const root = dirname(process.execPath);
    const plugin = await loadRootPlugin(root, commands);
    const argvOfOclif = normalizeArgv(argv, flagTableOfClasses(commands));
    await run(argvOfOclif, { root, pjson: plugin.pjson, plugins: new Map([[plugin.name, plugin]]) });
    await flush();
  } catch (error) {
    reportError(error);
  }
}
