/**
 * Pictures of a who-can answer: `-o dot` (Graphviz) and `-o mermaid`. Namespaces are clusters,
 * workloads (and bare pods) are nodes with their pod counts, address blocks are nodes outside any
 * namespace, and each edge is one source reaching one target workload, labelled with its ports and
 * carrying the rules that allow it (a tooltip in dot, a comment in mermaid). With --explain, denied
 * paths are dashed. Edges come from the engine's groups (targets x sources sharing one decision), so
 * the cost follows workloads, not pod pairs. Output is sorted: the same answer draws the same text.
 */
import type { Decision, PodRef, PortSet, Protocol } from '../engine/model.js';
import { keyOf } from '../engine/model.js';
import { formatPortSet, unionPortSets } from '../engine/ports.js';
import type { Connection, ConnectionGroup, ReachAnswer } from '../engine/answer.js';
import { connectionOf, peerOf, subjectOf } from '../engine/answer.js';
import type { ReachReport } from '../services/report.js';
import { allowingRules, explainConnection } from './explain.js';
import { formatIpBlock } from './names.js';

/** Values of `-o` that draw a picture. */
export const GRAPH_FORMATS = ['dot', 'mermaid'] as const;
/** One of GRAPH_FORMATS. */
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** Whether an `-o` value draws a picture. */
export function isGraphFormat(format: string): format is GraphFormat {
  return (GRAPH_FORMATS as readonly string[]).includes(format);
}

/** A node: a workload or bare pod inside its namespace, or an address block outside the cluster. */
export interface GraphNode {
  /** `ns/kind/name`, `ns/name` (bare pod) or `ip:CIDR` — the same keys as the table's rows. */
  id: string;
  /** Undefined for address blocks. */
  namespace?: string;
  /** `deployment/api`, `pod/toolbox`, or the address block. */
  label: string;
  /** Pods of the workload that take part in the answer; undefined for address blocks. */
  pods?: number;
  /** Whether its pods are among those asked about (who-can's targets, reachable-from's sources). */
  isTarget: boolean;
}

/** An edge: sources of one node reaching targets of another, on these ports. */
export interface GraphEdge {
  from: string;
  to: string;
  isDenied: boolean;
  /** `8080/TCP`, `53/TCP, 53/UDP`, `all`; '' for a denied edge without a port query. */
  ports: string;
  /** Allowed: the rules that allow it (`ns/policy ingress[0]`), or `not isolated`. Denied: the reasons. */
  why: string[];
  /** The tooltip (dot) or comment (mermaid) when not `FROM -> TO on PORTS: allowed by ...` (diff's edges). */
  tooltip?: string;
}

/** What the pictures draw. */
export interface ReachGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Whether denied edges are drawn (--explain, or a --from question): adds a legend. */
  hasDenied: boolean;
  /** The command that asked, the graph's name: who-can (inbound), reachable-from (outbound), diff. */
  name: 'who-can' | 'reachable-from' | 'diff';
  /** The legend when dashed edges are drawn; default `solid: allowed, dashed: denied`. */
  legend?: string;
  /** Whether mermaid draws the solid edges green too, as dot always does (diff: green opens, red closes). */
  isSolidGreen?: boolean;
}

/** One engine answer shared by sources x targets (a group, or one connection). */
interface Share {
  sources: PodRef[];
  targets: PodRef[];
  port?: number;
  protocol?: Protocol;
  ports?: PortSet;
  decision: Decision;
  /** For the reasons of a denied share: one of its connections. */
  sample: () => Connection;
}

interface EdgeBuilder {
  from: string;
  to: string;
  isDenied: boolean;
  portSets: PortSet[];
  portTexts: Set<string>;
  why: Set<string>;
}

function shareOfGroup(answer: ReachAnswer, group: ConnectionGroup): Share {
  const isInbound = answer.orientation === 'inbound';
  return {
    sources: isInbound ? group.peers : group.subjects,
    targets: isInbound ? group.subjects : group.peers,
    port: group.port,
    protocol: group.protocol,
    ports: group.ports,
    decision: answer.decide(group),
    sample: () => {
      const subject = group.subjects[0];
      const peer = group.peers.find((pod) => keyOf(pod) !== keyOf(subject)) ?? group.peers[0];
      return connectionOf(answer, group, subject, peer);
    },
  };
}

