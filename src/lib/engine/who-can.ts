/** The who-can query: which peers can reach which target pods, on which ports, and why. */
import type { Decision, Peer, PodRef, PortQuery, PortSet, Protocol, Warning } from './model.js';
import type { World } from './compile.js';

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

/** Answers a who-can query over a compiled world. */
export function whoCan(world: World, query: WhoCanQuery): WhoCanResult {
  void world;
  void query;
  throw new Error('whoCan: not implemented yet');
}
