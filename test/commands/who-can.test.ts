import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import WhoCan from '../../src/commands/who-can.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import type { SnapshotScope } from '../../src/lib/cluster/types.js';
import type { ClusterApi, ClusterConnection, LiveOptions } from '../../src/lib/cluster/types.js';
import { connectionsOf } from '../../src/lib/engine/answer.js';
import { EXIT_NO_ANSWER } from '../../src/lib/errors.js';
import { renderDocument } from '../../src/lib/output/render.js';
import { toReachDocument } from '../../src/lib/output/reach-document.js';
import type { ReachAnswer, StreamedAnswer } from '../../src/lib/engine/answer.js';
import type { ReachReport } from '../../src/lib/services/report.js';
import { expectGolden, runCommand } from './run-command.js';
import { eager, podOf } from '../support/pairs.js';

type WhoCanReport = ReachReport<ReachAnswer | StreamedAnswer>;

const SEED = ['--filename', 'examples/seed'];
const SHOP = ['--filename', 'examples/shop'];
const SMALL = ['--filename', 'test/fixtures/who-can/worlds/small.yaml'];

function whoCan(...argv: string[]) {
  return runCommand<WhoCanReport>(WhoCan, argv);
}

/** `namespace/name` of each connection's source and target, for data assertions. */
function pairs(report: WhoCanReport | undefined, which: 'allowed' | 'denied' = 'allowed'): string[] {
  return (report ? [...connectionsOf(report.answer, which)] : []).map((connection) => {
    const from =
      'pod' in connection.from
        ? `${connection.from.pod.namespace}/${connection.from.pod.name}`
        : connection.from.ipBlock.cidr;
    return `${from} -> ${podOf(connection.to).namespace}/${podOf(connection.to).name}`;
  });
}

/** The pairs of an answer by workload (`ns/name` for a bare pod), each once, sorted: what a table shows. */
function workloadPairs(report: WhoCanReport | undefined, which: 'allowed' | 'denied' = 'allowed'): string[] {
  if (!report) return [];
  const owner = (pod: { namespace: string; name: string }) => {
    const w = report.workloads.get(`${pod.namespace}/${pod.name}`);
    return !w || w.kind === 'Pod'
      ? `${pod.namespace}/${pod.name}`
      : `${pod.namespace}/${w.kind.toLowerCase()}/${w.name}`;
  };
  const out = new Set<string>();
  for (const c of connectionsOf(report.answer, which)) {
    if ('pod' in c.from) out.add(`${owner(c.from.pod)} -> ${owner(podOf(c.to))}`);
  }
  return [...out].sort();
}

describe('who-can on the seed world', () => {
  it('answers who reaches the backend on 80/TCP and which policy allows it', async () => {
    const run = await whoCan('pod/backend', '--namespace', 'tenant-a', '--port', '80/TCP', ...SEED);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('');
    expect(pairs(run.result)).toEqual(['tenant-a/frontend -> tenant-a/backend']);
    const { answer } = eager(run.result!);
    expect(answer.decide(answer.groups[0]).ingress.allowedBy).toEqual([
      { policy: { namespace: 'tenant-a', name: 'pol1' }, direction: 'ingress', index: 0 },
    ]);
    expectGolden(run.stdout, 'seed-backend-port.txt');
  });

  it('lists every pod of the namespace as a target without TARGET, with port sets', async () => {
    const run = await whoCan('--namespace', 'tenant-a', ...SEED);
    expect(run.exitCode).toBe(0);
    expect(run.result?.answer.subjects.map((pod) => pod.name).sort()).toEqual(['backend', 'frontend']);
    expectGolden(run.stdout, 'seed-namespace.txt');
  });

  it('accepts the flags before the target and a lower-case protocol', async () => {
    const run = await whoCan('--port', '80/tcp', '-n', 'tenant-a', 'backend', ...SEED);
    expect(pairs(run.result)).toEqual(['tenant-a/frontend -> tenant-a/backend']);
  });

  it('prints the documented JSON shape', async () => {
    const run = await whoCan('backend', '--namespace', 'tenant-a', '--port', '80', '--output', 'json', ...SEED);
    expect(JSON.parse(run.stdout)).toEqual({
      connections: [
        {
          from: { namespace: 'tenant-a', pod: 'frontend' },
          to: { namespace: 'tenant-a', pod: 'backend' },
          port: 80,
          protocol: 'TCP',
          ingress: ['tenant-a/pol1'],
          egress: [],
          rules: ['tenant-a/pol1 ingress[0]'],
        },
      ],
      warnings: [],
    });
  });

  it('prints the same document as YAML', async () => {
    const json = await whoCan('--namespace', 'tenant-a', '--output', 'json', ...SEED);
    const yaml = await whoCan('--namespace', 'tenant-a', '--output', 'yaml', ...SEED);
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });

  it('prints the port set of each source without --port', async () => {
    const run = await whoCan('backend', '--namespace', 'tenant-a', '-o', 'json', ...SEED);
    expect(JSON.parse(run.stdout).connections[0].ports).toEqual([{ protocol: 'TCP', port: 80 }]);
  });

  it('leaves out the headers with --no-headers', async () => {
    const run = await whoCan('backend', '--namespace', 'tenant-a', '--no-headers', ...SEED);
    expect(run.stdout).toMatch(/^tenant-a\/backend {3}tenant-a\/frontend {3}1 {3}80\/TCP {3}tenant-a\/pol1\n$/);
  });
});

