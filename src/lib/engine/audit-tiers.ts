/**
 * audit's findings about cluster-scoped tier policies: those the API server would reject, priority
 * ties within a tier, and rules that can never match.
 */
import { addressesOfBlock, compileIpBlock, isEmptyAddressSet, subtractAddresses, unionAddresses } from './ipblock.js';
import { hitOf } from './tiers.js';
import {
  compileTierPolicies,
  snapshotNodes,
  type CompiledTierPolicy,
  type TierPeer,
  type TierPort,
  type TierRule,
} from './tiers-compile.js';
import type { PodClass, World } from './world.js';
import { finding, type Finding } from './audit-findings.js';
import { implies, isDisjoint } from './audit-shadowing.js';

/** Cluster-scoped policies: those the API server would reject, and ties of priority within a tier whose subjects may overlap. */
export function tierFindings(world: World): Finding[] {
  const set = compileTierPolicies(world.snapshot.clusterPolicies ?? [], snapshotNodes(world.snapshot));
  const out: Finding[] = set.warnings
    .filter((w) => w.code === 'invalid-policy')
    .map((w) =>
      finding(
        { id: 'invalid-policy', problems: w.problems ?? [] },
        { kind: w.policy.kind, name: w.policy.name },
        undefined,
      ),
    );
  // BaselineAdminNetworkPolicy is a singleton without a priority: it ties with nothing.
  const ranked = set.policies.filter((p) => p.ref.kind !== 'BaselineAdminNetworkPolicy');
  ranked.forEach((a, i) => {
    for (const b of ranked.slice(i + 1)) {
      if (a.tier !== b.tier || a.priority !== b.priority || !mayOverlap(a, b)) continue;
      const overlapsToday = world.classes.some((cls) => isSubjectOf(a, cls) && isSubjectOf(b, cls));
      for (const [self, other] of [
        [a, b],
        [b, a],
      ]) {
        out.push(
          finding(
            { id: 'tier-priority-tie', tier: self.tier, priority: self.priority, other: other.ref, overlapsToday },
            self.ref,
            undefined,
          ),
        );
      }
    }
  });
  for (const policy of set.policies) out.push(...shadowedTierRules(policy, set.policies));
  return out;
}

/**
 * Rules of a tier policy that can never match: an earlier rule of the same policy and direction matches
 * every peer and port they do, or a rule of a policy of the same tier that decides before it (a lower
 * priority, never the same: that order is not defined) and selects every pod this one selects does;
 * the first rule that matches decides, whatever its action (a Pass skips the rest of the tier). Proven
 * from the rules alone, one rule covering another; a rule that fails closed is left to its warning, and
 * one that fails closed as Deny or Pass (it matches everything) shadows every later rule.
 */
function shadowedTierRules(policy: CompiledTierPolicy, policies: readonly CompiledTierPolicy[]): Finding[] {
  const out: Finding[] = [];
  const before = policies.filter(
    (p) => p.tier === policy.tier && p.priority < policy.priority && subjectCovers(p, policy),
  );
  for (const direction of ['ingress', 'egress'] as const) {
    const rules = policy[direction];
    rules.forEach((r, i) => {
      if (r.failClosed) return;
      const own = rules.slice(0, i).find((s) => tierRuleCovers(s, r));
      let by = own && hitOf(policy, direction, own);
      for (const earlier of by ? [] : before) {
        const s = earlier[direction].find((rule) => tierRuleCovers(rule, r));
        if (s) {
          by = hitOf(earlier, direction, s);
          break;
        }
      }
      if (!by) return;
      out.push(
        finding(
          { id: 'rule-shadowed', tier: policy.tier, rule: hitOf(policy, direction, r), by },
          policy.ref,
          undefined,
        ),
      );
    });
  }
  return out;
}

/** Whether policy `p` selects every pod policy `q` selects, provably (spec.subject: namespaces, or namespaces AND pods). */
function subjectCovers(p: CompiledTierPolicy, q: CompiledTierPolicy): boolean {
  if (!implies(q.subject.namespaces, p.subject.namespaces)) return false;
  if (!p.subject.pods || p.subject.pods.isEverything) return true;
  return q.subject.pods !== undefined && implies(q.subject.pods, p.subject.pods);
}

/** Whether tier rule `s` matches every connection rule `r` matches, provably. */
function tierRuleCovers(s: TierRule, r: TierRule): boolean {
  // Failing closed, an Accept rule matches nothing; a Deny or Pass rule, everything.
  if (s.failClosed) return s.action !== 'Accept';
  if (s.ports !== 'all') {
    if (r.ports === 'all') return false;
    const sPorts = s.ports;
    if (!r.ports.every((p) => sPorts.some((q) => tierPortCovers(q, p)))) return false;
  }
  if (s.peers === 'all') return true;
  if (r.peers === 'all') return false;
  const sPeers = s.peers;
  return r.peers.every((p) => sPeers.some((q) => tierPeerCovers(q, p)));
}

/** A port range inside another of its protocol, or the same port name (resolved on the same destination). */
function tierPortCovers(s: TierPort, r: TierPort): boolean {
  if ('namedPort' in r) return 'namedPort' in s && s.namedPort === r.namedPort;
  return !('namedPort' in s) && s.protocol === r.protocol && s.from <= r.from && r.to <= s.to;
}

/** Whether tier peer `s` matches every pod or address peer `r` matches, provably. */
function tierPeerCovers(s: TierPeer, r: TierPeer): boolean {
  switch (s.kind) {
    case 'namespaces':
      // Every pod of the namespaces it selects.
      return (r.kind === 'namespaces' || r.kind === 'pods') && implies(r.namespaces, s.namespaces);
    case 'pods':
      if (r.kind === 'namespaces') return s.pods.isEverything && implies(r.namespaces, s.namespaces);
      return r.kind === 'pods' && implies(r.namespaces, s.namespaces) && implies(r.pods, s.pods);
    case 'networks': {
      if (r.kind !== 'networks') return false;
      const of = (cidrs: { text: string }[]) =>
        unionAddresses(...cidrs.map((c) => addressesOfBlock(compileIpBlock({ cidr: c.text, except: [] }))));
      return isEmptyAddressSet(subtractAddresses(of(r.cidrs), of(s.cidrs)));
    }
    case 'domainNames':
      return r.kind === 'domainNames' && r.names.every((name) => s.names.includes(name));
    default:
      // nodes peers: their node selectors are not kept, so nothing is proven.
      return false;
  }
}

/** Whether two tier policies' subjects may hold a pod in common (not provably disjoint). */
function mayOverlap(a: CompiledTierPolicy, b: CompiledTierPolicy): boolean {
  if (isDisjoint(a.subject.namespaces, b.subject.namespaces)) return false;
  return !(a.subject.pods && b.subject.pods && isDisjoint(a.subject.pods, b.subject.pods));
}

/** Whether the pods of a class are a tier policy's subject (spec.subject: namespaces, or namespaces AND pods). */
function isSubjectOf(policy: CompiledTierPolicy, cls: PodClass): boolean {
  const { namespaces, pods } = policy.subject;
  return namespaces.matches(cls.namespaceLabels) && (!pods || pods.matches(cls.labels));
}
