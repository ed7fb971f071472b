/**
 * `audit` in words: each finding's message and fix rendered from its facts, the catalogue of ids
 * (SARIF's rules, docs/audit.md), and the views: a kubectl-look table, a JSON/YAML document and
 * Markdown (SARIF is in sarif.ts). Nothing is decided here.
 */
import type { V1NetworkPolicyPeer } from '@kubernetes/client-node';

import type { Connection } from '../engine/answer.js';
import type { Finding, FindingDetails, FindingId } from '../engine/audit.js';
import type { Direction, Peer, PolicyRef, PortSet, RuleRef, TierRuleRef } from '../engine/model.js';
import { keyOf } from '../engine/model.js';
import { formatPortSet, isEmptyPortSet } from '../engine/ports.js';
import { formatSelector } from '../engine/selector.js';
import type { LabelNearMiss } from '../engine/traps.js';
import type { AuditResult } from '../services/audit.js';
import { explainAllowance, explainConnection } from './explain.js';
import { formatIpBlock, formatRuleRef, formatTierRuleRef } from './names.js';
import { portSetDocument } from './reach-document.js';
import { formatTable } from './table.js';

/** What each id means, in one line and in full: SARIF's shortDescription and fullDescription. */
export const FINDING_CATALOGUE: Record<FindingId, { title: string; description: string }> = {
  'invalid-policy': {
    title: 'Policy the API server would reject',
    description:
      'A NetworkPolicy (or cluster-scoped tier policy) that fails the API server validation: it is left out of every answer, so it protects nothing.',
  },
  'expectation-violated': {
    title: 'Connectivity expectation does not hold',
    description:
      'A connection an --expect file says must be allowed is denied for some pod pair, or one it says must be denied is allowed for some pair.',
  },
  'exposed-to-internet': {
    title: 'Pods reachable from every public address',
    description:
      'Every public address (0.0.0.0/0 and ::/0 less the private ranges) may reach these pods on some port, through a rule or because no policy isolates them for ingress.',
  },
  'exposed-to-all-namespaces': {
    title: 'Pods reachable from every namespace',
    description:
      'Every pod of every namespace, including namespaces created later, may reach these pods: a rule without peers or with namespaceSelector {} and no podSelector, or no ingress isolation.',
  },
  'namespace-not-isolated': {
    title: 'Namespace without default-deny isolation',
    description:
      'Some pods of the namespace are selected by no policy for the direction: ingress (warning) lets every pod and address reach them, egress (info) lets them reach everything.',
  },
  'egress-without-dns': {
    title: 'Egress isolation without a path to DNS',
    description:
      'Pods isolated for egress whose rules do not admit the cluster DNS pods on 53/UDP: name resolution fails in them.',
  },
  'policy-selects-no-pods': {
    title: 'Policy selecting no pod',
    description: "The policy's podSelector matches no pod of its namespace today (a typo in a label, or pods gone).",
  },
  'peer-selects-nothing': {
    title: 'Rule peer matching nothing',
    description:
      'A from/to peer whose namespaceSelector selects no namespace or whose podSelector selects no pod today: the rule admits nothing through it.',
  },
  'named-port-unresolved': {
    title: 'Port name no destination pod defines',
    description: 'A rule names a container port that none of the pods it applies to defines: nothing is opened on it.',
  },
  'tier-priority-tie': {
    title: 'Cluster policies tied on priority',
    description:
      'Two cluster-scoped policies of one tier with the same priority whose subjects may overlap: which one decides is not defined by the API.',
  },
  'legacy-annotation': {
    title: 'Seed-era isolation annotation',
    description:
      'The namespace carries net.beta.kubernetes.io/network-policy or net.alpha.kubernetes.io/network-isolation, which Kubernetes ignores since 1.7.',
  },
  'rule-shadowed': {
    title: 'Rule admitting nothing new',
    description:
      'Another rule of a policy selecting the same pods (or more) in the same direction admits every peer and port this rule admits; in cluster tiers, an earlier rule of the same policy, or of a policy of the tier that decides first for every pod it selects, matches everything it does.',
  },
};

