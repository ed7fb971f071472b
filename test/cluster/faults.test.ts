/**
 * The live path under faults, through test/support/fault-proxy.ts in front of the fake API server:
 * reads retry a bounded number of times (500, 429 with Retry-After, resets, cut-short bodies), writes
 * never do, every failure is one line naming what failed, a write failing half-way is rolled back
 * and the error says what became of each object, and nothing waits forever (a TLS handshake never
 * answered, --request-timeout over the whole command).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import Isolate from '../../src/commands/isolate.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import { connectLive } from '../../src/lib/cluster/live.js';
import type { LiveCluster } from '../../src/lib/cluster/live.js';
import { ApiError, NetpolError } from '../../src/lib/errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, writePolicies } from '../../src/lib/write.js';
import type { ClusterConnection } from '../../src/lib/cluster/types.js';
import { runCommand } from '../commands/run-command.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import type { FaultProxy, FaultRule, ProxiedRequest } from '../support/fault-proxy.js';
import { requirePrograms } from '../support/programs.js';
import { selfSignedCertificate } from '../support/slow-endpoints.js';
import { ok, readRecorded, startFakeApiServer } from './fake-api-server.js';
import type { FakeApiServer, Reply, Routes } from './fake-api-server.js';
import { buildKubeconfig } from './kubeconfig-builder.js';

const NP = '/apis/networking.k8s.io/v1';
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1500 };

let dir: string;
let server: FakeApiServer | undefined;
let proxy: FaultProxy | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-faults-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  [proxy, server] = [undefined, undefined];
});

/** NetworkPolicies held by the fake server, per namespace: create, get, delete, list. */
function policyStore(): { routes: Routes; stored: Map<string, V1NetworkPolicy> } {
  const stored = new Map<string, V1NetworkPolicy>();
  let version = 1;
  const routes: Routes = {};
  for (const ns of ['a', 'b', 'c']) {
    routes[`POST ${NP}/namespaces/${ns}/networkpolicies`] = (req) => {
      const body = req.body as V1NetworkPolicy;
      const key = `${ns}/${body.metadata?.name}`;
      if (stored.has(key)) return { status: 409, body: { kind: 'Status', code: 409, message: 'already exists' } };
      const policy = { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++version) } };
      if (!req.query.get('dryRun')) stored.set(key, policy);
      return { status: 201, body: policy };
    };
    for (const name of ['default-deny']) {
      const key = `${ns}/${name}`;
      const notFound: Reply = { status: 404, body: { kind: 'Status', code: 404, reason: 'NotFound', message: 'nf' } };
      routes[`GET ${NP}/namespaces/${ns}/networkpolicies/${name}`] = () =>
        stored.has(key) ? { status: 200, body: stored.get(key) } : notFound;
      routes[`DELETE ${NP}/namespaces/${ns}/networkpolicies/${name}`] = (req) => {
        if (!stored.has(key)) return notFound;
        if (!req.query.get('dryRun')) stored.delete(key);
        return { status: 200, body: { kind: 'Status', status: 'Success' } };
      };
    }
  }
  return { routes, stored };
}

/** A kubeconfig for `url` with a token user. */
function kubeconfigFor(url: string): string {
  return buildKubeconfig()
    .withCluster('fake', url)
    .withTokenUser('tester', 'tok-SECRET-faults')
    .withContext('fake', 'fake', 'tester')
    .withCurrentContext('fake')
    .write(join(dir, `config-${Math.random().toString(16).slice(2)}`));
}

/** The fake server with `routes`, the proxy in front with `rules`, and a connection through the proxy. */
async function through(
  routes: Routes,
  rules: FaultRule[],
  opts: { requestTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<LiveCluster> {
  server = await startFakeApiServer({
    'GET /api/v1/namespaces': ok('namespaces'),
    'GET /api/v1/namespaces/shop/pods': ok('pods-shop'),
    [`GET ${NP}/namespaces/shop/networkpolicies`]: ok('networkpolicies-shop'),
    'GET /api/v1/namespaces/shop/services': ok('services-shop'),
    ...routes,
  });
  proxy = await startFaultProxy({ mode: 'http', upstream: server.url, rules });
  const kubeconfig = kubeconfigFor(proxy.url);
  return connectLive({ kubeconfig, requestTimeoutMs: opts.requestTimeoutMs, retry: FAST_RETRY }, opts.env ?? {});
}

async function rejectionOf(promise: Promise<unknown>): Promise<NetpolError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(NetpolError);
    const error = err as NetpolError;
    // One line naming what failed, never the credential.
    expect(error.message).not.toContain('\n');
    expect(`${error.message} ${error.hint ?? ''}`).not.toContain('tok-SECRET-faults');
    return error;
  }
  throw new Error('expected a rejection');
}

