/** How `allow` shows what it is about to do: the reachability change as a table, findings as warnings with the fixing command. */
import type { PodRef } from '../engine/model.js';
import { formatPortSet } from '../engine/ports.js';
import type { AllowFinding, PodPairPorts, PolicyPreview } from '../engine/preview.js';
import type { AllowSpec } from '../engine/synthesize.js';
import { formatPeer, formatPort, shellQuote } from '../peer-syntax.js';
import { formatSelector } from '../engine/selector.js';
import { formatTable } from './table.js';

const podText = (pod: PodRef): string => `${pod.namespace}/${pod.name}`;

/** The `kubectl netpol allow` that makes an AllowSpec, ready to paste (FROM before TO, as the sentence goes). */
function formatAllowCommand(spec: AllowSpec): string {
  const words = ['kubectl', 'netpol', 'allow'];
  if (spec.direction === 'egress') words.push('--egress');
  words.push('-n', spec.namespace);
  const subject = shellQuote(formatSelector(spec.subject) || '*');
  const peers = spec.peers.map((peer) => shellQuote(formatPeer(peer)));
  const [from, to] = spec.direction === 'ingress' ? [peers, [subject]] : [[subject], peers];
  for (const f of from) words.push('--from', f);
  for (const t of to) words.push('--to', t);
  for (const port of spec.ports) words.push('--port', shellQuote(formatPort(port)));
  return words.join(' ');
}

/** The connections a policy opens and cuts, one row each: CHANGE FROM TO PORTS; '' when none change. */
export function formatChangeTable(preview: PolicyPreview, opts: { noHeaders?: boolean } = {}): string {
  const rows = [
    ...preview.diff.opened.map((c) => ['opens', podText(c.from), podText(c.to), formatPortSet(c.gained)]),
    ...preview.diff.cut.map((c) => ['cuts', podText(c.from), podText(c.to), formatPortSet(c.lost)]),
  ];
  return formatTable(['change', 'from', 'to', 'ports'], rows, opts);
}

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function pairList(pairs: PodPairPorts[], limit = 3): string {
  const shown = pairs.slice(0, limit).map((p) => `${podText(p.from)} -> ${podText(p.to)} ${formatPortSet(p.ports)}`);
  return pairs.length > limit ? `${shown.join(', ')}, and ${pairs.length - limit} more` : shown.join(', ');
}

function fixText(fixes: AllowSpec[], what: string): string {
  if (fixes.length === 0) return '';
  return `; ${what}: ${fixes.map(formatAllowCommand).join(' ; ')}`;
}

/** One warning line per finding, each ending with the command that fixes it. */
export function formatFinding(finding: AllowFinding): string {
  if (finding.code === 'first-policy') {
    const pods = count(finding.newlyIsolated.length, 'pod');
    const connections = count(finding.cut.length, 'connection');
    const verb = finding.cut.length === 1 ? 'becomes' : 'become';
    return (
      `this is the first ${finding.direction} policy on ${pods} (${finding.newlyIsolated.map(podText).join(', ')}): ` +
      `${connections} allowed today ${verb} denied (${pairList(finding.cut)})` +
      fixText(finding.fixes, finding.cut.length === 1 ? 'to keep it' : 'to keep them')
    );
  }
  const side =
    finding.direction === 'egress' ? 'the egress policies of the source' : 'the ingress policies of the destination';
  const n = finding.blocked.length;
  return (
    `${count(n, 'connection')} this policy admits ${n === 1 ? 'stays' : 'stay'} blocked by ${side} (${pairList(finding.blocked)})` +
    fixText(finding.fixes, n === 1 ? 'to open it' : 'to open them')
  );
}