/** A rule of a cluster tier policy by its place, and its name when it has one: `egress[1] (allow-dns)`. */
function tierRuleName(rule: TierRuleRef): string {
  return `${rule.direction}[${rule.rule.index}]${rule.rule.name ? ` (${rule.rule.name})` : ''}`;
}

function isOtherPolicy(rule: TierRuleRef, by: TierRuleRef): boolean {
  return rule.policy.kind !== by.policy.kind || rule.policy.name !== by.policy.name;
}

/** `networkpolicy/default-deny`, `deployment/api`, `namespace/web`, as kubectl names objects. */
export function formatObject(finding: Finding): string {
  if (finding.object.kind === 'Expectation') return finding.object.name;
  return `${finding.object.kind.toLowerCase()}/${finding.object.name}`;
}

function portsText(ports: Parameters<typeof formatPortSet>[0]): string {
  const text = formatPortSet(ports);
  return text === 'all' ? 'every port' : text;
}

function pods(count: number): string {
  return `${count} pod${count === 1 ? '' : 's'}`;
}

function nearMissText(nearMisses: readonly LabelNearMiss[]): string {
  if (nearMisses.length === 0) return '';
  return ` (did you mean ${nearMisses.map((m) => `${m.closest} for ${m.wanted}`).join(', ')}?)`;
}

function policies(refs: readonly PolicyRef[]): string {
  return refs.map(keyOf).join(', ');
}

function peerText(peer: V1NetworkPolicyPeer): string {
  const parts: string[] = [];
  if (peer.namespaceSelector) parts.push(`namespaceSelector {${formatSelector(peer.namespaceSelector)}}`);
  if (peer.podSelector) parts.push(`podSelector {${formatSelector(peer.podSelector)}}`);
  return parts.join(' and ');
}

function peerLabel(peer: Peer): string {
  return 'pod' in peer ? keyOf(peer.pod) : formatIpBlock(peer.ipBlock);
}

/** Why a connection of an answer goes the way it does, in who-can's --explain words. */
function explainOf(connection: Connection): string {
  if (connection.decision.allowed) return explainAllowance(connection);
  return explainConnection(connection, peerLabel(connection.from), peerLabel(connection.to)).join('; ');
}

function tierRulesText(rules: readonly TierRuleRef[]): string {
  return rules.map(formatTierRuleRef).join(', ');
}

/** What opens an exposure: NetworkPolicy rules, tier rules that accept, or no isolation at all. */
function exposureVia(d: Extract<FindingDetails, { id: 'exposed-to-internet' | 'exposed-to-all-namespaces' }>): string {
  const accepting = d.tierRules?.accepting ?? [];
  const rules = [...(d.isolated ? d.rules.map((r) => formatRuleRef(r)) : []), ...accepting.map(formatTierRuleRef)];
  if (rules.length > 0) return `through ${rules.join(', ')}`;
  if (!d.tierRules) return 'no policy isolates them for ingress';
  return d.id === 'exposed-to-internet'
    ? 'no NetworkPolicy isolates them for ingress'
    : 'no NetworkPolicy isolates them for ingress, and no tier rule keeps every pod out there';
}

/** How tier rules close pods no NetworkPolicy selects to any pod (never to outside addresses in ingress). */
function tierClosureText(direction: Direction, tiers: { denying: TierRuleRef[]; openPorts: PortSet }): string {
  const but = isEmptyPortSet(tiers.openPorts) ? '' : ` except on ${portsText(tiers.openPorts)}`;
  const rules = `${tierRulesText(tiers.denying)} ${tiers.denying.length === 1 ? 'keeps' : 'keep'}`;
  return direction === 'ingress'
    ? `${rules} every pod out${but}, but any outside address may reach them (tier ingress peers are pods and namespaces, never addresses)`
    : `${rules} them from every pod${but}; outside addresses only as tier networks rules allow`;
}

