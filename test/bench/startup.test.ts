/**
 * The start-up checker of bench/startup.ts: it must see @kubernetes/client-node when something loads
 * it (an import from an ES module, a CommonJS require), and must not see it for the built CLI's --help
 * and a `-f` who-can (nor a YAML library there). No timing assertions: the times depend on the machine.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { StartupResult } from '../../bench/startup.js';
import { checkLoads, findRoot, formatStartup, packagesOf, summarize } from '../../bench/startup.js';

const root = findRoot();
const built = existsSync(join(root, 'dist', 'commands'));

describe('checkLoads', () => {
  test('sees client-node imported by an ES module', () => {
    const check = checkLoads(['--input-type=module', '-e', "await import('@kubernetes/client-node');"], {
      cwd: root,
    });
    expect(check.exitCode).toBe(0);
    expect(check.clientNodeLoaded).toBe(true);
    expect(packagesOf(check.modules)).toContain('@kubernetes/client-node');
  }, 60_000);

  test('sees a CommonJS require, and not a module that was only resolved', () => {
    const resolved = checkLoads(['-e', "require.resolve('@kubernetes/client-node/package.json')"], { cwd: root });
    expect(resolved.exitCode).toBe(0);
    expect(resolved.clientNodeLoaded).toBe(false);
    const required = checkLoads(['-e', "require('@kubernetes/client-node/package.json')"], { cwd: root });
    expect(required.exitCode).toBe(0);
    expect(required.clientNodeLoaded).toBe(true);
  }, 60_000);

  test('keeps the command’s output and exit code', () => {
    const check = checkLoads(['-e', "process.stdout.write('hi'); process.exitCode = 3"]);
    expect(check).toMatchObject({ stdout: 'hi', exitCode: 3, clientNodeLoaded: false });
  }, 60_000);

  test('the built CLI loads no client-node for --help and who-can -f', () => {
    // bin/run.js runs dist/, which `npm test` builds first (npm run build).
    expect(built).toBe(true);
    const bin = join(root, 'bin', 'run.js');
    const help = checkLoads([bin, '--help'], { cwd: root });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('who-can');
    // The checker did record the CLI's modules, so "not loaded" is not an empty log (oclif is inside
    // the bundle, so the CLI's own files are what it sees).
    expect(help.modules.some((m) => m.endsWith('/dist/cli.js'))).toBe(true);
    expect(help.clientNodeLoaded).toBe(false);

    const whoCan = checkLoads([bin, 'who-can', 'backend', '-n', 'tenant-a', '--port', '80', '-f', 'examples/seed'], {
      cwd: root,
    });
    expect(whoCan.exitCode).toBe(0);
    expect(whoCan.stdout).toContain('tenant-a/frontend');
    expect(whoCan.modules.some((m) => m.endsWith('/dist/commands/who-can.js'))).toBe(true);
    expect(whoCan.clientNodeLoaded).toBe(false);

    // Nor a YAML library: plain manifests are read by our own reader, a table needs no YAML writer.
    // The bundle keeps esbuild's `// node_modules/PACKAGE/...` comments, so a chunk says what it holds.
    const yamlLibraries = (modules: string[]) =>
      modules
        .filter((m) => m.startsWith('file:') && m.includes('/dist/'))
        .flatMap((m) => [...readFileSync(fileURLToPath(m), 'utf8').matchAll(/^\/\/ node_modules\/(yaml|js-yaml)\//gm)])
        .map((match) => match[1]);
    expect(yamlLibraries(whoCan.modules)).toEqual([]);
    // The check sees them when they are loaded: -o yaml needs the writer (and the `yaml` package).
    const asYaml = checkLoads([bin, 'who-can', 'backend', '-n', 'tenant-a', '-f', 'examples/seed', '-o', 'yaml'], {
      cwd: root,
    });
    expect(asYaml.exitCode).toBe(0);
    expect(new Set(yamlLibraries(asYaml.modules))).toEqual(new Set(['yaml']));
  }, 120_000);
});

describe('summarize', () => {
  test('median and nearest-rank p90', () => {
    expect(summarize([5, 1, 4, 2, 3])).toMatchObject({ medianMs: 3, p90Ms: 5 });
    expect(summarize([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])).toMatchObject({ medianMs: 5.5, p90Ms: 9 });
  });
});

describe('formatStartup', () => {
  const timing = (medianMs: number) => ({ ...summarize([medianMs]), cpuMedianMs: null });
  const result = (kubectlVersionMs: number | null): StartupResult => ({
    runs: 1,
    warmup: 0,
    node: 'v20',
    commands: [],
    nodeBaseline: timing(100),
    kubectl: kubectlVersionMs === null ? null : { path: 'kubectl', version: 'v1', ...timing(kubectlVersionMs) },
    helpMs: 300,
    whoCanFileMs: 450,
    kubectlVersionMs,
  });

  test('says how many times kubectl version --client each target command takes', () => {
    expect(formatStartup(result(200))).toContain('--help 1.50x (target 1.5x), who-can -f 2.25x (target 2x)');
  });

  test('without kubectl there is no ratio', () => {
    expect(formatStartup(result(null))).toContain('--help - (target 1.5x), who-can -f - (target 2x)');
  });
});
