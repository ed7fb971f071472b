/**
 * The engine with cluster tiers against the independent tier reference (test/support/tier-reference.ts,
 * written from the network-policy-api type comments, over the NetworkPolicy v1 reference) on small
 * generated clusters: NetworkPolicies together with AdminNetworkPolicy and BaselineAdminNetworkPolicy
 * (v1alpha1) and ClusterNetworkPolicy (v1alpha2, v1beta1) of both tiers, equal priorities included,
 * every peer and port shape, rules that fail closed, host-network pods on generated Node objects (nodes
 * peers; sometimes the Node objects unreadable). For every pod pair and probe
 * port, who-can's and reachable-from's answers (with and without --from/--to and --explain) and the
 * all-ports sets must equal the reference's; with --explain, the layer that decided each direction and
 * the tier rule. A failure prints the seed (FC_SEED=<seed> replays it) and the cluster as JSON.
 * DIFFERENTIAL_TIER_RUNS raises the number of runs.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import { compileWorld } from '../../src/lib/engine/compile.js';
import type { ClusterSnapshot, DirectionDecision, IpBlock, Protocol } from '../../src/lib/engine/model.js';
import { reachableFrom } from '../../src/lib/engine/reachable-from.js';
import { reachabilityMatrix, whoCan } from '../../src/lib/engine/who-can.js';
import { matrixPodPairs } from '../support/pairs.js';
import { portSetContains } from '../../src/lib/engine/ports.js';
import { validatePolicy } from '../../src/lib/engine/validate.js';
import { validateTierPolicy } from '../../src/lib/engine/tiers-validate.js';
import { cidrContains } from '../support/reference-evaluator.js';
import { addressesToCheck, TierReference, type TierRefDirection } from '../support/tier-reference.js';
import { cidrsOf, NETWORKS, tierWorld, withNodes } from './tier-worlds.js';
import { runs, SEED } from './arbitraries.js';
import { firstDifference, NAMED_PROBES, NUMBER_PROBES, toSnapshot, type Asked } from './worlds.js';

type Obj = Record<string, unknown>;

/** Each port on a protocol, as probes. */
const on = (protocol: Protocol, ...ports: number[]) => ports.map((port) => ({ port, protocol }));

/** Probes: the v1 suite's, and the bounds of the tier ranges. */
const PROBES = {
  numbers: [...NUMBER_PROBES, ...on('TCP', 1024, 1025, 9000), ...on('UDP', 7000)],
  names: [
    ...NAMED_PROBES,
    { port: 'metrics', protocol: 'TCP' as Protocol },
    { port: 'assoc', protocol: 'SCTP' as Protocol },
  ],
  allPorts: [...NUMBER_PROBES, ...on('UDP', 1), ...on('TCP', 8000, 9001), ...on('SCTP', 9000, 6999)],
};

/** Where a direction decision of the engine and the reference's differ (layer, tier rule, Pass rules), if anywhere. */
function directionDifference(engine: DirectionDecision, reference: TierRefDirection): string | undefined {
  if (engine.allowed !== reference.allowed) return `allowed ${engine.allowed}, reference ${reference.allowed}`;
  // No tier rule touches the pair: NetworkPolicy v1 alone, as without tiers (decidedBy unset).
  const layer = engine.decidedBy ?? (engine.isolated ? 'NetworkPolicy' : 'default');
  if (layer !== reference.decidedBy) return `decided by ${layer}, reference ${reference.decidedBy}`;
  const rule = (r?: { policy: { name: string }; rule: { index: number }; action: string }) =>
    r ? `${r.policy.name}[${r.rule.index}] ${r.action}` : '-';
  const expectedRule = reference.rule
    ? `${reference.rule.name}[${reference.rule.index}] ${reference.rule.action}`
    : '-';
  if (reference.rule && rule(engine.tierRules?.[0]) !== expectedRule)
    return `tier rule ${rule(engine.tierRules?.[0])}, reference ${expectedRule}`;
  const passed = (engine.passedBy ?? []).map(rule).join(', ');
  const expectedPassed = reference.passedBy.map((r) => `${r.name}[${r.index}] ${r.action}`).join(', ');
  if (passed !== expectedPassed) return `passed by ${passed || '-'}, reference ${expectedPassed || '-'}`;
  return undefined;
}

