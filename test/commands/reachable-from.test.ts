import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import ReachableFrom from '../../src/commands/reachable-from.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import type { ClusterApi, ClusterConnection, LiveOptions, SnapshotScope } from '../../src/lib/cluster/types.js';
import { connectionsOf, type ReachAnswer, type StreamedAnswer } from '../../src/lib/engine/answer.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { Peer } from '../../src/lib/engine/model.js';
import { EXIT_NO_ANSWER } from '../../src/lib/errors.js';
import { renderDocument } from '../../src/lib/output/render.js';
import { toReachDocument } from '../../src/lib/output/reach-document.js';
import { answerReach, completeReach } from '../../src/lib/services/reach.js';
import type { ReachReport as Report } from '../../src/lib/services/report.js';
import { expectGolden, runCommand } from './run-command.js';

type ReachReport = Report<ReachAnswer | StreamedAnswer>;

const SHOP = ['--filename', 'examples/shop'];
const SMALL_FILE = 'test/fixtures/who-can/worlds/small.yaml';
const SMALL = ['--filename', SMALL_FILE];

function reachableFrom(...argv: string[]) {
  return runCommand<ReachReport>(ReachableFrom, argv);
}

function name(peer: Peer): string {
  return 'pod' in peer ? `${peer.pod.namespace}/${peer.pod.name}` : peer.ipBlock.cidr;
}

/** `source -> destination` of each connection, for data assertions. */
function pairs(report: ReachReport | undefined, which: 'allowed' | 'denied' = 'allowed'): string[] {
  return (report ? [...connectionsOf(report.answer, which)] : []).map((c) => `${name(c.from)} -> ${name(c.to)}`);
}

