/**
 * diff against the real kube-apiserver: the preview of `diff -f FILES` on the live cluster, then
 * `kubectl apply -f FILES`, then who-can before and after: the pairs the preview adds, removes and
 * changes are exactly the difference between the two who-can answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { stringify } from 'yaml';

import { applyWorld, createNamespace, kubectl, runCli } from './helpers.js';

const TIMEOUT = 120_000;

interface End {
  namespace?: string;
  pod?: string;
}
interface PortDoc {
  protocol: string;
  port?: number;
  endPort?: number;
}
interface Pair {
  from: End;
  to: End;
  ports: PortDoc[];
}

let ns: string;
let dir: string;

beforeAll(async () => {
  ns = await createNamespace({ team: 'diff' });
  await applyWorld(
    { default: ns },
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec: {containers: [{name: main, image: x, ports: [{name: http, containerPort: 8080}]}]}',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: api, labels: {app: api}}\nspec: {containers: [{name: main, image: x, ports: [{name: http, containerPort: 8080}]}]}',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: db, labels: {app: db}}',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api-from-web}\nspec: {podSelector: {matchLabels: {app: api}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: http}]}]}',
    ].join('\n---\n'),
  );
  dir = mkdtempSync(join(tmpdir(), 'netpol-diff-e2e-'));
  // The change: db isolated (only api may reach it, on 5432), api opened to db on every port too.
  const policies = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db-from-api', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 5432 }] }],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'api-from-web', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'api' } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] },
          { from: [{ podSelector: { matchLabels: { app: 'db' } } }] },
        ],
      },
    },
  ];
  writeFileSync(join(dir, 'change.yaml'), policies.map((p) => stringify(p)).join('---\n'));
}, TIMEOUT);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
});

/** who-can's connections between the namespace's pods, by pair, with their ports. */
async function reachability(): Promise<Map<string, PortDoc[]>> {
  const run = await runCli(['who-can', '-n', ns, '-o', 'json']);
  expect({ code: run.code, stderr: /^error:/m.test(run.stderr) ? run.stderr : '' }).toEqual({ code: 0, stderr: '' });
  const pairs = new Map<string, PortDoc[]>();
  for (const c of (JSON.parse(run.stdout) as { connections: Pair[] }).connections)
    if (c.from.namespace === ns && c.from.pod !== undefined) pairs.set(`${c.from.pod}->${c.to.pod}`, c.ports);
  return pairs;
}

test(
  'diff -f previews exactly what kubectl apply -f then changes in who-can',
  async () => {
    const before = await reachability();
    const preview = await runCli(['diff', '-n', ns, '-f', dir, '-o', 'json']);
    // Other files' pods share the cluster (their warnings, e.g. pods without an IP, may appear): no error line.
    const errors = preview.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect({ code: preview.code, errors }).toEqual({ code: 1, errors: [] });
    const document = JSON.parse(preview.stdout) as {
      objects: { name: string; action: string }[];
      added: Pair[];
      removed: Pair[];
      changed: { from: End; to: End; before: { ports: PortDoc[] }; after: { ports: PortDoc[] } }[];
    };
    expect(document.objects.map((o) => `${o.name} ${o.action}`)).toEqual([
      'api-from-web configured',
      'db-from-api created',
    ]);
    await kubectl(['apply', '-f', dir]);
    const after = await reachability();

    const key = (p: { from: End; to: End }) => `${p.from.pod}->${p.to.pod}`;
    const within = (p: { from: End; to: End }) => p.from.namespace === ns && p.to.namespace === ns;
    const expected = {
      added: [...after].filter(([k]) => !before.has(k)).map(([k, ports]) => [k, ports]),
      removed: [...before].filter(([k]) => !after.has(k)).map(([k, ports]) => [k, ports]),
      changed: [...after]
        .filter(([k, ports]) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(ports))
        .map(([k, ports]) => [k, before.get(k), ports]),
    };
    const sorted = <T>(list: T[]) => list.map((e) => JSON.stringify(e)).sort();
    expect({
      added: sorted(document.added.filter(within).map((p) => [key(p), p.ports])),
      removed: sorted(document.removed.filter(within).map((p) => [key(p), p.ports])),
      changed: sorted(document.changed.filter(within).map((p) => [key(p), p.before.ports, p.after.ports])),
    }).toEqual({ added: sorted(expected.added), removed: sorted(expected.removed), changed: sorted(expected.changed) });
    // The change does something of each kind: the test would notice a preview that says nothing.
    expect([document.removed.length > 0, document.changed.length > 0 || document.added.length > 0]).toEqual([
      true,
      true,
    ]);
    // Applied, the same files change nothing.
    const again = await runCli(['diff', '-n', ns, '-f', dir]);
    expect({ code: again.code, stdout: again.stdout }).toEqual({
      code: 0,
      stdout: expect.stringContaining('No connection opened or closed.') as unknown as string,
    });
  },
  TIMEOUT,
);
