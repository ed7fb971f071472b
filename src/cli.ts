/**
 * What bin/run.js and bin/kubectl_complete-netpol run, bundled by `npm run build` (scripts/build.sh)
 * with @oclif/core and the commands into dist/, so that start-up reads a few files rather than a few
 * hundred. The bins pass their own URL: package.json and oclif.manifest.json are found from it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { ManifestCommand, PackageJson } from './cli-help.js';
import { renderHelpFast } from './cli-help.js';
import { flagTableOf, normalizeArgv } from './lib/argv.js';

const SKIP_ENGINE_CHECK = 'OCLIF_DISABLE_ENGINE_WARNING';

/**
 * Loads @oclif/core. When it loads it checks the Node version against its own package.json, found from
 * `__dirname`; inside the bundle there is neither, so the check gives up (in a try), but only after
 * loading semver (47 modules, about a tenth of `--help`): its variable skips that dead check. The
 * environment is restored after, so nothing we start sees it.
 */
async function loadOclif() {
  const preset = process.env[SKIP_ENGINE_CHECK];
  process.env[SKIP_ENGINE_CHECK] = '1';
  try {
    // CommonJS: its module.exports is the default export (in Node, and in the bundle, where the
    // named exports of a dynamic import are not filled in).
    return (await import('@oclif/core')).default;
  } finally {
    if (preset === undefined) delete process.env[SKIP_ENGINE_CHECK];
    else process.env[SKIP_ENGINE_CHECK] = preset;
  }
}

function readJson<T>(path: string, binUrl: string): T {
  return JSON.parse(readFileSync(new URL(path, binUrl), 'utf8')) as T;
}

/**
 * What oclif's Config.load would find from the bin's URL, given to it: the package root (the bin's
 * parent directory) and its package.json, which spares it walking up to find and read it.
 */
function loadOptions(binUrl: string, pjson: PackageJson = readJson<PackageJson>('../package.json', binUrl)) {
  return { root: fileURLToPath(new URL('..', binUrl)), pjson: pjson as never };
}

/** `kubectl netpol ...`: kubectl-style argv, oclif's run, one-line errors. */
export async function runCli(argv: readonly string[], binUrl: string): Promise<void> {
  try {
    // Which flags take a value comes from the flag definitions, as `npm run build` wrote them for oclif.
    const manifest = readJson<{
      commands: Record<string, ManifestCommand & Parameters<typeof flagTableOf>[0][string]>;
    }>('../oclif.manifest.json', binUrl);
    const oclifArgv = normalizeArgv(argv, flagTableOf(manifest.commands));
    // Help and the version from the manifest, without the rest of oclif, when that is what oclif would print.
    const pjson = readJson<PackageJson>('../package.json', binUrl);
    if (await renderHelpFast(oclifArgv, pjson, manifest.commands)) return;
    const { flush, run } = await loadOclif();
    await run(oclifArgv, loadOptions(binUrl, pjson));
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
    const { flush, run } = await loadOclif();
    // `--` keeps oclif from taking a --help or --version on the line for its own.
    await run(['__complete', '--', ...words], loadOptions(binUrl));
    await flush();
  } catch {
    // Silent on error: no candidates, and the shell's default.
    process.stdout.write(':0\n');
  }
}
