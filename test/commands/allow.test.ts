/** `kubectl netpol allow`: the policy it prints and writes, its preview and warnings, usage errors, prompts. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import Allow, { type AllowResult } from '../../src/commands/allow.js';
import type { ClusterConnection, LiveOptions } from '../../src/lib/cluster/types.js';
import type { ClusterSnapshot } from '../../src/lib/engine/model.js';
import type { Choice, PromptFunctions } from '../../src/lib/prompts/types.js';
import { WorldBuilder } from '../engine/world-builder.js';
import { buildKubeconfig } from '../cluster/kubeconfig-builder.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { helpOf, ROOT, runCommand, usageOf } from './run-command.js';

const SEED = ['--filename', 'examples/seed'];
/** The body the 2016 proposal POSTed to /apis/net.alpha.kubernetes.io/v1alpha1/namespaces/tenant-a/networkpolicies. */
const SEED_REQUEST_BODY =
  '{"kind": "NetworkPolicy", "metadata": {"name": "pol1"}, "spec": {"allowIncoming": {"from": [{"pods": {"segment": "frontend"}}], "toPorts": [{"port": 80, "protocol": "TCP"}]}, "podSelector": {"segment": "backend"}}}';
const POL1 = ['pol1', '-n', 'tenant-a', '--to', 'segment=backend', '--from', 'segment=frontend', '--port', '80/TCP'];
/** The value of a "type it…" choice. */
const TYPE = '\u0000type';
const MANAGED = { 'app.kubernetes.io/managed-by': 'kubectl-netpol' };

