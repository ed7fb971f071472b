/**
 * `audit`: what a world exposes, what in it does nothing, and what is ambiguous, as findings (plain
 * data: an id, a severity, the object, and the facts a view words). Each finding is decided by the
 * engine rule that already answers it elsewhere: isolation and DNS (isolation.ts), outside addresses
 * (addresses.ts), selectors and ports matching nothing (traps.ts), validation (validate.ts) and the
 * cluster tiers (tiers-compile.ts, tier-sides.ts); only rule shadowing and tier overlap are decided in
 * audit-shadowing.ts and audit-tiers.ts. The findings as data are in audit-findings.ts.
 */
import { everyPodSide } from './audit-every-pod.js';
import { exposures } from './audit-exposures.js';
import { compareFindings, finding, sortTierRules, tierRuleKey, type Finding, type Severity } from './audit-findings.js';
import { shadowedRules } from './audit-shadowing.js';
import { tierFindings } from './audit-tiers.js';
import { findDnsPeer, dnsEgress, legacyIsolation, namespaceIsolation } from './isolation.js';
import { refOf, type Direction, type PortSet, type TierRuleRef } from './model.js';
import { fullPortSet, unionPortSets } from './ports.js';
import { policyTraps } from './traps.js';
import { validatePolicy } from './validate.js';
import type { CompiledPolicy, PodInfo, World } from './world.js';

export {
  compareFindings,
  FINDING_IDS,
  findingKey,
  SEVERITIES,
  type Finding,
  type FindingDetails,
  type FindingId,
  type Severity,
} from './audit-findings.js';

/** What to audit. */
interface AuditScope {
  /** Namespaces whose objects are audited; undefined: every namespace and the cluster-scoped policies. */
  namespaces?: readonly string[];
}

/** The findings of a world, in a stable order (compareFindings). Expectations are checked by the caller. */
export function auditWorld(world: World, scope: AuditScope = {}): Finding[] {
  const inScope = scope.namespaces ? new Set(scope.namespaces) : undefined;
  const isIn = (namespace: string): boolean => !inScope || inScope.has(namespace);
  const findings = [
    ...invalidPolicies(world, isIn),
    ...namespaceFindings(world, isIn),
    ...exposures(world, isIn),
    ...policyTrapFindings(world, isIn),
    ...shadowedRules(world, isIn),
    // Cluster-scoped policies belong to no namespace: audited with the whole cluster only.
    ...(inScope ? [] : tierFindings(world)),
  ];
  return findings.sort(compareFindings);
}

/** Policies the API server would reject (validate.ts), which every answer leaves out. */
function invalidPolicies(world: World, isIn: (ns: string) => boolean): Finding[] {
  const valid = new Set(world.policies.map((p) => p.source));
  return world.snapshot.policies
    .filter((policy) => !valid.has(policy) && isIn(refOf(policy).namespace))
    .map((policy) => {
      const ref = refOf(policy);
      return finding(
        { id: 'invalid-policy', problems: validatePolicy(policy) },
        { kind: 'NetworkPolicy', name: ref.name },
        ref.namespace,
      );
    });
}

