/**
 * The who-can query between the command and the engine: the request as the flags describe it, parsed
 * once (TARGET and --from as namespace-less specs); the request completed with the query's namespace
 * (kubectl's Complete step); what the live loader must list; and the answer with what the views need
 * to name it (owners of pods, the port asked about after a Service resolved it, the yes/no of --from).
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import type { SnapshotScope } from '../cluster/types.js';
import type { World } from '../engine/world.js';
import type { PodRef, PortQuery, Warning } from '../engine/model.js';
import { keyOf, refOf } from '../engine/model.js';
import { QueryError, resolveServicePort, resolveTargets, workloadOf } from '../engine/targets.js';
import type { WhoCanResult } from '../engine/who-can.js';
import { pairsOf, whoCan } from '../engine/who-can.js';
import { NamespaceNotFoundError, NetpolError, NoAnswerError } from '../errors.js';
import type { PortText } from '../peer-syntax.js';
import type { NamedTargetSpec, TargetText } from '../target-spec.js';
import { completeTarget } from '../target-spec.js';

/** What to ask, as the flags say it: every value parsed, the namespace not yet known. */
export interface WhoCanOptions {
  target?: TargetText;
  from?: TargetText;
  selector?: V1LabelSelector;
  port?: PortText;
  allNamespaces: boolean;
  explain: boolean;
}

/** The request with its namespace resolved: what the scope and the answer are computed from. */
interface WhoCanRequest extends Omit<WhoCanOptions, 'target' | 'from'> {
  /** -n, else the context's namespace (live), else `default`. */
  namespace: string;
  target?: NamedTargetSpec;
  from?: NamedTargetSpec;
}

/** The workload that owns a pod, as the engine's workloadOf names it (kind 'Pod' for a bare pod). */
export interface WorkloadRef {
  kind: string;
  name: string;
}

/** A warning as reported: engine warnings keep their code, loader warnings have code 'manifest'. */
export interface ReportWarning {
  code: string;
  message: string;
}

/** What `who-can` returns from run(): the engine's answer plus what the views need to name it. */
export interface WhoCanReport {
  /** The engine's answer: target pods, pod sources as groups, address blocks; pairs via connectionsOf. */
  answer: WhoCanResult;
  /** The port asked about, after a Service port was resolved to its targetPort. */
  port?: PortQuery;
  /** With --from: whether every (source, target) pair is allowed. */
  allowed?: boolean;
  warnings: ReportWarning[];
  /** Owner of each pod, keyed `namespace/name`. */
  workloads: ReadonlyMap<string, WorkloadRef>;
}

/** Completes the options with the query's namespace: TARGET and --from take it unless they name their own. */
export function completeWhoCan(options: WhoCanOptions, namespace: string): WhoCanRequest {
  return {
    ...options,
    namespace,
    target: options.target && completeTarget(options.target, namespace),
    from: options.from && completeTarget(options.from, namespace),
  };
}

/** What the live loader must fetch: every namespace (sources are anywhere) plus the objects named. */
export function scopeOf(request: WhoCanRequest): SnapshotScope {
  const named = [request.target, request.from].filter((spec): spec is NamedTargetSpec => spec !== undefined);
  const workloads = named.flatMap((spec) =>
    spec.kind === 'pod' || spec.kind === 'service'
      ? []
      : [{ kind: spec.kind, namespace: spec.namespace, name: spec.name }],
  );
  const services = named.flatMap((spec) =>
    spec.kind === 'service' ? [{ namespace: spec.namespace, name: spec.name }] : [],
  );
  // Services are read by name, never listed: only a named service/NAME target needs one.
  return { workloads, services, listServices: false };
}

