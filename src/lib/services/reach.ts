/**
 * The reachability queries between the commands and the engine, both ways of asking: who-can (inbound:
 * who reaches the subject pods) and reachable-from (outbound: what the subject pods reach). The request
 * as the flags describe it, parsed once (the subject and the other side as namespace-less specs); the
 * request completed with the query's namespace (kubectl's Complete step); what the live loader must
 * list; and the answer with what the views need to name it (owners of pods, the port asked about after
 * a Service resolved it, the yes/no of a question).
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import type { SnapshotScope } from '../cluster/types.js';
import type { Orientation, ReachAnswer, StreamedAnswer } from '../engine/answer.js';
import { pairsOf } from '../engine/answer.js';
import type { IpBlock, PodRef, PortQuery, Warning } from '../engine/model.js';
import { keyOf, refOf } from '../engine/model.js';
import { reachableFrom } from '../engine/reachable-from.js';
import {
  QueryError,
  resolveServicePort,
  resolveTargets,
  serviceMappingsOfPort,
  servicePorts,
  workloadOf,
} from '../engine/targets.js';
import { whoCan, whoCanStreamed } from '../engine/who-can.js';
import type { World } from '../engine/world.js';
import { NamespaceNotFoundError, NetpolError, NoAnswerError } from '../errors.js';
import type { PortText } from '../peer-syntax.js';
import type { AddressText, NamedTargetSpec, TargetText } from '../target-spec.js';
import { completeTarget } from '../target-spec.js';
import type { ReachReport, ReportWarning, WorkloadRef } from './report.js';

/** What to ask, as the flags say it: every value parsed, the namespace not yet known. */
export interface ReachOptions {
  /** inbound: who-can (the subject is the destination); outbound: reachable-from (the subject is the source). */
  orientation: Orientation;
  /** The pods asked about (who-can's TARGET, reachable-from's SOURCE); default: every pod of the namespace. */
  subject?: TargetText;
  /** The question's other side (--from, --to): pods (a pod, a workload, a Service's pods) or an address block. */
  other?: TargetText | AddressText;
  selector?: V1LabelSelector;
  port?: PortText;
  allNamespaces: boolean;
  explain: boolean;
}

/** The request with its namespace resolved: what the scope and the answer are computed from. */
interface ReachRequest extends Omit<ReachOptions, 'subject' | 'other'> {
  /** -n, else the context's namespace (live), else `default`. */
  namespace: string;
  subject?: NamedTargetSpec;
  other?: NamedTargetSpec | AddressText;
}

/** Completes the options with the query's namespace: the subject takes it unless it names its own, the other side takes the subject's. */
export function completeReach(options: ReachOptions, namespace: string): ReachRequest {
  const subject = options.subject && completeTarget(options.subject, namespace);
  // The other side is in the subject's namespace unless it names its own (`who-can x/b --from a` is x/a).
  const near = subject?.namespace ?? namespace;
  const { other } = options;
  return {
    ...options,
    namespace,
    subject,
    other: other && (other.kind === 'address' ? other : completeTarget(other, near)),
  };
}

/** The named pods on the receiving end of the connections asked about (a Service there is reached through its ports). */
function destinationOf(request: Pick<ReachRequest, 'orientation' | 'subject' | 'other'>): NamedTargetSpec | undefined {
  const spec = request.orientation === 'inbound' ? request.subject : request.other;
  return spec?.kind === 'address' ? undefined : spec;
}