/** The seed's pol1 as v1, labelled as ours: what `allow` must print. */
const pol1 = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'pol1', namespace: 'tenant-a', labels: MANAGED },
  spec: {
    podSelector: { matchLabels: { segment: 'backend' } },
    policyTypes: ['Ingress'],
    ingress: [
      { from: [{ podSelector: { matchLabels: { segment: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
    ],
  },
};

/** A scripted prompter: answers in order, recording each question; `validate` must accept typed answers. */
function scripted(answers: unknown[]): PromptFunctions & { asked: { message: string; choices?: string[] }[] } {
  const asked: { message: string; choices?: string[] }[] = [];
  const next = (message: string, choices?: Choice<unknown>[]) => {
    asked.push({ message, choices: choices?.map((c) => c.name) });
    if (answers.length === 0) throw new Error(`no scripted answer for "${message}"`);
    const answer = answers.shift();
    if (choices && !choices.some((c) => c.value === answer)) {
      throw new Error(`"${String(answer)}" is not a choice of "${message}": ${choices.map((c) => String(c.value))}`);
    }
    return answer;
  };
  return {
    asked,
    select: async (config) => next(config.message, config.choices) as never,
    input: async (config) => {
      const answer = next(config.message) as string;
      const value = answer === '' ? (config.default ?? '') : answer;
      const verdict = config.validate?.(value);
      if (verdict !== undefined && verdict !== true) throw new Error(`rejected "${value}": ${verdict}`);
      return value;
    },
    confirm: async (config) => next(config.message) as boolean,
  };
}

/** allow with an in-memory cluster, a terminal or not, and scripted prompts. */
class TestAllow extends Allow {
  static cluster: MemoryCluster;
  static isTerminal = false;
  static prompts = scripted([]);

  protected override async openCluster(_options: LiveOptions): Promise<ClusterConnection> {
    return TestAllow.cluster;
  }
  protected override isInteractive(): boolean {
    return TestAllow.isTerminal;
  }
  protected override async prompter(): Promise<PromptFunctions> {
    return TestAllow.prompts;
  }
}

const allow = (...argv: string[]) => runCommand<AllowResult>(TestAllow, argv);

/** tenant-a: frontend, backend (http=80), batch; tenant-b: web; kube-system: coredns. */
const world = () =>
  new WorldBuilder()
    .namespace('tenant-a')
    .namespace('tenant-b')
    .namespace('kube-system')
    .pod('tenant-a/frontend', { segment: 'frontend' })
    .pod('tenant-a/backend', { segment: 'backend' }, { ports: [{ name: 'http', containerPort: 80 }] })
    .pod('tenant-a/batch', { segment: 'batch' })
    .pod('tenant-b/web', { app: 'web' })
    .pod(
      'kube-system/coredns',
      { 'k8s-app': 'kube-dns' },
      { ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] },
    );

const useCluster = (snapshot: ClusterSnapshot) => {
  TestAllow.cluster = new MemoryCluster(snapshot, { defaultNamespace: 'tenant-a' });
  return TestAllow.cluster;
};

const tmp = mkdtempSync(join(tmpdir(), 'netpol-allow-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** A file holding SEED_REQUEST_BODY (not in examples/: without apiVersion, -f examples would refuse it). */
const REQUEST_BODY = join(tmp, 'pol1-request-body.json');
writeFileSync(REQUEST_BODY, SEED_REQUEST_BODY);

beforeEach(() => {
  TestAllow.isTerminal = false;
  TestAllow.prompts = scripted([]);
  useCluster(world().build());
});

describe('the policy allow prints', () => {
  it("prints exactly the seed's pol1 as v1 (done-when)", async () => {
    const run = await allow(...POL1, ...SEED, '--dry-run=client', '-o', 'json');
    expect(run.exitCode).toBe(0);
    // The seed already has pol1 with these rules: nothing changes, nothing to warn about.
    expect(run.stderr).toBe(
      'pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP\n' +
        'No connection changes: everything this policy admits is allowed already.\n',
    );
    expect(run.stdout).toBe(JSON.stringify(pol1, null, 2) + '\n');
  });

  it("--import of the seed's v1alpha1 JSON gives the same policy", async () => {
    const run = await allow(
      '-n',
      'tenant-a',
      '--import',
      'examples/legacy/pol1.json',
      ...SEED,
      '--dry-run=client',
      '-o',
      'json',
    );
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(JSON.stringify(pol1, null, 2) + '\n');
  });

  it("--import of the seed's exact request body (no apiVersion: v1alpha1), the namespace from -n", async () => {
    const run = await allow('-n', 'tenant-a', '--import', REQUEST_BODY, ...SEED, '--dry-run=client', '-o', 'json');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(JSON.stringify(pol1, null, 2) + '\n');
  });

  it('-o yaml pipes into kubectl apply; -o name prints the resource', async () => {
    const yaml = await allow(...POL1, ...SEED, '--dry-run=client', '-o', 'yaml');
    expect(parseYaml(yaml.stdout)).toEqual(pol1);
    const name = await allow(...POL1, ...SEED, '--dry-run=client', '-o', 'name');
    expect(name.stdout).toBe('networkpolicy.networking.k8s.io/pol1\n');
  });

  it.each([
    [
      'app=web@tenant-b',
      {
        podSelector: { matchLabels: { app: 'web' } },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'tenant-b' } },
      },
    ],
    ['@*', { namespaceSelector: {} }],
    ['10.0.0.0/8!10.1.0.0/16', { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
    ['fd00::/8', { ipBlock: { cidr: 'fd00::/8' } }],
  ])('--from %s is one peer of the rule', async (peer, expected) => {
    const run = await allow(
      'x',
      '-n',
      'tenant-a',
      '--to',
      'segment=backend',
      '--from',
      peer,
      '--dry-run=client',
      '-o',
      'json',
    );
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).spec.ingress).toEqual([{ from: [expected] }]);
  });

  it('several --from are several peers (OR), several --port several ports; --egress writes on the --from pods', async () => {
    const run = await allow(
      '-n',
      'tenant-a',
      '--egress',
      '--from',
      'segment=frontend',
      '--to',
      '@kube-system',
      '--to',
      'segment=backend',
      '--port',
      '53/UDP',
      '--port',
      '8000-9000',
      '--port',
      'http',
      '--dry-run=client',
      '-o',
      'json',
    );
    expect(run.exitCode).toBe(0);
    const policy = JSON.parse(run.stdout);
    expect(policy.metadata.name).toBe('allow-frontend-to-ns-kube-system-or-backend-on-53-udp-e5dfbaab');
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { segment: 'frontend' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
            { podSelector: { matchLabels: { segment: 'backend' } } },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 8000, endPort: 9000 },
            { protocol: 'TCP', port: 'http' },
          ],
        },
      ],
    });
  });

  it('derives a name from the selectors and ports when none is given', async () => {
    const run = await allow(
      '-n',
      'tenant-a',
      '--to',
      'segment=backend',
      '--from',
      'segment=frontend',
      '--port',
      '80',
      '--dry-run=client',
      '-o',
      'name',
    );
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/allow-frontend-to-backend-on-80-tcp\n');
  });
});

