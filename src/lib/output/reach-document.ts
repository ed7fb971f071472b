/**
 * The JSON/YAML document of a reachability answer, who-can's and reachable-from's (docs/output.md), written entry by entry from the engine's
 * groups so that millions of pod pairs never become one string.
 */
import type { Decision, DirectionDecision, Peer, PodRef, PortSet, Protocol, TierRuleRef } from '../engine/model.js';
import { keyOf, PROTOCOLS } from '../engine/model.js';
import type { Connection, ConnectionGroup, ReachAnswer, ShareGroups, StreamedAnswer } from '../engine/answer.js';
import { connectionOf, connectionsOf, openShares, sharesOf, subjectOf } from '../engine/answer.js';
import type { KeyedShareGroups } from '../engine/whole-cluster.js';
import type { ReachReport, ReportWarning } from '../services/report.js';
import { explainConnection, unique } from './explain.js';
import { formatIpBlock, formatPolicyRef, formatRuleRef, formatTierPolicyRef, formatTierRuleRef } from './names.js';
import { jsonAt, writeDocument, type DocumentField, type DocumentSink, type ItemOut } from './stream.js';

/** True when a range covers every port. */
function isFullRange(ranges: { from: number; to: number }[]): boolean {
  return ranges.length === 1 && ranges[0].from <= 1 && ranges[0].to >= 65535;
}

/** True when a port set holds every port of every protocol. */
function isAllPorts(ports: PortSet): boolean {
  return PROTOCOLS.every((protocol) => isFullRange(ports[protocol]));
}

/** A peer in the document: a pod, or an address block. */
export type PeerDocument = { namespace: string; pod: string } | { ipBlock: { cidr: string; except: string[] } };

/** A port range in the document; endPort only for ranges. */
interface PortDocument {
  protocol: Protocol;
  port: number;
  endPort?: number;
}

/** Why one direction denied a connection, as data. */
interface ReasonDocument {
  direction: 'ingress' | 'egress';
  code: string;
  /** Policies that isolate the subject in this direction, `namespace/name`. */
  isolatedBy: string[];
  /** With code no-rule-admits-port: the rules that admit the peer on other ports; partly-admitted: those that admit part of it. */
  rules?: string[];
  /** With code partly-admitted: the addresses of the block no rule admits, as CIDRs. */
  notAdmitted?: string[];
  /** With code denied-by-tier: the Deny rules of cluster-scoped policies that decided. */
  tierRules?: TierRuleDocument[];
}

/** A rule of a cluster-scoped policy (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy). */
interface TierRuleDocument {
  kind: string;
  name: string;
  tier: 'Admin' | 'Baseline';
  priority?: number;
  direction: 'ingress' | 'egress';
  /** The rule's place in spec.ingress / spec.egress, and its name (empty when it has none). */
  index: number;
  rule: string;
  action: string;
}

function tierRuleDocument(hit: TierRuleRef): TierRuleDocument {
  const doc: TierRuleDocument = {
    kind: hit.policy.kind,
    name: hit.policy.name,
    tier: hit.tier,
    direction: hit.direction,
    index: hit.rule.index,
    rule: hit.rule.name,
    action: hit.action,
  };
  // The BaselineAdminNetworkPolicy singleton has no priority.
  if (hit.policy.kind !== 'BaselineAdminNetworkPolicy') doc.priority = hit.priority;
  return doc;
}

/** The tier rules of both sides, each once. */
function tierRulesOf(sides: DirectionDecision[], which: 'tierRules' | 'passedBy'): TierRuleDocument[] {
  const seen = new Map<string, TierRuleDocument>();
  for (const side of sides)
    for (const hit of side[which] ?? []) seen.set(formatTierRuleRef(hit) + hit.direction, tierRuleDocument(hit));
  return [...seen.values()];
}

/** One connection in the document. */
export interface ConnectionDocument {
  from: PeerDocument;
  to: PeerDocument;
  port?: number;
  portName?: string;
  protocol?: Protocol;
  ports?: PortDocument[] | 'all';
  /** Policies whose ingress rules admitted it; empty when the target's ingress is not isolated. */
  ingress: string[];
  /** Policies whose egress rules admitted it; empty when the source's egress is not isolated or is an address. */
  egress: string[];
  /** The rules that admitted it, `namespace/name direction[index]`. */
  rules: string[];
  /** Only when cluster tiers are read: the tier rules that decided it (Accept rules; on denied entries, Deny rules). */
  tierRules?: TierRuleDocument[];
  /** Only when cluster tiers are read: Pass rules that handed it on to NetworkPolicy. */
  passedBy?: TierRuleDocument[];
  /** Denied entries only: the explanation, one sentence per direction joined with '; '. */
  reason?: string;
  reasons?: ReasonDocument[];
}

