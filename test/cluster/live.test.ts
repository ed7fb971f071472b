import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import { connectLive, PAGE_SIZE } from '../../src/lib/cluster/live.js';
import { parseWarningHeader } from '../../src/lib/cluster/live-transport.js';
import type { LiveCluster } from '../../src/lib/cluster/live.js';
import type { LiveOptions } from '../../src/lib/cluster/types.js';
import { ApiError, KubeconfigError, NetpolError } from '../../src/lib/errors.js';
import { failure, findClosedPortUrl, ok, startFakeApiServer, withHeaders } from './fake-api-server.js';
import type { FakeApiServer, Reply, Routes } from './fake-api-server.js';
import { buildKubeconfig } from './kubeconfig-builder.js';

const SECRET = 'tok-SECRET-123';
/** Reads are retried as in production, without the waits. */
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 1 };
const NP = '/apis/networking.k8s.io/v1';

let dir: string;
let server: FakeApiServer | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-live-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Pages of GET /api/v1/pods, chosen by the `continue` the client sends. */
function podPages(): Routes[string] {
  const pages: Record<string, string> = {
    '': 'pods-page-1',
    [continueOf('pods-page-1')]: 'pods-page-2',
    [continueOf('pods-page-2')]: 'pods-page-3',
  };
  return (req) => {
    const page = pages[req.query.get('continue') ?? ''];
    return page ? ok(page) : { status: 410, body: { kind: 'Status', code: 410, reason: 'Expired' } };
  };
}

function continueOf(name: string): string {
  const body = (ok(name) as { body: { metadata: { continue: string } } }).body;
  return body.metadata.continue;
}

/** Routes of a healthy cluster, overridden per test. */
function clusterRoutes(overrides: Routes = {}): Routes {
  return {
    'GET /api/v1/namespaces': ok('namespaces'),
    'GET /api/v1/pods': podPages(),
    [`GET ${NP}/networkpolicies`]: ok('networkpolicies'),
    'GET /api/v1/services': ok('services'),
    'GET /api/v1/namespaces/shop/pods': ok('pods-shop'),
    [`GET ${NP}/namespaces/shop/networkpolicies`]: ok('networkpolicies-shop'),
    'GET /api/v1/namespaces/shop/services': ok('services-shop'),
    'GET /api/v1/namespaces/default/services/frontend': ok('service-default-frontend'),
    'GET /apis/apps/v1/namespaces/shop/deployments/api': ok('deployment-api'),
    ...overrides,
  };
}

let kubeconfigCount = 0;

/** Starts the fake server and connects to it through a kubeconfig with a token user. */
async function connect(routes: Routes, opts: Partial<LiveOptions> & { namespace?: string } = {}): Promise<LiveCluster> {
  server = await startFakeApiServer(routes);
  const kubeconfig = buildKubeconfig()
    .withCluster('fake', server.url)
    .withTokenUser('tester', SECRET)
    .withContext('fake', 'fake', 'tester', opts.namespace)
    .withCurrentContext('fake')
    .write(join(dir, `config-${++kubeconfigCount}`));
  return connectLive(
    { kubeconfig, requestTimeoutMs: opts.requestTimeoutMs, onWarning: opts.onWarning, retry: FAST_RETRY },
    {},
  );
}

/** The error a promise rejects with; asserts it is a NetpolError that does not leak the token. */
async function rejectionOf(promise: Promise<unknown>): Promise<NetpolError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(NetpolError);
  const err = caught as NetpolError & { serverMessage?: string };
  expect(`${err.message} ${err.hint ?? ''} ${err.serverMessage ?? ''} ${err.stack ?? ''}`).not.toContain(SECRET);
  return err;
}

const names = (objects: { metadata?: { name?: string } }[]): (string | undefined)[] =>
  objects.map((o) => o.metadata?.name);

