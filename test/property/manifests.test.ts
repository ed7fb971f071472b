/**
 * Manifests with wrong types in every field (Pod, Namespace, NetworkPolicy, workloads, Service), random
 * JSON and YAML documents: the -f loader answers with a snapshot or one ManifestError line, and the
 * engine never throws on whatever the loader accepts. A sample also goes through the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { stringify } from 'yaml';

import { loadManifests } from '../../src/lib/cluster/files.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { QueryError, resolveServicePort, resolveTargets } from '../../src/lib/engine/targets.js';
import type { TargetSpec } from '../../src/lib/engine/targets.js';
import { whoCan } from '../../src/lib/engine/who-can.js';
import { NetpolError } from '../../src/lib/errors.js';
import { runs, SEED } from './arbitraries.js';

const dir = mkdtempSync(join(tmpdir(), 'netpol-prop-manifests-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Well-formed objects of every kind the loader reads; mutations then break their fields one by one. */
const BASES: Record<string, unknown>[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', labels: { team: 'a' } } },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' }, deletionTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      hostNetwork: false,
      containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }],
    },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'ns' },
    spec: {
      podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: 'x' } }, namespaceSelector: {} },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          ],
          ports: [{ protocol: 'TCP', port: 80, endPort: 90 }, { port: 'http' }],
        },
      ],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } } }], ports: [{ protocol: 'UDP', port: 53 }] }],
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'ns' },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: 'ns' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  },
  {
    apiVersion: 'v1',
    kind: 'List',
    items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'listed' }, status: { podIP: '10.0.0.2' } }],
  },
];

/** Every path to a value inside an object (keys and array indexes). */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

function setAt(root: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  if (root === null || typeof root !== 'object') return root;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    // An earlier edit replaced a parent of this path: nothing left to edit.
    if (next === null || typeof next !== 'object') return copy;
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (replacement === undefined) delete node[last];
  else node[last] = replacement;
  return copy;
}

/** Values of the wrong type (or shape) for any field. */
const wrong = fc.oneof(
  fc.constantFrom(null, undefined, true, 0, -1, 1.5, 65536, '', 'x', '80', '10.0.0.0/33', [], {}, [null], [1], {
    a: 1,
  }),
  fc.constantFrom('In', 'Ingress', 'TCP', 'http', '::', '2024', 'ns', [{}], [''], ['Ingress', 'Egress', 'Ingress']),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A base object with 1-3 fields replaced by wrong values. */
const mutated = fc
  .constantFrom(...BASES)
  .chain((base) =>
    fc
      .array(fc.tuple(fc.constantFrom(...pathsOf(base)), wrong), { minLength: 1, maxLength: 2 })
      .map((edits) => edits.reduce<unknown>((obj, [path, value]) => setAt(obj, path, value), base)),
  );

/** A set of documents: mostly mutated objects, some intact, some random JSON. */
const documents = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: mutated },
    { weight: 4, arbitrary: fc.constantFrom(...BASES) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  ),
  { minLength: 1, maxLength: 3 },
);

/** Random text near YAML syntax. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom('---\n', 'kind: Pod\n', 'apiVersion: v1\n', 'metadata:\n', '  name: a\n', '- ', ': ', '{', '}'),
      fc.constantFrom('[', ']', '&a ', '*a', '!!binary ', '"', "'", '\t', '  ', '\n', '#', '%YAML 1.2\n', '<<: *a\n'),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 14 },
  )
  .map((parts) => parts.join(''));

type Outcome = { kind: 'loaded'; pods: number } | { kind: 'refused'; message: string };

/** Loads text through -f (YAML on stdin, or a .json file), then asks the engine every kind of question. */
async function loadAndAsk(text: string, asJson: boolean): Promise<Outcome> {
  let loaded;
  try {
    if (asJson) {
      const file = join(dir, 'doc.json');
      writeFileSync(file, text);
      loaded = await loadManifests([file], { defaultNamespace: 'ns' });
    } else loaded = await loadManifests(['-'], { stdin: text, defaultNamespace: 'ns' });
  } catch (error) {
    if (!(error instanceof NetpolError)) throw error;
    expect(error.exitCode).toBe(1);
    expect(error.message).not.toMatch(/\n/);
    expect(error.message).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
    return { kind: 'refused', message: error.message };
  }
  // Whatever the loader accepts, the engine answers without throwing.
  const world = compileWorld(loaded.snapshot);
  const targets = world.pods.map((p) => p.ref);
  whoCan(world, { targets, includeDenied: true });
  whoCan(world, { targets, port: { port: 80, protocol: 'TCP' }, includeDenied: true });
  whoCan(world, { targets, port: { port: 'http', protocol: 'TCP' } });
  if (targets.length > 0) whoCan(world, { targets: targets.slice(0, 1), sources: targets, includeDenied: true });
  const specs: TargetSpec[] = [
    { kind: 'pod', namespace: 'ns', name: 'web' },
    { kind: 'Deployment', namespace: 'ns', name: 'api' },
    { kind: 'service', namespace: 'ns', name: 'svc' },
    { kind: 'selector', selector: { matchLabels: { app: 'web' } } },
  ];
  for (const spec of specs) {
    try {
      resolveTargets(world, spec);
      if (spec.kind === 'service') resolveServicePort(world, spec, 'web');
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
    }
  }
  return { kind: 'loaded', pods: targets.length };
}

