/**
 * Credentials never leak: a kubeconfig full of recognisable secrets (token, password, client key,
 * an exec plugin's token and env) under every error path, through the who-can command as users run
 * it. Also: exec credential plugins and in-cluster config work, and TLS is checked unless
 * --insecure-skip-tls-verify (or the kubeconfig) says otherwise.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { stringify } from 'yaml';

import WhoCan from '../../src/commands/who-can.js';
import { connectLive } from '../../src/lib/cluster/live.js';
import { runCommand } from '../commands/run-command.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { requirePrograms } from '../support/programs.js';
import { ok, startFakeApiServer } from './fake-api-server.js';
import type { FakeApiServer, Reply } from './fake-api-server.js';

const TOKEN = 'TOKEN-SECRET-a1b2c3';
const PASSWORD = 'PASSWORD-SECRET-d4e5';
const KEY = 'KEY-SECRET-f6g7h8';
const EXEC_TOKEN = 'EXEC-SECRET-i9j0k1';
const EXEC_ENV = 'ENV-SECRET-l2m3';
const SECRETS = [TOKEN, PASSWORD, KEY, EXEC_TOKEN, EXEC_ENV];
/** Where the kubelet mounts a pod's service account (token, ca.crt, namespace). */
const SERVICE_ACCOUNT = 'var/run/secrets/kubernetes.io/serviceaccount';
/** Every timer API but Date, for tests that move the clock alone. */
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;
/** The base64 forms a secret may take on the wire (basic auth, key data). */
const ENCODED = [Buffer.from(`admin:${PASSWORD}`).toString('base64'), Buffer.from(KEY).toString('base64')];

let dir: string;
let server: FakeApiServer | undefined;
let proxy: FaultProxy | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-secrets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  [proxy, server] = [undefined, undefined];
});