/** The finding in one sentence. */
export function formatMessage(finding: Finding): string {
  const d = finding.details;
  const ns = finding.namespace ?? '';
  switch (d.id) {
    case 'invalid-policy':
      return `invalid, so left out of every answer: ${d.problems.join('; ')}`;
    case 'namespace-not-isolated': {
      const what = d.tierRules
        ? tierClosureText(d.direction, d.tierRules)
        : d.direction === 'ingress'
          ? 'any pod or address may reach them'
          : 'they may reach any pod or address';
      const policy = d.tierRules ? 'NetworkPolicy' : 'policy';
      return d.state === 'open'
        ? `no ${policy} selects the ${pods(d.pods)} of namespace ${ns} for ${d.direction}: ${what}`
        : `${d.pods - d.selectedPods} of the ${pods(d.pods)} of namespace ${ns} are selected by no ${d.direction} ${policy}: ${what}`;
    }
    case 'exposed-to-internet': {
      const denying = d.tierRules?.denying ?? [];
      const kept =
        denying.length > 0
          ? `; ${tierRulesText(denying)} ${denying.length === 1 ? 'denies' : 'deny'} pods only (tier ingress peers are pods and namespaces, never outside addresses)`
          : '';
      return `${pods(d.pods)} may be reached from every public address (${d.blocks.map(formatIpBlock).join('; ')}) on ${portsText(d.ports)}: ${exposureVia(d)}${kept}`;
    }
    case 'exposed-to-all-namespaces': {
      const denying = d.tierRules?.denying ?? [];
      const kept = denying.length > 0 ? `; other ports closed by ${tierRulesText(denying)}` : '';
      return `${pods(d.pods)} may be reached by every pod of every namespace, including namespaces not created yet, on ${portsText(d.ports)}: ${exposureVia(d)}${kept}`;
    }
    case 'egress-without-dns':
      return `pods isolated for egress (by ${policies(d.egressPolicies)}) cannot reach the cluster DNS (${pods(d.dnsPods)} in ${d.dnsNamespace}) on 53/UDP: name resolution fails`;
    case 'policy-selects-no-pods':
      return `podSelector {${formatSelector(d.selector)}} selects no pod of namespace ${ns}${nearMissText(d.nearMisses)}`;
    case 'peer-selects-nothing': {
      const what = d.what === 'namespaces' ? 'its namespaceSelector selects no namespace' : 'it selects no pod';
      return `${formatRuleRef(d.rule, false)} peer ${d.peerIndex} (${peerText(d.peer)}) admits nothing: ${what}${nearMissText(d.nearMisses)}`;
    }
    case 'named-port-unresolved': {
      const near = d.nearMisses.length > 0 ? ` (did you mean ${d.nearMisses[0]}?)` : '';
      return `${formatRuleRef(d.rule, false)} names port ${d.port}/${d.protocol}, which none of the pods it applies to defines: nothing is opened on it${near}`;
    }
    case 'rule-shadowed':
      if ('tier' in d) {
        if (isOtherPolicy(d.rule, d.by)) {
          return `${tierRuleName(d.rule)} can never match: ${formatTierRuleRef(d.by)} decides first for every pod this policy selects and matches every peer and port it names, and the first rule that matches decides`;
        }
        return `${tierRuleName(d.rule)} can never match: ${tierRuleName(d.by)} before it matches every peer and port it names, and the first rule that matches decides`;
      }
      return `${formatRuleRef(d.rule, false)} admits nothing that ${formatRuleRef(d.by)} does not already admit to the same pods`;
    case 'tier-priority-tie': {
      const today = d.overlapsToday ? ', and some pods are selected by both today' : '';
      return `${d.other.kind} ${d.other.name} has the same priority ${d.priority} in tier ${d.tier} and may select the same pods${today}: which of them decides is not defined`;
    }
    case 'legacy-annotation': {
      const asked = d.isolatesIngress ? 'it asks for ingress isolation' : 'it asks for no isolation';
      return `annotation ${d.annotation}=${d.value} is ignored by Kubernetes since 1.7; ${asked}`;
    }
    case 'expectation-violated': {
      const port = d.port ? ` on ${d.port}` : '';
      const actual =
        d.actual === 'all'
          ? 'every pair is allowed'
          : d.actual === 'none'
            ? 'every pair is denied'
            : 'some connections are allowed and some denied';
      const why = d.connection
        ? `: ${peerLabel(d.connection.from)} -> ${peerLabel(d.connection.to)}: ${explainOf(d.connection)}`
        : '';
      return `expected ${d.from} -> ${d.to}${port} to be ${d.expected ? 'allowed' : 'denied'}, but ${actual}${why}`;
    }
  }
}