describe('usage errors: exit 2, one line on stderr, nothing on stdout', () => {
  const valid = { '--to': 'segment=backend', '--from': 'segment=frontend', '--port': '80' };
  it.each([
    ['--from', 'segment=front end'],
    ['--from', 'app in (a'],
    ['--from', '10.0.0.0/33'],
    ['--from', '10.0.0.0/8!11.0.0.0/16'],
    ['--from', 'fd00::/8!10.0.0.0/8'],
    ['--port', '70000'],
    ['--port', '80/ICMP'],
    ['--port', 'HTTP'],
    ['--to', 'app=web@tenant-b'],
  ] as const)('%s %j', async (flag, value) => {
    const flags = Object.entries({ ...valid, [flag]: value }).flat();
    const run = await allow('-n', 'tenant-a', ...flags, '--dry-run=client');
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    // One error line, and at most a hint with the forms the flag takes.
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(2);
    if (lines[1]) expect(lines[1]).toMatch(/^hint: /);
    expect(run.stderr.startsWith(`error: invalid value "${value}" for ${flag}: `)).toBe(true);
    expect(TestAllow.cluster.calls).toEqual([]);
  });

  it('a missing --from without a terminal names the flag', async () => {
    const run = await allow('-n', 'tenant-a', '--to', 'segment=backend');
    expect(run).toMatchObject({ exitCode: 2, stdout: '' });
    expect(run.stderr).toMatch(/^error: missing --from: /);
    expect(TestAllow.cluster.calls).toEqual([]);
  });

  it('both missing: both named', async () => {
    const run = await allow('-n', 'tenant-a', '-o', 'json');
    expect(run.stderr).toMatch(/^error: missing --from and --to: /);
  });

  it('--to takes one selector for an ingress policy; -f writes nothing without --dry-run=client', async () => {
    const two = await allow('-n', 'tenant-a', '--to', 'a=b', '--to', 'c=d', '--from', '*');
    expect(two.exitCode).toBe(2);
    expect(two.stderr).toMatch(/^error: --to takes one pod selector/);
    const files = await allow(...POL1, ...SEED);
    expect(files.exitCode).toBe(2);
    expect(files.stderr).toMatch(/^error: with --filename there is no cluster to write to/);
  });

  it('the help shows the two forms: the flags, and --import FILE', async () => {
    expect(await usageOf('allow')).toEqual([
      '  $ kubectl netpol allow [NAME] --from PEER... --to PEER... [--port PORT...] [--egress] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
      '  $ kubectl netpol allow [NAME] --import FILE [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
    ]);
  });

  it('-A, -l and --no-headers are not in the help; -A and -l are refused by name', async () => {
    const help = await helpOf('allow');
    expect(help).not.toMatch(/--all-namespaces|--selector|--no-headers|-A,|-l,/);
    const all = await allow(...POL1, '-A', '--dry-run=client');
    expect(all).toMatchObject({ exitCode: 2, stdout: '' });
    expect(all.stderr).toMatch(/^error: --all-namespaces does not apply to allow/);
    const selector = await allow(...POL1, '-l', 'a=b', '--dry-run=client');
    expect(selector.stderr).toMatch(/^error: --selector does not apply to allow/);
  });

  it('--import excludes --from, --to, --port and --egress, and an untranslatable field is an error naming it', async () => {
    const both = await allow('--import', 'examples/legacy/pol1.json', '--from', 'a=b', '--dry-run=client');
    expect(both).toMatchObject({ exitCode: 2, stdout: '' });
    expect(both.stderr).toBe(
      'error: --import reads the whole policy from examples/legacy/pol1.json and cannot be combined with --from\n' +
        'hint: build the policy from the file (--import FILE) or from --from, --to and --port, not both\n',
    );
    const more = await allow('--import', 'examples/legacy/pol1.json', '--to', 'a=b', '--port', '80', '--egress');
    expect(more.stderr).toMatch(/^error: --import .* cannot be combined with --to or --port or --egress\n/);
    const bad = await allow('--import', 'test/fixtures/allow/untranslatable.yaml', '--dry-run=client');
    expect(bad).toMatchObject({ exitCode: 1, stdout: '' });
    expect(bad.stderr).toContain('spec.allowIncoming.from[0].services');
  });
});