describe('connectLive: loading a snapshot', () => {
  it('follows continue through 3 pages of pods, sending limit and continue, with the bearer token', async () => {
    const live = await connect(clusterRoutes());

    const { snapshot, warnings } = await live.loadSnapshot({});

    expect(names(snapshot.pods)).toEqual([
      'api-7d9f-abcde',
      'api-7d9f-fghij',
      'db-0',
      'coredns-668d6bf9bc-x2x7q',
      'client',
    ]);
    const podRequests = server!.requests.filter((r) => r.path === '/api/v1/pods');
    expect(podRequests.map((r) => r.query.get('limit'))).toEqual([`${PAGE_SIZE}`, `${PAGE_SIZE}`, `${PAGE_SIZE}`]);
    expect(podRequests.map((r) => r.query.get('continue'))).toEqual([
      null,
      continueOf('pods-page-1'),
      continueOf('pods-page-2'),
    ]);
    expect(server!.requests.every((r) => r.authorization === `Bearer ${SECRET}`)).toBe(true);
    expect(names(snapshot.namespaces)).toEqual(['default', 'kube-system', 'shop']);
    expect(snapshot.pods[2].status?.podIP).toBe('10.244.2.5');
    expect(names(snapshot.policies)).toEqual(['db-from-api']);
    expect(snapshot.policies[0].spec?.ingress?.[0]._from?.[0].podSelector?.matchLabels).toEqual({ app: 'api' });
    expect(names(snapshot.services)).toEqual(['db']);
    expect(snapshot.workloads).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('lists pods, policies and services per namespace when scoped, namespaces still cluster-wide', async () => {
    const live = await connect(clusterRoutes());

    const { snapshot } = await live.loadSnapshot({ namespaces: ['shop'] });

    const paths = server!.requests.map((r) => r.path).sort();
    expect(paths).toEqual([
      '/api/v1/namespaces',
      '/api/v1/namespaces/shop/pods',
      '/api/v1/namespaces/shop/services',
      '/apis',
      `${NP}/namespaces/shop/networkpolicies`,
    ]);
    expect(names(snapshot.pods)).toEqual(['db-0']);
    expect(names(snapshot.namespaces)).toEqual(['default', 'kube-system', 'shop']);
  });

  it('fetches only the workloads and out-of-scope services the scope names', async () => {
    const live = await connect(clusterRoutes());

    const { snapshot } = await live.loadSnapshot({
      namespaces: ['shop'],
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api' }],
      services: [
        { namespace: 'shop', name: 'db' },
        { namespace: 'default', name: 'frontend' },
      ],
    });

    expect(snapshot.workloads).toEqual([
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'api',
        selector: { matchLabels: { app: 'api' } },
        templateLabels: { app: 'api', tier: 'backend' },
      },
    ]);
    expect(names(snapshot.services)).toEqual(['db', 'frontend']);
    expect(server!.requests.filter((r) => r.path.includes('/services/')).map((r) => r.path)).toEqual([
      '/api/v1/namespaces/default/services/frontend',
    ]);
  });

  it('with listServices false, lists no services and reads only the named ones; a missing one is left out', async () => {
    const live = await connect(clusterRoutes());

    const { snapshot, warnings } = await live.loadSnapshot({
      listServices: false,
      services: [
        { namespace: 'default', name: 'frontend' },
        { namespace: 'shop', name: 'gone' },
      ],
    });

    expect(names(snapshot.services)).toEqual(['frontend']);
    expect(warnings).toEqual([]);
    expect(server!.requests.filter((r) => r.path.includes('services')).map((r) => r.path)).toEqual([
      '/api/v1/namespaces/default/services/frontend',
      '/api/v1/namespaces/shop/services/gone',
    ]);
  });

  it('with listServices false and no named services, never asks for services', async () => {
    const live = await connect(clusterRoutes({ 'GET /api/v1/services': failure('status-500') }));

    const { snapshot } = await live.loadSnapshot({ listServices: false });

    expect(snapshot.services).toEqual([]);
    expect(names(snapshot.pods)).toHaveLength(5);
    expect(server!.requests.filter((r) => r.path.includes('services'))).toEqual([]);
  });

  it('goes on without an optional named service it may not read, with a warning; a required one fails', async () => {
    const routes = clusterRoutes({
      'GET /api/v1/namespaces/kube-system/services/kube-dns': failure('status-403-get-service-kube-dns'),
    });
    const live = await connect(routes);

    const optional = await live.loadSnapshot({
      listServices: false,
      services: [{ namespace: 'kube-system', name: 'kube-dns', optional: true }],
    });
    expect(optional.snapshot.services).toEqual([]);
    expect(optional.warnings).toEqual(['cannot get service kube-system/kube-dns (forbidden); going on without it']);

    const err = await rejectionOf(
      live.loadSnapshot({ listServices: false, services: [{ namespace: 'kube-system', name: 'kube-dns' }] }),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(403);
  });

  it('reads the given namespaces one by one when listing namespaces is forbidden', async () => {
    const live = await connect(
      clusterRoutes({
        'GET /api/v1/namespaces': failure('status-403-namespaces'),
        'GET /api/v1/namespaces/shop': {
          status: 200,
          body: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'shop' } },
        },
      }),
    );

    const { snapshot, warnings } = await live.loadSnapshot({ namespaces: ['shop'] });

    expect(names(snapshot.namespaces)).toEqual(['shop']);
    expect(warnings).toEqual(['cannot list namespaces (forbidden); namespaceSelectors only see "shop"']);
  });
});

const TIERS = '/apis/policy.networking.k8s.io';

/** GET /apis as kube-apiserver answers it: each group with its versions, the preferred one first. */
function discovery(groups: Record<string, string[]>): Reply {
  return {
    status: 200,
    body: {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: Object.entries(groups).map(([name, versions]) => ({
        name,
        versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
      })),
    },
  };
}

/** The kind of each tier resource. */
const TIER_KINDS: Record<string, string> = {
  adminnetworkpolicies: 'AdminNetworkPolicy',
  baselineadminnetworkpolicies: 'BaselineAdminNetworkPolicy',
  clusternetworkpolicies: 'ClusterNetworkPolicy',
};

