/**
 * isolate --baseline: the ClusterNetworkPolicy it writes (offline, in memory, and over HTTP against
 * a fake API server serving and not serving policy.networking.k8s.io), its preview, --off and the refusal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import Isolate from '../../src/commands/isolate.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import type { ClusterConnection, ServedApiGroup } from '../../src/lib/cluster/types.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import type { IsolateResult } from '../../src/lib/services/isolate.js';
import { ApiError } from '../../src/lib/errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/lib/write.js';
import { startFakeApiServer, type FakeApiServer, type Reply, type Routes } from '../cluster/fake-api-server.js';
import { buildKubeconfig } from '../cluster/kubeconfig-builder.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { runCommand } from './run-command.js';

const SHOP = ['--filename', 'examples/shop'];
const GROUP = 'policy.networking.k8s.io';
const SERVES_BETA: ServedApiGroup[] = [{ name: GROUP, versions: ['v1beta1', 'v1alpha2', 'v1alpha1'] }];

function isolate(...argv: string[]) {
  return runCommand<IsolateResult>(Isolate, argv);
}

function against(cluster: ClusterConnection) {
  class TestIsolate extends Isolate {
    protected override async openCluster(): Promise<ClusterConnection> {
      return cluster;
    }
  }
  return (...argv: string[]) => runCommand<IsolateResult>(TestIsolate, argv);
}

async function shopCluster(apiGroups: ServedApiGroup[] | undefined = SERVES_BETA): Promise<MemoryCluster> {
  return new MemoryCluster((await loadManifests(['examples/shop'])).snapshot, { apiGroups });
}

/** A ClusterNetworkPolicy of that name someone else wrote. */
function foreignPolicy(name: string): ClusterTierPolicy {
  return {
    apiVersion: `${GROUP}/v1beta1`,
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: {
      tier: 'Baseline',
      priority: 5,
      subject: { namespaces: {} },
      ingress: [{ name: 'theirs', action: 'Deny', from: [{ namespaces: {} }] }],
    },
  };
}

describe('isolate --baseline offline (-f, --dry-run=client)', () => {
  it('-o yaml prints one v1beta1 ClusterNetworkPolicy that kubectl-netpol reads back as the same object', async () => {
    const run = await isolate('web', 'api', '--baseline', '--egress', ...SHOP, '--dry-run=client', '-o', 'yaml');
    expect(run.exitCode).toBe(0);
    const policy = parseYaml(run.stdout) as ClusterTierPolicy;
    expect(policy).toEqual({
      apiVersion: `${GROUP}/v1beta1`,
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'netpol-baseline-api-web', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      spec: {
        tier: 'Baseline',
        priority: 1000,
        subject: {
          namespaces: {
            matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['api', 'web'] }],
          },
        },
        ingress: [{ name: 'deny-all-ingress', action: 'Deny', from: [{ namespaces: {} }] }],
        egress: [
          {
            name: 'allow-dns',
            action: 'Accept',
            to: [
              {
                pods: {
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                },
              },
            ],
            protocols: [{ udp: { destinationPort: { number: 53 } } }, { tcp: { destinationPort: { number: 53 } } }],
          },
          {
            name: 'deny-all-egress',
            action: 'Deny',
            to: [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }],
          },
        ],
      },
    });
    // Round trip: the printed YAML read back by the -f loader is a valid policy, labels kept.
    const dir = mkdtempSync(join(tmpdir(), 'netpol-baseline-'));
    try {
      const file = join(dir, 'baseline.yaml');
      writeFileSync(file, run.stdout);
      const loaded = await loadManifests([file]);
      expect(loaded.warnings).toEqual([]);
      expect(loaded.snapshot.clusterPolicies).toEqual([policy]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the preview lists what it cuts, and says outside sources are kept', async () => {
    const run = await isolate('web', '--baseline', ...SHOP, '--dry-run=client', '--priority', '7');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('clusternetworkpolicy.policy.networking.k8s.io/netpol-baseline-web created (dry run)\n');
    const [meaning, kept, preview] = run.stderr.split('\n');
    expect(meaning).toBe(
      'clusternetworkpolicy netpol-baseline-web (policy.networking.k8s.io/v1beta1, Baseline tier, priority 7) denies ingress from every pod for namespace web; it decides only for pods no NetworkPolicy selects',
    );
    expect(kept).toMatch(
      /^kept: \d+ pods? of namespace web still takes? traffic from addresses outside the cluster \(0\.0\.0\.0\/0, ::\/0\): a ClusterNetworkPolicy's ingress peers are pods and namespaces only/,
    );
    expect(preview).toMatch(/^Preview: \d+ pod-to-pod connections? allowed today would be denied/);
    const result = run.result!;
    // Only connections into web are cut (ingress only), and no address traffic.
    expect(result.diff.cut.length).toBeGreaterThan(0);
    expect(result.diff.cut.every((c) => c.to.namespace === 'web')).toBe(true);
    expect(result.diff.cutAddresses).toEqual([]);
    expect(result.baseline?.reachableFromOutside).toBeGreaterThan(0);
  });
});