/** What the generated worlds exercise, counted on the reference's directions at the numeric probes. */
type Seen = Record<TierRefDirection['decidedBy'] | 'passed' | 'hostNetwork' | 'ties' | 'nodes', number>;

/** Whether a rule the reference names has a nodes peer. */
function hasNodesPeer(snapshot: ClusterSnapshot, rule: TierRefDirection['rule']): boolean {
  const policy = snapshot.clusterPolicies?.find((p) => p.metadata.name === rule?.name);
  const raw = (policy?.spec.egress as Obj[] | undefined)?.[rule?.index ?? -1];
  return Array.isArray(raw?.to) && raw.to.some((p: Obj) => p.nodes !== undefined);
}

function tally(snapshot: ClusterSnapshot, reference: TierReference, reversed: TierReference, seen: Seen): void {
  for (const src of reference.pods) {
    for (const dst of reference.pods) {
      if (src === dst) continue;
      for (const { port, protocol } of PROBES.numbers) {
        for (const direction of ['egress', 'ingress'] as const) {
          const d = reference.decide(direction, { pod: src }, { pod: dst }, port, protocol);
          seen[d.decidedBy]++;
          if (d.passedBy.length > 0) seen.passed++;
          if (reference.isHostNetwork(direction === 'ingress' ? dst : src) && d.decidedBy !== 'default')
            seen.hostNetwork++;
          // A nodes peer deciding traffic to a host-network pod (a rule that fails closed is not counted).
          if (
            direction === 'egress' &&
            reference.isHostNetwork(dst) &&
            !snapshot.nodesUnreadable &&
            snapshot.nodes !== undefined &&
            hasNodesPeer(snapshot, d.rule)
          )
            seen.nodes++;
          // Same-priority policies in the other order: where the answer differs, the tie decided.
          const other = reversed.decide(direction, { pod: src }, { pod: dst }, port, protocol);
          if (other.allowed !== d.allowed) seen.ties++;
        }
      }
    }
  }
}

/** Address blocks asked about: the networks peers' CIDRs, blocks across and inside them, and blocks outside the pods'. */
const ASKED_BLOCKS = [
  ...NETWORKS,
  '10.0.0.0/23',
  '10.0.1.128/25',
  '10.0.0.0/8',
  '8.8.8.0/24',
  'fd00::40/122',
  'fd00::/56',
  '2001:db8::/32',
  '172.16.0.0/30',
  '172.16.0.1/32',
  'fd00::1:0/126',
];
const ADDRESS_PROBES = [...on('TCP', 80, 443, 1025, 9000), ...on('UDP', 53), ...on('SCTP', 7777)];

/** Whether an address is in an answer's block (cidr less except). */
const inBlock = (block: IpBlock, address: string) =>
  cidrContains(block.cidr, address) && !block.except.some((e) => cidrContains(e, address));

/**
 * Addresses outside the cluster, both ways: `reachable-from --to CIDR` and `who-can --from CIDR` for each
 * pod, asked block and port (every address of the block must be admitted), and the blocks listed without
 * a block asked (each address in them exactly when the reference admits it). Returns the first difference.
 */