/** The JSON/YAML document of who-can (documented in docs/output.md). */
interface ReachDocument {
  allowed?: boolean;
  connections: ConnectionDocument[];
  denied?: ConnectionDocument[];
  warnings: ReportWarning[];
}

function peerDocument(peer: Peer): PeerDocument {
  if ('ipBlock' in peer) return { ipBlock: { cidr: peer.ipBlock.cidr, except: [...peer.ipBlock.except] } };
  return { namespace: peer.pod.namespace, pod: peer.pod.name };
}

/** A port set as a list of ranges, or 'all'. */
export function portSetDocument(ports: PortSet): PortDocument[] | 'all' {
  if (isAllPorts(ports)) return 'all';
  return PROTOCOLS.flatMap((protocol) =>
    ports[protocol].map((range) =>
      range.from === range.to ? { protocol, port: range.from } : { protocol, port: range.from, endPort: range.to },
    ),
  );
}

function reasonDocuments(connection: Connection): ReasonDocument[] {
  const reasons: ReasonDocument[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const side = connection.decision[direction];
    if (!side.applies || side.allowed) continue;
    const reason: ReasonDocument = {
      direction,
      code: side.reason ?? 'no-rule-admits-peer',
      isolatedBy: unique(side.selectedBy.map(formatPolicyRef)),
    };
    if (side.reason === 'no-rule-admits-port' || side.reason === 'partly-admitted')
      reason.rules = unique(side.peerAdmittedBy.map((rule) => formatRuleRef(rule)));
    if (side.notAdmitted) reason.notAdmitted = [...side.notAdmitted];
    if (side.reason === 'denied-by-tier') reason.tierRules = tierRulesOf([side], 'tierRules');
    reasons.push(reason);
  }
  return reasons;
}

/** `ns/pod`, or the address block. */
function peerName(peer: Peer): string {
  return 'ipBlock' in peer ? formatIpBlock(peer.ipBlock) : keyOf(peer.pod);
}

/** The policies (per side) and rules that admitted a connection, as the document names them. */
export function allowedByDocument(
  decision: Decision,
  denied = false,
): Pick<ConnectionDocument, 'ingress' | 'egress' | 'rules'> {
  const { ingress, egress } = decision;
  const egressRules = egress.applies ? egress.allowedBy : [];
  // Cluster tier policies that accepted it are named beside the NetworkPolicies (`Kind/name`).
  const tierPolicies = (side: DirectionDecision) =>
    denied || !side.applies ? [] : (side.tierRules ?? []).map(formatTierPolicyRef);
  return {
    ingress: unique([...tierPolicies(ingress), ...ingress.allowedBy.map((rule) => formatPolicyRef(rule.policy))]),
    egress: unique([...tierPolicies(egress), ...egressRules.map((rule) => formatPolicyRef(rule.policy))]),
    rules: unique([...ingress.allowedBy, ...egressRules].map((rule) => formatRuleRef(rule))),
  };
}

/**
 * The entry of a connection; a denied one's reason names its ends as `names` says (default: the pod
 * or address block of each end).
 */
export function connectionDocument(
  connection: Connection,
  denied: boolean,
  names: [from: string, to: string] = [peerName(connection.from), peerName(connection.to)],
): ConnectionDocument {
  const { ingress, egress } = connection.decision;
  const ports: Partial<ConnectionDocument> = {};
  if (connection.port !== undefined) {
    ports.port = connection.port;
    if (connection.portName) ports.portName = connection.portName;
    ports.protocol = connection.protocol;
  } else if (connection.portName !== undefined) {
    // A port name the target does not have: no number to give.
    ports.portName = connection.portName;
    ports.protocol = connection.protocol;
  } else if (!denied && connection.ports) {
    ports.ports = portSetDocument(connection.ports);
  }
  const document: ConnectionDocument = {
    from: peerDocument(connection.from),
    to: peerDocument(connection.to),
    ...ports,
    ...allowedByDocument(connection.decision, denied),
  };
  const sides = [ingress, ...(egress.applies ? [egress] : [])];
  if (sides.some((side) => side.tierRules !== undefined)) {
    document.tierRules = tierRulesOf(sides, 'tierRules');
    document.passedBy = tierRulesOf(sides, 'passedBy');
  }
  if (denied) {
    document.reason = explainConnection(connection, ...names).join('; ');
    document.reasons = reasonDocuments(connection);
  }
  return document;
}