describe('isolate --baseline against a cluster (in memory)', () => {
  it('creates the policy after a server dry run, then is idempotent; --off deletes it and the preview shows what reopens', async () => {
    const cluster = await shopCluster();
    const run = against(cluster);
    const first = await run('web', '--baseline', '--yes');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe('clusternetworkpolicy.policy.networking.k8s.io/netpol-baseline-web created\n');
    const writes = cluster.calls.filter((c) => c.resource === 'clusternetworkpolicies' && c.verb !== 'get');
    expect(writes.map((c) => `${c.verb}${c.dryRun ? ' (dry run)' : ''}`)).toEqual(['create (dry run)', 'create']);
    expect(cluster.clusterObject('netpol-baseline-web')?.metadata.labels).toEqual({
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    });

    const again = await run('web', '--baseline', '--yes');
    expect(again.stdout).toBe('clusternetworkpolicy.policy.networking.k8s.io/netpol-baseline-web unchanged\n');
    expect(again.result?.diff.cut).toEqual([]);

    const off = await run('web', '--baseline', '--off');
    expect(off.exitCode).toBe(0);
    expect(off.stdout).toBe('clusternetworkpolicy.policy.networking.k8s.io/netpol-baseline-web deleted\n');
    expect(off.stderr).toContain(
      'removing clusternetworkpolicy netpol-baseline-web, the Baseline default-deny of namespace web',
    );
    // What --off reopens is what the first run cut.
    const pairs = (r: typeof first) =>
      r.result!.diff[r === off ? 'opened' : 'cut'].map((c) => `${c.from.name}>${c.to.name}`);
    expect(pairs(off).sort()).toEqual(pairs(first).sort());
    expect(cluster.clusterObject('netpol-baseline-web')).toBeUndefined();
  });

  it('--off never touches a ClusterNetworkPolicy kubectl-netpol did not create', async () => {
    const cluster = await shopCluster();
    cluster.snapshot.clusterPolicies = [foreignPolicy('netpol-baseline-web')];
    const run = await against(cluster)('web', '--baseline', '--off');
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain(
      'clusternetworkpolicy netpol-baseline-web was not created by kubectl-netpol; left alone (delete it with kubectl if you mean to)',
    );
    expect(cluster.calls.filter((c) => c.verb === 'delete')).toEqual([]);
    expect(cluster.clusterObject('netpol-baseline-web')).toBeDefined();
  });

  it('writing over a foreign one of the same name is refused without --overwrite', async () => {
    const cluster = await shopCluster();
    cluster.snapshot.clusterPolicies = [foreignPolicy('mine')];
    const run = await against(cluster)('web', '--baseline', '--name', 'mine', '--yes');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^error: clusternetworkpolicy mine already exists and was not created by kubectl-netpol/m,
    );
    expect(cluster.calls.filter((c) => c.verb === 'create' || c.verb === 'update')).toEqual([]);
  });

  it('a create whose answer is lost is read back, and said to have written nothing when it is not there', async () => {
    const cluster = await shopCluster();
    cluster.failOn(
      (c) => c.verb === 'create' && !c.dryRun,
      () => new ApiError('connection reset'),
    );
    const run = await against(cluster)('web', '--baseline', '--yes');
    expect(run.exitCode).toBe(1);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      'error: writing clusternetworkpolicy netpol-baseline-web failed: connection reset; nothing was written',
    ]);
    expect(cluster.clusterObject('netpol-baseline-web')).toBeUndefined();
  });

  it('writes v1alpha2 when that is the newest version served', async () => {
    const cluster = await shopCluster([{ name: GROUP, versions: ['v1alpha2', 'v1alpha1'] }]);
    const run = await against(cluster)('web', '--baseline', '--dry-run=server', '-o', 'json');
    expect(run.exitCode).toBe(0);
    expect((JSON.parse(run.stdout) as { apiVersion: string }).apiVersion).toBe(`${GROUP}/v1alpha2`);
    expect(cluster.clusterObject('netpol-baseline-web')).toBeUndefined();
  });

  it.each([
    [[{ name: GROUP, versions: ['v1alpha1'] }], `it serves ${GROUP} v1alpha1 only`],
    [[{ name: 'networking.k8s.io', versions: ['v1'] }], `the API group ${GROUP} is absent`],
  ])('refuses when the cluster does not serve ClusterNetworkPolicy (%j)', async (groups, serves) => {
    const cluster = await shopCluster(groups);
    const run = await against(cluster)('web', '--baseline', '--yes');
    expect(run.exitCode).toBe(1);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      `error: the cluster does not serve ClusterNetworkPolicy (${GROUP} v1beta1 or v1alpha2): ${serves}; nothing was written`,
    ]);
    expect(cluster.calls.filter((c) => c.verb !== 'get' && c.verb !== 'list')).toEqual([]);
  });

  it('--priority needs --baseline, and --baseline does not go with --status', async () => {
    const cluster = await shopCluster();
    const priority = await against(cluster)('web', '--priority', '3');
    expect(priority.exitCode).toBe(2);
    expect(priority.stderr).toContain('error: --priority only applies with --baseline');
    const status = await against(cluster)('--status', '--baseline');
    expect(status.exitCode).toBe(2);
    expect(status.stderr).toContain('--status only shows isolation and cannot be combined with --baseline');
  });
});

