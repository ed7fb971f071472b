/**
 * The -f loader's reading of cluster-scoped tier policies: AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1), ClusterNetworkPolicy (v1alpha2,
 * v1beta1). They are cluster-scoped: a namespace written on one is ignored, as the API server does.
 */
import { TIER_API_GROUP, TIER_KINDS, validateTierPolicy, type ClusterTierPolicy } from '../engine/tiers-compile.js';
import { isPlainObject, type Located, type RawObject } from './manifest-checks.js';

/** Whether an object is one of the tier kinds at an API version this tool reads. */
export function isTierPolicy(obj: RawObject): boolean {
  const versions = (TIER_KINDS as Record<string, readonly string[] | undefined>)[obj.kind];
  return versions !== undefined && versions.some((v) => obj.apiVersion === `${TIER_API_GROUP}/${v}`);
}

/**
 * A tier policy as the snapshot carries it, or a warning line when the CRD's validation would reject
 * it (the object is left out; the warning names the field).
 */
export function readTierPolicy(obj: RawObject, doc: Located): { policy: ClusterTierPolicy } | { warning: string } {
  const policy: ClusterTierPolicy = {
    apiVersion: obj.apiVersion,
    kind: obj.kind as ClusterTierPolicy['kind'],
    metadata: { name: obj.metadata.name },
    spec: isPlainObject(obj.spec) ? obj.spec : {},
  };
  const problems = isPlainObject(obj.spec) ? validateTierPolicy(policy) : ['spec: required'];
  if (problems.length === 0) return { policy };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { warning: `${doc.file}:${doc.line}: ${obj.kind} ${obj.metadata.name} left out: ${problems[0]}${more}` };
}
