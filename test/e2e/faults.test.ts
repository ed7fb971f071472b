/**
 * The built CLI against the real kube-apiserver through test/support/fault-proxy.ts: at TCP level in
 * front of its TLS (resets, delays beyond --request-timeout, cut-short answers), and as an HTTP proxy
 * (like `kubectl proxy`) that fails the Nth write of a multi-namespace isolate, which must roll back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { parse, stringify } from 'yaml';

import { startFaultProxy } from '../support/fault-proxy.js';
import type { FaultProxy, FaultRule } from '../support/fault-proxy.js';
import { applyWorld, createNamespace, kubectl, runCli } from './helpers.js';

const TIMEOUT = 60_000;

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

let dir: string;
let proxy: FaultProxy | undefined;
let original: Kubeconfig;
let apiserver: URL;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-e2e-faults-'));
  original = parse(readFileSync(process.env.KUBECONFIG!, 'utf8')) as Kubeconfig;
  apiserver = new URL(original.clusters[0].cluster.server);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** The test cluster's kubeconfig with its server replaced (and its user dropped for a plain-HTTP proxy). */
function kubeconfigVia(server: string, opts: { anonymous?: boolean } = {}): string {
  const config = structuredClone(original);
  for (const c of config.clusters) {
    c.cluster.server = server;
    if (opts.anonymous) delete c.cluster['certificate-authority-data'];
  }
  const path = join(dir, `kubeconfig-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, stringify(config));
  return path;
}

/** The admin's credentials, for the HTTP proxy to present upstream (as `kubectl proxy` does). */
function adminTls() {
  const context = original.contexts.find((c) => c.name === original['current-context'])!.context;
  const user = original.users.find((u) => u.name === context.user)!.user;
  const b64 = (v: string) => Buffer.from(v, 'base64');
  return {
    ca: b64(original.clusters[0].cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
}

async function tcpProxy(rules: FaultRule[]): Promise<string> {
  proxy = await startFaultProxy({ mode: 'tcp', upstream: apiserver.toString(), rules });
  return kubeconfigVia(proxy.url);
}

function expectOneErrorLine(stderr: string, line: RegExp): void {
  const errors = stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(line);
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

describe('faults at TCP level in front of the real API server (TLS passes through)', () => {
  test(
    'a reset connection is tried again and the answer comes; reset every time is one line, exit 1',
    async () => {
      const ns = await createNamespace();
      const once = await tcpProxy([{ fault: { kind: 'reset' }, times: 1 }]);
      const ok = await runCli(['who-can', '-n', ns], { env: { KUBECONFIG: once } });
      expect(ok.code).toBe(0);
      await proxy!.close();

      const always = await tcpProxy([{ fault: { kind: 'reset' } }]);
      const failed = await runCli(['who-can', '-n', ns], { env: { KUBECONFIG: always } });
      expect(failed.code).toBe(1);
      expectOneErrorLine(
        failed.stderr,
        /^error: (list \S+( in namespace "\S+")?|get apis): cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: (ECONNRESET|EPIPE)( \(after 3 attempts\))?$/,
      );
    },
    TIMEOUT,
  );

  test(
    'slower than --request-timeout: one line, exit 1',
    async () => {
      const ns = await createNamespace();
      const slow = await tcpProxy([{ fault: { kind: 'delay', ms: 5000 } }]);
      const run = await runCli(['who-can', '-n', ns, '--request-timeout', '1s'], { env: { KUBECONFIG: slow } });
      expect(run.code).toBe(1);
      expectOneErrorLine(
        run.stderr,
        /^error: (list \S+( in namespace "\S+")?|get apis): timed out after 1s talking to https:\/\/127\.0\.0\.1:\d+$/,
      );
    },
    TIMEOUT,
  );

  test(
    'accepted but never a TLS handshake (a wedged server), without --request-timeout: one line naming it, exit 1',
    async () => {
      const ns = await createNamespace();
      const wedged = await tcpProxy([{ fault: { kind: 'hang' } }]);
      const run = await runCli(['who-can', '-n', ns], {
        env: { KUBECONFIG: wedged, KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT: '1s' },
      });
      expect(run.code).toBe(1);
      expectOneErrorLine(
        run.stderr,
        /^error: (list \S+( in namespace "\S+")?|get apis): no TLS handshake from https:\/\/127\.0\.0\.1:\d+ within 1s$/,
      );
      expect(run.stderr).toMatch(/^hint: /m);
    },
    TIMEOUT,
  );

  test(
    'an answer cut short in the TLS stream: one line, exit 1',
    async () => {
      const ns = await createNamespace();
      // Past the TLS handshake (a few KB), into the first HTTP answer.
      const cut = await tcpProxy([{ fault: { kind: 'truncate', bytes: 4000 } }]);
      const run = await runCli(['who-can', '-n', ns], { env: { KUBECONFIG: cut } });
      expect(run.code).toBe(1);
      expectOneErrorLine(run.stderr, /^error: (list \S+( in namespace "\S+")?|get apis): /);
    },
    TIMEOUT,
  );
});

/** `count` fresh namespaces, each with a pod `web`. */
async function namespacesWithWeb(count: number): Promise<string[]> {
  const namespaces: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = await createNamespace();
    await applyWorld({ default: ns }, 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\n');
    namespaces.push(ns);
  }
  return namespaces;
}

describe('the Nth write failing through an HTTP proxy in front of the real API server', () => {
  test(
    'isolate over three namespaces, the third real create fails: the first two are deleted, it says so, exit 1',
    async () => {
      const namespaces = await namespacesWithWeb(3);
      const isRealPost = (r: { method: string; query: URLSearchParams }) =>
        r.method === 'POST' && !r.query.has('dryRun');
      proxy = await startFaultProxy({
        mode: 'http',
        upstream: apiserver.toString(),
        tls: adminTls(),
        rules: [{ match: isRealPost, fault: { kind: 'status', status: 500, message: 'injected' }, after: 2 }],
      });
      const kubeconfig = kubeconfigVia(proxy.url, { anonymous: true });

      const run = await runCli(['isolate', ...namespaces, '--yes'], { env: { KUBECONFIG: kubeconfig } });

      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expectOneErrorLine(
        run.stderr,
        new RegExp(
          `^error: writing networkpolicy ${namespaces[2]}/default-deny failed: .*HTTP 500.*; rolled back ${namespaces[1]}/default-deny, ${namespaces[0]}/default-deny$`,
        ),
      );
      // Zero partial writes: no namespace holds the policy, as the API server itself says.
      for (const ns of namespaces) {
        const { stdout } = await kubectl(['get', 'networkpolicies', '-n', ns, '-o', 'name']);
        expect(stdout).toBe('');
      }
      // Three real creates were sent (the third refused), two deletes undid the first two; none was retried.
      expect(proxy.requests.filter(isRealPost)).toHaveLength(3);
      expect(proxy.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/')[5])).toEqual([
        namespaces[1],
        namespaces[0],
      ]);
    },
    TIMEOUT,
  );

  test(
    'the API server gone from the third create on: each object said as known, the third never "created"',
    async () => {
      const namespaces = await namespacesWithWeb(3);
      let isDown = false;
      const isThirdCreate = (r: { method: string; path: string; query: URLSearchParams }) =>
        r.method === 'POST' && !r.query.has('dryRun') && r.path.includes(`/namespaces/${namespaces[2]}/`);
      proxy = await startFaultProxy({
        mode: 'http',
        upstream: apiserver.toString(),
        tls: adminTls(),
        rules: [{ match: (r) => (isDown ||= isThirdCreate(r)), fault: { kind: 'reset' } }],
      });
      const kubeconfig = kubeconfigVia(proxy.url, { anonymous: true });

      const run = await runCli(['isolate', ...namespaces, '--yes'], { env: { KUBECONFIG: kubeconfig } });

      expect(run.code).toBe(1);
      const [a, b, c] = namespaces.map((ns) => `${ns}/default-deny`);
      expectOneErrorLine(
        run.stderr,
        new RegExp(
          `^error: writing networkpolicy ${c} failed: .*ECONNRESET; state unknown \\(could not be read back\\): ${c}, ${b} \\(created, its rollback failed\\), ${a} \\(created, its rollback failed\\)$`,
        ),
      );
      // The server, back, holds what the message left open: the first two, and the third was never made.
      const held = [];
      for (const ns of namespaces)
        held.push((await kubectl(['get', 'networkpolicies', '-n', ns, '-o', 'name'])).stdout);
      expect(held).toEqual([
        'networkpolicy.networking.k8s.io/default-deny\n',
        'networkpolicy.networking.k8s.io/default-deny\n',
        '',
      ]);
    },
    TIMEOUT,
  );
});