function addressDifference(snapshot: ClusterSnapshot, reference: TierReference, asked: { addresses: number }) {
  const compiled = compileWorld(snapshot);
  const cidrs = [...cidrsOf(snapshot), ...ASKED_BLOCKS];
  const admits = (
    direction: 'ingress' | 'egress',
    pod: (typeof reference.pods)[number],
    address: string,
    port: number,
    protocol: Protocol,
  ) => {
    asked.addresses++;
    return direction === 'egress'
      ? reference.decide('egress', { pod }, { address }, port, protocol).allowed
      : reference.decide('ingress', { address }, { pod }, port, protocol).allowed;
  };
  for (const pod of reference.pods) {
    const ref = { namespace: pod.namespace, name: pod.name };
    for (const { port, protocol } of ADDRESS_PROBES) {
      for (const direction of ['egress', 'ingress'] as const) {
        const answerOf = (block?: IpBlock) =>
          direction === 'egress'
            ? reachableFrom(compiled, {
                sources: [ref],
                port: { port, protocol },
                ...(block ? { destinationBlock: block } : {}),
              })
            : whoCan(compiled, { targets: [ref], port: { port, protocol }, ...(block ? { sourceBlock: block } : {}) });
        const what = `${direction === 'egress' ? 'reachable-from' : 'who-can'} ${pod.namespace}/${pod.name} on ${port}/${protocol}`;
        for (const cidr of ASKED_BLOCKS) {
          const answer = answerOf({ cidr, except: [] });
          const engine = answer.external.length > 0;
          const expected = addressesToCheck(cidr, cidrs).every((a) => admits(direction, pod, a, port, protocol));
          if (engine !== expected)
            return `${what} ${direction === 'egress' ? '--to' : '--from'} ${cidr}: engine ${engine ? 'allows' : 'denies'}, reference ${expected ? 'allows' : 'denies'}`;
          if (engine) continue;
          // Denied: the tier Deny rules named are those that deny some address of the block.
          const named = (answer.deniedExternal[0]?.decision[direction].tierRules ?? [])
            .map((r) => `${r.policy.name}[${r.rule.index}]`)
            .sort();
          const denying = new Set<string>();
          for (const address of addressesToCheck(cidr, cidrs)) {
            const d =
              direction === 'egress'
                ? reference.decide('egress', { pod }, { address }, port, protocol)
                : reference.decide('ingress', { address }, { pod }, port, protocol);
            if (!d.allowed && d.rule) denying.add(`${d.rule.name}[${d.rule.index}]`);
          }
          if (named.join() !== [...denying].sort().join())
            return `${what} ${cidr}: engine names ${named.join() || 'no tier rule'}, reference ${[...denying].sort().join() || 'none'}`;
        }
        // No block asked: the blocks listed hold exactly the addresses admitted.
        const listed = answerOf().external.map((c) =>
          'ipBlock' in c.from ? c.from.ipBlock : (c.to as { ipBlock: IpBlock }).ipBlock,
        );
        const edges = listed.flatMap((b) => [b.cidr, ...b.except]);
        for (const everything of ['0.0.0.0/0', '::/0']) {
          for (const address of addressesToCheck(everything, [...cidrs, ...edges])) {
            const engine = listed.some((b) => inBlock(b, address));
            if (engine !== admits(direction, pod, address, port, protocol))
              return `${what}: ${address} ${engine ? 'listed' : 'not listed'}, reference ${engine ? 'denies' : 'admits'} it (listed: ${listed.map((b) => b.cidr + (b.except.length ? ` except ${b.except.join(',')}` : '')).join('; ')})`;
          }
        }
      }
    }
  }
  return undefined;
}

