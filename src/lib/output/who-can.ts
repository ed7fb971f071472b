/**
 * Views of a who-can answer: the grouped table (default, wide, --explain) and the JSON/YAML document.
 * Everything here is rendered from the engine's data; nothing is decided here.
 */
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
} from '../engine/model.js';
import { PROTOCOLS } from '../engine/model.js';
import type { Connection, ConnectionGroup } from '../engine/who-can.js';
import { paint } from './render.js';
import { formatTable } from './table.js';

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

/** What `who-can` returns from run(): the engine's answer plus what the views need to group it. */
export interface WhoCanReport {
  /** Destination pods asked about. */
  targets: PodRef[];
  /** The port asked about, after a Service port was resolved to its targetPort. */
  port?: PortQuery;
  /** Allowed connections, in engine order. */
  connections: Connection[];
  /** Denied connections (with --explain or --from), in engine order. */
  denied: Connection[];
  /** With --from: whether every (source, target) pair is allowed. */
  allowed?: boolean;
  warnings: ReportWarning[];
  /** Owner of each pod involved, keyed `namespace/name`. */
  workloads: ReadonlyMap<string, WorkloadRef>;
  /** The engine's groups behind `connections` (pods only): the pictures draw from these, not from pairs. */
  groups?: ConnectionGroup[];
  /** The groups behind `denied`. */
  deniedGroups?: ConnectionGroup[];
}

/** How to draw the table. */
export interface WhoCanTableOptions {
  wide?: boolean;
  explain?: boolean;
  noHeaders?: boolean;
  color?: boolean;
}

/** Key of a pod in maps: `namespace/name`. */
export function podKey(pod: PodRef): string {
  return `${pod.namespace}/${pod.name}`;
}

/** `namespace/name` of a policy. */
function policyName(policy: { namespace: string; name: string }): string {
  return `${policy.namespace}/${policy.name}`;
}