describe('who-can --explain on a small world', () => {
  it('says why each denied source is denied, in both directions', async () => {
    const run = await whoCan('b', '--namespace', 'x', '--port', '81/TCP', '--explain', ...SMALL);
    expect(run.exitCode).toBe(0);
    // Pods, then the address blocks denied: every address, and the block a rule names on 80 only.
    expect(pairs(run.result, 'denied')).toEqual([
      'x/a -> x/b',
      'y/a -> x/b',
      'y/c -> x/b',
      '0.0.0.0/0 -> x/b',
      '::/0 -> x/b',
      '192.168.0.0/16 -> x/b',
    ]);
    expectGolden(run.stdout, 'small-b-81-explain.txt');
  });

  it('lists allowed and denied sources on 80/TCP', async () => {
    const run = await whoCan('b', '--namespace', 'x', '--port', '80/TCP', '--explain', ...SMALL);
    expectGolden(run.stdout, 'small-b-80-explain.txt');
  });

  it('puts address blocks and denials with their reasons in the JSON document', async () => {
    const run = await whoCan('b', '-n', 'x', '--port', '80', '--explain', '-o', 'json', ...SMALL);
    const document = JSON.parse(run.stdout);
    expect(document.connections[1]).toEqual({
      from: { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } },
      to: { namespace: 'x', pod: 'b' },
      port: 80,
      protocol: 'TCP',
      ingress: ['x/allow-web'],
      egress: [],
      rules: ['x/allow-web ingress[1]'],
    });
    expect(document.denied.map((entry: { reason: string }) => entry.reason)).toEqual([
      'ingress: x/b is isolated by [allow-web] and no ingress rule admits x/a',
      'egress: y/c is isolated by [deny-egress] and no egress rule admits x/b',
      'ingress: rule allow-web ingress[1] admits only part of 0.0.0.0/0 on 80/TCP (not 0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/9 and 14 more)',
      'ingress: x/b is isolated by [allow-web] and no ingress rule admits ::/0',
    ]);
    expect(document.denied[2]).toMatchObject({
      from: { ipBlock: { cidr: '0.0.0.0/0', except: [] } },
      reasons: [
        {
          direction: 'ingress',
          code: 'partly-admitted',
          rules: ['x/allow-web ingress[1]'],
          // Every IPv4 address but 192.168.0.0/16 less its except: the complement, as CIDRs.
          notAdmitted: expect.arrayContaining(['0.0.0.0/1', '128.0.0.0/2', '192.168.1.0/24', '192.169.0.0/16']),
        },
      ],
    });
    expect(document.denied[2].reasons[0].notAdmitted).toHaveLength(17);
    expect(document.denied[1].reasons).toEqual([
      { direction: 'egress', code: 'no-rule-admits-peer', isolatedBy: ['y/deny-egress'] },
    ]);
  });

  it('names the rule that admits the peer on other ports', async () => {
    const run = await whoCan('b', '-n', 'x', '--port', '81', '--explain', '-o', 'json', ...SMALL);
    expect(JSON.parse(run.stdout).denied[1]).toMatchObject({
      from: { namespace: 'y', pod: 'a' },
      reason: 'ingress: rule allow-web ingress[0] admits y/a but not on 81/TCP',
      reasons: [
        {
          direction: 'ingress',
          code: 'no-rule-admits-port',
          isolatedBy: ['x/allow-web'],
          rules: ['x/allow-web ingress[0]'],
        },
      ],
    });
  });

  it('resolves a named --port on the target pod', async () => {
    const run = await whoCan('b', '-n', 'x', '--port', 'http', '-o', 'json', ...SMALL);
    const [first] = JSON.parse(run.stdout).connections;
    expect(first).toMatchObject({ port: 80, portName: 'http', protocol: 'TCP' });
  });
});