/** A credential plugin that prints an ExecCredential with EXEC_TOKEN (or fails, leaking on purpose). */
function execPlugin(mode: 'ok' | 'fail' | 'garbage'): string {
  const path = join(dir, `plugin-${mode}.sh`);
  const body =
    mode === 'ok'
      ? `cat <<EOF\n{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${EXEC_TOKEN}"}}\nEOF`
      : mode === 'fail'
        ? `echo "login failed for ${EXEC_TOKEN} ($SECRET_ENV)" >&2; exit 1`
        : `echo "${EXEC_TOKEN}"`;
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A kubeconfig whose every user carries a secret; contexts pick the user. */
function secretKubeconfig(serverUrl: string, extra: Record<string, unknown> = {}): string {
  const user = (name: string, u: object) => ({ name, user: u });
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: serverUrl, ...extra } }],
    users: [
      user('token', { token: TOKEN }),
      user('basic', { username: 'admin', password: PASSWORD }),
      user('cert', {
        'client-certificate-data': Buffer.from('not a cert').toString('base64'),
        'client-key-data': Buffer.from(KEY).toString('base64'),
      }),
      user('exec', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: execPlugin('ok'),
          env: [{ name: 'SECRET_ENV', value: EXEC_ENV }],
          interactiveMode: 'Never',
        },
      }),
      user('exec-fail', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: execPlugin('fail'),
          env: [{ name: 'SECRET_ENV', value: EXEC_ENV }],
          interactiveMode: 'Never',
        },
      }),
      user('exec-garbage', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: execPlugin('garbage'),
          interactiveMode: 'Never',
        },
      }),
    ],
    contexts: ['token', 'basic', 'cert', 'exec', 'exec-fail', 'exec-garbage'].map((u) => ({
      name: u,
      context: { cluster: 'c', user: u, namespace: 'shop' },
    })),
    'current-context': 'token',
  };
  const path = join(dir, `kubeconfig-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, stringify(config));
  return path;
}

/** A reply that echoes the request's credentials back (decoded too), as a careless server or proxy might. */
function echo(status: number): (req: { authorization?: string }) => Reply {
  return (req) => ({
    status,
    body: {
      kind: 'Status',
      code: status,
      message: `echo: ${req.authorization} (${Buffer.from(req.authorization?.split(' ')[1] ?? '', 'base64').toString('utf8')})`,
      reason: 'X',
    },
  });
}

function expectNoSecret(text: string): void {
  for (const secret of [...SECRETS, ...ENCODED]) expect(text).not.toContain(secret);
}

async function whoCan(kubeconfig: string, context: string, ...args: string[]) {
  return runCommand(WhoCan, [
    '-n',
    'shop',
    '--kubeconfig',
    kubeconfig,
    '--context',
    context,
    '--request-timeout',
    '1s',
    ...args,
  ]);
}

describe('secrets never appear in stdout or stderr', () => {
  const paths: [string, Reply | 'hang' | ((req: { authorization?: string }) => Reply)][] = [
    ['401', echo(401)],
    ['403', echo(403)],
    ['404', echo(404)],
    ['500', echo(500)],
    ['timeout', 'hang'],
  ];

  it.each(paths)(
    '%s, for every kind of user',
    async (_what, reply) => {
      server = await startFakeApiServer({ 'GET /api/v1/namespaces': reply as Reply });
      const kubeconfig = secretKubeconfig(server.url);
      for (const context of ['token', 'basic', 'cert', 'exec', 'exec-fail', 'exec-garbage']) {
        const run = await whoCan(kubeconfig, context);
        expect(run.exitCode).toBe(1);
        expect(run.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
        expectNoSecret(run.stdout + run.stderr);
      }
      // The exec plugin's token did reach the server (so the redaction above was tested).
      expect(server.requests.some((r) => r.authorization === `Bearer ${EXEC_TOKEN}`)).toBe(true);
    },
    30_000,
  );

  it('a reset connection', async () => {
    server = await startFakeApiServer({});
    proxy = await startFaultProxy({ mode: 'http', upstream: server.url, rules: [{ fault: { kind: 'reset' } }] });
    const kubeconfig = secretKubeconfig(proxy.url);
    for (const context of ['token', 'basic', 'exec']) {
      const run = await whoCan(kubeconfig, context);
      expect(run.exitCode).toBe(1);
      expectNoSecret(run.stdout + run.stderr);
    }
  }, 30_000);

  it('a kubeconfig that is not YAML, and an unknown context', async () => {
    const broken = join(dir, 'broken');
    writeFileSync(broken, `users:\n- name: u\n  user:\n    token: ${TOKEN}\n    password: [${PASSWORD}\n`);
    const bad = await runCommand(WhoCan, ['--kubeconfig', broken]);
    expect(bad.exitCode).toBe(1);
    expectNoSecret(bad.stdout + bad.stderr);
    const unknown = await whoCan(secretKubeconfig('http://127.0.0.1:1'), TOKEN);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(
      /^error: context "\S+" not found in the kubeconfig \(available: token, basic, cert, exec/,
    );
  });

  it('a failing credential plugin: one line naming the plugin, none of its output', async () => {
    server = await startFakeApiServer({ 'GET /api/v1/namespaces': ok('namespaces') });
    const kubeconfig = secretKubeconfig(server.url);
    for (const context of ['exec-fail', 'exec-garbage']) {
      const run = await whoCan(kubeconfig, context);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(
        /^error: the credential plugin ".*plugin-(fail|garbage)\.sh" of user "exec-(fail|garbage)" failed/,
      );
      expectNoSecret(run.stdout + run.stderr);
    }
  });

  it('with DEBUG=* in the built CLI (oclif debug output included)', () => {
    const kubeconfig = secretKubeconfig('http://127.0.0.1:1');
    for (const context of ['basic', 'exec-fail']) {
      const { status, stdout, stderr } = spawnSync(
        process.execPath,
        ['bin/run.js', 'who-can', '--kubeconfig', kubeconfig, '--context', context],
        { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', DEBUG: '*' } },
      );
      expect(status).toBe(1);
      expect(stderr).toContain('error: ');
      expectNoSecret(stdout + stderr);
    }
  }, 60_000);
});

// The TLS server's certificate is made by openssl (.ci/run installs it).
requirePrograms('openssl').describe('exec credential plugins, in-cluster config and TLS', () => {
  let cert: { key: string; cert: string } | undefined;
  let tls: Server | undefined;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    const key = join(dir, 'tls.key');
    const crt = join(dir, 'tls.crt');
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
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      crt,
    ]);
    expect(made.status).toBe(0);
    cert = { key: readFileSync(key, 'utf8'), cert: readFileSync(crt, 'utf8') };
    tls = createServer(cert, (req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: {},
          items: [{ metadata: { name: 'shop' } }],
        }),
      );
    });
    await new Promise<void>((resolve) => tls!.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => (tls ? tls.close(() => resolve()) : resolve())));
  const tlsUrl = () => `https://127.0.0.1:${(tls!.address() as AddressInfo).port}`;

  it("an exec plugin's token is sent as the bearer token", async () => {
    server = await startFakeApiServer({ 'GET /api/v1/namespaces': ok('namespaces') });
    const live = await connectLive({ kubeconfig: secretKubeconfig(server.url), context: 'exec' }, {});
    await live.api.listNamespaces();
    expect(server.requests[0].authorization).toBe(`Bearer ${EXEC_TOKEN}`);
  });

  it('an unknown certificate authority is a TLS error, unless --insecure-skip-tls-verify', async () => {
    const kubeconfig = secretKubeconfig(tlsUrl());
    const refused = await whoCan(kubeconfig, 'token');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^error: list namespaces: TLS error talking to https:\/\/127\.0\.0\.1:\d+: \S+/);
    const before = seen.length;
    const live = await connectLive({ kubeconfig, context: 'token', insecureSkipTlsVerify: true }, {});
    expect((await live.api.listNamespaces()).map((n) => n.metadata?.name)).toEqual(['shop']);
    expect(seen.slice(before)).toEqual([`Bearer ${TOKEN}`]);
  });

  it("the kubeconfig's certificate-authority-data, or its insecure-skip-tls-verify, are honoured", async () => {
    const withCa = secretKubeconfig(tlsUrl(), {
      'certificate-authority-data': Buffer.from(cert!.cert).toString('base64'),
    });
    const live = await connectLive({ kubeconfig: withCa, context: 'token' }, {});
    expect(await live.api.listNamespaces()).toHaveLength(1);
    const insecure = secretKubeconfig(tlsUrl(), { 'insecure-skip-tls-verify': true });
    expect(await (await connectLive({ kubeconfig: insecure, context: 'token' }, {})).api.listNamespaces()).toHaveLength(
      1,
    );
  });

  /** A pod's service account files where the kubelet mounts them, under a new LiveOptions.inClusterPathPrefix. */
  function podFiles(files: { token?: string; 'ca.crt'?: string; namespace?: string }): string {
    const prefix = mkdtempSync(join(dir, 'pod-'));
    mkdirSync(join(prefix, SERVICE_ACCOUNT), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(prefix, SERVICE_ACCOUNT, name), text);
    return prefix;
  }
  /** A pod's environment: the API server's Service, and a HOME without a kubeconfig. */
  const podEnv = (host = '127.0.0.1', port = String((tls!.address() as AddressInfo).port)) => ({
    HOME: join(dir, 'no-home'),
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: port,
  });

  it('in-cluster: KUBERNETES_SERVICE_HOST/PORT, the service account token, CA and namespace', async () => {
    const prefix = podFiles({ token: 'SA-TOKEN-SECRET', 'ca.crt': cert!.cert, namespace: 'tenant-a\n' });
    const live = await connectLive({ inClusterPathPrefix: prefix }, podEnv());
    expect(live).toMatchObject({ contextName: 'in-cluster', defaultNamespace: 'tenant-a', server: tlsUrl() });
    const before = seen.length;
    await live.api.listNamespaces();
    expect(seen.slice(before)).toEqual(['Bearer SA-TOKEN-SECRET']);
  });

  it('in-cluster: the token is read again from its file as it rotates (after a minute, as client-go)', async () => {
    const prefix = podFiles({ token: 'SA-TOKEN-OLD', 'ca.crt': cert!.cert });
    const live = await connectLive({ inClusterPathPrefix: prefix }, podEnv());
    const before = seen.length;
    // Only the clock is faked: the sockets and the client's own timers run as they do.
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: Date.now() });
    try {
      await live.api.listNamespaces();
      writeFileSync(join(prefix, SERVICE_ACCOUNT, 'token'), 'SA-TOKEN-NEW');
      jest.setSystemTime(Date.now() + 61_000);
      await live.api.listNamespaces();
    } finally {
      jest.useRealTimers();
    }
    expect(seen.slice(before)).toEqual(['Bearer SA-TOKEN-OLD', 'Bearer SA-TOKEN-NEW']);
  });

  it('in-cluster: the server is https on any port, an IPv6 host in brackets', async () => {
    const prefix = podFiles({ token: 'SA-TOKEN-SECRET' });
    expect((await connectLive({ inClusterPathPrefix: prefix }, podEnv('::1', '443'))).server).toBe('https://[::1]:443');
    expect((await connectLive({ inClusterPathPrefix: prefix }, podEnv('127.0.0.1', '8080'))).server).toBe(
      'https://127.0.0.1:8080',
    );
  });

  it('in-cluster without ca.crt or namespace: the system roots verify the server, the namespace is default', async () => {
    const live = await connectLive({ inClusterPathPrefix: podFiles({ token: 'SA-TOKEN-SECRET' }) }, podEnv());
    expect(live.defaultNamespace).toBe('default');
    await expect(live.api.listNamespaces()).rejects.toThrow(
      /^list namespaces: TLS error talking to https:\/\/127\.0\.0\.1:\d+: \S+$/,
    );
  });

  it('a kubeconfig, when there is one, wins over in-cluster config', async () => {
    const prefix = podFiles({ token: 'SA-TOKEN-SECRET', 'ca.crt': cert!.cert, namespace: 'tenant-a' });
    const kubeconfig = secretKubeconfig(tlsUrl());
    const home = mkdtempSync(join(dir, 'home-'));
    mkdirSync(join(home, '.kube'));
    copyFileSync(kubeconfig, join(home, '.kube', 'config'));
    for (const [opts, env] of [
      [{ kubeconfig }, podEnv()],
      [{}, { ...podEnv(), KUBECONFIG: kubeconfig }],
      [{}, { ...podEnv(), HOME: home }],
    ] as const) {
      const live = await connectLive({ ...opts, inClusterPathPrefix: prefix }, env);
      expect(live).toMatchObject({ contextName: 'token', defaultNamespace: 'shop' });
    }
  });

  it('not in a cluster, as kubectl: without KUBERNETES_SERVICE_PORT, or without the token', async () => {
    const withToken = podFiles({ token: 'SA-TOKEN-SECRET' });
    const noPort = { ...podEnv(), KUBERNETES_SERVICE_PORT: '' };
    await expect(connectLive({ inClusterPathPrefix: withToken }, noPort)).rejects.toThrow(/^no kubeconfig found/);
    const noToken = podFiles({ 'ca.crt': cert!.cert, namespace: 'tenant-a' });
    await expect(connectLive({ inClusterPathPrefix: noToken }, podEnv())).rejects.toThrow(/^no kubeconfig found/);
  });
});
