/**
 * What a new policy changes before it is written: the pods it selects, the pod-to-pod connections it
 * opens and cuts (the engine on the snapshot before and after), and the two classic traps, each with
 * the `allow` that fixes it.
 */
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';

import type { CompiledPolicy, PodInfo, World } from './world.js';
import { compileWorld } from './compile.js';
import type { ChangeGroup, PairPorts, ReachabilityDiff } from './diff.js';
import { diffReachability, groupChanges, groupPairs, podsSelectedBy } from './diff.js';
import { analysePair } from './evaluate.js';
import type { ClusterSnapshot, Direction, PodRef, TierRuleRef } from './model.js';
import { effectivePolicyTypes, isObjectAt, keyOf, NAMESPACE_NAME_LABEL, refOf } from './model.js';
import { withPolicies } from './diff.js';
import { peerAdmitsClass } from './peers.js';
import { emptyPortSet, intersectPortSets, isEmptyPortSet, subtractPortSets, unionPortSets } from './ports.js';
import type { AllowSpec } from './synthesize.js';
import type { PolicyTrap } from './traps.js';
import { policyTraps } from './traps.js';

type PodPairPorts = PairPorts;

/** Something the new policy does that the user may not mean, with the `allow` that fixes it. */
export type AllowFinding =
  | {
      /** The policy is the first to select some subject pods in its direction: what reached them (or they reached) before is now denied. */
      code: 'first-policy';
      direction: Direction;
      /** Subject pods no policy selected in this direction before. */
      newlyIsolated: PodRef[];
      /** Pod pairs allowed today that become denied because of that. */
      cut: PodPairPorts[];
      /** Those pairs and the pods' connections with addresses outside the cluster that become denied. */
      connections: number;
      /** The same, grouped by workload and ports. */
      groups: ChangeGroup[];
      /** `allow` calls that keep those connections open. */
      fixes: AllowSpec[];
    }
  | {
      /** Connections the policy admits that stay denied: the other side is isolated in the other direction. */
      code: 'blocked-by-other-side';
      /** The direction that still denies: `egress` of the sources for an ingress policy, and the reverse. */
      direction: Direction;
      blocked: PodPairPorts[];
      /** The same, grouped by workload and ports. */
      groups: ChangeGroup[];
      /** `allow` calls on the other side that open them. */
      fixes: AllowSpec[];
    };

/** A cluster tier rule that decides, instead of the new policy, some connections its rules admit. */
export interface TierOverride {
  rule: TierRuleRef;
  pairs: PodPairPorts[];
  /** The same, grouped by workload and ports. */
  groups: ChangeGroup[];
}

/** What the cluster tiers do to a new policy (only in worlds that hold tier policies). */
export type TierFinding =
  | {
      /** Admin-tier rules decide first: what they accept or deny, the new policy's rules never decide. */
      code: 'moot-by-admin';
      direction: Direction;
      overrides: TierOverride[];
    }
  | {
      /** The new policy isolates pods the Baseline tier denied: its rules now decide, and admit what the Baseline Deny refused. */
      code: 'overrides-baseline';
      direction: Direction;
      overrides: TierOverride[];
    };

/** What a policy changes: the pods it selects, the connections it opens and cuts, and what to watch out for. */
export interface PolicyPreview {
  /** Pods the policy selects. */
  subjects: PodRef[];
  /** Whether a policy of the same name is replaced. */
  replaces: boolean;
  diff: ReachabilityDiff;
  /** The connections it opens and cuts, grouped by the workloads or addresses at either end and their ports. */
  groups: { opened: ChangeGroup[]; cut: ChangeGroup[] };
  findings: AllowFinding[];
  /** What the cluster tiers do to it (Admin rules making it moot, a Baseline Deny it overrides). */
  tierFindings: TierFinding[];
  /** What the policy names that matches nothing today (selectors, port names). */
  traps: PolicyTrap[];
  /**
   * When no connection changes, why: it names something that matches nothing, what it admits stays
   * blocked by the other side's policies, or everything it admits was allowed already.
   */
  unchanged?: 'matches-nothing' | 'decided-by-admin' | 'blocked-by-other-side' | 'already-allowed';
}

/**
 * Compares reachability with and without `policy` (replacing a policy of the same name), and finds
 * the two classic traps: the first policy on a pod denying everything else in that direction, and
 * admitted connections that the other side's isolation still denies.
 */
