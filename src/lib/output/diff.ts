/**
 * What `diff` prints: the objects the change creates, configures or deletes (kubectl apply's words),
 * the connections it opens and cuts as isolate's and allow's previews show them, with who-can's
 * ALLOWED BY before and after, and a one-line count; the same as a JSON/YAML document with who-can's
 * peers, ports and rules; as a pull-request comment (markdown); or drawn (dot, mermaid) with who-can's
 * writers.
 */
import type { AddressChange, ChangeEnd, ChangeGroup, ReachabilityChange } from '../engine/diff.js';
import { changesOf } from '../engine/diff.js';
import type { ObjectChange } from '../engine/apply.js';
import type { Decision, PortSet } from '../engine/model.js';
import { keyOf } from '../engine/model.js';
import { isEmptyPortSet, subtractPortSets } from '../engine/ports.js';
import type { DiffResult } from '../services/diff.js';
import {
  changeHeaders,
  changeRows,
  formatChangeEnd,
  formatChangeGroups,
  formatChangePorts,
  type ChangeSection,
} from './changes.js';
import { allowingRules } from './explain.js';
import type { GraphEdge, GraphNode, ReachGraph } from './graph.js';
import { compareEdges, compareNodes, formatDot, formatMermaid } from './graph.js';
import { allowedByDocument, portSetDocument, type PeerDocument } from './reach-document.js';
import { renderDocument } from './render.js';

