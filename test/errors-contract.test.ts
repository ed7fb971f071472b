/**
 * docs/errors.md, row by row: each class of input and fault, the one line it prints on stderr, and
 * its exit code (0 success, 1 runtime, 2 usage). Commands run in process as users run them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

import Allow from '../src/commands/allow.js';
import Audit from '../src/commands/audit.js';
import Diff from '../src/commands/diff.js';
import Isolate from '../src/commands/isolate.js';
import ReachableFrom from '../src/commands/reachable-from.js';
import WhoCan from '../src/commands/who-can.js';
import { loadManifests } from '../src/lib/cluster/files.js';
import type { ClusterConnection } from '../src/lib/cluster/types.js';
import { ApiError } from '../src/lib/errors.js';
import { failure, ok, startFakeApiServer, withHeaders } from './cluster/fake-api-server.js';
import type { FakeApiServer, Reply } from './cluster/fake-api-server.js';
import { buildKubeconfig } from './cluster/kubeconfig-builder.js';
import { runCommand } from './commands/run-command.js';
import type { RunOutput } from './commands/run-command.js';
import { startFaultProxy } from './support/fault-proxy.js';
import type { Fault, FaultProxy } from './support/fault-proxy.js';
import { MemoryCluster } from './support/memory-cluster.js';
import { requirePrograms } from './support/programs.js';
import { startUnansweredPort } from './support/slow-endpoints.js';

let dir: string;
let server: FakeApiServer | undefined;
let proxy: FaultProxy | undefined;
const savedEnv = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };

/** Runs `fn` with environment variables set, then puts them back as they were. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-contract-'));
  // Rows about the kubeconfig must not find the developer's own.
  process.env.HOME = join(dir, 'home');
  delete process.env.KUBECONFIG;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  Object.assign(process.env, savedEnv);
  if (savedEnv.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
});
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  [proxy, server] = [undefined, undefined];
});

/** stderr without Warning lines, and the exit code. */
function outcome(run: RunOutput<unknown>): { exitCode: number; errors: string[] } {
  return { exitCode: run.exitCode, errors: run.stderr.split('\n').filter((l) => l.startsWith('error:')) };
}