export function previewPolicy(snapshot: ClusterSnapshot, policy: V1NetworkPolicy): PolicyPreview {
  const ref = refOf(policy);
  const before = compileWorld(snapshot);
  const after = compileWorld(withPolicies(snapshot, { add: [policy] }));
  const compiled = after.policies.find((p) => p.ref.namespace === ref.namespace && p.ref.name === ref.name);
  const subjects = after.pods.filter(
    (p) => p.ref.namespace === ref.namespace && (compiled?.podSelector.matches(p.pod.metadata?.labels ?? {}) ?? false),
  );
  // A policy of the same name replaced (--overwrite) may have selected other pods: they change too.
  const affected = new Map([...subjects.map((p) => p.ref), ...podsSelectedBy(before, [ref])].map((r) => [keyOf(r), r]));
  const diff = diffReachability(before, after, [...affected.values()]);
  const findings: AllowFinding[] = [];
  const types = effectivePolicyTypes(policy);
  for (const direction of ['ingress', 'egress'] as const) {
    if (!types[direction] || !compiled) continue;
    const first = firstPolicyFinding(before, subjects, diff, direction, ref.namespace, policy.spec?.podSelector ?? {});
    if (first) findings.push(first);
    const blocked = blockedFinding(after, compiled, subjects, direction);
    if (blocked) findings.push(blocked);
  }
  const tierFindings: TierFinding[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    if (!types[direction] || !compiled || !after.tiers) continue;
    tierFindings.push(...tierOverrides(before, after, compiled, subjects, direction));
  }
  const traps = policyTraps(after, policy, subjects);
  const changes = diff.cut.length + diff.opened.length + diff.cutAddresses.length + diff.openedAddresses.length;
  let unchanged: PolicyPreview['unchanged'];
  if (changes === 0) {
    if (traps.length > 0) unchanged = 'matches-nothing';
    else if (tierFindings.some((f) => f.code === 'moot-by-admin')) unchanged = 'decided-by-admin';
    else if (findings.some((f) => f.code === 'blocked-by-other-side')) unchanged = 'blocked-by-other-side';
    else unchanged = 'already-allowed';
  }
  return {
    subjects: subjects.map((p) => p.ref),
    replaces: snapshot.policies.some((p) => isObjectAt(p, ref)),
    diff,
    groups: { opened: groupChanges(after, diff, 'opened'), cut: groupChanges(after, diff, 'cut') },
    findings,
    tierFindings,
    traps,
    ...(unchanged ? { unchanged } : {}),
  };
}

function isIsolated(world: World, pod: PodRef, direction: Direction): boolean {
  const info = world.podsByKey.get(keyOf(pod));
  if (!info) return false;
  const cls = world.classes[info.classId];
  return (direction === 'ingress' ? cls.ingressPolicies : cls.egressPolicies).length > 0;
}

/** Beyond this many namespaces, a fix admits every namespace rather than naming each. */
const NAMESPACES_NAMED = 4;

/**
 * Selects the pods of some namespaces from the policy's namespace: none (same), one by name, or
 * several; more than a few: every namespace (`@*`), which keeps them all and reads in one word.
 */
function peersForNamespaces(namespaces: string[], policyNamespace: string): V1NetworkPolicyPeer[] {
  const distinct = [...new Set(namespaces)];
  if (distinct.length > NAMESPACES_NAMED) return [{ namespaceSelector: {} }];
  // The policy's own namespace first (as `*`), then the others by name.
  const order = (ns: string) => `${ns === policyNamespace ? 0 : 1}${ns}`;
  return distinct
    .sort((a, b) => (order(a) < order(b) ? -1 : 1))
    .map((ns) =>
      ns === policyNamespace
        ? { podSelector: {} }
        : { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } } },
    );
}

function firstPolicyFinding(
  before: World,
  subjects: PodInfo[],
  diff: ReachabilityDiff,
  direction: Direction,
  namespace: string,
  subject: V1LabelSelector,
): AllowFinding | undefined {
  const newlyIsolated = subjects.filter((s) => !isIsolated(before, s.ref, direction)).map((s) => s.ref);
  if (newlyIsolated.length === 0) return undefined;
  const keys = new Set(newlyIsolated.map(keyOf));
  // Ingress: connections into the newly isolated pods; egress: connections out of them.
  const mine = {
    cut: diff.cut.filter((c) => keys.has(keyOf(direction === 'ingress' ? c.to : c.from))),
    opened: [],
    cutAddresses: diff.cutAddresses.filter((c) => keys.has(keyOf(c.pod)) && c.direction === direction),
    openedAddresses: [],
  };
  if (mine.cut.length === 0 && mine.cutAddresses.length === 0) return undefined;
  const cut = mine.cut.map((c) => ({ from: c.from, to: c.to, ports: c.lost }));
  const others = mine.cut.map((c) => (direction === 'ingress' ? c.from : c.to).namespace);
  // Addresses outside the cluster are kept by ipBlock peers of their own.
  const blocks = new Map(mine.cutAddresses.flatMap((c) => c.blocks).map((b) => [JSON.stringify(b), b]));
  const peers = [
    ...peersForNamespaces(others, namespace),
    ...[...blocks.values()].map((b) => ({ ipBlock: b.except.length ? b : { cidr: b.cidr } })),
  ];
  const fix: AllowSpec = { namespace, direction, subject, peers, ports: [] };
  const connections = mine.cut.length + mine.cutAddresses.length;
  return {
    code: 'first-policy',
    direction,
    newlyIsolated,
    cut,
    connections,
    groups: groupChanges(before, mine, 'cut'),
    fixes: [fix],
  };
}

