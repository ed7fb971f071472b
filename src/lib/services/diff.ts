/**
 * `diff` between the command and the engine: the after-world (the before-world with the policies of
 * the -f files applied and the --delete ones removed, as `kubectl apply -f` and `kubectl delete` would
 * leave it), which policies that creates, configures or deletes, and the reachability it opens and
 * cuts, through the one diff engine isolate's and allow's previews use.
 */
import { isDeepStrictEqual } from 'node:util';

import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';

import type { SnapshotScope } from '../cluster/types.js';
import { compileWorld } from '../engine/compile.js';
import type { ChangeGroup, ReachabilityDiff } from '../engine/diff.js';
import { diffReachability, groupChanges, podsSelectedBy, withPolicies } from '../engine/diff.js';
import type { ClusterSnapshot, PolicyRef, Warning } from '../engine/model.js';
import { effectivePolicyTypes, keyOf, refOf } from '../engine/model.js';
import { workloadOf } from '../engine/targets.js';
import { NetpolError, UsageError } from '../errors.js';

/** What diff says happens to one policy. */
export type PolicyAction = 'created' | 'configured' | 'unchanged' | 'deleted';

/** One policy of the change, by namespace and name, and what happens to it. */
export interface PolicyChangeSummary extends PolicyRef {
  action: PolicyAction;
}

/** What a change does: to the policies, and to reachability (pod to pod, and with addresses outside the cluster). */
export interface DiffResult {
  objects: PolicyChangeSummary[];
  diff: ReachabilityDiff;
  /** The changes grouped by workload or addresses at either end and ports, largest group first. */
  opened: ChangeGroup[];
  cut: ChangeGroup[];
  /** The namespaces of the pods whose connections change. */
  namespaces: string[];
  /** Whether any connection is opened or cut (diff's exit status 1). */
  hasChanges: boolean;
  /** The compiler's warnings about either world (invalid policies left out), once each. */
  warnings: Warning[];
}

/** What the live loader must list for the before-world: every namespace; no Service (a change of policies needs none). */
export const DIFF_SCOPE: SnapshotScope = { listServices: false };

/**
 * The after-world of `before` with the policies of `change` applied (replacing the ones of the same
 * namespace and name) and `deletes` removed, and what that does to reachability. `change` must hold
 * NetworkPolicies only (its namespaces may repeat the before-world's); pods, workloads and namespace
 * labels that differ are refused.
 */
export function planDiff(before: ClusterSnapshot, change: ClusterSnapshot, deletes: PolicyRef[]): DiffResult {
  requirePoliciesOnly(before, change);
  const existing = new Map(before.policies.map((p) => [keyOf(refOf(p)), p]));
  const objects: PolicyChangeSummary[] = change.policies.map((policy) => {
    const ref = refOf(policy);
    const old = existing.get(keyOf(ref));
    return { ...ref, action: !old ? 'created' : isSameSpec(old, policy) ? 'unchanged' : 'configured' };
  });
  const applied = new Set(objects.map(keyOf));
  for (const ref of deletes) {
    if (applied.has(keyOf(ref))) {
      throw new UsageError(
        `networkpolicy ${keyOf(ref)} is both in the -f files and in --delete`,
        'drop it from one of them',
      );
    }
    if (!existing.has(keyOf(ref))) {
      throw new NetpolError(`networkpolicy "${ref.name}" not found in namespace "${ref.namespace}"`, 1);
    }
    if (!objects.some((o) => keyOf(o) === keyOf(ref))) objects.push({ ...ref, action: 'deleted' });
  }
  objects.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  const beforeWorld = compileWorld(before);
  const afterWorld = compileWorld(withPolicies(before, { add: change.policies, remove: deletes }));
  // A pod's connections change only if a policy that selects it changes, in either world.
  const changed = objects.filter((o) => o.action !== 'unchanged');
  const affected = new Map(
    [...podsSelectedBy(beforeWorld, changed), ...podsSelectedBy(afterWorld, changed)].map((ref) => [keyOf(ref), ref]),
  );
  const diff = diffReachability(beforeWorld, afterWorld, [...affected.values()]);
  const namespaces = new Set([
    ...[...diff.cut, ...diff.opened].flatMap((c) => [c.from.namespace, c.to.namespace]),
    ...[...diff.cutAddresses, ...diff.openedAddresses].map((c) => c.pod.namespace),
  ]);
  const warnings = new Map<string, Warning>();
  for (const warning of [...beforeWorld.warnings, ...afterWorld.warnings]) warnings.set(warning.message, warning);
  return {
    objects,
    diff,
    opened: groupChanges(afterWorld, diff, 'opened'),
    cut: groupChanges(afterWorld, diff, 'cut'),
    namespaces: [...namespaces].sort(),
    hasChanges: [diff.cut, diff.opened, diff.cutAddresses, diff.openedAddresses].some((list) => list.length > 0),
    warnings: [...warnings.values()],
  };
}

/**
 * Whether two policies ask for the same, as the API server stores them: its defaults
 * (SetDefaults_NetworkPolicy: policyTypes as effectivePolicyTypes infers them, a port's protocol
 * TCP) filled in on both sides, undefined fields dropped, the metadata it adds ignored.
 */
function isSameSpec(a: V1NetworkPolicy, b: V1NetworkPolicy): boolean {
  return isDeepStrictEqual(defaultedSpec(a), defaultedSpec(b));
}

function defaultedSpec(policy: V1NetworkPolicy): unknown {
  const spec = JSON.parse(JSON.stringify(policy.spec ?? {})) as V1NetworkPolicySpec;
  const types = effectivePolicyTypes(policy);
  spec.policyTypes = [...(types.ingress ? ['Ingress'] : []), ...(types.egress ? ['Egress'] : [])];
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    for (const port of rule.ports ?? []) port.protocol ??= 'TCP';
  }
  return spec;
}

/**
 * Refuses a change that holds pods or workloads, or namespaces whose labels differ from the
 * before-world's: diff compares worlds with the same pods (Services change no reachability and are
 * left as they are).
 */
function requirePoliciesOnly(before: ClusterSnapshot, change: ClusterSnapshot): void {
  const found = [
    ...change.workloads.map((w) => `${w.kind} ${w.namespace}/${w.name}`),
    ...change.pods.filter((p) => workloadOf(p).kind === 'Pod').map((p) => `Pod ${keyOf(refOf(p))}`),
  ];
  const labels = new Map(before.namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]));
  for (const namespace of change.namespaces) {
    const name = namespace.metadata?.name ?? '';
    const was = labels.get(name);
    // A namespace the before-world lacks has no pods there: its labels select nothing that changes.
    if (!was) continue;
    const differs = Object.entries(namespace.metadata?.labels ?? {}).some(([key, value]) => was[key] !== value);
    if (differs) found.push(`Namespace ${name} (other labels)`);
  }
  if (found.length === 0) return;
  const shown = found.slice(0, 3).join(', ') + (found.length > 3 ? ` and ${found.length - 3} more` : '');
  throw new UsageError(
    `diff compares changes of NetworkPolicies only: the -f files also hold ${shown}`,
    'pass only the policy files with -f; pods, workloads and namespaces are taken from the cluster (or from --base)',
  );
}
