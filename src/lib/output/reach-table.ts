/**
 * The table views of a reachability answer, who-can's (TARGET, FROM) and reachable-from's (SOURCE, TO):
 * default, -o wide, --explain, and the yes/no of a question. Rows come from the engine's groups, never
 * from pod pairs; everything here is rendered from the engine's data.
 */
import type { Connection, ConnectionGroup, SubjectShare } from '../engine/answer.js';
import { connectionOf, peerOf, sharesBySubject, subjectOf } from '../engine/answer.js';
import type { Peer, PodRef } from '../engine/model.js';
import { keyOf } from '../engine/model.js';
import { formatPortSet } from '../engine/ports.js';
import type { ReachReport, WorkloadRef } from '../services/report.js';
import { explainAllowance, explainConnection, formatAllowedBy, formatRules } from './explain.js';
import { formatIpBlock, formatWorkloadRef } from './names.js';
import { paint } from './style.js';
import { formatTable } from './table.js';

/** How to draw the table. */
interface ReachTableOptions {
  wide?: boolean;
  explain?: boolean;
  noHeaders?: boolean;
  color?: boolean;
}

/** The port a connection was asked about: `80/TCP`, or `80/TCP (http)` for a named port. */
function formatQueriedPort(connection: Connection): string {
  const text = `${connection.port}/${connection.protocol}`;
  return connection.portName ? `${text} (${connection.portName})` : text;
}

function formatConnectionPorts(connection: Connection, denied: boolean): string {
  if (connection.port !== undefined) return formatQueriedPort(connection);
  // A port name the target does not have: the name, as asked.
  if (connection.portName !== undefined) return `${connection.portName}/${connection.protocol}`;
  if (denied || !connection.ports) return '-';
  return formatPortSet(connection.ports);
}

/** Builds the label of a pod's group: `ns/name` for a bare pod, `ns/deployment/name` for a workload's pod. */
function workloadLabel(pod: PodRef, workloads: ReadonlyMap<string, WorkloadRef>): { key: string; label: string } {
  const owner = workloads.get(keyOf(pod));
  if (!owner || owner.kind === 'Pod') return { key: `pod:${keyOf(pod)}`, label: keyOf(pod) };
  const label = formatWorkloadRef({ namespace: pod.namespace, ...owner });
  return { key: `workload:${label}`, label };
}

function peerLabel(peer: Peer, workloads: ReadonlyMap<string, WorkloadRef>): { key: string; label: string } {
  if ('ipBlock' in peer) return { key: `ip:${formatIpBlock(peer.ipBlock)}`, label: formatIpBlock(peer.ipBlock) };
  return workloadLabel(peer.pod, workloads);
}

interface Row {
  cells: string[];
  subjectKey: string;
  subjectLabel: string;
  subjectPods: Set<string>;
  peerPods: Set<string>;
  isAddress: boolean;
}

/** The first two columns: the pods asked about, then the other side. */
const SIDES = { inbound: ['target', 'from'], outbound: ['source', 'to'] } as const;

/** Columns of each table after the two sides. */
const COLUMNS = {
  table: ['pods', 'ports', 'allowed by'],
  wide: ['pods', 'ports', 'allowed by', 'ingress rules', 'egress rules'],
  explain: ['pods', 'ports', 'verdict', 'reason'],
};

