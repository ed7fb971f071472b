/**
 * audit's findings as data: the catalogue of ids and severities, the facts of each finding (from which
 * the views word messages), and their stable order. Decided nowhere here.
 */
import type { V1LabelSelector, V1NetworkPolicyPeer } from '@kubernetes/client-node';

import type { Connection } from './answer.js';
import type { IsolationState } from './isolation.js';
import type { Direction, IpBlock, PolicyRef, PortSet, RuleRef, TierRuleRef } from './model.js';
import { keyOf } from './model.js';
import type { Tier } from './tiers-compile.js';
import type { LabelNearMiss } from './traps.js';

/** How much a finding matters; `--fail-on` compares against this order. */
export type Severity = 'info' | 'warning' | 'error';

/** Severities from least to most severe. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];

/** Every finding id, with its default severity: the catalogue (docs/audit.md, SARIF's rules). */
export const FINDING_IDS = {
  'invalid-policy': 'error',
  'expectation-violated': 'error',
  'exposed-to-internet': 'warning',
  'exposed-to-all-namespaces': 'warning',
  'namespace-not-isolated': 'warning',
  'egress-without-dns': 'warning',
  'policy-selects-no-pods': 'warning',
  'peer-selects-nothing': 'warning',
  'named-port-unresolved': 'warning',
  'tier-priority-tie': 'warning',
  'legacy-annotation': 'warning',
  'rule-shadowed': 'info',
} as const satisfies Record<string, Severity>;

/** A finding id. */
export type FindingId = keyof typeof FINDING_IDS;

/** The object a finding is about: a namespaced object (namespace on the finding), or a cluster-scoped one. */
export interface FindingObject {
  kind: string;
  name: string;
}

/** How pods are exposed: no policy selects them for ingress, or rules (`rules`) admit the peers. */
export type Exposure = ({ isolated: false } | { isolated: true; rules: RuleRef[] }) & {
  /**
   * With cluster tiers deciding for these pods: the tier rules that open some of the ports (`accepting`),
   * and those that keep every pod of any namespace out on others (`denying`; for `exposed-to-internet`,
   * rules that close the pods to pods only, since tier ingress peers are never outside addresses).
   */
  tierRules?: { accepting: TierRuleRef[]; denying: TierRuleRef[] };
};

/** The facts of each kind of finding, from which the views word the message and the fix. */
export type FindingDetails =
  | { id: 'invalid-policy'; problems: string[] }
  | {
      id: 'namespace-not-isolated';
      direction: Direction;
      state: Exclude<IsolationState, 'isolated' | 'all-pods'>;
      pods: number;
      selectedPods: number;
      /**
       * With cluster tiers, when tier rules decide for every pod no NetworkPolicy selects: the rules that
       * deny any pod of any namespace (ingress: toward them; egress: from them), and the ports they leave
       * open to such a pod (empty: closed to pods). Outside addresses are not pods.
       */
      tierRules?: { denying: TierRuleRef[]; openPorts: PortSet };
    }
  | ({ id: 'exposed-to-internet'; pods: number; ports: PortSet; blocks: IpBlock[] } & Exposure)
  | ({ id: 'exposed-to-all-namespaces'; pods: number; ports: PortSet } & Exposure)
  | { id: 'egress-without-dns'; dnsNamespace: string; dnsPods: number; egressPolicies: PolicyRef[] }
  | { id: 'policy-selects-no-pods'; selector: V1LabelSelector; nearMisses: LabelNearMiss[] }
  | {
      id: 'peer-selects-nothing';
      rule: RuleRef;
      /** The peer's position in the rule's from/to, and the peer as written. */
      peerIndex: number;
      peer: V1NetworkPolicyPeer;
      what: 'namespaces' | 'pods';
      nearMisses: LabelNearMiss[];
    }
  | { id: 'named-port-unresolved'; rule: RuleRef; port: string; protocol: string; nearMisses: string[] }
  /** A NetworkPolicy rule another admits in full, or a cluster tier rule an earlier rule of its policy matches in full. */
  | { id: 'rule-shadowed'; rule: RuleRef; by: RuleRef }
  | { id: 'rule-shadowed'; tier: Tier; rule: TierRuleRef; by: TierRuleRef }
  | { id: 'tier-priority-tie'; tier: Tier; priority: number; other: FindingObject; overlapsToday: boolean }
  | { id: 'legacy-annotation'; annotation: string; value: string; isolatesIngress: boolean; isolatedBy: PolicyRef[] }
  | {
      id: 'expectation-violated';
      /** The expectation's position in its file (0-based) and its sides as written. */
      index: number;
      from: string;
      to: string;
      port?: string;
      expected: boolean;
      /** Which pairs (addresses) the answer allows: every one, some, or none. */
      actual: 'all' | 'some' | 'none';
      /** A connection of the actual answer that contradicts the expectation (who-can's decision), when there is one. */
      connection?: Connection;
    };