/** Each (subject, other pod) pair of a direction, oriented source to destination, with its pair analysis. */
function* subjectPairs(world: World, subjects: readonly PodInfo[], direction: Direction) {
  for (const subject of subjects) {
    for (const other of world.pods) {
      if (other === subject) continue;
      const [source, destination] = direction === 'ingress' ? [other, subject] : [subject, other];
      const pair = analysePair(world, world.classes[source.classId], world.classes[destination.classId]);
      const [mine, theirs] = direction === 'ingress' ? [pair.ingress, pair.egress] : [pair.egress, pair.ingress];
      yield { source, destination, pair, mine, theirs };
    }
  }
}

/** Whether a rule belongs to the policy. */
function isRuleOf(policy: CompiledPolicy) {
  return (r: { ref: { policy: { namespace: string; name: string } } }) =>
    r.ref.policy.namespace === policy.ref.namespace && r.ref.policy.name === policy.ref.name;
}

/** Pod pairs by the tier rule that decides them (the same rule is met through many pairs of pods). */
class PairsByTierRule {
  private readonly byKey = new Map<string, { rule: TierRuleRef; pairs: PodPairPorts[] }>();

  add(rule: TierRuleRef, pair: PodPairPorts): void {
    const key = `${rule.policy.kind}/${rule.policy.name}/${rule.direction}/${rule.rule.index}`;
    const entry = this.byKey.get(key);
    if (entry) entry.pairs.push(pair);
    else this.byKey.set(key, { rule, pairs: [pair] });
  }

  get size(): number {
    return this.byKey.size;
  }

  overrides(world: World): TierOverride[] {
    return [...this.byKey.values()].map(({ rule, pairs }) => ({ rule, pairs, groups: groupPairs(world, pairs) }));
  }
}

function blockedFinding(
  after: World,
  policy: CompiledPolicy,
  subjects: PodInfo[],
  direction: Direction,
): AllowFinding | undefined {
  const blocked: PodPairPorts[] = [];
  const ours = isRuleOf(policy);
  const rules = policy[direction] ?? [];
  const portsListed = rules.some((r) => r.ports !== 'all');
  for (const { source, destination, mine, theirs } of subjectPairs(after, subjects, direction)) {
    const intended = unionPortSets(...mine.rules.filter(ours).map((r) => r.ports));
    if (isEmptyPortSet(intended)) continue;
    const denied = subtractPortSets(intended, theirs.ports);
    // With every port intended, only a connection denied on every port is worth a warning.
    const isWorthSaying = portsListed
      ? !isEmptyPortSet(denied)
      : isEmptyPortSet(intersectPortSets(intended, theirs.ports));
    if (isWorthSaying) blocked.push({ from: source.ref, to: destination.ref, ports: denied });
  }
  if (blocked.length === 0) return undefined;
  const otherDirection: Direction = direction === 'ingress' ? 'egress' : 'ingress';
  return {
    code: 'blocked-by-other-side',
    direction: otherDirection,
    blocked,
    groups: groupPairs(after, blocked),
    fixes: fixesFor(after, policy, blocked, direction),
  };
}

/**
 * The connections the new policy's rules admit that a tier rule decides instead: an Admin Accept or
 * Deny (the policy is moot there), or, on pods no NetworkPolicy isolated before, a Baseline Deny the
 * policy now overrides (once a NetworkPolicy selects a pod, the Baseline tier is never asked).
 */
