/** diff: hand-made before/after pairs with their exact changes, offline (--base) and against the in-memory cluster. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import Diff from '../../src/commands/diff.js';
import WhoCan from '../../src/commands/who-can.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import type { ClusterConnection } from '../../src/lib/cluster/types.js';
import type { DiffResult } from '../../src/lib/services/diff.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { ROOT, runCommand } from './run-command.js';

const BASE = ['--base', 'test/fixtures/diff/base.yaml'];
const CHANGE = ['-f', 'test/fixtures/diff/change.yaml'];

function diff(...argv: string[]) {
  return runCommand<DiffResult>(Diff, argv);
}

/** diff against a cluster instead of --base. */
function against(cluster: ClusterConnection) {
  class TestDiff extends Diff {
    protected override async openCluster(): Promise<ClusterConnection> {
      return cluster;
    }
  }
  return (...argv: string[]) => runCommand<DiffResult>(TestDiff, argv);
}

/** The document of `-o json`. */
interface Connection {
  from: { namespace: string; pod: string } | { ipBlock: { cidr: string; except: string[] } };
  to: { namespace: string; pod: string } | { ipBlock: { cidr: string; except: string[] } };
  ports: unknown;
}
interface Document {
  objects: { kind: string; namespace: string; name: string; action: string }[];
  added: Connection[];
  removed: Connection[];
}

const BASE_TABLE = [
  'CHANGE   CONNECTIONS   FROM              TO         PORTS',
  'opens    1             shop/web          shop/api   9090/TCP (keeps 8080/TCP)',
  'cuts     1             0.0.0.0/0, ::/0   shop/db    all',
  'cuts     1             shop/api          shop/db    all but 5432/TCP',
  'cuts     1             shop/web          shop/db    all',
];

const ALL_BUT_5432 = [
  { protocol: 'TCP', port: 1, endPort: 5431 },
  { protocol: 'TCP', port: 5433, endPort: 65535 },
  { protocol: 'UDP', port: 1, endPort: 65535 },
  { protocol: 'SCTP', port: 1, endPort: 65535 },
];

