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
type End = { namespace: string; pod: string } | { ipBlock: { cidr: string; except: string[] } };
interface Side {
  ports: unknown;
  ingress: string[];
  egress: string[];
  rules: string[];
}
interface Connection extends Side {
  from: End;
  to: End;
}
interface Document {
  objects: { kind: string; namespace?: string; name: string; action: string }[];
  added: Connection[];
  removed: Connection[];
  changed: { from: End; to: End; before: Side; after: Side }[];
}

const BASE_TABLE = [
  'CHANGE   CONNECTIONS   FROM              TO         PORTS                       ALLOWED BY BEFORE   ALLOWED BY AFTER',
  'opens    1             shop/web          shop/api   9090/TCP (keeps 8080/TCP)   shop/api-ingress    shop/api-ingress',
  'cuts     1             0.0.0.0/0, ::/0   shop/db    all                         (not isolated)      -',
  'cuts     1             shop/api          shop/db    all but 5432/TCP            (not isolated)      shop/db-ingress',
  'cuts     1             shop/web          shop/db    all                         (not isolated)      -',
];

const NOT_ISOLATED = { ingress: [], egress: [], rules: [] };
const API_INGRESS = { ingress: ['shop/api-ingress'], egress: [], rules: ['shop/api-ingress ingress[0]'] };

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

  it('-o json: the objects, and each pair (or pod and address block) added, removed or changed, with the rules on each side', async () => {
    const run = await diff(...BASE, ...CHANGE, '-o', 'json');
    expect(run.exitCode).toBe(1);
    const web = { namespace: 'shop', pod: 'web' };
    const api = { namespace: 'shop', pod: 'api' };
    const db = { namespace: 'shop', pod: 'db' };
    expect(JSON.parse(run.stdout)).toEqual({
      objects: [
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'api-ingress', action: 'configured' },
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'db-ingress', action: 'created' },
      ],
      added: [],
      removed: [
        { from: web, to: db, ports: 'all', ...NOT_ISOLATED },
        { from: { ipBlock: { cidr: '0.0.0.0/0', except: [] } }, to: db, ports: 'all', ...NOT_ISOLATED },
        { from: { ipBlock: { cidr: '::/0', except: [] } }, to: db, ports: 'all', ...NOT_ISOLATED },
      ],
      changed: [
        {
          from: web,
          to: api,
          before: { ports: [{ protocol: 'TCP', port: 8080 }], ...API_INGRESS },
          after: {
            ports: [
              { protocol: 'TCP', port: 8080 },
              { protocol: 'TCP', port: 9090 },
            ],
            ...API_INGRESS,
          },
        },
        {
          from: api,
          to: db,
          before: { ports: 'all', ...NOT_ISOLATED },
          after: {
            ports: [{ protocol: 'TCP', port: 5432 }],
            ingress: ['shop/db-ingress'],
            egress: [],
            rules: ['shop/db-ingress ingress[0]'],
          },
        },
      ],
    });
  });

  it('an address block allowed before and after on other ports is `changed`, with both port sets; one allowed on one side only is added or removed', async () => {
    const files = [
      '--base',
      'test/fixtures/diff/addresses-base.yaml',
      '-f',
      'test/fixtures/diff/addresses-change.yaml',
    ];
    const table = await diff(...files);
    expect(table.stdout.split('\n').slice(2, 6)).toEqual([
      'CHANGE   CONNECTIONS   FROM             TO         PORTS                    ALLOWED BY BEFORE   ALLOWED BY AFTER',
      'opens    1             10.1.0.0/16      shop/web   443/TCP (keeps 80/TCP)   shop/web-ingress    shop/web-ingress',
      'opens    1             192.168.0.0/16   shop/web   80/TCP                   -                   shop/web-ingress',
      'cuts     1             172.16.0.0/12    shop/web   80/TCP                   shop/web-ingress    -',
    ]);
    const run = await diff(...files, '-o', 'json');
    expect(run.exitCode).toBe(1);
    const web = { namespace: 'shop', pod: 'web' };
    const block = (cidr: string) => ({ ipBlock: { cidr, except: [] } });
    const rule = (...indexes: number[]) => ({
      ingress: ['shop/web-ingress'],
      egress: [],
      rules: indexes.map((index) => `shop/web-ingress ingress[${index}]`),
    });
    const http = { protocol: 'TCP', port: 80 };
    const document = JSON.parse(run.stdout) as Document;
    expect({ added: document.added, removed: document.removed, changed: document.changed }).toEqual({
      added: [{ from: block('192.168.0.0/16'), to: web, ports: [http], ...rule(2) }],
      removed: [{ from: block('172.16.0.0/12'), to: web, ports: [http], ...rule(1) }],
      changed: [
        {
          from: block('10.1.0.0/16'),
          to: web,
          // The rules of each side: those that admit the block on any of its ports, as for a pod pair.
          before: { ports: [http], ...rule(0) },
          after: { ports: [http, { protocol: 'TCP', port: 443 }], ...rule(0, 1) },
        },
      ],
    });
    // --port 443/TCP: the block only gains, so it is added on that port.
    const https = JSON.parse((await diff(...files, '--port', '443/TCP', '-o', 'json')).stdout) as Document;
    expect([https.added, https.removed, https.changed]).toEqual([
      [{ from: block('10.1.0.0/16'), to: web, ports: [{ protocol: 'TCP', port: 443 }], ...rule(1) }],
      [],
      [],
    ]);
  });

  it('--delete networkpolicy/NAME removes a policy of -n: what it admitted is opened to everyone', async () => {
    const run = await diff(...BASE, '--delete', 'networkpolicy/api-ingress', '-n', 'shop');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe(
      [
        'networkpolicy shop/api-ingress deleted',
        '',
        'CHANGE   CONNECTIONS   FROM              TO         PORTS              ALLOWED BY BEFORE   ALLOWED BY AFTER',
        'opens    1             0.0.0.0/0, ::/0   shop/api   all                -                   (not isolated)',
        'opens    1             shop/db           shop/api   all                -                   (not isolated)',
        'opens    1             shop/web          shop/api   all but 8080/TCP   shop/api-ingress    (not isolated)',
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
        'CHANGE   CONNECTIONS   FROM              TO         PORTS              ALLOWED BY BEFORE   ALLOWED BY AFTER',
        'opens    1             0.0.0.0/0, ::/0   shop/api   all                -                   (not isolated)',
        'opens    1             shop/db           shop/api   all                -                   (not isolated)',
        'opens    1             shop/web          shop/api   all but 8080/TCP   shop/api-ingress    (not isolated)',
        'cuts     1             0.0.0.0/0, ::/0   shop/db    all                (not isolated)      -',
        'cuts     1             shop/api          shop/db    all                (not isolated)      -',
        'cuts     1             shop/web          shop/db    all but 8080/TCP   (not isolated)      shop/api-ingress',
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
    // api keeps 5432 (the policy's port): changed, not removed.
    expect(document.changed.map((c) => [c.from, c.to])).toEqual([
      [
        { namespace: 'shop', pod: 'api' },
        { namespace: 'shop', pod: 'db' },
      ],
    ]);
    expect(document.removed.map((c) => [c.from, c.to])).toEqual([
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
      changed: [],
    });
    expect(json.exitCode).toBe(0);
  });

  it("rows are ordered by their ends' names taken whole when an address end of several blocks begins with another end", async () => {
    // Ends `10.0.0.0/8` and `10.0.0.0/8, 172.16.0.0/12`: compared as whole labels (the views' order,
    // as localeCompare), `10.0.0.0/8, 172.16.0.0/12 shop/a` comes before `10.0.0.0/8 shop/b`, which
    // ranking each end on its own would turn round (diff-groups.ts ranksOf refuses such names).
    const run = await diff(
      '--base',
      'test/fixtures/diff/address-ends-base.yaml',
      '-f',
      'test/fixtures/diff/address-ends-change.yaml',
      '-n',
      'shop',
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout.split('\n').slice(3, 6)).toEqual([
      'CHANGE   CONNECTIONS   FROM     TO                          PORTS     ALLOWED BY BEFORE   ALLOWED BY AFTER',
      'opens    1             shop/a   10.0.0.0/8, 172.16.0.0/12   443/TCP   -                   shop/a-egress',
      'opens    1             shop/b   10.0.0.0/8                  443/TCP   -                   shop/b-egress',
    ]);
  });

  it("a warning both worlds give with their own count is said once, with the after-world's count", async () => {
    const run = await diff('--base', 'examples/shop', '-f', 'test/fixtures/diff/new-deployment.yaml', '-A');
    const lines = run.stderr.split('\n').filter((l) => l.includes('have no IP address'));
    expect(lines).toEqual([
      'Warning: 17 pod(s) have no IP address (pending, or workloads read from manifests), so ipBlock rules never match them',
    ]);
    // The before-world's count, had it been said, would have been 15.
    const before = await diff('--base', 'examples/shop', '--delete', 'networkpolicy/default-deny', '-n', 'api');
    expect(before.stderr).toMatch(/^Warning: 15 pod\(s\) have no IP address/m);
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
      [[...CHANGE, 'web', '-l', 'app=web'], /^error: TARGET and --selector cannot be combined$/m],
      [[...CHANGE, 'web', '-A'], /^error: a resource cannot be retrieved by name across all namespaces$/m],
      [
        ['--delete', 'networkpolicy/x', '--prune'],
        /^error: All of the following must be provided when using --prune: --filename/m,
      ],
      [[...CHANGE, '--port', '80-90'], /^error: invalid value "80-90" for --port/m],
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

  it('a pod relabelled: the rule that admitted it no longer does', async () => {
    const run = await diff(...BASE, '-f', 'test/fixtures/diff/relabel.yaml');
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({
      stdout: [
        'pod shop/web configured',
        '',
        'CHANGE   CONNECTIONS   FROM       TO         PORTS      ALLOWED BY BEFORE   ALLOWED BY AFTER',
        'cuts     1             shop/web   shop/api   8080/TCP   shop/api-ingress    -',
        '',
        '0 connections opened, 1 closed in 1 namespace',
        '',
      ].join('\n'),
      exitCode: 1,
    });
  });

  it('a pod added: every connection it takes part in is added, to and from addresses too', async () => {
    const document = JSON.parse(
      (await diff(...BASE, '-f', 'test/fixtures/diff/new-pod.yaml', '-o', 'json')).stdout,
    ) as Document;
    expect(document.objects).toEqual([{ kind: 'Pod', namespace: 'shop', name: 'web-2', action: 'created' }]);
    expect([document.removed, document.changed]).toEqual([[], []]);
    const end = (e: End) => ('pod' in e ? e.pod : e.ipBlock.cidr);
    expect(
      document.added.map((c) => `${end(c.from)} -> ${end(c.to)} ${JSON.stringify(c.ports)} ${c.rules.join()}`),
    ).toEqual([
      'web-2 -> api [{"protocol":"TCP","port":8080}] shop/api-ingress ingress[0]',
      'web-2 -> db "all" ',
      'web-2 -> web "all" ',
      'api -> web-2 "all" ',
      'db -> web-2 "all" ',
      'web -> web-2 "all" ',
      '0.0.0.0/0 -> web-2 "all" ',
      '::/0 -> web-2 "all" ',
      'web-2 -> 0.0.0.0/0 "all" ',
      'web-2 -> ::/0 "all" ',
    ]);
  });

  it("a namespace's labels: the pods of every workload there that a namespaceSelector now matches", async () => {
    const run = await diff('--base', 'test/fixtures/diff/tenants.yaml', '-f', 'test/fixtures/diff/tenants-label.yaml');
    expect(run.stdout).toBe(
      [
        'namespace other configured',
        '',
        'CHANGE   CONNECTIONS   FROM                      TO         PORTS      ALLOWED BY BEFORE   ALLOWED BY AFTER',
        'opens    2             other/deployment/worker   shop/api   8080/TCP   -                   shop/api-from-team',
        'opens    1             other/client              shop/api   8080/TCP   -                   shop/api-from-team',
        '',
        '3 connections opened, 0 closed in 2 namespaces',
        '',
      ].join('\n'),
    );
  });

  it("a workload scaled up: its new pod's connections, the old pods' names kept", async () => {
    const run = await diff(
      '--base',
      'test/fixtures/diff/tenants.yaml',
      '-f',
      'test/fixtures/diff/tenants-worker.yaml',
      '-o',
      'json',
    );
    const document = JSON.parse(run.stdout) as Document;
    expect(document.objects).toEqual([
      { kind: 'Deployment', namespace: 'other', name: 'worker', action: 'configured' },
    ]);
    const pods = new Set(document.added.flatMap((c) => [c.from, c.to]).flatMap((e) => ('pod' in e ? [e.pod] : [])));
    expect([...pods].sort()).toEqual(['api', 'client', 'worker-0', 'worker-1', 'worker-2']);
    // Every added pair has worker-2 at one end: the pods there before are the same pods.
    expect(document.added.every((c) => [c.from, c.to].some((e) => 'pod' in e && e.pod === 'worker-2'))).toBe(true);
    // The same Deployment as before: unchanged, nothing opened.
    const same = await diff('--base', 'test/fixtures/diff/tenants.yaml', '-f', 'test/fixtures/diff/tenants.yaml');
    expect({ exitCode: same.exitCode, last: same.stdout.split('\n').at(-2) }).toEqual({
      exitCode: 0,
      last: 'No connection opened or closed.',
    });
    expect(same.stdout).toMatch(/^deployment other\/worker unchanged$/m);
  });

  it('--prune: what the files lack in the namespaces they cover is deleted, as kubectl apply --prune', async () => {
    const run = await diff(...BASE, '-f', 'test/fixtures/diff/prune', '--prune', '-o', 'json');
    const document = JSON.parse(run.stdout) as Document;
    expect(document.objects).toEqual([
      { kind: 'NetworkPolicy', namespace: 'shop', name: 'api-ingress', action: 'deleted' },
      { kind: 'Pod', namespace: 'shop', name: 'api', action: 'unchanged' },
      { kind: 'Pod', namespace: 'shop', name: 'db', action: 'deleted' },
      { kind: 'Pod', namespace: 'shop', name: 'web', action: 'unchanged' },
    ]);
    // db's connections are gone, api is open to everything left.
    expect(document.removed.every((c) => [c.from, c.to].some((e) => 'pod' in e && e.pod === 'db'))).toBe(true);
    expect(document.removed).toHaveLength(7);
    expect(document.changed.map((c) => [c.from, c.to, c.after.ports])).toEqual([
      [{ namespace: 'shop', pod: 'web' }, { namespace: 'shop', pod: 'api' }, 'all'],
    ]);
    // Without --prune the same files change nothing.
    expect((await diff(...BASE, '-f', 'test/fixtures/diff/prune')).exitCode).toBe(0);
    // A whole world applied onto itself with --prune: nothing.
    const shop = await diff('--base', 'examples/shop', '-f', 'examples/shop', '--prune');
    expect(shop.exitCode).toBe(0);
    expect(shop.stdout).not.toMatch(/ (deleted|created|configured)$/m);
  });

  it('filters as who-can: TARGET, --from (pods or addresses), --port narrow the pairs compared', async () => {
    const rows = async (...argv: string[]) => {
      const run = await diff(...BASE, ...CHANGE, '--no-headers', ...argv);
      return run.stdout
        .split('\n')
        .filter((line) => /^(opens|cuts) /.test(line))
        .map((line) => line.split(/ {2,}/).slice(0, 5).join(' | '));
    };
    expect(await rows('api', '-n', 'shop')).toEqual(['opens | 1 | shop/web | shop/api | 9090/TCP (keeps 8080/TCP)']);
    expect(await rows('-l', 'app=db', '-n', 'shop', '--from', 'web')).toEqual(['cuts | 1 | shop/web | shop/db | all']);
    expect(await rows('--from', '10.0.0.0/8')).toEqual(['cuts | 1 | 10.0.0.0/8 | shop/db | all']);
    expect(await rows('--port', '9090')).toEqual([
      'opens | 1 | shop/web | shop/api | 9090/TCP',
      'cuts | 1 | 0.0.0.0/0, ::/0 | shop/db | 9090/TCP',
      'cuts | 1 | shop/api | shop/db | 9090/TCP',
      'cuts | 1 | shop/web | shop/db | 9090/TCP',
    ]);
    // A port name resolves on each destination: http is api's 8080 (unchanged), db has none.
    expect(await rows('--port', 'http')).toEqual([]);
    const missing = await diff(...BASE, ...CHANGE, 'nope', '-n', 'shop');
    expect({ stdout: missing.stdout, stderr: missing.stderr, exitCode: missing.exitCode }).toEqual({
      stdout: '',
      stderr: 'error: pod shop/nope not found\n',
      exitCode: 3,
    });
  });

  it('-o markdown: the count, the objects, the groups in a collapsible block', async () => {
    const run = await diff(
      '--base',
      'test/fixtures/diff/tenants.yaml',
      '-f',
      'test/fixtures/diff/tenants-label.yaml',
      '-o',
      'markdown',
    );
    expect(run.stdout).toBe(
      [
        '### kubectl netpol diff',
        '',
        '**3 connections opened, 0 closed in 2 namespaces**',
        '',
        '| Kind | Object | Action |',
        '|---|---|---|',
        '| Namespace | `other` | configured |',
        '',
        '<details><summary>2 groups of connections opened or cut</summary>',
        '',
        '| Change | Connections | From | To | Ports | Allowed by before | Allowed by after |',
        '|---|---|---|---|---|---|---|',
        '| opens | 2 | `other/deployment/worker` | `shop/api` | 8080/TCP | - | `shop/api-from-team` |',
        '| opens | 1 | `other/client` | `shop/api` | 8080/TCP | - | `shop/api-from-team` |',
        '',
        '</details>',
        '',
      ].join('\n'),
    );
  });

  it('-o markdown lists only the objects that change; those applied as they are are counted', async () => {
    const run = await diff('--base', 'examples/shop', '-f', 'examples/shop', '--prune', '-o', 'markdown');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(
      ['### kubectl netpol diff', '', '**No connection opened or closed.**', '', '20 objects unchanged.', ''].join(
        '\n',
      ),
    );
  });

  it('-o dot and -o mermaid: opened edges green, closed ones red and dashed, the rules in tooltips', async () => {
    const dot = (await diff(...BASE, ...CHANGE, '-o', 'dot')).stdout;
    expect(dot).toMatch(/^digraph "diff" \{$/m);
    expect(dot).toContain('edge [fontname="Helvetica", fontsize=9, color="#15803d", fontcolor="#15803d"];');
    expect(dot).toContain(
      '"shop/web" -> "shop/api" [label="9090/TCP (keeps 8080/TCP)", tooltip="shop/web -> shop/api: opens 9090/TCP (keeps 8080/TCP): allowed before by shop/api-ingress ingress[0], after by shop/api-ingress ingress[0]"];',
    );
    expect(dot).toContain(
      '"shop/web" -> "shop/db" [label="all", tooltip="shop/web -> shop/db: closes all: allowed before by not isolated, after by nothing", style=dashed, color="#b91c1c", fontcolor="#b91c1c"];',
    );
    expect(dot).toContain('label="solid green: opened, dashed red: closed";');
    const mermaid = (await diff(...BASE, ...CHANGE, '-o', 'mermaid')).stdout;
    const edges = mermaid.split('\n').filter((line) => /-->|-\.->/.test(line));
    expect(edges.filter((line) => line.includes('-.->'))).toHaveLength(3);
    expect(edges.filter((line) => line.includes('-->'))).toHaveLength(1);
    expect(mermaid).toMatch(/^ {2}linkStyle 0,1,3 stroke:#b91c1c,color:#b91c1c$/m);
    expect(mermaid).toMatch(/^ {2}linkStyle 2 stroke:#15803d,color:#15803d$/m);
  });

  it('live: the cluster is the before-world, and the answer is the one the same files give offline', async () => {
    const cluster = new MemoryCluster((await loadManifests(['test/fixtures/diff/base.yaml'])).snapshot);
    const run = await against(cluster)(...CHANGE);
    const offline = await diff(...BASE, ...CHANGE);
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({ stdout: offline.stdout, exitCode: 1 });
    // Read only: nothing is written to the cluster.
    expect(cluster.calls.filter((c) => c.verb !== 'get' && c.verb !== 'list')).toEqual([]);
  });

  it('live: a change that adds a nodes peer has the Nodes read, though no policy of the cluster has one', async () => {
    const cluster = new MemoryCluster((await loadManifests(['test/fixtures/diff/nodes-base.yaml'])).snapshot);
    const change = ['-f', 'test/fixtures/diff/nodes-change.yaml', '-A', '-o', 'json'];
    const run = await against(cluster)(...change);
    const offline = await diff('--base', 'test/fixtures/diff/nodes-base.yaml', ...change);
    expect({ stdout: run.stdout, stderr: run.stderr, exitCode: run.exitCode }).toEqual({
      stdout: offline.stdout,
      stderr: '',
      exitCode: 1,
    });
    // Only the worker node's agent and address are cut: the rule knew which nodes it selects.
    const removed = (JSON.parse(run.stdout) as Document).removed.map((c) => c.to);
    expect(removed).toEqual([
      { namespace: 'infra', pod: 'agent-1' },
      { ipBlock: { cidr: '192.168.1.1/32', except: [] } },
    ]);
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
    const pair = (c: { from: End; to: End }) => JSON.stringify([c.from, c.to]);
    // Every pair whose ports differ is in the diff, and only those: added, removed or changed.
    const differing = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    expect(new Set([...document.added, ...document.removed, ...document.changed].map(pair))).toEqual(
      new Set(differing),
    );
    for (const c of document.added) expect(before.has(pair(c))).toBe(false);
    for (const c of document.removed) expect(after.has(pair(c))).toBe(false);
    for (const c of document.changed) {
      expect([JSON.stringify(c.before.ports), JSON.stringify(c.after.ports)]).toEqual([
        before.get(pair(c)),
        after.get(pair(c)),
      ]);
    }
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