type TierObjects = { name: string; spec: unknown }[];

/** A page of `VERSION/RESOURCE` as the API server sends custom resources (items carry apiVersion and kind). */
function tierList(list: string, items: TierObjects, cont = ''): Reply {
  const [version, resource] = list.split('/');
  const apiVersion = `policy.networking.k8s.io/${version}`;
  const kind = TIER_KINDS[resource];
  return {
    status: 200,
    body: {
      apiVersion,
      kind: `${kind}List`,
      metadata: { resourceVersion: '4711', continue: cont },
      items: items.map(({ name, spec }) => ({
        apiVersion,
        kind,
        metadata: { name, uid: `uid-${name}`, resourceVersion: '4710', generation: 1 },
        spec,
      })),
    },
  };
}

/** A healthy cluster serving the tier group at `versions`, with these `VERSION/RESOURCE` lists (objects, or a reply). */
function tierRoutes(versions: string[], lists: Record<string, TierObjects | Routes[string]>): Routes {
  return clusterRoutes({
    'GET /apis': discovery({ 'policy.networking.k8s.io': versions }),
    ...Object.fromEntries(
      Object.entries(lists).map(([list, answer]) => [
        `GET ${TIERS}/${list}`,
        Array.isArray(answer) ? tierList(list, answer) : answer,
      ]),
    ),
  });
}

const subject = { namespaces: { matchLabels: { team: 'shop' } } };
const ANP_SPEC = {
  priority: 10,
  subject,
  ingress: [
    { name: 'deny-other', action: 'Deny', from: [{ namespaces: { matchLabels: { team: 'other' } } }] },
    { name: 'pass-monitoring', action: 'Pass', from: [{ namespaces: { matchLabels: { team: 'monitoring' } } }] },
  ],
};
const BANP_SPEC = { subject, ingress: [{ name: 'deny-all', action: 'Deny', from: [{ namespaces: {} }] }] };
const cnpSpec = (priority: number) => ({
  tier: 'Admin',
  priority,
  subject,
  egress: [{ name: 'accept-dns', action: 'Accept', to: [{ namespaces: {} }] }],
});

/** Where the snapshot's requests for the tier group went. */
const tierPaths = (): string[] =>
  server!.requests
    .filter((r) => r.path.startsWith(TIERS))
    .map((r) => `${r.path.slice(TIERS.length)}`)
    .sort();

