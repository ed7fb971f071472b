/** NetworkPolicy objects in client-node's typed shape, whichever way they were written. */
import type { V1NetworkPolicy } from '@kubernetes/client-node';

/**
 * Returns a NetworkPolicy in client-node's typed shape: apiVersion networking.k8s.io/v1
 * (extensions/v1beta1 has the same fields) and each ingress rule's `from` under `_from`
 * (V1NetworkPolicyIngressRule renames it). client-node serializes only the typed names, so a plain
 * `from` sent as is would be dropped and the rule would admit every peer.
 */
export function toTypedPolicy(policy: V1NetworkPolicy | Record<string, unknown>): V1NetworkPolicy {
  const spec = isPlainObject(policy.spec) ? policy.spec : undefined;
  const ingress = spec && Array.isArray(spec.ingress) ? spec.ingress : undefined;
  const typedIngress = ingress?.map((rule: unknown) => {
    if (!isPlainObject(rule) || !('from' in rule)) return rule;
    const { from, ...rest } = rule;
    return { ...rest, _from: rest._from ?? from };
  });
  const typedSpec = typedIngress ? { ...spec, ingress: typedIngress } : spec;
  return { ...policy, apiVersion: 'networking.k8s.io/v1', spec: typedSpec } as V1NetworkPolicy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
