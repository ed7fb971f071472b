/** How `allow` shows what it is about to do: the reachability change as a table, findings as warnings with the fixing command. */
import type { ChangeGroup } from '../engine/diff.js';
import { NAMESPACE_NAME_LABEL } from '../engine/model.js';
import { formatPortSet, unionPortSets } from '../engine/ports.js';
import type { AllowFinding, PolicyPreview, TierFinding } from '../engine/preview.js';
import type { PolicyTrap } from '../engine/traps.js';
import type { AllowSpec } from '../engine/synthesize.js';
import { formatPeer, formatPort, shellQuote } from '../peer-syntax.js';
import { formatSelector } from '../engine/selector.js';
import { formatChangeEnd, formatChangeGroups, formatChangePorts, PREVIEW_GROUPS } from './changes.js';
import { formatTierRuleRef } from './names.js';

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

/**
 * The connections a policy opens and cuts, grouped: CHANGE CONNECTIONS FROM TO PORTS, the largest
 * groups first (every group with `explain`); when nothing changes, the line that says why.
 */
export function formatChangeTable(preview: PolicyPreview, opts: { explain?: boolean } = {}): string {
  const table = formatChangeGroups(
    [
      { change: 'opens', groups: preview.groups.opened },
      { change: 'cuts', groups: preview.groups.cut },
    ],
    { limit: opts.explain ? undefined : PREVIEW_GROUPS, more: '--explain lists every group' },
  );
  return table || `${UNCHANGED[preview.unchanged ?? 'already-allowed']}\n`;
}

/** Why no connection changes, by PolicyPreview.unchanged. */
const UNCHANGED: Record<NonNullable<PolicyPreview['unchanged']>, string> = {
  'already-allowed': 'No connection changes: everything this policy admits is allowed already.',
  'matches-nothing': 'No connection changes: the policy names something that matches nothing (see the warnings).',
  'decided-by-admin':
    'No connection changes: Admin-tier cluster policies decide what this policy admits before it is asked (see the warning).',
  'blocked-by-other-side':
    "No connection changes: what this policy admits stays blocked by the other side's policies (see the warning).",
};

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The first groups of a finding: `web/deployment/frontend -> api/deployment/api 8080/TCP (12 connections)`. */
function groupList(groups: ChangeGroup[], limit = 3): string {
  const shown = groups
    .slice(0, limit)
    .map(
      (g) =>
        `${formatChangeEnd(g.from)} -> ${formatChangeEnd(g.to)} ${formatChangePorts(g.ports, g.kept)}` +
        (g.count > 1 ? ` (${g.count} connections)` : ''),
    );
  return groups.length > limit
    ? `${shown.join(', ')}, and ${count(groups.length - limit, 'more group')}`
    : shown.join(', ');
}

/** How many fixing commands a warning spells out. */
const FIXES_SHOWN = 2;

function fixText(fixes: AllowSpec[], what: string): string {
  if (fixes.length === 0) return '';
  const shown = fixes.slice(0, FIXES_SHOWN).map(formatAllowCommand).join(' ; ');
  const rest = fixes.length - FIXES_SHOWN;
  return `; ${what}: ${shown}${rest > 0 ? ` ; and ${count(rest, 'command')} like these in other namespaces` : ''}`;
}

/** One warning line per finding, each ending with the command that fixes it. */
export function formatFinding(finding: AllowFinding): string {
  if (finding.code === 'first-policy') {
    const pods = count(finding.newlyIsolated.length, 'pod');
    const connections = count(finding.connections, 'connection');
    const verb = finding.connections === 1 ? 'becomes' : 'become';
    return (
      `this is the first ${finding.direction} policy on ${pods}: ` +
      `${connections} allowed today ${verb} denied (${groupList(finding.groups)})` +
      fixText(finding.fixes, finding.connections === 1 ? 'to keep it' : 'to keep them')
    );
  }
  const side =
    finding.direction === 'egress' ? 'the egress policies of the source' : 'the ingress policies of the destination';
  const n = finding.blocked.length;
  const ports = formatPortSet(unionPortSets(...finding.blocked.map((b) => b.ports)));
  return (
    `${count(n, 'connection')} this policy admits ${n === 1 ? 'stays' : 'stay'} blocked on ${ports} by ${side} (${groupList(finding.groups)})` +
    fixText(finding.fixes, n === 1 ? 'to open it' : 'to open them')
  );
}

/** One warning line per cluster tier rule that decides instead of the new policy. */
export function formatTierFinding(finding: TierFinding): string[] {
  return finding.overrides.map((o) => {
    const n = o.pairs.length;
    const what = `${count(n, 'connection')} this policy admits (${groupList(o.groups)})`;
    if (finding.code === 'moot-by-admin') {
      const verb = o.rule.action === 'Accept' ? 'accepts' : 'denies';
      return `${what}: ${formatTierRuleRef(o.rule)} ${verb} ${n === 1 ? 'it' : 'them'} first, so this policy does not decide ${n === 1 ? 'it' : 'them'}`;
    }
    return `${what}: ${n === 1 ? 'it was' : 'they were'} denied by ${formatTierRuleRef(o.rule)}; this policy isolates the pods, so the Baseline tier no longer applies and this policy's rules decide`;
  });
}

/** The name label stands for a namespace by name: `namespace kube-system for kube-sytem`, as PEER's `@NAME` reads. */
function nearMissText(miss: { wanted: string; closest: string }): string {
  const byName = `${NAMESPACE_NAME_LABEL}=`;
  if (miss.wanted.startsWith(byName) && miss.closest.startsWith(byName)) {
    return `namespace ${miss.closest.slice(byName.length)} for ${miss.wanted.slice(byName.length)}`;
  }
  return `${miss.closest} for ${miss.wanted}`;
}

/** One warning line per trap: what matches nothing, and the near-miss that does exist. */
export function formatTrap(trap: PolicyTrap): string {
  const hint = (misses: { wanted: string; closest: string }[]) =>
    misses.length === 0 ? '' : ` (did you mean ${misses.map(nearMissText).join(', ')}?)`;
  if (trap.code === 'subject-matches-nothing') {
    return `the policy selects no pod: no pod of namespace ${trap.namespace} matches ${formatSelector(trap.selector) || '*'}${hint(trap.nearMisses)}`;
  }
  if (trap.code === 'peer-matches-nothing') {
    const peer = formatPeer(trap.peer);
    const side = trap.direction === 'ingress' ? 'source' : 'destination';
    const what = trap.what === 'namespaces' ? 'it selects no namespace' : 'no pod matches it';
    return `the ${side} ${peer} matches nothing: ${what}${hint(trap.nearMisses)}`;
  }
  const near = trap.nearMisses.length > 0 ? ` (did you mean ${trap.nearMisses.join(', ')}?)` : '';
  const pods = trap.direction === 'ingress' ? 'the pods the policy selects' : 'the destination pods';
  return `port ${trap.name}/${trap.protocol} is defined by none of ${pods}: nothing is opened on it${near}`;
}
