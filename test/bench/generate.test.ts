/** The bench generator: deterministic, shaped as promised, and a ground for engine-vs-reference equivalence. */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateCluster, MANIFEST_FILES, peersOf, portsOfPolicy, writeManifests } from '../../bench/generate.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { ClusterSnapshot, PodRef, Protocol } from '../../src/lib/engine/model.js';
import { podOf, reachablePairs, whoCanPairs } from '../support/pairs.js';
import { ReferenceEvaluator } from '../support/reference-evaluator.js';

describe('generateCluster', () => {
  test('the same seed gives the same bytes; another seed does not', async () => {
    const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'netpol-gen-')));
    try {
      await writeManifests(generateCluster({ pods: 400, seed: 7 }).snapshot, dirs[0]);
      await writeManifests(generateCluster({ pods: 400, seed: 7 }).snapshot, dirs[1]);
      await writeManifests(generateCluster({ pods: 400, seed: 8 }).snapshot, dirs[2]);
      const read = (dir: string) => MANIFEST_FILES.map((f) => readFileSync(join(dir, f), 'utf8')).join('');
      expect(read(dirs[1])).toBe(read(dirs[0]));
      expect(read(dirs[2])).not.toBe(read(dirs[0]));
    } finally {
      dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
    }
  });

  test('the manifests load back into the same snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpol-gen-'));
    try {
      const { snapshot } = generateCluster({ pods: 300, seed: 3 });
      await writeManifests(snapshot, dir);
      const loaded = await loadManifests([dir]);
      expect(loaded.warnings).toEqual([]);
      const plain = (s: ClusterSnapshot) => JSON.parse(JSON.stringify([s.namespaces, s.pods, s.policies]));
      expect(plain(loaded.snapshot)).toEqual(plain(snapshot));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([1000, 10000])(
    '%i pods: count, policies per pod, default-deny in half the namespaces, unique IPs',
    (pods) => {
      const { snapshot, stats } = generateCluster({ pods, seed: 11 });
      expect(snapshot.pods).toHaveLength(pods);
      expect(stats.pods).toBe(pods);
      const ratio = pods / snapshot.policies.length;
      expect(ratio).toBeGreaterThanOrEqual(1);
      expect(ratio).toBeLessThanOrEqual(2.5);
      expect(snapshot.namespaces.length).toBeGreaterThanOrEqual(pods / 100);
      const withDeny = new Set(
        snapshot.policies.filter((p) => p.metadata?.name === 'default-deny').map((p) => p.metadata?.namespace),
      );
      expect(withDeny.size).toBe(Math.round(stats.appNamespaces / 2));
      const ips = snapshot.pods.map((p) => p.status?.podIP);
      expect(new Set(ips).size).toBe(pods);
      expect(ips.every((ip) => /^10\.\d+\.\d+\.\d+$/.test(ip ?? ''))).toBe(true);
      expect(snapshot.pods.every((p) => p.status?.hostIP && p.status.podIPs?.[0]?.ip === p.status.podIP)).toBe(true);
    },
  );

  test('every promised feature is present', () => {
    const { snapshot } = generateCluster({ pods: 1000, seed: 5 });
    const pods = snapshot.pods;
    const policies = snapshot.policies;
    const peers = policies.flatMap(peersOf);
    const ports = policies.flatMap(portsOfPolicy);
    const operators = new Set(
      peers.flatMap((p) => [
        ...(p.podSelector?.matchExpressions ?? []).map((e) => e.operator),
        ...(p.namespaceSelector?.matchExpressions ?? []).map((e) => e.operator),
      ]),
    );
    const hashes = new Set(pods.map((p) => p.metadata?.labels?.['pod-template-hash']).filter(Boolean));
    const owners = (kind: string) => pods.filter((p) => p.metadata?.ownerReferences?.[0]?.kind === kind);
    const features: Record<string, boolean> = {
      'ReplicaSet-owned pods named <owner>-<suffix>': owners('ReplicaSet').every((p) =>
        p.metadata!.name!.startsWith(`${p.metadata!.ownerReferences![0].name}-`),
      ),
      'owner ReplicaSet is <deployment>-<pod-template-hash>': owners('ReplicaSet').every((p) =>
        p.metadata!.ownerReferences![0].name.endsWith(`-${p.metadata!.labels!['pod-template-hash']}`),
      ),
      'StatefulSet pods': owners('StatefulSet').length > 0,
      'high-cardinality pod-template-hash': hashes.size > 100,
      'app/tier/team labels': pods
        .filter((p) => p.metadata?.namespace !== 'kube-system')
        .every((p) => {
          const l = p.metadata?.labels ?? {};
          return 'app' in l && 'tier' in l && 'team' in l;
        }),
      'named container ports http, metrics, grpc': ['http', 'metrics', 'grpc'].every((name) =>
        pods.some((p) => p.spec?.containers.some((c) => c.ports?.some((cp) => cp.name === name))),
      ),
      'namespaces labelled team, env, kubernetes.io/metadata.name': snapshot.namespaces.some((n) => {
        const l = n.metadata?.labels ?? {};
        return 'team' in l && 'env' in l && l['kubernetes.io/metadata.name'] === n.metadata?.name;
      }),
      'pod selector peer': peers.some((p) => p.podSelector && !p.namespaceSelector),
      'namespace selector peer': peers.some((p) => p.namespaceSelector && !p.podSelector),
      'combined selector peer': peers.some((p) => p.namespaceSelector && p.podSelector),
      'namespaceSelector {}': peers.some((p) => p.namespaceSelector && Object.keys(p.namespaceSelector).length === 0),
      'In, NotIn, Exists, DoesNotExist': ['In', 'NotIn', 'Exists', 'DoesNotExist'].every((o) => operators.has(o)),
      'ipBlock with except (v4 and v6)':
        peers.some((p) => p.ipBlock?.except?.length && !p.ipBlock.cidr.includes(':')) &&
        peers.some((p) => p.ipBlock?.except?.length && p.ipBlock.cidr.includes(':')),
      'ipBlock over pod IPs': peers.some((p) => p.ipBlock?.cidr === '10.64.0.0/12'),
      'named port': ports.some((p) => typeof p.port === 'string'),
      'endPort range': ports.some((p) => p.endPort !== undefined),
      'UDP and SCTP': ports.some((p) => p.protocol === 'UDP') && ports.some((p) => p.protocol === 'SCTP'),
      'egress DNS rule': policies.some((p) =>
        (p.spec?.egress ?? []).some((r) => r.ports?.some((x) => x.protocol === 'UDP' && x.port === 53)),
      ),
      'policyTypes absent with egress rules': policies.some((p) => !p.spec?.policyTypes && p.spec?.egress?.length),
      'rule without from (every peer)': policies.some((p) => p.spec?.ingress?.some((r) => !r._from)),
      'rule without ports (every port)': policies.some((p) => p.spec?.ingress?.some((r) => r._from && !r.ports)),
      'policy without rules': policies.some((p) => p.spec?.policyTypes?.includes('Ingress') && !p.spec.ingress),
      'namespace without env label (NotIn on a missing key)': snapshot.namespaces.some(
        (n) => n.metadata?.labels?.team && !n.metadata.labels.env,
      ),
    };
    const missing = Object.entries(features)
      .filter(([, present]) => !present)
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });
});

