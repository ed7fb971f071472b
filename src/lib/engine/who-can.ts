/** The who-can query: which peers can reach which target pods, on which ports, and why. */
import { addressConnection, deniedExternalConnections, externalConnections, noSuchPortDecision } from './addresses.js';
import { analysePair, decideOnAllPorts, decideOnPort } from './evaluate.js';
import type { ClassMatrix, MatrixOptions } from './matrix.js';
import { allowedSourceClasses, Evaluator, reachabilityMatrix as v1Matrix } from './matrix.js';
import { layoutOf } from './layout.js';
import { tierReachabilityMatrix, tierSourceClasses } from './tier-matrix.js';
import type { Connection, ConnectionGroup, ReachAnswer, StreamedAnswer } from './answer.js';
import type { Decision, IpBlock, PodRef, PortQuery, PortSet, Protocol, Warning } from './model.js';
import { keyOf } from './model.js';
import { emptyPortSet, resolveNamedPort } from './ports.js';
import { missingPortWarnings } from './targets.js';
import type { PodClass, PodInfo, World } from './world.js';

/** What to ask: destinations, optionally narrowed sources, optionally one port. */
export interface WhoCanQuery {
  /** Destination pods. */
  targets: PodRef[];
  /** Only these source pods (`--from`); address blocks are then left out. Default: every pod. */
  sources?: PodRef[];
  /** Only this address block as the source (`--from CIDR`): pods are left out, every address must be admitted. */
  sourceBlock?: IpBlock;
  /** One port and protocol, or several (a Service's ports); a port name resolves on each target pod. Default: all ports. */
  port?: PortQuery | readonly PortQuery[];
  /** Also return the sources that are denied, with their decision (`--explain`). */
  includeDenied?: boolean;
}

/** A target pod class with one resolved port (or lacking the port name asked about), and its pods. */
interface TargetGroup {
  cls: PodClass;
  port?: { port: number; protocol: Protocol };
  /** The port name asked about, when it was asked by name. */
  portName?: string;
  /** The pods have no container port of the name asked about: nothing reaches them on it. */
  lacksPort?: boolean;
  /** With lacksPort: the protocol asked about. */
  protocol?: Protocol;
  pods: PodInfo[];
}

/**
 * How each group of an answer is decided, as data: a target group's candidate source classes get a
 * run of decisionIds (start + position in its list), so no closure, object or entry is made per
 * group (a view may never ask); each decision is made on its first ask.
 */
class GroupDecider {
  private readonly runs: { start: number; target: TargetGroup; sources: ArrayLike<number> }[] = [];
  private next = 0;
  private readonly made = new Map<number, Decision>();

  constructor(private readonly world: World) {}

  /** The first decisionId of a target group's source classes: the one of `sources[i]` is that plus i. */
  add(target: TargetGroup, sources: ArrayLike<number>): number {
    this.runs.push({ start: this.next, target, sources });
    this.next += sources.length;
    return this.next - sources.length;
  }

  decide(id: number): Decision {
    let decision = this.made.get(id);
    if (!decision) this.made.set(id, (decision = this.make(id)));
    return decision;
  }

  private make(id: number): Decision {
    // The run holding the id: the last that starts at or before it (runs are in start order).
    let lo = 0;
    let hi = this.runs.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.runs[mid].start <= id) lo = mid;
      else hi = mid;
    }
    const { start, target, sources } = this.runs[lo];
    const { cls, port, lacksPort } = target;
    // Nothing reaches a pod on a port name it lacks.
    if (lacksPort) return noSuchPortDecision(cls);
    const pair = analysePair(this.world, this.world.classes[sources[id - start]], cls);
    return port ? decideOnPort(pair, port.protocol, port.port) : decideOnAllPorts(pair).decision;
  }
}

const evaluators = new WeakMap<World, Evaluator>();

/**
 * The world's evaluator, kept for every query (as tier-matrix.ts keeps its own): its scratch sets are
 * as wide as the world, so a new one per query allocated and zeroed that much for each answer.
 */
function evaluatorOf(world: World): Evaluator {
  let evaluator = evaluators.get(world);
  if (!evaluator) evaluators.set(world, (evaluator = new Evaluator(layoutOf(world))));
  return evaluator;
}

