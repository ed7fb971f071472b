/** NetworkPolicy validation as the API server does it (pkg/apis/networking/validation), for manifests read from files. */
import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { IpBlock } from './model.js';
import { validateIpBlock } from './ipblock.js';
import { isObject } from './json.js';
import { validatePolicyPort } from './ports.js';
import { validateLabelKey, validateLabelValue, validateSelector } from './selector.js';

/**
 * What one batch of policies (a snapshot's) has already shown valid: label keys and values, ipBlocks
 * by their text, and whole rules by their text. Policies repeat these, so each is checked once per batch.
 */
export class ValidationMemo {
  readonly labelKeys = new Set<string>();
  readonly labelValues = new Set<string>();
  /** Problems of an ipBlock, by its cidr and except texts, with PATH standing for the path. */
  readonly ipBlocks = new Map<string, string[]>();
  /** Texts (ruleText) of rules found valid, per peers field: a rule written alike is valid alike. */
  readonly validRules = { from: new Set<string>(), to: new Set<string>() };
  /** The texts of the last policy's rules, by rule: compile.ts keys its rule shapes by them too. */
  private readonly texts = new Map<object, string | null>();

  /** Forgets the texts of the previous policy's rules (validatePolicy calls it per policy). */
  startPolicy(): void {
    this.texts.clear();
  }

  /** ruleText of a rule, made once for validation and compilation alike. */
  ruleText(rule: object): string | undefined {
    const known = this.texts.get(rule);
    if (known !== undefined) return known ?? undefined;
    const text = ruleText(rule);
    this.texts.set(rule, text ?? null);
    return text;
  }
}

/**
 * A text that tells apart what validating or compiling a rule can tell apart, or undefined when JSON
 * cannot: it writes NaN, Infinity and holes as `null` (and a cycle throws), so a text holding `null`
 * is never a key. Snapshots are decoded JSON or YAML, which hold no functions or symbols (the values
 * JSON leaves out). Key order matters only as a miss.
 */
function ruleText(rule: object): string | undefined {
  let text: string;
  try {
    text = JSON.stringify(rule);
  } catch {
    return undefined;
  }
  return text.includes('null') ? undefined : text;
}

const PATH = '\u0000';

function validateList(value: unknown, path: string, each: (item: unknown, at: string) => string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [`${path}: must be a list`];
  const errs: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const found = each(value[i], `${path}[${i}]`);
    for (const e of found) errs.push(e);
  }
  return errs;
}

function isValidLabelKey(key: string, memo: ValidationMemo): boolean {
  if (memo.labelKeys.has(key)) return true;
  if (validateLabelKey(key).length > 0) return false;
  memo.labelKeys.add(key);
  return true;
}

function isValidLabelValue(value: unknown, memo: ValidationMemo): boolean {
  if (typeof value !== 'string') return false;
  if (memo.labelValues.has(value)) return true;
  if (validateLabelValue(value).length > 0) return false;
  memo.labelValues.add(value);
  return true;
}

/**
 * True exactly when validateSelectorField finds nothing, without building a message or a path: the
 * same checks, with keys and values looked up in the memo first.
 */
function isValidSelector(value: unknown, memo: ValidationMemo): boolean {
  if (!isObject(value)) return false;
  const labels = value.matchLabels;
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels)) return false;
    for (const key of Object.keys(labels)) {
      if (!isValidLabelKey(key, memo) || !isValidLabelValue(labels[key], memo)) return false;
    }
  }
  const expressions = value.matchExpressions;
  if (expressions === undefined || expressions === null) return true;
  if (!Array.isArray(expressions)) return false;
  for (const e of expressions as unknown[]) {
    if (!isObject(e) || typeof e.key !== 'string' || !isValidLabelKey(e.key, memo)) return false;
    const values = e.values ?? [];
    if (!Array.isArray(values)) return false;
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return false;
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return false;
        break;
      default:
        return false;
    }
    for (const v of values as unknown[]) if (!isValidLabelValue(v, memo)) return false;
  }
  return true;
}

function validateSelectorField(value: unknown, path: string, memo?: ValidationMemo): string[] {
  if (memo && isValidSelector(value, memo)) return [];
  if (!isObject(value)) return [`${path}: must be a label selector object`];
  if (value.matchLabels !== undefined && value.matchLabels !== null && !isObject(value.matchLabels)) {
    return [`${path}.matchLabels: must be a map of strings`];
  }
  if (value.matchExpressions !== undefined && value.matchExpressions !== null) {
    if (!Array.isArray(value.matchExpressions)) return [`${path}.matchExpressions: must be a list`];
    const bad = value.matchExpressions.findIndex((e) => !isObject(e));
    if (bad >= 0) return [`${path}.matchExpressions[${bad}]: must be an object`];
  }
  return validateSelector(value, path);
}

