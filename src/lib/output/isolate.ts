/** What `isolate` prints: the plan per namespace, the preview of what it cuts or opens, and --status. */
import type { DirectionIsolation, DnsPeer, NamespaceIsolation } from '../engine/isolation.js';
import { DIRECTIONS } from '../engine/isolation.js';
import type { Direction, PolicyRef } from '../engine/model.js';
import type { IsolateOptions, IsolatePreview, IsolateResult } from '../services/isolate.js';
import { isManagedByUs } from '../write.js';
import { formatChangeEnd, formatChangeGroups, formatChangePorts, PREVIEW_GROUPS } from './changes.js';
import { formatTierRuleRef } from './names.js';
import { formatTable } from './table.js';

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function names(refs: PolicyRef[]): string {
  return refs.map((r) => r.name).join(', ');
}

function directionWords(directions: readonly Direction[]): string {
  return directions.join(' and ');
}

/** What each namespace's plan means, one line each, for stderr. */
export function formatPlanNotes(result: IsolateResult, options: IsolateOptions): string {
  const lines: string[] = [];
  for (const plan of result.plans) {
    const ns = plan.namespace;
    if (plan.action === 'skip') {
      const by = DIRECTIONS.filter((d) => options.directions.includes(d)).map(
        (d) => `${d} by ${names(plan.isolatedBy[d])}`,
      );
      lines.push(`namespace ${ns} is already isolated (${by.join('; ')}); nothing to do`);
    } else if (plan.action === 'write' && plan.restoresDns) {
      lines.push(
        `namespace ${ns} is isolated already, but its pods cannot reach DNS: ${isManagedByUs(plan.existing) ? 'updating' : 'writing'} ${options.name} to keep it`,
      );
    } else if (plan.action === 'write' && isManagedByUs(plan.existing)) {
      lines.push(
        `namespace ${ns}: updating ${options.name} to isolate ${directionWords(plan.policy.spec?.policyTypes?.map((t) => t.toLowerCase() as Direction) ?? [])}`,
      );
    } else if (plan.action === 'none') {
      lines.push(
        plan.foreign
          ? `namespace ${ns}: networkpolicy ${options.name} was not created by kubectl-netpol; left alone (delete it with kubectl if you mean to)`
          : `namespace ${ns}: no networkpolicy ${options.name} created by kubectl-netpol; nothing to remove`,
      );
    }
    if (plan.action === 'delete' || plan.action === 'none') {
      for (const d of DIRECTIONS) {
        if (plan.keptBy[d].length > 0) {
          lines.push(
            `namespace ${ns} stays isolated for ${d} by ${names(plan.keptBy[d])} (not created by kubectl-netpol; left alone)`,
          );
        }
      }
    }
  }
  if (result.dns && result.plans.some((p) => p.action === 'write')) {
    lines.push(`DNS: egress stays allowed to ${describeDns(result.dns)} on 53/UDP and 53/TCP`);
  } else if (
    options.mode === 'isolate' &&
    options.directions.includes('egress') &&
    !options.allowDns &&
    result.plans.some((p) => p.action === 'write')
  ) {
    lines.push('DNS: not allowed (--no-allow-dns); pods in these namespaces will not resolve names');
  }
  return lines.map((line) => line + '\n').join('');
}