/** Runs the query: resolve targets, sources and port, ask the engine, and collect what the views need. */
export function answerWhoCan(world: World, request: WhoCanRequest): WhoCanReport {
  const warnings: Warning[] = [...world.warnings];
  let targets: PodRef[];
  if (request.target !== undefined) {
    const resolved = resolveNamed(world, request.target);
    targets = resolved.pods;
    warnings.push(...resolved.warnings);
  } else {
    if (!request.allNamespaces) requireNamespace(world, request.namespace);
    const resolved = resolveTargets(world, {
      kind: 'selector',
      namespaces: request.allNamespaces ? undefined : [request.namespace],
      selector: request.selector,
    });
    targets = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  let sources: PodRef[] | undefined;
  if (request.from !== undefined) {
    const resolved = resolveNamed(world, request.from);
    sources = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  const port = portOf(world, request);
  const answer = whoCan(world, { targets, sources, port, includeDenied: request.explain || sources !== undefined });
  warnings.push(...answer.warnings);
  // "Yes" means at least one pair was checked and every one is allowed: never yes over nothing.
  if (sources !== undefined) {
    const why = nothingToCheck(answer, warnings);
    if (why) throw new NoAnswerError(`nothing to check: ${why}`, 'name a target and a source with at least one pod pair between them');
  }
  const reported = new Map<string, ReportWarning>();
  for (const warning of warnings) reported.set(`${warning.code}\u0000${warning.message}`, warning);
  return {
    answer,
    port,
    // A denied pair exists exactly when a denied group does (the engine drops groups of a pod to itself only).
    allowed: sources === undefined ? undefined : answer.deniedGroups.length === 0,
    warnings: [...reported.values()],
    workloads: workloadsOf(world),
  };
}

/** Why an answer holds no (source, target) pair at all, or undefined when it holds one. */
function nothingToCheck(answer: WhoCanResult, warnings: Warning[]): string | undefined {
  if (!pairsOf(answer, 'allowed').next().done || !pairsOf(answer, 'denied').next().done) return undefined;
  if (answer.targets.length === 0) {
    const said = warnings.filter((w) => w.code === 'no-target').map((w) => w.message);
    return said.length > 0 ? said.join('; ') : 'no target pods';
  }
  return 'the only pod of the source is the only pod of the target (a pod always reaches itself)';
}

function requireNamespace(world: World, namespace: string): void {
  const names = world.snapshot.namespaces.map((item) => item.metadata?.name ?? '');
  if (!names.includes(namespace)) {
    throw new NamespaceNotFoundError([namespace], names, { usage: 'use --namespace NAME or --all-namespaces' });
  }
}

/** Resolves a named TARGET or --from to pods; naming something that does not exist is an error. */
function resolveNamed(world: World, spec: NamedTargetSpec): { pods: PodRef[]; warnings: Warning[] } {
  requireNamespace(world, spec.namespace);
  const resolved = resolveTargets(world, spec);
  if (resolved.pods.length === 0) {
    const why = resolved.warnings.map((warning) => warning.message).join('; ');
    throw new NetpolError(
      why || `${spec.kind.toLowerCase()} "${spec.name}" not found in namespace "${spec.namespace}"`,
      1,
    );
  }
  return resolved;
}

/** --port as the engine takes it (TCP unless written); with service/NAME, the Service port resolved to its targetPort. */
function portOf(world: World, request: WhoCanRequest): PortQuery | undefined {
  const { port, target } = request;
  if (!port) return undefined;
  if (target?.kind !== 'service') return { port: port.port, protocol: port.protocol ?? 'TCP' };
  try {
    return resolveServicePort(world, target, port.port, port.protocol);
  } catch (error) {
    if (error instanceof QueryError) throw new NetpolError(error.message, 1);
    throw error;
  }
}

/** The owner of every pod: any of them may be a source, and this costs pods, not pairs. */
function workloadsOf(world: World): Map<string, WorkloadRef> {
  const workloads = new Map<string, WorkloadRef>();
  for (const pod of world.snapshot.pods) workloads.set(keyOf(refOf(pod)), workloadOf(pod));
  return workloads;
}