describe('connectLive: cluster-scoped tier policies', () => {
  it('asks nothing more and says nothing when the cluster does not serve policy.networking.k8s.io', async () => {
    const live = await connect(
      clusterRoutes({ 'GET /apis': discovery({ apps: ['v1'], 'networking.k8s.io': ['v1'] }) }),
    );

    const loaded = await live.loadSnapshot({ namespaces: ['shop'] });

    expect(tierPaths()).toEqual([]);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.snapshot).not.toHaveProperty('clusterPolicies');
    expect(loaded.apiGroups).toEqual([
      { name: 'apps', versions: ['v1'] },
      { name: 'networking.k8s.io', versions: ['v1'] },
    ]);
  });

  it('reads ANP and BANP at v1alpha1 and ClusterNetworkPolicy at v1beta1 when v1alpha2 is served too', async () => {
    const live = await connect(
      tierRoutes(['v1beta1', 'v1alpha2', 'v1alpha1'], {
        'v1alpha1/adminnetworkpolicies': [{ name: 'shop-guard', spec: ANP_SPEC }],
        'v1alpha1/baselineadminnetworkpolicies': [{ name: 'default', spec: BANP_SPEC }],
        'v1beta1/clusternetworkpolicies': [
          { name: 'dns', spec: cnpSpec(5) },
          { name: 'dns-too', spec: cnpSpec(6) },
        ],
      }),
    );

    const { snapshot, warnings, apiGroups } = await live.loadSnapshot({});

    expect(tierPaths()).toEqual([
      '/v1alpha1/adminnetworkpolicies',
      '/v1alpha1/baselineadminnetworkpolicies',
      '/v1beta1/clusternetworkpolicies',
    ]);
    const read = (version: string, kind: string, name: string, spec: unknown) => ({
      apiVersion: `policy.networking.k8s.io/${version}`,
      kind,
      metadata: { name },
      spec,
    });
    expect(snapshot.clusterPolicies).toEqual([
      read('v1alpha1', 'AdminNetworkPolicy', 'shop-guard', ANP_SPEC),
      read('v1alpha1', 'BaselineAdminNetworkPolicy', 'default', BANP_SPEC),
      read('v1beta1', 'ClusterNetworkPolicy', 'dns', cnpSpec(5)),
      read('v1beta1', 'ClusterNetworkPolicy', 'dns-too', cnpSpec(6)),
    ]);
    expect(warnings).toEqual([]);
    expect(apiGroups).toEqual([{ name: 'policy.networking.k8s.io', versions: ['v1beta1', 'v1alpha2', 'v1alpha1'] }]);
    // The other lists are made as before.
    expect(names(snapshot.pods)).toHaveLength(5);
  });

  it('reads ClusterNetworkPolicy at v1alpha2 when that is all the group serves, and no v1alpha1 kind', async () => {
    const live = await connect(
      tierRoutes(['v1alpha2'], { 'v1alpha2/clusternetworkpolicies': [{ name: 'dns', spec: cnpSpec(5) }] }),
    );

    const { snapshot, warnings } = await live.loadSnapshot({ namespaces: ['shop'] });

    expect(tierPaths()).toEqual(['/v1alpha2/clusternetworkpolicies']);
    expect(snapshot.clusterPolicies?.map((p) => `${p.apiVersion} ${p.kind}/${p.metadata.name}`)).toEqual([
      'policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy/dns',
    ]);
    expect(warnings).toEqual([]);
  });

  it('goes on quietly when a served version lacks a kind (its CRD is not installed)', async () => {
    const live = await connect(
      tierRoutes(['v1alpha1'], { 'v1alpha1/adminnetworkpolicies': [{ name: 'shop-guard', spec: ANP_SPEC }] }),
    );

    const { snapshot, warnings } = await live.loadSnapshot({});

    expect(tierPaths()).toEqual(['/v1alpha1/adminnetworkpolicies', '/v1alpha1/baselineadminnetworkpolicies']);
    expect(snapshot.clusterPolicies?.map((p) => p.metadata.name)).toEqual(['shop-guard']);
    expect(warnings).toEqual([]);
  });

  it('says in one line which kinds it may not list, and answers with the rest', async () => {
    const forbidden = (resource: string): Reply => ({
      status: 403,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: `${resource}.policy.networking.k8s.io is forbidden: User "e2e-viewer" cannot list resource "${resource}" in API group "policy.networking.k8s.io" at the cluster scope`,
        reason: 'Forbidden',
        code: 403,
      },
    });
    const live = await connect(
      tierRoutes(['v1beta1', 'v1alpha2', 'v1alpha1'], {
        'v1alpha1/adminnetworkpolicies': forbidden('adminnetworkpolicies'),
        'v1alpha1/baselineadminnetworkpolicies': [{ name: 'default', spec: BANP_SPEC }],
        'v1beta1/clusternetworkpolicies': forbidden('clusternetworkpolicies'),
      }),
    );

    const { snapshot, warnings } = await live.loadSnapshot({ namespaces: ['shop'] });

    expect(warnings).toEqual([
      'cannot list adminnetworkpolicies.policy.networking.k8s.io, clusternetworkpolicies.policy.networking.k8s.io (forbidden); answers may be incomplete: cluster-scoped policies could not be read',
    ]);
    expect(snapshot.clusterPolicies?.map((p) => p.kind)).toEqual(['BaselineAdminNetworkPolicy']);
    expect(names(snapshot.pods)).toEqual(['db-0']);
    // Forbidden is an answer: no retries.
    expect(tierPaths()).toHaveLength(3);
  });

  it('says so when even discovery is forbidden, and lists no tier', async () => {
    const status = {
      kind: 'Status',
      code: 403,
      reason: 'Forbidden',
      message: 'forbidden: User "x" cannot get path "/apis"',
    };
    const live = await connect(clusterRoutes({ 'GET /apis': { status: 403, body: status } }));

    const loaded = await live.loadSnapshot({ namespaces: ['shop'] });

    expect(loaded.warnings).toEqual([
      'cannot list the API groups the cluster serves (forbidden); answers may be incomplete: cluster-scoped policies (policy.networking.k8s.io) could not be read',
    ]);
    expect(loaded).not.toHaveProperty('apiGroups');
    expect(tierPaths()).toEqual([]);
  });

  it('leaves out an object the CRD would reject, naming it and the field, and keeps the others', async () => {
    const live = await connect(
      tierRoutes(['v1beta1', 'v1alpha2'], {
        'v1beta1/clusternetworkpolicies': [
          { name: 'too-low', spec: cnpSpec(5000) },
          { name: 'no-tier', spec: { ...cnpSpec(4), tier: 'Middle', subject: {} } },
          { name: 'dns', spec: cnpSpec(5) },
        ],
      }),
    );

    const { snapshot, warnings } = await live.loadSnapshot({});

    expect(snapshot.clusterPolicies?.map((p) => p.metadata.name)).toEqual(['dns']);
    expect(warnings).toEqual([
      'ClusterNetworkPolicy too-low left out: spec.priority: must be a whole number from 0 to 1000',
      'ClusterNetworkPolicy no-tier left out: spec.tier: must be Admin or Baseline (and 1 more)',
    ]);
  });

  it('pages through a long list with limit and continue', async () => {
    const list = 'v1beta1/clusternetworkpolicies';
    const page = (n: number): TierObjects =>
      Array.from({ length: 3 }, (_, i) => ({ name: `cnp-${n}-${i}`, spec: cnpSpec(10 * n + i) }));
    const pages: Record<string, Reply> = {
      '': tierList(list, page(1), 'page-2'),
      'page-2': tierList(list, page(2), 'page-3'),
      'page-3': tierList(list, page(3)),
    };
    const live = await connect(
      tierRoutes(['v1beta1', 'v1alpha2'], { [list]: (req) => pages[req.query.get('continue') ?? ''] }),
    );

    const { snapshot } = await live.loadSnapshot({});

    const requests = server!.requests.filter((r) => r.path.startsWith(TIERS));
    expect(requests.map((r) => [r.query.get('limit'), r.query.get('continue')])).toEqual([
      [`${PAGE_SIZE}`, null],
      [`${PAGE_SIZE}`, 'page-2'],
      [`${PAGE_SIZE}`, 'page-3'],
    ]);
    expect(snapshot.clusterPolicies?.map((p) => p.metadata.name)).toEqual(
      [1, 2, 3].flatMap((n) => page(n).map((p) => p.name)),
    );
  });
});