describe('engine with cluster tiers vs the tier reference on generated clusters', () => {
  test('every pod pair and probe port, four ways of asking, all ports, and the --explain decisions', () => {
    const asked: Asked = { pairs: 0, questions: 0 };
    const seen: Seen = {
      Admin: 0,
      NetworkPolicy: 0,
      Baseline: 0,
      default: 0,
      passed: 0,
      hostNetwork: 0,
      ties: 0,
      nodes: 0,
    };
    let tierPolicies = 0;
    fc.assert(
      fc.property(tierWorld, (w) => {
        const snapshot = withNodes(toSnapshot(w), w);
        // Neither reference validates: every generated object must be one the API server accepts.
        for (const p of snapshot.policies) expect(validatePolicy(p)).toEqual([]);
        for (const p of snapshot.clusterPolicies ?? []) expect(validateTierPolicy(p)).toEqual([]);
        tierPolicies += snapshot.clusterPolicies?.length ?? 0;
        const reference = new TierReference(snapshot);
        tally(snapshot, reference, new TierReference(snapshot, 'reverse'), seen);
        const difference = firstDifference(snapshot, reference, PROBES, asked, (src, dst, port, proto, decision) => {
          for (const direction of ['egress', 'ingress'] as const) {
            const expected = reference.decide(direction, { pod: src }, { pod: dst }, port, proto);
            const problem = directionDifference(decision[direction], expected);
            if (problem) return `${direction} on ${port}/${proto}: ${problem}`;
          }
          return undefined;
        });
        if (difference) {
          throw new Error(`${difference}\nreplay: FC_SEED=${SEED}\ncluster: ${JSON.stringify(snapshot)}`);
        }
      }),
      runs(Number(process.env.DIFFERENTIAL_TIER_RUNS ?? 500)),
    );
    if (process.env.DIFFERENTIAL_STATS)
      process.stdout.write(
        `tiers differential: ${asked.pairs} pod pairs, ${asked.questions} (pair, port) questions, ${tierPolicies} tier policies; directions seen: ${JSON.stringify(seen)}\n`,
      );
    expect(asked.pairs).toBeGreaterThan(1000);
    expect(tierPolicies).toBeGreaterThan(300);
    // The generator reaches every layer, Pass, host-network pods, nodes peers and same-priority policies whose order decides.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(20);
  }, 180_000);

  test('addresses outside the cluster: --to CIDR, --from CIDR and the blocks listed, every pod and port', () => {
    const asked = { addresses: 0 };
    fc.assert(
      fc.property(tierWorld, (w) => {
        const snapshot = withNodes(toSnapshot(w), w);
        const difference = addressDifference(snapshot, new TierReference(snapshot), asked);
        if (difference) {
          throw new Error(`${difference}\nreplay: FC_SEED=${SEED}\ncluster: ${JSON.stringify(snapshot)}`);
        }
      }),
      runs(Math.ceil(Number(process.env.DIFFERENTIAL_TIER_RUNS ?? 500) / 5)),
    );
    if (process.env.DIFFERENTIAL_STATS)
      process.stdout.write(`tiers differential: ${asked.addresses} (pod, address, port) questions\n`);
    expect(asked.addresses).toBeGreaterThan(10_000);
  }, 180_000);

  test('the whole matrix (one port and all ports): every allowed pod pair, as the reference says', () => {
    let pairs = 0;
    fc.assert(
      fc.property(tierWorld, (w) => {
        const snapshot = withNodes(toSnapshot(w), w);
        const engine = compileWorld(snapshot);
        const reference = new TierReference(snapshot);
        const refPods = new Map(reference.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
        const probes = [undefined, ...NUMBER_PROBES.slice(0, 6)];
        for (const probe of probes) {
          const { matrix, pairs: allowed } = matrixPodPairs(engine, probe);
          let expected = 0;
          for (const src of reference.pods) {
            for (const dst of reference.pods) {
              if (src === dst) continue;
              const key = `${src.namespace}/${src.name}>${dst.namespace}/${dst.name}`;
              const ports = allowed.get(key);
              const checks = probe ? [probe] : [...NUMBER_PROBES, { port: 1, protocol: 'UDP' as Protocol }];
              for (const check of checks) {
                const want = reference.allows(
                  refPods.get(`${src.namespace}/${src.name}`)!,
                  dst,
                  check.port,
                  check.protocol,
                );
                const got =
                  ports !== undefined && (ports === true || portSetContains(ports, check.protocol, check.port));
                if (got !== want)
                  throw new Error(
                    `matrix ${probe ? `${probe.port}/${probe.protocol}` : 'all ports'}: ${key} on ${check.port}/${check.protocol} engine ${got ? 'allows' : 'denies'}, reference ${want ? 'allows' : 'denies'}\nreplay: FC_SEED=${SEED}\ncluster: ${JSON.stringify(snapshot)}`,
                  );
              }
              if (ports !== undefined) expected++;
              pairs++;
            }
          }
          expect(matrix.pairCount).toBe(expected);
          // Without a visit, one port is counted without building each class's sources: the same count.
          expect(reachabilityMatrix(engine, probe).pairCount).toBe(expected);
        }
      }),
      runs(Math.ceil(Number(process.env.DIFFERENTIAL_TIER_RUNS ?? 500) / 5)),
    );
    expect(pairs).toBeGreaterThan(1000);
  }, 180_000);
});
