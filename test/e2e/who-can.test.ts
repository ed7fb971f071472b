/** who-can against the real kube-apiserver: the same answers as offline (examples, conformance worlds),
 * paging past 500 pods, kubeconfig defaults, RBAC denials and scoping, unknown namespaces, and both
 * invocation styles (kubectl-netpol, `kubectl netpol`). */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';

import {
  applyWorld,
  createNamespace,
  kubectl,
  repoRoot,
  runCli,
  runViaKubectl,
  uniqueNamespaceName,
  type NamespaceMapping,
  type RunResult,
} from './helpers.js';
import { sharedPath } from '../support/shared.js';

const TIMEOUT = 120_000;
const CONFORMANCE = sharedPath('conformance');

interface Connection {
  from: { namespace?: string; pod?: string; ipBlock?: unknown };
  to: { namespace: string; pod: string };
  port: number | string;
  protocol: string;
}

/** The seed's one row for backend on 80/TCP: TARGET, SOURCE, PODS, PORT, POLICIES. */
function seedRow(ns: string): RegExp {
  return new RegExp(`^${ns}/backend\\s+${ns}/frontend\\s+1\\s+80/TCP\\s+${ns}/pol1$`, 'm');
}

/** Exit 0 and no error; warnings (e.g. other tests' pods without IPs) are allowed. */
function succeeded(run: RunResult): void {
  expect({ code: run.code, error: /^error:/m.test(run.stderr) ? run.stderr : undefined }).toEqual({ code: 0 });
}

function parseConnections(run: RunResult): Connection[] {
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  return (JSON.parse(run.stdout) as { connections: Connection[] }).connections;
}

/**
 * The connections into the world's namespaces whose source is in them too (or an ipBlock), with
 * the real namespace names mapped back to the logical ones, as sorted JSON lines. The shared cluster
 * holds other tests' namespaces (and other copies of the same world, with the same labels and pod
 * IPs), which add sources and targets outside the world; inside it, the answer must be the offline one.
 */
function within(connections: Connection[], mapping: NamespaceMapping): string[] {
  const logical = new Map(Object.entries(mapping).map(([from, to]) => [to, from]));
  const inWorld = (ns: string | undefined): boolean => ns !== undefined && logical.has(ns);
  return connections
    .filter((c) => inWorld(c.to.namespace) && (c.from.ipBlock !== undefined || inWorld(c.from.namespace)))
    .map((c) => {
      // Namespace names are unique random t-<hex>, so a textual replacement cannot hit anything else.
      let text = JSON.stringify(c);
      for (const [real, name] of logical)
        text = text.split(`"${real}"`).join(`"${name}"`).split(`"${real}/`).join(`"${name}/`);
      return text;
    })
    .sort();
}

/** The offline answer, every connection (the manifests hold only the world). */
function offline(connections: Connection[]): string[] {
  return connections.map((c) => JSON.stringify(c)).sort();
}

/** Logical namespace -> fresh real namespace, for every Namespace and namespace in the YAML. */
function renaming(yaml: string): NamespaceMapping {
  const names = new Set<string>();
  for (const document of parseAllDocuments(yaml)) {
    const value = document.toJS() as {
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      items?: { kind?: string; metadata?: { name?: string; namespace?: string } }[];
    } | null;
    for (const object of value?.kind === 'List' ? (value.items ?? []) : value ? [value] : []) {
      if (object.kind === 'Namespace' && object.metadata?.name) names.add(object.metadata.name);
      else if (object.metadata?.namespace) names.add(object.metadata.namespace);
    }
  }
  return Object.fromEntries([...names].map((name) => [name, uniqueNamespaceName()]));
}

function readDir(dir: string): string {
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n---\n');
}

/** Runs `tasks` at most `max` at a time. */
async function inBatches<T>(items: T[], max: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: max }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