describe('--import FILE --dry-run=client without -f: a conversion, no cluster asked', () => {
  /** allow that fails the test if it opens a cluster. */
  class NoClusterAllow extends TestAllow {
    protected override async openCluster(): Promise<ClusterConnection> {
      throw new Error('no cluster may be opened');
    }
  }
  const convert = (...argv: string[]) => runCommand<AllowResult>(NoClusterAllow, argv);

  it('prints the v1 policy in the namespace of -n; says it was not previewed', async () => {
    const run = await convert('--import', REQUEST_BODY, '-n', 'tenant-a', '--dry-run=client', '-o', 'yaml');
    expect(run.exitCode).toBe(0);
    expect(parseYaml(run.stdout)).toEqual(pol1);
    expect(run.stderr).toBe(
      'pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP\n' +
        'Not previewed: converted without a cluster (add --filename PATH, or use --dry-run=server, to see which connections it opens and cuts).\n',
    );
    expect(run.result?.preview).toBeUndefined();
    const line = await convert('--import', 'examples/legacy/pol1.json', '-n', 'tenant-a', '--dry-run=client');
    expect(line.stdout).toBe('networkpolicy.networking.k8s.io/pol1 created (dry run)\n');
  });

  it('without -n: the kubeconfig context namespace when one is readable, else default', async () => {
    const kubeconfig = buildKubeconfig()
      .withCluster('c', 'https://127.0.0.1:1')
      .withTokenUser('u', 'token')
      .withContext('c', 'c', 'u', 'team-x')
      .withCurrentContext('c')
      .write(join(tmp, 'kubeconfig'));
    const args = ['--import', 'examples/legacy/pol1.json', '--dry-run=client', '-o', 'json'];
    const fromContext = await convert(...args, '--kubeconfig', kubeconfig);
    expect(JSON.parse(fromContext.stdout).metadata.namespace).toBe('team-x');
    const nowhere = await convert(...args, '--kubeconfig', join(tmp, 'no-such-kubeconfig'));
    expect(nowhere.exitCode).toBe(0);
    expect(JSON.parse(nowhere.stdout).metadata.namespace).toBe('default');
  });

  it('the built CLI with KUBECONFIG pointing nowhere and no home kubeconfig (needs npm run build)', () => {
    const cli = (...argv: string[]) =>
      spawnSync(
        process.execPath,
        [join(ROOT, 'bin', 'run.js'), 'allow', '--import', REQUEST_BODY, '--dry-run=client', ...argv],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, KUBECONFIG: '/nonexistent', HOME: tmp, NO_COLOR: '1' },
        },
      );
    const yaml = cli('-n', 'tenant-a', '-o', 'yaml');
    expect({ status: yaml.status, errors: yaml.stderr.match(/^error:.*$/gm) }).toEqual({ status: 0, errors: null });
    expect(parseYaml(yaml.stdout)).toEqual(pol1);
    const plain = cli();
    expect(plain.status).toBe(0);
    expect(plain.stdout).toBe('networkpolicy.networking.k8s.io/pol1 created (dry run)\n');
    expect(plain.stderr).toContain(
      'pods segment=frontend in default may reach pods segment=backend in default on 80/TCP\n',
    );
  });
});

