/** The reachable-from query: which pods and address blocks the source pods may reach, on which ports, and why. */
import { addressConnection, deniedExternalConnections, externalConnections, NOT_APPLICABLE } from './addresses.js';
import type { Connection, ConnectionGroup, ReachAnswer } from './answer.js';
import { analysePair, decideOnAllPorts, decideOnPort } from './evaluate.js';
import type { Decision, IpBlock, PodRef, PortQuery, Warning } from './model.js';
import { keyOf } from './model.js';
import type { OutboundPort } from './outbound.js';
import { allowedDestinations } from './outbound.js';
import { resolveNamedPort } from './ports.js';
import { missingPortWarnings } from './targets.js';
import type { PodClass, PodInfo, World } from './world.js';

/** What to ask: the source pods, optionally narrowed destinations, optionally one port. */
export interface ReachableQuery {
  /** The pods asked about. */
  sources: PodRef[];
  /** Only these destination pods (`--to`); address blocks are then left out. Default: every pod. */
  destinations?: PodRef[];
  /** Only this address block as the destination (`--to CIDR`): every address of it must be reachable. */
  destinationBlock?: IpBlock;
  /** One port and protocol, or several (a Service's ports); a port name resolves on each destination pod. Default: all ports. */
  port?: PortQuery | readonly PortQuery[];
  /** Also return the destinations that are denied, with their decision (`--explain`). */
  includeDenied?: boolean;
}

/** The decision for a destination without the port name asked about (it resolves on the destination). */
function noSuchPort(destination: PodClass): Decision {
  return {
    allowed: false,
    ingress: {
      allowed: false,
      isolated: destination.ingressPolicies.length > 0,
      selectedBy: destination.ingressPolicies.map((p) => p.ref),
      allowedBy: [],
      peerAdmittedBy: [],
      reason: 'no-such-port',
      applies: true,
    },
    egress: NOT_APPLICABLE,
  };
}

/**
 * Answers a reachable-from query over a compiled world: an outbound answer whose subjects are the
 * sources. Several ports are asked one by one; their groups and address blocks are merged.
 */
export function reachableFrom(world: World, query: ReachableQuery): ReachAnswer {
  if (!Array.isArray(query.port)) return reachableOnPort(world, query as SinglePortQuery);
  const answers = (query.port as readonly PortQuery[]).map((port) => reachableOnPort(world, { ...query, port }));
  if (answers.length === 0) return reachableOnPort(world, { ...query, port: undefined });
  // Each answer numbers its decisions from 0: the merged answer numbers them on, and asks the one that made it.
  const owners: { answer: ReachAnswer; decisionId: number }[] = [];
  const renumber = (answer: ReachAnswer, groups: ConnectionGroup[]) =>
    groups.map((group) => {
      owners.push({ answer, decisionId: group.decisionId });
      return { ...group, decisionId: owners.length - 1 };
    });
  const order = new Map(answers[0].subjects.map((s, i) => [keyOf(s), i]));
  const bySubject = (list: Connection[]) =>
    list
      .map((c, i) => ({ c, i, at: order.get(keyOf((c.from as { pod: PodRef }).pod)) ?? 0 }))
      .sort((a, b) => a.at - b.at || a.i - b.i)
      .map(({ c }) => c);
  const warnings = new Map<string, Warning>();
  for (const answer of answers) for (const w of answer.warnings) warnings.set(`${w.code}\u0000${w.message}`, w);
  return {
    orientation: 'outbound',
    subjects: answers[0].subjects,
    groups: answers.flatMap((answer) => renumber(answer, answer.groups)),
    deniedGroups: answers.flatMap((answer) => renumber(answer, answer.deniedGroups)),
    external: bySubject(answers.flatMap((answer) => answer.external)),
    deniedExternal: bySubject(answers.flatMap((answer) => answer.deniedExternal)),
    warnings: [...warnings.values()],
    decide(group) {
      const owner = owners[group.decisionId];
      return owner.answer.decide({ ...group, decisionId: owner.decisionId });
    },
  };
}

type SinglePortQuery = Omit<ReachableQuery, 'port'> & { port?: PortQuery };