/** What the live loader must fetch: every namespace (the other side is anywhere) plus the objects named. */
export function scopeOf(request: ReachRequest): SnapshotScope {
  const named = [request.subject, request.other].filter(
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
  // Services are read by name, never listed: only a named service/NAME needs one. A numeric port asked
  // of named destination pods lists their namespace's Services, best effort, for the hint below.
  const destination = destinationOf(request);
  const isPortOfPods = typeof request.port?.port === 'number' && destination?.kind !== 'service';
  const hintNamespace =
    request.orientation === 'inbound'
      ? request.allNamespaces
        ? undefined
        : (destination?.namespace ?? request.namespace)
      : destination?.namespace;
  const hint = isPortOfPods && hintNamespace !== undefined ? [hintNamespace] : [];
  return { workloads, services, listServices: false, hintServices: hint };
}

/**
 * Runs the query: resolve the subject, the other side and the port, ask the engine, and collect what
 * the views need. With `streamed` (a document is written from it), who-can's answer that is no
 * question computes its groups as it is walked.
 */
export function answerReach(world: World, request: ReachRequest): ReachReport;
export function answerReach(
  world: World,
  request: ReachRequest,
  opts: { streamed: boolean },
): ReachReport<ReachAnswer | StreamedAnswer>;
export function answerReach(
  world: World,
  request: ReachRequest,
  opts: { streamed: boolean } = { streamed: false },
): ReachReport<ReachAnswer | StreamedAnswer> {
  const warnings: Warning[] = [...world.warnings];
  let subjects: PodRef[];
  if (request.subject !== undefined) {
    const resolved = resolveNamed(world, request.subject);
    subjects = resolved.pods;
    warnings.push(...resolved.warnings);
  } else {
    if (!request.allNamespaces) requireNamespace(world, request.namespace);
    const resolved = resolveTargets(world, {
      kind: 'selector',
      namespaces: request.allNamespaces ? undefined : [request.namespace],
      selector: request.selector,
    });
    subjects = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  let others: PodRef[] | undefined;
  let block: IpBlock | undefined;
  if (request.other?.kind === 'address') block = { cidr: request.other.cidr, except: [] };
  else if (request.other !== undefined) {
    const resolved = resolveNamed(world, request.other);
    others = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  const isQuestion = request.other !== undefined;
  const notes: string[] = [];
  const port = portOf(world, request, notes);
  const single = Array.isArray(port) ? undefined : port;
  const destinations = request.orientation === 'inbound' ? subjects : others;
  if (single && destinations) {
    const side = request.orientation === 'inbound' ? 'target' : 'destination';
    warnings.push(...serviceHints(world, destinations, single, side));
  }
  const includeDenied = request.explain || isQuestion;
  const inbound = { targets: subjects, sources: others, sourceBlock: block, port, includeDenied };
  if (opts.streamed && !isQuestion && request.orientation === 'inbound') {
    const answer = whoCanStreamed(world, inbound);
    return reportOf(world, answer, single, notes, undefined, [...warnings, ...answer.warnings]);
  }
  const answer =
    request.orientation === 'inbound'
      ? whoCan(world, inbound)
      : reachableFrom(world, { sources: subjects, destinations: others, destinationBlock: block, port, includeDenied });
  warnings.push(...answer.warnings);
  // "Yes" means at least one pair was checked and every one is allowed: never yes over nothing.
  if (isQuestion) {
    const why = nothingToCheck(answer, warnings);
    if (why) {
      const [subject, other] =
        request.orientation === 'inbound' ? ['a target', 'a source'] : ['a source', 'a destination'];
      throw new NoAnswerError(
        `nothing to check: ${why}`,
        `name ${subject} and ${other} with at least one pod pair between them`,
      );
    }
  }
  // A denied pair exists exactly when a denied group does (the engine drops groups of a pod to itself only).
  const allowed = isQuestion ? answer.deniedGroups.length === 0 && answer.deniedExternal.length === 0 : undefined;
  return reportOf(world, answer, single, notes, allowed, warnings);
}

/** The report of an answer: its warnings each once, and the owners of the pods. */
function reportOf<Answer extends ReachAnswer | StreamedAnswer>(
  world: World,
  answer: Answer,
  port: PortQuery | undefined,
  notes: string[],
  allowed: boolean | undefined,
  warnings: Warning[],
): ReachReport<Answer> {
  const reported = new Map<string, ReportWarning>();
  for (const warning of warnings) reported.set(`${warning.code}\u0000${warning.message}`, warning);
  return { answer, port, notes, allowed, warnings: [...reported.values()], workloads: workloadsOf(world) };
}

/** Why an answer holds no (source, destination) pair at all, or undefined when it holds one. */
function nothingToCheck(answer: ReachAnswer, warnings: Warning[]): string | undefined {
  if (!pairsOf(answer, 'allowed').next().done || !pairsOf(answer, 'denied').next().done) return undefined;
  if (answer.external.length > 0 || answer.deniedExternal.length > 0) return undefined;
  if (answer.subjects.length === 0) {
    const said = warnings.filter((w) => w.code === 'no-target').map((w) => w.message);
    return said.length > 0 ? said.join('; ') : `no ${answer.orientation === 'inbound' ? 'target' : 'source'} pods`;
  }
  const side = answer.orientation === 'inbound' ? 'target' : 'destination';
  return `the only pod of the source is the only pod of the ${side} (a pod always reaches itself)`;
}

function requireNamespace(world: World, namespace: string): void {
  const names = world.snapshot.namespaces.map((item) => item.metadata?.name ?? '');
  if (!names.includes(namespace)) {
    throw new NamespaceNotFoundError([namespace], names, { usage: 'use --namespace NAME or --all-namespaces' });
  }
}

/** Resolves a named subject or other side to pods; naming something that does not exist is an error. */
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
 * --port as the engine takes it (TCP unless written). With service/NAME as the destination: the
 * Service port resolved to its targetPort, or without --port every port of the Service (through a
 * Service no other port is reached), said in a note.
 */
function portOf(world: World, request: ReachRequest, notes: string[]): PortQuery | PortQuery[] | undefined {
  const { port } = request;
  const service = destinationOf(request);
  try {
    if (service?.kind === 'service' && !port) {
      const mappings = servicePorts(world, service);
      if (mappings.length === 0) return undefined;
      const shown = mappings.map(
        (m) => `${m.port}/${m.target.protocol}${m.name ? ` (${m.name})` : ''} -> ${m.target.port}`,
      );
      notes.push(
        `service ${keyOf(service)}: its ports ${shown.join(', ')}; connections are shown as the pods receive them`,
      );
      return mappings.map((m) => m.target);
    }
    if (!port) return undefined;
    if (service?.kind !== 'service') return { port: port.port, protocol: port.protocol ?? 'TCP' };
    return resolveServicePort(world, service, port.port, port.protocol);
  } catch (error) {
    if (error instanceof QueryError) throw new NetpolError(error.message, 1);
    throw error;
  }
}

/** A port asked of pods that only a Service of theirs takes (to another port): say which, and how to ask. */
function serviceHints(world: World, destinations: PodRef[], port: PortQuery, side: string): Warning[] {
  return serviceMappingsOfPort(world, destinations, port).map((m) => ({
    code: 'service-port' as const,
    message: `the ${side} pods declare no port ${port.port}/${port.protocol}, but service ${keyOf(m.service)} takes its port ${m.port} to their port ${m.target.port}: to ask about the Service, use service/${m.service.name} --port ${m.port}`,
  }));
}

const owners = new WeakMap<World, ReadonlyMap<string, WorkloadRef>>();

/**
 * The owner of every pod: any of them may be a peer, and this costs pods, not pairs. Worked out once
 * per world (audit --expect asks many questions of one world) and only read.
 */
function workloadsOf(world: World): ReadonlyMap<string, WorkloadRef> {
  let workloads = owners.get(world);
  if (!workloads) {
    const map = new Map<string, WorkloadRef>();
    for (const pod of world.snapshot.pods) map.set(keyOf(refOf(pod)), workloadOf(pod));
    owners.set(world, (workloads = map));
  }
  return workloads;
}
