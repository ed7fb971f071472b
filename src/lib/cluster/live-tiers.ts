/**
 * The live reading of the cluster tiers' policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
 * ClusterNetworkPolicy, all in policy.networking.k8s.io). Discovery (GET /apis) says whether the
 * cluster serves the group and at which versions; each kind served is then listed, paged, at the
 * newest version this tool reads. A group or kind the cluster does not serve changes nothing and
 * prints nothing; kinds the user may not list make one warning, and the query goes on without them.
 * Node objects are listed too, only when some policy has a `nodes` peer (they are what it selects) or
 * the caller asks for them (a change read from files adds such a peer: `diff -f`).
 */
import type { ClusterNode } from '../engine/model.js';
import { hasNodesPeer, TIER_API_GROUP, type ClusterTierPolicy } from '../engine/tiers-compile.js';
import { ApiError } from '../errors.js';
import { PAGE_SIZE, type Connection, type RequestTarget } from './live-transport.js';
import { tierVersionsToRead, toClusterNode, toTierPolicy } from './tier-policies.js';
import type { ServedApiGroup } from './types.js';

/** The snapshot's limiter: runs a task when a slot is free. */
type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/** The resource (plural) of each kind, as its CRD names it. */
const RESOURCES: Readonly<Record<ClusterTierPolicy['kind'], string>> = {
  AdminNetworkPolicy: 'adminnetworkpolicies',
  BaselineAdminNetworkPolicy: 'baselineadminnetworkpolicies',
  ClusterNetworkPolicy: 'clusternetworkpolicies',
};

/** What the live reading found: the groups discovery lists (undefined when forbidden) and the valid policies. */
interface LiveTiers {
  apiGroups?: ServedApiGroup[];
  policies: ClusterTierPolicy[];
  /** Read when some policy has a nodes peer; 'forbidden' when the user may not list them. */
  nodes?: ClusterNode[] | 'forbidden';
}

/** A list's raw answer: custom resources come back as JSON, `metadata.continue` not renamed. */
interface RawList {
  items?: { metadata?: { name?: string; labels?: Record<string, string> }; spec?: unknown }[];
  metadata?: { continue?: string };
}

/**
 * Discovers the tier API and lists its policies; each request goes through `limit`. Objects the CRD's
 * validation would reject are left out with a warning naming the field (as from files).
 */
export async function loadTierPolicies(
  conn: Connection,
  limit: Limit,
  warnings: string[],
  readsNodes = false,
): Promise<LiveTiers> {
  const apiGroups = await limit(() => discoverApiGroups(conn));
  if (apiGroups === undefined) {
    warnings.push(
      `cannot list the API groups the cluster serves (forbidden); answers may be incomplete: cluster-scoped policies (${TIER_API_GROUP}) could not be read`,
    );
    return withNodes({ policies: [] }, readsNodes, conn, limit, warnings);
  }
  const group = apiGroups.find((g) => g.name === TIER_API_GROUP);
  if (!group) return withNodes({ apiGroups, policies: [] }, readsNodes, conn, limit, warnings);
  const toRead = Object.entries(tierVersionsToRead(group.versions)) as [ClusterTierPolicy['kind'], string][];
  const lists = await Promise.all(toRead.map(([kind, version]) => limit(() => listKind(conn, kind, version))));
  const policies: ClusterTierPolicy[] = [];
  const forbidden: string[] = [];
  lists.forEach((list, i) => {
    if (list === 'forbidden') forbidden.push(`${RESOURCES[toRead[i][0]]}.${TIER_API_GROUP}`);
    else
      for (const read of list) {
        if ('policy' in read) policies.push(read.policy);
        else warnings.push(read.warning);
      }
  });
  if (forbidden.length > 0) {
    warnings.push(
      `cannot list ${forbidden.join(', ')} (forbidden); answers may be incomplete: cluster-scoped policies could not be read`,
    );
  }
  return withNodes({ apiGroups, policies }, readsNodes || policies.some(hasNodesPeer), conn, limit, warnings);
}

/** The tiers read, with every Node when `reads` (a nodes peer selects among them). */
async function withNodes(
  tiers: LiveTiers,
  reads: boolean,
  conn: Connection,
  limit: Limit,
  warnings: string[],
): Promise<LiveTiers> {
  if (!reads) return tiers;
  const nodes = await limit(() => listNodes(conn));
  if (nodes === 'forbidden') {
    warnings.push(
      'cannot list nodes (forbidden); answers involving the nodes peers of cluster-scoped policies may be incomplete: those rules fail closed (an Accept matches nothing, a Deny or Pass denies everything)',
    );
  }
  return { ...tiers, nodes };
}

/** Every Node, paged, as the tiers read it; 'forbidden' when RBAC says no. */
async function listNodes(conn: Connection): Promise<ClusterNode[] | 'forbidden'> {
  try {
    const nodes = await conn.listAll({ verb: 'list', resource: 'nodes', group: '' }, (cont) =>
      conn.core.listNode({ limit: PAGE_SIZE, _continue: cont }),
    );
    return nodes.map(toClusterNode);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return 'forbidden';
    throw err;
  }
}

/** The API groups and versions the cluster serves; [] when it has no /apis, undefined when the user may not read it. */
async function discoverApiGroups(conn: Connection): Promise<ServedApiGroup[] | undefined> {
  const target: RequestTarget = { verb: 'get', resource: 'apis', group: '' };
  try {
    const list = await conn.call(target, () => conn.apis.getAPIVersions());
    // Discovery lists each group's versions by priority, the preferred one first.
    return (list.groups ?? []).map((g) => ({ name: g.name, versions: (g.versions ?? []).map((v) => v.version) }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return [];
    if (err instanceof ApiError && err.status === 403) return undefined;
    throw err;
  }
}

/**
 * Every object of one kind at one version, each read as from a file; 'forbidden' when RBAC says no,
 * [] when the version does not serve the kind after all (its CRD is not installed).
 */
async function listKind(
  conn: Connection,
  kind: ClusterTierPolicy['kind'],
  version: string,
): Promise<ReturnType<typeof toTierPolicy>[] | 'forbidden'> {
  const plural = RESOURCES[kind];
  const target: RequestTarget = { verb: 'list', resource: plural, group: TIER_API_GROUP };
  try {
    const items = await conn.listAll(target, async (cont) => {
      const list = (await conn.custom.listClusterCustomObject({
        group: TIER_API_GROUP,
        version,
        plural,
        limit: PAGE_SIZE,
        _continue: cont,
      })) as RawList;
      return { items: list.items ?? [], metadata: { _continue: list.metadata?.continue } };
    });
    const apiVersion = `${TIER_API_GROUP}/${version}`;
    return items.map((item) =>
      toTierPolicy({
        apiVersion,
        kind,
        name: item.metadata?.name ?? '',
        labels: item.metadata?.labels,
        spec: item.spec,
      }),
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return [];
    if (err instanceof ApiError && err.status === 403) return 'forbidden';
    throw err;
  }
}
