/**
 * What bin/run.js and bin/kubectl_complete-netpol run, bundled by `npm run build` (scripts/build.sh)
 * with @oclif/core and the commands into dist/, so that start-up reads a few files rather than a few
 * hundred. The bins pass their own URL: oclif finds package.json and oclif.manifest.json from it.
 */
import { readFileSync } from 'node:fs';

import { flush, run } from '@oclif/core';

import { flagTableOf, normalizeArgv } from './lib/argv.js';

/** `kubectl netpol ...`: kubectl-style argv, oclif's run, one-line errors. */
export async function runCli(argv: readonly string[], binUrl: string): Promise<void> {
  try {
    // Which flags take a value comes from the flag definitions, as `npm run build` wrote them for oclif.
    const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', binUrl), 'utf8')) as {
      commands: Parameters<typeof flagTableOf>[0];
    };
    await run(normalizeArgv(argv, flagTableOf(manifest.commands)), binUrl);
    await flush();
  } catch (error) {
    // base-command (and the YAML libraries behind it) only when there is an error to report.
    const { reportError } = await import('./lib/base-command.js');
    reportError(error);
  }
}

/**
 * `kubectl netpol ...<TAB>`: the words after `netpol`, the last one being completed.
 * @public bin/kubectl_complete-netpol imports it (a file without an extension, which knip does not read).
 */
export async function completeCli(words: readonly string[], binUrl: string): Promise<void> {
  try {
    // `--` keeps oclif from taking a --help or --version on the line for its own.
    await run(['__complete', '--', ...words], binUrl);
    await flush();
  } catch {
    // Silent on error: no candidates, and the shell's default.
    process.stdout.write(':0\n');
  }
}