function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

function validateIpBlockField(block: IpBlock, path: string, memo?: ValidationMemo): string[] {
  const texts: unknown[] = [block.cidr, ...(Array.isArray(block.except) ? block.except : [null])];
  if (!memo || texts.some((t) => typeof t !== 'string')) return validateIpBlock(block, path);
  // The texts as a JSON list: ["a","b"] and ["a,b"] are different blocks.
  const key = JSON.stringify(texts);
  let problems = memo.ipBlocks.get(key);
  if (!problems) memo.ipBlocks.set(key, (problems = validateIpBlock(block, PATH)));
  return problems.map((p) => p.replace(PATH, path));
}

/** ValidateNetworkPolicyPeer: at least one of podSelector/namespaceSelector/ipBlock; ipBlock only alone. */
function validatePeer(peer: unknown, path: string, memo?: ValidationMemo): string[] {
  if (!isObject(peer)) return [`${path}: must be an object`];
  const p = peer as V1NetworkPolicyPeer;
  const errs: string[] = [];
  let count = 0;
  if (p.podSelector !== undefined && p.podSelector !== null) {
    count++;
    errs.push(...validateSelectorField(p.podSelector, `${path}.podSelector`, memo));
  }
  if (p.namespaceSelector !== undefined && p.namespaceSelector !== null) {
    count++;
    errs.push(...validateSelectorField(p.namespaceSelector, `${path}.namespaceSelector`, memo));
  }
  if (p.ipBlock !== undefined && p.ipBlock !== null) {
    count++;
    errs.push(
      ...validateIpBlockField({ cidr: p.ipBlock.cidr, except: p.ipBlock.except ?? [] }, `${path}.ipBlock`, memo),
    );
  }
  if (count === 0) errs.push(`${path}: must specify a peer (podSelector, namespaceSelector or ipBlock)`);
  else if (count > 1 && p.ipBlock) errs.push(`${path}: ipBlock may not be combined with a selector in one peer`);
  return errs;
}

function validateRule(rule: unknown, path: string, peersField: 'from' | 'to', memo?: ValidationMemo): string[] {
  // A null rule decodes to the zero rule `{}` (it admits everyone), as the API server stores it.
  if (rule === null) return [];
  if (!isObject(rule)) return [`${path}: must be an object`];
  return [
    ...validateList(rule.ports, `${path}.ports`, (port, at) =>
      isObject(port) ? validatePolicyPort(port, at) : [`${at}: must be an object`],
    ),
    // Snapshots hold client-node's shape: an ingress rule's `from` is under `_from` (model.ts).
    ...validateList(rule[peersField === 'from' ? '_from' : 'to'], `${path}.${peersField}`, (peer, at) =>
      validatePeer(peer, at, memo),
    ),
  ];
}

/** True exactly when validatePeer finds nothing (false may also mean "ask validatePeer"), building no path. */
function isValidPeer(peer: unknown, memo: ValidationMemo): boolean {
  if (!isObject(peer)) return false;
  const p = peer as V1NetworkPolicyPeer;
  const hasPods = p.podSelector !== undefined && p.podSelector !== null;
  const hasNamespaces = p.namespaceSelector !== undefined && p.namespaceSelector !== null;
  if (p.ipBlock !== undefined && p.ipBlock !== null) {
    if (hasPods || hasNamespaces) return false;
    return validateIpBlockField({ cidr: p.ipBlock.cidr, except: p.ipBlock.except ?? [] }, PATH, memo).length === 0;
  }
  if (!hasPods && !hasNamespaces) return false;
  return (
    (!hasPods || isValidSelector(p.podSelector, memo)) && (!hasNamespaces || isValidSelector(p.namespaceSelector, memo))
  );
}

/** True exactly when validateRule finds nothing (false may also mean "ask validateRule"), building no path. */
function isValidRule(rule: unknown, peersField: 'from' | 'to', memo: ValidationMemo): boolean {
  if (rule === null) return true;
  if (!isObject(rule)) return false;
  // Policies repeat the same rules: a text already found valid is valid again.
  const text = memo.ruleText(rule);
  const valid = memo.validRules[peersField];
  if (text !== undefined && valid.has(text)) return true;
  if (!isValidRuleFields(rule, peersField, memo)) return false;
  if (text !== undefined) valid.add(text);
  return true;
}