/** The -o values diff prints. */
export const DIFF_FORMATS = ['table', 'json', 'yaml', 'markdown', 'dot', 'mermaid'] as const;
/** One of DIFF_FORMATS. */
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** Renders a diff in a format. */
export function renderDiff(result: DiffResult, format: DiffFormat, opts: { noHeaders?: boolean } = {}): string {
  switch (format) {
    case 'table':
      return formatDiff(result, opts);
    case 'markdown':
      return formatDiffMarkdown(result);
    case 'dot':
      return formatDot(buildDiffGraph(result));
    case 'mermaid':
      return formatMermaid(buildDiffGraph(result));
    default:
      return renderDocument(toDiffDocument(result), format);
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Connections in groups: pod pairs, and pods with their addresses outside the cluster. */
function countOf(groups: ChangeGroup[]): number {
  return groups.reduce((sum, g) => sum + g.count, 0);
}

/** `networkpolicy shop/api configured`, `namespace shop created`. */
function formatObject(o: ObjectChange): string {
  return `${o.kind.toLowerCase()} ${o.namespace === undefined ? o.name : keyOf({ namespace: o.namespace, name: o.name })} ${o.action}`;
}

/** `3 connections opened, 41 closed in 2 namespaces`, or `No connection opened or closed.` */
function formatSummary(result: DiffResult): string {
  if (!result.hasChanges) return 'No connection opened or closed.';
  return `${plural(countOf(result.opened), 'connection')} opened, ${countOf(result.cut)} closed in ${plural(result.namespaces.length, 'namespace')}`;
}

function sectionsOf(result: DiffResult): ChangeSection[] {
  return [
    { change: 'opens', groups: result.opened },
    { change: 'cuts', groups: result.cut },
  ];
}

/** The objects and what happens to them, the groups opened and cut with the policies that allowed them before and after, and the count. */
function formatDiff(result: DiffResult, opts: { noHeaders?: boolean } = {}): string {
  const objects = result.objects.map((o) => `${formatObject(o)}\n`).join('');
  const table = formatChangeGroups(sectionsOf(result), { hasRules: true, noHeaders: opts.noHeaders });
  return [objects, table, `${formatSummary(result)}\n`].filter((part) => part !== '').join('\n');
}

/** A markdown table cell: pipes escaped, code-quoted when it names something. */
function cell(text: string, isCode = false): string {
  const escaped = text.replace(/\|/g, '\\|');
  return isCode && text !== '-' ? `\`${escaped}\`` : escaped;
}

function markdownTable(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ]
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * A pull-request comment: a heading, the count, the objects, then the groups in a collapsible
 * `<details>` block (GitHub renders the table inside once a blank line follows `<summary>`).
 */
function formatDiffMarkdown(result: DiffResult): string {
  const parts = ['### kubectl netpol diff\n', `**${formatSummary(result)}**\n`];
  // A pull-request comment lists what changes; objects applied as they are only counted (with --prune,
  // every object of the directories is applied).
  const changed = result.objects.filter((o) => o.action !== 'unchanged');
  const same = result.objects.length - changed.length;
  if (changed.length > 0) {
    const rows = changed.map((o) => [
      cell(o.kind),
      cell(o.namespace === undefined ? o.name : keyOf({ namespace: o.namespace, name: o.name }), true),
      cell(o.action),
    ]);
    parts.push(markdownTable(['Kind', 'Object', 'Action'], rows));
  }
  if (same > 0) parts.push(`${plural(same, 'object')} unchanged.\n`);
  const sections = sectionsOf(result);
  const rows = changeRows(sections, { hasRules: true }).map((r) => r.map((text, i) => cell(text, i >= 2 && i !== 4)));
  if (rows.length > 0) {
    const headers = changeHeaders(sections, { hasRules: true }).map((h) => h[0] + h.slice(1).toLowerCase());
    parts.push(
      `<details><summary>${plural(rows.length, 'group')} of connections opened or cut</summary>\n\n${markdownTable(headers, rows)}\n</details>\n`,
    );
  }
  return parts.join('\n');
}

/** A node id as who-can's pictures make them: `ns/kind/name`, `ns/name` (bare pod), `ip:CIDR`. */
function nodeOf(end: ChangeEnd): GraphNode {
  if ('addresses' in end) {
    const label = formatChangeEnd(end);
    return { id: `ip:${label}`, label, isTarget: false };
  }
  const label = end.kind === 'Pod' ? `pod/${end.name}` : `${end.kind.toLowerCase()}/${end.name}`;
  return { id: formatChangeEnd(end), namespace: end.namespace, label, isTarget: false };
}

/** The picture of a diff: what opens is a green edge, what closes a red dashed one, labelled with the ports. */
function buildDiffGraph(result: DiffResult): ReachGraph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge & { texts: string[]; notes: string[] }>();
  const add = (group: ChangeGroup, isCut: boolean) => {
    const [from, to] = [nodeOf(group.from), nodeOf(group.to)];
    for (const node of [from, to]) nodes.set(node.id, node);
    const key = `${from.id}\u0000${to.id}\u0000${isCut}`;
    const edge = edges.get(key) ?? {
      from: from.id,
      to: to.id,
      isDenied: isCut,
      ports: '',
      why: [],
      texts: [],
      notes: [],
    };
    const ports = formatChangePorts(group.ports, group.kept);
    edge.texts.push(ports);
    const before = group.before ? allowingRules(group.before).join(', ') : 'nothing';
    const after = group.after ? allowingRules(group.after).join(', ') : 'nothing';
    edge.notes.push(`${isCut ? 'closes' : 'opens'} ${ports}: allowed before by ${before}, after by ${after}`);
    edges.set(key, edge);
  };
  for (const group of result.opened) add(group, false);
  for (const group of result.cut) add(group, true);
  const name = (id: string) => nodes.get(id)?.label ?? id;
  return {
    name: 'diff',
    nodes: [...nodes.values()].sort(compareNodes),
    edges: [...edges.values()]
      .map(({ texts, notes, ...edge }) => ({
        ...edge,
        ports: [...new Set(texts)].join('; '),
        tooltip: `${nodes.get(edge.from)?.namespace === undefined ? name(edge.from) : edge.from} -> ${nodes.get(edge.to)?.namespace === undefined ? name(edge.to) : edge.to}: ${notes.join('; ')}`,
      }))
      .sort(compareEdges),
    hasDenied: result.cut.length > 0,
    legend: 'solid green: opened, dashed red: closed',
    isSolidGreen: true,
  };
}

/** One pair (or a pod and an address block) newly allowed (`added`) or no longer (`removed`), with the ports and the rules that allow it. */
interface DiffConnection {
  from: PeerDocument;
  to: PeerDocument;
  ports: ReturnType<typeof portSetDocument>;
  ingress: string[];
  egress: string[];
  rules: string[];
}

/** A side of a pair allowed both before and after: its ports then, and the rules. */
interface DiffSide {
  ports: ReturnType<typeof portSetDocument>;
  ingress: string[];
  egress: string[];
  rules: string[];
}

/** A pair allowed before and after on different ports. */
interface ChangedConnection {
  from: PeerDocument;
  to: PeerDocument;
  before: DiffSide;
  after: DiffSide;
}

/** The document of `diff -o json|yaml` (docs/output.md). */
interface DiffDocument {
  objects: ObjectChange[];
  added: DiffConnection[];
  removed: DiffConnection[];
  changed: ChangedConnection[];
}

const NO_RULES = { ingress: [], egress: [], rules: [] };

function sideOf(ports: PortSet, decision: Decision | undefined): DiffSide {
  return { ports: portSetDocument(ports), ...(decision ? allowedByDocument(decision) : NO_RULES) };
}

function pairEnds(change: ReachabilityChange): { from: PeerDocument; to: PeerDocument } {
  return {
    from: { namespace: change.from.namespace, pod: change.from.name },
    to: { namespace: change.to.namespace, pod: change.to.name },
  };
}

/** An address change's blocks, each with the pod at its end. */
function addressEnds(change: AddressChange): { from: PeerDocument; to: PeerDocument }[] {
  const pod = { namespace: change.pod.namespace, pod: change.pod.name };
  return change.blocks.map((block) => {
    const addresses = { ipBlock: { cidr: block.cidr, except: [...block.except] } };
    const [from, to] = change.direction === 'ingress' ? [addresses, pod] : [pod, addresses];
    return { from, to };
  });
}

/**
 * The address changes as the document's three lists. A change with ports on both sides is in
 * `changed`, once: it is among the cuts when it loses ports, and among the openings only when it
 * loses none.
 */
function addressDocument(diff: DiffResult['diff']): Pick<DiffDocument, 'added' | 'removed' | 'changed'> {
  const out: Pick<DiffDocument, 'added' | 'removed' | 'changed'> = { added: [], removed: [], changed: [] };
  const before = (c: AddressChange) => sideOf(c.before, c.decisionBefore);
  const after = (c: AddressChange) => sideOf(c.after, c.decisionAfter);
  for (const c of diff.openedAddresses) {
    if (isEmptyPortSet(c.before)) out.added.push(...addressEnds(c).map((ends) => ({ ...ends, ...after(c) })));
    else if (isEmptyPortSet(subtractPortSets(c.before, c.after)))
      out.changed.push(...addressEnds(c).map((ends) => ({ ...ends, before: before(c), after: after(c) })));
  }
  for (const c of diff.cutAddresses) {
    if (isEmptyPortSet(c.after)) out.removed.push(...addressEnds(c).map((ends) => ({ ...ends, ...before(c) })));
    else out.changed.push(...addressEnds(c).map((ends) => ({ ...ends, before: before(c), after: after(c) })));
  }
  return out;
}

/** The document: each object's action, then each pair added (allowed after only), removed (before only) or changed (both, on other ports). */
function toDiffDocument(result: DiffResult): DiffDocument {
  const { diff } = result;
  const pairs = new Map<string, ReachabilityChange>();
  for (const c of changesOf(diff.blocks)) pairs.set(`${keyOf(c.to)} ${keyOf(c.from)}`, c);
  const all = [...pairs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, c]) => c);
  const document: DiffDocument = {
    objects: result.objects,
    added: all
      .filter((c) => isEmptyPortSet(c.before))
      .map((c) => ({ ...pairEnds(c), ...sideOf(c.after, c.decisionAfter) })),
    removed: all
      .filter((c) => isEmptyPortSet(c.after))
      .map((c) => ({ ...pairEnds(c), ...sideOf(c.before, c.decisionBefore) })),
    changed: all
      .filter((c) => !isEmptyPortSet(c.before) && !isEmptyPortSet(c.after))
      .map((c) => ({
        ...pairEnds(c),
        before: sideOf(c.before, c.decisionBefore),
        after: sideOf(c.after, c.decisionAfter),
      })),
  };
  const addresses = addressDocument(diff);
  document.added.push(...addresses.added);
  document.removed.push(...addresses.removed);
  document.changed.push(...addresses.changed);
  return document;
}
