/** The shared reachability cases (translated from the upstream e2e suite), as table-driven engine tests. */
import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toTypedPolicy } from '../../src/lib/cluster/policy-shape.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { keyOf, type ClusterSnapshot, type Protocol } from '../../src/lib/engine/model.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import { podOf, reachablePairs, whoCanPairs } from '../support/pairs.js';
import { sharedPath } from '../support/shared.js';

interface CaseFile {
  name: string;
  namespaces: { name: string; labels: Record<string, string> }[];
  pods: {
    namespace: string;
    name: string;
    labels: Record<string, string>;
    ip?: string;
    containers: { name: string; ports: { name?: string; containerPort: number; protocol?: string }[] }[];
  }[];
  policies: ClusterSnapshot['policies'];
  expect: { port: number; protocol: Protocol; allowed: [string, string][] }[];
}

const CASES_DIR = sharedPath('conformance', 'cases');

/** Builds the snapshot a case describes, as the API objects a cluster would hold. */
export function snapshotOfCase(c: CaseFile): ClusterSnapshot {
  return {
    namespaces: c.namespaces.map((n) => ({ metadata: { name: n.name, labels: n.labels } })),
    pods: c.pods.map((p) => ({
      metadata: { namespace: p.namespace, name: p.name, labels: p.labels },
      spec: { containers: p.containers.map((k) => ({ name: k.name, ports: k.ports })) },
      status: p.ip ? { podIP: p.ip, podIPs: [{ ip: p.ip }] } : {},
    })),
    // Snapshots hold policies as client-node types them (`_from`), however they were written.
    policies: c.policies.map(toTypedPolicy),
    services: [],
    workloads: [],
  };
}

const cases: CaseFile[] = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(CASES_DIR, f), 'utf8')) as CaseFile);

describe('shared conformance cases', () => {
  test('are present', () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  for (const c of cases) {
    test.each(c.expect.map((e) => [`${e.port}/${e.protocol}`, e] as const))(`${c.name} on %s`, (_label, probe) => {
      const world = compileWorld(snapshotOfCase(c));
      expect(world.warnings.filter((w) => w.code === 'invalid-policy')).toEqual([]);
      const targets = world.pods.map((p) => p.ref);
      const result = whoCanPairs(world, { targets, port: { port: probe.port, protocol: probe.protocol } });
      const actual = result.connections
        .flatMap((conn) =>
          'pod' in conn.from
            ? [`${conn.from.pod.namespace}/${conn.from.pod.name} -> ${podOf(conn.to).namespace}/${podOf(conn.to).name}`]
            : [],
        )
        .sort();
      const expected = probe.allowed
        .filter(([f, t]) => f !== t)
        .map(([f, t]) => `${f} -> ${t}`)
        .sort();
      expect(actual).toEqual(expected);
      // The same pairs asked the other way: what each pod may reach.
      const outbound = reachablePairs(world, {
        sources: targets,
        port: { port: probe.port, protocol: probe.protocol },
      });
      const reached = outbound.connections
        .flatMap((conn) => ('pod' in conn.to ? [`${keyOf(podOf(conn.from))} -> ${keyOf(conn.to.pod)}`] : []))
        .sort();
      expect(reached).toEqual(expected);
      // The fast path (class indexes) and the explanation (per-pair analysis) must agree.
      const denied = whoCanPairs(world, {
        targets,
        port: { port: probe.port, protocol: probe.protocol },
        includeDenied: true,
      }).denied;
      expect(result.connections.every((conn) => conn.decision.allowed)).toBe(true);
      expect(denied.every((conn) => !conn.decision.allowed)).toBe(true);
      expect(result.connections.length + denied.length).toBeGreaterThanOrEqual(expected.length);
    });
    test(`${c.name}: all-ports answers agree with the per-pair analysis`, () => {
      const world = compileWorld(snapshotOfCase(c));
      const targets = world.pods.map((p) => p.ref);
      const result = whoCanPairs(world, { targets, includeDenied: true });
      for (const conn of result.connections) {
        if (!('pod' in conn.from)) continue;
        expect(conn.decision.allowed).toBe(true);
        expect(formatPortSet(conn.ports!)).not.toBe('none');
      }
      expect(result.denied.every((conn) => !conn.decision.allowed)).toBe(true);
    });
  }
});
