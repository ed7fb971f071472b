/**
 * The completion logic against the command metadata (oclif's, as the CLI loads it) and an in-memory
 * cluster behind the live interface: subcommands, flags, flag values, namespaces, workloads, pods,
 * label keys and values, ports; -f files; and silence when the cluster fails or is late.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Config } from '@oclif/core';

import { loadManifests } from '../../src/lib/cluster/files.js';
import type { ClusterConnection } from '../../src/lib/cluster/types.js';
import {
  complete,
  DIRECTIVE,
  formatCompletion,
  parseLine,
  type Completion,
  type DataOptions,
} from '../../src/lib/completion/complete.js';
import { clusterData, fileData } from '../../src/lib/completion/data.js';
import { commandSpecsOf, shortDescription, type CommandSpec } from '../../src/lib/completion/spec.js';
import { ApiError } from '../../src/lib/errors.js';
import { ROOT } from '../commands/run-command.js';
import { MemoryCluster } from '../support/memory-cluster.js';

let specs: CommandSpec[];
let shop: MemoryCluster;

beforeAll(async () => {
  specs = commandSpecsOf((await Config.load(ROOT)).commands);
  shop = new MemoryCluster((await loadManifests(['examples/shop'])).snapshot, { defaultNamespace: 'api' });
});

/** Completes against a cluster (the shop by default), recording which data sources were asked for. */
async function completeWith(
  words: string[],
  cluster: ClusterConnection = shop,
  seen: DataOptions[] = [],
  timeoutMs?: number,
): Promise<Completion> {
  return complete(words, specs, {
    data: (options) => {
      seen.push(options);
      return options.filenames.length > 0 ? fileData(options.filenames) : clusterData(async () => cluster, timeoutMs);
    },
  });
}

/** Just the values. */
async function values(...words: string[]): Promise<string[]> {
  return (await completeWith(words)).candidates.map((candidate) => candidate.value);
}

describe('subcommands and flags', () => {
  it('offers the visible subcommands with their descriptions, not the hidden __complete', async () => {
    const completion = await completeWith(['']);
    expect(completion.candidates.map((candidate) => candidate.value)).toEqual([
      'allow',
      'audit',
      'completion',
      'diff',
      'isolate',
      'reachable-from',
      'who-can',
    ]);
    expect(completion.candidates[6].description).toMatch(/^show which pods and address blocks can reach/);
    expect(completion.directive).toBe(DIRECTIVE.noFileComp);
    expect(await values('w')).toEqual(['who-can']);
  });

  it('offers the flags of the command, long and short, and --no- forms', async () => {
    const flags = await values('who-can', '-');
    expect(flags).toEqual(expect.arrayContaining(['--namespace', '-n', '--output', '-o', '--explain', '--from']));
    expect(await values('who-can', '--ex')).toEqual(['--explain']);
    expect(await values('who-can', '--')).not.toContain('-n');
    expect(await values('isolate', '--no-')).toEqual(['--no-allow-dns', '--no-headers']);
  });

  it('does not offer a flag again unless it is repeatable', async () => {
    expect(await values('who-can', '-n', 'api', '--n')).toEqual(['--no-headers']);
    expect(await values('who-can', '-f', 'x.yaml', '--fi')).toEqual(['--filename']);
  });

  it('offers the shared kubectl flags before the subcommand', async () => {
    const flags = await values('--');
    expect(flags).toEqual(expect.arrayContaining(['--namespace', '--context', '--kubeconfig']));
    // Each means something of its own: --explain, and -f (diff's is the change, not the world).
    expect(flags).not.toContain('--explain');
    expect(flags).not.toContain('--filename');
  });

  it('completes nothing after an unknown subcommand', async () => {
    expect(await completeWith(['frobnicate', ''])).toEqual({ candidates: [], directive: DIRECTIVE.noFileComp });
  });
});

