/** The who-can query: which peers can reach which target pods, on which ports, and why. */
import type { PodInfo, World } from './compile.js';
import { keyOf } from './compile.js';
import type { PairAnalysis } from './evaluate.js';
import { analysePair, decideOnAllPorts, decideOnPort } from './evaluate.js';
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
  resolvePorts,
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
      const ports = resolvePorts(rule.ports, target.pod);
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

/** Answers a who-can query over a compiled world. */
export function whoCan(world: World, query: WhoCanQuery): WhoCanResult {
  const result: WhoCanResult = { connections: [], denied: [], warnings: [] };
  const warn = (w: Warning) => result.warnings.push(w);
  const lookup = (ref: PodRef, role: string): PodInfo | undefined => {
    const info = world.podsByKey.get(keyOf(ref));
    if (!info) warn({ code: 'no-target', message: `${role} pod ${keyOf(ref)} not found` });
    return info;
  };
  const targets = query.targets.map((t) => lookup(t, 'target')).filter((t): t is PodInfo => t !== undefined);
  const sources = query.sources
    ? query.sources.map((s) => lookup(s, 'source')).filter((s): s is PodInfo => s !== undefined)
    : world.pods;

  for (const target of targets) {
    const targetClass = world.classes[target.classId];
    let port: { port: number; protocol: Protocol } | undefined;
    if (query.port) {
      const { protocol } = query.port;
      const number =
        typeof query.port.port === 'number' ? query.port.port : resolveNamedPort(target.pod, query.port.port, protocol);
      if (number === undefined) {
        warn({
          code: 'unresolved-named-port',
          message: `pod ${keyOf(target.ref)} has no container port named "${query.port.port}" (${protocol}); left out`,
        });
        continue;
      }
      port = { port: number, protocol };
    }
    if (target.isHostNetwork) {
      warn({
        code: 'host-network-pod',
        message: `pod ${keyOf(target.ref)} uses the host network: NetworkPolicy leaves its isolation to the network plugin, most do not isolate it`,
      });
    }
    if (target.isTerminating) {
      warn({
        code: 'terminating-pod',
        message: `pod ${keyOf(target.ref)} is terminating; its answer holds until it is gone`,
      });
    }
    const perClass = new Map<number, { decision: Decision; ports?: PortSet }>();
    const decide = (source: PodInfo) => {
      let known = perClass.get(source.classId);
      if (!known) {
        const pair: PairAnalysis = analysePair(world, world.classes[source.classId], targetClass);
        known = port ? { decision: decideOnPort(pair, port.protocol, port.port) } : decideOnAllPorts(pair);
        perClass.set(source.classId, known);
      }
      return known;
    };
    for (const source of sources) {
      // A pod can always reach itself; who-can lists only other pods.
      if (source === target) continue;
      const { decision, ports } = decide(source);
      if (!decision.allowed && !query.includeDenied) continue;
      const connection: Connection = { from: { pod: source.ref }, to: target.ref, decision };
      if (port) {
        connection.port = port.port;
        connection.protocol = port.protocol;
        if (typeof query.port?.port === 'string') connection.portName = query.port.port;
      } else connection.ports = ports ?? emptyPortSet();
      (decision.allowed ? result.connections : result.denied).push(connection);
    }
    if (!query.sources) {
      for (const c of externalConnections(world, target, port)) {
        if (typeof query.port?.port === 'string') c.portName = query.port.port;
        result.connections.push(c);
      }
    }
  }
  const hostNetworkSources = query.sources ? sources.filter((s) => s.isHostNetwork).length : 0;
  if (hostNetworkSources > 0) {
    warn({
      code: 'host-network-pod',
      message: `${hostNetworkSources} source pod(s) use the host network: their traffic comes from the node's address, which pod selectors may not match`,
    });
  }
  return result;
}
