/**
 * The two shapes of a NetworkPolicy: client-node's typed shape (each ingress rule's `from` under
 * `_from`), which every snapshot holds and the engine reads, and the manifest shape (`from`) that
 * `kubectl apply -f -` and the API server read. Objects change shape here and nowhere else.
 */
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyIngressRule } from '@kubernetes/client-node';
import { isObject } from '../engine/json.js';

/**
 * Returns a NetworkPolicy in client-node's typed shape: apiVersion networking.k8s.io/v1
 * (extensions/v1beta1 has the same fields) and each ingress rule's `from` under `_from`
 * (V1NetworkPolicyIngressRule renames it). client-node serializes only the typed names, so a plain
 * `from` sent as is would be dropped and the rule would admit every peer.
 */
export function toTypedPolicy(policy: V1NetworkPolicy | Record<string, unknown>): V1NetworkPolicy {
  const spec = isObject(policy.spec) ? policy.spec : undefined;
  const ingress = spec && Array.isArray(spec.ingress) ? spec.ingress : undefined;
  const typedIngress = ingress?.map((rule: unknown) => {
    if (!isObject(rule) || !('from' in rule)) return rule;
    const { from, ...rest } = rule;
    return { ...rest, _from: rest._from ?? from };
  });
  const typedSpec = typedIngress ? { ...spec, ingress: typedIngress } : spec;
  return { ...policy, apiVersion: 'networking.k8s.io/v1', spec: typedSpec } as V1NetworkPolicy;
}

/**
 * A NetworkPolicy as a manifest for `kubectl apply -f -`: apiVersion and kind, metadata without what
 * the server sets (uid, resourceVersion, managedFields, timestamps), no status, and each ingress rule's
 * peers under `from` (client-node's typed objects call it `_from`).
 */
export function toManifest(policy: V1NetworkPolicy): V1NetworkPolicy {
  const meta = policy.metadata ?? {};
  const metadata: Record<string, unknown> = { name: meta.name, namespace: meta.namespace };
  if (meta.labels && Object.keys(meta.labels).length > 0) metadata.labels = { ...meta.labels };
  if (meta.annotations && Object.keys(meta.annotations).length > 0) metadata.annotations = { ...meta.annotations };
  const spec = policy.spec ?? { podSelector: {} };
  const out: Record<string, unknown> = { podSelector: spec.podSelector ?? {} };
  if (spec.policyTypes) out.policyTypes = [...spec.policyTypes];
  if (spec.ingress) out.ingress = spec.ingress.map(plainIngressRule);
  if (spec.egress) out.egress = spec.egress.map((rule: V1NetworkPolicyEgressRule) => dropUndefined({ ...rule }));
  return dropUndefined({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: out,
  }) as V1NetworkPolicy;
}

function plainIngressRule(rule: V1NetworkPolicyIngressRule): Record<string, unknown> {
  const { _from, ...rest } = rule;
  return dropUndefined(_from === undefined ? rest : { from: _from, ...rest });
}

/** A deep copy of plain data, fresh arrays and objects (never an input's subclass or realm), without undefined fields. */
function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return Array.from(value, dropUndefined) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, dropUndefined(v)]),
  ) as T;
}

/** One NetworkPolicy, or a v1 List of several, as `kubectl apply -f -` reads it. */
export function toManifestDocument(policies: V1NetworkPolicy[]): unknown {
  const items = policies.map(toManifest);
  return items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items };
}