const isPath = (path: string) => (req: ProxiedRequest) => req.path === path;
const namespacesSeen = () => proxy!.requests.filter((r) => r.path === '/api/v1/namespaces').length;

describe('reads: bounded retries', () => {
  it('500 twice, then the answer: the snapshot loads, in 3 tries', async () => {
    const live = await through({}, [
      { match: isPath('/api/v1/namespaces'), fault: { kind: 'status', status: 500 }, times: 2 },
    ]);
    const { snapshot } = await live.loadSnapshot({ namespaces: ['shop'] });
    expect(snapshot.namespaces.length).toBe(3);
    expect(namespacesSeen()).toBe(3);
  });

  it('500 every time: 3 tries, then one line naming the request, the server and the attempts', async () => {
    const live = await through({}, [{ match: isPath('/api/v1/namespaces'), fault: { kind: 'status', status: 500 } }]);
    const err = await rejectionOf(live.loadSnapshot({ namespaces: ['shop'] }));
    expect(err).toMatchObject({ status: 500, exitCode: 1 });
    expect(err.message).toBe(
      `list namespaces: the API server at ${proxy!.url} failed (HTTP 500): injected HTTP 500 (after 3 attempts)`,
    );
    expect(namespacesSeen()).toBe(3);
  });

  it('429 with Retry-After: 1 is honoured, then the answer', async () => {
    const live = await through({}, [
      {
        match: isPath('/api/v1/namespaces'),
        fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
        times: 1,
      },
    ]);
    const started = Date.now();
    await live.loadSnapshot({ namespaces: ['shop'] });
    expect(namespacesSeen()).toBe(2);
    // The one timing fact that is the point of the header: the second try waited for it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('429 asking for longer than we wait: fails at once, saying it is throttled', async () => {
    const live = await through({}, [
      {
        match: isPath('/api/v1/namespaces'),
        fault: { kind: 'status', status: 429, headers: { 'retry-after': '120' }, message: 'slow down' },
      },
    ]);
    const err = await rejectionOf(live.loadSnapshot({ namespaces: ['shop'] }));
    expect(err.message).toBe(
      `list namespaces: the API server at ${proxy!.url} is throttling requests (HTTP 429): slow down`,
    );
    expect(namespacesSeen()).toBe(1);
  });

  it('a reset connection is tried again; reset every time ends in one line', async () => {
    const once = await through({}, [{ match: isPath('/api/v1/namespaces'), fault: { kind: 'reset' }, times: 1 }]);
    await once.loadSnapshot({ namespaces: ['shop'] });
    expect(namespacesSeen()).toBe(2);
    await proxy!.close();
    await server!.close();

    const always = await through({}, [{ match: isPath('/api/v1/namespaces'), fault: { kind: 'reset' } }]);
    const err = await rejectionOf(always.loadSnapshot({ namespaces: ['shop'] }));
    expect(err.message).toBe(
      `list namespaces: cannot reach the API server at ${proxy!.url}: ECONNRESET (after 3 attempts)`,
    );
  });

  it('a body cut short is tried again; cut every time ends in one line', async () => {
    const rule: FaultRule = { match: isPath('/api/v1/namespaces'), fault: { kind: 'truncate', bytes: 40 } };
    const once = await through({}, [{ ...rule, times: 1 }]);
    await once.loadSnapshot({ namespaces: ['shop'] });
    expect(namespacesSeen()).toBe(2);
    await proxy!.close();
    await server!.close();

    const always = await through({}, [rule]);
    const err = await rejectionOf(always.loadSnapshot({ namespaces: ['shop'] }));
    expect(err.message).toMatch(
      /^list namespaces: (the response from \S+ was cut short or is not JSON|cannot reach the API server at \S+: ECONNRESET) \(after 3 attempts\)$/,
    );
  });

  it('slower than --request-timeout: one line, not retried (the user set the bound)', async () => {
    const live = await through({}, [{ match: isPath('/api/v1/namespaces'), fault: { kind: 'delay', ms: 2000 } }], {
      requestTimeoutMs: 200,
    });
    const err = await rejectionOf(live.loadSnapshot({ namespaces: ['shop'] }));
    expect(err.message).toBe(`list namespaces: timed out after 0.2s talking to ${proxy!.url}`);
    expect(namespacesSeen()).toBe(1);
  });
});