describe('who-can on a real API server gives the offline answer', () => {
  test(
    'examples/seed, through kubectl-netpol and through `kubectl netpol`',
    async () => {
      const dir = join(repoRoot, 'examples', 'seed');
      const mapping = { 'tenant-a': uniqueNamespaceName() };
      // The seed's pods carry status.podIP; applyWorld keeps them.
      await applyWorld(mapping, readDir(dir));
      const args = ['who-can', '-A', '--port', '80/TCP', '-o', 'json'];
      const expected = offline(parseConnections(await runCli([...args, '-f', dir])));
      expect(expected.length).toBeGreaterThan(0);
      expect(within(parseConnections(await runCli(args)), mapping)).toEqual(expected);
      expect(within(parseConnections(await runViaKubectl(args)), mapping)).toEqual(expected);

      // The documented query, as a table, in both styles.
      const ns = mapping['tenant-a'];
      const table = ['who-can', '-n', ns, 'backend', '--port', '80/TCP', '--no-headers'];
      const direct = await runCli(table);
      succeeded(direct);
      expect(direct.stdout).toMatch(seedRow(ns));
      expect(await runViaKubectl(table)).toEqual(direct);
    },
    TIMEOUT,
  );

  test(
    'examples/shop: workloads as pods named like the representative pods, and named deployment and service targets',
    async () => {
      // The file loader turns each Deployment/StatefulSet into one representative pod: the workload's
      // name, its template labels and containers, owned by the workload, and no IP. Nothing runs the
      // workloads here (no controllers), so the same pods are created by hand, and left without a
      // status (Pending, no IP) like their offline counterparts: ipBlock rules then match neither.
      // The workloads and Services themselves are applied too, so deployment/NAME and service/NAME
      // targets are read from the API server by name.
      const dir = join(repoRoot, 'examples', 'shop');
      const yaml = readDir(dir);
      const mapping = renaming(yaml);
      await applyWorld(mapping, yaml);
      const pods: unknown[] = [];
      for (const document of parseAllDocuments(yaml)) {
        const object = document.toJS() as {
          kind?: string;
          apiVersion?: string;
          metadata: { name: string; namespace: string };
          spec: { template: { metadata: { labels?: Record<string, string> }; spec: Record<string, unknown> } };
        } | null;
        if (!object || (object.kind !== 'Deployment' && object.kind !== 'StatefulSet')) continue;
        const namespace = mapping[object.metadata.namespace];
        const resource = object.kind.toLowerCase();
        const uid = (
          await kubectl(['get', resource, object.metadata.name, '-n', namespace, '-o', 'jsonpath={.metadata.uid}'])
        ).stdout;
        const template = object.spec.template;
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: object.metadata.name,
            namespace,
            labels: template.metadata.labels,
            ownerReferences: [
              { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, uid, controller: true },
            ],
          },
          spec: { containers: template.spec.containers },
        });
      }
      expect(pods).toHaveLength(6);
      await kubectl(['create', '-f', '-'], { input: stringify({ apiVersion: 'v1', kind: 'List', items: pods }) });

      // Each query once offline (logical names) and once live (real names), three at a time.
      const queries: { name: string; offline: string[]; live: string[] }[] = [
        ...['80/TCP', '8080/TCP', '5432/TCP', '53/UDP', '9113/TCP'].map((port) => {
          const args = ['who-can', '-A', '--port', port, '-o', 'json'];
          return { name: `-A --port ${port}`, offline: args, live: args };
        }),
        ...[
          ['api', 'deployment/api', 'http'],
          ['web', 'service/frontend', 'http'],
          ['db', 'statefulset/postgres', '5432'],
        ].map(([ns, target, port]) => ({
          name: `${target} -n ${ns} --port ${port}`,
          offline: ['who-can', target, '-n', ns, '--port', port, '-o', 'json'],
          live: ['who-can', target, '-n', mapping[ns], '--port', port, '-o', 'json'],
        })),
      ];
      await inBatches(queries, 3, async (query) => {
        const [expected, live] = await Promise.all([runCli([...query.offline, '-f', dir]), runCli(query.live)]);
        expect({ query: query.name, connections: within(parseConnections(live), mapping) }).toEqual({
          query: query.name,
          connections: offline(parseConnections(expected)),
        });
      });
    },
    TIMEOUT,
  );

  const cases = readdirSync(join(CONFORMANCE, 'manifests')).sort();

  test(`${cases.length} conformance worlds, each in fresh namespaces, on every probed port`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
    const worlds = cases.map((name) => {
      const dir = join(CONFORMANCE, 'manifests', name);
      const yaml = readDir(dir);
      const probes = (
        JSON.parse(readFileSync(join(CONFORMANCE, 'cases', `${name}.json`), 'utf8')) as {
          expect: { port: number; protocol: string }[];
        }
      ).expect.map((e) => `${e.port}/${e.protocol}`);
      return { name, dir, yaml, probes, mapping: renaming(yaml) };
    });
    // Pods keep the manifests' status.podIP (10.0.<ns>.<pod>), so ipBlock rules match as offline.
    await inBatches(worlds, 4, async (world) => {
      const created = await applyWorld(world.mapping, world.yaml);
      expect(created.pods.length).toBeGreaterThan(0);
    });
    // One cluster-wide run per probe covers every world; each world is compared on its own namespaces.
    const probes = [...new Set(worlds.flatMap((w) => w.probes))];
    const live = new Map<string, Connection[]>();
    for (const probe of probes) {
      live.set(probe, parseConnections(await runCli(['who-can', '-A', '--port', probe, '-o', 'json'])));
    }
    let compared = 0;
    await inBatches(worlds, 2, async (world) => {
      for (const probe of world.probes) {
        const args = ['who-can', '-A', '--port', probe, '-o', 'json', '-f', world.dir];
        const expected = offline(parseConnections(await runCli(args)));
        expect({ world: world.name, probe, connections: within(live.get(probe)!, world.mapping) }).toEqual({
          world: world.name,
          probe,
          connections: expected,
        });
        compared++;
      }
    });
    expect(compared).toBe(worlds.reduce((n, w) => n + w.probes.length, 0));
  }, 300_000);
});