/** One finding: what, how bad, about which object, and the facts. */
export interface Finding {
  id: FindingId;
  severity: Severity;
  /** The object's namespace; undefined for cluster-scoped objects. */
  namespace?: string;
  object: FindingObject;
  details: FindingDetails;
}

export function finding(
  details: FindingDetails,
  object: FindingObject,
  namespace: string | undefined,
  severity: Severity = FINDING_IDS[details.id],
): Finding {
  return { id: details.id, severity, ...(namespace === undefined ? {} : { namespace }), object, details };
}

export function ruleKey(rule: RuleRef): string {
  return `${keyOf(rule.policy)} ${rule.direction}[${String(rule.index).padStart(6, '0')}]`;
}

/** A tier rule by its place in the evaluation order: tier, priority, policy, direction and index. */
export function tierRuleKey(rule: TierRuleRef): string {
  const where = `${rule.tier} ${String(rule.priority).padStart(10, '0')} ${rule.policy.kind}/${rule.policy.name}`;
  return `${where} ${rule.direction}[${String(rule.rule.index).padStart(6, '0')}]`;
}

/** Tier rules kept by tierRuleKey, in evaluation order. */
export function sortTierRules(rules: ReadonlyMap<string, TierRuleRef>): TierRuleRef[] {
  return [...rules.keys()].sort().map((k) => rules.get(k)!);
}

export function sortRules(rules: RuleRef[]): RuleRef[] {
  return rules.sort((a, b) => (ruleKey(a) < ruleKey(b) ? -1 : ruleKey(a) > ruleKey(b) ? 1 : 0));
}

/** What tells two findings of one id and object apart (a direction, a rule, a peer, another policy). */
export function findingKey(f: Finding): string {
  const d = f.details;
  switch (d.id) {
    case 'namespace-not-isolated':
      return d.direction;
    case 'exposed-to-internet':
    case 'exposed-to-all-namespaces':
      return d.isolated ? 'rules' : 'not-isolated';
    case 'peer-selects-nothing':
      return `${ruleKey(d.rule)}.${String(d.peerIndex).padStart(6, '0')}`;
    case 'named-port-unresolved':
      return `${ruleKey(d.rule)} ${d.port}/${d.protocol}`;
    case 'rule-shadowed':
      return 'tier' in d ? `${d.rule.direction}[${String(d.rule.rule.index).padStart(6, '0')}]` : ruleKey(d.rule);
    case 'tier-priority-tie':
      return `${d.other.kind}/${d.other.name}`;
    case 'expectation-violated':
      return String(d.index).padStart(6, '0');
    default:
      return '';
  }
}

/** The order of findings: most severe first, then by id, namespace (cluster-scoped first), object and key. */
export function compareFindings(a: Finding, b: Finding): number {
  const rank = SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity);
  if (rank !== 0) return rank;
  const keys = (f: Finding) => [f.id, f.namespace ?? '', f.object.kind, f.object.name, findingKey(f)];
  const [x, y] = [keys(a), keys(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}
