/**
 * The who-can query between the command and the engine: the request as the flags describe it, parsed
 * once (TARGET and --from as namespace-less specs); the request completed with the query's namespace
 * (kubectl's Complete step); what the live loader must list; and the answer with what the views need
 * to name it (owners of pods, the port asked about after a Service resolved it, the yes/no of --from).
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import type { SnapshotScope } from '../cluster/types.js';
import type { World } from '../engine/world.js';
import type { IpBlock, PodRef, PortQuery, Warning } from '../engine/model.js';
import { keyOf, refOf } from '../engine/model.js';
import {
  QueryError,
  resolveServicePort,
  resolveTargets,
  serviceMappingsOfPort,
  servicePorts,
  workloadOf,
} from '../engine/targets.js';
import type { ReachAnswer } from '../engine/answer.js';
import { whoCan } from '../engine/who-can.js';
import { pairsOf } from '../engine/answer.js';
import { NamespaceNotFoundError, NetpolError, NoAnswerError } from '../errors.js';
import type { PortText } from '../peer-syntax.js';
import type { AddressText, NamedTargetSpec, TargetText } from '../target-spec.js';
import type { ReachReport, ReportWarning, WorkloadRef } from './report.js';
import { completeTarget } from '../target-spec.js';

/** What to ask, as the flags say it: every value parsed, the namespace not yet known. */
export interface WhoCanOptions {
  target?: TargetText;
  /** --from: pods (a pod, a workload, a Service's pods) or an address block. */
  from?: TargetText | AddressText;
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
  from?: NamedTargetSpec | AddressText;
}

/** What `who-can` returns from run(). */
export type WhoCanReport = ReachReport;

/** Completes the options with the query's namespace: TARGET and --from take it unless they name their own. */
export function completeWhoCan(options: WhoCanOptions, namespace: string): WhoCanRequest {
  return {
    ...options,
    namespace,
    target: options.target && completeTarget(options.target, namespace),
    from: options.from && (options.from.kind === 'address' ? options.from : completeTarget(options.from, namespace)),
  };
}

/** What the live loader must fetch: every namespace (sources are anywhere) plus the objects named. */
export function scopeOf(request: WhoCanRequest): SnapshotScope {
  const named = [request.target, request.from].filter(
    (spec): spec is NamedTargetSpec => spec !== undefined && spec.kind !== 'address',
  );
  const workloads = named.flatMap((spec) =>
    spec.kind === 'pod' || spec.kind === 'service'
      ? []
      : [{ kind: spec.kind, namespace: spec.namespace, name: spec.name }],
  );
  const services = named.flatMap((spec) =>
    spec.kind === 'service' ? [{ namespace: spec.namespace, name: spec.name }] : [],
  );
  // Services are read by name, never listed: only a named service/NAME target needs one. A numeric
  // port asked of pods lists the target namespace's Services, best effort, for the hint below.
  const isPortOfPods = typeof request.port?.port === 'number' && request.target?.kind !== 'service';
  const hint = isPortOfPods && !request.allNamespaces ? [request.target?.namespace ?? request.namespace] : [];
  return { workloads, services, listServices: false, hintServices: hint };
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
  let sourceBlock: IpBlock | undefined;
  if (request.from?.kind === 'address') sourceBlock = { cidr: request.from.cidr, except: [] };
  else if (request.from !== undefined) {
    const resolved = resolveNamed(world, request.from);
    sources = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  const isQuestion = request.from !== undefined;
  const notes: string[] = [];
  const port = portOf(world, request, notes);
  const single = Array.isArray(port) ? undefined : port;
  if (single) warnings.push(...serviceHints(world, targets, single));
  const answer = whoCan(world, { targets, sources, sourceBlock, port, includeDenied: request.explain || isQuestion });
  warnings.push(...answer.warnings);
  // "Yes" means at least one pair was checked and every one is allowed: never yes over nothing.
  if (isQuestion) {
    const why = nothingToCheck(answer, warnings);
    if (why)
      throw new NoAnswerError(
        `nothing to check: ${why}`,
        'name a target and a source with at least one pod pair between them',
      );
  }
  const reported = new Map<string, ReportWarning>();
  for (const warning of warnings) reported.set(`${warning.code}\u0000${warning.message}`, warning);
  return {
    answer,
    port: single,
    notes,
    // A denied pair exists exactly when a denied group does (the engine drops groups of a pod to itself only).
    allowed: isQuestion ? answer.deniedGroups.length === 0 && answer.deniedExternal.length === 0 : undefined,
    warnings: [...reported.values()],
    workloads: workloadsOf(world),
  };
}

/** Why an answer holds no (source, target) pair at all, or undefined when it holds one. */
function nothingToCheck(answer: ReachAnswer, warnings: Warning[]): string | undefined {
  if (!pairsOf(answer, 'allowed').next().done || !pairsOf(answer, 'denied').next().done) return undefined;
  if (answer.external.length > 0 || answer.deniedExternal.length > 0) return undefined;
  if (answer.subjects.length === 0) {
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

/**
 * --port as the engine takes it (TCP unless written). With service/NAME: the Service port resolved to
 * its targetPort, or without --port every port of the Service (through a Service no other port is
 * reached), said in a note.
 */
function portOf(world: World, request: WhoCanRequest, notes: string[]): PortQuery | PortQuery[] | undefined {
  const { port, target } = request;
  try {
    if (target?.kind === 'service' && !port) {
      const mappings = servicePorts(world, target);
      if (mappings.length === 0) return undefined;
      const shown = mappings.map(
        (m) => `${m.port}/${m.target.protocol}${m.name ? ` (${m.name})` : ''} -> ${m.target.port}`,
      );
      notes.push(
        `service ${keyOf(target)}: its ports ${shown.join(', ')}; connections are shown as the pods receive them`,
      );
      return mappings.map((m) => m.target);
    }
    if (!port) return undefined;
    if (target?.kind !== 'service') return { port: port.port, protocol: port.protocol ?? 'TCP' };
    return resolveServicePort(world, target, port.port, port.protocol);
  } catch (error) {
    if (error instanceof QueryError) throw new NetpolError(error.message, 1);
    throw error;
  }
}

/** A port asked of pods that only a Service of theirs takes (to another port): say which, and how to ask. */
function serviceHints(world: World, targets: PodRef[], port: PortQuery): Warning[] {
  return serviceMappingsOfPort(world, targets, port).map((m) => ({
    code: 'service-port' as const,
    message: `the target pods declare no port ${port.port}/${port.protocol}, but service ${keyOf(m.service)} takes its port ${m.port} to their port ${m.target.port}: to ask about the Service, use service/${m.service.name} --port ${m.port}`,
  }));
}

/** The owner of every pod: any of them may be a source, and this costs pods, not pairs. */
function workloadsOf(world: World): Map<string, WorkloadRef> {
  const workloads = new Map<string, WorkloadRef>();
  for (const pod of world.snapshot.pods) workloads.set(keyOf(refOf(pod)), workloadOf(pod));
  return workloads;
}
