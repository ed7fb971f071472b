/** The who-can query: which peers can reach which target pods, on which ports, and why. */
import type { PodClass, PodInfo, World } from './compile.js';
import { keyOf, portsOfRule } from './compile.js';
import { analysePair, decideOnAllPorts, decideOnPort } from './evaluate.js';
import { allowedSourceClasses } from './matrix.js';
import type {
  Decision,
  DirectionDecision,
  IpBlock,
  Peer,
  PodRef,
  PortQuery,
  PortSet,
  Protocol,
  RuleRef,
  Warning,
} from './model.js';
import {
  emptyPortSet,
  fullPortSet,
  isEmptyPortSet,
  portSetContains,
  resolveNamedPort,
  unionPortSets,
} from './ports.js';

/** What to ask: destinations, optionally narrowed sources, optionally one port. */
export interface WhoCanQuery {
  /** Destination pods. */
  targets: PodRef[];
  /** Only these source pods (`--from`); address blocks are then left out. Default: every pod. */
  sources?: PodRef[];
  /** One port and protocol; a port name resolves on each target pod. Default: all ports. */
  port?: PortQuery;
  /** Also return the sources that are denied, with their decision (`--explain`). */
  includeDenied?: boolean;
}

/** One source-to-target answer. */
export interface Connection {
  from: Peer;
  to: PodRef;
  /** With a port query: the port number it resolved to on the target, and its protocol. */
  port?: number;
  protocol?: Protocol;
  /** With a port query by name: that name. */
  portName?: string;
  /** Without a port query: the ports allowed (empty when denied). */
  ports?: PortSet;
  decision: Decision;
}

/** The answer: allowed connections, denied ones (only with includeDenied), and warnings. */
export interface WhoCanResult {
  connections: Connection[];
  denied: Connection[];
  warnings: Warning[];
}

/** Addresses outside the cluster that a target admits when a rule (or no isolation) admits everyone. */
export const ANY_ADDRESS: readonly IpBlock[] = [
  { cidr: '0.0.0.0/0', except: [] },
  { cidr: '::/0', except: [] },
];

const NOT_APPLICABLE: DirectionDecision = {
  allowed: true,
  isolated: false,
  selectedBy: [],
  allowedBy: [],
  peerAdmittedBy: [],
  applies: false,
};

/**
 * Address blocks that may reach a target from outside the cluster: those its ingress rules name, each
 * with the rules that admit it; every address when the target is not isolated for ingress. Egress does
 * not apply to them (they are not pods).
 */
function externalConnections(world: World, target: PodInfo, port?: { port: number; protocol: Protocol }): Connection[] {
  const cls = world.classes[target.classId];
  const blocks = new Map<string, { block: IpBlock; rules: { ref: RuleRef; ports: PortSet }[] }>();
  const add = (block: IpBlock, rule?: { ref: RuleRef; ports: PortSet }) => {
    const key = `${block.cidr}!${block.except.join(',')}`;
    const entry = blocks.get(key) ?? { block, rules: [] };
    if (rule) entry.rules.push(rule);
    blocks.set(key, entry);
  };
  const isolated = cls.ingressPolicies.length > 0;
  if (!isolated) ANY_ADDRESS.forEach((b) => add(b));
  for (const policy of cls.ingressPolicies) {
    for (const rule of policy.ingress ?? []) {
      const ports = portsOfRule(rule, target.pod);
      if (rule.peers === 'all') ANY_ADDRESS.forEach((b) => add(b, { ref: rule.ref, ports }));
      else for (const peer of rule.peers) if (peer.kind === 'ipBlock') add(peer.block.block, { ref: rule.ref, ports });
    }
  }
  const out: Connection[] = [];
  for (const { block, rules } of blocks.values()) {
    const selectedBy = cls.ingressPolicies.map((p) => p.ref);
    const side = (allowedBy: RuleRef[]): DirectionDecision => ({
      allowed: true,
      isolated,
      selectedBy,
      allowedBy,
      peerAdmittedBy: [],
      applies: true,
    });
    if (port) {
      const allowedBy = rules.filter((r) => portSetContains(r.ports, port.protocol, port.port)).map((r) => r.ref);
      if (isolated && allowedBy.length === 0) continue;
      const decision = { allowed: true, ingress: side(allowedBy), egress: NOT_APPLICABLE };
      out.push({ from: { ipBlock: block }, to: target.ref, port: port.port, protocol: port.protocol, decision });
    } else {
      const ports = isolated ? unionPortSets(...rules.map((r) => r.ports)) : fullPortSet();
      if (isEmptyPortSet(ports)) continue;
      const allowedBy = rules.filter((r) => !isEmptyPortSet(r.ports)).map((r) => r.ref);
      out.push({
        from: { ipBlock: block },
        to: target.ref,
        ports,
        decision: { allowed: true, ingress: side(allowedBy), egress: NOT_APPLICABLE },
      });
    }
  }
  return out;
}