describe('preview and warnings', () => {
  it('a non-canonical CIDR is written as given, with a warning naming the canonical one', async () => {
    const run = await allow(
      '-n',
      'tenant-a',
      '--from',
      '10.0.0.1/8',
      '--to',
      'segment=backend',
      '--dry-run=client',
      '-o',
      'yaml',
    );
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain('Warning: 10.0.0.1/8 is not a canonical CIDR; did you mean 10.0.0.0/8?\n');
    expect(parseYaml(run.stdout)).toMatchObject({
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/8' } }] }] },
    });
    const canonical = await allow(
      '-n',
      'tenant-a',
      '--from',
      '10.0.0.0/8',
      '--to',
      'segment=backend',
      '--dry-run=client',
    );
    expect(canonical.stderr).not.toContain('canonical');
  });

  it('the first ingress policy on the backend: the table shows what it cuts, the warning how to keep it', async () => {
    const run = await allow(...POL1, '--dry-run=client');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('networkpolicy.networking.k8s.io/pol1 created (dry run)\n');
    expect(run.stderr).toBe(
      [
        'pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP',
        'CHANGE   CONNECTIONS   FROM                  TO                 PORTS',
        'cuts     1             0.0.0.0/0, ::/0       tenant-a/backend   all',
        'cuts     1             kube-system/coredns   tenant-a/backend   all',
        'cuts     1             tenant-a/batch        tenant-a/backend   all',
        'cuts     1             tenant-a/frontend     tenant-a/backend   all but 80/TCP',
        'cuts     1             tenant-b/web          tenant-a/backend   all',
        'Warning: this is the first ingress policy on 1 pod: 5 connections allowed today become denied ' +
          '(0.0.0.0/0, ::/0 -> tenant-a/backend all, kube-system/coredns -> tenant-a/backend all, tenant-a/batch -> tenant-a/backend all, and 2 more groups); ' +
          "to keep them: kubectl netpol allow -n tenant-a --from '*' --from @kube-system --from @tenant-b --from 0.0.0.0/0 --from ::/0 --to segment=backend",
        '',
      ].join('\n'),
    );
  });

  it('under a default deny it opens exactly the new path and warns about nothing', async () => {
    useCluster(
      world()
        .policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] })
        .build(),
    );
    const run = await allow(...POL1, '--dry-run=client');
    expect(run.stderr).toBe(
      'pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP\n' +
        'CHANGE   CONNECTIONS   FROM                TO                 PORTS\n' +
        'opens    1             tenant-a/frontend   tenant-a/backend   80/TCP\n',
    );
    expect(run.result?.preview?.diff.opened).toHaveLength(1);
  });

  it('the source namespace denies egress: prints the --egress allow that opens it', async () => {
    useCluster(
      world()
        .policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] })
        .policy('tenant-b/deny-egress', { podSelector: {}, policyTypes: ['Egress'] })
        .build(),
    );
    const run = await allow(
      '-n',
      'tenant-a',
      '--to',
      'segment=backend',
      '--from',
      'app=web@tenant-b',
      '--port',
      '80',
      '--dry-run=client',
    );
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe(
      'pods app=web in tenant-b may reach pods segment=backend in tenant-a on 80/TCP\n' +
        "No connection changes: what this policy admits stays blocked by the other side's policies (see the warning).\n" +
        'Warning: 1 connection this policy admits stays blocked on 80/TCP by the egress policies of the source (tenant-b/web -> tenant-a/backend 80/TCP); ' +
        'to open it: kubectl netpol allow --egress -n tenant-b --from app=web --to segment=backend@tenant-a --port 80/TCP\n',
    );
  });

  it('with -o json the warnings still go to stderr and stdout stays the policy', async () => {
    const run = await allow(...POL1, '--dry-run=client', '-o', 'json');
    expect(JSON.parse(run.stdout)).toEqual(pol1);
    expect(run.stderr).toMatch(/\nWarning: this is the first ingress policy[^\n]*\n$/);
  });
});