/** isValidRule's checks of the fields of a rule object. */
function isValidRuleFields(rule: Record<string, unknown>, peersField: 'from' | 'to', memo: ValidationMemo): boolean {
  const ports = rule.ports;
  if (ports !== undefined && ports !== null) {
    if (!Array.isArray(ports)) return false;
    for (const port of ports as unknown[]) {
      if (!isObject(port) || validatePolicyPort(port, PATH).length > 0) return false;
    }
  }
  const peers = rule[peersField === 'from' ? '_from' : 'to'];
  if (peers === undefined || peers === null) return true;
  if (!Array.isArray(peers)) return false;
  for (const peer of peers as unknown[]) if (!isValidPeer(peer, memo)) return false;
  return true;
}

function areValidRules(rules: unknown, peersField: 'from' | 'to', memo: ValidationMemo): boolean {
  if (rules === undefined || rules === null) return true;
  if (!Array.isArray(rules)) return false;
  for (const rule of rules as unknown[]) if (!isValidRule(rule, peersField, memo)) return false;
  return true;
}

/**
 * True only when validatePolicy would find nothing: the same checks without building a path or a
 * message per field (nearly every policy is valid). False sends the policy to the full check, which
 * says what is wrong.
 */
function isValidPolicy(policy: V1NetworkPolicy, memo: ValidationMemo): boolean {
  if (!isObject(policy)) return false;
  if (!isObject(policy.metadata) || !policy.metadata.name || !isDnsSubdomain(String(policy.metadata.name)))
    return false;
  const spec: unknown = policy.spec;
  if (spec === undefined || spec === null) return true;
  if (!isObject(spec)) return false;
  if (spec.podSelector !== undefined && spec.podSelector !== null && !isValidSelector(spec.podSelector, memo)) {
    return false;
  }
  if (!areValidRules(spec.ingress, 'from', memo) || !areValidRules(spec.egress, 'to', memo)) return false;
  const types = spec.policyTypes;
  if (types === undefined || types === null) return true;
  if (!Array.isArray(types) || types.length > 2) return false;
  for (const t of types as unknown[]) if (t !== 'Ingress' && t !== 'Egress') return false;
  return true;
}

/**
 * Problems that would make the API server reject this NetworkPolicy, each `field: message`; [] when
 * valid. A memo shared by the policies of one snapshot spares checking the same text twice.
 */
export function validatePolicy(policy: V1NetworkPolicy, memo?: ValidationMemo): string[] {
  memo?.startPolicy();
  if (memo && isValidPolicy(policy, memo)) return [];
  if (!isObject(policy)) return ['must be an object'];
  const errs: string[] = [];
  if (!isObject(policy.metadata) || !policy.metadata.name) errs.push('metadata.name: Required value');
  else if (!isDnsSubdomain(String(policy.metadata.name))) {
    // ValidateObjectMeta with NameIsDNSSubdomain.
    errs.push(`metadata.name: "${policy.metadata.name}" must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')`);
  }
  const spec: unknown = policy.spec;
  if (spec === undefined || spec === null) return errs;
  if (!isObject(spec)) return [...errs, 'spec: must be an object'];
  // NetworkPolicySpec.podSelector is a struct, not a pointer: absent is the same as {}.
  if (spec.podSelector !== undefined && spec.podSelector !== null) {
    errs.push(...validateSelectorField(spec.podSelector, 'spec.podSelector', memo));
  }
  errs.push(...validateList(spec.ingress, 'spec.ingress', (r, at) => validateRule(r, at, 'from', memo)));
  errs.push(...validateList(spec.egress, 'spec.egress', (r, at) => validateRule(r, at, 'to', memo)));
  if (spec.policyTypes !== undefined && spec.policyTypes !== null) {
    if (!Array.isArray(spec.policyTypes)) errs.push('spec.policyTypes: must be a list');
    else if (spec.policyTypes.length > 2) errs.push('spec.policyTypes: may not specify more than two policyTypes');
    else {
      spec.policyTypes.forEach((t, i) => {
        if (t !== 'Ingress' && t !== 'Egress') {
          errs.push(`spec.policyTypes[${i}]: Unsupported value "${String(t)}" (Ingress, Egress)`);
        }
      });
    }
  }
  return errs;
}