/**
 * Whether two source classes get the same answer (decision and ports) from the pods of `target`. Classes of one label class share namespace, labels and
 * egress policies (world.ts), so they differ in a decision only through the ipBlock peers of the
 * target's ingress rules (peers.ts peerAdmitsClass: an ipBlock admits a class by its pods' IPs) and,
 * with cluster tiers, through their tier class (evaluate.ts withTiers reads no more of a source).
 */
function sameAnswer(world: World, target: PodClass): (a: number, b: number) => boolean {
  const blocks: number[] = [];
  for (const policy of target.ingressPolicies)
    for (const rule of policy.ingress ?? [])
      if (rule.peers !== 'all') for (const peer of rule.peers) if (peer.kind === 'ipBlock') blocks.push(peer.id);
  const { classes } = world;
  const { labelClassOf } = labelClassRunsOf(world);
  const tierClassOf = world.tiers?.classOf;
  // Read from two flat arrays: a big answer compares some 24,000 classes, whose objects lie all over the heap.
  return (a, b) => {
    if (labelClassOf[a] !== labelClassOf[b] || (tierClassOf && tierClassOf[a] !== tierClassOf[b])) return false;
    if (blocks.length === 0) return true;
    const x = classes[a].ipBlockIds;
    const y = classes[b].ipBlockIds;
    for (const id of blocks) if (x !== y && x.has(id) !== y.has(id)) return false;
    return true;
  };
}

/** Room for the [first, end) positions of an answer's groups, reused by every query (they are read before it returns). */
let bounds = new Int32Array(0);

function runBounds(groups: number): Int32Array {
  if (bounds.length < 2 * groups) bounds = new Int32Array(2 * groups);
  return bounds;
}

/** The pods of runs of classes of one label class, in class order; made once per world. */
class LabelClassRuns {
  /** Per label class, its pods in class order (one array, shared by every answer that lists the whole label class). */
  private readonly whole: (PodRef[] | undefined)[];
  /** Class id -> its label class. */
  readonly labelClassOf: Int32Array;

  constructor(private readonly world: World) {
    this.labelClassOf = Int32Array.from(world.classes, (c) => c.labelClass);
    // Sized once: filled at random label classes, a growing array would turn into a dictionary.
    this.whole = new Array<PodRef[] | undefined>(world.labelClasses.length).fill(undefined);
  }

  /** The pods of the classes ids[order[k]] (or ids[k]) for k in [from, to), all of one label class. */
  peers(ids: ArrayLike<number>, order: ArrayLike<number> | undefined, from: number, to: number): PodRef[] {
    const { classes, labelClasses, index } = this.world;
    const lc = classes[ids[order ? order[from] : from]].labelClass;
    if (to - from === labelClasses[lc].length) {
      let pods = this.whole[lc];
      if (!pods) {
        // A label class lists its classes as they were made, in class order (compile.ts).
        pods = [];
        for (const cls of labelClasses[lc]) for (const pod of index.memberRefs[cls.id]) pods.push(pod);
        this.whole[lc] = pods;
      }
      return pods;
    }
    const pods: PodRef[] = [];
    for (let k = from; k < to; k++) for (const pod of index.memberRefs[ids[order ? order[k] : k]]) pods.push(pod);
    return pods;
  }
}

const labelClassRuns = new WeakMap<World, LabelClassRuns>();

function labelClassRunsOf(world: World): LabelClassRuns {
  let runs = labelClassRuns.get(world);
  if (!runs) labelClassRuns.set(world, (runs = new LabelClassRuns(world)));
  return runs;
}

/** Answers a who-can query over a compiled world, every group at once. */
export function whoCan(world: World, query: WhoCanQuery): ReachAnswer {
  const { shares, groupsOf, ...rest } = prepareWhoCan(world, query);
  const decider = new GroupDecider(world);
  let groups: ConnectionGroup[] = [];
  let deniedGroups: ConnectionGroup[] = [];
  for (const share of shares) {
    const found = groupsOf(share, decider);
    // One target group (a pod, a workload) is the common case: its lists as they are.
    if (shares.length === 1) ({ groups, deniedGroups } = found);
    else {
      for (const g of found.groups) groups.push(g);
      for (const g of found.deniedGroups) deniedGroups.push(g);
    }
  }
  return { ...rest, groups, deniedGroups, decide: (group) => decider.decide(group.decisionId) };
}

