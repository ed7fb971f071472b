/**
 * The -f loader's reading of cluster-scoped tier policies: AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1), ClusterNetworkPolicy (v1alpha2,
 * v1beta1). They are cluster-scoped: a namespace written on one is ignored, as the API server does.
 * And of the Node objects their `nodes` peers select from, from files and live alike.
 */
import { TIER_API_GROUP, TIER_KINDS, type ClusterTierPolicy } from '../engine/tiers-compile.js';
import { validateTierPolicy } from '../engine/tiers-validate.js';
import type { ClusterNode } from '../engine/model.js';
import { isObject } from '../engine/json.js';
import type { Located, RawObject } from './manifest-checks.js';

/** Whether an object is one of the tier kinds at an API version this tool reads. */
export function isTierPolicy(obj: RawObject): boolean {
  const versions = (TIER_KINDS as Record<string, readonly string[] | undefined>)[obj.kind];
  return versions !== undefined && versions.some((v) => obj.apiVersion === `${TIER_API_GROUP}/${v}`);
}

/** A tier object as the -f loader or the API hands it over, before validation. */
interface TierObject {
  apiVersion: string;
  kind: ClusterTierPolicy['kind'];
  name: string;
  labels?: Record<string, string>;
  spec: unknown;
}

/**
 * A tier object as the snapshot carries it, or, when the CRD's validation would reject it, the line
 * that says it is left out (naming the field, where the object came from first when known). The one
 * wording for files and the live API.
 */
export function toTierPolicy(obj: TierObject, where?: string): { policy: ClusterTierPolicy } | { warning: string } {
  const policy: ClusterTierPolicy = {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name: obj.name, ...(isStringMap(obj.labels) ? { labels: { ...obj.labels } } : {}) },
    spec: isObject(obj.spec) ? obj.spec : {},
  };
  const problems = isObject(obj.spec) ? validateTierPolicy(policy) : ['spec: required'];
  if (problems.length === 0) return { policy };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  const prefix = where === undefined ? '' : `${where}: `;
  return { warning: `${prefix}${obj.kind} ${obj.name} left out: ${problems[0]}${more}` };
}

/**
 * A tier policy of a manifest as the snapshot carries it, or a warning line when the CRD's validation
 * would reject it (the object is left out; the warning names the field).
 */
export function readTierPolicy(obj: RawObject, doc: Located): { policy: ClusterTierPolicy } | { warning: string } {
  const kind = obj.kind as ClusterTierPolicy['kind'];
  return toTierPolicy(
    { apiVersion: obj.apiVersion, kind, name: obj.metadata.name, labels: obj.metadata.labels, spec: obj.spec },
    `${doc.file}:${doc.line}`,
  );
}

/** Whether labels as read are a map of strings (anything else is not kept). */
function isStringMap(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * The version each tier kind is read at, given the versions of policy.networking.k8s.io a cluster
 * serves: the newest this tool reads (ClusterNetworkPolicy: v1beta1, else v1alpha2). A kind none of
 * whose versions is served is absent.
 */
export function tierVersionsToRead(served: readonly string[]): Partial<Record<ClusterTierPolicy['kind'], string>> {
  const read: Partial<Record<ClusterTierPolicy['kind'], string>> = {};
  for (const [kind, versions] of Object.entries(TIER_KINDS) as [ClusterTierPolicy['kind'], readonly string[]][]) {
    const newest = versions.filter((v) => served.includes(v)).sort(compareVersions)[0];
    if (newest !== undefined) read[kind] = newest;
  }
  return read;
}

/**
 * Kubernetes' version priority, highest first (as apimachinery's CompareKubeAwareVersionStrings):
 * GA before beta before alpha, then the higher number (v1 > v1beta2 > v1beta1 > v1alpha2 > v1alpha1).
 */
function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!match) return [-1, 0, 0];
    const stability = match[2] === undefined ? 2 : match[2] === 'beta' ? 1 : 0;
    return [stability, Number(match[1]), Number(match[3] ?? 0)];
  };
  const [x, y] = [rank(a), rank(b)];
  return y[0] - x[0] || y[1] - x[1] || y[2] - x[2];
}

/** The address types a node's IPs are listed under (status.addresses; Hostname and the DNS types are names). */
const NODE_IP_TYPES = new Set(['InternalIP', 'ExternalIP']);

/**
 * A Node as the snapshot carries it (what the tiers' nodes peers read): its name, labels and the IP
 * addresses of status.addresses. One reading for files (after checkNode) and the live API.
 */
export function toClusterNode(obj: { metadata?: { name?: string; labels?: unknown }; status?: unknown }): ClusterNode {
  const status = isObject(obj.status) ? obj.status : {};
  const addresses = Array.isArray(status.addresses) ? status.addresses : [];
  return {
    name: obj.metadata?.name ?? '',
    labels: isStringMap(obj.metadata?.labels) ? { ...obj.metadata.labels } : {},
    addresses: addresses
      .filter((a) => isObject(a) && NODE_IP_TYPES.has(String(a.type)) && typeof a.address === 'string')
      .map((a: { address: string }) => a.address),
  };
}