/** Per namespace: isolation of its pods per direction, seed-era annotations, and egress isolation without DNS. */
function namespaceFindings(world: World, isIn: (ns: string) => boolean): Finding[] {
  const out: Finding[] = [];
  const names = new Set([
    ...world.snapshot.namespaces.map((n) => n.metadata?.name ?? ''),
    ...world.index.classesByNamespace.keys(),
  ]);
  const objects = new Map(world.snapshot.namespaces.map((n) => [n.metadata?.name ?? '', n]));
  let dns: ReturnType<typeof findDnsPeer> | undefined;
  for (const namespace of [...names].filter((n) => n !== '' && isIn(n)).sort()) {
    const object = { kind: 'Namespace', name: namespace };
    const hasPods = world.index.classesByNamespace.has(namespace);
    const legacy = objects.has(namespace) ? legacyIsolation(objects.get(namespace)!) : undefined;
    if (!hasPods && !legacy) continue;
    const status = namespaceIsolation(world, namespace);
    if (legacy) {
      const { annotation, value, isolatesIngress } = legacy;
      const isolatedBy = status.ingress.denyAll;
      out.push(finding({ id: 'legacy-annotation', annotation, value, isolatesIngress, isolatedBy }, object, namespace));
    }
    if (!hasPods) continue;
    for (const direction of ['ingress', 'egress'] as const) {
      const { state, pods, selectedPods } = status[direction];
      if (state !== 'open' && state !== 'partial') continue;
      // Ingress is what exposes pods; egress isolation is defence in depth, said at a lower severity.
      const severity: Severity = direction === 'ingress' ? 'warning' : 'info';
      const tierRules = tierClosure(world, namespace, direction);
      out.push(
        finding(
          { id: 'namespace-not-isolated', direction, state, pods, selectedPods, ...(tierRules ? { tierRules } : {}) },
          object,
          namespace,
          severity,
        ),
      );
    }
    if (status.egress.selectedPods === 0) continue;
    dns ??= findDnsPeer(world);
    // No DNS pod in the world (manifests without kube-system): nothing to check, no finding.
    if (dns.pods.length === 0 || dnsEgress(world, namespace, dns) !== undefined) continue;
    out.push(
      finding(
        {
          id: 'egress-without-dns',
          dnsNamespace: dns.namespace,
          dnsPods: dns.pods.length,
          egressPolicies: status.egress.policies,
        },
        object,
        namespace,
      ),
    );
  }
  return out;
}

/**
 * How the tiers close a namespace's pods that no NetworkPolicy selects for a direction to any pod of any
 * namespace (audit-every-pod.ts): the denying rules and the ports left open, when tier rules deny some
 * port for every such pod; undefined when some of them are open to every pod on every port.
 */
function tierClosure(
  world: World,
  namespace: string,
  direction: Direction,
): { denying: TierRuleRef[]; openPorts: PortSet } | undefined {
  if (!world.tiers) return undefined;
  const denying = new Map<string, TierRuleRef>();
  const open: PortSet[] = [];
  for (const cls of world.index.classesByNamespace.get(namespace) ?? []) {
    if ((direction === 'ingress' ? cls.ingressPolicies : cls.egressPolicies).length > 0) continue;
    const side = everyPodSide(world, cls, direction, false, fullPortSet());
    if (!side || side.denying.length === 0) return undefined;
    open.push(side.ports);
    for (const rule of side.denying) denying.set(tierRuleKey(rule), rule);
  }
  if (open.length === 0) return undefined;
  return { denying: sortTierRules(denying), openPorts: unionPortSets(...open) };
}

/**
 * Policies that select no pod, rule peers that admit no pod or namespace, and port names that no
 * destination pod defines: traps.ts decides each (with its near misses).
 */
function policyTrapFindings(world: World, isIn: (ns: string) => boolean): Finding[] {
  const subjects = new Map<CompiledPolicy, PodInfo[]>();
  // The classes of a label class are selected by the same policies.
  for (const classes of world.labelClasses) {
    const members = classes.length === 1 ? classes[0].members : classes.flatMap((c) => c.members);
    for (const policy of new Set([...classes[0].ingressPolicies, ...classes[0].egressPolicies])) {
      const list = subjects.get(policy);
      if (list) list.push(...members);
      else subjects.set(policy, [...members]);
    }
  }
  const out: Finding[] = [];
  for (const policy of world.policies) {
    const { namespace, name } = policy.ref;
    if (!isIn(namespace)) continue;
    const object = { kind: 'NetworkPolicy', name };
    for (const trap of policyTraps(world, policy.source, subjects.get(policy) ?? [])) {
      if (trap.code === 'subject-matches-nothing') {
        out.push(
          finding(
            { id: 'policy-selects-no-pods', selector: trap.selector, nearMisses: trap.nearMisses },
            object,
            namespace,
          ),
        );
        continue;
      }
      // Rules of a direction the policy does not apply to (policyTypes) decide nothing.
      if (policy[trap.direction] === undefined) continue;
      const rule = { policy: policy.ref, direction: trap.direction, index: trap.rule };
      if (trap.code === 'peer-matches-nothing') {
        const { what, nearMisses, peerIndex, peer } = trap;
        out.push(finding({ id: 'peer-selects-nothing', rule, peerIndex, peer, what, nearMisses }, object, namespace));
      } else {
        const { name: port, protocol, nearMisses } = trap;
        out.push(finding({ id: 'named-port-unresolved', rule, port, protocol, nearMisses }, object, namespace));
      }
    }
  }
  return out;
}