/** The cells after the two sides and PODS for one connection; `source` and `target` label its ends. */
function restCells(
  connection: Connection,
  denied: boolean,
  source: string,
  target: string,
  opts: ReachTableOptions,
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

/**
 * Groups the answer into rows so that a row always means "each subject pod in it is paired with each
 * peer in it (a pod never with itself), with these cells". Rows come from the engine's groups, never
 * from pod pairs: subject pods that share their groups and workload form a block, each group's peers
 * are split by workload, and blocks of one workload with the same peers and cells share a row.
 * Replicas with the same answer fold into one row; different answers never do.
 */
function groupRows(report: ReachReport, opts: ReachTableOptions): Row[] {
  const { answer } = report;
  const isInbound = answer.orientation === 'inbound';
  const perBlock = new Map<string, Row>();
  const slicesOfPeers = new Map<ConnectionGroup, WorkloadSlice[]>();
  /** The cells of a connection: its ports and why, with its ends labelled as the rows name them. */
  const cellsOf = (connection: Connection, denied: boolean, subject: string, peer: string) =>
    isInbound ? restCells(connection, denied, peer, subject, opts) : restCells(connection, denied, subject, peer, opts);
  const addBlock = (subject: PodRef, shared: SubjectShare, denied: boolean): PodRef[] => {
    const self = workloadLabel(subject, report.workloads);
    const block = shared.subjects.filter((pod) => workloadLabel(pod, report.workloads).key === self.key);
    // Blocks of the same pods share rows (one block per subject class).
    const blockId = `${denied}:${block.map(keyOf).join(',')}`;
    for (const group of shared.groups) {
      let slices = slicesOfPeers.get(group);
      if (!slices) {
        slices = sliceByWorkload(group.peers, report.workloads);
        slicesOfPeers.set(group, slices);
      }
      for (const peer of slices) {
        const sample = connectionOf(answer, group, block[0], peer.pods[0]);
        const rest = cellsOf(sample, denied, self.label, peer.label);
        const key = [blockId, peer.key, ...rest].join('\u0000');
        let row = perBlock.get(key);
        if (!row) {
          row = {
            cells: [self.label, peer.label, '', ...rest],
            subjectKey: self.key,
            subjectLabel: self.label,
            subjectPods: new Set(block.map(keyOf)),
            peerPods: new Set(),
            isAddress: false,
          };
          perBlock.set(key, row);
        }
        for (const pod of peer.pods) row.peerPods.add(keyOf(pod));
      }
    }
    return block;
  };
  const addExternal = (connection: Connection, denied: boolean) => {
    const subject = subjectOf(answer, connection);
    const self = workloadLabel(subject, report.workloads);
    const peer = peerLabel(peerOf(answer, connection), report.workloads);
    const rest = cellsOf(connection, denied, self.label, peer.label);
    const key = [`pod:${keyOf(subject)}`, peer.key, ...rest].join('\u0000');
    if (perBlock.has(key)) return;
    perBlock.set(key, {
      cells: [self.label, peer.label, '', ...rest],
      subjectKey: self.key,
      subjectLabel: self.label,
      subjectPods: new Set([keyOf(subject)]),
      peerPods: new Set(),
      isAddress: true,
    });
  };
  const bySubjectOf = (connections: readonly Connection[]) => {
    const map = new Map<string, Connection[]>();
    for (const connection of connections) {
      const key = keyOf(subjectOf(answer, connection));
      map.set(key, [...(map.get(key) ?? []), connection]);
    }
    return map;
  };
  const externalOf = { allowed: bySubjectOf(answer.external), denied: bySubjectOf(answer.deniedExternal) };
  // Rows appear in the order of the subjects, as the connections do: allowed (pods, then addresses), then denied.
  const walk = (groups: readonly ConnectionGroup[], denied: boolean) => {
    const bySubject = sharesBySubject(groups);
    const done = new Map<SubjectShare, Set<string>>();
    for (const subject of answer.subjects) {
      const key = keyOf(subject);
      for (const shared of bySubject.get(key) ?? []) {
        const seen = done.get(shared) ?? new Set<string>();
        done.set(shared, seen);
        if (!seen.has(key)) for (const pod of addBlock(subject, shared, denied)) seen.add(keyOf(pod));
      }
      for (const connection of externalOf[denied ? 'denied' : 'allowed'].get(key) ?? [])
        addExternal(connection, denied);
    }
  };
  walk(answer.groups, false);
  if (opts.explain) walk(answer.deniedGroups, true);
  const rows = new Map<string, Row>();
  for (const row of perBlock.values()) {
    const key = [row.subjectKey, ...row.cells.slice(1), [...row.peerPods].sort().join(',')].join('\u0000');
    const existing = rows.get(key);
    if (existing) for (const pod of row.subjectPods) existing.subjectPods.add(pod);
    else rows.set(key, row);
  }
  return [...rows.values()];
}

/** Peer pods of a row paired with at least one of its subject pods: a pod is never paired with itself. */
function countPeers(row: Row): number {
  if (row.subjectPods.size !== 1) return row.peerPods.size;
  const [only] = row.subjectPods;
  return row.peerPods.size - (row.peerPods.has(only) ? 1 : 0);
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
export function formatReachTable(report: ReachReport, opts: ReachTableOptions = {}): string {
  const subjectsPerGroup = new Map<string, number>();
  for (const subject of report.answer.subjects) {
    const { key } = workloadLabel(subject, report.workloads);
    subjectsPerGroup.set(key, (subjectsPerGroup.get(key) ?? 0) + 1);
  }
  const rows = groupRows(report, opts).flatMap((row) => {
    const cells = [...row.cells];
    const total = subjectsPerGroup.get(row.subjectKey) ?? row.subjectPods.size;
    if (row.subjectPods.size < total) {
      cells[0] = `${row.subjectLabel} ${formatPartial(row.subjectPods, total, opts.wide === true)}`;
    }
    if (row.isAddress) cells[2] = '-';
    else {
      const peers = countPeers(row);
      if (peers === 0) return [];
      cells[2] = String(peers);
    }
    return [cells];
  });
  const columns = opts.explain ? COLUMNS.explain : opts.wide ? COLUMNS.wide : COLUMNS.table;
  const headers = [...SIDES[report.answer.orientation], ...columns];
  const verdictColumn = opts.explain ? 4 : -1;
  return formatTable(headers, rows, {
    noHeaders: opts.noHeaders,
    style: (column, text) =>
      column === verdictColumn ? paint(text, text === 'allowed' ? 'green' : 'red', opts.color ?? false) : text,
  });
}

/** The yes/no answer of a question (`--from`, `--to`), as kubectl auth can-i prints it. */
export function formatAnswer(allowed: boolean, color = false): string {
  return paint(allowed ? 'yes' : 'no', allowed ? 'green' : 'red', color) + '\n';
}