describe('who-can --from', () => {
  it('answers yes with exit status 0', async () => {
    const run = await whoCan('b', '-n', 'x', '--from', 'y/pod/a', '--port', '80', ...SMALL);
    expect(run).toMatchObject({ exitCode: 0, stdout: 'yes\n', stderr: '' });
    expect(run.result?.allowed).toBe(true);
  });

  it('answers no with exit status 1 and no error line', async () => {
    const run = await whoCan('b', '-n', 'x', '--from', 'y/pod/c', '--port', '80', ...SMALL);
    expect(run).toMatchObject({ exitCode: 1, stdout: 'no\n', stderr: '' });
  });

  it('prints nothing with --quiet', async () => {
    const denied = await whoCan('b', '-n', 'x', '--from', 'a', '--port', '80', '-q', ...SMALL);
    expect(denied).toMatchObject({ exitCode: 1, stdout: '', stderr: '' });
    const allowed = await whoCan('b', '-n', 'x', '--from', 'y/pod/a', '--port', '80', '-q', ...SMALL);
    expect(allowed).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('explains a no', async () => {
    const run = await whoCan('b', '-n', 'x', '--from', 'y/pod/c', '--port', '80', '--explain', ...SMALL);
    expect(run.stdout).toBe(
      [
        'no',
        'TARGET   FROM   PODS   PORTS    VERDICT   REASON',
        'x/b      y/c    1      80/TCP   denied    egress: y/c is isolated by [deny-egress] and no egress rule admits x/b',
        '',
      ].join('\n'),
    );
  });

  it('adds "allowed" to the JSON document', async () => {
    const run = await whoCan('b', '-n', 'x', '--from', 'y/pod/c', '--port', '80', '-o', 'json', ...SMALL);
    expect(JSON.parse(run.stdout)).toMatchObject({
      allowed: false,
      connections: [],
      // The pairs that make it a no, with why.
      denied: [
        {
          from: { namespace: 'y', pod: 'c' },
          to: { namespace: 'x', pod: 'b' },
          reasons: [{ code: 'no-rule-admits-peer' }],
        },
      ],
    });
    expect(run.exitCode).toBe(1);
  });
});

describe('who-can --from: yes only over a pair that was checked, and "could not answer" apart from "no"', () => {
  it.each([
    // What the tables print is taken back: ns/name (a bare pod), ns/kind/name, kind/name, name.
    [['x/b', '--from', 'y/a'], 'yes'],
    [['pod/b', '-n', 'x', '--from', 'y/pod/a'], 'yes'],
    [['x/pod/b', '--from', 'y/c'], 'no'],
    [['b', '-n', 'x', '--from', 'pod/a'], 'no'],
    // --from is in the target's namespace unless it names its own.
    [['x/b', '--from', 'a'], 'no'],
    [['x/b', '--from', 'y/a'], 'yes'],
  ])('%j: %s', async (argv, answer) => {
    const run = await whoCan(...argv, '--port', '80', ...SMALL);
    expect(run).toMatchObject({ stdout: `${answer}\n`, exitCode: answer === 'yes' ? 0 : 1 });
  });

  it.each([
    // A selector that matches no pod, -n at the wrong namespace, a target not found, no pair but a pod to itself.
    [
      ['-l', 'pod=nothing', '-n', 'x', '--from', 'y/a'],
      /^error: nothing to check: no pods in namespace x match the selector pod=nothing$/m,
    ],
    [['-n', 'nope', '--from', 'y/a'], /^error: namespace "nope" not found$/m],
    [['x/nope', '--from', 'y/a'], /^error: pod x\/nope not found$/m],
    [['x/b', '--from', 'x/b'], /^error: nothing to check: the only pod of the source is the only pod of the target/m],
    [
      ['-f', 'test/fixtures/who-can/no-such-file.yaml', 'x/b', '--from', 'y/a'],
      /^error: test\/fixtures\/who-can\/no-such-file.yaml: no such file/m,
    ],
  ])('%j could not be answered: exit 3, one error line, never "yes"', async (argv, line) => {
    const files = argv.includes('-f') ? [] : SMALL;
    for (const quiet of [[], ['-q'], ['-o', 'json']]) {
      const run = await whoCan(...argv, '--port', '80', ...quiet, ...files);
      expect(run.exitCode).toBe(EXIT_NO_ANSWER);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(line);
    }
  });

  it.each([
    // x/b admits 192.168.0.0/16 except 192.168.1.0/24 on http (80).
    [['192.168.7.7'], 'yes'],
    [['192.168.0.0/24'], 'yes'],
    [['192.168.0.0/23'], 'no'], // 192.168.1.0/24 is excepted
    [['192.168.1.9'], 'no'],
    [['10.0.0.0/8'], 'no'],
    [['fd00::1'], 'no'],
  ])('--from %j, an address or block, reaches x/b on 80 only if every address does: %s', async (from, answer) => {
    const run = await whoCan('x/b', '--from', ...from, '--port', '80', ...SMALL);
    expect(run).toMatchObject({ stdout: `${answer}\n`, exitCode: answer === 'yes' ? 0 : 1 });
  });

  it('explains an address block admitted only in part, naming what is left out', async () => {
    const run = await whoCan('x/b', '--from', '192.168.0.0/23', '--port', '80', '--explain', ...SMALL);
    expect(run.stdout).toBe(
      [
        'no',
        'TARGET   FROM             PODS   PORTS    VERDICT   REASON',
        'x/b      192.168.0.0/23   -      80/TCP   denied    ingress: rule allow-web ingress[1] admits only part of 192.168.0.0/23 on 80/TCP (not 192.168.1.0/24)',
        '',
      ].join('\n'),
    );
    const open = await whoCan('x/a', '--from', '2001:db8::/32', '--port', '80', '--explain', ...SMALL);
    expect(open.stdout).toBe(
      [
        'yes',
        'TARGET   FROM            PODS   PORTS    VERDICT   REASON',
        'x/a      2001:db8::/32   -      80/TCP   allowed   ingress: not isolated',
        '',
      ].join('\n'),
    );
  });

  it('without --port, an address answers with the ports every address of it may use', async () => {
    const run = await whoCan('x/b', '--from', '192.168.0.0/24', '-o', 'json', ...SMALL);
    expect(JSON.parse(run.stdout)).toMatchObject({
      allowed: true,
      connections: [{ from: { ipBlock: { cidr: '192.168.0.0/24' } }, ports: [{ protocol: 'TCP', port: 80 }] }],
    });
  });

  it('refuses a malformed address as a usage error', async () => {
    const run = await whoCan('x/b', '--from', '10.0.0.0/33', ...SMALL);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: invalid --from "10\.0\.0\.0\/33": /);
  });

  it('without --from, an unknown namespace is still exit 1 (a listing, not a question)', async () => {
    expect((await whoCan('-n', 'nope', ...SMALL)).exitCode).toBe(1);
  });

  it('a target without the port name asked about cannot be reached on it: "no", with the reason', async () => {
    const run = await whoCan('a', '-n', 'x', '--from', 'y/a', '--port', 'http', '--explain', ...SMALL);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe(
      [
        'no',
        'TARGET   FROM   PODS   PORTS      VERDICT   REASON',
        'x/a      y/a    1      http/TCP   denied    ingress: x/a has no container port named "http" (TCP)',
        '',
      ].join('\n'),
    );
    const json = await whoCan('a', '-n', 'x', '--from', 'y/a', '--port', 'http', '--explain', '-o', 'json', ...SMALL);
    expect(JSON.parse(json.stdout).denied).toEqual([
      expect.objectContaining({
        from: { namespace: 'y', pod: 'a' },
        to: { namespace: 'x', pod: 'a' },
        portName: 'http',
        protocol: 'TCP',
        reasons: [{ direction: 'ingress', code: 'no-such-port', isolatedBy: [] }],
      }),
    ]);
  });

  it('says once per workload, with a count, which pods lack the port name', async () => {
    const run = await whoCan('-n', 'x', '--port', 'http', ...SMALL);
    expect(run.stderr).toContain(
      'Warning: pod x/a has no container port named "http" (TCP), so nothing reaches it on it\n',
    );
  });
});

describe('who-can on the shop', () => {
  it('groups every pod of the cluster by workload', async () => {
    const run = await whoCan('--all-namespaces', ...SHOP);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/^Warning: /);
    expectGolden(run.stdout, 'shop-all.txt');
  });

  it('shows the rules on both sides with -o wide', async () => {
    const run = await whoCan('deployment/api', '-n', 'api', '-o', 'wide', ...SHOP);
    expectGolden(run.stdout, 'shop-api-wide.txt');
  });

  it('explains who cannot reach the database', async () => {
    const run = await whoCan('statefulset/postgres', '-n', 'db', '--port', '5432', '--explain', ...SHOP);
    // The replicas of postgres replicate among themselves (2 pods, each reaching the other).
    expect(workloadPairs(run.result)).toEqual([
      'api/deployment/api -> db/statefulset/postgres',
      'api/deployment/worker -> db/statefulset/postgres',
      'db/statefulset/postgres -> db/statefulset/postgres',
    ]);
    expectGolden(run.stdout, 'shop-postgres-explain.txt');
  });

  it('resolves a Service port to its targetPort', async () => {
    const run = await whoCan('service/api', '-n', 'api', '--port', 'http', '-o', 'json', ...SHOP);
    expect(run.result?.port).toEqual({ port: 'http', protocol: 'TCP' });
    const connections = JSON.parse(run.stdout).connections;
    // Each of the 3 frontend replicas reaches each of the 4 api replicas.
    expect(connections).toHaveLength(12);
    expect(connections[0]).toEqual(
      expect.objectContaining({
        from: { namespace: 'web', pod: 'frontend-0' },
        to: { namespace: 'api', pod: 'api-0' },
        port: 8080,
        protocol: 'TCP',
        ingress: ['api/api-from-frontend'],
      }),
    );
  });

  it('answers service/NAME without --port for the ports of the Service only, and says so', async () => {
    const run = await whoCan('service/api', '-n', 'api', ...SHOP);
    expect(run.stdout).toBe(
      [
        'TARGET               FROM                      PODS   PORTS             ALLOWED BY',
        'api/deployment/api   web/deployment/frontend   3      8080/TCP (http)   api/api-from-frontend',
        '',
      ].join('\n'),
    );
    // Prometheus reaches the api pods on 9090, but not through the Service.
    expect(run.stderr).toContain(
      'service api/api: its ports 80/TCP (http) -> http; connections are shown as the pods receive them\n',
    );
  });

  it('names the Service when a port asked of pods is a port of a Service of theirs', async () => {
    const run = await whoCan('deployment/api', '-n', 'api', '--port', '80', ...SHOP);
    expect(run.stderr).toContain(
      'Warning: the target pods declare no port 80/TCP, but service api/api takes its port 80 to their port http: to ask about the Service, use service/api --port 80\n',
    );
    const declared = await whoCan('deployment/api', '-n', 'api', '--port', '8080', ...SHOP);
    expect(declared.stderr).not.toContain('service api/api');
  });

  it('selects targets by label', async () => {
    const run = await whoCan('-n', 'api', '-l', 'app in (worker)', '--port', 'metrics', ...SHOP);
    expect(workloadPairs(run.result)).toEqual(['monitoring/deployment/prometheus -> api/deployment/worker']);
  });

  it('says so when nothing can reach the targets', async () => {
    const run = await whoCan('-n', 'api', '-l', 'app=worker', '--port', '8080', ...SHOP);
    expect(run).toMatchObject({ exitCode: 0, stdout: '' });
    expect(run.stderr).toContain('No connections found.\n');
  });
});