/** Builds the graph of a report: nodes per workload, edges per (source node, target node, verdict). */
export function buildReachGraph(report: ReachReport, opts: { explain?: boolean } = {}): ReachGraph {
  // A --from question draws its answer either way, like its exit status.
  const showDenied = opts.explain === true || report.allowed !== undefined;
  const nodes = new Map<string, GraphNode>();
  const podsOfNode = new Map<string, Set<string>>();
  const nodeOfPod = (pod: PodRef): GraphNode => {
    const owner = report.workloads.get(keyOf(pod));
    const isBare = !owner || owner.kind === 'Pod';
    const label = isBare ? `pod/${pod.name}` : `${owner.kind.toLowerCase()}/${owner.name}`;
    const id = isBare ? keyOf(pod) : `${pod.namespace}/${label}`;
    let node = nodes.get(id);
    if (!node) {
      node = { id, namespace: pod.namespace, label, pods: 0, isTarget: false };
      nodes.set(id, node);
      podsOfNode.set(id, new Set());
    }
    podsOfNode.get(id)!.add(keyOf(pod));
    return node;
  };
  for (const subject of report.answer.subjects) nodeOfPod(subject).isTarget = true;

  const edges = new Map<string, EdgeBuilder>();
  const edgeOf = (from: string, to: string, isDenied: boolean): EdgeBuilder => {
    const key = `${from}\u0000${to}\u0000${isDenied}`;
    let edge = edges.get(key);
    if (!edge) {
      edge = { from, to, isDenied, portSets: [], portTexts: new Set(), why: new Set() };
      edges.set(key, edge);
    }
    return edge;
  };
  const addShare = (share: Share, isDenied: boolean): void => {
    const sourcesByNode = groupByNode(share.sources, nodeOfPod);
    const targetsByNode = groupByNode(share.targets, nodeOfPod);
    let rules: string[] | undefined;
    for (const [toId, targets] of targetsByNode) {
      for (const [fromId, sources] of sourcesByNode) {
        // A pod is never its own source: a node pair whose only pair is one pod to itself draws nothing.
        if (sources.length === 1 && targets.length === 1 && keyOf(sources[0]) === keyOf(targets[0])) continue;
        const edge = edgeOf(fromId, toId, isDenied);
        if (share.port !== undefined) edge.portTexts.add(`${share.port}/${share.protocol}`);
        else if (share.ports && !isDenied) edge.portSets.push(share.ports);
        // Reasons name the nodes, as the --explain table names its rows.
        const why = isDenied
          ? explainConnection(share.sample(), fromId, toId)
          : (rules ??= allowingRules(share.decision));
        for (const reason of why) edge.why.add(reason);
      }
    }
  };

  const { answer } = report;
  for (const group of answer.groups) addShare(shareOfGroup(answer, group), false);
  if (showDenied) for (const group of answer.deniedGroups) addShare(shareOfGroup(answer, group), true);
  // Only the address blocks are read as connections: pod pairs are never expanded.
  const addAddress = (connection: Connection, isDenied: boolean) => {
    const peer = peerOf(answer, connection);
    if (!('ipBlock' in peer)) return;
    const label = formatIpBlock(peer.ipBlock);
    const id = `ip:${label}`;
    if (!nodes.has(id)) nodes.set(id, { id, label, isTarget: false });
    const pod = nodeOfPod(subjectOf(answer, connection)).id;
    const [from, to] = answer.orientation === 'inbound' ? [id, pod] : [pod, id];
    const edge = edgeOf(from, to, isDenied);
    if (connection.port !== undefined) edge.portTexts.add(`${connection.port}/${connection.protocol}`);
    else if (connection.ports && !isDenied) edge.portSets.push(connection.ports);
    const [source, target] = answer.orientation === 'inbound' ? [label, pod] : [pod, label];
    const why = isDenied ? explainConnection(connection, source, target) : allowingRules(connection.decision);
    for (const reason of why) edge.why.add(reason);
  };
  for (const connection of answer.external) addAddress(connection, false);
  if (showDenied) for (const connection of answer.deniedExternal) addAddress(connection, true);

  for (const [id, pods] of podsOfNode) nodes.get(id)!.pods = pods.size;
  return {
    nodes: [...nodes.values()].sort(compareNodes),
    edges: [...edges.values()].map(finishEdge).sort(compareEdges),
    hasDenied: showDenied,
    name: answer.orientation === 'inbound' ? 'who-can' : 'reachable-from',
  };
}