describe('connectLive: Node objects, for the nodes peers of cluster-scoped policies', () => {
  const nodesSpec = {
    ...cnpSpec(5),
    egress: [{ name: 'deny-workers', action: 'Deny', to: [{ nodes: { matchLabels: { role: 'worker' } } }] }],
  };
  const nodeList = (items: unknown[], cont = ''): Reply => ({
    status: 200,
    body: { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: '9', continue: cont }, items },
  });
  const node = (name: string, labels: Record<string, string>, addresses: { type: string; address: string }[]) => ({
    metadata: { name, labels, uid: `uid-${name}` },
    status: { addresses },
  });
  const nodeRequests = () => server!.requests.filter((r) => r.path === '/api/v1/nodes');

  it('are not asked for when no policy has a nodes peer', async () => {
    const live = await connect(
      tierRoutes(['v1beta1'], { 'v1beta1/clusternetworkpolicies': [{ name: 'dns', spec: cnpSpec(5) }] }),
    );

    const { snapshot } = await live.loadSnapshot({});

    expect(nodeRequests()).toEqual([]);
    expect(snapshot).not.toHaveProperty('nodes');
    expect(snapshot).not.toHaveProperty('nodesUnreadable');
  });

  it('are listed, paged, when one has: name, labels, InternalIP and ExternalIP addresses', async () => {
    const pages: Record<string, Reply> = {
      '': nodeList(
        [
          node('n1', { role: 'worker' }, [
            { type: 'Hostname', address: 'n1' },
            { type: 'InternalIP', address: '192.168.5.5' },
          ]),
        ],
        'page-2',
      ),
      'page-2': nodeList([node('n2', {}, [{ type: 'ExternalIP', address: '203.0.113.6' }])]),
    };
    const live = await connect({
      ...tierRoutes(['v1beta1'], { 'v1beta1/clusternetworkpolicies': [{ name: 'workers', spec: nodesSpec }] }),
      'GET /api/v1/nodes': (req) => pages[req.query.get('continue') ?? ''],
    });

    const { snapshot, warnings } = await live.loadSnapshot({ namespaces: ['shop'] });

    expect(nodeRequests().map((r) => [r.query.get('limit'), r.query.get('continue')])).toEqual([
      [`${PAGE_SIZE}`, null],
      [`${PAGE_SIZE}`, 'page-2'],
    ]);
    expect(snapshot.nodes).toEqual([
      { name: 'n1', labels: { role: 'worker' }, addresses: ['192.168.5.5'] },
      { name: 'n2', labels: {}, addresses: ['203.0.113.6'] },
    ]);
    expect(warnings).toEqual([]);
  });

  it.each([
    ['no cluster policy has a nodes peer', ['v1beta1']],
    ['the cluster does not serve the tier API at all', []],
  ])('are listed when the scope asks (a change from files adds a nodes peer) though %s', async (_why, versions) => {
    const live = await connect({
      ...(versions.length > 0
        ? tierRoutes(versions, { 'v1beta1/clusternetworkpolicies': [{ name: 'dns', spec: cnpSpec(5) }] })
        : clusterRoutes({ 'GET /apis': discovery({}) })),
      'GET /api/v1/nodes': nodeList([node('n1', { role: 'worker' }, [{ type: 'InternalIP', address: '192.168.5.5' }])]),
    });

    const without = await live.loadSnapshot({});
    expect(nodeRequests()).toEqual([]);
    expect(without.snapshot).not.toHaveProperty('nodes');

    const { snapshot, warnings } = await live.loadSnapshot({ nodes: true });
    expect(nodeRequests()).toHaveLength(1);
    expect(snapshot.nodes).toEqual([{ name: 'n1', labels: { role: 'worker' }, addresses: ['192.168.5.5'] }]);
    expect(warnings).toEqual([]);
  });

  it('forbidden: one warning, and the snapshot says they could not be read (the rules fail closed)', async () => {
    const live = await connect({
      ...tierRoutes(['v1beta1'], { 'v1beta1/clusternetworkpolicies': [{ name: 'workers', spec: nodesSpec }] }),
      'GET /api/v1/nodes': {
        status: 403,
        body: {
          kind: 'Status',
          code: 403,
          reason: 'Forbidden',
          message:
            'nodes is forbidden: User "e2e-viewer" cannot list resource "nodes" in API group "" at the cluster scope',
        },
      },
    });

    const { snapshot, warnings } = await live.loadSnapshot({});

    expect(warnings).toEqual([
      'cannot list nodes (forbidden); answers involving the nodes peers of cluster-scoped policies may be incomplete: those rules fail closed (an Accept matches nothing, a Deny or Pass denies everything)',
    ]);
    expect(snapshot.nodesUnreadable).toBe(true);
    expect(snapshot).not.toHaveProperty('nodes');
    expect(nodeRequests()).toHaveLength(1);
  });
});

