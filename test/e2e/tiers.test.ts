/** The cluster tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) read live
 * from a real kube-apiserver: the network-policy-api CRDs are installed for this file only (and removed
 * after), so the other files see a cluster without them. Checked: without the CRDs nothing is said about
 * tiers; with them, live answers equal the offline answers for the same objects written to files, the
 * loader reads every kind at the version it should, and a user who may not list them gets one warning
 * and the answer. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';

import { loadManifests } from '../../src/lib/cluster/files.js';
import { connectLive } from '../../src/lib/cluster/live.js';
import { applyWorld, kubectl, runCli, uniqueNamespaceName, type RunResult } from './helpers.js';

const TIMEOUT = 120_000;
const CRDS_DIR = process.env.E2E_TIER_CRDS_DIR ?? '';
const TIER_GROUP = 'policy.networking.k8s.io';
const TIER_RESOURCES = ['adminnetworkpolicies', 'baselineadminnetworkpolicies', 'clusternetworkpolicies'];
const FORBIDDEN_WARNING = `Warning: cannot list ${TIER_RESOURCES.map((r) => `${r}.${TIER_GROUP}`).join(', ')} (forbidden); answers may be incomplete: cluster-scoped policies could not be read`;

/** This run's label value: the tier objects select only namespaces that carry it. */
const id = randomBytes(4).toString('hex');
const ns = { a: uniqueNamespaceName(), b: uniqueNamespaceName(), c: uniqueNamespaceName() };
/** Pod IPs in a /24 of their own, so that no other file's pods share them. */
const net = `10.251.${randomInt(256)}`;
/** A user (a ServiceAccount's token) that may read pods, namespaces, services and NetworkPolicies, not the tiers. */
const reader = `e2e-tier-reader-${id}`;

let worldDir: string;
let readerKubeconfig: string;

const member = (team: keyof typeof ns) => ({ matchLabels: { 'tiers-e2e': id, team } });

/** Three namespaces, four pods with IPs, one NetworkPolicy (the v1 tier between the two cluster tiers). */
function worldYaml(): string {
  const namespace = (team: keyof typeof ns) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns[team], labels: { 'tiers-e2e': id, team } },
  });
  const pod = (team: keyof typeof ns, name: string, ip: number, ports: unknown[] = []) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: ns[team], name, labels: { app: name } },
    spec: { containers: [{ name: 'main', image: 'example.invalid/none:0', ports }] },
    status: { podIP: `${net}.${ip}` },
  });
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: ns.b, name: 'api-from-a' },
    spec: {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ namespaceSelector: member('a') }], ports: [{ port: 'http' }] }],
    },
  };
  return [
    namespace('a'),
    namespace('b'),
    namespace('c'),
    pod('a', 'client', 1),
    pod('b', 'api', 2, [{ name: 'http', containerPort: 8080 }]),
    pod('b', 'db', 3, [{ name: 'pg', containerPort: 5432 }]),
    pod('c', 'prom', 4),
    policy,
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

/**
 * One object of each kind and API version, all with subjects in this run's namespaces only. The
 * v1alpha1 CRDs on the module proxy (v0.1.1) predate the v1alpha1 this tool reads: there an ingress
 * peer is `namespaces: {namespaceSelector | sameLabels | notSameLabels}`, later a plain label selector.
 * `namespaces: {namespaceSelector: {}}` means every namespace under both readings, so the ANP and BANP
 * name only that peer (and ports); the ClusterNetworkPolicies select peers by label.
 */
function tierObjects(): { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown }[] {
  const v = (version: string) => `${TIER_GROUP}/${version}`;
  const everyNamespace = { namespaces: { namespaceSelector: {} } };
  return [
    {
      apiVersion: v('v1alpha1'),
      kind: 'AdminNetworkPolicy',
      metadata: { name: `e2e-${id}-guard-b` },
      spec: {
        priority: 10,
        subject: { namespaces: member('b') },
        ingress: [
          {
            name: 'deny-postgres',
            action: 'Deny',
            from: [everyNamespace],
            ports: [{ portNumber: { protocol: 'TCP', port: 5432 } }],
          },
          {
            name: 'pass-http',
            action: 'Pass',
            from: [everyNamespace],
            ports: [{ portNumber: { protocol: 'TCP', port: 8080 } }],
          },
        ],
      },
    },
    {
      apiVersion: v('v1alpha1'),
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name: 'default' },
      spec: {
        subject: { namespaces: { matchLabels: { 'tiers-e2e': id } } },
        ingress: [{ name: 'deny-all', action: 'Deny', from: [everyNamespace] }],
      },
    },
    {
      apiVersion: v('v1beta1'),
      kind: 'ClusterNetworkPolicy',
      metadata: { name: `e2e-${id}-monitoring` },
      spec: {
        tier: 'Admin',
        priority: 20,
        subject: { namespaces: member('b') },
        ingress: [{ name: 'accept-prom', action: 'Accept', from: [{ namespaces: member('c') }] }],
      },
    },
    {
      apiVersion: v('v1alpha2'),
      kind: 'ClusterNetworkPolicy',
      metadata: { name: `e2e-${id}-db` },
      spec: {
        tier: 'Baseline',
        priority: 5,
        subject: { pods: { namespaceSelector: member('b'), podSelector: { matchLabels: { app: 'db' } } } },
        ingress: [
          {
            name: 'accept-api',
            action: 'Accept',
            from: [{ pods: { namespaceSelector: member('b'), podSelector: { matchLabels: { app: 'api' } } } }],
            protocols: [{ tcp: { destinationPort: { number: 5432 } } }],
          },
        ],
      },
    },
  ];
}

