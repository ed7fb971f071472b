/**
 * The npm package as a user gets it: `npm pack` (whose prepack builds) in a copy of the sources, the
 * tarball's file list, then `npm install -g` into a temporary prefix and `kubectl netpol ...`
 * through kubectl's plugin discovery with that prefix's bin first on PATH. The copy keeps the
 * shared dist/ untouched while other test files run bin/run.js. Needs npm and kubectl on PATH:
 * without them the tests are skipped, saying so (on CI they fail).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import WhoCan from '../../../src/commands/who-can.js';
import { ROOT, runCommand } from '../../commands/run-command.js';
import { requirePrograms } from '../../support/programs.js';
import { inheritedEnv, runProgram } from './run-program.js';
import type { ProgramResult } from './run-program.js';

const npm = requirePrograms('npm');
const kubectl = requirePrograms('kubectl');

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const TIMEOUT_MS = 300_000;

/** What `npm pack` needs to build: package.json's `files` come from these (dist/ is built). */
const SOURCES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'bin',
  'src',
  'scripts',
  'examples',
];
const DOCS = ['README.md', 'LICENSE'];

let work: string;
let tarball: string;
let entries: string[];
let prefix: string;
let installedRoot: string;

/** Fails with npm's own output when a step does not exit 0. */
function expectSuccess(step: string, result: ProgramResult): void {
  if (result.code !== 0) throw new Error(`${step} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
}

/** `kubectl netpol ...` with the temporary prefix's bin first on PATH (and this node after it). */
function kubectlNetpol(args: string[]): Promise<ProgramResult> {
  const path = [join(prefix, 'bin'), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter);
  return runProgram(kubectl.paths.kubectl, ['netpol', ...args], { cwd: work, env: inheritedEnv({ PATH: path }) });
}

npm.describe('the npm package', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'netpol-tarball-'));
    const copy = join(work, 'package');
    mkdirSync(copy);
    for (const name of [...SOURCES, ...DOCS].filter((n) => existsSync(join(ROOT, n)))) {
      cpSync(join(ROOT, name), join(copy, name), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');

    const pack = await runProgram('npm', ['pack', '--pack-destination', work], { cwd: copy, env: inheritedEnv() });
    expectSuccess('npm pack', pack);
    tarball = join(work, `${packageJson.name}-${packageJson.version}.tgz`);
    const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    entries = list.stdout.split('\n').filter(Boolean).sort();

    prefix = join(work, 'prefix');
    const install = await runProgram(
      'npm',
      ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: work, env: inheritedEnv() },
    );
    expectSuccess('npm install -g', install);
    installedRoot = join(prefix, 'lib', 'node_modules', packageJson.name);
  }, TIMEOUT_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('npm pack', () => {
    it('builds before packing: the compiled commands and a manifest of every command are inside', () => {
      const commandFiles = readdirSync(join(ROOT, 'src', 'commands')).filter((f) => f.endsWith('.ts'));
      expect(entries).toEqual(
        expect.arrayContaining(commandFiles.map((f) => `package/dist/commands/${f.replace(/\.ts$/, '.js')}`)),
      );
      expect(entries).toEqual(
        expect.arrayContaining(['package/bin/run.js', 'package/oclif.manifest.json', 'package/package.json']),
      );
      const manifest = JSON.parse(
        spawnSync('tar', ['-xzOf', tarball, 'package/oclif.manifest.json']).stdout.toString(),
      ) as {
        commands: Record<string, unknown>;
        version: string;
      };
      expect(Object.keys(manifest.commands).sort()).toEqual(commandFiles.map((f) => f.replace(/\.ts$/, '')).sort());
      expect(manifest.version).toBe(packageJson.version);
    });

    it('ships the examples, README and LICENSE, and no sources, tests, fixtures, maps or declarations', () => {
      expect(entries).toEqual(
        expect.arrayContaining(['package/README.md', 'package/LICENSE', 'package/examples/seed/tenant-a.yaml']),
      );
      expect(entries.filter((e) => e.startsWith('package/examples/shop/')).length).toBeGreaterThan(0);
      const unwanted = entries.filter((e) =>
        /^package\/(src|test|bench|scripts|coverage|dist-sea|node_modules)\/|\.map$|\.d\.ts$|\.test\.|fixtures\//.test(
          e,
        ),
      );
      expect(unwanted).toEqual([]);
      const topLevel = [...new Set(entries.map((e) => e.split('/')[1]))].sort();
      expect(topLevel).toEqual([
        'LICENSE',
        'README.md',
        'bin',
        'dist',
        'examples',
        'oclif.manifest.json',
        'package.json',
      ]);
    });
  });

  describe('npm install -g from the tarball', () => {
    it('puts an executable kubectl-netpol in the prefix bin, linked to the installed bin/run.js', () => {
      const bin = join(prefix, 'bin', 'kubectl-netpol');
      expect(existsSync(bin)).toBe(true);
      expect(existsSync(join(installedRoot, 'dist', 'commands', 'who-can.js'))).toBe(true);
    });

    kubectl.test('answers `kubectl netpol --help` through kubectl plugin discovery', async () => {
      const result = await kubectlNetpol(['--help']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('$ kubectl netpol [COMMAND]');
      expect(result.stdout).toMatch(/^ {2}who-can +show which pods/m);
      expect(result.stdout).toContain(`kubectl-netpol/${packageJson.version}`);
    });

    kubectl.test(
      'answers `kubectl netpol who-can` on the installed examples as the command does in process',
      async () => {
        const seed = join(installedRoot, 'examples', 'seed');
        const result = await kubectlNetpol(['who-can', '-f', seed, '-n', 'tenant-a']);
        const expected = await runCommand(WhoCan, ['-f', join(ROOT, 'examples', 'seed'), '-n', 'tenant-a']);
        expect(result).toEqual({ code: 0, stdout: expected.stdout, stderr: '' });
        expect(result.stdout).toMatch(/^tenant-a\/backend +tenant-a\/frontend +1 +80\/TCP +tenant-a\/pol1$/m);
      },
    );
  });
});
