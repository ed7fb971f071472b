/** The reachable-from query: which pods and address blocks the source pods may reach, on which ports, and why. */
import { addressConnection, deniedExternalConnections, externalConnections, noSuchPortDecision } from './addresses.js';
import type { Connection, ConnectionGroup, ReachAnswer } from './answer.js';
import { analysePair, decideOnAllPorts, decideOnPort } from './evaluate.js';
import type { Decision, IpBlock, PodRef, PortQuery, PortSet, Warning } from './model.js';
import { keyOf } from './model.js';
import type { OutboundPort } from './outbound.js';
import { allowedDestinations } from './outbound.js';
import { resolveNamedPort } from './ports.js';
import { missingPortWarnings } from './targets.js';
import type { PodInfo, World } from './world.js';

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

/** A group of a whole destination class reached without a port name (as `make` writes it, shape for shape). */
function plainGroup(
  subjects: PodRef[],
  peers: PodRef[],
  decisionId: number,
  asked: PortQuery | undefined,
  port: number | undefined,
  ports: PortSet | undefined,
): ConnectionGroup {
  if (!asked) return ports ? { subjects, peers, ports, decisionId } : { subjects, peers, decisionId };
  return { subjects, peers, port, protocol: asked.protocol, decisionId };
}

type SinglePortQuery = Omit<ReachableQuery, 'port'> & { port?: PortQuery };

/** A group's port when every port was asked about. */
const ALL_PORTS = -1;
/** A group's port when its destination lacks the port name asked about. */
const NO_SUCH_PORT = -2;

/**
 * How to decide each group of an answer (by its decisionId), as data: runs of consecutive ids, each
 * of one source class, with per id the destination class and the port number (or ALL_PORTS,
 * NO_SUCH_PORT). A run of allowed destinations is the outbound entries themselves, not a copy.
 */
class GroupKeys {
  private readonly starts: number[] = [];
  private readonly sources: number[] = [];
  private readonly peers: ArrayLike<number>[] = [];
  private readonly ports: (ArrayLike<number> | number)[] = [];
  /** Runs made by addOne, which it may grow. */
  private readonly growing: (number[] | undefined)[] = [];
  private size = 0;

  /** A run of ids for these destination classes (ports: one for all, or one per class); its first id. */
  add(source: number, peers: ArrayLike<number>, ports: ArrayLike<number> | number): number {
    this.starts.push(this.size);
    this.sources.push(source);
    this.peers.push(peers);
    this.ports.push(ports);
    this.growing.push(undefined);
    this.size += peers.length;
    return this.size - peers.length;
  }

  /** One id (appended to the last run when addOne made it for the same source); the id. */
  addOne(source: number, peer: number, port: number): number {
    const last = this.sources.length - 1;
    const growing = last >= 0 && this.sources[last] === source ? this.growing[last] : undefined;
    if (!growing) {
      const ports = [port];
      this.add(source, [peer], ports);
      this.growing[last + 1] = ports;
      return this.size - 1;
    }
    (this.peers[last] as number[]).push(peer);
    growing.push(port);
    return this.size++;
  }