describe('reachable-from on the small world', () => {
  it('lists what a pod reaches on a port: pods and address blocks, with the rules on both sides', async () => {
    const run = await reachableFrom('y/a', '--port', '80', ...SMALL);
    expect(run).toMatchObject({ exitCode: 0, stderr: '' });
    expect(pairs(run.result)).toEqual(['y/a -> x/a', 'y/a -> x/b', 'y/a -> y/c', 'y/a -> 0.0.0.0/0', 'y/a -> ::/0']);
    expect(run.stdout.split('\n')[0]).toMatch(/^SOURCE +TO +PODS +PORTS +ALLOWED BY$/);
    expect(run.stdout).toMatch(/^y\/a +x\/b +1 +80\/TCP +x\/allow-web$/m);
  });

  it('leaves out what the destination does not admit (x/a is not in namespace y)', async () => {
    const run = await reachableFrom('x/a', '--port', '80', ...SMALL);
    expect(pairs(run.result)).toEqual(['x/a -> y/a', 'x/a -> y/c', 'x/a -> 0.0.0.0/0', 'x/a -> ::/0']);
  });

  it('explains what is denied, from either side', async () => {
    const run = await reachableFrom('-n', 'x', '--port', '80', '--explain', '-o', 'json', ...SMALL);
    const document = JSON.parse(run.stdout);
    expect(document.denied).toEqual([
      expect.objectContaining({
        from: { namespace: 'x', pod: 'a' },
        to: { namespace: 'x', pod: 'b' },
        reason: 'ingress: x/b is isolated by [allow-web] and no ingress rule admits x/a',
      }),
    ]);
    const egress = await reachableFrom('y/c', '--port', '80', '--explain', '-o', 'json', ...SMALL);
    expect(JSON.parse(egress.stdout).denied.map((d: { to: unknown; reason: string }) => [d.to, d.reason])).toEqual([
      [{ namespace: 'x', pod: 'a' }, 'egress: y/c is isolated by [deny-egress] and no egress rule admits x/a'],
      [{ namespace: 'x', pod: 'b' }, 'egress: y/c is isolated by [deny-egress] and no egress rule admits x/b'],
      [{ namespace: 'y', pod: 'a' }, 'egress: y/c is isolated by [deny-egress] and no egress rule admits y/a'],
      [
        { ipBlock: { cidr: '0.0.0.0/0', except: [] } },
        'egress: y/c is isolated by [deny-egress] and no egress rule admits 0.0.0.0/0',
      ],
      [
        { ipBlock: { cidr: '::/0', except: [] } },
        'egress: y/c is isolated by [deny-egress] and no egress rule admits ::/0',
      ],
    ]);
  });

  it('prints address destinations as `to.ipBlock` in the document, and the same document as YAML', async () => {
    const json = await reachableFrom('x/a', '--port', '80', '-o', 'json', ...SMALL);
    expect(JSON.parse(json.stdout).connections[2]).toEqual({
      from: { namespace: 'x', pod: 'a' },
      to: { ipBlock: { cidr: '0.0.0.0/0', except: [] } },
      port: 80,
      protocol: 'TCP',
      ingress: [],
      egress: [],
      rules: [],
    });
    const yaml = await reachableFrom('x/a', '--port', '80', '-o', 'yaml', ...SMALL);
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    expect(json.stdout).toBe(renderDocument(toReachDocument(json.result!, { explain: false }), 'json'));
  });

  it('says so when the source reaches nothing', async () => {
    const run = await reachableFrom('y/c', ...SMALL);
    expect(run).toMatchObject({ exitCode: 0, stdout: '' });
    expect(run.stderr).toBe('No connections found.\n');
  });

  it('resolves a port name on each destination pod, and leaves out addresses (they have no port names)', async () => {
    const run = await reachableFrom('y/a', '--port', 'http', '-o', 'json', ...SMALL);
    expect(JSON.parse(run.stdout).connections).toEqual([
      expect.objectContaining({ to: { namespace: 'x', pod: 'b' }, port: 80, portName: 'http', protocol: 'TCP' }),
    ]);
  });

  it('draws the paths out of the sources, named for the command', async () => {
    const dot = await reachableFrom('y/a', '--port', '80', '-o', 'dot', ...SMALL);
    expect(dot.stdout).toMatch(/^digraph "reachable-from" \{$/m);
    expect(dot.stdout).toContain('"y/a" -> "x/b"');
    const mermaid = await reachableFrom('y/a', '--port', '80', '-o', 'mermaid', ...SMALL);
    expect(mermaid.stdout).toMatch(/^flowchart LR$/m);
  });
});

describe('reachable-from --to: yes, no, or could not answer', () => {
  it.each([
    // x/b admits namespace y on 80 (by number) and http (by name); y/c may send nothing; x/a admits all.
    [['y/a', '--to', 'x/b', '--port', '80'], 'yes'],
    [['y/a', '--to', 'x/pod/b', '--port', 'http'], 'yes'],
    [['pod/a', '-n', 'y', '--to', 'x/b', '--port', '81'], 'no'],
    [['y/c', '--to', 'x/b', '--port', '80'], 'no'],
    [['x/a', '--to', 'b', '--port', '80'], 'no'],
    [['y/a', '--to', 'x/a'], 'yes'],
    [['y/a', '--to', '8.8.8.8'], 'yes'],
    [['y/c', '--to', '8.8.8.0/24', '--port', '53/UDP'], 'no'],
  ])('%j: %s', async (argv, answer) => {
    const run = await reachableFrom(...argv, ...SMALL);
    expect(run).toMatchObject({ stdout: `${answer}\n`, exitCode: answer === 'yes' ? 0 : 1, stderr: '' });
    const quiet = await reachableFrom(...argv, '-q', ...SMALL);
    expect(quiet).toMatchObject({ stdout: '', stderr: '', exitCode: run.exitCode });
  });

  it('a destination without the port name asked about cannot be reached on it: "no", with the reason', async () => {
    const run = await reachableFrom('y/a', '--to', 'x/a', '--port', 'http', '--explain', ...SMALL);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('Warning: pod x/a has no container port named "http" (TCP), so nothing reaches it on it\n');
    expect(run.stdout).toBe(
      [
        'no',
        'SOURCE   TO    PODS   PORTS      VERDICT   REASON',
        'y/a      x/a   1      http/TCP   denied    ingress: x/a has no container port named "http" (TCP)',
        '',
      ].join('\n'),
    );
  });

  it.each([
    [['-l', 'pod=nothing', '-n', 'y', '--to', 'x/b'], /^error: nothing to check: no pods in namespace y match/m],
    [['-n', 'nope', '--to', 'x/b'], /^error: namespace "nope" not found$/m],
    [['y/nope', '--to', 'x/b'], /^error: pod y\/nope not found$/m],
    [['y/a', '--to', 'x/nope'], /^error: pod x\/nope not found$/m],
    [
      ['x/b', '--to', 'x/b'],
      /^error: nothing to check: the only pod of the source is the only pod of the destination/m,
    ],
    [['-f', 'test/fixtures/who-can/no-such-file.yaml', 'y/a', '--to', 'x/b'], /^error: .*no such file/m],
  ])('%j could not be answered: exit 3, one error line, never "yes"', async (argv, line) => {
    const files = argv.includes('-f') ? [] : SMALL;
    for (const extra of [[], ['-q'], ['-o', 'json']]) {
      const run = await reachableFrom(...argv, '--port', '80', ...extra, ...files);
      expect(run.exitCode).toBe(EXIT_NO_ANSWER);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(line);
    }
  });

  it.each([
    [['y/a', '--to', '10.0.0.0/33'], /^error: invalid --to "10\.0\.0\.0\/33": /],
    [
      ['y/a', '--to', '8.8.8.8', '--port', 'http'],
      /^error: --port "http" names a port, and an address block has no port names/,
    ],
    [['y/a', '-q'], /^error: .*--to/],
    [['y/a', '-l', 'pod=a', '-n', 'y'], /^error: SOURCE and --selector cannot be combined$/m],
    [['x/a', '-n', 'y', '--to', 'x/b'], /^error: SOURCE "x\/a" is in namespace "x", but --namespace says "y"$/m],
  ])('%j is a usage error (exit 2), checked before anything is read', async (argv, line) => {
    const run = await reachableFrom(...argv, '-f', 'test/fixtures/who-can/no-such-file.yaml');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(line);
  });

  it("puts a no's denied pairs in the document, as --explain does", async () => {
    const run = await reachableFrom(
      'deployment/api',
      '-n',
      'api',
      '--to',
      '203.0.112.0/23',
      '--port',
      '443',
      '-o',
      'json',
      ...SHOP,
    );
    expect(run.exitCode).toBe(1);
    const document = JSON.parse(run.stdout);
    expect(document).toMatchObject({ allowed: false, connections: [] });
    // Each of the 4 api replicas, to the block: one rule admits half of it.
    expect(document.denied).toHaveLength(4);
    expect(document.denied[0]).toMatchObject({
      from: { namespace: 'api', pod: 'api-0' },
      to: { ipBlock: { cidr: '203.0.112.0/23', except: [] } },
      reasons: [
        {
          direction: 'egress',
          code: 'partly-admitted',
          isolatedBy: ['api/allow-dns', 'api/backend-egress', 'api/default-deny'],
          rules: ['api/backend-egress egress[1]'],
          notAdmitted: ['203.0.112.0/24'],
        },
      ],
    });
  });

  it('explains an address block reached only in part, naming what is left out', async () => {
    const run = await reachableFrom(
      'deployment/api',
      '-n',
      'api',
      '--to',
      '203.0.112.0/23',
      '--port',
      '443',
      '--explain',
      ...SHOP,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^api\/deployment\/api +203\.0\.112\.0\/23 +- +443\/TCP +denied +egress: rule backend-egress egress\[1\] admits only part of 203\.0\.112\.0\/23 on 443\/TCP \(not 203\.0\.112\.0\/24\)$/m,
    );
  });
});

describe('reachable-from on the shop', () => {
  it('lists what a workload reaches, by workload, with the policies on both sides', async () => {
    const run = await reachableFrom('deployment/api', '-n', 'api', ...SHOP);
    expect(run.exitCode).toBe(0);
    expectGolden(run.stdout, 'reachable-from-shop-api.txt');
  });

  it('explains what the frontend cannot reach', async () => {
    const run = await reachableFrom('deployment/frontend', '-n', 'web', '--explain', ...SHOP);
    expectGolden(run.stdout, 'reachable-from-shop-frontend-explain.txt');
  });

  it('reaches a Service through its ports, resolved to the pods', async () => {
    const run = await reachableFrom(
      'deployment/frontend',
      '-n',
      'web',
      '--to',
      'api/service/api',
      '-o',
      'wide',
      ...SHOP,
    );
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain(
      'service api/api: its ports 80/TCP (http) -> http; connections are shown as the pods receive them\n',
    );
    expect(run.stdout).toMatch(/^yes\n/);
    expect(run.stdout).toMatch(
      /^web\/deployment\/frontend +api\/deployment\/api +4 +8080\/TCP \(http\) +api\/api-from-frontend/m,
    );
    const port = await reachableFrom(
      'deployment/frontend',
      '-n',
      'web',
      '--to',
      'api/service/api',
      '--port',
      '80',
      '-o',
      'json',
      ...SHOP,
    );
    expect(JSON.parse(port.stdout).connections[0]).toMatchObject({ port: 8080, portName: 'http', protocol: 'TCP' });
    const missing = await reachableFrom(
      'deployment/frontend',
      '-n',
      'web',
      '--to',
      'api/service/api',
      '--port',
      '8080',
      ...SHOP,
    );
    expect(missing).toMatchObject({ exitCode: EXIT_NO_ANSWER, stdout: '' });
    expect(missing.stderr).toMatch(/^error: service api\/api has no port 8080 \(it has http:80\/TCP\)$/m);
  });

  it('names the Service when a port asked of destination pods is a port of a Service of theirs', async () => {
    const run = await reachableFrom(
      'deployment/frontend',
      '-n',
      'web',
      '--to',
      'api/deployment/api',
      '--port',
      '80',
      ...SHOP,
    );
    expect(run.stderr).toContain(
      'Warning: the destination pods declare no port 80/TCP, but service api/api takes its port 80 to their port http: to ask about the Service, use service/api --port 80\n',
    );
  });
});

describe('reachable-from and who-can ask the same question two ways', () => {
  /** Every pair of pods of a world, asked both ways on each port: the same yes or no. */
  it.each([
    [SMALL_FILE, ['80', '81', 'http', '53/UDP', undefined]],
    ['examples/shop', ['8080', 'http', 'metrics', '5432', '53/UDP', undefined]],
  ])('on %s', async (file, ports) => {
    const loaded = await loadManifests([file]);
    const world = compileWorld(loaded.snapshot);
    const pods = loaded.snapshot.pods.map((p) => ({
      kind: 'pod' as const,
      name: p.metadata!.name!,
      namespace: p.metadata!.namespace!,
    }));
    let checked = 0;
    for (const text of ports) {
      const [number, protocol] = text?.split('/') ?? [];
      const port =
        text === undefined
          ? undefined
          : { port: /^\d+$/.test(number) ? Number(number) : number, protocol: protocol as 'UDP' | undefined };
      for (const source of pods) {
        for (const destination of pods) {
          if (source === destination) continue;
          const ask = (orientation: 'inbound' | 'outbound') => {
            const [subject, other] = orientation === 'inbound' ? [destination, source] : [source, destination];
            const request = completeReach(
              { orientation, subject, other, port, allNamespaces: false, explain: false },
              'default',
            );
            return answerReach(world, request).allowed;
          };
          const inbound = ask('inbound');
          expect([`${name({ pod: source })} -> ${name({ pod: destination })} on ${text}`, ask('outbound')]).toEqual([
            `${name({ pod: source })} -> ${name({ pod: destination })} on ${text}`,
            inbound,
          ]);
          checked++;
        }
      }
    }
    expect(checked).toBe(pods.length * (pods.length - 1) * ports.length);
  });
});

describe('reachable-from against a live cluster', () => {
  /** An in-memory cluster behind the same interface as the live one, serving a manifest world. */
  class FakeReachableFrom extends ReachableFrom {
    static scopes: SnapshotScope[] = [];
    static options: LiveOptions[] = [];

    protected override async openCluster(options: LiveOptions): Promise<ClusterConnection> {
      FakeReachableFrom.options.push(options);
      return {
        api: {} as ClusterApi,
        contextName: 'kind-test',
        defaultNamespace: 'api',
        server: 'https://127.0.0.1:6443',
        loadSnapshot: async (scope) => {
          FakeReachableFrom.scopes.push(scope);
          return loadManifests(['examples/shop']);
        },
      };
    }
  }

  it("defaults to the context's namespace and asks for what the query names", async () => {
    FakeReachableFrom.scopes = [];
    const run = await runCommand<ReachReport>(FakeReachableFrom, ['deployment/api', '--to', 'db/service/postgres']);
    expect(run).toMatchObject({ exitCode: 0, stdout: 'yes\n' });
    const numeric = await runCommand<ReachReport>(FakeReachableFrom, [
      'deployment/api',
      '--to',
      'db/statefulset/postgres',
      '--port',
      '5432',
    ]);
    expect(numeric).toMatchObject({ exitCode: 0, stdout: 'yes\n' });
    expect(FakeReachableFrom.scopes).toEqual([
      {
        workloads: [{ kind: 'Deployment', namespace: 'api', name: 'api' }],
        services: [{ namespace: 'db', name: 'postgres' }],
        listServices: false,
        hintServices: [],
      },
      {
        workloads: [
          { kind: 'Deployment', namespace: 'api', name: 'api' },
          { kind: 'StatefulSet', namespace: 'db', name: 'postgres' },
        ],
        services: [],
        listServices: false,
        // A number asked of named destination pods: their namespace's Services, for the hint.
        hintServices: ['db'],
      },
    ]);
  });
});