/**
 * The same answer with its groups computed target class by target class as a walk reaches them
 * (connectionsOf), each class's groups and decisions dropped after its last target pod: what a
 * whole-cluster document streams from, in memory bounded by the world, not by the answer.
 */
export function whoCanStreamed(world: World, query: WhoCanQuery): StreamedAnswer {
  const { shares, groupsOf, ...rest } = prepareWhoCan(world, query);
  return {
    ...rest,
    shares: shares.map((share) => ({
      subjects: share.pods.map((pod) => pod.ref),
      compute() {
        const decider = new GroupDecider(world);
        // One group per source class: whole-cluster.ts tells a class pair's decisions by the class's pods array.
        return { ...groupsOf(share, decider, false), decide: (group) => decider.decide(group.decisionId) };
      },
    })),
  };
}

/** A who-can query up to its groups: the target groups, how to compute each one's groups, the address blocks. */
function prepareWhoCan(world: World, query: WhoCanQuery) {
  const warnings: Warning[] = [];
  const external: Connection[][] = [];
  const deniedExternal: Connection[][] = [];
  const lookup = (ref: PodRef, role: string): PodInfo | undefined => {
    const info = world.podsByKey.get(keyOf(ref));
    if (!info) warnings.push({ code: 'no-target', message: `${role} pod ${keyOf(ref)} not found` });
    return info;
  };
  const targets = query.targets.map((t) => lookup(t, 'target')).filter((t): t is PodInfo => t !== undefined);
  const targetOrder = new Map(targets.map((t, i) => [keyOf(t.ref), i]));
  // Sources per class, in snapshot order.
  let sourcesByClass: Map<number, PodRef[]> | undefined;
  let sourceInfos: PodInfo[] = world.pods;
  if (query.sources) {
    sourceInfos = query.sources.map((s) => lookup(s, 'source')).filter((s): s is PodInfo => s !== undefined);
    sourcesByClass = new Map();
    for (const s of sourceInfos) {
      const list = sourcesByClass.get(s.classId) ?? [];
      list.push(s.ref);
      sourcesByClass.set(s.classId, list);
    }
  }
  // One port, several (a Service's ports), or every port (undefined).
  const asked: (PortQuery | undefined)[] = query.port === undefined ? [undefined] : [query.port].flat();

  // Targets of one class with one resolved port get one answer.
  const targetGroups = new Map<string, TargetGroup>();
  const lackingPort = asked.map((): PodInfo[] => []);
  for (const target of targets) {
    if (target.isHostNetwork) {
      warnings.push({
        code: 'host-network-pod',
        message: `pod ${keyOf(target.ref)} uses the host network: NetworkPolicy leaves its isolation to the network plugin, most do not isolate it`,
      });
    }
    if (target.isTerminating) {
      warnings.push({
        code: 'terminating-pod',
        message: `pod ${keyOf(target.ref)} is terminating; its answer holds until it is gone`,
      });
    }
    const ext: Connection[] = [];
    const deniedExt: Connection[] = [];
    const block = query.sourceBlock;
    asked.forEach((wanted, which) => {
      const portName = typeof wanted?.port === 'string' ? wanted.port : undefined;
      let port: { port: number; protocol: Protocol } | undefined;
      if (wanted) {
        const { protocol } = wanted;
        const number =
          typeof wanted.port === 'number' ? wanted.port : resolveNamedPort(target.pod, wanted.port, protocol);
        if (number === undefined) {
          // Nothing reaches the pod on a port it does not have: denied, and said once per workload.
          lackingPort[which].push(target);
          if (block) {
            const decision = noSuchPortDecision(world.classes[target.classId]);
            deniedExt.push({ from: { ipBlock: block }, to: { pod: target.ref }, protocol, portName, decision });
            return;
          }
          const key = `${target.classId}/-/${protocol}/${portName}`;
          const group = targetGroups.get(key) ?? {
            cls: world.classes[target.classId],
            lacksPort: true,
            portName,
            protocol,
            pods: [],
          };
          group.pods.push(target);
          targetGroups.set(key, group);
          return;
        }
        port = { port: number, protocol };
      }
      const named = (found: Connection[]) => {
        if (portName !== undefined) for (const c of found) c.portName = portName;
        return found;
      };
      if (block) {
        // An address block as the source: its answer only, no pod is a source.
        const c = named([addressConnection(world, target, block, 'ingress', port)])[0];
        (c.decision.allowed ? ext : deniedExt).push(c);
        return;
      }
      const key = `${target.classId}/${port ? `${port.port}/${port.protocol}` : ''}/${portName}`;
      const group = targetGroups.get(key) ?? { cls: world.classes[target.classId], port, portName, pods: [] };
      group.pods.push(target);
      targetGroups.set(key, group);
      if (!query.sources) {
        ext.push(...named(externalConnections(world, target, 'ingress', port)));
        if (query.includeDenied) deniedExt.push(...named(deniedExternalConnections(world, target, 'ingress', port)));
      }
    });
    const slot = targetOrder.get(keyOf(target.ref))!;
    external[slot] = ext;
    deniedExternal[slot] = deniedExt;
  }

  asked.forEach((wanted, which) => {
    if (wanted && lackingPort[which].length > 0) warnings.push(...missingPortWarnings(lackingPort[which], wanted));
  });

  /**
   * The groups of one target group (a class with one resolved port): its allowed and (when asked)
   * denied source classes, each given a decisionId by `decider`. With `byLabelClass`, allowed
   * classes of one label class that the target answers alike are one group (when every source and
   * only the allowed ones are asked about).
   */
  const groupsOfTarget = (
    target: TargetGroup,
    decider: GroupDecider,
    byLabelClass = true,
  ): { groups: ConnectionGroup[]; deniedGroups: ConnectionGroup[] } => {
    const { cls, port, portName, protocol, lacksPort, pods } = target;
    const groups: ConnectionGroup[] = [];
    const deniedGroups: ConnectionGroup[] = [];
    const targetRefs = pods.map((p) => p.ref);
    // A group whose only pair is the only target pod to itself is skipped: only the target's own class
    // can be that, unless the sources were named (their lists are the query's).
    const self = targetRefs.length === 1 ? targetRefs[0] : undefined;
    const refsOf = world.index.memberRefs;
    const peersOf = (sourceClass: number): PodRef[] | undefined => {
      if (!sourcesByClass) {
        if (sourceClass !== cls.id) return refsOf[sourceClass];
        const sources = refsOf[sourceClass];
        return sources.length === 1 && sources[0] === self ? undefined : sources;
      }
      const sources = sourcesByClass.get(sourceClass);
      return !sources || sources.length === 0 || (sources.length === 1 && sources[0] === self) ? undefined : sources;
    };
    const namedIds = () => (sourcesByClass ? [...sourcesByClass.keys()] : world.classes.map((c) => c.id));
    if (lacksPort) {
      if (!query.includeDenied) return { groups, deniedGroups };
      const classIds = namedIds();
      const start = decider.add(target, classIds);
      for (let i = 0; i < classIds.length; i++) {
        const peers = peersOf(classIds[i]);
        if (peers) deniedGroups.push({ subjects: targetRefs, peers, protocol, portName, decisionId: start + i });
      }
      return { groups, deniedGroups };
    }
    // Cluster tiers can allow what NetworkPolicy v1 denies: their own evaluator, on the same bitsets.
    const answer = world.tiers
      ? tierSourceClasses(world, cls, port)
      : allowedSourceClasses(world, cls, port, evaluatorOf(world));
    const make = (peers: PodRef[], allowed: PortSet | true | undefined, decisionId: number): ConnectionGroup => {
      if (!port) {
        const ports = allowed === undefined || allowed === true ? emptyPortSet() : allowed;
        return { subjects: targetRefs, peers, ports, decisionId };
      }
      return portName === undefined
        ? { subjects: targetRefs, peers, port: port.port, protocol: port.protocol, decisionId }
        : { subjects: targetRefs, peers, port: port.port, protocol: port.protocol, portName, decisionId };
    };
    if (!sourcesByClass && !query.includeDenied) {
      // Only the allowed classes are visited, in class order (the evaluators give them in that order
      // already; sorted here only if not). A target that admits every namespace has tens of thousands
      // of them: neighbours that its answer cannot tell apart are one group (sameAnswer), and the list
      // is sized once, by a first pass that counts the groups.
      const { ids, ports } = answer;
      const start = decider.add(target, ids);
      let order: ArrayLike<number> | undefined;
      for (let i = 1; i < ids.length; i++) {
        if (ids[i - 1] > ids[i]) {
          order = Array.from(ids.keys()).sort((a, b) => ids[a] - ids[b] || a - b);
          break;
        }
      }
      // Groups as [first, end) positions in that order, found once (the list is then sized once).
      const alike = byLabelClass ? sameAnswer(world, cls) : () => false;
      const bounds = runBounds(ids.length);
      let count = 0;
      for (let k = 0; k < ids.length;) {
        const i = order ? order[k] : k;
        if (!peersOf(ids[i])) {
          k++;
          continue;
        }
        let end = k + 1;
        for (; end < ids.length; end++) {
          const j = order ? order[end] : end;
          if (!alike(ids[i], ids[j]) || (ports && ports[i] !== ports[j]) || !peersOf(ids[j])) break;
        }
        bounds[2 * count] = k;
        bounds[2 * count + 1] = end;
        count++;
        k = end;
      }
      const runs = labelClassRunsOf(world);
      const filled: ConnectionGroup[] = new Array<ConnectionGroup>(count);
      for (let g = 0; g < count; g++) {
        const k = bounds[2 * g];
        const end = bounds[2 * g + 1];
        const i = order ? order[k] : k;
        const peers = end - k === 1 ? peersOf(ids[i])! : runs.peers(ids, order, k, end);
        filled[g] = make(peers, ports ? ports[i] : true, start + i);
      }
      return { groups: filled, deniedGroups };
    }
    // With sources named (often a few classes of many), only theirs are kept.
    const allowedOf = new Map<number, PortSet | true>();
    for (let i = 0; i < answer.ids.length; i++) {
      const id = answer.ids[i];
      if (!sourcesByClass || sourcesByClass.has(id)) allowedOf.set(id, answer.ports?.[i] ?? true);
    }
    const classIds = namedIds();
    const start = decider.add(target, classIds);
    for (let i = 0; i < classIds.length; i++) {
      const allowed = allowedOf.get(classIds[i]);
      if (allowed === undefined && !query.includeDenied) continue;
      const peers = peersOf(classIds[i]);
      if (peers) (allowed === undefined ? deniedGroups : groups).push(make(peers, allowed, start + i));
    }
    return { groups, deniedGroups };
  };
  const hostNetworkSources = query.sources ? sourceInfos.filter((s) => s.isHostNetwork).length : 0;
  if (hostNetworkSources > 0) {
    warnings.push({
      code: 'host-network-pod',
      message: `${hostNetworkSources} source pod(s) use the host network: their traffic comes from the node's address, which pod selectors may not match`,
    });
  }
  return {
    orientation: 'inbound' as const,
    subjects: targets.map((t) => t.ref),
    external: external.flatMap((list) => list ?? []),
    deniedExternal: deniedExternal.flatMap((list) => list ?? []),
    warnings,
    // Target groups, in order of their first target.
    shares: [...targetGroups.values()],
    groupsOf: groupsOfTarget,
  };
}

/**
 * The whole matrix for one port (or all ports when absent): for every target pod, the source pods
 * allowed to reach it (matrix.ts; tier-matrix.ts when the world holds cluster tier policies).
 */
export function reachabilityMatrix(
  world: World,
  port?: { port: number; protocol: Protocol },
  options: MatrixOptions = {},
): ClassMatrix {
  return world.tiers ? tierReachabilityMatrix(world, port, options) : v1Matrix(world, port, options);
}