describe('who-can on a real API server: kubeconfig, RBAC, errors', () => {
  let ns: string;
  let kubeconfigCopy: string;

  beforeAll(async () => {
    ns = uniqueNamespaceName();
    await applyWorld({ 'tenant-a': ns }, readDir(join(repoRoot, 'examples', 'seed')));
    // A copy of the test kubeconfig whose current context (e2e, the admin) has a namespace.
    kubeconfigCopy = join(process.env.E2E_STATE_DIR ?? repoRoot, `kubeconfig-who-can-${ns}`);
    writeFileSync(kubeconfigCopy, (await kubectl(['config', 'view', '--raw'])).stdout, { mode: 0o600 });
    await kubectl(['config', 'set-context', 'e2e', `--namespace=${ns}`], { env: { KUBECONFIG: kubeconfigCopy } });
  }, TIMEOUT);

  test(
    "-n defaults to the current context's namespace; --context switches user",
    async () => {
      const env = { KUBECONFIG: kubeconfigCopy };
      const defaulted = await runCli(['who-can', 'backend', '--port', '80/TCP', '--no-headers'], { env });
      succeeded(defaulted);
      expect(defaulted.stdout).toMatch(seedRow(ns));
      expect(await runViaKubectl(['who-can', 'backend', '--port', '80/TCP', '--no-headers'], { env })).toEqual(
        defaulted,
      );

      // e2e-viewer may read pods and namespaces but not networkpolicies.
      const viewer = await runCli(['who-can', '-n', ns, 'backend', '--port', '80/TCP', '--context', 'e2e-viewer'], {
        env,
      });
      expect(viewer.code).toBe(1);
      expect(viewer.stdout).toBe('');
      expect(viewer.stderr).toMatch(/^error: forbidden: user "e2e-viewer" cannot list resource "networkpolicies"/m);
      expect(viewer.stderr).toMatch(/^hint: ask for list on \S*networkpolicies/m);
      const viaKubectl = await runViaKubectl(['who-can', '-n', ns, '--context', 'e2e-viewer'], { env });
      expect(viaKubectl.code).toBe(1);
      expect(viaKubectl.stderr).toMatch(/cannot list resource "networkpolicies"/);
    },
    TIMEOUT,
  );

  test(
    'an unknown namespace is exit 1 and says so',
    async () => {
      const missing = `${ns}-missing`;
      const run = await runCli(['who-can', '-n', missing, '--port', '80/TCP']);
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(new RegExp(`^error: namespace "${missing}" not found$`, 'm'));
      const named = await runViaKubectl(['who-can', 'backend', '-n', missing]);
      expect(named).toMatchObject({ code: 1, stdout: '' });
      expect(named.stderr).toContain(`namespace "${missing}" not found`);
    },
    TIMEOUT,
  );

  describe('a user who may read pods, namespaces and networkpolicies but not services', () => {
    let env: Record<string, string>;

    beforeAll(async () => {
      // A service account token (TokenRequest) is a user without new certificates.
      const home = await createNamespace();
      const role = `netpol-reader-${home}`;
      await kubectl(['apply', '-f', '-'], {
        input: [
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: home } },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: role },
            rules: [
              { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
              { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
            ],
          },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: role },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
            subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: home }],
          },
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      });
      const token = (await kubectl(['create', 'token', 'reader', '-n', home, '--duration=1h'])).stdout.trim();
      const config = join(process.env.E2E_STATE_DIR ?? repoRoot, `kubeconfig-reader-${home}`);
      writeFileSync(config, (await kubectl(['config', 'view', '--raw'])).stdout, { mode: 0o600 });
      env = { KUBECONFIG: config };
      const cluster = (
        await kubectl(['config', 'view', '-o', 'jsonpath={.contexts[?(@.name=="e2e")].context.cluster}'])
      ).stdout;
      await kubectl(['config', 'set-credentials', 'reader', `--token=${token}`], { env });
      await kubectl(['config', 'set-context', 'reader', `--cluster=${cluster}`, '--user=reader'], { env });
      await kubectl(['config', 'use-context', 'reader'], { env });
      // The role works, and services are really out of reach.
      expect(
        (await kubectl(['auth', 'can-i', 'list', 'services', '-A'], { env, allowFailure: true })).stdout.trim(),
      ).toBe('no');
      expect((await kubectl(['auth', 'can-i', 'list', 'networkpolicies', '-A'], { env })).stdout.trim()).toBe('yes');
    }, TIMEOUT);

    test(
      'who-can and isolate --status work; a service/NAME target names the missing permission',
      async () => {
        const run = await runCli(['who-can', '-n', ns, 'backend', '--port', '80'], { env });
        succeeded(run);
        expect(run.stdout).toMatch(seedRow(ns));

        const status = await runCli(['isolate', '--status', ns, '--no-headers'], { env });
        succeeded(status);
        expect(status.stdout).toBe(`${ns}   1/2 pods   no   pol1\n`);

        const service = await runCli(['who-can', '-n', ns, 'service/backend', '--port', '80'], { env });
        expect(service.code).toBe(1);
        expect(service.stderr).toMatch(
          /^error: forbidden: user "system:serviceaccount:[^"]+" cannot get resource "services"/m,
        );
      },
      TIMEOUT,
    );

    test(
      'isolate --egress falls back to the kube-dns pod label when it may not read the kube-dns Service',
      async () => {
        const run = await runCli(['isolate', ns, '--egress', '--dry-run=client', '-o', 'json'], { env });
        expect(run.code).toBe(0);
        expect(run.stderr).toContain('cannot get service kube-system/kube-dns (forbidden)');
        expect(JSON.parse(run.stdout)).toMatchObject({
          kind: 'NetworkPolicy',
          spec: {
            egress: [
              {
                to: [
                  {
                    // kube-system has no DNS pods here; other tests' worlds have k8s-app=kube-dns pods.
                    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': expect.any(String) } },
                    podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                  },
                ],
              },
            ],
          },
        });
      },
      TIMEOUT,
    );
  });
});

