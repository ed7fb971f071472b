/**
 * The table views of a who-can answer (default, -o wide, --explain) and the yes/no of --from. Rows come
 * from the engine's groups, never from pod pairs; everything here is rendered from the engine's data.
 */
import { formatPortSet } from '../engine/ports.js';
import type { Connection, ConnectionGroup, TargetShare } from '../engine/who-can.js';
import { connectionOf, sharesByTarget } from '../engine/who-can.js';
import type { Peer, PodRef } from '../engine/model.js';
import { keyOf } from '../engine/model.js';
import type { WhoCanReport, WorkloadRef } from '../services/who-can.js';
import { explainAllowance, explainConnection, formatAllowedBy, formatRules } from './explain.js';
import { formatIpBlock, formatWorkloadRef } from './names.js';
import { paint } from './render.js';
import { formatTable } from './table.js';

/** How to draw the table. */
interface WhoCanTableOptions {
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

/**
 * Groups the answer into rows so that a row always means "each target pod in it is reached by each
 * source in it (a pod never by itself), with these cells". Rows come from the engine's groups, never
 * from pod pairs: target pods that share their groups and workload form a block, each group's sources
 * are split by workload, and blocks of one workload with the same sources and cells share a row.
 * Replicas with the same answer fold into one row; different answers never do.
 */
function groupRows(report: WhoCanReport, opts: WhoCanTableOptions): Row[] {
  const { answer } = report;
  const perBlock = new Map<string, Row>();
  const slicesOfSources = new Map<ConnectionGroup, WorkloadSlice[]>();
  const addBlock = (target: PodRef, shared: TargetShare, denied: boolean): PodRef[] => {
    const self = workloadLabel(target, report.workloads);
    const block = shared.targets.filter((pod) => workloadLabel(pod, report.workloads).key === self.key);
    // Blocks of the same pods share rows (one block per target class).
    const blockId = `${denied}:${block.map(keyOf).join(',')}`;
    for (const group of shared.groups) {
      let slices = slicesOfSources.get(group);
      if (!slices) {
        slices = sliceByWorkload(group.sources, report.workloads);
        slicesOfSources.set(group, slices);
      }
      for (const source of slices) {
        const sample = connectionOf(answer, group, source.pods[0], block[0]);
        const rest = restCells(sample, denied, source.label, self.label, opts);
        const key = [blockId, source.key, ...rest].join('\u0000');
        let row = perBlock.get(key);
        if (!row) {
          row = {
            cells: [self.label, source.label, '', ...rest],
            targetKey: self.key,
            targetLabel: self.label,
            targetPods: new Set(block.map(keyOf)),
            sourcePods: new Set(),
            isAddress: false,
          };
          perBlock.set(key, row);
        }
        for (const pod of source.pods) row.sourcePods.add(keyOf(pod));
      }
    }
    return block;
  };
  const addExternal = (connection: Connection, denied: boolean) => {
    const target = workloadLabel(connection.to, report.workloads);
    const source = peerLabel(connection.from, report.workloads);
    const rest = restCells(connection, denied, source.label, target.label, opts);
    const key = [`pod:${keyOf(connection.to)}`, source.key, ...rest].join('\u0000');
    if (perBlock.has(key)) return;
    perBlock.set(key, {
      cells: [target.label, source.label, '', ...rest],
      targetKey: target.key,
      targetLabel: target.label,
      targetPods: new Set([keyOf(connection.to)]),
      sourcePods: new Set(),
      isAddress: true,
    });
  };
  const byTargetOf = (connections: readonly Connection[]) => {
    const map = new Map<string, Connection[]>();
    for (const connection of connections) {
      const key = keyOf(connection.to);
      map.set(key, [...(map.get(key) ?? []), connection]);
    }
    return map;
  };
  const externalOf = { allowed: byTargetOf(answer.external), denied: byTargetOf(answer.deniedExternal) };
  // Rows appear in the order of the targets, as the connections do: allowed (pods, then addresses), then denied.
  const walk = (groups: readonly ConnectionGroup[], denied: boolean) => {
    const byTarget = sharesByTarget(groups);
    const done = new Map<TargetShare, Set<string>>();
    for (const target of answer.targets) {
      const key = keyOf(target);
      for (const shared of byTarget.get(key) ?? []) {
        const seen = done.get(shared) ?? new Set<string>();
        done.set(shared, seen);
        if (!seen.has(key)) for (const pod of addBlock(target, shared, denied)) seen.add(keyOf(pod));
      }
      for (const connection of externalOf[denied ? 'denied' : 'allowed'].get(key) ?? [])
        addExternal(connection, denied);
    }
  };
  walk(answer.groups, false);
  // Denied rows with --explain; an address asked about with --from shows its rows either way.
  if (opts.explain) walk(answer.deniedGroups, true);
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
  for (const target of report.answer.targets) {
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