/** The document of a report; `denied` only when asked (--explain). */
export function toReachDocument(
  report: ReachReport<ReachAnswer | StreamedAnswer>,
  opts: { explain?: boolean } = {},
): ReachDocument {
  return {
    ...(report.allowed === undefined ? {} : { allowed: report.allowed }),
    connections: [...connectionsOf(report.answer, 'allowed')].map((connection) =>
      connectionDocument(connection, false),
    ),
    ...(opts.explain
      ? {
          denied: [...connectionsOf(report.answer, 'denied')].map((connection) => connectionDocument(connection, true)),
        }
      : {}),
    warnings: report.warnings,
  };
}

/** A port set as a string, equal for equal sets (the same ranges). */
export function portSetKey(ports: PortSet): string {
  let key = '';
  for (const protocol of PROTOCOLS) {
    key += '|';
    for (const range of ports[protocol]) key += `${range.from}-${range.to},`;
  }
  return key;
}

/** A pod pair's entry as UTF-8 pieces: `from`, `to`, and what follows them (shared by alike pairs). */
interface PairPieces {
  /** The entry up to its second end: `{"from": <first end>, "to": ` (kept per pod). */
  head: Uint8Array;
  /** The second end. */
  end: Uint8Array;
  rest: Uint8Array;
}

/** What comes before an entry's `from` and between it and `to`, in a JSON document. */
export const ENTRY_FROM = Buffer.from('{\n      "from": ');
export const ENTRY_TO = Buffer.from(',\n      "to": ');

/** Writes an item of allowedEntries: a pair from its pieces, anything else as the JSON text it is. */
function writeAllowedEntry(item: unknown, out: ItemOut): void {
  if (typeof item === 'string') {
    out.text(item);
    return;
  }
  const { head, end, rest } = item as PairPieces;
  out.bytes(head);
  out.bytes(end);
  out.bytes(rest);
}

/**
 * The allowed entries, in connectionsOf's order, fast: the pairs of a group share everything but
 * `from` and `to`, and groups with the same decision object and ports share that part too
 * (whole-cluster answers share their decisions: engine/whole-cluster.ts), so it is rendered and
 * encoded once per distinct entry and each pair only copies its pieces. A pod pair is one PairPieces
 * object, refilled for each pair (read it before the next); an address block is its JSON text.
 */
function* allowedEntries(answer: StreamedAnswer): Generator<PairPieces | string> {
  const rests = new WeakMap<Decision, Map<string, Uint8Array>>();
  const pods = new Map<PodRef, Uint8Array>();
  const podBytes = (pod: PodRef) => {
    let bytes = pods.get(pod);
    if (bytes === undefined) {
      bytes = Buffer.from(jsonAt({ namespace: pod.namespace, pod: pod.name }, 3));
      pods.set(pod, bytes);
    }
    return bytes;
  };
  // An entry begins with its first end (a source): `{"from": <pod>, "to": ` is made once per pod.
  const heads = new Map<PodRef, Uint8Array>();
  const headOf = (pod: PodRef) => {
    let bytes = heads.get(pod);
    if (bytes === undefined) {
      bytes = Buffer.concat([ENTRY_FROM, podBytes(pod), ENTRY_TO]);
      heads.set(pod, bytes);
    }
    return bytes;
  };
  // Groups of one class share its pods array: their heads (or ends) are looked up once per array.
  const headsOfPeers = new WeakMap<readonly PodRef[], Uint8Array[]>();
  const isInbound = answer.orientation === 'inbound';
  const peerPieces = (peers: readonly PodRef[]) => {
    let pieces = headsOfPeers.get(peers);
    if (!pieces) headsOfPeers.set(peers, (pieces = peers.map(isInbound ? headOf : podBytes)));
    return pieces;
  };
  const restOf = (share: ShareGroups, group: ConnectionGroup, subject: PodRef, peer: PodRef): Uint8Array => {
    const decision = share.decide(group);
    let byPorts = rests.get(decision);
    if (!byPorts) rests.set(decision, (byPorts = new Map()));
    const key = group.ports ? portSetKey(group.ports) : `${group.port}/${group.protocol}/${group.portName}`;
    let rest = byPorts.get(key);
    if (rest === undefined) {
      const connection = connectionOf(
        { orientation: answer.orientation, decide: () => decision },
        group,
        subject,
        peer,
      );
      const others: Partial<ConnectionDocument> = connectionDocument(connection, false);
      delete others.from;
      delete others.to;
      rest = Buffer.from(`,${jsonAt(others, 2).slice(1)}`);
      byPorts.set(key, rest);
    }
    return rest;
  };
  // Groups with an entry key (whole-cluster answers: engine/whole-cluster.ts) share the rest of the
  // first group with that key, without a decision; equal rests share their bytes.
  const byEntry: (Uint8Array | undefined)[] = [];
  const texts = new Map<string, Uint8Array>();
  const keyedRestOf = (share: KeyedShareGroups, group: ConnectionGroup, subject: PodRef, peer: PodRef) => {
    const entry = share.entryOf ? share.entryOf(group) : -1;
    if (entry < 0) return restOf(share, group, subject, peer);
    let rest = byEntry[entry];
    if (rest === undefined) {
      rest = restOf(share, group, subject, peer);
      const text = Buffer.from(rest).toString();
      byEntry[entry] = rest = texts.get(text) ?? rest;
      texts.set(text, rest);
    }
    return rest;
  };
  const external = externalsBySubject(answer, answer.external);
  const pieces: PairPieces = { head: ENTRY_FROM, end: ENTRY_TO, rest: ENTRY_FROM };
  for (const { subject, shares } of openShares(answer)) {
    const own = isInbound ? podBytes(subject) : headOf(subject);
    for (const share of shares) {
      for (const group of share.groups) {
        let rest: Uint8Array | undefined;
        const { peers } = group;
        const others = peerPieces(peers);
        for (let i = 0; i < peers.length; i++) {
          const peer = peers[i];
          if (peer === subject || (peer.namespace === subject.namespace && peer.name === subject.name)) continue;
          rest ??= keyedRestOf(share, group, subject, peer);
          pieces.head = isInbound ? others[i] : own;
          pieces.end = isInbound ? own : others[i];
          pieces.rest = rest;
          yield pieces;
        }
      }
    }
    for (const connection of external.get(keyOf(subject)) ?? []) yield jsonAt(connectionDocument(connection, false), 2);
  }
}