/** `ns/name direction[index]`, or `name direction[index]` when the namespace goes without saying. */
function ruleName(rule: RuleRef, withNamespace = true): string {
  const policy = withNamespace ? policyName(rule.policy) : rule.policy.name;
  return `${policy} ${rule.direction}[${rule.index}]`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** `10.0.0.0/8`, or `10.0.0.0/8 except 10.1.0.0/16, 10.2.0.0/16`. */
export function formatIpBlock(block: IpBlock): string {
  return block.except.length === 0 ? block.cidr : `${block.cidr} except ${block.except.join(', ')}`;
}

/** True when a range covers every port. */
function isFullRange(ranges: { from: number; to: number }[]): boolean {
  return ranges.length === 1 && ranges[0].from <= 1 && ranges[0].to >= 65535;
}

/** True when a port set holds every port of every protocol. */
function isAllPorts(ports: PortSet): boolean {
  return PROTOCOLS.every((protocol) => isFullRange(ports[protocol]));
}

/** A port set as text: `80/TCP, 8000-9000/TCP, 53/UDP`, `all`, or `none`. */
export function formatPortSet(ports: PortSet): string {
  if (isAllPorts(ports)) return 'all';
  const parts = PROTOCOLS.flatMap((protocol) =>
    ports[protocol].map((range) =>
      range.from === range.to ? `${range.from}/${protocol}` : `${range.from}-${range.to}/${protocol}`,
    ),
  );
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** The port a connection was asked about: `80/TCP`, or `80/TCP (http)` for a named port. */
function formatQueriedPort(connection: Connection): string {
  const text = `${connection.port}/${connection.protocol}`;
  return connection.portName ? `${text} (${connection.portName})` : text;
}

function formatConnectionPorts(connection: Connection, denied: boolean): string {
  if (connection.port !== undefined) return formatQueriedPort(connection);
  if (denied || !connection.ports) return '-';
  return formatPortSet(connection.ports);
}

/** Builds the label of a pod's group: `ns/name` for a bare pod, `ns/deployment/name` for a workload's pod. */
function workloadLabel(pod: PodRef, workloads: ReadonlyMap<string, WorkloadRef>): { key: string; label: string } {
  const owner = workloads.get(podKey(pod));
  if (!owner || owner.kind === 'Pod') return { key: `pod:${podKey(pod)}`, label: podKey(pod) };
  const label = `${pod.namespace}/${owner.kind.toLowerCase()}/${owner.name}`;
  return { key: `workload:${label}`, label };
}

function peerLabel(peer: Peer, workloads: ReadonlyMap<string, WorkloadRef>): { key: string; label: string } {
  if ('ipBlock' in peer) return { key: `ip:${formatIpBlock(peer.ipBlock)}`, label: formatIpBlock(peer.ipBlock) };
  return workloadLabel(peer.pod, workloads);
}

/**
 * ALLOWED BY: the policies whose rules admitted the connection, on either side (the target's
 * ingress, the source's egress), or `(not isolated)` when neither side is isolated.
 */
function formatAllowedBy(decision: Decision): string {
  const sides = [decision.ingress, ...(decision.egress.applies ? [decision.egress] : [])];
  const policies = unique(sides.flatMap((side) => side.allowedBy.map((rule) => policyName(rule.policy))));
  return policies.length === 0 ? '(not isolated)' : policies.join(', ');
}

/** INGRESS RULES / EGRESS RULES of the wide table. */
function formatRules(side: DirectionDecision): string {
  if (!side.applies) return '-';
  if (!side.isolated) return '(not isolated)';
  return unique(side.allowedBy.map((rule) => ruleName(rule))).join(', ');
}

/** The sentence that explains why one direction denied a connection; undefined when it did not. */
function explainDenial(
  side: DirectionDecision,
  direction: 'ingress' | 'egress',
  subject: string,
  peer: string,
  port: string | undefined,
): string | undefined {
  if (!side.applies || side.allowed) return undefined;
  if (side.reason === 'no-rule-admits-port' && side.peerAdmittedBy.length > 0) {
    const rules = unique(side.peerAdmittedBy.map((rule) => ruleName(rule, false)));
    const verb = rules.length === 1 ? 'rule' : 'rules';
    const admits = rules.length === 1 ? 'admits' : 'admit';
    return `${direction}: ${verb} ${rules.join(', ')} ${admits} ${peer} but not on ${port ?? 'any port'}`;
  }
  const isolatedBy = unique(side.selectedBy.map((policy) => policy.name)).join(', ');
  return `${direction}: ${subject} is isolated by [${isolatedBy}] and no ${direction} rule admits ${peer}`;
}

/** Why a connection is allowed, for the --explain table: the rules on each side that apply. */
function explainAllowance(connection: Connection): string {
  const sides: string[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const side = connection.decision[direction];
    if (!side.applies) continue;
    const rules = side.isolated
      ? `allowed by ${unique(side.allowedBy.map((rule) => ruleName(rule))).join(', ')}`
      : 'not isolated';
    sides.push(`${direction}: ${rules}`);
  }
  return sides.join('; ');
}

/** The reasons a connection is denied, as sentences naming the given labels. */
export function explainConnection(connection: Connection, source: string, target: string): string[] {
  const port = connection.port === undefined ? undefined : `${connection.port}/${connection.protocol}`;
  const { ingress, egress } = connection.decision;
  return [
    explainDenial(ingress, 'ingress', target, source, port),
    explainDenial(egress, 'egress', source, target, port),
  ].filter((reason): reason is string => reason !== undefined);
}

interface Row {
  cells: string[];
  targetKey: string;
  targetLabel: string;
  targetPods: Set<string>;
  sourcePods: Set<string>;
  isAddress: boolean;
}

/** Columns of each table. */
const HEADERS = {
  table: ['target', 'from', 'pods', 'ports', 'allowed by'],
  wide: ['target', 'from', 'pods', 'ports', 'allowed by', 'ingress rules', 'egress rules'],
  explain: ['target', 'from', 'pods', 'ports', 'verdict', 'reason'],
};

/** The cells after TARGET, FROM and PODS for one connection. */
function restCells(
  connection: Connection,
  denied: boolean,
  source: string,
  target: string,
  opts: WhoCanTableOptions,
): string[] {
  const ports = formatConnectionPorts(connection, denied);
  const { ingress, egress } = connection.decision;
  if (opts.explain) {
    const why = denied ? explainConnection(connection, source, target).join('; ') : explainAllowance(connection);
    return [ports, denied ? 'denied' : 'allowed', why];
  }
  if (opts.wide) return [ports, formatAllowedBy(connection.decision), formatRules(ingress), formatRules(egress)];
  return [ports, formatAllowedBy(connection.decision)];
}

/**
 * Groups connections into rows so that a row always means "each target pod in it is reached by each
 * source in it, with these cells": first the sources of each target pod are collected per source
 * workload (or address block) and identical cells, then target pods of one workload with the same
 * sources share a row. Replicas with the same answer fold into one row; different answers never do.
 */
function groupRows(report: WhoCanReport, opts: WhoCanTableOptions): Row[] {
  const perTarget = new Map<string, Row>();
  const add = (connection: Connection, denied: boolean): void => {
    const target = workloadLabel(connection.to, report.workloads);
    const source = peerLabel(connection.from, report.workloads);
    const rest = restCells(connection, denied, source.label, target.label, opts);
    const key = [podKey(connection.to), source.key, ...rest].join('\u0000');
    let row = perTarget.get(key);
    if (!row) {
      row = {
        cells: [target.label, source.label, '', ...rest],
        targetKey: target.key,
        targetLabel: target.label,
        targetPods: new Set([podKey(connection.to)]),
        sourcePods: new Set(),
        isAddress: 'ipBlock' in connection.from,
      };
      perTarget.set(key, row);
    }
    if ('pod' in connection.from) row.sourcePods.add(podKey(connection.from.pod));
  };
  for (const connection of report.connections) add(connection, false);
  if (opts.explain) for (const connection of report.denied) add(connection, true);
  const rows = new Map<string, Row>();
  for (const row of perTarget.values()) {
    const key = [row.targetKey, ...row.cells.slice(1), [...row.sourcePods].sort().join(',')].join('\u0000');
    const existing = rows.get(key);
    if (existing) for (const pod of row.targetPods) existing.targetPods.add(pod);
    else rows.set(key, row);
  }
  return [...rows.values()];
}

/** The table view: grouped rows, kubectl look. Returns '' when there is nothing to show. */
export function formatWhoCanTable(report: WhoCanReport, opts: WhoCanTableOptions = {}): string {
  const targetsPerGroup = new Map<string, number>();
  for (const target of report.targets) {
    const { key } = workloadLabel(target, report.workloads);
    targetsPerGroup.set(key, (targetsPerGroup.get(key) ?? 0) + 1);
  }
  const rows = groupRows(report, opts).map((row) => {
    const cells = [...row.cells];
    const total = targetsPerGroup.get(row.targetKey) ?? row.targetPods.size;
    if (row.targetPods.size < total) cells[0] = `${row.targetLabel} (${row.targetPods.size} of ${total} pods)`;
    cells[2] = row.isAddress ? '-' : String(row.sourcePods.size);
    return cells;
  });
  const headers = opts.explain ? HEADERS.explain : opts.wide ? HEADERS.wide : HEADERS.table;
  const verdictColumn = opts.explain ? 4 : -1;
  return formatTable(headers, rows, {
    noHeaders: opts.noHeaders,
    style: (column, text) =>
      column === verdictColumn ? paint(text, text === 'allowed' ? 'green' : 'red', opts.color ?? false) : text,
  });
}

/** The yes/no answer of `--from`, as kubectl auth can-i prints it. */
export function formatAnswer(allowed: boolean, color = false): string {
  return paint(allowed ? 'yes' : 'no', allowed ? 'green' : 'red', color) + '\n';
}

/** A peer in the document: a pod, or an address block. */
export type PeerDocument = { namespace: string; pod: string } | { ipBlock: { cidr: string; except: string[] } };

/** A port range in the document; endPort only for ranges. */
export interface PortDocument {
  protocol: Protocol;
  port: number;
  endPort?: number;
}

/** Why one direction denied a connection, as data. */
export interface ReasonDocument {
  direction: 'ingress' | 'egress';
  code: string;
  /** Policies that isolate the subject in this direction, `namespace/name`. */
  isolatedBy: string[];
  /** With code no-rule-admits-port: the rules that admit the peer on other ports. */
  rules?: string[];
}

/** One connection in the document. */
export interface ConnectionDocument {
  from: PeerDocument;
  to: { namespace: string; pod: string };
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
  /** Denied entries only: the explanation, one sentence per direction joined with '; '. */
  reason?: string;
  reasons?: ReasonDocument[];
}

/** The JSON/YAML document of who-can (documented in docs/output.md). */
export interface WhoCanDocument {
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
      isolatedBy: unique(side.selectedBy.map(policyName)),
    };
    if (side.reason === 'no-rule-admits-port') reason.rules = unique(side.peerAdmittedBy.map((rule) => ruleName(rule)));
    reasons.push(reason);
  }
  return reasons;
}