function reachableOnPort(world: World, query: SinglePortQuery): ReachAnswer {
  const warnings: Warning[] = [];
  const lookup = (ref: PodRef, role: string): PodInfo | undefined => {
    const info = world.podsByKey.get(keyOf(ref));
    if (!info) warnings.push({ code: 'no-target', message: `${role} pod ${keyOf(ref)} not found` });
    return info;
  };
  const sources = query.sources.map((s) => lookup(s, 'source')).filter((s): s is PodInfo => s !== undefined);
  const order = new Map(sources.map((s, i) => [keyOf(s.ref), i]));
  let destinationsByClass: Map<number, PodRef[]> | undefined;
  if (query.destinations) {
    destinationsByClass = new Map();
    for (const ref of query.destinations) {
      const d = lookup(ref, 'destination');
      if (!d) continue;
      const list = destinationsByClass.get(d.classId) ?? [];
      list.push(d.ref);
      destinationsByClass.set(d.classId, list);
    }
  }
  const portName = typeof query.port?.port === 'string' ? query.port.port : undefined;
  const asked: OutboundPort = query.port
    ? typeof query.port.port === 'number'
      ? { port: query.port.port, protocol: query.port.protocol }
      : { name: query.port.port, protocol: query.port.protocol }
    : undefined;
  const numeric =
    query.port && typeof query.port.port === 'number'
      ? { port: query.port.port, protocol: query.port.protocol }
      : undefined;

  const groups: ConnectionGroup[] = [];
  const deniedGroups: ConnectionGroup[] = [];
  const deciders: (() => Decision)[] = [];
  const decisions: (Decision | undefined)[] = [];
  const external: Connection[][] = [];
  const deniedExternal: Connection[][] = [];

  // Sources of one class share one answer.
  const sourceClasses = new Map<number, PodInfo[]>();
  for (const source of sources) {
    const list = sourceClasses.get(source.classId) ?? [];
    list.push(source);
    sourceClasses.set(source.classId, list);
    if (source.isHostNetwork) {
      warnings.push({
        code: 'host-network-pod',
        message: `pod ${keyOf(source.ref)} uses the host network: its traffic comes from the node's address, which pod selectors and most network plugins do not tell apart`,
      });
    }
    // Addresses as destinations: the source's egress alone decides; a port name resolves on no address.
    const slot = order.get(keyOf(source.ref))!;
    if (query.destinationBlock) {
      const c = addressConnection(world, source, query.destinationBlock, 'egress', numeric);
      external[slot] = c.decision.allowed ? [c] : [];
      deniedExternal[slot] = c.decision.allowed ? [] : [c];
    } else if (!query.destinations && portName === undefined) {
      external[slot] = externalConnections(world, source, 'egress', numeric);
      if (query.includeDenied) deniedExternal[slot] = deniedExternalConnections(world, source, 'egress', numeric);
    }
  }

  if (query.destinations && portName !== undefined) {
    // Destinations named (--to) that lack the port name: said once per workload, as who-can says it.
    const lacking = [...(destinationsByClass?.values() ?? [])]
      .flat()
      .map((ref) => world.podsByKey.get(keyOf(ref))!)
      .filter((pod) => resolveNamedPort(pod.pod, portName, query.port!.protocol) === undefined);
    if (lacking.length > 0) warnings.push(...missingPortWarnings(lacking, query.port!));
  }

  if (!query.destinationBlock) {
    const protocol = query.port?.protocol;
    /** The destination pods of a class the query looks at (all, or those of --to). */
    const podsOf = (id: number): PodInfo[] => {
      const members = world.classes[id].members;
      if (!destinationsByClass) return members;
      const wanted = new Set((destinationsByClass.get(id) ?? []).map(keyOf));
      return members.filter((m) => wanted.has(keyOf(m.ref)));
    };
    /** A port name resolves on each destination pod: the pods of a class split by the number it gives. */
    const byNumber = (pods: PodInfo[]): Map<number | undefined, PodInfo[]> => {
      // Without a name every pod gives the same answer: the list itself (a class's members stay shared).
      if (portName === undefined) return new Map([[numeric?.port, pods]]);
      const out = new Map<number | undefined, PodInfo[]>();
      for (const pod of pods) {
        const number = resolveNamedPort(pod.pod, portName, protocol!);
        const list = out.get(number);
        if (list) list.push(pod);
        else out.set(number, [pod]);
      }
      return out;
    };
    for (const [classId, members] of sourceClasses) {
      const cls = world.classes[classId];
      const subjects = members.map((m) => m.ref);
      const make = (
        id: number,
        peerPods: PodInfo[],
        decide: () => Decision,
        port?: number,
      ): ConnectionGroup | undefined => {
        // A class listed whole shares its member list with every answer that lists it.
        const peers =
          peerPods === world.classes[id].members ? world.classes[id].memberRefs : peerPods.map((p) => p.ref);
        // Skip groups whose only pair would be a pod with itself.
        if (peers.length === 0 || (peers.length === 1 && subjects.length === 1 && peers[0] === subjects[0]))
          return undefined;
        const decisionId = deciders.length;
        deciders.push(decide);
        const group: ConnectionGroup = { subjects, peers, decisionId };
        if (query.port) {
          if (port !== undefined) group.port = port;
          group.protocol = query.port.protocol;
          if (portName !== undefined) group.portName = portName;
        }
        return group;
      };
      const analysis = (id: number) => () => analysePair(world, cls, world.classes[id]);
      const decideOn = (id: number, number: number | undefined) =>
        query.port === undefined
          ? () => decideOnAllPorts(analysis(id)()).decision
          : number === undefined
            ? () => noSuchPort(world.classes[id])
            : () => decideOnPort(analysis(id)(), query.port!.protocol, number);
      const entries = allowedDestinations(world, cls, asked);
      const allowed = new Set<string>();
      for (const entry of entries) {
        allowed.add(`${entry.id}/${entry.port}`);
        const pods = podsOf(entry.id);
        if (pods.length === 0) continue;
        const peerPods = portName === undefined ? pods : (byNumber(pods).get(entry.port) ?? []);
        if (peerPods.length === 0) continue;
        const group = make(entry.id, peerPods, decideOn(entry.id, entry.port), entry.port);
        if (!group) continue;
        if (!query.port) group.ports = entry.ports;
        groups.push(group);
      }
      if (!query.includeDenied) continue;
      // Denied: every destination the query looks at that no entry holds, on the number its pods resolve.
      const classIds = destinationsByClass ? [...destinationsByClass.keys()] : world.classes.map((c) => c.id);
      for (const id of classIds) {
        for (const [number, peerPods] of byNumber(podsOf(id))) {
          if (allowed.has(`${id}/${query.port === undefined ? undefined : number}`)) continue;
          const group = make(id, peerPods, decideOn(id, query.port === undefined ? undefined : number), number);
          if (group) deniedGroups.push(group);
        }
      }
    }
  }

  return {
    orientation: 'outbound',
    subjects: sources.map((s) => s.ref),
    groups,
    deniedGroups,
    external: external.flatMap((list) => list ?? []),
    deniedExternal: deniedExternal.flatMap((list) => list ?? []),
    warnings,
    decide(group) {
      return (decisions[group.decisionId] ??= deciders[group.decisionId]());
    },
  };
}