describe('who-can on a real API server: paging', () => {
  const BULK = 520;
  let ns: string;

  afterAll(async () => {
    // No namespace controller deletes them: remove the pods so later -A runs stay small.
    if (ns) await kubectl(['delete', 'pods', '--all', '-n', ns, '--wait=false'], { allowFailure: true });
  }, TIMEOUT);

  test(
    `counts all ${BULK} pods of a namespace (list pages of 500)`,
    async () => {
      ns = await createNamespace();
      // Only `probe` may reach the bulk pods, so the answer is exactly one connection per bulk pod.
      const items: unknown[] = Array.from({ length: BULK }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `bulk-${i}`, namespace: ns, labels: { app: 'bulk' } },
        spec: { containers: [{ name: 'main', image: 'example.invalid/none:0' }] },
      }));
      items.push(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'probe', namespace: ns, labels: { role: 'probe' } },
          spec: { containers: [{ name: 'main', image: 'example.invalid/none:0' }] },
        },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'only-probe', namespace: ns },
          spec: {
            podSelector: { matchLabels: { app: 'bulk' } },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ podSelector: { matchLabels: { role: 'probe' } } }] }],
          },
        },
      );
      // Four creators at once; the pods need no IP (no ipBlock rule is involved).
      const chunks = [0, 1, 2, 3].map((k) => items.filter((_, i) => i % 4 === k));
      await Promise.all(
        chunks.map((chunk) =>
          kubectl(['create', '-f', '-'], { input: stringify({ apiVersion: 'v1', kind: 'List', items: chunk }) }),
        ),
      );

      const run = await runCli(['who-can', '-n', ns, '-l', 'app=bulk', '--port', '80/TCP', '-o', 'json']);
      const connections = parseConnections(run);
      const targets = new Set(connections.map((c) => c.to.pod));
      expect(targets.size).toBe(BULK);
      expect(new Set(connections.map((c) => `${c.from.namespace}/${c.from.pod}`))).toEqual(new Set([`${ns}/probe`]));
    },
    TIMEOUT,
  );
});
