/**
 * The standalone executable (a Node single executable application) and its krew release: runs
 * scripts/package/build-sea.sh into a temporary directory, then runs the binary with a PATH holding
 * only it (no node anywhere), offline and against a fake API server, checks the archive and the
 * krew manifest's sha256, and installs both with a real krew, which Go builds (without go or kubectl
 * on PATH that test is skipped, saying so; on CI it fails).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Command } from '@oclif/core';
import { parse } from 'yaml';

import WhoCan from '../../../src/commands/who-can.js';
import { ok, readRecorded, startFakeApiServer } from '../../cluster/fake-api-server.js';
import { buildKubeconfig } from '../../cluster/kubeconfig-builder.js';
import { ROOT, runCommand } from '../../commands/run-command.js';
import { requirePrograms } from '../../support/programs.js';
import { inheritedEnv, runProgram } from './run-program.js';
import type { ProgramResult } from './run-program.js';

const BUILD_TIMEOUT_MS = 900_000; // the first build fetches the Node runtime (about 50 MB) from npm
const RUN_TIMEOUT_MS = 60_000; // a child process on a busy CI machine
const ARCHIVE = 'kubectl-netpol_linux_amd64.tar.gz';
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const commandIds = readdirSync(join(ROOT, 'src', 'commands'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

/** The commands `--help` lists: those not hidden. */
async function visibleCommandIds(): Promise<string[]> {
  const visible: string[] = [];
  for (const id of commandIds) {
    const { default: command } = (await import(`../../../src/commands/${id}.js`)) as { default: Command.Class };
    if (!command.hidden) visible.push(id);
  }
  return visible;
}

let work: string;
let out: string;
let binDir: string;