/** Connections from every pod of a source class to every target of a group: one engine answer shared by all. */
export interface ConnectionGroup {
  /** Target pods (one pod class, one resolved port). */
  targets: PodRef[];
  /** Source pods (one pod class); a pod is never its own source. */
  sources: PodRef[];
  port?: number;
  protocol?: Protocol;
  portName?: string;
  /** Without a port query: the ports allowed. */
  ports?: PortSet;
  /** Computed on first use: most callers only count or list. */
  readonly decision: Decision;
}

class LazyGroup implements ConnectionGroup {
  port?: number;
  protocol?: Protocol;
  portName?: string;
  ports?: PortSet;
  private computed?: Decision;
  constructor(
    readonly targets: PodRef[],
    readonly sources: PodRef[],
    private readonly compute: () => Decision,
  ) {}
  get decision(): Decision {
    this.computed ??= this.compute();
    return this.computed;
  }
}

/** Expands groups into one Connection per (source, target) pair, targets in order, never a pod to itself. */
function expand(groups: ConnectionGroup[], targetOrder: Map<string, number>): Connection[] {
  const out: Connection[][] = [];
  for (const g of groups) {
    for (const to of g.targets) {
      const slot = targetOrder.get(keyOf(to)) ?? 0;
      const list = (out[slot] ??= []);
      for (const from of g.sources) {
        if (from.namespace === to.namespace && from.name === to.name) continue;
        const c: Connection = { from: { pod: from }, to, decision: g.decision };
        if (g.port !== undefined) {
          c.port = g.port;
          c.protocol = g.protocol;
          if (g.portName !== undefined) c.portName = g.portName;
        } else c.ports = g.ports;
        list.push(c);
      }
    }
  }
  return out.flat();
}

