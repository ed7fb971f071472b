/**
 * The engine against the independent reference evaluator (test/support/reference-evaluator.ts) on
 * thousands of small generated clusters using every feature of the API. For every pod pair and
 * every probe port (numbers, ranges, protocols, named ports), who-can's answer must equal the
 * reference's. On a mismatch fast-check shrinks the cluster and the failure prints the seed, the
 * path to replay it (FC_SEED=<seed>) and the cluster as JSON.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import { compileWorld } from '../../src/lib/engine/compile.js';
import type { ClusterSnapshot, PortQuery, Protocol } from '../../src/lib/engine/model.js';
import { formatPortSet, portSetContains } from '../../src/lib/engine/ports.js';
import { validatePolicy } from '../../src/lib/engine/validate.js';
import { podOf, reachablePairs, whoCanPairs } from '../support/pairs.js';
import { ReferenceEvaluator } from '../support/reference-evaluator.js';
import { runs, SEED } from './arbitraries.js';
import { NUMBER_PROBES, toSnapshot, world } from './worlds.js';

const NAMED_PROBES: { port: string; protocol: Protocol }[] = [
  { port: 'http', protocol: 'TCP' },
  { port: 'http', protocol: 'UDP' },
  { port: 'dns', protocol: 'UDP' },
];

const pairKey = (from: { namespace: string; name: string }, to: { namespace: string; name: string }) =>
  `${from.namespace}/${from.name}->${to.namespace}/${to.name}`;

/** Compares the engine with the reference on every pair and probe; returns the first difference. */
function firstDifference(snapshot: ClusterSnapshot): string | undefined {
  const compiled = compileWorld(snapshot);
  const reference = new ReferenceEvaluator(snapshot);
  const targets = compiled.pods.map((p) => p.ref);
  const refPods = reference.pods;

  const check = (query: PortQuery, label: string, viaSources: boolean, outbound = false): string | undefined => {
    // Outbound: the same pairs asked the other way (reachable-from), every pod a source.
    const result = outbound
      ? reachablePairs(compiled, {
          sources: targets,
          port: query,
          ...(viaSources ? { destinations: targets, includeDenied: true } : {}),
        })
      : whoCanPairs(compiled, {
          targets,
          port: query,
          ...(viaSources ? { sources: targets, includeDenied: true } : {}),
        });
    const allowed = new Set<string>();
    for (const c of result.connections)
      if ('pod' in c.from && 'pod' in c.to) allowed.add(pairKey(c.from.pod, c.to.pod));
    const denied = new Set<string>();
    for (const c of result.denied) if ('pod' in c.from && 'pod' in c.to) denied.add(pairKey(c.from.pod, c.to.pod));
    for (const dst of refPods) {
      const number =
        typeof query.port === 'number'
          ? query.port
          : dst.ports.find((cp) => cp.name === query.port && (cp.protocol ?? 'TCP') === query.protocol)?.containerPort;
      for (const src of refPods) {
        if (src === dst) continue;
        const key = pairKey(src, dst);
        const expected = number !== undefined && reference.allows(src, dst, number, query.protocol);
        if (allowed.has(key) !== expected) {
          return `${label}${outbound ? ' outbound' : ''}${viaSources ? ' (--from, --explain)' : ''}: ${key} engine ${allowed.has(key) ? 'allows' : 'denies'}, reference ${expected ? 'allows' : 'denies'}`;
        }
        // With --explain, every pair asked about is either allowed or denied (named ports the target lacks: neither).
        if (viaSources && number !== undefined && allowed.has(key) === denied.has(key)) {
          return `${label} (--explain): ${key} is ${allowed.has(key) ? 'both allowed and denied' : 'neither allowed nor denied'}`;
        }
      }
    }
    return undefined;
  };

  for (const probe of [...NUMBER_PROBES, ...NAMED_PROBES]) {
    const label = `${probe.port}/${probe.protocol}`;
    const diff =
      check(probe, label, false) ??
      check(probe, label, true) ??
      check(probe, label, false, true) ??
      check(probe, label, true, true);
    if (diff) return diff;
  }
  // All ports at once: the port set of each allowed pair holds exactly the probes the reference allows.
  const all = whoCanPairs(compiled, { targets });
  const sets = new Map<string, (typeof all.connections)[number]['ports']>();
  for (const c of all.connections) if ('pod' in c.from) sets.set(pairKey(c.from.pod, podOf(c.to)), c.ports);
  // The same asked the other way: the outbound port sets are the inbound ones.
  const outbound = reachablePairs(compiled, { sources: targets });
  const outSets = new Map<string, (typeof all.connections)[number]['ports']>();
  for (const c of outbound.connections) if ('pod' in c.to) outSets.set(pairKey(podOf(c.from), c.to.pod), c.ports);
  for (const [key, ports] of outSets) {
    if (!sets.has(key)) return `all ports outbound: ${key} reached outbound only`;
    if (formatPortSet(ports!) !== formatPortSet(sets.get(key)!))
      return `all ports outbound: ${key} outbound ${formatPortSet(ports!)}, inbound ${formatPortSet(sets.get(key)!)}`;
  }
  if (outSets.size !== [...sets.keys()].length)
    return `all ports outbound: ${outSets.size} pairs, inbound ${sets.size}`;
  for (const dst of refPods) {
    for (const src of refPods) {
      if (src === dst) continue;
      const key = pairKey(src, dst);
      const ports = sets.get(key);
      for (const probe of [
        ...NUMBER_PROBES,
        { port: 1, protocol: 'UDP' as Protocol },
        { port: 9000, protocol: 'SCTP' as Protocol },
      ]) {
        const expected = reference.allows(src, dst, probe.port, probe.protocol);
        const actual = ports !== undefined && portSetContains(ports, probe.protocol, probe.port);
        if (actual !== expected) {
          return `all ports: ${key} on ${probe.port}/${probe.protocol} engine ${actual ? 'allows' : 'denies'}, reference ${expected ? 'allows' : 'denies'}`;
        }
      }
    }
  }
  return undefined;
}

describe('engine vs reference evaluator on generated clusters', () => {
  test('every pod pair, every probe port (numbers, ranges, protocols, named ports), three query paths', () => {
    let pairs = 0;
    fc.assert(
      fc.property(world, (w) => {
        const snapshot = toSnapshot(w);
        // The reference does not validate: every generated policy must be one the API server accepts.
        for (const p of snapshot.policies) expect(validatePolicy(p)).toEqual([]);
        const difference = firstDifference(snapshot);
        pairs += w.pods.length * (w.pods.length - 1);
        if (difference) {
          throw new Error(`${difference}\nreplay: FC_SEED=${SEED}\ncluster: ${JSON.stringify(snapshot)}`);
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_RUNS ?? 1000)),
    );
    expect(pairs).toBeGreaterThan(1000);
  }, 120_000);
});