describe('writes', () => {
  const permissive = () => world().policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] });

  it('creates the policy labelled managed-by, after a server dry run', async () => {
    const cluster = useCluster(permissive().build());
    const run = await allow(...POL1);
    expect(run).toMatchObject({ exitCode: 0 });
    expect(run.stdout).toMatch(/networkpolicy.networking.k8s.io\/pol1 created\n$/);
    expect(cluster.policy('tenant-a', 'pol1')?.metadata?.labels).toEqual(MANAGED);
    expect(cluster.calls.filter((c) => c.verb === 'create').map((c) => c.dryRun)).toEqual([true, false]);
    expect(cluster.calls.find((c) => c.verb === 'create')).toMatchObject({ namespace: 'tenant-a', name: 'pol1' });
  });

  it('--dry-run=server sends the request as a dry run and stores nothing', async () => {
    const cluster = useCluster(permissive().build());
    const run = await allow(...POL1, '--dry-run=server');
    expect(run.stdout).toMatch(/pol1 created \(server dry run\)\n$/);
    expect(cluster.calls.filter((c) => c.verb === 'create')).toEqual([
      { verb: 'create', resource: 'networkpolicies', namespace: 'tenant-a', name: 'pol1', dryRun: true },
    ]);
    expect(cluster.policyKeys()).toEqual(['tenant-a/deny']);
  });

  it('without a terminal, cutting connections needs --yes', async () => {
    const cluster = useCluster(world().build());
    const refused = await allow(...POL1);
    expect(refused).toMatchObject({ exitCode: 2 });
    expect(refused.stderr).toContain('would cut 5 connection(s) allowed today; pass --yes');
    expect(cluster.policyKeys()).toEqual([]);
    const forced = await allow(...POL1, '--yes');
    expect(forced.exitCode).toBe(0);
    expect(cluster.policyKeys()).toEqual(['tenant-a/pol1']);
  });

  it('an existing policy of that name with other rules is an error unless --overwrite, which says it replaces another tool’s policy', async () => {
    const cluster = useCluster(
      permissive()
        .policy('tenant-a/pol1', { podSelector: { matchLabels: { segment: 'backend' } }, ingress: [{}] })
        .build(),
    );
    const refused = await allow(...POL1);
    expect(refused).toMatchObject({ exitCode: 1, stdout: '' });
    expect(refused.stderr).toMatch(
      /^error: networkpolicy tenant-a\/pol1 already exists \(created by another tool\) with other rules; nothing was written\nhint: .*--overwrite/,
    );
    expect(cluster.calls.filter((c) => c.verb !== 'get')).toEqual([]);
    const overwritten = await allow(...POL1, '--overwrite', '--yes');
    expect(overwritten.exitCode).toBe(0);
    expect(overwritten.stdout).toMatch(/pol1 configured\n$/);
    expect(overwritten.stderr).toContain(
      '--overwrite: replacing networkpolicy tenant-a/pol1, which kubectl-netpol did not create',
    );
    expect(cluster.policy('tenant-a', 'pol1')?.metadata?.labels).toEqual(MANAGED);
  });

  it('our own policy with other rules is refused too without --overwrite', async () => {
    const cluster = useCluster(permissive().build());
    await allow(...POL1);
    const again = await allow('pol1', '-n', 'tenant-a', '--to', 'segment=backend', '--from', 'segment=batch');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('(created by kubectl-netpol) with other rules');
    expect(cluster.policyKeys()).toEqual(['tenant-a/deny', 'tenant-a/pol1']);
  });

  it('the same policy again is unchanged and writes nothing, even when another tool made it', async () => {
    const cluster = useCluster(permissive().policy('tenant-a/pol1', pol1.spec).build());
    const run = await allow(...POL1);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/pol1 unchanged\n$/);
    expect(cluster.calls.filter((c) => c.verb !== 'get')).toEqual([]);
    expect(cluster.policy('tenant-a', 'pol1')?.metadata?.labels).toBeUndefined();
  });

  it('a forbidden create comes back as one line with the server message, nothing written', async () => {
    const cluster = useCluster(permissive().build()).forbid('create', 'networkpolicies');
    const run = await allow(...POL1);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/\nerror: .*cannot create resource "networkpolicies"[^\n]*\nhint: [^\n]*\n$/);
    expect(run.stdout).toBe('');
    expect(cluster.policyKeys()).toEqual(['tenant-a/deny']);
  });
});