/** Answers a who-can query over a compiled world. */
export function whoCan(
  world: World,
  query: WhoCanQuery,
): WhoCanResult & { groups: ConnectionGroup[]; deniedGroups: ConnectionGroup[]; external: Connection[] } {
  const warnings: Warning[] = [];
  const external: Connection[][] = [];
  const groups: ConnectionGroup[] = [];
  const deniedGroups: ConnectionGroup[] = [];
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
  const membersOf = (classId: number): PodRef[] =>
    sourcesByClass ? (sourcesByClass.get(classId) ?? []) : world.classes[classId].memberRefs;

  // Targets of one class with one resolved port get one answer.
  const targetGroups = new Map<
    string,
    { cls: PodClass; port?: { port: number; protocol: Protocol }; pods: PodInfo[] }
  >();
  for (const target of targets) {
    let port: { port: number; protocol: Protocol } | undefined;
    if (query.port) {
      const { protocol } = query.port;
      const number =
        typeof query.port.port === 'number' ? query.port.port : resolveNamedPort(target.pod, query.port.port, protocol);
      if (number === undefined) {
        warnings.push({
          code: 'unresolved-named-port',
          message: `pod ${keyOf(target.ref)} has no container port named "${query.port.port}" (${protocol}); left out`,
        });
        continue;
      }
      port = { port: number, protocol };
    }
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
    const key = `${target.classId}/${port ? `${port.port}/${port.protocol}` : ''}`;
    const group = targetGroups.get(key) ?? { cls: world.classes[target.classId], port, pods: [] };
    group.pods.push(target);
    targetGroups.set(key, group);
    if (!query.sources) {
      const ext = externalConnections(world, target, port);
      if (typeof query.port?.port === 'string') for (const c of ext) c.portName = query.port.port;
      external[targetOrder.get(keyOf(target.ref))!] = ext;
    }
  }

  // Each target class is answered now; its groups are built on first use (a target may have tens of
  // thousands of source classes, and a caller that counts or exports may never look at them).
  const builders: (() => void)[] = [];
  for (const { cls, port, pods } of targetGroups.values()) {
    const answer = allowedSourceClasses(world, cls, port);
    builders.push(() => buildGroups(cls, port, pods, answer));
  }
  const buildGroups = (
    cls: PodClass,
    port: { port: number; protocol: Protocol } | undefined,
    pods: PodInfo[],
    answer: { ids: Int32Array; ports?: PortSet[] },
  ) => {
    const targetRefs = pods.map((p) => p.ref);
    const make = (sourceClass: number, allowed: PortSet | true | undefined): ConnectionGroup | undefined => {
      const sources = membersOf(sourceClass);
      // Skip groups whose only pair would be a pod to itself.
      if (sources.length === 0 || (sources.length === 1 && targetRefs.length === 1 && sources[0] === targetRefs[0]))
        return undefined;
      const pair = () => analysePair(world, world.classes[sourceClass], cls);
      const g = new LazyGroup(targetRefs, sources, () =>
        port ? decideOnPort(pair(), port.protocol, port.port) : decideOnAllPorts(pair()).decision,
      );
      if (port) {
        g.port = port.port;
        g.protocol = port.protocol;
        if (typeof query.port?.port === 'string') g.portName = query.port.port;
      } else g.ports = allowed === undefined || allowed === true ? emptyPortSet() : allowed;
      return g;
    };
    if (!sourcesByClass && !query.includeDenied) {
      // Only the allowed classes are visited, in class order.
      // (class id, position) packed in one number, so a numeric sort orders them.
      const order = new Float64Array(answer.ids.length);
      for (let i = 0; i < order.length; i++) order[i] = answer.ids[i] * 1048576 + i;
      order.sort();
      for (const packed of order) {
        const i = packed % 1048576;
        const g = make(answer.ids[i], answer.ports ? answer.ports[i] : true);
        if (g) groups.push(g);
      }
      return;
    }
    const allowedOf = new Map<number, PortSet | true>(
      Array.from(answer.ids, (id, i) => [id, answer.ports?.[i] ?? true]),
    );
    const classIds = sourcesByClass ? [...sourcesByClass.keys()] : world.classes.map((c) => c.id);
    for (const id of classIds) {
      const allowed = allowedOf.get(id);
      if (allowed === undefined && !query.includeDenied) continue;
      const g = make(id, allowed);
      if (g) (allowed === undefined ? deniedGroups : groups).push(g);
    }
  };
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    for (const b of builders) b();
  };

  const hostNetworkSources = query.sources ? sourceInfos.filter((s) => s.isHostNetwork).length : 0;
  if (hostNetworkSources > 0) {
    warnings.push({
      code: 'host-network-pod',
      message: `${hostNetworkSources} source pod(s) use the host network: their traffic comes from the node's address, which pod selectors may not match`,
    });
  }
  let connections: Connection[] | undefined;
  let denied: Connection[] | undefined;
  return {
    get groups() {
      build();
      return groups;
    },
    get deniedGroups() {
      build();
      return deniedGroups;
    },
    // Address blocks that reach the targets, per target in order (also at the end of each target's connections).
    external: external.flatMap((list) => list ?? []),
    warnings,
    // Pairs are expanded on first use: counting and grouping callers never pay for them.
    get connections() {
      if (!connections) {
        build();
        const pods = expand(groups, targetOrder);
        const byTarget: Connection[][] = targets.map(() => []);
        for (const c of pods) byTarget[targetOrder.get(keyOf(c.to))!].push(c);
        connections = byTarget.flatMap((list, i) => [...list, ...(external[i] ?? [])]);
      }
      return connections;
    },
    get denied() {
      build();
      denied ??= expand(deniedGroups, targetOrder);
      return denied;
    },
  };
}

export type { ClassMatrix, MatrixOptions } from './matrix.js';
export { reachabilityMatrix } from './matrix.js';