describe('diff', () => {
  it('names the policies changed, then each group opened and cut, and counts them: exit 1', async () => {
    const run = await diff(...BASE, ...CHANGE);
    expect(run.stdout).toBe(
      [
        'networkpolicy shop/api-ingress configured',
        'networkpolicy shop/db-ingress created',
        '',
        ...BASE_TABLE,
        '',
        '1 connection opened, 3 closed in 1 namespace',
        '',
      ].join('\n'),
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).not.toMatch(/^error:/m);
  });

  it('-o json: the objects, and each pair (or pod and address block) with the ports it gains or loses', async () => {
    const run = await diff(...BASE, ...CHANGE, '-o', 'json');
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      objects: [
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'api-ingress', action: 'configured' },
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'db-ingress', action: 'created' },
      ],
      added: [
        {
          from: { namespace: 'shop', pod: 'web' },
          to: { namespace: 'shop', pod: 'api' },
          ports: [{ protocol: 'TCP', port: 9090 }],
        },
      ],
      removed: [
        { from: { namespace: 'shop', pod: 'api' }, to: { namespace: 'shop', pod: 'db' }, ports: ALL_BUT_5432 },
        { from: { namespace: 'shop', pod: 'web' }, to: { namespace: 'shop', pod: 'db' }, ports: 'all' },
        { from: { ipBlock: { cidr: '0.0.0.0/0', except: [] } }, to: { namespace: 'shop', pod: 'db' }, ports: 'all' },
        { from: { ipBlock: { cidr: '::/0', except: [] } }, to: { namespace: 'shop', pod: 'db' }, ports: 'all' },
      ],
    });
  });

  it('--delete networkpolicy/NAME removes a policy of -n: what it admitted is opened to everyone', async () => {
    const run = await diff(...BASE, '--delete', 'networkpolicy/api-ingress', '-n', 'shop');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe(
      [
        'networkpolicy shop/api-ingress deleted',
        '',
        'CHANGE   CONNECTIONS   FROM              TO         PORTS',
        'opens    1             0.0.0.0/0, ::/0   shop/api   all',
        'opens    1             shop/db           shop/api   all',
        'opens    1             shop/web          shop/api   all but 8080/TCP',
        '',
        '3 connections opened, 0 closed in 1 namespace',
        '',
      ].join('\n'),
    );
  });

  it('a policy whose selector moves: the pods it selected before change too', async () => {
    const run = await diff(...BASE, '-f', 'test/fixtures/diff/moved.yaml');
    expect(run.stdout).toBe(
      [
        'networkpolicy shop/api-ingress configured',
        '',
        'CHANGE   CONNECTIONS   FROM              TO         PORTS',
        'opens    1             0.0.0.0/0, ::/0   shop/api   all',
        'opens    1             shop/db           shop/api   all',
        'opens    1             shop/web          shop/api   all but 8080/TCP',
        'cuts     1             0.0.0.0/0, ::/0   shop/db    all',
        'cuts     1             shop/api          shop/db    all',
        'cuts     1             shop/web          shop/db    all but 8080/TCP',
        '',
        '3 connections opened, 3 closed in 1 namespace',
        '',
      ].join('\n'),
    );
  });

  it('a policy file without namespaces: -n places it', async () => {
    const run = await diff(...BASE, '-f', 'test/fixtures/diff/namespaceless.yaml', '-n', 'shop', '-o', 'json');
    const document = JSON.parse(run.stdout) as Document;
    expect(document.objects).toEqual([
      { kind: 'NetworkPolicy', namespace: 'shop', name: 'db-ingress', action: 'created' },
    ]);
    expect(document.added).toEqual([]);
    expect(document.removed.map((c) => [c.from, c.to])).toEqual([
      [
        { namespace: 'shop', pod: 'api' },
        { namespace: 'shop', pod: 'db' },
      ],
      [
        { namespace: 'shop', pod: 'web' },
        { namespace: 'shop', pod: 'db' },
      ],
      [{ ipBlock: { cidr: '0.0.0.0/0', except: [] } }, { namespace: 'shop', pod: 'db' }],
      [{ ipBlock: { cidr: '::/0', except: [] } }, { namespace: 'shop', pod: 'db' }],
    ]);
    // Without -n it lands in `default`, where it selects nothing: nothing changes.
    const elsewhere = await diff(...BASE, '-f', 'test/fixtures/diff/namespaceless.yaml', '-n', 'other');
    expect(elsewhere.stdout).toBe('networkpolicy other/db-ingress created\n\nNo connection opened or closed.\n');
    expect(elsewhere.exitCode).toBe(0);
  });

  it('applying what is there already: the policies unchanged, no connection, exit 0', async () => {
    // The before-world already has the change (two --base paths, the later one replacing api-ingress).
    const applied = [...BASE, '--base', 'test/fixtures/diff/change.yaml', ...CHANGE];
    const run = await diff(...applied);
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({
      stdout: [
        'networkpolicy shop/api-ingress unchanged',
        'networkpolicy shop/db-ingress unchanged',
        '',
        'No connection opened or closed.',
        '',
      ].join('\n'),
      exitCode: 0,
    });
    const json = await diff(...applied, '-o', 'json');
    expect(JSON.parse(json.stdout)).toEqual({
      objects: [
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'api-ingress', action: 'unchanged' },
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'db-ingress', action: 'unchanged' },
      ],
      added: [],
      removed: [],
    });
    expect(json.exitCode).toBe(0);
  });

  it('a file that cannot be read: exit 3 (never 1, which means changes), one error line, nothing else printed', async () => {
    const run = await diff(...BASE, '-f', 'test/fixtures/diff/no-such-file.yaml');
    expect(run).toEqual({
      result: undefined,
      stdout: '',
      stderr:
        'error: test/fixtures/diff/no-such-file.yaml: no such file or directory\nhint: check the path given to -f/--filename\n',
      exitCode: 3,
    });
    const base = await diff('--base', 'test/fixtures/diff/no-such-file.yaml', ...CHANGE);
    expect({ stdout: base.stdout, exitCode: base.exitCode }).toEqual({ stdout: '', exitCode: 3 });
  });

  it('--delete of a policy the before-world lacks: exit 3, naming it', async () => {
    const run = await diff(...BASE, '--delete', 'networkpolicy/nope', '-n', 'shop');
    expect({ stdout: run.stdout, stderr: run.stderr, exitCode: run.exitCode }).toEqual({
      stdout: '',
      stderr: 'error: networkpolicy "nope" not found in namespace "shop"\n',
      exitCode: 3,
    });
  });

  it('usage errors exit 2 before anything is read', async () => {
    const cases: [string[], RegExp][] = [
      [['--base', 'x'], /^error: diff needs the change: -f PATH, or --delete networkpolicy\/NAME$/m],
      [[...CHANGE, '--delete', 'pod/x'], /^error: invalid value "pod\/x" for --delete: name a NetworkPolicy/m],
      [[...CHANGE, '-l', 'app=web'], /^error: --selector does not apply to diff/m],
      [[...CHANGE, '-o', 'wide'], /^error: Expected --output=wide to be one of/m],
      [
        [...BASE, ...CHANGE, '--delete', 'networkpolicy/db-ingress', '-n', 'shop'],
        /is both in the -f files and in --delete/,
      ],
    ];
    for (const [argv, line] of cases) {
      const run = await diff(...argv);
      expect({ argv, exitCode: run.exitCode, stdout: run.stdout }).toEqual({ argv, exitCode: 2, stdout: '' });
      expect(run.stderr).toMatch(line);
      expect(run.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    }
  });

  it('refuses -f files that also change pods or workloads, naming them: exit 2', async () => {
    const run = await diff(...BASE, '-f', 'examples/shop/db.yaml');
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^error: diff compares changes of NetworkPolicies only: the -f files also hold StatefulSet db\/postgres\nhint: pass only the policy files/,
    );
  });

  it('live: the cluster is the before-world, and the answer is the one the same files give offline', async () => {
    const cluster = new MemoryCluster((await loadManifests(['test/fixtures/diff/base.yaml'])).snapshot);
    const run = await against(cluster)(...CHANGE);
    const offline = await diff(...BASE, ...CHANGE);
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({ stdout: offline.stdout, exitCode: 1 });
    // Read only: nothing is written to the cluster.
    expect(cluster.calls.filter((c) => c.verb !== 'get' && c.verb !== 'list')).toEqual([]);
  });

  it("live: a policy as written is unchanged from the cluster's copy with the API server's defaults", async () => {
    const snapshot = (await loadManifests(['test/fixtures/diff/base.yaml'])).snapshot;
    const cluster = new MemoryCluster(snapshot);
    const stored = cluster.snapshot.policies[0].spec!;
    stored.policyTypes = ['Ingress'];
    expect(stored.ingress![0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    const run = await against(cluster)('-f', 'test/fixtures/diff/api-ingress-as-written.yaml');
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({
      stdout: 'networkpolicy shop/api-ingress unchanged\n\nNo connection opened or closed.\n',
      exitCode: 0,
    });
  });

  it('live: an API error exits 3 with its one line', async () => {
    const cluster = new MemoryCluster((await loadManifests(['test/fixtures/diff/base.yaml'])).snapshot).forbid(
      'list',
      'networkpolicies',
    );
    const run = await against(cluster)(...CHANGE);
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({ stdout: '', exitCode: 3 });
    expect(run.stderr).toMatch(/^error: forbidden: user "tester" cannot list resource "networkpolicies"/);
  });

  it('agrees with who-can asked before and after: what was allowed and what is', async () => {
    const pairs = async (...files: string[]) => {
      const run = await runCommand(WhoCan, ['-A', '-o', 'json', ...files.flatMap((f) => ['-f', f])]);
      const { connections } = JSON.parse(run.stdout) as { connections: Connection[] };
      return new Map(connections.map((c) => [JSON.stringify([c.from, c.to]), JSON.stringify(c.ports)]));
    };
    const before = await pairs('test/fixtures/diff/base.yaml');
    const after = await pairs('test/fixtures/diff/base.yaml', 'test/fixtures/diff/change.yaml');
    const document = JSON.parse((await diff(...BASE, ...CHANGE, '-o', 'json')).stdout) as Document;
    const changed = (c: Connection) => JSON.stringify([c.from, c.to]);
    // Every pair whose ports differ is in the diff, and only those.
    const differing = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    expect(new Set([...document.added, ...document.removed].map(changed))).toEqual(new Set(differing));
    // web -> api: 8080/TCP before, 8080 and 9090 after (the diff's 9090/TCP); web -> db: all before, nothing after.
    const webApi = JSON.stringify([
      { namespace: 'shop', pod: 'web' },
      { namespace: 'shop', pod: 'api' },
    ]);
    expect([before.get(webApi), after.get(webApi)]).toEqual([
      JSON.stringify([{ protocol: 'TCP', port: 8080 }]),
      JSON.stringify([
        { protocol: 'TCP', port: 8080 },
        { protocol: 'TCP', port: 9090 },
      ]),
    ]);
    const webDb = JSON.stringify([
      { namespace: 'shop', pod: 'web' },
      { namespace: 'shop', pod: 'db' },
    ]);
    expect([before.get(webDb), after.get(webDb)]).toEqual([JSON.stringify('all'), undefined]);
  });

  it("prints what the README's example shows, on examples/shop and examples/shop-change", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const command = 'kubectl netpol diff --base examples/shop -f examples/shop-change -n api';
    const shown = readme.slice(readme.indexOf(`$ ${command}\n`) + command.length + 3);
    const run = await diff(...command.split(' ').slice(3));
    expect(run.exitCode).toBe(1);
    expect(shown.startsWith(run.stdout + '```')).toBe(true);
  });
});