/** Expects exit `code` and exactly one error line matching `line`. */
function expectOneLine(run: RunOutput<unknown>, code: number, line: RegExp | string): void {
  const { exitCode, errors } = outcome(run);
  expect({ exitCode, errors: errors.length }).toEqual({ exitCode: code, errors: 1 });
  if (typeof line === 'string') expect(errors[0]).toBe(line);
  else expect(errors[0]).toMatch(line);
  expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

function kubeconfigFor(url: string, extra: object = {}): string {
  const path = join(dir, `kc-${Math.random().toString(16).slice(2)}`);
  buildKubeconfig()
    .withCluster('c', url)
    .withTokenUser('u', 'tok-contract')
    .withContext('c', 'c', 'u')
    .withCurrentContext('c')
    .write(path);
  if (Object.keys(extra).length) {
    const text = readFileSync(path, 'utf8').replace(
      `server: ${url}`,
      `server: ${url}\n      ${Object.entries(extra)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n      ')}`,
    );
    writeFileSync(path, text);
  }
  return path;
}

/** who-can -n shop against the fake server, its namespaces list answered with `reply` (through a fault if given). */
async function whoCanLive(reply: Reply | 'hang', fault?: Fault, ...args: string[]): Promise<RunOutput<unknown>> {
  server = await startFakeApiServer({
    'GET /api/v1/namespaces': reply,
    'GET /api/v1/namespaces/shop/pods': ok('pods-shop'),
    'GET /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies': ok('networkpolicies-shop'),
    'GET /api/v1/namespaces/shop/services': ok('services-shop'),
    'GET /api/v1/pods': ok('pods-shop'),
    'GET /apis/networking.k8s.io/v1/networkpolicies': ok('networkpolicies'),
    'GET /api/v1/services': ok('services'),
  });
  let url = server.url;
  if (fault) {
    proxy = await startFaultProxy({
      mode: 'http',
      upstream: server.url,
      rules: [{ match: (r) => r.path === '/api/v1/namespaces', fault }],
    });
    url = proxy.url;
  }
  return runCommand(WhoCan, ['-n', 'shop', '--kubeconfig', kubeconfigFor(url), ...args]);
}

const SEED = ['-f', 'examples/seed'];

describe('docs/errors.md', () => {
  it('1. success: exit 0, the answer on stdout', async () => {
    const run = await runCommand(WhoCan, ['backend', '-n', 'tenant-a', '--port', '80', ...SEED]);
    expect(outcome(run)).toEqual({ exitCode: 0, errors: [] });
    expect(run.stdout).toContain('tenant-a/frontend');
  });

  it("1. success: the API server's warnings on stderr as kubectl prints them, once each", async () => {
    const warning = ['299 - "first"', '299 - "first"', '199 - "not for people"', '299 - "second, with a comma"'];
    const run = await whoCanLive(withHeaders(ok('namespaces'), { warning }));
    expect(outcome(run)).toEqual({ exitCode: 0, errors: [] });
    expect(run.stderr.split('\n').filter((l) => l.startsWith('Warning:'))).toEqual([
      'Warning: first',
      'Warning: second, with a comma',
    ]);
    expect(run.stdout).not.toContain('first');
  });

  it('2. unknown flag: exit 2', async () => {
    const run = await runCommand(WhoCan, ['--bogus', ...SEED]);
    expectOneLine(run, 2, 'error: Nonexistent flag: --bogus');
    expect(run.stderr).toContain('hint: see --help for usage');
  });

  it('3. bad flag value: exit 2', async () => {
    expectOneLine(
      await runCommand(WhoCan, ['--request-timeout', 'soon', ...SEED]),
      2,
      /^error: invalid value "soon" for --request-timeout: /,
    );
  });

  it('3. bad value of a timeout variable: exit 2', async () => {
    const run = await withEnv({ KUBECTL_NETPOL_DIAL_TIMEOUT: 'soon' }, () =>
      runCommand(WhoCan, ['--kubeconfig', kubeconfigFor('http://127.0.0.1:1')]),
    );
    expectOneLine(run, 2, /^error: invalid value "soon" for KUBECTL_NETPOL_DIAL_TIMEOUT: /);
  });

  it('4. bad label selector: exit 2', async () => {
    expectOneLine(
      await runCommand(WhoCan, ['-l', 'a in (b', ...SEED]),
      2,
      /^error: invalid value "a in \(b" for --selector: invalid label selector "a in \(b": /,
    );
  });

  it('5. bad PEER of allow: exit 2', async () => {
    const run = await runCommand(Allow, [
      '-n',
      'tenant-a',
      '--to',
      'a=b',
      '--from',
      '10.0.0.0/33',
      '--port',
      '80',
      ...SEED,
      '--dry-run=client',
    ]);
    expectOneLine(run, 2, /^error: invalid value "10\.0\.0\.0\/33" for --from: /);
  });

  it('6. -f path that does not exist: exit 1', async () => {
    expectOneLine(await runCommand(WhoCan, ['-f', 'nope.yaml']), 1, 'error: nope.yaml: no such file or directory');
  });

  it('7. manifest that is not YAML: exit 1, file and line', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kind: Pod\nmetadata: [\n');
    expectOneLine(await runCommand(WhoCan, ['-f', file]), 1, new RegExp(`^error: ${file}:\\d+: invalid YAML: `));
  });

  it('8. manifest field of the wrong type: exit 1, naming the field', async () => {
    const file = join(dir, 'wrong.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: 5}\n');
    expectOneLine(await runCommand(WhoCan, ['-f', file]), 1, `error: ${file}:1: Pod p: spec.containers must be a list`);
  });

  it('9. invalid NetworkPolicy: a warning naming it and the field, exit 0', async () => {
    const file = join(dir, 'invalid-policy.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 0}]}]\n',
    );
    const run = await runCommand(WhoCan, ['-f', file]);
    expect(outcome(run)).toEqual({ exitCode: 0, errors: [] });
    expect(run.stderr).toContain(
      'Warning: policy default/np is invalid and left out: spec.ingress[0].ports[0].port: 0 must be 1-65535',
    );
  });

  it('10. no kubeconfig: exit 1', async () => {
    expectOneLine(
      await runCommand(WhoCan, []),
      1,
      'error: no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or use -f to read manifests',
    );
  });

  it('11. kubeconfig that is not YAML: exit 1, without its content', async () => {
    const file = join(dir, 'broken-kubeconfig');
    writeFileSync(file, 'users:\n- name: u\n  user:\n    token: tok-contract\n   bad: [\n');
    const run = await runCommand(WhoCan, ['--kubeconfig', file]);
    expectOneLine(run, 1, new RegExp(`^error: cannot parse kubeconfig ${file} at line \\d+: `));
    expect(run.stderr).not.toContain('tok-contract');
  });

  it('12. unknown --context: exit 1, listing the known ones', async () => {
    const run = await runCommand(WhoCan, ['--kubeconfig', kubeconfigFor('http://127.0.0.1:1'), '--context', 'nope']);
    expectOneLine(run, 1, 'error: context "nope" not found in the kubeconfig (available: c)');
  });

  it('13. failing credential plugin: exit 1, naming it, none of its output', async () => {
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(plugin, '#!/bin/sh\necho "secret-output-xyz" >&2\nexit 1\n', { mode: 0o755 });
    const file = join(dir, 'exec-kubeconfig');
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
    );
    const run = await runCommand(WhoCan, ['--kubeconfig', file]);
    expectOneLine(run, 1, `error: the credential plugin "${plugin}" of user "u" failed`);
    expect(run.stderr).not.toContain('secret-output-xyz');
  });

  requirePrograms('openssl').test('14. TLS error: exit 1, naming --insecure-skip-tls-verify', async () => {
    const key = join(dir, 'k.pem');
    const crt = join(dir, 'c.pem');
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      key,
      '-out',
      crt,
    ]);
    expect(made.status).toBe(0);
    const tls = createServer({ key: readFileSync(key), cert: readFileSync(crt) }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
      const run = await runCommand(WhoCan, ['--kubeconfig', kubeconfigFor(url)]);
      expectOneLine(run, 1, new RegExp(`^error: list namespaces: TLS error talking to ${url}: \\S+$`));
      expect(run.stderr).toContain('--insecure-skip-tls-verify');
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });

  it('15. 401: exit 1', async () => {
    expectOneLine(
      await whoCanLive(failure('status-401')),
      1,
      'error: unauthorized: the server rejected your credentials for context "c"',
    );
  });

  it('16. 403: exit 1, with what to ask for', async () => {
    const run = await whoCanLive(failure('status-403-namespaces'));
    expectOneLine(run, 1, /^error: forbidden: user "[^"]+" cannot list resource "namespaces" in API group ""/);
    expect(run.stderr).toContain('hint: ask for list on namespaces');
  });

  it('17. 404 of a named object: exit 1', async () => {
    const run = await whoCanLive(ok('namespaces'), undefined, 'deployment/nope');
    expectOneLine(run, 1, 'error: deployment "nope" not found in namespace "shop"');
  });

  it('18. 5xx after 3 tries: exit 1', async () => {
    const run = await whoCanLive(ok('namespaces'), { kind: 'status', status: 503, message: 'etcd down' });
    expectOneLine(
      run,
      1,
      `error: list namespaces: the API server at ${proxy!.url} failed (HTTP 503): etcd down (after 3 attempts)`,
    );
  });

  it('19. 429 with a long Retry-After: exit 1 at once', async () => {
    const run = await whoCanLive(ok('namespaces'), {
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '60' },
      message: 'slow down',
    });
    expectOneLine(
      run,
      1,
      `error: list namespaces: the API server at ${proxy!.url} is throttling requests (HTTP 429): slow down`,
    );
  });

  it('20. no answer within --request-timeout: exit 1', async () => {
    const run = await whoCanLive('hang', undefined, '--request-timeout', '1s');
    expectOneLine(run, 1, `error: list namespaces: timed out after 1s talking to ${server!.url}`);
  });

  it('21. connection reset, after 3 tries: exit 1', async () => {
    const run = await whoCanLive(ok('namespaces'), { kind: 'reset' });
    expectOneLine(
      run,
      1,
      `error: list namespaces: cannot reach the API server at ${proxy!.url}: ECONNRESET (after 3 attempts)`,
    );
  });

  it('22. answer cut short, after 3 tries: exit 1', async () => {
    const run = await whoCanLive(ok('namespaces'), { kind: 'truncate', bytes: 30 });
    expectOneLine(
      run,
      1,
      /^error: list namespaces: (the response from \S+ was cut short or is not JSON|cannot reach the API server at \S+: ECONNRESET) \(after 3 attempts\)$/,
    );
  });

  /** isolate against an in-memory cluster, never prompting. */
  function isolateOn(cluster: MemoryCluster) {
    class TestIsolate extends Isolate {
      protected override async openCluster(): Promise<ClusterConnection> {
        return cluster;
      }
      protected override isInteractive(): boolean {
        return false;
      }
    }
    return (...argv: string[]) => runCommand(TestIsolate, argv);
  }

  it('23. a write would replace a policy kubectl-netpol did not create: exit 1, nothing written', async () => {
    const snapshot = (await loadManifests(['examples/seed'])).snapshot;
    const foreign = {
      metadata: { name: 'default-deny', namespace: 'tenant-a' },
      spec: { podSelector: { matchLabels: { x: 'y' } } },
    };
    const cluster = new MemoryCluster({ ...snapshot, policies: [...snapshot.policies, foreign] });
    const run = await isolateOn(cluster)('tenant-a', '--yes');
    expectOneLine(
      run,
      1,
      /^error: networkpolicy tenant-a\/default-deny already exists and was not created by kubectl-netpol .*; nothing was written$/,
    );
    expect(cluster.calls.filter((c) => c.verb === 'create')).toEqual([]);
  });

  it('24. a write failing half-way: exit 1, rolled back and said so', async () => {
    const cluster = new MemoryCluster((await loadManifests(['examples/shop'])).snapshot);
    const before = cluster.policyKeys();
    cluster.failOn(
      (c) => c.verb === 'create' && !c.dryRun && c.namespace === 'db',
      () => new ApiError('boom'),
    );
    const run = await isolateOn(cluster)('web', 'db', '--yes');
    expectOneLine(run, 1, 'error: writing networkpolicy db/default-deny failed: boom; rolled back web/default-deny');
    expect(cluster.policyKeys()).toEqual(before);
  });

  it('24. a write failing half-way, its rollback failing: what is read back is said, the rest is "state unknown"', async () => {
    const cluster = new MemoryCluster((await loadManifests(['examples/shop'])).snapshot);
    const reset = () => new ApiError('connection reset');
    cluster.failOn((c) => c.verb === 'create' && !c.dryRun && c.namespace === 'monitoring', reset);
    // Every rollback fails; once one was tried, web/default-deny cannot be read back either.
    let isRollingBack = false;
    cluster.failOn((c) => c.verb === 'delete' && !c.dryRun && (isRollingBack = true), reset);
    cluster.failOn((c) => isRollingBack && c.verb === 'get' && c.namespace === 'web', reset);
    const run = await isolateOn(cluster)('web', 'db', 'monitoring', '--yes');
    expectOneLine(
      run,
      1,
      'error: writing networkpolicy monitoring/default-deny failed: connection reset; could NOT roll back db/default-deny (created); state unknown (could not be read back): web/default-deny (created, its rollback failed)',
    );
    expect(run.stderr).toContain('hint: check those policies with kubectl get networkpolicy and fix them by hand');
  });

  requirePrograms('python3').test(
    '30. no connection within the dial timeout, even without --request-timeout: exit 1',
    async () => {
      const port = await startUnansweredPort();
      try {
        const run = await withEnv({ KUBECTL_NETPOL_DIAL_TIMEOUT: '300ms' }, () =>
          runCommand(WhoCan, ['--kubeconfig', kubeconfigFor(port.url)]),
        );
        expectOneLine(run, 1, `error: list namespaces: could not connect to ${port.url} within 0.3s`);
        expect(run.stderr).toMatch(/^hint: check that the cluster of context "c" is running and reachable/m);
      } finally {
        await port.close();
      }
    },
  );

  it('31. no TLS handshake within its timeout, even without --request-timeout: exit 1', async () => {
    proxy = await startFaultProxy({
      mode: 'tcp',
      upstream: 'https://127.0.0.1:1',
      rules: [{ fault: { kind: 'hang' } }],
    });
    const run = await withEnv({ KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT: '300ms' }, () =>
      runCommand(WhoCan, ['--kubeconfig', kubeconfigFor(proxy!.url)]),
    );
    expectOneLine(run, 1, `error: list namespaces: no TLS handshake from ${proxy.url} within 0.3s`);
    expect(run.stderr).toMatch(/^hint: something accepted the connection but never answered the TLS handshake/m);
  });

  it('25. who-can --from answering no: exit 1, "no", no error line', async () => {
    const run = await runCommand(WhoCan, ['backend', '-n', 'tenant-a', '--from', 'frontend', '--port', '81', ...SEED]);
    expect(outcome(run)).toEqual({ exitCode: 1, errors: [] });
    expect(run.stdout).toBe('no\n');
    const outbound = await runCommand(ReachableFrom, [
      'frontend',
      '-n',
      'tenant-a',
      '--to',
      'backend',
      '--port',
      '81',
      ...SEED,
    ]);
    expect(outcome(outbound)).toEqual({ exitCode: 1, errors: [] });
    expect(outbound.stdout).toBe('no\n');
  });

  it('26. a question with nothing to check: exit 3', async () => {
    const run = await runCommand(WhoCan, ['-l', 'pod=nothing', '-n', 'tenant-a', '--from', 'frontend', ...SEED]);
    expectOneLine(run, 3, 'error: nothing to check: no pods in namespace tenant-a match the selector pod=nothing');
    expect(run.stderr).toMatch(/^hint: /m);
    const outbound = await runCommand(ReachableFrom, ['backend', '-n', 'tenant-a', '--to', 'backend', ...SEED]);
    expectOneLine(
      outbound,
      3,
      /^error: nothing to check: the only pod of the source is the only pod of the destination/,
    );
  });

  it('27. a question and a runtime error: the same line, exit 3', async () => {
    const missing = ['-f', 'test/fixtures/who-can/no-such-file.yaml'];
    const run = await runCommand(WhoCan, ['backend', '-n', 'tenant-a', '--from', 'frontend', ...missing]);
    expectOneLine(run, 3, /^error: test\/fixtures\/who-can\/no-such-file\.yaml: no such file/);
    const outbound = await runCommand(ReachableFrom, [
      'deployment/frontend',
      '-n',
      'web',
      '--to',
      'api/service/api',
      '--port',
      '8080',
      '-f',
      'examples/shop',
    ]);
    expectOneLine(outbound, 3, 'error: service api/api has no port 8080 (it has http:80/TCP)');
  });

  it('28. reachable-from --to CIDR --port NAME: exit 2', async () => {
    const run = await runCommand(ReachableFrom, [
      'frontend',
      '-n',
      'tenant-a',
      '--to',
      '10.0.0.0/8',
      '--port',
      'http',
      ...SEED,
    ]);
    expectOneLine(run, 2, /^error: --port "http" names a port, and an address block has no port names/);
    expect(run.stderr).toContain('hint: give the port number');
  });

  it('29. flags of two forms of a command: exit 2, naming the conflict, before anything is read', async () => {
    const run = await runCommand(Isolate, ['-A', '--off']);
    expectOneLine(
      run,
      2,
      'error: -A (--all-namespaces) shows the status of every namespace and cannot be combined with --off: name the namespaces to change',
    );
    expect(run.stderr).toContain('hint: kubectl netpol isolate NAMESPACE... --off\n');
    expectOneLine(
      await runCommand(Isolate, ['--status', '--egress', ...SEED]),
      2,
      /^error: --status only shows isolation and cannot be combined with --egress: /,
    );
    expectOneLine(
      await runCommand(Isolate, ['tenant-a', '--off', '--egress', ...SEED, '--dry-run=client']),
      2,
      /^error: --off removes the whole policy kubectl-netpol created and cannot be combined with --egress$/,
    );
    expectOneLine(
      await runCommand(Allow, ['--import', 'examples/legacy/pol1.json', '--to', 'a=b']),
      2,
      'error: --import reads the whole policy from examples/legacy/pol1.json and cannot be combined with --to',
    );
  });

  const DIFF_BASE = ['--base', 'test/fixtures/diff/base.yaml'];

  it('32. diff finding changes: exit 1, the changes on stdout, no error line; none: exit 0', async () => {
    const run = await runCommand(Diff, [...DIFF_BASE, '-f', 'test/fixtures/diff/change.yaml']);
    expect(outcome(run)).toEqual({ exitCode: 1, errors: [] });
    expect(run.stdout).toMatch(/^1 connection opened, 3 closed in 1 namespace$/m);
    const unchanged = await runCommand(Diff, [
      '--base',
      'examples/shop',
      '--delete',
      'networkpolicy/default-deny',
      '-n',
      'api',
    ]);
    expect(outcome(unchanged)).toEqual({ exitCode: 0, errors: [] });
    expect(unchanged.stdout).toMatch(/^No connection opened or closed\.$/m);
  });

  it('33. diff and a runtime error, or --delete of a policy that is not there: the same line, exit 3', async () => {
    const missing = await runCommand(Diff, [...DIFF_BASE, '-f', 'test/fixtures/diff/no-such-file.yaml']);
    expectOneLine(missing, 3, /^error: test\/fixtures\/diff\/no-such-file\.yaml: no such file/);
    expect(missing.stdout).toBe('');
    const cluster = new MemoryCluster((await loadManifests(['test/fixtures/diff/base.yaml'])).snapshot).forbid(
      'list',
      'namespaces',
    );
    class LiveDiff extends Diff {
      protected override async openCluster(): Promise<ClusterConnection> {
        return cluster;
      }
    }
    expectOneLine(
      await runCommand(LiveDiff, ['-f', 'test/fixtures/diff/change.yaml']),
      3,
      /^error: forbidden: user "tester" cannot list resource "namespaces"/,
    );
    expectOneLine(
      await runCommand(Diff, [...DIFF_BASE, '--delete', 'networkpolicy/nope', '-n', 'shop']),
      3,
      'error: networkpolicy "nope" not found in namespace "shop"',
    );
  });

  it('34. diff with a TARGET or --from found in neither world: exit 3, naming it', async () => {
    const change = ['-f', 'test/fixtures/diff/change.yaml', '-n', 'shop'];
    expectOneLine(await runCommand(Diff, [...DIFF_BASE, ...change, 'nope']), 3, 'error: pod shop/nope not found');
    expectOneLine(
      await runCommand(Diff, [...DIFF_BASE, ...change, '--from', 'deployment/nope']),
      3,
      /^error: deployment shop\/nope/,
    );
  });

  it('35. audit finding something at or above --fail-on: exit 1, no error line', async () => {
    const run = await runCommand(Audit, ['-n', 'web', '-f', 'examples/shop']);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^SEVERITY +ID/);
    expect(run.stderr).not.toMatch(/^error:/m);
  });

  it('36. audit that cannot answer (a namespace, an expectation naming what does not exist): exit 3', async () => {
    expectOneLine(
      await runCommand(Audit, ['-n', 'nope', '-f', 'examples/shop']),
      3,
      /^error: namespace "nope" not found/,
    );
    expectOneLine(
      await runCommand(Audit, [
        '-n',
        'api',
        '-f',
        'examples/shop',
        '--expect',
        'test/fixtures/audit/missing-expectations.yaml',
      ]),
      3,
      /^error: expectation 1 \(web\/deployment\/nope -> api\/deployment\/api on 8080\): deployment web\/nope not found/,
    );
  });

  it('37. audit --ignore of an unknown id or a malformed object, a malformed --expect file: exit 2', async () => {
    expectOneLine(
      await runCommand(Audit, ['-A', '-f', 'examples/shop', '--ignore', 'bogus']),
      2,
      'error: invalid value "bogus" for --ignore: no finding has this id',
    );
    expectOneLine(
      await runCommand(Audit, ['-A', '-f', 'examples/shop', '--ignore', 'rule-shadowed:web/']),
      2,
      'error: invalid value "rule-shadowed:web/" for --ignore: name the object as NAMESPACE/NAME, or NAME when it is cluster-scoped',
    );
    expectOneLine(
      await runCommand(Audit, ['-A', '-f', 'examples/shop', '--expect', 'test/fixtures/audit/bad-expectations.yaml']),
      2,
      'error: test/fixtures/audit/bad-expectations.yaml: expectation 1: allowed must be true or false',
    );
  });

  it('38. isolate --baseline on a cluster without ClusterNetworkPolicy: exit 1, naming what it serves, nothing written', async () => {
    const snapshot = (await loadManifests(['examples/shop'])).snapshot;
    const alpha = new MemoryCluster(snapshot, {
      apiGroups: [{ name: 'policy.networking.k8s.io', versions: ['v1alpha1'] }],
    });
    expectOneLine(
      await isolateOn(alpha)('web', '--baseline', '--yes'),
      1,
      'error: the cluster does not serve ClusterNetworkPolicy (policy.networking.k8s.io v1beta1 or v1alpha2): it serves policy.networking.k8s.io v1alpha1 only; nothing was written',
    );
    const absent = new MemoryCluster(snapshot, { apiGroups: [{ name: 'apps', versions: ['v1'] }] });
    expectOneLine(
      await isolateOn(absent)('web', '--baseline', '--yes'),
      1,
      'error: the cluster does not serve ClusterNetworkPolicy (policy.networking.k8s.io v1beta1 or v1alpha2): the API group policy.networking.k8s.io is absent; nothing was written',
    );
    expect([...alpha.calls, ...absent.calls].filter((c) => c.verb !== 'get' && c.verb !== 'list')).toEqual([]);
  });
});

