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
import { formatPortSet } from '../engine/ports.js';
import type { Connection, ConnectionGroup } from '../engine/who-can.js';
import { formatWorkloadRef } from './names.js';
import { paint } from './render.js';
import { jsonAt, writeDocument, type DocumentField, type DocumentSink } from './stream.js';
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
  /** Allowed connections, in engine order (one per pod pair: expand lazily, views use the groups). */
  readonly connections: Connection[];
  /** Denied connections (with --explain or --from), in engine order. */
  readonly denied: Connection[];
  /** With --from: whether every (source, target) pair is allowed. */
  allowed?: boolean;
  warnings: ReportWarning[];
  /** Owner of each pod involved, keyed `namespace/name`. */
  workloads: ReadonlyMap<string, WorkloadRef>;
  /** The engine's groups behind `connections` (pods only): the views draw from these, not from pairs. */
  groups?: ConnectionGroup[];
  /** The groups behind `denied`. */
  deniedGroups?: ConnectionGroup[];
  /** The address-block connections among `connections`, in target order. */
  external?: Connection[];
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

function isSamePod(a: PodRef, b: PodRef): boolean {
  return a.name === b.name && a.namespace === b.namespace;
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

/** Port sets are written as everywhere else: `80/TCP, 8000-9000/TCP`, `all/SCTP`, `all`, `none`. */
export { formatPortSet };

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
  const label = formatWorkloadRef({ namespace: pod.namespace, ...owner });
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

/** Pods split by workload (or bare pod), in order of first appearance. */
interface WorkloadSlice {
  key: string;
  label: string;
  pods: PodRef[];
}

function sliceByWorkload(pods: readonly PodRef[], workloads: ReadonlyMap<string, WorkloadRef>): WorkloadSlice[] {
  const slices = new Map<string, WorkloadSlice>();
  for (const pod of pods) {
    const { key, label } = workloadLabel(pod, workloads);
    let slice = slices.get(key);
    if (!slice) {
      slice = { key, label, pods: [] };
      slices.set(key, slice);
    }
    slice.pods.push(pod);
  }
  return [...slices.values()];
}

/** One pair of a group, standing for all of them (they share the answer). */
function pairOf(group: ConnectionGroup, from: PodRef, to: PodRef): Connection {
  const connection: Connection = { from: { pod: from }, to, decision: group.decision };
  if (group.port !== undefined) {
    connection.port = group.port;
    connection.protocol = group.protocol;
    if (group.portName !== undefined) connection.portName = group.portName;
  } else connection.ports = group.ports;
  return connection;
}

/** A report's answer as groups and address-block connections; a report built from pairs alone gets one group per pair. */
function sharesOf(report: WhoCanReport): {
  groups: readonly ConnectionGroup[];
  deniedGroups: readonly ConnectionGroup[];
  external: readonly Connection[];
} {
  if (report.groups && report.deniedGroups && report.external) {
    return { groups: report.groups, deniedGroups: report.deniedGroups, external: report.external };
  }
  const single = (connection: Connection): ConnectionGroup[] =>
    'pod' in connection.from ? [{ ...connection, targets: [connection.to], sources: [connection.from.pod] }] : [];
  return {
    groups: report.groups ?? report.connections.flatMap(single),
    deniedGroups: report.deniedGroups ?? report.denied.flatMap(single),
    external: report.external ?? report.connections.filter((connection) => 'ipBlock' in connection.from),
  };
}

/** Groups with the same target pods (the engine shares one list per target class and port). */
interface SharedTargets {
  targets: PodRef[];
  groups: ConnectionGroup[];
}

/** The groups of each target pod, as lists sharing their targets, keyed `namespace/name`. */
function groupsByTarget(groups: readonly ConnectionGroup[]): Map<string, SharedTargets[]> {
  const byTargets = new Map<readonly PodRef[], SharedTargets>();
  for (const group of groups) {
    let shared = byTargets.get(group.targets);
    if (!shared) {
      shared = { targets: group.targets, groups: [] };
      byTargets.set(group.targets, shared);
    }
    shared.groups.push(group);
  }
  const byTarget = new Map<string, SharedTargets[]>();
  for (const shared of byTargets.values()) {
    for (const target of shared.targets) {
      const key = podKey(target);
      const list = byTarget.get(key);
      if (list) list.push(shared);
      else byTarget.set(key, [shared]);
    }
  }
  return byTarget;
}

/**
 * Groups the answer into rows so that a row always means "each target pod in it is reached by each
 * source in it (a pod never by itself), with these cells". Rows come from the engine's groups, never
 * from pod pairs: target pods that share their groups and workload form a block, each group's sources
 * are split by workload, and blocks of one workload with the same sources and cells share a row.
 * Replicas with the same answer fold into one row; different answers never do.
 */
function groupRows(report: WhoCanReport, opts: WhoCanTableOptions): Row[] {
  const shares = sharesOf(report);
  const perBlock = new Map<string, Row>();
  const slicesOfSources = new Map<ConnectionGroup, WorkloadSlice[]>();
  const addBlock = (target: PodRef, shared: SharedTargets, denied: boolean): PodRef[] => {
    const self = workloadLabel(target, report.workloads);
    const block = shared.targets.filter((pod) => workloadLabel(pod, report.workloads).key === self.key);
    // Blocks of the same pods share rows (one block per target class; one per pod for a report of pairs).
    const blockId = `${denied}:${block.map(podKey).join(',')}`;
    for (const group of shared.groups) {
      let slices = slicesOfSources.get(group);
      if (!slices) {
        slices = sliceByWorkload(group.sources, report.workloads);
        slicesOfSources.set(group, slices);
      }
      for (const source of slices) {
        const sample = pairOf(group, source.pods[0], block[0]);
        const rest = restCells(sample, denied, source.label, self.label, opts);
        const key = [blockId, source.key, ...rest].join('\u0000');
        let row = perBlock.get(key);
        if (!row) {
          row = {
            cells: [self.label, source.label, '', ...rest],
            targetKey: self.key,
            targetLabel: self.label,
            targetPods: new Set(block.map(podKey)),
            sourcePods: new Set(),
            isAddress: false,
          };
          perBlock.set(key, row);
        }
        for (const pod of source.pods) row.sourcePods.add(podKey(pod));
      }
    }
    return block;
  };
  const addExternal = (connection: Connection) => {
    const target = workloadLabel(connection.to, report.workloads);
    const source = peerLabel(connection.from, report.workloads);
    const rest = restCells(connection, false, source.label, target.label, opts);
    const key = [`pod:${podKey(connection.to)}`, source.key, ...rest].join('\u0000');
    if (perBlock.has(key)) return;
    perBlock.set(key, {
      cells: [target.label, source.label, '', ...rest],
      targetKey: target.key,
      targetLabel: target.label,
      targetPods: new Set([podKey(connection.to)]),
      sourcePods: new Set(),
      isAddress: true,
    });
  };
  const externalOf = new Map<string, Connection[]>();
  for (const connection of shares.external) {
    const key = podKey(connection.to);
    externalOf.set(key, [...(externalOf.get(key) ?? []), connection]);
  }
  // Rows appear in the order of the targets, as the connections do: allowed (pods, then addresses), then denied.
  const walk = (groups: readonly ConnectionGroup[], denied: boolean) => {
    const byTarget = groupsByTarget(groups);
    const done = new Map<SharedTargets, Set<string>>();
    for (const target of report.targets) {
      const key = podKey(target);
      for (const shared of byTarget.get(key) ?? []) {
        const seen = done.get(shared) ?? new Set<string>();
        done.set(shared, seen);
        if (!seen.has(key)) for (const pod of addBlock(target, shared, denied)) seen.add(podKey(pod));
      }
      if (!denied) for (const connection of externalOf.get(key) ?? []) addExternal(connection);
    }
  };
  walk(shares.groups, false);
  if (opts.explain) walk(shares.deniedGroups, true);
  const rows = new Map<string, Row>();
  for (const row of perBlock.values()) {
    const key = [row.targetKey, ...row.cells.slice(1), [...row.sourcePods].sort().join(',')].join('\u0000');
    const existing = rows.get(key);
    if (existing) for (const pod of row.targetPods) existing.targetPods.add(pod);
    else rows.set(key, row);
  }
  return [...rows.values()];
}

/** Source pods of a row that reach at least one of its target pods: a pod is never its own source. */
function countSources(row: Row): number {
  if (row.targetPods.size !== 1) return row.sourcePods.size;
  const [only] = row.targetPods;
  return row.sourcePods.size - (row.sourcePods.has(only) ? 1 : 0);
}

/** How many pod names -o wide lists after a partial row's count. */
const LISTED_PODS = 5;

/** `(1 of 2 pods)`, and in -o wide the pods: `(1 of 2 pods: db-0)`. */
function formatPartial(pods: Set<string>, total: number, wide: boolean): string {
  const count = `${pods.size} of ${total} pods`;
  if (!wide) return `(${count})`;
  const names = [...pods].map((key) => key.slice(key.indexOf('/') + 1)).sort();
  const shown = names.slice(0, LISTED_PODS).join(', ');
  const more = names.length > LISTED_PODS ? ` and ${names.length - LISTED_PODS} more` : '';
  return `(${count}: ${shown}${more})`;
}

/** The table view: grouped rows, kubectl look. Returns '' when there is nothing to show. */
export function formatWhoCanTable(report: WhoCanReport, opts: WhoCanTableOptions = {}): string {
  const targetsPerGroup = new Map<string, number>();
  for (const target of report.targets) {
    const { key } = workloadLabel(target, report.workloads);
    targetsPerGroup.set(key, (targetsPerGroup.get(key) ?? 0) + 1);
  }
  const rows = groupRows(report, opts).flatMap((row) => {
    const cells = [...row.cells];
    const total = targetsPerGroup.get(row.targetKey) ?? row.targetPods.size;
    if (row.targetPods.size < total) {
      cells[0] = `${row.targetLabel} ${formatPartial(row.targetPods, total, opts.wide === true)}`;
    }
    if (row.isAddress) cells[2] = '-';
    else {
      const sources = countSources(row);
      if (sources === 0) return [];
      cells[2] = String(sources);
    }
    return [cells];
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

/**
 * The pairs of a report, one by one in engine order (per target: its pod sources group by group,
 * then its address blocks), expanded lazily from the groups; never a pod to itself.
 */
export function* iteratePairs(report: WhoCanReport, which: 'connections' | 'denied'): Generator<Connection> {
  const shares = sharesOf(report);
  const byTarget = groupsByTarget(which === 'denied' ? shares.deniedGroups : shares.groups);
  const externalOf = new Map<string, Connection[]>();
  if (which === 'connections') {
    for (const connection of shares.external) {
      const key = podKey(connection.to);
      externalOf.set(key, [...(externalOf.get(key) ?? []), connection]);
    }
  }
  const seen = new Set<string>();
  for (const target of report.targets) {
    const key = podKey(target);
    if (seen.has(key)) continue;
    seen.add(key);
    for (const shared of byTarget.get(key) ?? []) {
      for (const group of shared.groups) {
        for (const from of group.sources) if (!isSamePod(from, target)) yield pairOf(group, from, target);
      }
    }
    yield* externalOf.get(key) ?? [];
  }
}

/**
 * The JSON text of allowed entries, fast: pairs of one group share everything but `from` and `to`,
 * so that part is rendered once per answer and each pair only adds its two pods.
 */
function allowedEntryText(): (item: unknown) => string {
  const rests = new WeakMap<Decision, Map<unknown, string>>();
  const pods = new Map<PodRef, string>();
  const podText = (pod: PodRef) => {
    let text = pods.get(pod);
    if (text === undefined) {
      text = jsonAt({ namespace: pod.namespace, pod: pod.name }, 3);
      pods.set(pod, text);
    }
    return text;
  };
  return (item) => {
    const connection = item as Connection;
    if ('ipBlock' in connection.from) return jsonAt(connectionDocument(connection, false), 2);
    let byPorts = rests.get(connection.decision);
    if (!byPorts) {
      byPorts = new Map();
      rests.set(connection.decision, byPorts);
    }
    const portKey = connection.ports ?? `${connection.port}/${connection.protocol}/${connection.portName}`;
    let rest = byPorts.get(portKey);
    if (rest === undefined) {
      const others: Partial<ConnectionDocument> = connectionDocument(connection, false);
      delete others.from;
      delete others.to;
      rest = jsonAt(others, 2).slice(1);
      byPorts.set(portKey, rest);
    }
    return `{\n      "from": ${podText(connection.from.pod)},\n      "to": ${podText(connection.to)},${rest}`;
  };
}

/**
 * Writes the document of a report (docs/output.md) to a sink, entry by entry, expanding the groups
 * lazily: the bytes of renderDocument(toWhoCanDocument(...)), at any size.
 */
export async function writeWhoCanDocument(
  report: WhoCanReport,
  format: 'json' | 'yaml',
  sink: DocumentSink,
  opts: { explain?: boolean } = {},
): Promise<void> {
  const documents = function* (which: 'connections' | 'denied'): Generator<ConnectionDocument> {
    for (const connection of iteratePairs(report, which)) yield connectionDocument(connection, which === 'denied');
  };
  const fields: DocumentField[] = [];
  if (report.allowed !== undefined) fields.push({ key: 'allowed', value: report.allowed });
  if (format === 'json') {
    // Allowed entries are rendered by allowedEntryText; denied ones (with their sentences) in full.
    const allowedText = allowedEntryText();
    const texts = function* (which: 'connections' | 'denied'): Generator<string> {
      for (const connection of iteratePairs(report, which)) {
        yield which === 'connections' ? allowedText(connection) : jsonAt(connectionDocument(connection, true), 2);
      }
    };
    fields.push({ key: 'connections', items: texts('connections') });
    if (opts.explain) fields.push({ key: 'denied', items: texts('denied') });
    fields.push({ key: 'warnings', value: report.warnings });
    await writeDocument(fields, format, sink, (text) => text as string);
    return;
  }
  fields.push({ key: 'connections', items: documents('connections') });
  if (opts.explain) fields.push({ key: 'denied', items: documents('denied') });
  fields.push({ key: 'warnings', value: report.warnings });
  await writeDocument(fields, format, sink);
}