describe('who-can documents are streamed', () => {
  it.each([
    ['json', ['--all-namespaces', '--explain', ...SHOP]],
    ['yaml', ['--all-namespaces', '--explain', ...SHOP]],
    ['json', ['b', '-n', 'x', '--port', 'http', '--explain', ...SMALL]],
    ['yaml', ['b', '-n', 'x', '--from', 'y/pod/a', '--port', '80', ...SMALL]],
  ] as const)('-o %s writes the bytes of the whole document, entry by entry (%j)', async (format, argv) => {
    const run = await whoCan(...argv, '-o', format);
    // A question's document lists the denied pairs, as --explain does.
    const explain = argv.includes('--explain') || argv.includes('--from');
    const whole = renderDocument(toReachDocument(run.result!, { explain }), format);
    expect(run.stdout).toBe(whole);
  });
});

describe('who-can errors', () => {
  it.each([
    [['--port', '0'], 'error: invalid value "0" for --port: port number must be between 1 and 65535'],
    [['--port', '80/ICMP'], 'error: invalid value "80/ICMP" for --port: protocol must be TCP, UDP or SCTP'],
    [
      ['--port', 'Not_A_Name'],
      `error: invalid value "Not_A_Name" for --port: port name "Not_A_Name" must contain only lowercase alphanumerics and '-'`,
    ],
    [['--bogus'], 'error: Nonexistent flag: --bogus'],
    [['-o', 'xml'], 'error: Expected --output=xml to be one of: table, wide, json, yaml, dot, mermaid'],
    [['--quiet'], 'error: All of the following must be provided when using --quiet: --from'],
    [['a', 'b'], 'error: Unexpected argument: b'],
    [['x/foo/bar'], 'error: invalid TARGET "x/foo/bar": unknown kind "foo"'],
    [['x/b', '-n', 'y'], 'error: TARGET "x/b" is in namespace "x", but --namespace says "y"'],
    [['pod/a', '-l', 'pod=a'], 'error: TARGET and --selector cannot be combined'],
    [['pod/a', '-A'], 'error: a resource cannot be retrieved by name across all namespaces'],
    [
      ['--request-timeout', '5x'],
      'error: invalid value "5x" for --request-timeout: expected a duration such as 0, 5s, 1m or 30',
    ],
  ])('%j is a usage error (exit 2, one line and a hint)', async (argv, line) => {
    const run = await whoCan(...argv, ...SMALL);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(line);
    expect(lines.length).toBeLessThanOrEqual(2);
    if (lines[1]) expect(lines[1]).toMatch(/^hint: /);
  });

  it('rejects a malformed selector as a usage error', async () => {
    const run = await whoCan('-n', 'x', '-l', 'a in (', ...SMALL);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: invalid value "a in \(" for --selector: /);
    expect(run.stderr).not.toMatch(/\n {4}at /);
  });

  it('fails on an unknown namespace, naming the ones there are', async () => {
    const run = await whoCan('-n', 'nope', ...SMALL);
    expect(run).toMatchObject({ exitCode: 1, stdout: '' });
    expect(run.stderr).toBe(
      'error: namespace "nope" not found\nhint: use --namespace NAME or --all-namespaces; namespaces: x, y\n',
    );
  });

  it('fails on a target that does not exist', async () => {
    const run = await whoCan('deployment/nope', '-n', 'x', ...SMALL);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: .*nope/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('fails on a manifest path that does not exist, without a stack trace', async () => {
    const run = await whoCan('-f', 'test/fixtures/who-can/no-such-file.yaml');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: test\/fixtures\/who-can\/no-such-file.yaml: /);
  });
});