describe('connectLive: API errors', () => {
  it('maps 401 to an ApiError naming the context', async () => {
    const live = await connect(clusterRoutes({ 'GET /api/v1/namespaces': failure('status-401') }));

    const err = await rejectionOf(live.loadSnapshot({ namespaces: ['shop'] }));

    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401 });
    expect(err.message).toBe('unauthorized: the server rejected your credentials for context "fake"');
  });

  it("maps 403 to the server's words, naming the verb and resource, with what to ask for", async () => {
    const live = await connect(clusterRoutes({ [`GET ${NP}/networkpolicies`]: failure('status-403-networkpolicies') }));

    const err = await rejectionOf(live.loadSnapshot({}));

    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe(
      'forbidden: user "e2e-viewer" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope',
    );
    expect(err.hint).toBe('ask for list on networkpolicies.networking.k8s.io or use -f to read manifests');
    expect(err).toMatchObject({
      status: 403,
      serverMessage:
        'networkpolicies.networking.k8s.io is forbidden: User "e2e-viewer" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope',
    });
  });

  it('maps 404 of a namespace to "namespace "foo" not found"', async () => {
    const live = await connect(
      clusterRoutes({
        'GET /api/v1/namespaces': failure('status-403-namespaces'),
        'GET /api/v1/namespaces/foo': failure('status-404-namespace-foo'),
        'GET /api/v1/namespaces/foo/pods': { status: 200, body: { kind: 'PodList', items: [] } },
        'GET /api/v1/namespaces/foo/services': { status: 200, body: { kind: 'ServiceList', items: [] } },
        [`GET ${NP}/namespaces/foo/networkpolicies`]: { status: 200, body: { kind: 'NetworkPolicyList', items: [] } },
      }),
    );

    const err = await rejectionOf(live.loadSnapshot({ namespaces: ['foo'] }));

    expect(err).toMatchObject({ status: 404, message: 'namespace "foo" not found' });
  });

  it('maps 404 of a named workload to its kind, name and namespace', async () => {
    const live = await connect(
      clusterRoutes({ 'GET /apis/apps/v1/namespaces/shop/deployments/web': failure('status-404-deployment-web') }),
    );

    const err = await rejectionOf(
      live.loadSnapshot({ namespaces: ['shop'], workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'web' }] }),
    );

    expect(err).toMatchObject({ status: 404, message: 'deployment "web" not found in namespace "shop"' });
  });

  it('maps 5xx to an ApiError with the server and its message', async () => {
    const live = await connect(clusterRoutes({ 'GET /api/v1/services': failure('status-500') }));

    const err = await rejectionOf(live.loadSnapshot({}));

    expect(err).toMatchObject({ status: 500, serverMessage: 'Internal error occurred: etcdserver: request timed out' });
    expect(err.message).toBe(
      `list services: the API server at ${server!.url} failed (HTTP 500): Internal error occurred: etcdserver: request timed out (after 3 attempts)`,
    );
  });

  it('aborts a request the server never answers after --request-timeout', async () => {
    const live = await connect(clusterRoutes({ 'GET /api/v1/namespaces': 'hang' }), { requestTimeoutMs: 300 });

    const err = await rejectionOf(live.loadSnapshot({ namespaces: ['shop'] }));

    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe(`list namespaces: timed out after 0.3s talking to ${server!.url}`);
  });

  it('reports a refused connection with the server URL', async () => {
    const url = await findClosedPortUrl();
    const kubeconfig = buildKubeconfig()
      .withCluster('gone', url)
      .withTokenUser('tester', SECRET)
      .withContext('gone', 'gone', 'tester')
      .withCurrentContext('gone')
      .write(join(dir, 'config-refused'));
    const live = await connectLive({ kubeconfig, retry: FAST_RETRY }, {});

    const err = await rejectionOf(live.api.listNamespaces());

    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe(`list namespaces: cannot reach the API server at ${url}: ECONNREFUSED (after 3 attempts)`);
  });

  it('redacts the token should the server echo it', async () => {
    const echo = { status: 400, body: { kind: 'Status', code: 400, message: `bad token ${SECRET} in request` } };
    const live = await connect(clusterRoutes({ 'GET /api/v1/namespaces': echo }));

    const err = await rejectionOf(live.api.listNamespaces());

    expect(err.message).toBe('HTTP 400: bad token [redacted] in request');
  });
});

