/**
 * Why a connection is allowed or denied, in words: the sentences of the --explain table, the JSON
 * `reason` and the pictures' tooltips, rendered from the engine's decisions (nothing decided here).
 */
import type { Connection } from '../engine/answer.js';
import type { Decision, DirectionDecision } from '../engine/model.js';
import { formatPolicyRef, formatRuleRef, formatTierPolicyRef, formatTierRuleRef } from './names.js';

/** The values in first-seen order, once each. */
export function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * ALLOWED BY: the policies whose rules admitted the connection, on either side (the target's
 * ingress, the source's egress), or `(not isolated)` when neither side is isolated.
 */
export function formatAllowedBy(decision: Decision): string {
  const sides = [decision.ingress, ...(decision.egress.applies ? [decision.egress] : [])];
  const policies = unique(
    sides.flatMap((side) => [
      ...(side.tierRules ?? []).map(formatTierPolicyRef),
      ...side.allowedBy.map((rule) => formatPolicyRef(rule.policy)),
    ]),
  );
  return policies.length === 0 ? '(not isolated)' : policies.join(', ');
}

/** The rules that allowed one side, tier rules first (they decide first), then NetworkPolicy rules. */
function sideRules(side: DirectionDecision, withNamespace = true): string[] {
  return unique([
    ...(side.tierRules ?? []).map(formatTierRuleRef),
    ...side.allowedBy.map((rule) => formatRuleRef(rule, withNamespace)),
  ]);
}

/** ", passed to NetworkPolicy by X" when a Pass rule sent the decision on. */
function passedNote(side: DirectionDecision): string {
  const passed = side.passedBy ?? [];
  return passed.length ? ` (passed to NetworkPolicy by ${unique(passed.map(formatTierRuleRef)).join(', ')})` : '';
}

/** INGRESS RULES / EGRESS RULES of the wide table. */
export function formatRules(side: DirectionDecision): string {
  if (!side.applies) return '-';
  const rules = sideRules(side);
  if (rules.length === 0 && !side.isolated) return '(not isolated)';
  return rules.join(', ');
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
  if (side.reason === 'denied-by-tier') {
    return `${direction}: denied by ${unique((side.tierRules ?? []).map(formatTierRuleRef)).join(', ')}`;
  }
  if (side.reason === 'no-such-port') return `${direction}: ${subject} has no container port ${port ?? ''}`.trimEnd();
  if (side.reason === 'partly-admitted') {
    const rules = unique(side.peerAdmittedBy.map((rule) => formatRuleRef(rule, false)));
    const missing = side.notAdmitted ?? [];
    const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
    return `${direction}: ${rules.length === 1 ? 'rule' : 'rules'} ${rules.join(', ')} ${rules.length === 1 ? 'admits' : 'admit'} only part of ${peer}${port ? ` on ${port}` : ''} (not ${shown})`;
  }
  if (side.reason === 'no-rule-admits-port' && side.peerAdmittedBy.length > 0) {
    const rules = unique(side.peerAdmittedBy.map((rule) => formatRuleRef(rule, false)));
    const verb = rules.length === 1 ? 'rule' : 'rules';
    const admits = rules.length === 1 ? 'admits' : 'admit';
    return `${direction}: ${verb} ${rules.join(', ')} ${admits} ${peer} but not on ${port ?? 'any port'}`;
  }
  const isolatedBy = unique(side.selectedBy.map((policy) => policy.name)).join(', ');
  return `${direction}: ${subject} is isolated by [${isolatedBy}] and no ${direction} rule admits ${peer}${passedNote(side)}`;
}

/** Why a connection is allowed, for the --explain table: the rules on each side that apply. */
export function explainAllowance(connection: Connection): string {
  const sides: string[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const side = connection.decision[direction];
    if (!side.applies) continue;
    const rules = sideRules(side);
    const text = rules.length > 0 || side.isolated ? `allowed by ${rules.join(', ')}` : 'not isolated';
    sides.push(`${direction}: ${text}${passedNote(side)}`);
  }
  return sides.join('; ');
}

/** The reasons a connection is denied, as sentences naming the given labels. */
export function explainConnection(connection: Connection, source: string, target: string): string[] {
  const port =
    connection.port !== undefined
      ? `${connection.port}/${connection.protocol}`
      : connection.portName !== undefined
        ? `named "${connection.portName}" (${connection.protocol})`
        : undefined;
  const { ingress, egress } = connection.decision;
  return [
    explainDenial(ingress, 'ingress', target, source, port),
    explainDenial(egress, 'egress', source, target, port),
  ].filter((reason): reason is string => reason !== undefined);
}

/** The rules that allow a connection, per side: `ns/policy ingress[0]`, or `not isolated`. */
export function allowingRules(decision: Decision): string[] {
  const sides = [decision.ingress, ...(decision.egress.applies ? [decision.egress] : [])];
  const rules = sides.flatMap((side) => sideRules(side));
  return rules.length === 0 ? ['not isolated'] : rules;
}