/** Runs the executable from a PATH that holds only it: no node, no shell tools. */
function runStandalone(args: string[], env: Record<string, string> = {}): Promise<ProgramResult> {
  return runProgram('kubectl-netpol', args, { cwd: ROOT, env: { PATH: binDir, HOME: work, ...env } });
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'netpol-sea-'));
  out = join(work, 'dist-sea');
  const build = await runProgram('bash', [join(ROOT, 'scripts', 'package', 'build-sea.sh')], {
    cwd: ROOT,
    env: inheritedEnv({ SEA_OUT: out }),
  });
  if (build.code !== 0) throw new Error(`build-sea.sh exited ${build.code}\n${build.stdout}\n${build.stderr}`);
  binDir = join(work, 'bin');
  mkdirSync(binDir);
  copyFileSync(join(out, 'kubectl-netpol'), join(binDir, 'kubectl-netpol'));
  spawnSync('chmod', ['0755', join(binDir, 'kubectl-netpol')]);
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the standalone executable', () => {
  it(
    'is a Linux x86-64 executable, run here with no node on PATH',
    () => {
      const header = readFileSync(join(binDir, 'kubectl-netpol')).subarray(0, 20);
      expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(header.readUInt16LE(18)).toBe(62); // e_machine EM_X86_64
      expect(spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH: binDir } }).status).not.toBe(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'sorts the commands without localeCompare, as dist/ does (scripts/build/command-order-plugin.mjs)',
    () => {
      const bundle = readFileSync(join(out, 'build', 'kubectl-netpol.cjs'), 'utf8');
      expect(bundle).not.toContain('.sort((a, b) => a.id.localeCompare(b.id))');
      expect(bundle).toMatch(/\.sort\(\(a, b\) => \(0, require_command_order\(\)\.compareIds\)\(a\.id, b\.id\)\)/);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'prints the help of every command',
    async () => {
      const result = await runStandalone(['--help']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('$ kubectl netpol [COMMAND]');
      for (const id of await visibleCommandIds()) expect(result.stdout).toMatch(new RegExp(`^ {2}${id} `, 'm'));
      const whoCan = await runStandalone(['who-can', '--help']);
      expect(whoCan).toMatchObject({ code: 0, stderr: '' });
      expect(whoCan.stdout).toContain('$ kubectl netpol who-can service/api --namespace api');
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'answers who-can on the bundled examples as the command does in process',
    async () => {
      const args = ['who-can', '-f', 'examples/seed', '-n', 'tenant-a'];
      const result = await runStandalone(args);
      const expected = await runCommand(WhoCan, args.slice(1));
      expect(result).toEqual({ code: 0, stdout: expected.stdout, stderr: '' });
      expect(result.stdout).toMatch(/^tenant-a\/backend +tenant-a\/frontend +1 +80\/TCP +tenant-a\/pol1$/m);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'reads the live cluster through client-node inside the bundle (a fake API server here)',
    async () => {
      const pages = ['pods-page-1', 'pods-page-2', 'pods-page-3'].map(
        (name) => readRecorded(name) as { items: unknown[] },
      );
      const server = await startFakeApiServer({
        'GET /api/v1/namespaces': ok('namespaces'),
        'GET /api/v1/pods': {
          status: 200,
          body: { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pages.flatMap((p) => p.items) },
        },
        'GET /apis/networking.k8s.io/v1/networkpolicies': ok('networkpolicies'),
        'GET /api/v1/services': ok('services'),
      });
      try {
        const kubeconfig = buildKubeconfig()
          .withCluster('fake', server.url)
          .withTokenUser('tester', 'tok-standalone')
          .withContext('fake', 'fake', 'tester', 'shop')
          .withCurrentContext('fake')
          .write(join(work, 'kubeconfig'));
        const result = await runStandalone(['who-can', '--explain'], { KUBECONFIG: kubeconfig });
        const expected = await runCommand(WhoCan, ['--explain', '--kubeconfig', kubeconfig]);
        expect({ code: expected.exitCode, stderr: expected.stderr }).toEqual({ code: 0, stderr: '' });
        expect(result).toEqual({ code: 0, stdout: expected.stdout, stderr: expected.stderr });
        expect(result.stdout).toMatch(
          /^shop\/db-0 +shop\/deployment\/api +2 +5432\/TCP +allowed +ingress: allowed by shop\/db-from-api/m,
        );
        expect(server.requests.some((r) => r.authorization === 'Bearer tok-standalone')).toBe(true);
      } finally {
        await server.close();
      }
    },
    RUN_TIMEOUT_MS,
  );

  it('evaluates client-node only on the live path: the bundle initialises live.ts inside import() alone', () => {
    const bundle = readFileSync(join(out, 'build', 'kubectl-netpol.cjs'), 'utf8');
    const calls = bundle.split('\n').filter((line) => /\binit_live\(\)/.test(line));
    expect(calls.length).toBeGreaterThan(0);
    const lazy = /Promise\.resolve\(\)\.then\(\(\) => \(init_live\(\), live_exports\)\)/;
    expect(calls.filter((line) => !lazy.test(line))).toEqual([]);
  });

  it(
    'keeps the exit codes and one-line errors: 2 for usage, 1 without a kubeconfig',
    async () => {
      const usage = await runStandalone(['who-can', '--bogus']);
      expect(usage).toEqual({
        code: 2,
        stdout: '',
        stderr: 'error: Nonexistent flag: --bogus\nhint: see --help for usage\n',
      });
      const noKubeconfig = await runStandalone(['who-can', '-n', 'x']);
      expect(noKubeconfig.code).toBe(1);
      expect(noKubeconfig.stderr).toMatch(/^error: no kubeconfig found/);
    },
    RUN_TIMEOUT_MS,
  );
});

describe('the release archive and its krew manifest', () => {
  it(
    'holds the executable, LICENSE and README.md',
    () => {
      const list = spawnSync('tar', ['-tvzf', join(out, ARCHIVE)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n');
      expect(list.map((line) => line.split(/\s+/).pop()).sort()).toEqual(['LICENSE', 'README.md', 'kubectl-netpol']);
      expect(list.find((line) => line.endsWith(' kubectl-netpol'))).toMatch(/^-rwxr-xr-x /);
      const inArchive = spawnSync('tar', ['-xzOf', join(out, ARCHIVE), 'kubectl-netpol'], {
        maxBuffer: 1 << 30,
      }).stdout;
      expect(createHash('sha256').update(inArchive).digest('hex')).toBe(sha256(join(out, 'kubectl-netpol')));
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'plugin.yaml is the template filled with the version, the archive URI and its sha256',
    () => {
      const manifest = parse(readFileSync(join(out, 'plugin.yaml'), 'utf8')) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
        spec: {
          version: string;
          homepage: string;
          shortDescription: string;
          description: string;
          platforms: { selector: { matchLabels: Record<string, string> }; uri: string; sha256: string; bin: string }[];
        };
      };
      expect(manifest).toMatchObject({
        apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
        kind: 'Plugin',
        metadata: { name: 'netpol' },
        spec: { version: `v${packageJson.version}` },
      });
      expect(manifest.spec.homepage).toMatch(/^https:\/\//);
      expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(60);
      expect(manifest.spec.description.length).toBeGreaterThan(0);
      expect(manifest.spec.platforms).toEqual([
        {
          selector: { matchLabels: { os: 'linux', arch: 'amd64' } },
          uri: expect.stringMatching(new RegExp(`^https://.*/v${packageJson.version}/${ARCHIVE}$`)),
          sha256: sha256(join(out, ARCHIVE)),
          bin: 'kubectl-netpol',
        },
      ]);
    },
    RUN_TIMEOUT_MS,
  );

  // scripts/package/krew.sh builds krew with Go (once, cached).
  const krewTools = requirePrograms('go', 'kubectl');
  krewTools.test(
    'installs with `kubectl krew install --manifest --archive` and runs as `kubectl netpol` without node',
    async () => {
      const krew = spawnSync('bash', [join(ROOT, 'scripts', 'package', 'krew.sh')], { encoding: 'utf8' });
      if (krew.status !== 0) throw new Error(`scripts/package/krew.sh exited ${krew.status}\n${krew.stderr}`);
      const tools = join(work, 'tools');
      mkdirSync(tools);
      symlinkSync(krew.stdout.trim(), join(tools, 'kubectl-krew'));
      symlinkSync(krewTools.paths.kubectl, join(tools, 'kubectl'));
      const krewRoot = join(work, 'krew');
      const env = { PATH: `${join(krewRoot, 'bin')}:${tools}`, HOME: work, KREW_ROOT: krewRoot };
      const kubectlIn = (args: string[]) => runProgram(join(tools, 'kubectl'), args, { cwd: ROOT, env });

      const tampered = join(work, ARCHIVE);
      copyFileSync(join(out, ARCHIVE), tampered);
      appendFileSync(tampered, '\0');
      const refused = await kubectlIn([
        'krew',
        'install',
        `--manifest=${join(out, 'plugin.yaml')}`,
        `--archive=${tampered}`,
      ]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('checksum does not match');

      const installed = await kubectlIn([
        'krew',
        'install',
        `--manifest=${join(out, 'plugin.yaml')}`,
        `--archive=${join(out, ARCHIVE)}`,
      ]);
      expect(installed.code).toBe(0);
      expect(installed.stderr).toContain('Installed plugin: netpol');
      expect(statSync(join(krewRoot, 'bin', 'kubectl-netpol')).mode & 0o111).not.toBe(0);

      const result = await kubectlIn(['netpol', 'who-can', '-f', 'examples/seed', '-n', 'tenant-a']);
      const expected = await runCommand(WhoCan, ['-f', 'examples/seed', '-n', 'tenant-a']);
      expect(result).toEqual({ code: 0, stdout: expected.stdout, stderr: '' });
    },
    BUILD_TIMEOUT_MS, // the first run builds krew with Go (about a minute, more on a busy machine)
  );
});