interface Connection {
  from: { namespace?: string; ipBlock?: unknown };
  to: { namespace?: string; ipBlock?: unknown };
}

/** The connections among this run's namespaces (or with an address block), as sorted JSON lines. */
function ours(run: RunResult): string[] {
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const mine = new Set(Object.values(ns));
  const inside = (side: Connection['from']) => side.ipBlock !== undefined || mine.has(side.namespace ?? '');
  return (JSON.parse(run.stdout) as { connections: Connection[] }).connections
    .filter((c) => inside(c.from) && inside(c.to) && !(c.from.ipBlock && c.to.ipBlock))
    .map((c) => JSON.stringify(c))
    .sort();
}

/** The stderr lines that speak of the cluster tiers. */
function tierLines(run: RunResult): string[] {
  return run.stderr.split('\n').filter((line) => /cluster-scoped|policy\.networking\.k8s\.io/.test(line));
}

const crdFiles = (): string[] =>
  readdirSync(CRDS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => ['-f', join(CRDS_DIR, f)]);

/** kubectl apply, tried again while the API server's discovery has not caught up with new CRDs. */
async function applyTiers(yaml: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const result = await kubectl(['apply', '-f', '-'], { input: yaml, allowFailure: true });
    if (result.code === 0) return;
    if (attempt === 10 || !/no matches for kind|ensure CRDs are installed/.test(result.stderr))
      throw new Error(`kubectl apply exited ${result.code}: ${result.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  expect(CRDS_DIR).not.toBe('');
  await applyWorld({}, worldYaml());
  worldDir = mkdtempSync(join(tmpdir(), 'netpol-tiers-e2e-'));
  writeFileSync(join(worldDir, 'world.yaml'), worldYaml());
  writeFileSync(
    join(worldDir, 'tiers.yaml'),
    tierObjects()
      .map((o) => stringify(o))
      .join('---\n'),
  );

  // The reader: a ServiceAccount bound to a ClusterRole of its own (the shared e2e-viewer may not list
  // NetworkPolicies, and widening it would change what the other files check).
  await kubectl(['create', 'serviceaccount', 'tier-reader', '-n', ns.a]);
  const rbac = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: reader },
      rules: [
        { apiGroups: [''], resources: ['pods', 'namespaces', 'services'], verbs: ['get', 'list'] },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: reader },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader },
      subjects: [{ kind: 'ServiceAccount', name: 'tier-reader', namespace: ns.a }],
    },
  ];
  await kubectl(['apply', '-f', '-'], { input: rbac.map((o) => stringify(o)).join('---\n') });
  const token = (await kubectl(['create', 'token', 'tier-reader', '-n', ns.a, '--duration=1h'])).stdout.trim();
  const admin = JSON.parse((await kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])).stdout) as {
    clusters: { name: string; cluster: unknown }[];
  };
  readerKubeconfig = join(worldDir, 'kubeconfig-reader');
  const cluster = admin.clusters[0];
  writeFileSync(
    readerKubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name: 'tier-reader', user: { token } }],
      contexts: [{ name: 'tier-reader', context: { cluster: cluster.name, user: 'tier-reader' } }],
      'current-context': 'tier-reader',
    }),
    { mode: 0o600 },
  );
}, TIMEOUT);

afterAll(async () => {
  await kubectl(['delete', 'clusterrolebinding,clusterrole', reader, '--ignore-not-found']);
  if (worldDir) rmSync(worldDir, { recursive: true, force: true });
}, TIMEOUT);

describe('a cluster without the tier CRDs', () => {
  test(
    'says nothing about cluster-scoped policies, to the admin or to a user with fewer rights',
    async () => {
      const served = await kubectl(['get', '--raw', `/apis/${TIER_GROUP}`], { allowFailure: true });
      expect(served.code).not.toBe(0);
      const [admin, restricted] = await Promise.all([
        runCli(['who-can', '-A', '-o', 'json']),
        runCli(['who-can', '-n', ns.b, 'api', '--port', 'http'], { env: { KUBECONFIG: readerKubeconfig } }),
      ]);
      expect(ours(admin).length).toBeGreaterThan(0);
      expect(tierLines(admin)).toEqual([]);
      expect(restricted.code).toBe(0);
      expect(restricted.stdout).toContain(`${ns.a}/client`);
      expect(tierLines(restricted)).toEqual([]);
    },
    TIMEOUT,
  );
});

describe('a cluster serving policy.networking.k8s.io v1alpha1, v1alpha2 and v1beta1', () => {
  beforeAll(async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', ...crdFiles()]);
    const names = TIER_RESOURCES.map((r) => `crd/${r}.${TIER_GROUP}`);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
    await applyTiers(
      tierObjects()
        .map((o) => stringify(o))
        .join('---\n'),
    );
  }, TIMEOUT);

  afterAll(async () => {
    // The API server's own finalizer removes the objects with their CRD; no controller is needed.
    await kubectl(['delete', '--ignore-not-found', '--wait=true', ...crdFiles()]);
  }, TIMEOUT);

  test(
    'the live loader reads each kind at the newest version it knows, as the -f loader reads the files',
    async () => {
      const live = await connectLive({ kubeconfig: process.env.KUBECONFIG });
      const loaded = await live.loadSnapshot({ namespaces: [ns.b] });
      const offline = await loadManifests([worldDir]);

      expect(loaded.warnings).toEqual([]);
      expect(loaded.apiGroups?.find((g) => g.name === TIER_GROUP)?.versions).toEqual([
        'v1beta1',
        'v1alpha2',
        'v1alpha1',
      ]);
      const mine = (loaded.snapshot.clusterPolicies ?? []).filter(
        (p) => p.metadata.name.includes(id) || p.kind === 'BaselineAdminNetworkPolicy',
      );
      // ClusterNetworkPolicy is read at v1beta1 whatever version it was written at (one schema).
      const expected = (offline.snapshot.clusterPolicies ?? []).map((p) =>
        p.kind === 'ClusterNetworkPolicy' ? { ...p, apiVersion: `${TIER_GROUP}/v1beta1` } : p,
      );
      const byName = (a: { kind: string; metadata: { name: string } }, b: typeof a) =>
        `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);
      expect(mine.sort(byName)).toEqual(expected.sort(byName));
      expect(mine).toHaveLength(4);
    },
    TIMEOUT,
  );

  test(
    'who-can and reachable-from answer live as offline from the same objects in files',
    async () => {
      const queries = [
        ['who-can', '-A', '-o', 'json'],
        ['who-can', '-A', '--port', '5432/TCP', '-o', 'json'],
        ['reachable-from', '-A', '--port', '8080/TCP', '-o', 'json'],
      ];
      for (const query of queries) {
        const [offline, live] = await Promise.all([runCli([...query, '-f', worldDir]), runCli(query)]);
        const expected = ours(offline);
        expect(expected.length).toBeGreaterThan(0);
        expect({ query: query.join(' '), connections: ours(live) }).toEqual({
          query: query.join(' '),
          connections: expected,
        });
        expect(tierLines(live)).toEqual([]);
      }
    },
    TIMEOUT,
  );

  test(
    'a user who may not list them gets one warning, and the answer',
    async () => {
      const args = ['who-can', '-n', ns.b, 'api', '--port', 'http'];
      const [restricted, admin] = await Promise.all([
        runCli(args, { env: { KUBECONFIG: readerKubeconfig } }),
        runCli(args),
      ]);
      expect(restricted.code).toBe(admin.code);
      expect(restricted.stdout).toBe(admin.stdout);
      expect(restricted.stdout).toContain(`${ns.a}/client`);
      expect(tierLines(restricted)).toEqual([FORBIDDEN_WARNING]);
      expect(tierLines(admin)).toEqual([]);
    },
    TIMEOUT,
  );
});
