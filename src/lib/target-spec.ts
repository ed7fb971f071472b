/** TARGET and --from as the user writes them (`pod/NAME`, `NAME`, `deploy/NAME`, `svc/NAME`) -> TargetSpec. */
import type { WorkloadKind } from './engine/model.js';
import type { TargetSpec } from './engine/targets.js';
import { parseIp, validateIpBlock } from './engine/ipblock.js';
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
  'write NAME or NAMESPACE/NAME (a pod), or [NAMESPACE/]KIND/NAME with KIND one of pod, deployment, statefulset, daemonset, replicaset, replicationcontroller, job, cronjob, service (or their short names)';

/** The kind a word names (`deploy`, `deployments.apps`, ...), or undefined. */
function kindOf(word: string): TargetText['kind'] | undefined {
  const key = word.toLowerCase().split('.')[0];
  return Object.prototype.hasOwnProperty.call(KINDS, key) ? KINDS[key] : undefined;
}

/**
 * Parses every form the tables print: `NAME` and `NAMESPACE/NAME` (a pod), `KIND/NAME` and
 * `NAMESPACE/KIND/NAME`. In `A/B`, A is a kind when it names one (`deploy/web`), else a namespace
 * (`shop/web-0`). The kind may carry its API group (`deployments.apps/web`), as kubectl prints it. The
 * namespace, when not written, is left for completeTarget, once the query's namespace is known.
 */
export function parseTargetSpec(text: string, flag: string): TargetText {
  const parts = text.split('/');
  const invalid = (why: string): UsageError => new UsageError(`invalid ${flag} "${text}": ${why}`, KIND_HINT);
  if (parts.length > 3 || parts.some((part) => part === '')) throw invalid('expected [NAMESPACE/][KIND/]NAME');
  if (parts.length === 1) return { kind: 'pod', name: parts[0] };
  if (parts.length === 2) {
    const kind = kindOf(parts[0]);
    return kind ? { kind, name: parts[1] } : { kind: 'pod', namespace: parts[0], name: parts[1] };
  }
  const kind = kindOf(parts[1]);
  if (!kind) throw invalid(`unknown kind "${parts[1]}"`);
  return { kind, namespace: parts[0], name: parts[2] };
}

/** A parsed target in the query's namespace, unless it names its own. */
export function completeTarget(spec: TargetText, namespace: string): NamedTargetSpec {
  return { ...spec, namespace: spec.namespace ?? namespace } as NamedTargetSpec;
}

/** An address or address block given as a source (`--from 203.0.113.7`, `--from 203.0.113.0/26`). */
export interface AddressText {
  kind: 'address';
  /** The block, as a CIDR (a single address is a /32 or /128). */
  cidr: string;
}

/**
 * Parses --from: an IPv4 or IPv6 address or CIDR (namespace names never hold a `.` or `:`), else
 * what parseTargetSpec reads.
 */
export function parseSourceSpec(text: string, flag: string): TargetText | AddressText {
  const ip = parseIp(text);
  if (ip) return { kind: 'address', cidr: `${text}/${ip.family === 4 ? 32 : 128}` };
  if (/^[0-9A-Fa-f:.]+\/\d+$/.test(text)) {
    const problems = validateIpBlock({ cidr: text, except: [] }, flag);
    if (problems.length > 0) throw new UsageError(`invalid ${flag} "${text}": ${problems[0].replace(/^[^:]*: /, '')}`);
    return { kind: 'address', cidr: text };
  }
  return parseTargetSpec(text, flag);
}