  /** What decides group `id`. */
  at(id: number): { source: number; peer: number; port: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    // The last run starting at or before id.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid] <= id) lo = mid;
      else hi = mid - 1;
    }
    const i = id - this.starts[lo];
    const ports = this.ports[lo];
    return { source: this.sources[lo], peer: this.peers[lo][i], port: typeof ports === 'number' ? ports : ports[i] };
  }
}

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

  // Groups per source class, in order (one list each: the common one is sized once, not grown).
  const groupLists: ConnectionGroup[][] = [];
  const deniedGroups: ConnectionGroup[] = [];
  const keys = new GroupKeys();
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
      const make = (id: number, peerPods: PodInfo[], port?: number, ports?: PortSet): ConnectionGroup | undefined => {
        // A class listed whole shares its member list with every answer that lists it.
        const peers =
          peerPods === world.classes[id].members ? world.classes[id].memberRefs : peerPods.map((p) => p.ref);
        // Skip groups whose only pair would be a pod with itself.
        if (peers.length === 0 || (peers.length === 1 && subjects.length === 1 && peers[0] === subjects[0]))
          return undefined;
        const decisionId = keys.addOne(classId, id, query.port === undefined ? ALL_PORTS : (port ?? NO_SUCH_PORT));
        // Each shape written whole: tens of thousands of groups, no property added later.
        if (!query.port) return ports ? { subjects, peers, ports, decisionId } : { subjects, peers, decisionId };
        const { protocol } = query.port;
        if (portName !== undefined) {
          return port === undefined
            ? { subjects, peers, protocol, portName, decisionId }
            : { subjects, peers, port, protocol, portName, decisionId };
        }
        return { subjects, peers, port, protocol, decisionId };
      };
      const entries = allowedDestinations(world, cls, asked);
      // What was allowed, for the denied ones below: class and port in one number.
      const allowed = query.includeDenied ? new Set<number>() : undefined;
      const keyOfEntry = (id: number, port: number | undefined) => id * 65537 + (port ?? 65536);
      const isPlain = !destinationsByClass && portName === undefined;
      const { ids } = entries;
      if (isPlain) {
        // Every pod of each class, one port or the ports allowed (the common case, tens of thousands
        // of groups per answer: one group per entry, its decision keyed by the entries themselves).
        const refsOf = world.index.memberRefs;
        const start = keys.add(classId, ids, query.port === undefined ? ALL_PORTS : entries.port!);
        const filled = new Array<ConnectionGroup>(ids.length);
        let n = 0;
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          const port = entries.port?.[i];
          allowed?.add(keyOfEntry(id, port));
          const peers = refsOf[id];
          // Skip a group whose only pair would be a pod with itself.
          if (id === classId && peers.length === 1 && subjects.length === 1 && peers[0] === subjects[0]) continue;
          filled[n++] = plainGroup(subjects, peers, start + i, query.port, port, entries.ports?.[i]);
        }
        filled.length = n;
        groupLists.push(filled);
      } else {
        const groups: ConnectionGroup[] = [];
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          const port = entries.port?.[i];
          allowed?.add(keyOfEntry(id, port));
          const pods = podsOf(id);
          const peerPods = portName === undefined ? pods : (byNumber(pods).get(port) ?? []);
          if (peerPods.length === 0) continue;
          const group = make(id, peerPods, port, entries.ports?.[i]);
          if (group) groups.push(group);
        }
        groupLists.push(groups);
      }
      if (!allowed) continue;
      // Denied: every destination the query looks at that no entry holds, on the number its pods resolve.
      const classIds = destinationsByClass ? [...destinationsByClass.keys()] : world.classes.map((c) => c.id);
      for (const id of classIds) {
        for (const [number, peerPods] of byNumber(podsOf(id))) {
          if (allowed.has(keyOfEntry(id, query.port === undefined ? undefined : number))) continue;
          const group = make(id, peerPods, number);
          if (group) deniedGroups.push(group);
        }
      }
    }
  }

  /** A group's decision, from what was kept of it. */
  const decideGroup = (decisionId: number): Decision => {
    const key = keys.at(decisionId);
    const peer = world.classes[key.peer];
    const { port } = key;
    if (port === NO_SUCH_PORT) return noSuchPortDecision(peer);
    const analysis = analysePair(world, world.classes[key.source], peer);
    if (port === ALL_PORTS) return decideOnAllPorts(analysis).decision;
    return decideOnPort(analysis, query.port!.protocol, port);
  };

  return {
    orientation: 'outbound',
    subjects: sources.map((s) => s.ref),
    groups: groupLists.length === 1 ? groupLists[0] : groupLists.flat(),
    deniedGroups,
    external: external.flatMap((list) => list ?? []),
    deniedExternal: deniedExternal.flatMap((list) => list ?? []),
    warnings,
    decide(group) {
      return (decisions[group.decisionId] ??= decideGroup(group.decisionId));
    },
  };
}