describe('writes: never retried blindly, rolled back half-way', () => {
  const policy = (ns: string): V1NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny', namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  });
  const isPost = (req: ProxiedRequest) => req.method === 'POST';
  const isRealPost = (req: ProxiedRequest) => req.method === 'POST' && !req.query.has('dryRun');
  const settings = { dryRun: 'none' as const, fieldManager: 'kubectl-netpol', overwrite: false };

  it.each([
    ['a 500', { kind: 'status', status: 500 } as const],
    ['a reset', { kind: 'reset' } as const],
  ])('a create answered with %s is sent once', async (_what, fault) => {
    const { routes } = policyStore();
    const live = await through(routes, [{ match: isPost, fault }]);
    const err = await rejectionOf(live.api.createNetworkPolicy('a', policy('a')));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toMatch(/^create networkpolicies\.networking\.k8s\.io in namespace "a": /);
    expect(proxy!.requests.filter(isPost)).toHaveLength(1);
  });

  it('three namespaces, the third write fails: the two made are deleted and the error says so', async () => {
    const { routes, stored } = policyStore();
    const live = await through(routes, [{ match: isRealPost, fault: { kind: 'status', status: 500 }, after: 2 }]);
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toBe(
      `writing networkpolicy c/default-deny failed: create networkpolicies.networking.k8s.io in namespace "c": the API server at ${proxy!.url} failed (HTTP 500): injected HTTP 500; rolled back b/default-deny, a/default-deny`,
    );
    expect([...stored.keys()]).toEqual([]);
    expect(proxy!.requests.filter(isRealPost)).toHaveLength(3);
  });

  it('a write applied but whose answer is lost (cut short) is found, and rolled back with the others', async () => {
    const { routes, stored } = policyStore();
    const live = await through(routes, [{ match: isRealPost, fault: { kind: 'truncate', bytes: 10 }, after: 1 }]);
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toMatch(
      /^writing networkpolicy b\/default-deny failed: .*; rolled back b\/default-deny, a\/default-deny$/,
    );
    expect([...stored.keys()]).toEqual([]);
    // b was sent once: its failure was not retried, only checked.
    expect(proxy!.requests.filter((r) => isRealPost(r) && r.path.includes('/namespaces/b/'))).toHaveLength(1);
  });

  it('a create reset before it reaches the server is read back as absent: the others are rolled back, it is never said created', async () => {
    const { routes, stored } = policyStore();
    const toC = (r: ProxiedRequest) => isRealPost(r) && r.path.includes('/namespaces/c/');
    const live = await through(routes, [{ match: toC, fault: { kind: 'reset' } }]);
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toBe(
      `writing networkpolicy c/default-deny failed: create networkpolicies.networking.k8s.io in namespace "c": cannot reach the API server at ${proxy!.url}: ECONNRESET; rolled back b/default-deny, a/default-deny`,
    );
    expect([...stored.keys()]).toEqual([]);
    expect(server!.requests.filter((r) => r.method === 'POST' && r.path.includes('/namespaces/c/'))).toHaveLength(1);
  });

  it('the API server gone mid-write: what could not be read back is "state unknown", never "created"', async () => {
    const { routes, stored } = policyStore();
    let isDown = false;
    // Everything from the real create in c on is reset before it reaches the server.
    const down = (r: ProxiedRequest) => (isDown ||= isRealPost(r) && r.path.includes('/namespaces/c/'));
    const live = await through(routes, [{ match: down, fault: { kind: 'reset' } }]);
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toBe(
      `writing networkpolicy c/default-deny failed: create networkpolicies.networking.k8s.io in namespace "c": cannot reach the API server at ${proxy!.url}: ECONNRESET; state unknown (could not be read back): c/default-deny, b/default-deny (created, its rollback failed), a/default-deny (created, its rollback failed)`,
    );
    expect(err.hint).toBe('check those policies with kubectl get networkpolicy and fix them by hand');
    // Back up, the server holds what the message left open: a and b, and c was never made.
    expect([...stored.keys()]).toEqual(['a/default-deny', 'b/default-deny']);
  });

  it('a rollback that fails is read back: what is still as written is said so, the rest rolled back', async () => {
    const { routes, stored } = policyStore();
    const live = await through(routes, [
      { match: isRealPost, fault: { kind: 'status', status: 500 }, after: 2 },
      {
        match: (r) => r.method === 'DELETE' && r.path.includes('/namespaces/a/'),
        fault: { kind: 'status', status: 500, message: 'etcd down' },
      },
    ]);
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toBe(
      `writing networkpolicy c/default-deny failed: create networkpolicies.networking.k8s.io in namespace "c": the API server at ${proxy!.url} failed (HTTP 500): injected HTTP 500; rolled back b/default-deny; could NOT roll back a/default-deny (created)`,
    );
    expect([...stored.keys()]).toEqual(['a/default-deny']);
  });

  it('a rollback whose answer is lost is read back: found undone, it is said rolled back', async () => {
    const { routes, stored } = policyStore();
    const live = await through(routes, [
      { match: isRealPost, fault: { kind: 'status', status: 500 }, after: 2 },
      {
        match: (r) => r.method === 'DELETE' && r.path.includes('/namespaces/a/'),
        fault: { kind: 'truncate', bytes: 5 },
      },
    ]);
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toMatch(/; rolled back b\/default-deny, a\/default-deny$/);
    expect([...stored.keys()]).toEqual([]);
  });

  it('a write cut short by --request-timeout is read back all the same, and the writes before it rolled back', async () => {
    const { routes, stored } = policyStore();
    const toC = (r: ProxiedRequest) => isRealPost(r) && r.path.includes('/namespaces/c/');
    const live = await through(routes, [{ match: toC, fault: { kind: 'hang' } }], { requestTimeoutMs: 1500 });
    const changes = ['a', 'b', 'c'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    const err = await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(err.message).toBe(
      `writing networkpolicy c/default-deny failed: create networkpolicies.networking.k8s.io in namespace "c": timed out after 1.5s talking to ${proxy!.url}; rolled back b/default-deny, a/default-deny`,
    );
    expect([...stored.keys()]).toEqual([]);
  });

  it('a failing server dry run writes nothing at all', async () => {
    const { routes, stored } = policyStore();
    const live = await through(routes, [
      { match: (r) => isPost(r) && r.query.has('dryRun'), fault: { kind: 'status', status: 500 }, after: 1 },
    ]);
    const changes = ['a', 'b'].map((ns) => ({ action: 'apply' as const, policy: policy(ns) }));
    await rejectionOf(writePolicies(changes, { api: live.api, settings }));
    expect(stored.size).toBe(0);
    expect(proxy!.requests.filter(isRealPost)).toHaveLength(0);
  });
});

describe('isolate over three namespaces, a write failing half-way (in-memory cluster)', () => {
  /** isolate against a MemoryCluster, never prompting. */
  function against(cluster: MemoryCluster) {
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

  it('rolls back what it wrote, says so in one line, exits 1, and leaves the policies as they were', async () => {
    const snapshot = (await loadManifests(['examples/shop'])).snapshot;
    const cluster = new MemoryCluster(snapshot);
    const before = cluster.policyKeys();
    cluster.failOn(
      (call) => call.verb === 'create' && !call.dryRun && call.namespace === 'db',
      () => new ApiError('create networkpolicies.networking.k8s.io in namespace "db": connection reset'),
    );
    const run = await against(cluster)('web', 'db', 'monitoring', '--yes');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([
      'error: writing networkpolicy db/default-deny failed: create networkpolicies.networking.k8s.io in namespace "db": connection reset; rolled back web/default-deny',
    ]);
    expect(cluster.policyKeys()).toEqual(before);
    const creates = cluster.calls.filter((c) => c.verb === 'create' && !c.dryRun).map((c) => c.namespace);
    expect(creates).toEqual(['web', 'db']);
  });
});

describe('nothing waits forever', () => {
  it('a server that accepts the connection and never answers the TLS handshake: one line naming it and the phase, tried once, even without --request-timeout', async () => {
    proxy = await startFaultProxy({
      mode: 'tcp',
      upstream: 'https://127.0.0.1:1',
      rules: [{ fault: { kind: 'hang' } }],
    });
    const live = await connectLive(
      { kubeconfig: kubeconfigFor(proxy.url), retry: FAST_RETRY },
      { KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT: '200ms' },
    );
    const err = await rejectionOf(live.api.listNamespaces());
    expect(err.message).toBe(`list namespaces: no TLS handshake from ${proxy.url} within 0.2s`);
    expect(err.hint).toMatch(/never answered the TLS handshake/);
    expect(proxy.connections).toBe(1);
  });

  requirePrograms('openssl').test(
    'once connected and secured, the answer is waited for as --request-timeout says (0: past the connect bounds)',
    async () => {
      const tls = createHttpsServer(selfSignedCertificate(dir), (_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(readRecorded('namespaces')));
        }, 1500);
      });
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      try {
        const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
        const live = await connectLive(
          { kubeconfig: kubeconfigFor(url), insecureSkipTlsVerify: true, retry: FAST_RETRY },
          { KUBECTL_NETPOL_DIAL_TIMEOUT: '300ms', KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT: '300ms' },
        );
        expect(await live.api.listNamespaces()).toHaveLength(3);
      } finally {
        tls.closeAllConnections();
        await new Promise((resolve) => tls.close(resolve));
      }
    },
  );

  it('--request-timeout bounds the whole command: pages that each come in time, but not all together, time out', async () => {
    const pages = ['pods-page-1', 'pods-page-2', 'pods-page-3'].map(
      (name) => readRecorded(name) as { metadata: { continue?: string } },
    );
    const nextPage = (req: { query: URLSearchParams }): Reply => {
      const after = pages.findIndex((page) => page.metadata.continue === req.query.get('continue'));
      return { status: 200, body: pages[after + 1] };
    };
    const isPods = isPath('/api/v1/pods');
    const routes: Routes = {
      'GET /api/v1/pods': nextPage,
      [`GET ${NP}/networkpolicies`]: ok('networkpolicies'),
      'GET /api/v1/services': ok('services'),
    };
    const live = await through(routes, [{ match: isPods, fault: { kind: 'delay', ms: 400 } }], {
      requestTimeoutMs: 1000,
    });
    const err = await rejectionOf(live.loadSnapshot({}));
    expect(err.message).toBe(`list pods: timed out after 1s talking to ${proxy!.url}`);
    expect(proxy!.requests.filter(isPods).length).toBeLessThanOrEqual(3);
  });

  it('--request-timeout counts the time spent waiting for the server, not the time between requests (a prompt)', async () => {
    const live = await through({}, [{ match: isPath('/api/v1/namespaces'), fault: { kind: 'delay', ms: 300 } }], {
      requestTimeoutMs: 1000,
    });
    await live.api.listNamespaces();
    // A person reading a preview before saying yes: longer than all of --request-timeout.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await live.api.listNamespaces()).toHaveLength(3);
    expect(namespacesSeen()).toBe(2);
  });

  it('a Retry-After longer than what is left of --request-timeout is not waited for', async () => {
    const live = await through(
      {},
      [
        {
          match: isPath('/api/v1/namespaces'),
          fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' }, message: 'busy' },
          times: 1,
        },
      ],
      { requestTimeoutMs: 500 },
    );
    const err = await rejectionOf(live.api.listNamespaces());
    expect(err.message).toBe(`list namespaces: the API server at ${proxy!.url} failed (HTTP 503): busy`);
    expect(namespacesSeen()).toBe(1);
  });
});
