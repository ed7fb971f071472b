/** TARGET and --from as the user writes them (`pod/NAME`, `NAME`, `deploy/NAME`, `svc/NAME`) -> TargetSpec. */
import type { WorkloadKind } from './engine/model.js';
import type { TargetSpec } from './engine/targets.js';
import { UsageError } from './errors.js';

/** Kinds TARGET may name, by every spelling kubectl accepts (singular, plural, short name). */
const KINDS: Record<string, 'pod' | 'service' | WorkloadKind> = {
  po: 'pod',
  pod: 'pod',
  pods: 'pod',
  svc: 'service',
  service: 'service',
  services: 'service',
  deploy: 'Deployment',
  deployment: 'Deployment',
  deployments: 'Deployment',
  sts: 'StatefulSet',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  ds: 'DaemonSet',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  rs: 'ReplicaSet',
  replicaset: 'ReplicaSet',
  replicasets: 'ReplicaSet',
  rc: 'ReplicationController',
  replicationcontroller: 'ReplicationController',
  replicationcontrollers: 'ReplicationController',
  job: 'Job',
  jobs: 'Job',
  cj: 'CronJob',
  cronjob: 'CronJob',
  cronjobs: 'CronJob',
};

/** A named target: a pod, a Service or a workload, in a namespace. */
export type NamedTargetSpec = Exclude<TargetSpec, { kind: 'selector' }>;

/** TARGET or --from as written: a kind and a name, and a namespace only when the text names one. */
export type TargetText = Omit<NamedTargetSpec, 'namespace'> & { namespace?: string };

const KIND_HINT =
  'use NAME (a pod) or KIND/NAME with KIND one of pod, deployment, statefulset, daemonset, replicaset, replicationcontroller, job, cronjob, service (or their short names)';

/**
 * Parses `[KIND/]NAME`; with allowNamespace, also `NAMESPACE/KIND/NAME`. The kind may carry its API
 * group (`deployments.apps/web`), as kubectl prints it. The namespace, when not written, is left for
 * completeTarget, once the query's namespace is known.
 */
export function parseTargetSpec(text: string, flag: string, allowNamespace = false): TargetText {
  const parts = text.split('/');
  const invalid = (why: string): UsageError => new UsageError(`invalid ${flag} "${text}": ${why}`, KIND_HINT);
  if (allowNamespace && parts.length === 3) {
    if (parts[0] === '') throw invalid('empty namespace');
    return { ...parseTargetSpec(parts.slice(1).join('/'), flag), namespace: parts[0] };
  }
  if (parts.length > 2 || parts.some((part) => part === '')) throw invalid('expected [KIND/]NAME');
  if (parts.length === 1) return { kind: 'pod', name: parts[0] };
  const kind = KINDS[parts[0].toLowerCase().split('.')[0]];
  if (!kind) throw invalid(`unknown kind "${parts[0]}"`);
  return { kind, name: parts[1] };
}

/** A parsed target in the query's namespace, unless it names its own. */
export function completeTarget(spec: TargetText, namespace: string): NamedTargetSpec {
  return { ...spec, namespace: spec.namespace ?? namespace } as NamedTargetSpec;
}
