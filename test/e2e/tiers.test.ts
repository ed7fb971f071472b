/** The cluster tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) read live
 * from a real kube-apiserver: the network-policy-api CRDs are installed for this file only (and removed
 * after), so the other files see a cluster without them. Checked: without the CRDs nothing is said about
 * tiers; with them, live answers equal the offline answers for the same objects written to files, the
 * loader reads every kind at the version it should, and a user who may not list them gets one warning
 * and the answer; Node objects created in the apiserver are what nodes peers select, live as offline;
 * `isolate --baseline` writes its ClusterNetworkPolicy, answers account for it, --off removes only it,
 * and without the CRDs it refuses. */
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

/** who-can TARGET --from SOURCE --port PORT --explain, in a namespace. */
function explain(namespace: string, target: string, source: string, port: string): Promise<RunResult> {
  return runCli(['who-can', '-n', namespace, target, '--from', source, '--port', port, '--explain']);
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
    // A CRD just replaced (the experimental channel's) may not be served with its new schema yet.
    if (attempt === 10 || !/no matches for kind|ensure CRDs are installed|strict decoding error/.test(result.stderr))
      throw new Error(`kubectl apply exited ${result.code}: ${result.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What the reader may do: read pods, namespaces, services and NetworkPolicies. */
const READER_RULES = [
  { apiGroups: [''], resources: ['pods', 'namespaces', 'services'], verbs: ['get', 'list'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list'] },
];

/**
 * A kubeconfig for a user (a ServiceAccount's token, in ns.a) bound to a ClusterRole of its own with
 * `rules`; the ServiceAccount, ClusterRole and binding are all named `name`.
 */
async function userKubeconfig(name: string, rules: unknown[]): Promise<string> {
  await kubectl(['create', 'serviceaccount', name, '-n', ns.a]);
  const rbac = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns.a }],
    },
  ];
  await kubectl(['apply', '-f', '-'], { input: rbac.map((o) => stringify(o)).join('---\n') });
  const token = (await kubectl(['create', 'token', name, '-n', ns.a, '--duration=1h'])).stdout.trim();
  const admin = JSON.parse((await kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])).stdout) as {
    clusters: { name: string; cluster: unknown }[];
  };
  const file = join(worldDir, `kubeconfig-${name}`);
  const cluster = admin.clusters[0];
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: cluster.name, user: name } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
  return file;
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
  readerKubeconfig = await userKubeconfig(reader, READER_RULES);
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

  test(
    'isolate --baseline refuses, naming what the cluster serves, and writes nothing',
    async () => {
      const run = await runCli(['isolate', ns.c, '--baseline', '--yes']);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.split('\n')).toContain(
        `error: the cluster does not serve ClusterNetworkPolicy (${TIER_GROUP} v1beta1 or v1alpha2): the API group ${TIER_GROUP} is absent; nothing was written`,
      );
      expect(await kubectl(['get', '--raw', `/apis/${TIER_GROUP}`], { allowFailure: true })).toMatchObject({
        code: 1,
      });
      // Offline it writes v1beta1 (nothing to ask): the refusal is the live cluster's.
      const offline = await runCli(['isolate', ns.c, '--baseline', '--dry-run=client', '-o', 'yaml', '-f', worldDir]);
      expect(offline.code).toBe(0);
      expect(offline.stdout).toContain(`apiVersion: ${TIER_GROUP}/v1beta1`);
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

  describe('nodes peers and Node objects', () => {
    const nsN = uniqueNamespaceName();
    const hosts = `10.252.${randomInt(256)}`;
    const nodeName = (n: number) => `e2e-${id}-n${n}`;
    const nodeLabels = (role: string) => ({ 'tiers-e2e-node': id, role });
    const nodes = [
      { name: nodeName(1), labels: nodeLabels('worker'), address: `${hosts}.1` },
      { name: nodeName(2), labels: nodeLabels('control'), address: `${hosts}.2` },
    ];
    let dir: string;
    let worldText: string;

    /** One namespace: a client, and a host-network pod on each node (their IP is their node's). */
    function nodesWorld(): string {
      const agent = (n: number) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { namespace: nsN, name: `agent-${n}`, labels: { app: 'agent' } },
        spec: {
          hostNetwork: true,
          nodeName: nodeName(n),
          containers: [{ name: 'main', image: 'example.invalid/none:0' }],
        },
        status: { podIP: nodes[n - 1].address, hostIP: nodes[n - 1].address },
      });
      const client = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { namespace: nsN, name: 'client', labels: { app: 'client' } },
        spec: { containers: [{ name: 'main', image: 'example.invalid/none:0' }] },
        status: { podIP: `${net}.50` },
      };
      const cnp = {
        apiVersion: `${TIER_GROUP}/v1beta1`,
        kind: 'ClusterNetworkPolicy',
        metadata: { name: `e2e-${id}-nodes` },
        spec: {
          tier: 'Admin',
          priority: 30,
          subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': nsN } } },
          egress: [{ name: 'deny-workers', action: 'Deny', to: [{ nodes: { matchLabels: nodeLabels('worker') } }] }],
        },
      };
      return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsN } }, client, agent(1), agent(2), cnp]
        .map((o) => stringify(o))
        .join('---\n');
    }

    beforeAll(async () => {
      // The standard channel's ClusterNetworkPolicy has no nodes peer (it is experimental): the
      // experimental channel's CRD (same versions, more fields) replaces it for the rest of this file.
      const experimental = join(CRDS_DIR, 'experimental', `${TIER_GROUP}_clusternetworkpolicies.yaml`);
      await kubectl(['apply', '--server-side', '--force-conflicts', '-f', experimental]);
      // Nodes by POST with their labels; their addresses through the status subresource.
      const manifests = nodes.map((n) =>
        stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: n.labels } }),
      );
      await kubectl(['apply', '-f', '-'], { input: manifests.join('---\n') });
      for (const n of nodes) {
        const status = {
          addresses: [
            { type: 'InternalIP', address: n.address },
            { type: 'Hostname', address: n.name },
          ],
        };
        await kubectl([
          'patch',
          'node',
          n.name,
          '--subresource=status',
          '--type=merge',
          `--patch=${JSON.stringify({ status })}`,
        ]);
      }
      const world = nodesWorld();
      worldText = world;
      await applyWorld(
        {},
        world
          .split('---\n')
          .filter((d) => !d.includes('ClusterNetworkPolicy'))
          .join('---\n'),
      );
      await applyTiers(world.split('---\n').find((d) => d.includes('ClusterNetworkPolicy'))!);
      dir = mkdtempSync(join(tmpdir(), 'netpol-tiers-nodes-e2e-'));
      const nodeFiles = nodes.map((n) =>
        stringify({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: n.name, labels: n.labels },
          status: { addresses: [{ type: 'InternalIP', address: n.address }] },
        }),
      );
      writeFileSync(join(dir, 'world.yaml'), [world, ...nodeFiles].join('---\n'));
    }, TIMEOUT);

    afterAll(async () => {
      await kubectl(['delete', 'node', ...nodes.map((n) => n.name), '--ignore-not-found']);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, TIMEOUT);

    test(
      'the live loader reads the Node objects a nodes peer needs, as the -f loader reads them',
      async () => {
        const live = await connectLive({ kubeconfig: process.env.KUBECONFIG });
        const loaded = await live.loadSnapshot({ namespaces: [nsN] });
        const offline = await loadManifests([dir]);
        expect(loaded.warnings).toEqual([]);
        const mine = (loaded.snapshot.nodes ?? []).filter((n) => n.labels['tiers-e2e-node'] === id);
        expect(mine.sort((a, b) => a.name.localeCompare(b.name))).toEqual(offline.snapshot.nodes);
      },
      TIMEOUT,
    );

    test(
      'reachable-from answers live as offline: the host-network pod on the worker node and its address are denied',
      async () => {
        const inN = (run: RunResult) => {
          expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
          const connections = (JSON.parse(run.stdout) as { connections: Connection[] }).connections;
          return connections
            .filter((c) => c.to.ipBlock !== undefined || c.to.namespace === nsN)
            .map((c) => JSON.stringify(c.to))
            .sort();
        };
        const query = ['reachable-from', '-n', nsN, 'client', '--port', '443/TCP', '-o', 'json'];
        const [offline, live] = await Promise.all([runCli([...query, '-f', dir]), runCli(query)]);
        const expected = inN(offline);
        expect(inN(live)).toEqual(expected);
        expect(expected).toEqual(
          [
            JSON.stringify({ namespace: nsN, pod: 'agent-2' }),
            JSON.stringify({ ipBlock: { cidr: '0.0.0.0/0', except: [`${hosts}.1/32`] } }),
            JSON.stringify({ ipBlock: { cidr: '::/0', except: [] } }),
          ].sort(),
        );
        expect(tierLines(live)).toEqual([]);
        // --explain names the rule.
        const why = await explain(nsN, 'agent-1', `${nsN}/client`, '443');
        expect(why.code).toBe(1);
        expect(why.stdout).toContain(
          `egress: denied by ClusterNetworkPolicy/e2e-${id}-nodes (Admin, priority 30) rule deny-workers`,
        );
      },
      TIMEOUT,
    );

    test(
      'a user who may list the tiers but not the nodes: one warning, and the nodes rule fails closed as offline without Node objects',
      async () => {
        const nodeless = await userKubeconfig(`${reader}-nodeless`, [
          ...READER_RULES,
          { apiGroups: [TIER_GROUP], resources: TIER_RESOURCES, verbs: ['get', 'list'] },
        ]);
        try {
          const query = ['reachable-from', '-n', nsN, 'client', '--port', '443/TCP', '-o', 'json'];
          const [restricted, offline, admin] = await Promise.all([
            runCli(query, { env: { KUBECONFIG: nodeless } }),
            runCli([...query, '-f', '-'], { input: worldText }),
            runCli(query),
          ]);
          // The Deny rule cannot tell which nodes it selects: it denies everything, never a wrong yes.
          const connections = (run: RunResult) => (JSON.parse(run.stdout) as { connections: unknown[] }).connections;
          expect(connections(restricted)).toEqual([]);
          expect(connections(restricted)).toEqual(connections(offline));
          // What reading the cluster said is told apart from what the files said.
          const warningCodes = (run: RunResult) =>
            (JSON.parse(run.stdout) as { warnings: { code: string; message: string }[] }).warnings
              .filter((w) => w.message.includes('nodes'))
              .map((w) => w.code);
          expect(warningCodes(restricted)).toEqual(['cluster', 'tier-fail-closed']);
          expect(warningCodes(offline)).toEqual(['tier-fail-closed']);
          expect(restricted.code).toBe(offline.code);
          // The admin, who may list the nodes, gets the answer of the nodes it reads.
          expect(connections(admin)).not.toEqual([]);
          const failClosed = (why: string) =>
            `Warning: ClusterNetworkPolicy/e2e-${id}-nodes spec.egress[0].to[0] is a nodes peer and ${why}: the rule fails closed (an Accept rule matches nothing, a Deny or Pass rule denies everything), as the API says for a peer it cannot evaluate`;
          const lines = (run: RunResult) => run.stderr.split('\n').filter((l) => /nodes/.test(l));
          expect(lines(restricted)).toEqual([
            'Warning: cannot list nodes (forbidden); answers involving the nodes peers of cluster-scoped policies may be incomplete: those rules fail closed (an Accept matches nothing, a Deny or Pass denies everything)',
            failClosed('the Node objects could not be read'),
          ]);
          expect(lines(offline)).toEqual([
            failClosed('the snapshot holds no Node objects (give them with -f, e.g. kubectl get nodes -o yaml)'),
          ]);
        } finally {
          await kubectl(['delete', 'clusterrolebinding,clusterrole', `${reader}-nodeless`, '--ignore-not-found']);
        }
      },
      TIMEOUT,
    );
  });

  describe('isolate --baseline', () => {
    const nsX = uniqueNamespaceName();
    const nsY = uniqueNamespaceName();
    const name = `netpol-baseline-${nsX}`;
    const foreign = `e2e-${id}-foreign`;
    const cnps = async (): Promise<
      { metadata: { name: string; managedFields?: { manager: string; apiVersion: string }[] } }[]
    > =>
      (
        JSON.parse(
          (await kubectl(['get', `clusternetworkpolicies.${TIER_GROUP}`, '-o', 'json', '--show-managed-fields']))
            .stdout,
        ) as { items: { metadata: { name: string; managedFields?: { manager: string; apiVersion: string }[] } }[] }
      ).items.filter((p) => p.metadata.name === name || p.metadata.name === foreign);

    beforeAll(async () => {
      const pod = (namespace: string, podName: string, ports: unknown[] = []) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { namespace, name: podName, labels: { app: podName } },
        spec: { containers: [{ name: 'main', image: 'example.invalid/none:0', ports }] },
      });
      await applyWorld(
        {},
        [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsX } },
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsY } },
          pod(nsX, 'server', [{ containerPort: 80 }]),
          pod(nsY, 'client'),
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      );
      // Someone else's Baseline policy, not labelled as ours: --off must leave it.
      await applyTiers(
        stringify({
          apiVersion: `${TIER_GROUP}/v1beta1`,
          kind: 'ClusterNetworkPolicy',
          metadata: { name: foreign },
          spec: {
            tier: 'Baseline',
            priority: 900,
            subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': nsY } } },
            ingress: [
              {
                name: 'deny-x',
                action: 'Deny',
                from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': nsX } } }],
              },
            ],
          },
        }),
      );
    }, TIMEOUT);

    afterAll(async () => {
      await kubectl(['delete', `clusternetworkpolicies.${TIER_GROUP}`, name, foreign, '--ignore-not-found']);
    }, TIMEOUT);

    test(
      '--dry-run -o yaml round-trips into the apiserver; the write is v1beta1; answers, --status and --off account for it',
      async () => {
        const preview = await runCli(['isolate', nsX, '--baseline', '--dry-run=client', '-o', 'yaml']);
        expect(preview.code).toBe(0);
        expect(preview.stdout).toContain(`apiVersion: ${TIER_GROUP}/v1beta1`);
        const validated = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: preview.stdout });
        expect(validated.stdout.trim()).toBe(`clusternetworkpolicy.${TIER_GROUP}/${name} created (server dry run)`);
        expect((await cnps()).map((p) => p.metadata.name)).toEqual([foreign]);

        const write = await runCli(['isolate', nsX, '--baseline', '--yes']);
        expect(write).toMatchObject({ code: 0, stdout: `clusternetworkpolicy.${TIER_GROUP}/${name} created\n` });
        const written = (await cnps()).find((p) => p.metadata.name === name);
        // Written at the newest version served (one stored object: the managed fields keep the writer's version).
        expect(written?.metadata.managedFields?.find((f) => f.manager === 'kubectl-netpol')?.apiVersion).toBe(
          `${TIER_GROUP}/v1beta1`,
        );

        const who = await explain(nsX, 'server', `${nsY}/client`, '80');
        expect(who.code).toBe(1);
        expect(who.stdout).toContain(
          `ingress: denied by ClusterNetworkPolicy/${name} (Baseline, priority 1000) rule deny-all-ingress`,
        );
        const status = await runCli(['isolate', '--status', nsX, '--no-headers']);
        expect(status).toMatchObject({ code: 0, stdout: `${nsX}   pods (Baseline)   no   0   1\n` });

        const off = await runCli(['isolate', nsX, '--baseline', '--off', '--yes']);
        expect(off).toMatchObject({ code: 0, stdout: `clusternetworkpolicy.${TIER_GROUP}/${name} deleted\n` });
        expect((await cnps()).map((p) => p.metadata.name)).toEqual([foreign]);
        const after = await runCli(['who-can', '-n', nsX, 'server', '--from', `${nsY}/client`, '--port', '80']);
        expect(after.code).toBe(0);
      },
      TIMEOUT,
    );
  });
});
