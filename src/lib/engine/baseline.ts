/**
 * `isolate --baseline`: one ClusterNetworkPolicy in the Baseline tier that denies, for the chosen
 * namespaces, ingress from every pod (and with egress, egress to everything but the cluster DNS pods).
 * The Baseline tier decides only for pods no NetworkPolicy selects (kubernetes-sigs/network-policy-api
 * apis/v1alpha2 clusternetworkpolicy_types.go, `Tier`), so a namespace's own policies keep working.
 */
import type { DnsPeer } from './isolation.js';
import { NAMESPACE_NAME_LABEL } from './model.js';
import type { ClusterTierPolicy } from './tiers-compile.js';

/** The default priority: the last of the Baseline tier (0-1000, lower first), so an admin's Baseline Accept comes first. */
export const BASELINE_PRIORITY = 1000;

/** What the policy is made of. */
interface BaselineSpec {
  name: string;
  namespaces: readonly string[];
  /** Deny egress too (to every namespace and every address), keeping DNS to `dns` when given. */
  egress: boolean;
  dns?: DnsPeer;
  priority: number;
  /** `policy.networking.k8s.io/v1beta1` or `/v1alpha2` (one schema). */
  apiVersion: string;
  labels: Record<string, string>;
}

/** The rule names, as `--explain` shows them in answers. */
const BASELINE_RULES = { ingress: 'deny-all-ingress', dns: 'allow-dns', egress: 'deny-all-egress' } as const;

/**
 * The ClusterNetworkPolicy: `tier: Baseline`, subject the namespaces by kubernetes.io/metadata.name
 * (set by the API server on every namespace) In the names; ingress Deny from `namespaces: {}` (every
 * pod: ingress peers are pods and namespaces only, so addresses outside the cluster are not denied);
 * with egress, first an Accept to the DNS pods on 53/UDP and 53/TCP, then Deny to `namespaces: {}` and
 * `networks` 0.0.0.0/0 and ::/0 (every pod and every address).
 */
export function buildBaselinePolicy(spec: BaselineSpec): ClusterTierPolicy {
  const egress: Record<string, unknown>[] = [];
  if (spec.egress && spec.dns) {
    egress.push({
      name: BASELINE_RULES.dns,
      action: 'Accept',
      to: [
        {
          pods: {
            namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: spec.dns.namespace } },
            podSelector: { matchLabels: { ...spec.dns.podLabels } },
          },
        },
      ],
      protocols: [{ udp: { destinationPort: { number: 53 } } }, { tcp: { destinationPort: { number: 53 } } }],
    });
  }
  if (spec.egress) {
    egress.push({
      name: BASELINE_RULES.egress,
      action: 'Deny',
      to: [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }],
    });
  }
  return {
    apiVersion: spec.apiVersion,
    kind: 'ClusterNetworkPolicy',
    metadata: { name: spec.name, labels: { ...spec.labels } },
    spec: {
      tier: 'Baseline',
      priority: spec.priority,
      subject: {
        namespaces: {
          matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...spec.namespaces].sort() }],
        },
      },
      ingress: [{ name: BASELINE_RULES.ingress, action: 'Deny', from: [{ namespaces: {} }] }],
      ...(egress.length > 0 ? { egress } : {}),
    },
  };
}

/**
 * The namespaces a baseline policy's subject names (its `kubernetes.io/metadata.name In` values), or
 * undefined when the subject is not of that form (not one this tool wrote).
 */
export function baselineNamespaces(policy: ClusterTierPolicy): string[] | undefined {
  const subject = policy.spec.subject as { namespaces?: { matchExpressions?: unknown } } | undefined;
  const expressions = subject?.namespaces?.matchExpressions;
  if (!Array.isArray(expressions) || expressions.length !== 1) return undefined;
  const [only] = expressions as { key?: unknown; operator?: unknown; values?: unknown }[];
  if (only.key !== NAMESPACE_NAME_LABEL || only.operator !== 'In' || !Array.isArray(only.values)) return undefined;
  return only.values.filter((v): v is string => typeof v === 'string');
}