function connectionDocument(connection: Connection, denied: boolean): ConnectionDocument {
  const { ingress, egress } = connection.decision;
  const egressRules = egress.applies ? egress.allowedBy : [];
  const ports: Partial<ConnectionDocument> = {};
  if (connection.port !== undefined) {
    ports.port = connection.port;
    if (connection.portName) ports.portName = connection.portName;
    ports.protocol = connection.protocol;
  } else if (!denied && connection.ports) {
    ports.ports = portSetDocument(connection.ports);
  }
  const document: ConnectionDocument = {
    from: peerDocument(connection.from),
    to: { namespace: connection.to.namespace, pod: connection.to.name },
    ...ports,
    ingress: unique(ingress.allowedBy.map((rule) => policyName(rule.policy))),
    egress: unique(egressRules.map((rule) => policyName(rule.policy))),
    rules: unique([...ingress.allowedBy, ...egressRules].map((rule) => ruleName(rule))),
  };
  if (denied) {
    const source = 'ipBlock' in connection.from ? formatIpBlock(connection.from.ipBlock) : podKey(connection.from.pod);
    document.reason = explainConnection(connection, source, podKey(connection.to)).join('; ');
    document.reasons = reasonDocuments(connection);
  }
  return document;
}

/** The document of a report; `denied` only when asked (--explain). */
export function toWhoCanDocument(report: WhoCanReport, opts: { explain?: boolean } = {}): WhoCanDocument {
  return {
    ...(report.allowed === undefined ? {} : { allowed: report.allowed }),
    connections: report.connections.map((connection) => connectionDocument(connection, false)),
    ...(opts.explain ? { denied: report.denied.map((connection) => connectionDocument(connection, true)) } : {}),
    warnings: report.warnings,
  };
}
