/** who-can against the real kube-apiserver: the same answers as offline (examples, conformance worlds),
 * paging past 500 pods, kubeconfig defaults, RBAC denials and scoping, unknown namespaces, and both
 * invocation styles (kubectl-netpol, `kubectl netpol`). */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';

import {
  applyWorld,
  createControllerPods,
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

/**
 * The rows of a table printed with --no-headers whose two sides are in the world (or an address
 * block), real namespace names mapped back to the logical ones, sorted. Columns are apart by at
 * least two spaces; values have at most one.
 */
function tableRows(stdout: string, mapping: NamespaceMapping): string[] {
  const logical = new Map(Object.entries(mapping).map(([from, to]) => [to, from]));
  const inWorld = (cell: string) =>
    /^[0-9a-f.:]+\/\d+( except |$)/.test(cell) || logical.size === 0 || logical.has(cell.split('/')[0]);
  return stdout
    .split('\n')
    .filter((line) => line !== '' && line !== 'yes' && line !== 'no')
    .map((line) => line.split(/ {2,}/))
    .filter(([subject, peer]) => inWorld(subject) && inWorld(peer))
    .map((cells) => {
      let text = cells.join(' | ');
      for (const [real, name] of logical) text = text.split(`${real}/`).join(`${name}/`);
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
    'examples/shop with pods made as the controllers make them: the same answers, workload by workload, both ways',
    async () => {
      // A workload read from a file stands for spec.replicas pods (NAME-0..N-1, owned by the workload).
      // Nothing runs the workloads here (no controllers), so their pods are made as the controllers
      // would: a Deployment's ReplicaSet NAME-<hash> and its pods NAME-<hash>-<xxxxx>, a StatefulSet's
      // NAME-0..N-1. Pod names differ from the files', so answers are compared as the tables print
      // them, by workload, with pod counts. Pods stay Pending without an IP, like those from files.
      const dir = join(repoRoot, 'examples', 'shop');
      const yaml = readDir(dir);
      const mapping = renaming(yaml);
      await applyWorld(mapping, yaml);
      // api 4, worker 2, frontend 3, postgres 2, coredns 2, prometheus 1.
      expect(await createControllerPods(mapping, yaml)).toBe(14);

      const live = (args: string[]) =>
        args.map((word, i) => (['-n', '--namespace'].includes(args[i - 1]) ? mapping[word] : word));
      const ports = ['80/TCP', '8080/TCP', '5432/TCP', '53/UDP', '9113/TCP', undefined];
      const queries: string[][] = [
        ...ports.flatMap((port) =>
          ['who-can', 'reachable-from'].map((command) => [command, '-A', ...(port ? ['--port', port] : [])]),
        ),
        ['who-can', 'deployment/api', '-n', 'api', '--port', 'http'],
        ['who-can', 'service/frontend', '-n', 'web'],
        ['who-can', 'statefulset/postgres', '-n', 'db', '--port', '5432', '--explain'],
        ['reachable-from', 'deployment/api', '-n', 'api', '--explain'],
        ['reachable-from', 'deployment/frontend', '-n', 'web', '--port', '8080', '-o', 'wide'],
      ];
      await inBatches(queries, 3, async (query) => {
        const [expected, actual] = await Promise.all([
          runCli([...query, '--no-headers', '-f', dir]),
          runCli([...live(query), '--no-headers']),
        ]);
        succeeded(expected);
        succeeded(actual);
        const rows = tableRows(expected.stdout, {});
        expect(rows.length).toBeGreaterThan(0);
        expect({ query: query.join(' '), rows: tableRows(actual.stdout, mapping) }).toEqual({
          query: query.join(' '),
          rows,
        });
      });

      // Questions, replica to replica included: the same yes or no, offline and live.
      const questions: [string[], number][] = [
        [['who-can', 'statefulset/postgres', '-n', 'db', '--from', 'statefulset/postgres', '--port', '5432'], 0],
        [['who-can', 'deployment/frontend', '-n', 'web', '--from', 'deployment/frontend'], 1],
        [['who-can', 'service/api', '-n', 'api', '--from', 'web/deployment/frontend'], 0],
        [['reachable-from', 'deployment/api', '-n', 'api', '--to', 'db/service/postgres'], 0],
        [['reachable-from', 'deployment/worker', '-n', 'api', '--to', 'api/deployment/api', '--port', 'http'], 1],
        [['reachable-from', 'deployment/api', '-n', 'api', '--to', '203.0.113.0/25', '--port', '443'], 0],
        [['reachable-from', 'deployment/api', '-n', 'api', '--to', '203.0.112.0/23', '--port', '443'], 1],
      ];
      for (const [question, code] of questions) {
        const mapped = question.map((word) => {
          const [first, ...rest] = word.split('/');
          return rest.length === 2 && mapping[first] ? [mapping[first], ...rest].join('/') : word;
        });
        const [expected, actual] = await Promise.all([
          runCli([...question, '-q', '-f', dir]),
          runCli([...live(mapped), '-q']),
        ]);
        expect({ question: question.join(' '), offline: expected, live: actual }).toEqual({
          question: question.join(' '),
          offline: { code, stdout: '', stderr: '' },
          live: { code, stdout: '', stderr: '' },
        });
      }
    },
    // 48 runs of the CLI: room for a loaded machine (no timing is asserted).
    3 * TIMEOUT,
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

  test(
    'questions (--from, --to) answer 0 or 1 live, and exit 3 when the cluster keeps them from an answer',
    async () => {
      const answers: [string[], number][] = [
        [['reachable-from', 'frontend', '--to', 'backend', '--port', '80'], 0],
        [['reachable-from', 'frontend', '--to', 'backend', '--port', '81'], 1],
        [['reachable-from', 'backend', '--to', 'pod/frontend'], 0],
        [['reachable-from', 'frontend', '--to', '203.0.113.9'], 0],
        [['who-can', 'backend', '--from', 'frontend', '--port', 'http'], 0],
        [['who-can', 'backend', '--from', '10.244.1.10', '--port', '80'], 1],
      ];
      for (const [question, code] of answers) {
        // Warnings may come from other tests' pods in the shared cluster (Pending, without an IP).
        const run = await runCli([...question, '-n', ns]);
        expect({ question, code: run.code, stdout: run.stdout, errors: run.stderr.match(/^error:.*/gm) }).toEqual({
          question,
          code,
          stdout: code === 0 ? 'yes\n' : 'no\n',
          errors: null,
        });
      }
      // Forbidden (e2e-viewer may not list networkpolicies), a namespace that is not there, a server that does not answer.
      const unreachable = join(process.env.E2E_STATE_DIR ?? repoRoot, `kubeconfig-unreachable-${ns}`);
      writeFileSync(unreachable, (await kubectl(['config', 'view', '--raw'])).stdout, { mode: 0o600 });
      const cluster = (
        await kubectl(['config', 'view', '-o', 'jsonpath={.contexts[?(@.name=="e2e")].context.cluster}'])
      ).stdout;
      await kubectl(['config', 'set-cluster', cluster, '--server=https://127.0.0.1:1'], {
        env: { KUBECONFIG: unreachable },
      });
      const failures: [string[], Record<string, string>, RegExp][] = [
        [['who-can', 'backend', '-n', ns, '--from', 'frontend', '--context', 'e2e-viewer'], {}, /^error: forbidden: /m],
        [
          ['reachable-from', 'frontend', '-n', ns, '--to', 'backend', '--context', 'e2e-viewer'],
          {},
          /^error: forbidden: /m,
        ],
        [
          ['reachable-from', 'frontend', '-n', `${ns}-missing`, '--to', 'backend'],
          {},
          /^error: namespace "[^"]+" not found$/m,
        ],
        [
          ['reachable-from', 'frontend', '-n', ns, '--to', 'backend', '--request-timeout', '5s'],
          { KUBECONFIG: unreachable },
          /^error: /m,
        ],
        [['who-can', 'backend', '-n', ns, '--from', 'frontend', '-q'], { KUBECONFIG: unreachable }, /^error: /m],
      ];
      for (const [question, env, line] of failures) {
        const run = await runCli(question, { env });
        expect({ question, code: run.code, stdout: run.stdout }).toEqual({ question, code: 3, stdout: '' });
        expect(run.stderr).toMatch(line);
        expect(run.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      }
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
        expect(status.stdout).toBe(`${ns}   1/2 pods   no   1\n`);

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