/** How to fix the finding, in one sentence (with the command when one does it). */
export function formatFix(finding: Finding): string {
  const d = finding.details;
  const ns = finding.namespace ?? '';
  switch (d.id) {
    case 'invalid-policy':
      return 'correct the fields named (kubectl apply --dry-run=server shows the same errors)';
    case 'namespace-not-isolated':
      return d.direction === 'ingress'
        ? `kubectl netpol isolate ${ns}, then open what must reach the pods with kubectl netpol allow`
        : `kubectl netpol isolate ${ns} --egress (DNS is kept), then open what the pods must reach with kubectl netpol allow --egress`;
    case 'exposed-to-internet':
      return d.isolated
        ? 'narrow the ipBlock of the rules named to the addresses that need to connect (or to a load balancer or ingress controller)'
        : `kubectl netpol isolate ${ns}, then allow only the sources that need the pods`;
    case 'exposed-to-all-namespaces':
      return d.isolated
        ? 'name the namespaces that need the pods in the rule (namespaceSelector on kubernetes.io/metadata.name), or add a podSelector'
        : `kubectl netpol isolate ${ns}, then allow only the sources that need the pods`;
    case 'egress-without-dns':
      return `kubectl netpol isolate ${ns} --egress (adds an egress rule to the DNS pods on 53/UDP and 53/TCP)`;
    case 'policy-selects-no-pods':
      return 'correct the podSelector to the labels the pods carry, or delete the policy if its pods are gone';
    case 'peer-selects-nothing':
      return d.what === 'namespaces'
        ? 'correct the namespaceSelector (kubernetes.io/metadata.name names one namespace reliably)'
        : 'correct the podSelector to the labels the pods carry';
    case 'named-port-unresolved':
      return 'use a port name the pods define (spec.containers[].ports[].name), or the port number';
    case 'rule-shadowed':
      if ('tier' in d) {
        if (isOtherPolicy(d.rule, d.by)) {
          return `remove ${tierRuleName(d.rule)}, or give this policy a lower priority than ${d.by.policy.kind}/${d.by.policy.name} (${d.by.priority}) if it is meant to decide first`;
        }
        return `remove ${tierRuleName(d.rule)}, or move it before ${tierRuleName(d.by)} if it is meant to decide first`;
      }
      return `remove ${formatRuleRef(d.rule, false)}, or narrow ${formatRuleRef(d.by)} if it admits more than intended`;
    case 'tier-priority-tie':
      return `give ${finding.object.name} or ${d.other.name} another priority`;
    case 'legacy-annotation': {
      const remove = `kubectl annotate namespace ${ns} ${d.annotation}-`;
      if (!d.isolatesIngress) return remove;
      return d.isolatedBy.length > 0
        ? `${remove} (isolated already by ${policies(d.isolatedBy)})`
        : `kubectl netpol isolate ${ns}, then ${remove}`;
    }
    case 'expectation-violated':
      return d.expected
        ? 'open the connection the reason names (kubectl netpol allow, on the side that denies it), or correct the expectation'
        : 'narrow the rules that allow it (see the reason), or correct the expectation';
  }
}