describe('prompts (injected answers)', () => {
  beforeEach(() => {
    TestAllow.isTerminal = true;
  });

  it('walks namespace, subject, peers, ports and name from real labels, shows the YAML and asks before writing', async () => {
    const cluster = useCluster(
      world()
        .policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] })
        .build(),
    );
    TestAllow.prompts = scripted([
      'tenant-a', // namespace
      'segment=backend', // subject
      'there', // a peer in another namespace
      'tenant-b',
      'app=web',
      true, // add another peer
      'here',
      'segment=frontend',
      false,
      '80/TCP', // from the backend's container ports
      '', // accept the derived name
      true, // create
    ]);
    const run = await allow();
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(
      'networkpolicy.networking.k8s.io/allow-web-in-tenant-b-or-frontend-to-backend-on-80-tcp created\n',
    );
    const asked = TestAllow.prompts.asked;
    expect(asked.map((q) => q.message)).toEqual([
      'Namespace of the policy:',
      'Which pods in tenant-a may be reached? (the policy is written on them)',
      'Who may reach them?',
      'Which namespace?',
      'Which pods in tenant-b?',
      'Add another peer?',
      'Who may reach them?',
      'Which pods in tenant-a?',
      'Add another peer?',
      'On which ports?',
      'Name of the policy:',
      'Create networkpolicy tenant-a/allow-web-in-tenant-b-or-frontend-to-backend-on-80-tcp?',
    ]);
    expect(asked[0].choices).toEqual(['kube-system  (1 pod)', 'tenant-a  (3 pods)', 'tenant-b  (1 pod)']);
    expect(asked[1].choices).toEqual([
      'segment=backend  (1 pod)',
      'segment=batch  (1 pod)',
      'segment=frontend  (1 pod)',
      '*  every pod (3 pods)',
      'type a label selector…',
    ]);
    expect(asked[9].choices).toEqual([
      'any port',
      'port 80 of container main (named http)',
      'the port named http, whatever its number (port 80 of container main)',
      'type ports (e.g. 80, 53/UDP, 8000-9000/TCP)…',
    ]);
    // The YAML, the meaning and the change come before the confirmation, on stderr.
    expect(run.stderr).toMatch(/^apiVersion: networking.k8s.io\/v1\nkind: NetworkPolicy\n/);
    expect(run.stderr).toContain(
      'pods app=web in tenant-b or pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP\n',
    );
    expect(run.stderr).toMatch(/opens {4}1 +tenant-a\/frontend +tenant-a\/backend +80\/TCP/);
    expect(cluster.policyKeys()).toContain('tenant-a/allow-web-in-tenant-b-or-frontend-to-backend-on-80-tcp');
  });

  it('asks only what the flags leave out; typed answers go through the same grammar', async () => {
    TestAllow.prompts = scripted([
      'namespace',
      TYPE,
      'env in (prod)',
      false,
      TYPE,
      '53/UDP, 8000-9000',
      'my-policy',
      false,
    ]);
    const run = await allow('-n', 'tenant-a', '--to', 'segment=backend');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /\nWarning: this is the first ingress policy on 1 pod:[^\n]*\nerror: cancelled: nothing was written\n$/,
    );
    expect(TestAllow.prompts.asked[0].message).toBe('Who may reach them?');
    expect(run.result).toBeUndefined();
    expect(TestAllow.cluster.policyKeys()).toEqual([]);
    expect(run.stderr).toContain(
      'every pod in namespaces env in (prod) may reach pods segment=backend in tenant-a on 53/UDP, 8000-9000/TCP\n',
    );
  });

  it.each([
    [
      ['cidr', '10.0.0.0/33'],
      'rejected "10.0.0.0/33": "10.0.0.0/33" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)',
    ],
    [
      ['here', TYPE, 'app=web@tenant-b'],
      'rejected "app=web@tenant-b": type only the labels, such as app=web: the namespace is chosen apart',
    ],
    [
      ['here', 'segment=frontend', false, TYPE, '80, 9000-8000'],
      'rejected "80, 9000-8000": 9000-8000: the end port must be >= the start port',
    ],
  ])("a typed answer the grammar rejects is refused in the prompt's words: %j", async (answers, message) => {
    TestAllow.prompts = scripted(answers);
    const run = await allow('-n', 'tenant-a', '--to', 'segment=backend');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/--from|--to|--port|@NAMESPACES|ipBlock/);
  });

  it('with -o json there is no prompting: a missing flag is a usage error', async () => {
    const run = await allow('-n', 'tenant-a', '--to', 'segment=backend', '-o', 'json', '--dry-run=client');
    expect(run.exitCode).toBe(2);
    expect(TestAllow.prompts.asked).toEqual([]);
  });
});