describe('flag values', () => {
  it('offers the output formats of each command, with = or as the next word', async () => {
    expect(await values('who-can', '-o', '')).toEqual(['dot', 'json', 'mermaid', 'table', 'wide', 'yaml']);
    expect(await values('who-can', '--output=m')).toEqual(['mermaid']);
    expect(await values('isolate', '-o', '')).toEqual(['json', 'name', 'table', 'wide', 'yaml']);
  });

  it('offers the --dry-run values', async () => {
    expect(await values('isolate', '--dry-run', '')).toEqual(['client', 'none', 'server']);
    expect(await values('allow', '--dry-run=s')).toEqual(['server']);
  });

  it('leaves -f and --kubeconfig to the shell (file names)', async () => {
    expect(await completeWith(['who-can', '-f', ''])).toEqual({ candidates: [], directive: DIRECTIVE.default });
    expect(await completeWith(['--kubeconfig', ''])).toEqual({ candidates: [], directive: DIRECTIVE.default });
  });

  it('offers the container ports of the namespace for --port, numbers and names', async () => {
    expect(await values('who-can', '-n', 'api', '--port', '')).toEqual(['8080/TCP', '9090/TCP', 'http', 'metrics']);
  });

  it('offers nothing, and no file names, for free-form values', async () => {
    expect(await completeWith(['isolate', '--name', ''])).toEqual({ candidates: [], directive: DIRECTIVE.noFileComp });
  });
});

describe('names from the cluster', () => {
  it('completes namespaces after -n, --namespace= and before the subcommand', async () => {
    const all = ['api', 'db', 'kube-system', 'monitoring', 'web'];
    expect(await values('who-can', '-n', '')).toEqual(all);
    expect(await values('who-can', '--namespace=w')).toEqual(['web']);
    expect(await values('-n', 'm')).toEqual(['monitoring']);
  });

  it("completes isolate's NAMESPACE arguments, leaving out those already given", async () => {
    expect(await values('isolate', '')).toEqual(['api', 'db', 'kube-system', 'monitoring', 'web']);
    expect(await values('isolate', 'api', 'db', '')).toEqual(['kube-system', 'monitoring', 'web']);
  });

  it('completes TARGET with workloads, pods and Services of -n, else of the context namespace', async () => {
    const completion = await completeWith(['who-can', '-n', 'web', '']);
    expect(completion.candidates).toEqual([
      { value: 'deployment/frontend', description: '3 pods' },
      { value: 'frontend-0', description: 'pod of deployment/frontend' },
      { value: 'frontend-1', description: 'pod of deployment/frontend' },
      { value: 'frontend-2', description: 'pod of deployment/frontend' },
      { value: 'service/frontend', description: 'service' },
      { value: 'toolbox', description: 'pod' },
    ]);
    expect(await values('who-can', 'dep')).toEqual(['deployment/api', 'deployment/worker']);
    expect(await values('-n', 'db', 'who-can', 'st')).toEqual(['statefulset/postgres']);
  });

  it("completes who-can's --from, also in another namespace", async () => {
    expect(await values('who-can', 'deployment/api', '--from', 'deployment/')).toEqual([
      'deployment/api',
      'deployment/worker',
    ]);
    expect(await values('who-can', '--from', 'web/d')).toEqual(['web/deployment/frontend']);
    // In the target's namespace when it names one, as the query takes it.
    expect(await values('who-can', 'db/statefulset/postgres', '--from', 'st')).toEqual(['statefulset/postgres']);
  });

  it("completes reachable-from's SOURCE and --to like who-can's TARGET and --from", async () => {
    expect(await values('reachable-from', '-n', 'api', 'dep')).toEqual(['deployment/api', 'deployment/worker']);
    expect(await values('reachable-from', 'api/deployment/api', '--to', 'deployment/')).toEqual([
      'deployment/api',
      'deployment/worker',
    ]);
    expect(await values('reachable-from', '--to', 'db/s')).toEqual(['db/service/postgres', 'db/statefulset/postgres']);
  });

  it('completes label keys after -l, then the values of a key, then the next requirement', async () => {
    expect(await values('who-can', '-n', 'api', '-l', '')).toEqual(['app', 'tier']);
    expect(await values('who-can', '-n', 'api', '--selector', 'app=')).toEqual(['app=api', 'app=worker']);
    expect(await values('who-can', '-n', 'api', '-l', 'app==w')).toEqual(['app==worker']);
    expect(await values('who-can', '-n', 'api', '-l', 'app=api,t')).toEqual(['app=api,tier']);
    expect(await values('who-can', '-A', '-l', 'k8s')).toEqual(['k8s-app']);
  });

  it("completes allow's --to and --from with the pods' labels", async () => {
    // StatefulSet pods carry the labels their controller sets.
    expect(await values('allow', '-n', 'db', '--to', '')).toEqual([
      'app',
      'apps.kubernetes.io/pod-index',
      'statefulset.kubernetes.io/pod-name',
    ]);
    expect(await values('allow', '-n', 'db', '--to', 'app=postgres', '--from', 'app=')).toEqual(['app=postgres']);
  });

  it('reads -f manifests instead of the cluster when the line has them', async () => {
    const seen: DataOptions[] = [];
    const completion = await completeWith(['who-can', '-f', 'examples/seed', '-n', 'tenant-a', ''], shop, seen);
    expect(completion.candidates.map((candidate) => candidate.value)).toEqual(['backend', 'frontend']);
    expect(seen).toEqual([
      { filenames: ['examples/seed'], kubeconfig: undefined, context: undefined, namespace: 'tenant-a' },
    ]);
  });

  it("diff: reads --base's manifests, never the change's (-f); both complete file names", async () => {
    const seen: DataOptions[] = [];
    await completeWith(['diff', '-f', 'change.yaml', '--base', 'examples/seed', '-n', ''], shop, seen);
    await completeWith(['diff', '-f', 'change.yaml', '-n', ''], shop, seen);
    expect(seen.map((options) => options.filenames)).toEqual([['examples/seed'], []]);
    expect(await completeWith(['diff', '--base', ''])).toEqual({ candidates: [], directive: DIRECTIVE.default });
    expect(await completeWith(['diff', '-f', ''])).toEqual({ candidates: [], directive: DIRECTIVE.default });
  });

  it('passes --kubeconfig and --context on to the cluster it connects to', async () => {
    const seen: DataOptions[] = [];
    await completeWith(['--context', 'prod', 'who-can', '--kubeconfig=/k', '-n', ''], shop, seen);
    expect(seen).toEqual([{ filenames: [], kubeconfig: '/k', context: 'prod' }]);
  });

  it('never connects for subcommands, flags and fixed values', async () => {
    let connects = 0;
    for (const words of [[''], ['who-can', '--'], ['who-can', '-o', ''], ['completion', '']]) {
      await complete(words, specs, {
        data: () =>
          clusterData(async () => {
            connects++;
            return shop;
          }),
      });
    }
    expect(connects).toBe(0);
  });
});

