/**
 * The live snapshot: lists what a query's scope needs (namespaces, pods, policies, services, the
 * workloads it names) and the cluster tiers' policies, in parallel through a limiter, and reads around
 * what the user may not list.
 */
import type { V1LabelSelector, V1Namespace, V1Pod, V1PodTemplateSpec, V1Service } from '@kubernetes/client-node';

import type { Workload, WorkloadKind } from '../engine/model.js';
import { ApiError } from '../errors.js';
import { loadTierPolicies } from './live-tiers.js';
import { PAGE_SIZE } from './live-transport.js';
import type { Connection, RequestTarget } from './live-transport.js';
import type { ClusterApi, LoadedSnapshot, SnapshotScope } from './types.js';

/** How many requests a snapshot keeps in flight at once. */
const MAX_IN_FLIGHT = 8;

/** Lists what the scope needs, in parallel but never more than MAX_IN_FLIGHT requests at once. */
export async function loadLiveSnapshot(
  conn: Connection,
  api: ClusterApi,
  scope: SnapshotScope,
): Promise<LoadedSnapshot> {
  const warnings: string[] = [];
  const limit = createLimiter(MAX_IN_FLIGHT);
  const scoped = scope.namespaces ? [...new Set(scope.namespaces)] : undefined;
  const perNamespace = <T>(list: (namespace?: string) => Promise<T[]>): Promise<T[]> =>
    scoped
      ? Promise.all(scoped.map((ns) => limit(() => list(ns)))).then((lists) => lists.flat())
      : limit(() => list(undefined));

  const listsServices = scope.listServices !== false;
  const hinted = listsServices ? [] : [...new Set(scope.hintServices ?? [])];
  const tierWarnings: string[] = [];
  const [namespaces, pods, policies, listedServices, extraServices, workloads, hintServices, tiers] = await Promise.all(
    [
      limit(() => loadNamespaces(api, scoped, warnings)),
      perNamespace((ns) => listPods(conn, ns)),
      perNamespace((ns) => api.listNetworkPolicies(ns)),
      listsServices ? perNamespace((ns) => listServices(conn, ns)) : Promise.resolve([]),
      Promise.all(
        (scope.services ?? [])
          .filter((s) => !listsServices || (scoped !== undefined && !scoped.includes(s.namespace)))
          .map((s) => limit(() => readNamedService(conn, s, warnings))),
      ),
      Promise.all((scope.workloads ?? []).map((w) => limit(() => readWorkload(conn, w.kind, w.namespace, w.name)))),
      Promise.all(hinted.map((ns) => limit(() => listHintServices(conn, ns, warnings)))).then((lists) => lists.flat()),
      // Cluster-scoped: read whatever the scope, since their subjects and peers reach into every namespace.
      loadTierPolicies(conn, limit, tierWarnings, scope.nodes === true),
    ],
  );
  const named = extraServices.filter((s): s is V1Service => s !== undefined);
  const known = new Set(named.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`));
  const services = [
    ...listedServices,
    ...named,
    ...hintServices.filter((s) => !known.has(`${s.metadata?.namespace}/${s.metadata?.name}`)),
  ];
  return {
    snapshot: {
      namespaces,
      pods,
      policies,
      services,
      workloads,
      ...(tiers.policies.length > 0 ? { clusterPolicies: tiers.policies } : {}),
      ...(tiers.nodes === 'forbidden' ? { nodesUnreadable: true } : tiers.nodes ? { nodes: tiers.nodes } : {}),
    },
    // The tiers' lines last, in one order whichever request answered first.
    warnings: [...warnings, ...tierWarnings],
    ...(tiers.apiGroups ? { apiGroups: tiers.apiGroups } : {}),
  };
}

/**
 * Namespaces are always listed cluster-wide: namespaceSelectors need every namespace's labels. When
 * listing is forbidden but the query names its namespaces, read those one by one instead.
 */
async function loadNamespaces(
  api: ClusterApi,
  scoped: string[] | undefined,
  warnings: string[],
): Promise<V1Namespace[]> {
  try {
    return await api.listNamespaces();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403 || !scoped) throw err;
    try {
      const namespaces = await Promise.all(scoped.map((name) => api.readNamespace(name)));
      warnings.push(
        `cannot list namespaces (forbidden); namespaceSelectors only see ${scoped.map((n) => `"${n}"`).join(', ')}`,
      );
      return namespaces;
    } catch (readErr) {
      if (readErr instanceof ApiError && readErr.status === 403) throw err;
      throw readErr;
    }
  }
}

function listPods(conn: Connection, namespace: string | undefined): Promise<V1Pod[]> {
  return conn.listAll({ verb: 'list', resource: 'pods', group: '', namespace }, (cont) =>
    namespace === undefined
      ? conn.core.listPodForAllNamespaces({ limit: PAGE_SIZE, _continue: cont })
      : conn.core.listNamespacedPod({ namespace, limit: PAGE_SIZE, _continue: cont }),
  );
}

/** Services listed only for a hint: a user who may not list them goes on without, with a warning. */
async function listHintServices(conn: Connection, namespace: string, warnings: string[]): Promise<V1Service[]> {
  try {
    return await listServices(conn, namespace);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err;
    warnings.push(`cannot list services in namespace "${namespace}" (forbidden); Service port hints are left out`);
    return [];
  }
}

function listServices(conn: Connection, namespace: string | undefined): Promise<V1Service[]> {
  return conn.listAll({ verb: 'list', resource: 'services', group: '', namespace }, (cont) =>
    namespace === undefined
      ? conn.core.listServiceForAllNamespaces({ limit: PAGE_SIZE, _continue: cont })
      : conn.core.listNamespacedService({ namespace, limit: PAGE_SIZE, _continue: cont }),
  );
}

function readService(conn: Connection, namespace: string, name: string): Promise<V1Service> {
  return conn.call({ verb: 'get', resource: 'services', group: '', namespace, name }, () =>
    conn.core.readNamespacedService({ namespace, name }),
  );
}

/**
 * A Service the query names: undefined when it does not exist (the query then says so in its own
 * words), or when it is optional and the user may not read it.
 */
async function readNamedService(
  conn: Connection,
  service: NonNullable<SnapshotScope['services']>[number],
  warnings: string[],
): Promise<V1Service | undefined> {
  try {
    return await readService(conn, service.namespace, service.name);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 404) return undefined;
    if (err.status === 403 && service.optional) {
      warnings.push(`cannot get service ${service.namespace}/${service.name} (forbidden); going on without it`);
      return undefined;
    }
    throw err;
  }
}

/** Reads one workload by kind and name and keeps what the engine needs of it. */
async function readWorkload(conn: Connection, kind: WorkloadKind, namespace: string, name: string): Promise<Workload> {
  const args = { namespace, name };
  const target = (resource: string, group: string): RequestTarget => ({
    verb: 'get',
    resource,
    group,
    namespace,
    name,
  });
  let selector: V1LabelSelector | undefined;
  let template: V1PodTemplateSpec | undefined;
  switch (kind) {
    case 'Deployment': {
      const obj = await conn.call(target('deployments', 'apps'), () => conn.apps.readNamespacedDeployment(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'StatefulSet': {
      const obj = await conn.call(target('statefulsets', 'apps'), () => conn.apps.readNamespacedStatefulSet(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'DaemonSet': {
      const obj = await conn.call(target('daemonsets', 'apps'), () => conn.apps.readNamespacedDaemonSet(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'ReplicaSet': {
      const obj = await conn.call(target('replicasets', 'apps'), () => conn.apps.readNamespacedReplicaSet(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'ReplicationController': {
      const obj = await conn.call(target('replicationcontrollers', ''), () =>
        conn.core.readNamespacedReplicationController(args),
      );
      // ReplicationControllerSpec.selector is a plain map: the equivalent of matchLabels.
      selector = obj.spec?.selector ? { matchLabels: obj.spec.selector } : undefined;
      template = obj.spec?.template;
      break;
    }
    case 'Job': {
      const obj = await conn.call(target('jobs', 'batch'), () => conn.batch.readNamespacedJob(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'CronJob': {
      const obj = await conn.call(target('cronjobs', 'batch'), () => conn.batch.readNamespacedCronJob(args));
      template = obj.spec?.jobTemplate?.spec?.template;
      break;
    }
  }
  const workload: Workload = { kind, namespace, name, templateLabels: { ...template?.metadata?.labels } };
  if (selector) workload.selector = selector;
  return workload;
}

/** Runs at most `max` tasks at a time, in the order they were queued. */
function createLimiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    running--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        running++;
        task().then(resolve, reject).finally(next);
      };
      if (running < max) start();
      else queue.push(start);
    });
}