describe('the preview at scale and its traps', () => {
  const SHOP = ['--filename', 'examples/shop', '--dry-run=client'];
  const DNS = ['-n', 'kube-system', '--to', 'k8s-app=kube-dns', '--from', '@kube-system', ...SHOP];

  it('groups by workload and addresses, the largest five first; --explain lists every group', async () => {
    const run = await allow(...DNS);
    expect(run.exitCode).toBe(0);
    const rows = (stderr: string) => stderr.split('\n').filter((line) => /^cuts +\d+ /.test(line));
    expect(rows(run.stderr)).toHaveLength(5);
    expect(run.stderr).toContain('... and 2 more groups (--explain lists every group)\n');
    expect(run.stderr).toMatch(/^cuts +2 +0\.0\.0\.0\/0, ::\/0 +kube-system\/deployment\/coredns +all$/m);
    const explained = await allow(...DNS, '--explain');
    const all = rows(explained.stderr);
    expect(all).toHaveLength(7);
    // Every cut pair is in one group: the groups add up to the pod-to-pod connections cut.
    const pairs = all.filter((row) => !row.includes('0.0.0.0/0'));
    const counted = pairs.reduce((sum, row) => sum + Number(row.split(/ +/)[1]), 0);
    expect(counted).toBe(explained.result!.preview!.diff.cut.length);
    // Pods are never named by a replica of a workload read from a file.
    expect(explained.stderr).not.toMatch(/coredns-\d|frontend-\d|api-\d/);
    // The warning lists three groups, not every pair.
    const warning = explained.stderr.split('\n').find((line) => line.startsWith('Warning: this is the first'))!;
    expect(warning).toContain(', and 4 more groups); to keep them: ');
  });

  it('names a selector, a namespace and a port name that match nothing, with the near-miss', async () => {
    const run = await allow(
      '-n',
      'api',
      '--to',
      'app=apii',
      '--from',
      'app=worker@team=nope',
      '--port',
      'http',
      ...SHOP,
    );
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain(
      'No connection changes: the policy names something that matches nothing (see the warnings).\n',
    );
    expect(run.stderr).toContain(
      'Warning: the policy selects no pod: no pod of namespace api matches app=apii (did you mean app=api for app=apii?)\n',
    );
    expect(run.stderr).toContain('Warning: the source app=worker@team=nope matches nothing: it selects no namespace\n');
    const port = await allow('-n', 'api', '--to', 'app=api', '--from', 'app=worker', '--port', 'htpp', ...SHOP);
    expect(port.stderr).toContain(
      'Warning: port htpp/TCP is defined by none of the pods the policy selects: nothing is opened on it (did you mean http?)\n',
    );
  });

  it('says which ports stay blocked by the source side, and the command that opens them', async () => {
    const run = await allow('-n', 'api', '--to', 'app=api', '--from', 'app=worker', '--port', '8080', ...SHOP);
    expect(run.stderr).toContain(
      "No connection changes: what this policy admits stays blocked by the other side's policies (see the warning).\n",
    );
    expect(run.stderr).toContain(
      'Warning: 8 connections this policy admits stay blocked on 8080/TCP by the egress policies of the source ' +
        '(api/deployment/worker -> api/deployment/api 8080/TCP (8 connections)); ' +
        'to open them: kubectl netpol allow --egress -n api --from app=worker --to app=api --port 8080/TCP\n',
    );
  });
});