/** Address-block connections per subject pod, keyed `namespace/name`. */
function externalsBySubject(answer: StreamedAnswer, connections: Connection[]): Map<string, Connection[]> {
  const bySubject = new Map<string, Connection[]>();
  for (const connection of connections) {
    const key = keyOf(subjectOf(answer, connection));
    const list = bySubject.get(key);
    if (list) list.push(connection);
    else bySubject.set(key, [connection]);
  }
  return bySubject;
}

/**
 * Writes the document of a report (docs/output.md) to a sink, entry by entry, expanding the groups
 * lazily: the bytes of renderDocument(toReachDocument(...)), at any size.
 */
export async function writeReachDocument(
  report: ReachReport<ReachAnswer | StreamedAnswer>,
  format: 'json' | 'yaml',
  sink: DocumentSink,
  opts: { explain?: boolean } = {},
): Promise<void> {
  const documents = function* (which: 'connections' | 'denied'): Generator<ConnectionDocument> {
    for (const connection of connectionsOf(report.answer, which === 'connections' ? 'allowed' : 'denied'))
      yield connectionDocument(connection, which === 'denied');
  };
  if (format === 'json') {
    // Allowed entries are written by allowedEntries' pieces; denied ones (with their sentences) in full.
    const items = function* (which: 'connections' | 'denied'): Generator<PairPieces | string> {
      if (which === 'connections') {
        yield* allowedEntries(sharesOf(report.answer));
        return;
      }
      for (const connection of connectionsOf(report.answer, 'denied'))
        yield jsonAt(connectionDocument(connection, true), 2);
    };
    await writeDocument(reachFields(report, opts, items), format, sink, writeAllowedEntry);
    return;
  }
  await writeDocument(reachFields(report, opts, documents), format, sink);
}

/** The top-level fields of a reachability document (docs/output.md), its lists given by `items`. */
export function reachFields(
  report: Pick<ReachReport<ReachAnswer | StreamedAnswer>, 'allowed' | 'warnings'>,
  opts: { explain?: boolean },
  items: (which: 'connections' | 'denied') => Iterable<unknown>,
): DocumentField[] {
  const fields: DocumentField[] = [];
  if (report.allowed !== undefined) fields.push({ key: 'allowed', value: report.allowed });
  fields.push({ key: 'connections', items: items('connections') });
  if (opts.explain) fields.push({ key: 'denied', items: items('denied') });
  fields.push({ key: 'warnings', value: report.warnings });
  return fields;
}
