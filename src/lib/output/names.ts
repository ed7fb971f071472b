/** How every command names what it shows, so who-can, isolate and allow read alike. */
import type { IpBlock, PolicyRef, RuleRef, TierRuleRef } from '../engine/model.js';
import { keyOf } from '../engine/model.js';

/** A workload, or a bare pod (kind `Pod`), in its namespace. */
interface NamespacedWorkload {
  namespace: string;
  kind: string;
  name: string;
}

/** `namespace/name` for a bare pod, `namespace/kind/name` (kind in lower case) for a workload: `web/deployment/frontend`. */
export function formatWorkloadRef(workload: NamespacedWorkload): string {
  if (workload.kind === 'Pod') return `${workload.namespace}/${workload.name}`;
  return `${workload.namespace}/${workload.kind.toLowerCase()}/${workload.name}`;
}

/** `10.0.0.0/8`, or `10.0.0.0/8 except 10.1.0.0/16, 10.2.0.0/16`. */
export function formatIpBlock(block: IpBlock): string {
  return block.except.length === 0 ? block.cidr : `${block.cidr} except ${block.except.join(', ')}`;
}

/** `namespace/name` of a policy. */
export function formatPolicyRef(policy: PolicyRef): string {
  return keyOf(policy);
}

/** `ns/name direction[index]`, or `name direction[index]` when the namespace goes without saying. */
export function formatRuleRef(rule: RuleRef, withNamespace = true): string {
  const policy = withNamespace ? formatPolicyRef(rule.policy) : rule.policy.name;
  return `${policy} ${rule.direction}[${rule.index}]`;
}

/** `ClusterNetworkPolicy/name`: a cluster-scoped policy (no namespace). */
export function formatTierPolicyRef(rule: Pick<TierRuleRef, 'policy'>): string {
  return `${rule.policy.kind}/${rule.policy.name}`;
}

/**
 * `ClusterNetworkPolicy/deny-egress (Admin, priority 6) rule deny-to-slytherin`; a rule without a
 * name by its place (`rule egress[0]`); the BaselineAdminNetworkPolicy singleton has no priority.
 */
export function formatTierRuleRef(rule: TierRuleRef): string {
  const where =
    rule.policy.kind === 'BaselineAdminNetworkPolicy' ? rule.tier : `${rule.tier}, priority ${rule.priority}`;
  const name = rule.rule.name || `${rule.direction}[${rule.rule.index}]`;
  return `${formatTierPolicyRef(rule)} (${where}) rule ${name}`;
}