function tierOverrides(
  before: World,
  after: World,
  policy: CompiledPolicy,
  subjects: PodInfo[],
  direction: Direction,
): TierFinding[] {
  const ours = isRuleOf(policy);
  const moot = new PairsByTierRule();
  const overridden = new PairsByTierRule();
  for (const { source, destination, pair, mine } of subjectPairs(after, subjects, direction)) {
    const intended = unionPortSets(emptyPortSet(), ...mine.rules.filter(ours).map((r) => r.ports));
    if (isEmptyPortSet(intended)) continue;
    const ends = { from: source.ref, to: destination.ref };
    for (const segment of mine.tiers?.admin ?? []) {
      if (segment.hit.action === 'Pass') continue;
      const ports = intersectPortSets(segment.ports, intended);
      if (!isEmptyPortSet(ports)) moot.add(segment.hit, { ...ends, ports });
    }
    // Before: was this direction of the pod left to the Baseline tier, and did it deny what we admit?
    const was = before.podsByKey.get(keyOf(source.ref));
    const wasTo = before.podsByKey.get(keyOf(destination.ref));
    if (!was || !wasTo) continue;
    const old = analysePair(before, before.classes[was.classId], before.classes[wasTo.classId]);
    const oldSide = direction === 'ingress' ? old.ingress : old.egress;
    if (oldSide.isolated) continue;
    for (const segment of oldSide.tiers?.baseline ?? []) {
      if (segment.hit.action !== 'Deny') continue;
      // What it now admits and the connection really gets (the other side allows it too).
      const allowed = intersectPortSets(pair.ingress.ports, pair.egress.ports);
      const ports = intersectPortSets(intersectPortSets(segment.ports, intended), allowed);
      if (!isEmptyPortSet(ports)) overridden.add(segment.hit, { ...ends, ports });
    }
  }
  const out: TierFinding[] = [];
  if (moot.size > 0) out.push({ code: 'moot-by-admin', direction, overrides: moot.overrides(after) });
  if (overridden.size > 0) out.push({ code: 'overrides-baseline', direction, overrides: overridden.overrides(after) });
  return out;
}

/** The `allow` on the other side that opens blocked pairs: per pod peer of ours that admits them, per namespace of the blocked pods. */
function fixesFor(after: World, policy: CompiledPolicy, blocked: PodPairPorts[], direction: Direction): AllowSpec[] {
  const { namespace } = policy.ref;
  const subject = policy.source.spec?.podSelector ?? {};
  const sourceRules = (direction === 'ingress' ? policy.source.spec?.ingress : policy.source.spec?.egress) ?? [];
  const fixes = new Map<string, AllowSpec>();
  for (const rule of policy[direction] ?? []) {
    const ports = sourceRules[rule.ref.index]?.ports ?? [];
    for (const pair of blocked) {
      const other = after.podsByKey.get(keyOf(direction === 'ingress' ? pair.from : pair.to))!;
      const cls = after.classes[other.classId];
      // The fix is written on the other pods, as the pod peer of ours that admits them selects them (all of
      // them, when the rule admits every peer); address blocks name no pods to write it on.
      const peer: V1NetworkPolicyPeer | undefined =
        rule.peers === 'all'
          ? {}
          : rule.peers.find((p) => p.kind === 'pods' && peerAdmitsClass(p, namespace, cls))?.source;
      if (!peer) continue;
      const back: V1NetworkPolicyPeer =
        other.ref.namespace === namespace
          ? { podSelector: subject }
          : { podSelector: subject, namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } };
      const fix: AllowSpec = {
        namespace: other.ref.namespace,
        direction: direction === 'ingress' ? 'egress' : 'ingress',
        subject: peer.podSelector ?? {},
        peers: [back],
        ports,
      };
      fixes.set(JSON.stringify(fix), fix);
    }
  }
  return [...fixes.values()];
}

/**
 * The connections of some pods (both ends' pods compared) that an Admin-tier Accept decides in a
 * direction: what NetworkPolicy isolation of those pods cannot cut (isolate's preview names them), per rule.
 */
export function acceptedByAdmin(
  world: World,
  pods: readonly PodRef[],
  directions: readonly Direction[],
): TierOverride[] {
  if (!world.tiers) return [];
  const subjects = pods.map((ref) => world.podsByKey.get(keyOf(ref))).filter((p): p is PodInfo => p !== undefined);
  const kept = new PairsByTierRule();
  for (const direction of directions) {
    for (const { source, destination, pair, mine } of subjectPairs(world, subjects, direction)) {
      const both = intersectPortSets(pair.ingress.ports, pair.egress.ports);
      for (const segment of mine.tiers?.admin ?? []) {
        if (segment.hit.action !== 'Accept') continue;
        const ports = intersectPortSets(segment.ports, both);
        if (!isEmptyPortSet(ports)) kept.add(segment.hit, { from: source.ref, to: destination.ref, ports });
      }
    }
  }
  return kept.overrides(world);
}