/** Ports asked: the bench's port, a named port's number (http on 8080), DNS, one inside the 8000-8999 range. */
const PORTS: { port: number; protocol: Protocol }[] = [
  { port: 80, protocol: 'TCP' },
  { port: 8080, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 8500, protocol: 'TCP' },
];

/**
 * Clusters to compare on: by default three seeds of 400 pods (every pair, four ports), so the tier stays
 * fast; REFERENCE_PODS=1000 REFERENCE_SEEDS=1-20 runs a deeper sweep.
 */
function referenceCases(): [number, number][] {
  const pods = Number(process.env.REFERENCE_PODS ?? 400);
  const [from, to] = (process.env.REFERENCE_SEEDS ?? '1-3').split('-').map(Number);
  return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => [pods, from + i]);
}

describe('the engine answers as a plain per-pair evaluation on generated clusters', () => {
  test.each(referenceCases())(
    '%i pods, seed %i: who-can and reachable-from on every pod pair equal the reference',
    (pods, seed) => {
      const { snapshot } = generateCluster({ pods, seed });
      const reference = new ReferenceEvaluator(snapshot);
      const world = compileWorld(snapshot);
      const n = reference.pods.length;
      const index = new Map(reference.pods.map((p, i) => [`${p.namespace}/${p.name}`, i]));
      const ingress = reference.pods.map((p) => reference.selecting(p, 'Ingress'));
      const egress = reference.pods.map((p) => reference.selecting(p, 'Egress'));
      const mismatches: string[] = [];
      let allowedPairs = 0;
      for (const { port, protocol } of PORTS) {
        // 1: who-can says allowed; 2: reachable-from says allowed; both must say what the reference says.
        const engine = new Uint8Array(n * n);
        const refs = reference.pods.map((p) => ({ namespace: p.namespace, name: p.name }));
        const mark = (from: PodRef, to: PodRef, bit: number) => {
          engine[index.get(`${from.namespace}/${from.name}`)! * n + index.get(`${to.namespace}/${to.name}`)!] |= bit;
        };
        for (let start = 0; start < n; start += 100) {
          const slice = refs.slice(start, start + 100);
          for (const c of whoCanPairs(world, { targets: slice, port: { port, protocol } }).connections)
            if ('pod' in c.from) mark(c.from.pod, podOf(c.to), 1);
          for (const c of reachablePairs(world, { sources: slice, port: { port, protocol } }).connections)
            if ('pod' in c.to) mark(podOf(c.from), c.to.pod, 2);
        }
        for (let d = 0; d < n; d++) {
          const dst = reference.pods[d];
          for (let s = 0; s < n; s++) {
            if (s === d) continue; // who-can never lists a pod as its own source
            const src = reference.pods[s];
            const expected =
              reference.ingressAllows(src, dst, port, protocol, ingress[d]) &&
              reference.egressAllows(src, dst, port, protocol, egress[s]);
            if (expected) allowedPairs++;
            const got = engine[s * n + d];
            if (got !== (expected ? 3 : 0) && mismatches.length < 10) {
              mismatches.push(
                `seed ${seed}, ${port}/${protocol}: ${src.namespace}/${src.name} -> ${dst.namespace}/${dst.name}: reference ${expected ? 'allows' : 'denies'}, who-can ${got & 1 ? 'allows' : 'denies'}, reachable-from ${got & 2 ? 'allows' : 'denies'}`,
              );
            }
          }
        }
      }
      // Not trivially all-allowed or all-denied.
      expect(allowedPairs).toBeGreaterThan(0);
      expect(allowedPairs).toBeLessThan(PORTS.length * n * (n - 1));
      expect(mismatches).toEqual([]);
    },
  );
});
