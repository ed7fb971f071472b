/** isolate: offline previews from examples/, and every flag against the in-memory cluster. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

import Isolate from '../../src/commands/isolate.js';
import type { PromptFunctions } from '../../src/lib/prompts/types.js';
import type { IsolateResult } from '../../src/lib/services/isolate.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import type { ClusterConnection } from '../../src/lib/cluster/types.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { withPolicies } from '../../src/lib/engine/diff.js';
import { keyOf, type ClusterSnapshot } from '../../src/lib/engine/model.js';
import { formatPortSet, isEmptyPortSet, subtractPortSets, emptyPortSet } from '../../src/lib/engine/ports.js';
import { podOf, whoCanPairs } from '../support/pairs.js';
import { addressConnection } from '../../src/lib/engine/addresses.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/lib/write.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { helpOf, ROOT, runCommand, usageOf } from './run-command.js';

const SEED = ['--filename', 'examples/seed'];
const SHOP = ['--filename', 'examples/shop'];
const MANAGED = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };

function isolate(...argv: string[]) {
  return runCommand<IsolateResult>(Isolate, argv);
}

/** Compares text with test/fixtures/isolate/NAME byte for byte; UPDATE_GOLDEN=1 rewrites it. */
function expectGolden(text: string, name: string): void {
  const path = join(ROOT, 'test', 'fixtures', 'isolate', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

async function snapshotOf(...paths: string[]): Promise<ClusterSnapshot> {
  return (await loadManifests(paths)).snapshot;
}

/** isolate against a cluster, with a terminal (or not) and a canned answer to the prompt. */
function against(cluster: ClusterConnection, tty: { interactive?: boolean; answer?: boolean; asked?: string[] } = {}) {
  class TestIsolate extends Isolate {
    protected override async openCluster(): Promise<ClusterConnection> {
      return cluster;
    }
    protected override isInteractive(): boolean {
      return tty.interactive ?? false;
    }
    protected override async prompter(): Promise<PromptFunctions> {
      const refuse = async (): Promise<never> => {
        throw new Error('isolate asks only yes or no');
      };
      return {
        select: refuse,
        input: refuse,
        confirm: async ({ message }) => {
          tty.asked?.push(message);
          return tty.answer ?? false;
        },
      };
    }
  }
  return (...argv: string[]) => runCommand<IsolateResult>(TestIsolate, argv);
}

async function seedCluster(): Promise<MemoryCluster> {
  return new MemoryCluster(await snapshotOf('examples/seed'), { defaultNamespace: 'tenant-a' });
}

async function shopCluster(): Promise<MemoryCluster> {
  return new MemoryCluster(await snapshotOf('examples/shop'));
}

/** Text as a literal in a RegExp. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const writes = (cluster: MemoryCluster) => cluster.calls.filter((c) => c.verb !== 'get' && c.verb !== 'list');

describe('isolate --dry-run=client -f (the issue’s done-when checks)', () => {
  it('prints exactly one NetworkPolicy default-deny in tenant-a: podSelector {}, Ingress, no rules, managed-by', async () => {
    const run = await isolate('tenant-a', ...SEED, '--dry-run=client', '-o', 'json');
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: 'tenant-a', labels: MANAGED },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
  });

  it('--egress: Ingress and Egress, exactly one egress rule on 53/UDP and 53/TCP to the DNS peer, stated', async () => {
    const run = await isolate('tenant-a', ...SEED, '--dry-run=client', '-o', 'json', '--egress');
    const policy = JSON.parse(run.stdout) as V1NetworkPolicy;
    expect(policy.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
    expect(run.stderr).toContain(
      'DNS: egress stays allowed to pods k8s-app=kube-dns in namespace kube-system (no DNS pods found, assuming the usual labels) on 53/UDP and 53/TCP',
    );
  });

  it('--egress --no-allow-dns: no rules at all, and says DNS is cut', async () => {
    const run = await isolate('tenant-a', ...SEED, '--dry-run=client', '-o', 'json', '--egress', '--no-allow-dns');
    expect((JSON.parse(run.stdout) as V1NetworkPolicy).spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
    expect(run.stderr).toContain('DNS: not allowed (--no-allow-dns)');
  });

  it('the preview goes to stderr, the object to stdout; the default line says (dry run)', async () => {
    const run = await isolate('tenant-a', ...SEED, '--dry-run=client');
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/default-deny created (dry run)\n');
    expectGolden(run.stderr, 'seed-preview.txt');
  });

  it('-o yaml of several namespaces is one v1 List that kubectl apply reads', async () => {
    const run = await isolate('web', 'db', ...SHOP, '--dry-run=client', '-o', 'yaml');
    expect(parseYaml(run.stdout)).toMatchObject({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { kind: 'NetworkPolicy', metadata: { namespace: 'web' } },
        { kind: 'NetworkPolicy', metadata: { namespace: 'db' } },
      ],
    });
  });

  it('-o name prints the resource name', async () => {
    const run = await isolate('web', ...SHOP, '--dry-run=client', '-o', 'name', '--name', 'lockdown');
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/lockdown\n');
  });

  it('-o yaml of a namespace already isolated prints the policy that isolates it, for kubectl apply', async () => {
    const run = await isolate('api', ...SHOP, '--dry-run=client', '-o', 'yaml');
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('namespace api is already isolated (ingress by default-deny); nothing to do\n');
    expect(parseYaml(run.stdout)).toMatchObject({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: 'api' },
      spec: { podSelector: {}, policyTypes: expect.arrayContaining(['Ingress']) },
    });
    expect(run.result?.outcomes.map((o) => o.verb)).toEqual(['unchanged']);
  });

  it('-o json of an isolated namespace and one to isolate is a List of both, in the order named', async () => {
    const run = await isolate('api', 'web', ...SHOP, '--dry-run=client', '-o', 'json');
    const list = JSON.parse(run.stdout) as { kind: string; items: V1NetworkPolicy[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual([
      'api/default-deny',
      'web/default-deny',
    ]);
    const plain = await isolate('api', ...SHOP, '--dry-run=client');
    expect(plain.stdout).toBe('');
  });
});

/** Pairs whose ports allowed before minus ports allowed after is not empty, computed pair by pair with whoCan. */
function expectedCut(before: ClusterSnapshot, after: ClusterSnapshot, namespaces: string[]): string[] {
  const worldBefore = compileWorld(before);
  const worldAfter = compileWorld(after);
  const ports = (world: typeof worldBefore) => {
    const map = new Map<string, ReturnType<typeof emptyPortSet>>();
    for (const c of whoCanPairs(world, { targets: world.pods.map((p) => p.ref) }).connections) {
      if ('pod' in c.from && c.ports) map.set(`${keyOf(c.from.pod)} -> ${keyOf(podOf(c.to))}`, c.ports);
    }
    return map;
  };
  const was = ports(worldBefore);
  const now = ports(worldAfter);
  const out: string[] = [];
  for (const [pair, allowed] of was) {
    const [from, to] = pair.split(' -> ');
    if (from === to) continue;
    if (!namespaces.some((ns) => from.startsWith(`${ns}/`) || to.startsWith(`${ns}/`))) continue;
    const lost = subtractPortSets(allowed, now.get(pair) ?? emptyPortSet());
    if (!isEmptyPortSet(lost)) out.push(`${pair} ${formatPortSet(lost)}`);
  }
  return out.sort();
}

describe('the preview reports exactly the connections allowed before and denied after', () => {
  it.each([
    ['seed', ['tenant-a'], [] as string[], SEED],
    ['seed --egress', ['tenant-a'], ['--egress'], SEED],
    ['shop web db', ['web', 'db'], [], SHOP],
    ['shop web monitoring --egress', ['web', 'monitoring'], ['--egress'], SHOP],
    ['shop kube-system --egress --no-allow-dns', ['kube-system'], ['--egress', '--no-allow-dns'], SHOP],
  ])('%s', async (_, namespaces, extra, files) => {
    const run = await isolate(...namespaces, ...files, '--dry-run=client', '-o', 'json', ...extra);
    expect(run.exitCode).toBe(0);
    const before = await snapshotOf(files[1]);
    const written = run.result!.plans.flatMap((p) => (p.action === 'write' ? [p.policy] : []));
    const expected = expectedCut(before, withPolicies(before, { add: written }), namespaces);
    const reported = run.result!.diff.cut.map((c) => `${keyOf(c.from)} -> ${keyOf(c.to)} ${formatPortSet(c.lost)}`);
    expect(reported.sort()).toEqual(expected);
    expect(run.stderr).toContain(`Preview: ${expected.length} pod-to-pod connection`);
    // Addresses: every pod that loses any port with some whole address family, asked as who-can asks it.
    const [worldBefore, worldAfter] = [before, withPolicies(before, { add: written })].map((s) => compileWorld(s));
    const losing = new Set<string>();
    for (const pod of worldAfter.pods.filter((p) => namespaces.includes(p.ref.namespace))) {
      for (const direction of ['ingress', 'egress'] as const) {
        for (const cidr of ['0.0.0.0/0', '::/0', '203.0.113.0/24']) {
          const ask = (world: typeof worldAfter) =>
            addressConnection(world, world.podsByKey.get(keyOf(pod.ref))!, { cidr, except: [] }, direction).ports!;
          if (!isEmptyPortSet(subtractPortSets(ask(worldBefore), ask(worldAfter)))) {
            losing.add(`${keyOf(pod.ref)} ${direction}`);
          }
        }
      }
    }
    const cutAddresses = new Set(run.result!.diff.cutAddresses.map((c) => `${keyOf(c.pod)} ${c.direction}`));
    expect([...losing].filter((key) => !cutAddresses.has(key))).toEqual([]);
    // --explain lists every group: their pod-to-pod connections add up to the pairs.
    const explained = await isolate(...namespaces, ...files, '--dry-run=client', '-o', 'json', '--explain', ...extra);
    const counted = explained.stderr
      .split('\n')
      .map((line) => /^ {2}(?:cuts +)?(\d+) (.*)$/.exec(line))
      .filter((row) => row !== null && !/\d+\.\d+\.\d+\.\d+\/|::/.test(row[2]))
      .reduce((sum, row) => sum + Number(row![1]), 0);
    expect(counted).toBe(expected.length);
  });
});

describe('isolate against a cluster', () => {
  it('server dry-runs, then creates; without a terminal the cut needs --yes', async () => {
    const cluster = await seedCluster();
    const refused = await against(cluster)('tenant-a');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      'error: isolating would cut 2 connections allowed today, and there is no terminal',
    );
    expect(refused.stderr).toContain('hint: pass --yes to go ahead');
    expect(writes(cluster)).toEqual([]);

    const run = await against(cluster)('tenant-a', '--yes');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/default-deny created\n');
    expect(writes(cluster).map((c) => `${c.verb} ${c.namespace}/${c.name} dryRun=${c.dryRun}`)).toEqual([
      'create tenant-a/default-deny dryRun=true',
      'create tenant-a/default-deny dryRun=false',
    ]);
    const stored = cluster.policy('tenant-a', 'default-deny');
    expect(stored?.metadata?.labels).toEqual(MANAGED);
    expect(stored?.metadata?.managedFields?.[0].manager).toBe('kubectl-netpol');
  });

  it('uses -n, else the context namespace', async () => {
    const cluster = await shopCluster();
    const run = await against(cluster)('-n', 'db', '-y', '--field-manager', 'me');
    expect(run.result?.namespaces).toEqual(['db']);
    expect(cluster.policy('db', 'default-deny')?.metadata?.managedFields?.[0].manager).toBe('me');
    const seed = await seedCluster();
    expect((await against(seed)('-y')).result?.namespaces).toEqual(['tenant-a']);
  });

  it('on a terminal asks before cutting; "no" writes nothing', async () => {
    const cluster = await seedCluster();
    const asked: string[] = [];
    const no = await against(cluster, { interactive: true, answer: false, asked })('tenant-a');
    expect(asked).toEqual(['Cut 2 connections and isolate tenant-a?']);
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toContain('error: aborted: nothing was written');
    expect(writes(cluster)).toEqual([]);
    const yes = await against(cluster, { interactive: true, answer: true })('tenant-a');
    expect(yes.exitCode).toBe(0);
    expect(cluster.policyKeys()).toContain('tenant-a/default-deny');
  });

  it('does not ask when nothing would be cut', async () => {
    const cluster = await shopCluster();
    const asked: string[] = [];
    // kube-system has one coredns pod; isolating its ingress cuts DNS from everyone: pick a namespace with no pods.
    cluster.snapshot.namespaces.push({ metadata: { name: 'empty' } });
    const run = await against(cluster, { interactive: true, asked })('empty');
    expect(run.exitCode).toBe(0);
    expect(asked).toEqual([]);
    expect(run.stderr).toContain('Preview: no pod-to-pod connection allowed today would be denied.');
  });

  it('--dry-run=server sends only dry runs and says so', async () => {
    const cluster = await seedCluster();
    const run = await against(cluster)('tenant-a', '--dry-run=server');
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/default-deny created (server dry run)\n');
    expect(writes(cluster).map((c) => c.dryRun)).toEqual([true]);
    expect(cluster.policyKeys()).toEqual(['tenant-a/pol1']);
  });

  it('is idempotent: a second run says which policy isolates and writes nothing', async () => {
    const cluster = await seedCluster();
    await against(cluster)('tenant-a', '-y');
    const before = writes(cluster).length;
    const again = await against(cluster)('tenant-a', '-y');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('namespace tenant-a is already isolated (ingress by default-deny); nothing to do\n');
    expect(writes(cluster)).toHaveLength(before);
    expect(cluster.policyKeys()).toEqual(['tenant-a/default-deny', 'tenant-a/pol1']);
  });

  it('counts any policy that isolates, not only its own', async () => {
    const cluster = await shopCluster();
    const run = await against(cluster)('api', '--egress', '-y');
    expect(run.stderr).toBe(
      'namespace api is already isolated (ingress by default-deny; egress by allow-dns, default-deny); nothing to do\n',
    );
    expect(writes(cluster)).toEqual([]);
  });

  it('--egress on top of its own ingress policy updates that policy, never a second one', async () => {
    const cluster = await seedCluster();
    await against(cluster)('tenant-a', '-y');
    const run = await against(cluster)('tenant-a', '--egress', '-y');
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/default-deny configured\n');
    expect(run.stderr).toContain('namespace tenant-a: updating default-deny to isolate ingress and egress');
    expect(cluster.policyKeys()).toEqual(['tenant-a/default-deny', 'tenant-a/pol1']);
    expect(cluster.policy('tenant-a', 'default-deny')?.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('refuses to replace a policy of that name it did not create; --overwrite replaces it and says so', async () => {
    const cluster = await seedCluster();
    cluster.snapshot.policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'tenant-a', name: 'default-deny', resourceVersion: '1' },
      spec: { podSelector: { matchLabels: { segment: 'frontend' } }, ingress: [{}] },
    });
    const run = await against(cluster)('tenant-a', '-y');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      'error: networkpolicy tenant-a/default-deny already exists and was not created by kubectl-netpol (no label app.kubernetes.io/managed-by=kubectl-netpol); nothing was written\n' +
        'hint: choose another name with --name, or pass --overwrite to replace it\n',
    );
    expect(writes(cluster)).toEqual([]);
    const over = await against(cluster)('tenant-a', '-y', '--overwrite');
    expect(over.exitCode).toBe(0);
    expect(over.stdout).toBe('networkpolicy.networking.k8s.io/default-deny configured\n');
    expect(over.stderr).toContain(
      'Warning: --overwrite: replacing networkpolicy tenant-a/default-deny, which kubectl-netpol did not create',
    );
    expect(cluster.policy('tenant-a', 'default-deny')?.metadata?.labels).toEqual(MANAGED);
  });

  it('with several namespaces checks all first: one conflict writes nothing anywhere', async () => {
    const cluster = await shopCluster();
    cluster.snapshot.policies.push({
      metadata: { namespace: 'db', name: 'default-deny' },
      spec: { podSelector: { matchLabels: { app: 'none' } } },
    });
    const run = await against(cluster)('web', 'db', '-y');
    expect(run.exitCode).toBe(1);
    expect(writes(cluster)).toEqual([]);
  });

  it('an unknown namespace is an error before anything is written', async () => {
    const cluster = await shopCluster();
    const run = await against(cluster)('web', 'nope', '-y');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: namespace "nope" not found; nothing was written\nhint: namespaces: api, db,/);
    expect(writes(cluster)).toEqual([]);
  });

  it('403 on create names the verb and resource, and nothing is written', async () => {
    const cluster = (await seedCluster()).forbid('create', 'networkpolicies');
    const run = await against(cluster)('tenant-a', '-y');
    expect(run.exitCode).toBe(1);
    expect(run.stderr.replace(/^(?!error|hint).*\n/gm, '')).toBe(
      'error: forbidden: user "tester" cannot create resource "networkpolicies" in API group "networking.k8s.io" in the namespace "tenant-a"\n' +
        'hint: ask for create on networkpolicies.networking.k8s.io\n',
    );
    expect(cluster.policyKeys()).toEqual(['tenant-a/pol1']);
  });

  it('403 on listing policies names list and the resource', async () => {
    const cluster = (await seedCluster()).forbid('list', 'networkpolicies');
    const run = await against(cluster)('tenant-a', '-y');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('cannot list resource "networkpolicies" in API group "networking.k8s.io"');
  });
});