/** Where the DNS rule lets egress go, and how those pods were found. */
export function describeDns(dns: DnsPeer): string {
  const labels = Object.entries(dns.podLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const how =
    dns.foundBy === 'service'
      ? `the pods behind service ${dns.namespace}/kube-dns`
      : dns.foundBy === 'pod-label'
        ? `${plural(dns.pods.length, 'pod')} labelled ${labels}`
        : 'no DNS pods found, assuming the usual labels';
  return `pods ${labels} in namespace ${dns.namespace} (${how})`;
}

/**
 * The preview for stderr: how many connections the change cuts (or opens), pod to pod and with
 * addresses outside the cluster, then the largest groups (every group with --explain).
 */
export function formatPreview(result: IsolateResult, options: IsolateOptions): string {
  if (!result.plans.some((p) => p.action === 'write' || p.action === 'delete')) return '';
  return formatChangePreview(result.preview, { isOff: options.mode === 'off', explain: options.explain });
}

/** The preview of a change (isolating, or `isOff`: removing), from its IsolatePreview. */
export function formatChangePreview(preview: IsolatePreview, options: { isOff: boolean; explain: boolean }): string {
  const { isOff } = options;
  const { changes, partly, addressPods, groups, alsoOpened } = preview;
  const what = isOff ? 'denied today would be allowed' : 'allowed today would be denied';
  let text = `Preview: ${changes.length === 0 ? 'no pod-to-pod connection' : plural(changes.length, 'pod-to-pod connection')} ${what}`;
  if (partly > 0) text += ` (${partly} of them partly: they ${isOff ? 'had' : 'keep'} some ports)`;
  if (addressPods > 0) {
    text += `; ${plural(addressPods, 'pod')} would ${isOff ? 'gain' : 'lose'} traffic with addresses outside the cluster`;
  }
  const opened = alsoOpened.reduce((sum, g) => sum + g.count, 0);
  if (opened > 0) text += `; ${plural(opened, 'connection')} denied today would be allowed`;
  const kept = preview.keptByAdmin.map(
    (k) =>
      `  ${plural(k.pairs.length, 'connection')} stay allowed: ${formatTierRuleRef(k.rule)} accepts ${k.pairs.length === 1 ? 'it' : 'them'} before any NetworkPolicy is asked (${k.groups
        .slice(0, 3)
        .map((g) => `${formatChangeEnd(g.from)} -> ${formatChangeEnd(g.to)} ${formatChangePorts(g.ports, g.kept)}`)
        .join(', ')}${k.groups.length > 3 ? ', ...' : ''})\n`,
  );
  if (groups.length === 0 && opened === 0) return text + '.\n' + kept.join('');
  const limit = options.explain ? undefined : PREVIEW_GROUPS;
  const sections =
    opened > 0
      ? [
          { change: 'cuts' as const, groups },
          { change: 'opens' as const, groups: alsoOpened },
        ]
      : [{ groups }];
  return (
    text + ':\n' + indent(formatChangeGroups(sections, { limit, more: '--explain lists every group' })) + kept.join('')
  );
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

function stateText(d: DirectionIsolation): string {
  if (d.state === 'isolated') return 'isolated';
  // No NetworkPolicy isolates it, but the Baseline tier denies every pod (not outside addresses).
  if (d.baselineDenyAll) return 'pods (Baseline)';
  if (d.state === 'open') return 'no';
  return `${d.selectedPods}/${d.pods} pods`;
}

/**
 * The --status table, then namespaces that still carry seed-era annotations with the equivalent
 * command. POLICIES counts the policies that select pods of the namespace; `wide` also names them.
 */
export function formatStatus(status: NamespaceIsolation[], options: IsolateOptions, view: { wide: boolean }): string {
  // Cluster tier policies get their own columns, only when some were read.
  const withTiers = status.some((s) => s.ingress.clusterPolicies !== undefined);
  const rows = status.map((s) => {
    const policies = [...new Set([...s.ingress.policies, ...s.egress.policies].map((p) => p.name))].sort();
    const row = [s.namespace, stateText(s.ingress), stateText(s.egress), String(policies.length)];
    const tiers = clusterPoliciesOf(s);
    if (withTiers) row.push(String(tiers.length));
    if (!view.wide) return row;
    return [...row, policies.join(',') || '<none>', ...(withTiers ? [tiers.join(',') || '<none>'] : [])];
  });
  const headers = [
    'NAMESPACE',
    'INGRESS',
    'EGRESS',
    'POLICIES',
    ...(withTiers ? ['CLUSTER POLICIES'] : []),
    ...(view.wide ? ['POLICY NAMES', ...(withTiers ? ['CLUSTER POLICY NAMES'] : [])] : []),
  ];
  let text = formatTable(headers, rows, { noHeaders: options.noHeaders });
  const legacy = status.filter((s) => s.legacy);
  if (legacy.length > 0) {
    text += '\nSeed-era isolation annotations, ignored by current Kubernetes:\n';
    const legacyRows = legacy.map((s) => [
      s.namespace,
      `${s.legacy!.annotation}=${s.legacy!.value}`,
      equivalentCommand(s, options.name),
    ]);
    text += indent(formatTable(['NAMESPACE', 'ANNOTATION', 'EQUIVALENT'], legacyRows));
  }
  return text;
}

/** The cluster tier policies that apply to some pod of a namespace, either direction: `Kind/name (Tier)`. */
function clusterPoliciesOf(status: NamespaceIsolation): string[] {
  const all = [...(status.ingress.clusterPolicies ?? []), ...(status.egress.clusterPolicies ?? [])];
  return [...new Set(all.map((p) => `${p.kind}/${p.name} (${p.tier})`))].sort();
}

/** The isolate command with the same effect as a seed-era annotation (or a note that nothing is needed). */
function equivalentCommand(status: NamespaceIsolation, name: string): string {
  const nameFlag = name === 'default-deny' ? '' : ` --name ${name}`;
  if (status.legacy?.isolatesIngress) {
    return status.ingress.state === 'isolated'
      ? `(already isolated by ${names(status.ingress.denyAll)})`
      : `kubectl netpol isolate ${status.namespace}${nameFlag}`;
  }
  return status.ingress.state === 'isolated'
    ? `kubectl netpol isolate ${status.namespace} --off${nameFlag}`
    : '(not isolated; nothing to do)';
}

export function toStatusDocument(status: NamespaceIsolation[], name: string): unknown {
  const direction = (d: DirectionIsolation) => ({
    state: d.state,
    denyAll: d.denyAll.map((p) => p.name),
    policies: d.policies.map((p) => p.name),
    selectedPods: d.selectedPods,
    pods: d.pods,
    ...(d.clusterPolicies ? { clusterPolicies: d.clusterPolicies.map((p) => ({ ...p })) } : {}),
    ...(d.baselineDenyAll ? { baselineDenyAll: { ...d.baselineDenyAll } } : {}),
  });
  return {
    namespaces: status.map((s) => ({
      namespace: s.namespace,
      ingress: direction(s.ingress),
      egress: direction(s.egress),
      ...(s.legacy
        ? { legacy: { annotation: s.legacy.annotation, value: s.legacy.value, equivalent: equivalentCommand(s, name) } }
        : {}),
    })),
  };
}