describe("connectLive: the API server's warnings", () => {
  it('passes each distinct one on, from answers of any status, with credentials redacted', async () => {
    const warned: string[] = [];
    const warning = (text: string) => ({ warning: `299 - "${text}"` });
    const live = await connect(
      clusterRoutes({
        'GET /api/v1/namespaces': withHeaders(ok('namespaces'), warning('a')),
        [`GET ${NP}/namespaces/shop/networkpolicies`]: withHeaders(ok('networkpolicies-shop'), warning('a')),
        'GET /api/v1/namespaces/shop/pods': withHeaders(failure('status-403-namespaces'), warning(`token ${SECRET}`)),
      }),
      { onWarning: (message) => warned.push(message) },
    );

    await rejectionOf(live.loadSnapshot({ namespaces: ['shop'] }));

    expect(warned.sort()).toEqual(['a', 'token [redacted]']);
  });

  it.each([
    ['299 - "plain"', ['plain']],
    ['299 kube-apiserver:6443 "with an agent" "Wed, 21 Oct 2015 07:28:00 GMT"', ['with an agent']],
    ['299 - "say \\"hi\\", twice", 299 - "next"', ['say "hi", twice', 'next']],
    ['199 - "a code not for people", 299 - "shown"', ['shown']],
    ['299 - "good", garbage, 299 - "after it"', ['good']],
    ['not a warning', []],
  ])('reads %s as client-go does', (header, messages) => {
    expect(parseWarningHeader(header)).toEqual(messages);
  });
});

describe('connectLive: NetworkPolicy writes', () => {
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'deny-all', namespace: 'shop' },
    spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] },
  } as unknown as V1NetworkPolicy;

  it('creates with server-side dry run and field manager, sending `from` on the wire', async () => {
    const live = await connect({
      [`POST ${NP}/namespaces/shop/networkpolicies`]: (req) => ({ status: 201, body: req.body }),
    });

    const created = await live.api.createNetworkPolicy('shop', policy, {
      dryRun: 'All',
      fieldManager: 'kubectl-netpol',
    });

    const [request] = server!.requests;
    expect(request.query.get('dryRun')).toBe('All');
    expect(request.query.get('fieldManager')).toBe('kubectl-netpol');
    expect(request.body).toMatchObject({
      spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] },
    });
    expect(created.metadata?.name).toBe('deny-all');
  });

  it('maps 409 on create to a conflict', async () => {
    const live = await connect({ [`POST ${NP}/namespaces/shop/networkpolicies`]: failure('status-409-networkpolicy') });

    const err = await rejectionOf(live.api.createNetworkPolicy('shop', policy));

    expect(err).toMatchObject({
      status: 409,
      message: 'conflict: networkpolicies.networking.k8s.io "deny-all" already exists',
    });
  });

  it('maps 403 on create to what to ask for, without suggesting -f', async () => {
    const live = await connect({
      [`POST ${NP}/namespaces/shop/networkpolicies`]: failure('status-403-create-networkpolicies'),
    });

    const err = await rejectionOf(live.api.createNetworkPolicy('shop', policy));

    expect(err.message).toBe(
      'forbidden: user "e2e-viewer" cannot create resource "networkpolicies" in API group "networking.k8s.io" in the namespace "shop"',
    );
    expect(err.hint).toBe('ask for create on networkpolicies.networking.k8s.io');
  });

  it('replaces with PUT and deletes with dry run', async () => {
    const live = await connect({
      [`PUT ${NP}/namespaces/shop/networkpolicies/deny-all`]: (req) => ({ status: 200, body: req.body }),
      [`DELETE ${NP}/namespaces/shop/networkpolicies/deny-all`]: {
        status: 200,
        body: { kind: 'Status', apiVersion: 'v1', status: 'Success' },
      },
    });

    await live.api.replaceNetworkPolicy('shop', 'deny-all', policy, { fieldManager: 'kubectl-netpol' });
    await live.api.deleteNetworkPolicy('shop', 'deny-all', { dryRun: 'All' });

    expect(server!.requests.map((r) => `${r.method} ${r.query.get('dryRun')}`)).toEqual(['PUT null', 'DELETE All']);
  });

  it('reads a missing policy as undefined', async () => {
    const live = await connect({
      [`GET ${NP}/namespaces/shop/networkpolicies/deny-all`]: failure('status-404-networkpolicy'),
    });

    await expect(live.api.readNetworkPolicy('shop', 'deny-all')).resolves.toBeUndefined();
  });

  it('deleting a missing policy is a 404 ApiError', async () => {
    const live = await connect({
      [`DELETE ${NP}/namespaces/shop/networkpolicies/deny-all`]: failure('status-404-networkpolicy'),
    });

    const err = await rejectionOf(live.api.deleteNetworkPolicy('shop', 'deny-all'));

    expect(err).toMatchObject({ status: 404, message: 'networkpolicy "deny-all" not found in namespace "shop"' });
  });
});