describe('isolate --off', () => {
  it('removes only its own policy, names the others that keep the namespace isolated, shows what opens', async () => {
    const cluster = await seedCluster();
    await against(cluster)('tenant-a', '-y');
    cluster.snapshot.policies.push({
      metadata: { namespace: 'tenant-a', name: 'team-deny-egress' },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    });
    const run = await against(cluster)('tenant-a', '--off');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/default-deny deleted\n');
    expect(run.stderr).toContain(
      'namespace tenant-a stays isolated for egress by team-deny-egress (not created by kubectl-netpol; left alone)',
    );
    // No pod reaches a pod it could not before, but the frontend takes traffic from outside again.
    expect(run.stderr).toContain(
      'Preview: no pod-to-pod connection denied today would be allowed; 1 pod would gain traffic with addresses outside the cluster:',
    );
    expect(run.stderr).toMatch(/1\s+0\.0\.0\.0\/0, ::\/0\s+tenant-a\/frontend\s+all/);
    expect(cluster.policyKeys()).toEqual(['tenant-a/pol1', 'tenant-a/team-deny-egress']);
  });

  it('shows what becomes reachable', async () => {
    const cluster = await seedCluster();
    await against(cluster)('tenant-a', '-y');
    const run = await against(cluster)('tenant-a', '--off', '--explain');
    expect(run.stderr).toContain(
      'Preview: 1 pod-to-pod connection denied today would be allowed; 1 pod would gain traffic with addresses outside the cluster:',
    );
    expect(run.stderr).toMatch(/tenant-a\/backend\s+tenant-a\/frontend\s+all/);
  });

  it('leaves a policy of that name it did not create alone', async () => {
    const cluster = await seedCluster();
    cluster.snapshot.policies.push({
      metadata: { namespace: 'tenant-a', name: 'default-deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    const run = await against(cluster)('tenant-a', '--off');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      'namespace tenant-a: networkpolicy default-deny was not created by kubectl-netpol; left alone',
    );
    expect(writes(cluster)).toEqual([]);
    expect(cluster.policyKeys()).toContain('tenant-a/default-deny');
  });

  it('--off --dry-run=client -f previews the removal offline', async () => {
    const run = await isolate('tenant-a', '--off', ...SEED, '--dry-run=client');
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe(
      'namespace tenant-a: no networkpolicy default-deny created by kubectl-netpol; nothing to remove\n',
    );
  });
});

describe('isolate on workloads read from files', () => {
  it('counts the replica-to-replica connections it cuts: a StatefulSet of 3 stands for 3 pods', async () => {
    const run = await isolate('cache', '--dry-run=client', '--filename', 'test/fixtures/isolate/replicas.yaml');
    expect(run.exitCode).toBe(0);
    // Each of redis-0..2 to each other one: 3 x 2.
    expect(run.stderr).toContain(
      'Preview: 6 pod-to-pod connections allowed today would be denied; 3 pods would lose traffic with addresses outside the cluster:\n',
    );
    expect(run.stderr).toMatch(/^ {2}6 +cache\/statefulset\/redis +cache\/statefulset\/redis +all$/m);
  });
});

describe('isolate --status', () => {
  it('a table per namespace: is each direction isolated, and how many policies select its pods', async () => {
    const run = await isolate('--status', ...SHOP);
    expect(run.exitCode).toBe(0);
    expect(run.result?.status.find((s) => s.namespace === 'api')?.egress.denyAll.map((p) => p.name)).toEqual([
      'allow-dns',
      'default-deny',
    ]);
    expectGolden(run.stdout, 'shop-status.txt');
  });

  it('POLICIES is a count, whatever the number of policies; -o wide names them', async () => {
    const policies = Array.from({ length: 60 }, (_, i) => ({
      metadata: { name: `allow-${String(i).padStart(2, '0')}`, namespace: 'tenant-a' },
      spec: { podSelector: {}, ingress: [{}] },
    }));
    const snapshot = await snapshotOf('examples/seed');
    const cluster = new MemoryCluster({ ...snapshot, policies: [...snapshot.policies, ...policies] });
    const table = await against(cluster)('--status', 'tenant-a', '--no-headers');
    expect(table.stdout).toBe('tenant-a   2/2 pods   no   61\n');
    const wide = await against(cluster)('--status', 'tenant-a', '-o', 'wide');
    const [header, row] = wide.stdout.split('\n');
    expect(header.split(/ {3,}/)).toEqual(['NAMESPACE', 'INGRESS', 'EGRESS', 'POLICIES', 'POLICY NAMES']);
    expect(row.split(/ {3,}/).slice(3)).toEqual([
      '61',
      ['allow-00', ...policies.slice(1).map((p) => p.metadata.name), 'pol1'].join(','),
    ]);
    expect(writes(cluster)).toEqual([]);
  });

  it('-A without namespaces is --status; seed-era annotations come with the equivalent command', async () => {
    const run = await isolate('-A', '--filename', 'test/fixtures/isolate/legacy.yaml');
    expect(run.result?.mode).toBe('status');
    expectGolden(run.stdout, 'legacy-status.txt');
  });

  it('-o json and --no-headers; named namespaces only', async () => {
    const json = await isolate('--status', 'db', ...SHOP, '-o', 'json');
    expect(JSON.parse(json.stdout)).toEqual({
      namespaces: [
        {
          namespace: 'db',
          ingress: { state: 'all-pods', denyAll: [], policies: ['postgres-ingress'], selectedPods: 2, pods: 2 },
          egress: { state: 'open', denyAll: [], policies: [], selectedPods: 0, pods: 2 },
        },
      ],
    });
    const bare = await isolate('--status', 'db', ...SHOP, '--no-headers');
    expect(bare.stdout).toBe('db   2/2 pods   no   1\n');
  });

  it('-n chooses the namespace; -A (or no -n) shows every namespace; -o table is the default', async () => {
    const one = await isolate('--status', '-n', 'db', ...SHOP, '--no-headers');
    expect(one.result?.namespaces).toEqual(['db']);
    expect(one.stdout).toBe('db   2/2 pods   no   1\n');
    const all = await isolate('--status', '-n', 'db', '-A', ...SHOP, '-o', 'table');
    expect(all.exitCode).toBe(0);
    expect(all.result?.namespaces).toEqual(['api', 'db', 'kube-system', 'monitoring', 'web']);
    const named = await isolate('--status', 'web', '-n', 'db', ...SHOP);
    expect(named.result?.namespaces).toEqual(['web']);
  });

  it('works live too, with only reads', async () => {
    const cluster = await shopCluster();
    const run = await against(cluster)('--status');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('api           isolated   isolated');
    expect(writes(cluster)).toEqual([]);
  });
});

describe('usage errors (exit 2, before anything is loaded)', () => {
  it.each([
    [['tenant-a', ...SEED], '-f needs --dry-run=client'],
    [['tenant-a', ...SEED, '--dry-run=server'], '-f needs --dry-run=client'],
    [['tenant-a', '-A'], 'NAMESPACE arguments and --all-namespaces cannot be combined'],
    [['tenant-a', '--no-allow-dns'], '--no-allow-dns only applies with --egress'],
    [['tenant-a', '--allow-dns'], '--allow-dns only applies with --egress'],
    [
      ['tenant-a', '--off', '--egress'],
      '--off removes the whole policy kubectl-netpol created and cannot be combined with --egress',
    ],
    [
      ['tenant-a', '--off', '--no-allow-dns'],
      '--off removes the whole policy kubectl-netpol created and cannot be combined with --no-allow-dns',
    ],
    [
      ['tenant-a', '--off', '--overwrite'],
      '--off removes only the policy kubectl-netpol created and cannot be combined with --overwrite',
    ],
    [['tenant-a', '--no-headers', ...SEED, '--dry-run=client'], '--no-headers only applies to the table of --status'],
    [
      ['--status', '-o', 'name', ...SEED],
      '-o name does not apply to isolate --status (or -A): use -o table (the default), wide, json or yaml',
    ],
    [
      ['-A', '-o', 'name', ...SEED],
      '-o name does not apply to isolate --status (or -A): use -o table (the default), wide, json or yaml',
    ],
    [
      ['tenant-a', '-o', 'table', ...SEED, '--dry-run=client'],
      '-o table does not apply to isolate: use -o json, yaml or name',
    ],
    [
      ['tenant-a', '-o', 'wide', ...SEED, '--dry-run=client'],
      '-o wide does not apply to isolate: use -o json, yaml or name',
    ],
    [['tenant-a', '--dry-run=maybe'], 'dry-run'],
    [['tenant-a', '--bogus'], 'Nonexistent flag: --bogus'],
  ])('%j', async (argv, message) => {
    const run = await isolate(...argv);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('-l is not in the help, and is refused by name', async () => {
    const help = await helpOf('isolate');
    expect(help).not.toMatch(/--selector|-l,/);
    expect(help).toMatch(/-A, --all-namespaces/);
    const run = await isolate('tenant-a', '-l', 'a=b', ...SEED, '--dry-run=client');
    expect(run).toMatchObject({ exitCode: 2, stdout: '' });
    expect(run.stderr).toMatch(/^error: --selector does not apply to isolate/);
  });

  it('a wrong -o is one line, naming the values the mode takes', async () => {
    const run = await isolate('--status', '-o', 'name', ...SEED);
    expect(run.stderr).toBe(
      'error: -o name does not apply to isolate --status (or -A): use -o table (the default), wide, json or yaml\n',
    );
    expect(run.stdout).toBe('');
  });

  it.each([
    [['-A', '--off'], '-A (--all-namespaces)', '--off', '--off'],
    [
      ['-A', '--egress', '--no-allow-dns'],
      '-A (--all-namespaces)',
      '--egress and --no-allow-dns',
      '--egress --no-allow-dns',
    ],
    [['-A', '--name', 'x', '--explain'], '-A (--all-namespaces)', '--name and --explain', '--name x --explain'],
    [
      ['-A', '--dry-run=client', '-y', '--overwrite'],
      '-A (--all-namespaces)',
      '--dry-run, --overwrite and --yes',
      '--dry-run=client --overwrite --yes',
    ],
    [['-A', '--field-manager', 'me'], '-A (--all-namespaces)', '--field-manager', '--field-manager me'],
    [['--status', '--egress'], '--status', '--egress', '--egress'],
    [['--status', 'tenant-a', '--off', '--name', 'x'], '--status', '--off and --name', '--off --name x'],
    [['--status', '-A', '--dry-run=none'], '--status', '--dry-run', '--dry-run=none'],
  ])(
    '%j: a status conflicts with writing flags, named in one line with the command that writes',
    async (argv, mode, names, typed) => {
      const cluster = await seedCluster();
      const run = await against(cluster)(...argv);
      const lines = run.stderr.split('\n');
      expect({ exitCode: run.exitCode, stdout: run.stdout, lines: lines.length }).toEqual({
        exitCode: 2,
        stdout: '',
        lines: 3,
      });
      expect(lines[0]).toMatch(
        new RegExp(
          `^error: ${escape(mode)} (shows the status of every namespace|only shows isolation) and cannot be combined with ${escape(names)}: `,
        ),
      );
      expect(lines[1]).toBe(`hint: kubectl netpol isolate NAMESPACE... ${typed}`);
      expect(cluster.calls).toEqual([]);
    },
  );

  it('the help shows the four forms: isolate, --baseline, --off, --status', async () => {
    expect(await usageOf('isolate')).toEqual([
      '  $ kubectl netpol isolate [NAMESPACES...] [--egress [--no-allow-dns]] [--name NAME] [--explain] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
      '  $ kubectl netpol isolate [NAMESPACES...] --baseline [--egress [--no-allow-dns]] [--priority N] [--name NAME] [--off] [--explain] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-f PATH...]',
      '  $ kubectl netpol isolate [NAMESPACES...] --off [--name NAME] [--explain] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
      '  $ kubectl netpol isolate --status [NAMESPACES... | -A] [-o table|wide|json|yaml] [--no-headers] [-n NAMESPACE] [-f PATH...]',
    ]);
  });
});

describe('isolate --egress keeps DNS, in what it prints and in what it skips', () => {
  it('-o yaml of a namespace isolated already prints every policy of that isolation, the DNS one included', async () => {
    const run = await isolate('api', '--egress', ...SHOP, '--dry-run=client', '-o', 'yaml');
    expect(run.exitCode).toBe(0);
    const list = parseYaml(run.stdout) as { kind: string; items: V1NetworkPolicy[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['default-deny', 'allow-dns']);
    expect(list.items[1].spec?.egress?.[0].ports).toEqual([
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ]);
    // Ingress only: the default-deny alone is the isolation asked about.
    const ingress = await isolate('api', ...SHOP, '--dry-run=client', '-o', 'yaml');
    expect((parseYaml(ingress.stdout) as V1NetworkPolicy).metadata?.name).toBe('default-deny');
  });

  it('a namespace isolated without DNS is not skipped: ours is written with the DNS rule', async () => {
    const files = [...SHOP, '-f', 'test/fixtures/isolate/no-dns.yaml'];
    const run = await isolate('locked', '--egress', ...files, '--dry-run=client', '-o', 'yaml');
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain(
      'namespace locked is isolated already, but its pods cannot reach DNS: writing default-deny to keep it\n',
    );
    // The preview says what the DNS rule opens.
    expect(run.stderr).toContain('; 2 connections denied today would be allowed:\n');
    expect(run.stderr).toMatch(/^ {2}opens {4}2 +locked\/app +kube-system\/deployment\/coredns +53\/TCP, 53\/UDP$/m);
    const policy = parseYaml(run.stdout) as V1NetworkPolicy;
    expect(policy.metadata?.name).toBe('default-deny');
    expect(policy.spec?.egress?.[0].ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    // Without DNS asked for, the namespace is isolated as it is.
    const bare = await isolate('locked', '--egress', '--no-allow-dns', ...files, '--dry-run=client');
    expect(bare.stderr).toBe(
      'namespace locked is already isolated (ingress by deny-all; egress by deny-all); nothing to do\n',
    );
  });
});