describe('isolate --baseline over HTTP (fake API server)', () => {
  let dir: string;
  let server: FakeApiServer | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netpol-baseline-http-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const empty = (kind: string): Reply => ({ status: 200, body: { kind, apiVersion: 'v1', metadata: {}, items: [] } });
  /** A cluster with one namespace `web` and no pods, serving the tier group at `versions` (none: absent). */
  async function connect(versions: string[], extra: Routes = {}): Promise<string> {
    const namespace = { metadata: { name: 'web', labels: { 'kubernetes.io/metadata.name': 'web' } } };
    const groups = versions.length === 0 ? [] : [{ name: GROUP, versions: versions.map((version) => ({ version })) }];
    server = await startFakeApiServer({
      'GET /api/v1/namespaces': { status: 200, body: { kind: 'NamespaceList', metadata: {}, items: [namespace] } },
      'GET /api/v1/pods': empty('PodList'),
      'GET /apis/networking.k8s.io/v1/networkpolicies': empty('NetworkPolicyList'),
      'GET /apis': { status: 200, body: { kind: 'APIGroupList', groups } },
      ...Object.fromEntries(versions.map((v) => [`GET /apis/${GROUP}/${v}/clusternetworkpolicies`, empty('List')])),
      ...extra,
    });
    return buildKubeconfig()
      .withCluster('fake', server.url)
      .withTokenUser('tester', 'token')
      .withContext('fake', 'fake', 'tester')
      .withCurrentContext('fake')
      .write(join(dir, `config-${versions.join('-') || 'none'}`));
  }

  it('creates at /apis/policy.networking.k8s.io/v1beta1/clusternetworkpolicies, dry run first', async () => {
    const created: Reply = { status: 201, body: {} };
    const kubeconfig = await connect(['v1beta1', 'v1alpha2'], {
      [`POST /apis/${GROUP}/v1beta1/clusternetworkpolicies`]: created,
    });
    const run = await isolate('web', '--baseline', '--yes', '--kubeconfig', kubeconfig);
    expect(run.stderr).not.toContain('error:');
    expect(run.exitCode).toBe(0);
    const posts = server!.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => [r.path, r.query.get('dryRun'), r.query.get('fieldManager')])).toEqual([
      [`/apis/${GROUP}/v1beta1/clusternetworkpolicies`, 'All', 'kubectl-netpol'],
      [`/apis/${GROUP}/v1beta1/clusternetworkpolicies`, null, 'kubectl-netpol'],
    ]);
    expect((posts[1].body as ClusterTierPolicy).metadata.name).toBe('netpol-baseline-web');
    // The first HTTP test of the file loads @kubernetes/client-node: more than 5 s on a busy machine.
  }, 30_000);

  it('refuses, naming the group as absent, when the cluster does not serve it', async () => {
    const kubeconfig = await connect([]);
    const run = await isolate('web', '--baseline', '--yes', '--kubeconfig', kubeconfig);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `error: the cluster does not serve ClusterNetworkPolicy (${GROUP} v1beta1 or v1alpha2): the API group ${GROUP} is absent; nothing was written`,
    );
    expect(server!.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