/** The table: SEVERITY, ID, NAMESPACE, OBJECT, MESSAGE; `-` for a cluster-scoped object's namespace. */
export function formatAuditTable(result: AuditResult, opts: { noHeaders?: boolean } = {}): string {
  const rows = result.findings.map((f) => [f.severity, f.id, f.namespace ?? '-', formatObject(f), formatMessage(f)]);
  return formatTable(['SEVERITY', 'ID', 'NAMESPACE', 'OBJECT', 'MESSAGE'], rows, { noHeaders: opts.noHeaders });
}

/** One line for people after the table: counts per severity, or that there is nothing. */
export function formatAuditSummary(result: AuditResult): string {
  const { counts, expectations } = result;
  const checked = expectations.checked > 0 ? `; ${expectations.held} of ${expectations.checked} expectations hold` : '';
  if (result.findings.length === 0) return `No findings${checked}.\n`;
  const parts = (['error', 'warning', 'info'] as const).filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return `${result.findings.length} finding${result.findings.length === 1 ? '' : 's'}: ${parts.join(', ')}${checked}\n`;
}

/** The facts of a finding as a document: rules as `ns/policy ingress[i]`, ports as who-can writes them. */
function detailsDocument(finding: Finding): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(finding.details)) {
    if (key === 'id' || key === 'connection') continue;
    if (key === 'ports') out[key] = portSetDocument(value as Parameters<typeof portSetDocument>[0]);
    else if (key === 'rule' || key === 'by') {
      const rule = value as RuleRef | TierRuleRef;
      out[key] = 'tier' in rule ? formatTierRuleRef(rule) : formatRuleRef(rule);
    } else if (key === 'rules')
      out[key] = (value as Parameters<typeof formatRuleRef>[0][]).map((r) => formatRuleRef(r));
    else if (key === 'isolatedBy' || key === 'egressPolicies') out[key] = (value as PolicyRef[]).map(keyOf);
    else if (key === 'tierRules') {
      const tiers = value as { accepting?: TierRuleRef[]; denying: TierRuleRef[]; openPorts?: PortSet };
      out[key] = {
        ...(tiers.accepting ? { accepting: tiers.accepting.map(formatTierRuleRef) } : {}),
        denying: tiers.denying.map(formatTierRuleRef),
        ...(tiers.openPorts ? { openPorts: portSetDocument(tiers.openPorts) } : {}),
      };
    } else out[key] = value;
  }
  return out;
}

/** `-o json` and `-o yaml`: `{"findings": [{id, severity, namespace, object, message, fix, details}]}`. */
export function toAuditDocument(result: AuditResult): unknown {
  return {
    findings: result.findings.map((f) => ({
      id: f.id,
      severity: f.severity,
      ...(f.namespace === undefined ? {} : { namespace: f.namespace }),
      object: f.object,
      message: formatMessage(f),
      fix: formatFix(f),
      details: detailsDocument(f),
    })),
  };
}

function markdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** `-o markdown`: a heading, the counts, and one table row per finding with its fix (for a pull request comment). */
export function formatAuditMarkdown(result: AuditResult): string {
  let text = `## kubectl netpol audit\n\n${formatAuditSummary(result)}`;
  if (result.findings.length === 0) return text;
  text += '\n| Severity | ID | Namespace | Object | Finding | Fix |\n|---|---|---|---|---|---|\n';
  for (const f of result.findings) {
    const cells = [f.severity, `\`${f.id}\``, f.namespace ?? '-', formatObject(f), formatMessage(f), formatFix(f)];
    text += `| ${cells.map(markdownCell).join(' | ')} |\n`;
  }
  return text;
}