describe('docs/errors.md, warnings of allow and isolate: exit 0, the warning line, the policy still shown', () => {
  const SHOP = ['-f', 'examples/shop', '--dry-run=client'];
  const allowShop = (...argv: string[]) => runCommand(Allow, [...argv, ...SHOP]);
  const warnings = (run: RunOutput<unknown>) => run.stderr.split('\n').filter((l) => l.startsWith('Warning: '));

  it('W1-W3: what matches nothing, with the near-miss', async () => {
    const run = await allowShop('-n', 'api', '--to', 'app=apii', '--from', 'app=workr', '--port', '8080');
    expect(outcome(run)).toEqual({ exitCode: 0, errors: [] });
    expect(run.stdout).toMatch(/created \(dry run\)\n$/);
    expect(warnings(run)).toEqual([
      'Warning: the policy selects no pod: no pod of namespace api matches app=apii (did you mean app=api for app=apii?)',
      'Warning: the source app=workr matches nothing: no pod matches it (did you mean app=worker for app=workr?)',
    ]);
    const namespace = await allowShop('-n', 'api', '--to', 'app=api', '--from', '@kube-sytem', '--port', '53');
    expect(warnings(namespace)).toContain(
      'Warning: the source @kube-sytem matches nothing: it selects no namespace (did you mean namespace kube-system for kube-sytem?)',
    );
    const port = await allowShop('-n', 'api', '--to', 'app=api', '--from', 'app=worker', '--port', 'htpp');
    expect(outcome(port)).toEqual({ exitCode: 0, errors: [] });
    expect(warnings(port)).toContain(
      'Warning: port htpp/TCP is defined by none of the pods the policy selects: nothing is opened on it (did you mean http?)',
    );
  });

  it('W4-W5: blocked by the other side; the first policy on pods', async () => {
    const blocked = await allowShop('-n', 'api', '--to', 'app=api', '--from', 'app=worker', '--port', '8080');
    expect(outcome(blocked)).toEqual({ exitCode: 0, errors: [] });
    expect(warnings(blocked)).toEqual([
      expect.stringMatching(
        /^Warning: 8 connections this policy admits stay blocked on 8080\/TCP by the egress policies of the source .*; to open them: kubectl netpol allow --egress /,
      ),
    ]);
    const first = await allowShop('-n', 'web', '--to', 'run=toolbox', '--from', 'app=frontend', '--port', '80');
    expect(outcome(first)).toEqual({ exitCode: 0, errors: [] });
    expect(warnings(first)).toEqual([
      expect.stringMatching(
        /^Warning: this is the first ingress policy on 1 pod: 9 connections allowed today become denied .*--from 0\.0\.0\.0\/0 --from ::\/0 --to run=toolbox$/,
      ),
    ]);
  });

  it('W6-W7: cluster tier rules that decide instead of the new policy (Admin first; a Baseline Deny it overrides)', async () => {
    const TIERS = ['-f', 'examples/shop-tiers'];
    const moot = await allowShop(
      '-n',
      'db',
      '--to',
      'app=postgres',
      '--from',
      'app=frontend@web',
      '--port',
      '5432',
      ...TIERS,
    );
    expect(outcome(moot)).toEqual({ exitCode: 0, errors: [] });
    expect(moot.stderr).toContain(
      'No connection changes: Admin-tier cluster policies decide what this policy admits before it is asked (see the warning).',
    );
    expect(warnings(moot)).toEqual([
      'Warning: 6 connections this policy admits (web/deployment/frontend -> db/statefulset/postgres 5432/TCP (6 connections)): ClusterNetworkPolicy/protect-db (Admin, priority 10) rule nobody-else denies them first, so this policy does not decide them',
    ]);
    const overrides = await allowShop('-n', 'web', '--to', 'run=toolbox', '--from', '@*', '--port', '9000', ...TIERS);
    expect(outcome(overrides)).toEqual({ exitCode: 0, errors: [] });
    expect(warnings(overrides)).toContain(
      "Warning: 7 connections this policy admits (web/deployment/frontend -> web/toolbox 9000/TCP (3 connections), db/statefulset/postgres -> web/toolbox 9000/TCP (2 connections), kube-system/deployment/coredns -> web/toolbox 9000/TCP (2 connections)): they were denied by ClusterNetworkPolicy/namespaces-closed-by-default (Baseline, priority 10) rule deny-other-pods; this policy isolates the pods, so the Baseline tier no longer applies and this policy's rules decide",
    );
  });
});