function groupByNode(pods: PodRef[], nodeOf: (pod: PodRef) => GraphNode): Map<string, PodRef[]> {
  const out = new Map<string, PodRef[]>();
  for (const pod of pods) {
    const id = nodeOf(pod).id;
    const list = out.get(id) ?? [];
    list.push(pod);
    out.set(id, list);
  }
  return out;
}

function finishEdge(edge: EdgeBuilder): GraphEdge {
  const texts = [...edge.portTexts].sort(comparePortTexts);
  if (edge.portSets.length > 0) texts.push(formatPortSet(unionPortSets(...edge.portSets)));
  // Allowing rules sorted; reasons in the engine's order (ingress, then egress).
  const why = edge.isDenied ? [...edge.why] : [...edge.why].sort();
  return { from: edge.from, to: edge.to, isDenied: edge.isDenied, ports: texts.join(', '), why };
}

/** `80/TCP` before `443/TCP` before `53/UDP`: protocol, then number. */
function comparePortTexts(a: string, b: string): number {
  const [portA, protocolA] = a.split('/');
  const [portB, protocolB] = b.split('/');
  return protocolA.localeCompare(protocolB) || Number(portA) - Number(portB);
}

/** Namespaced nodes by namespace and label, then address blocks (the order every picture draws them in). */
export function compareNodes(a: GraphNode, b: GraphNode): number {
  if ((a.namespace === undefined) !== (b.namespace === undefined)) return a.namespace === undefined ? 1 : -1;
  return compareText(a.namespace ?? '', b.namespace ?? '') || compareText(a.label, b.label);
}

export function compareEdges(a: GraphEdge, b: GraphEdge): number {
  return compareText(a.from, b.from) || compareText(a.to, b.to) || Number(a.isDenied) - Number(b.isDenied);
}

/** Code-point order, independent of the locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A node's text: its name and, for workloads, how many pods take part. */
function nodeText(node: GraphNode): string {
  if (node.pods === undefined) return node.label;
  return `${node.label}\n${node.pods} ${node.pods === 1 ? 'pod' : 'pods'}`;
}

/** `FROM -> TO on PORTS: allowed by RULES` or `...: denied (REASONS)`, nodes named as the table's rows. */
function edgeTooltip(edge: GraphEdge, nodes: Map<string, GraphNode>): string {
  if (edge.tooltip !== undefined) return edge.tooltip;
  const name = (id: string) => (nodes.get(id)?.namespace === undefined ? nodes.get(id)?.label : id);
  const ports = edge.ports === '' ? '' : ` on ${edge.ports}`;
  const verdict = edge.isDenied ? `denied (${edge.why.join('; ')})` : `allowed by ${edge.why.join(', ')}`;
  return `${name(edge.from)} -> ${name(edge.to)}${ports}: ${verdict}`;
}

/** A DOT double-quoted string: backslashes and quotes escaped, newlines as `\n` (centred lines). */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

const COLORS = {
  target: '#dbeafe',
  source: '#ffffff',
  address: '#fef3c7',
  namespace: '#64748b',
  denied: '#b91c1c',
  allowed: '#15803d',
};