describe('silent on error', () => {
  it('completes nothing, with the default directive, when the cluster refuses', async () => {
    const forbidden = new MemoryCluster(shop.snapshot).forbid('list', 'namespaces');
    expect(await completeWith(['who-can', '-n', ''], forbidden)).toEqual({ candidates: [], directive: 0 });
    const failing = new MemoryCluster(shop.snapshot).failOn({}, () => new ApiError('boom', 500));
    expect(await completeWith(['isolate', ''], failing)).toEqual({ candidates: [], directive: 0 });
  });

  it('completes nothing when connecting fails (no kubeconfig)', async () => {
    const completion = await complete(['who-can', ''], specs, {
      data: () =>
        clusterData(async () => {
          throw new Error('no kubeconfig found');
        }),
    });
    expect(completion).toEqual({ candidates: [], directive: 0 });
  });

  it('gives up at the deadline when the cluster does not answer', async () => {
    const hanging = new MemoryCluster(shop.snapshot);
    hanging.api.listNamespaces = () => new Promise(() => {});
    expect(await completeWith(['who-can', '-n', ''], hanging, [], 50)).toEqual({ candidates: [], directive: 0 });
  });

  it('gives up at the last deadline when loading never ends', async () => {
    const completion = await complete(['who-can', ''], specs, {
      data: () => clusterData(() => new Promise(() => {})),
      deadlineMs: 50,
    });
    expect(completion).toEqual({ candidates: [], directive: 0 });
  });
});

describe('parsing and printing', () => {
  it('reads flags with values before and after the subcommand, and -- as the end of flags', () => {
    const line = parseLine(['-n', 'x', 'who-can', '-oyaml', '--explain', '--', '-weird', ''], specs);
    expect(line.command?.id).toBe('who-can');
    expect([...line.values]).toEqual([
      ['namespace', ['x']],
      ['output', ['yaml']],
      ['explain', ['true']],
    ]);
    expect(line.positionals).toEqual(['-weird']);
    expect(parseLine(['who-can', '--namespace', ''], specs).pendingFlag?.name).toBe('namespace');
  });

  it("prints cobra's format: value<TAB>description lines, then :directive", () => {
    const text = formatCompletion({
      candidates: [{ value: 'a', description: 'one\ttwo' }, { value: 'b' }],
      directive: DIRECTIVE.noFileComp,
    });
    expect(text).toBe('a\tone two\nb\n:4\n');
    expect(formatCompletion({ candidates: [], directive: 0 })).toBe(':0\n');
  });

  it('keeps descriptions to their first sentence', () => {
    expect(shortDescription('Output format. One of: (table).')).toBe('Output format');
    expect(shortDescription('x'.repeat(100))).toHaveLength(80);
  });
});