describe('who-can against a live cluster', () => {
  /** An in-memory cluster behind the same interface as the live one, serving a manifest world. */
  class FakeWhoCan extends WhoCan {
    static scopes: SnapshotScope[] = [];
    static options: LiveOptions[] = [];

    protected override async openCluster(options: LiveOptions): Promise<ClusterConnection> {
      FakeWhoCan.options.push(options);
      return {
        api: {} as ClusterApi,
        contextName: 'kind-test',
        defaultNamespace: 'x',
        server: 'https://127.0.0.1:6443',
        loadSnapshot: async (scope) => {
          FakeWhoCan.scopes.push(scope);
          return loadManifests(['test/fixtures/who-can/worlds/small.yaml']);
        },
      };
    }
  }

  it("defaults to the context's namespace and asks for what the query names", async () => {
    const run = await runCommand<WhoCanReport>(FakeWhoCan, ['b', '--from', 'y/pod/a', '--request-timeout', '1m']);
    expect(run).toMatchObject({ exitCode: 0, stdout: 'yes\n' });
    expect(
      FakeWhoCan.options.map(({ context, kubeconfig, requestTimeoutMs }) => ({
        context,
        kubeconfig,
        requestTimeoutMs,
      })),
    ).toEqual([{ context: undefined, kubeconfig: undefined, requestTimeoutMs: 60_000 }]);
    expect(FakeWhoCan.scopes).toEqual([{ services: [], workloads: [], listServices: false, hintServices: [] }]);
  });
});