/** The graph in Graphviz's DOT language (`dot -Tpng`, `-Tsvg`: tooltips show the allowing rules). */
export function formatDot(graph: ReachGraph): string {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const lines = [
    `digraph "${graph.name}" {`,
    '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.4, ranksep=1.2];',
    `  node [shape=box, style="rounded,filled", fillcolor="${COLORS.source}", fontname="Helvetica", fontsize=10];`,
    `  edge [fontname="Helvetica", fontsize=9, color="${COLORS.allowed}", fontcolor="${COLORS.allowed}"];`,
  ];
  if (graph.hasDenied) {
    lines.push(`  label=${dotString(graph.legend ?? 'solid: allowed, dashed: denied')};`, '  labelloc=b;');
  }
  const namespaces = [
    ...new Set(graph.nodes.flatMap((node) => (node.namespace === undefined ? [] : [node.namespace]))),
  ];
  namespaces.forEach((namespace) => {
    lines.push(`  subgraph ${dotString(`cluster_${namespace}`)} {`);
    lines.push(`    label=${dotString(`namespace ${namespace}`)};`);
    lines.push(`    labelloc=t; style="rounded,dashed"; color="${COLORS.namespace}"; fontcolor="${COLORS.namespace}";`);
    for (const node of graph.nodes.filter((candidate) => candidate.namespace === namespace)) {
      const attributes = [`label=${dotString(nodeText(node))}`];
      if (node.isTarget) attributes.push(`fillcolor="${COLORS.target}"`, 'penwidth=2');
      lines.push(`    ${dotString(node.id)} [${attributes.join(', ')}];`);
    }
    lines.push('  }');
  });
  for (const node of graph.nodes.filter((candidate) => candidate.namespace === undefined)) {
    lines.push(`  ${dotString(node.id)} [label=${dotString(node.label)}, shape=note, fillcolor="${COLORS.address}"];`);
  }
  for (const edge of graph.edges) {
    const attributes = [];
    if (edge.ports !== '') attributes.push(`label=${dotString(edge.ports)}`);
    attributes.push(`tooltip=${dotString(edgeTooltip(edge, byId))}`);
    if (edge.isDenied) attributes.push('style=dashed', `color="${COLORS.denied}"`, `fontcolor="${COLORS.denied}"`);
    lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Text inside a mermaid `"..."` label: entity codes for what mermaid would read as syntax or HTML. */
export function mermaidString(text: string): string {
  const escaped = text
    .replace(/&/g, '#amp;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\r?\n/g, '<br/>');
  return `"${escaped}"`;
}

/** A `%%` comment: one line, never closing anything. */
function mermaidComment(text: string): string {
  return `%% ${text.replace(/\s*\r?\n\s*/g, ' ')}`;
}

/** The graph as a mermaid flowchart (GitHub renders it in a ```mermaid block); the allowing rules are comments. */
export function formatMermaid(graph: ReachGraph): string {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const ids = new Map(graph.nodes.map((node, index) => [node.id, `n${index}`]));
  const lines = ['flowchart LR'];
  const namespaces = [
    ...new Set(graph.nodes.flatMap((node) => (node.namespace === undefined ? [] : [node.namespace]))),
  ];
  namespaces.forEach((namespace, index) => {
    lines.push(`  subgraph ns${index}[${mermaidString(`namespace ${namespace}`)}]`);
    for (const node of graph.nodes.filter((candidate) => candidate.namespace === namespace)) {
      lines.push(`    ${ids.get(node.id)}[${mermaidString(nodeText(node))}]`);
    }
    lines.push('  end');
  });
  for (const node of graph.nodes.filter((candidate) => candidate.namespace === undefined)) {
    lines.push(`  ${ids.get(node.id)}[/${mermaidString(node.label)}/]`);
  }
  const denied: number[] = [];
  const solid: number[] = [];
  graph.edges.forEach((edge, index) => {
    const arrow = edge.isDenied ? '-.->' : '-->';
    const label = edge.ports === '' ? '' : `|${mermaidString(edge.ports)}|`;
    lines.push(`  ${mermaidComment(edgeTooltip(edge, byId))}`);
    lines.push(`  ${ids.get(edge.from)} ${arrow}${label} ${ids.get(edge.to)}`);
    (edge.isDenied ? denied : solid).push(index);
  });
  const targets = graph.nodes.filter((node) => node.isTarget).map((node) => ids.get(node.id));
  const addresses = graph.nodes.filter((node) => node.namespace === undefined).map((node) => ids.get(node.id));
  lines.push(`  classDef target fill:${COLORS.target},stroke-width:2px`);
  lines.push(`  classDef address fill:${COLORS.address}`);
  if (targets.length > 0) lines.push(`  class ${targets.join(',')} target`);
  if (addresses.length > 0) lines.push(`  class ${addresses.join(',')} address`);
  if (denied.length > 0) lines.push(`  linkStyle ${denied.join(',')} stroke:${COLORS.denied},color:${COLORS.denied}`);
  if (graph.isSolidGreen && solid.length > 0)
    lines.push(`  linkStyle ${solid.join(',')} stroke:${COLORS.allowed},color:${COLORS.allowed}`);
  return lines.join('\n') + '\n';
}

/** Draws a report in a graph format. */
export function renderGraph(report: ReachReport, format: GraphFormat, opts: { explain?: boolean } = {}): string {
  const graph = buildReachGraph(report, opts);
  return format === 'dot' ? formatDot(graph) : formatMermaid(graph);
}