describe('connectLive: kubeconfig and context', () => {
  const url = 'https://cluster-a.example:6443';

  it('takes the default namespace from the context, else "default"', async () => {
    const path = buildKubeconfig()
      .withCluster('a', url)
      .withTokenUser('u', SECRET)
      .withContext('with-ns', 'a', 'u', 'shop')
      .withContext('without-ns', 'a', 'u')
      .withCurrentContext('with-ns')
      .write(join(dir, 'config-ns'));

    const withNs = await connectLive({ kubeconfig: path }, {});
    const withoutNs = await connectLive({ kubeconfig: path, context: 'without-ns' }, {});

    expect(withNs).toMatchObject({ contextName: 'with-ns', defaultNamespace: 'shop', server: url });
    expect(withoutNs).toMatchObject({ contextName: 'without-ns', defaultNamespace: 'default' });
  });

  it('rejects an unknown --context, listing the available ones', async () => {
    const path = buildKubeconfig()
      .withCluster('a', url)
      .withTokenUser('u', SECRET)
      .withContext('fake', 'a', 'u')
      .withContext('other', 'a', 'u')
      .withCurrentContext('fake')
      .write(join(dir, 'config-contexts'));

    const err = await rejectionOf(connectLive({ kubeconfig: path, context: 'nope' }, {}));

    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toBe('context "nope" not found in the kubeconfig (available: fake, other)');
  });

  it('says so when there is no kubeconfig at all (instead of trying localhost:8080)', async () => {
    const home = mkdtempSync(join(dir, 'home-'));

    const err = await rejectionOf(connectLive({}, { HOME: home }));

    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toBe('no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or use -f to read manifests');
  });

  it('treats a KUBECONFIG of missing files as no kubeconfig', async () => {
    const err = await rejectionOf(
      connectLive({}, { KUBECONFIG: join(dir, 'missing-1') + ':' + join(dir, 'missing-2') }),
    );

    expect(err.message).toMatch(/^no kubeconfig found/);
  });

  it('reads ~/.kube/config when neither --kubeconfig nor KUBECONFIG is set', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    mkdirSync(join(home, '.kube'));
    buildKubeconfig()
      .withCluster('a', url)
      .withTokenUser('u', SECRET)
      .withContext('home', 'a', 'u')
      .withCurrentContext('home')
      .write(join(home, '.kube', 'config'));

    const live = await connectLive({}, { HOME: home });

    expect(live.contextName).toBe('home');
  });

  it('merges KUBECONFIG files like kubectl: the first file wins for current-context and for each name', async () => {
    const first = buildKubeconfig()
      .withCluster('a', url)
      .withTokenUser('u', SECRET)
      .withContext('ctx-a', 'a', 'u', 'from-first')
      .withCurrentContext('ctx-a')
      .write(join(dir, 'merge-1'));
    const second = buildKubeconfig()
      .withCluster('b', 'https://cluster-b.example:6443')
      .withCluster('a', 'https://shadowed.example')
      .withTokenUser('u', 'other-token')
      .withContext('ctx-b', 'b', 'u', 'from-second')
      .withContext('ctx-a', 'b', 'u', 'shadowed')
      .withCurrentContext('ctx-b')
      .write(join(dir, 'merge-2'));
    const env = { KUBECONFIG: `${first}:${join(dir, 'not-there')}:${second}` };

    const current = await connectLive({}, env);
    const other = await connectLive({ context: 'ctx-b' }, env);

    expect(current).toMatchObject({ contextName: 'ctx-a', defaultNamespace: 'from-first', server: url });
    expect(other).toMatchObject({
      contextName: 'ctx-b',
      defaultNamespace: 'from-second',
      server: 'https://cluster-b.example:6443',
    });
  });

  it('--kubeconfig names a single file; a missing one is a KubeconfigError', async () => {
    const err = await rejectionOf(connectLive({ kubeconfig: join(dir, 'absent') }, { KUBECONFIG: '/ignored' }));

    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toBe(`cannot read kubeconfig ${join(dir, 'absent')}: no such file`);
  });

  it('reports a kubeconfig that is not YAML without quoting its content', async () => {
    const path = join(dir, 'config-broken');
    writeFileSync(path, `users:\n- name: u\n  user:\n    token: ${SECRET}\n   bad: [\n`);

    const err = await rejectionOf(connectLive({ kubeconfig: path }, {}));

    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toMatch(new RegExp(`^cannot parse kubeconfig ${path} at line \\d+: `));
  });
});