describe('manifests with wrong types everywhere', () => {
  test('YAML or JSON of mutated objects: a snapshot the engine answers on, or one ManifestError line', async () => {
    const outcomes: Outcome[] = [];
    await fc.assert(
      fc.asyncProperty(documents, fc.boolean(), async (docs, asJson) => {
        const text = asJson
          ? (JSON.stringify(docs.length === 1 ? docs[0] : { apiVersion: 'v1', kind: 'List', items: docs }) ?? '')
          : docs.map((d) => stringify(d ?? null)).join('---\n');
        outcomes.push(await loadAndAsk(text, asJson));
      }),
      runs(1000),
    );
    // Both outcomes happen: the generator reaches the engine and the loader's refusals.
    expect(outcomes.filter((o) => o.kind === 'loaded' && o.pods > 0).length).toBeGreaterThan(100);
    expect(outcomes.filter((o) => o.kind === 'refused').length).toBeGreaterThan(100);
  }, 60_000);

  test('random YAML text: a snapshot or one ManifestError line', async () => {
    await fc.assert(
      fc.asyncProperty(yamlish, async (text) => {
        await loadAndAsk(text, false);
      }),
      runs(1500),
    );
  }, 60_000);
});

describe('the built CLI on a sample (who-can -A -f FILE)', () => {
  const entry = join(process.cwd(), 'bin', 'run.js');
  const built = existsSync(join(process.cwd(), 'dist', 'commands', 'who-can.js'));

  test('exit 0, 1 or 2; never a stack trace; a failure is one error line (plus a hint)', () => {
    // bin/run.js runs dist/, which `npm test` builds first (npm run build).
    expect(built).toBe(true);
    const samples = fc.sample(fc.tuple(documents, fc.boolean()), { seed: SEED, numRuns: 6 });
    const codes = new Set<number>();
    samples.forEach(([docs, asJson], i) => {
      const file = join(dir, `sample-${i}.${asJson ? 'json' : 'yaml'}`);
      writeFileSync(
        file,
        asJson ? (JSON.stringify(docs[0]) ?? '') : docs.map((d) => stringify(d ?? null)).join('---\n'),
      );
      const args =
        i % 2 === 0
          ? ['who-can', '-A', '-f', file]
          : ['who-can', 'web', '-n', 'ns', '--port', 'http', '-f', file, '-o', 'json'];
      const { status, stdout, stderr } = spawnSync(process.execPath, [entry, ...args], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' },
      });
      const context = `${args.join(' ')}\n${JSON.stringify(docs)}\n${stderr}`;
      expect([0, 1, 2]).toContain(status);
      codes.add(status!);
      expect({ context, trace: /^\s+at .+:\d+:\d+\)?$/m.test(stderr) }).toEqual({ context, trace: false });
      const errors = stderr
        .split('\n')
        .filter((l) => !l.startsWith('Warning:') && l !== '' && l !== 'No connections found.');
      if (status !== 0 && errors.length > 0) {
        expect({ context, first: errors[0].startsWith('error: ') }).toEqual({ context, first: true });
        expect(errors.length).toBeLessThanOrEqual(2);
      }
      if (status === 0 && args.includes('json')) JSON.parse(stdout);
    });
    expect(codes.size).toBeGreaterThan(1);
  }, 120_000);
});
