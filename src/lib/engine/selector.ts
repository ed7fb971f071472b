/** LabelSelector semantics, exactly as apimachinery's labels.Requirement.Matches. */
import type { V1LabelSelector, V1LabelSelectorRequirement } from '@kubernetes/client-node';

/** Labels of a pod or namespace. */
export type Labels = Readonly<Record<string, string>>;

/** A selector compiled once: a predicate plus the label keys it reads. */
export interface CompiledSelector {
  /** Canonical text of the selector, equal for selectors that mean the same. */
  key: string;
  /** Label keys the selector reads (pods differing only in other keys are alike to it). */
  keys: string[];
  /** True for `{}`: selects everything. */
  isEverything: boolean;
  /** Requirements, ANDed: matchLabels as `In` with one value, then matchExpressions. */
  requirements: readonly Requirement[];
  matches(labels: Labels): boolean;
}

/** One requirement of a selector. */
export type Requirement = { key: string; operator: string; values: string[] };

/** A syntax error in a kubectl-style label selector, with the offending text. */
export class SelectorSyntaxError extends Error {}

function requirementsOf(selector: V1LabelSelector): Requirement[] {
  const reqs: Requirement[] = [];
  // metav1.LabelSelectorAsSelector: matchLabels are equality requirements, ANDed with matchExpressions.
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    reqs.push({ key, operator: 'In', values: [String(value)] });
  }
  for (const expr of selector.matchExpressions ?? []) {
    reqs.push({ key: expr.key, operator: expr.operator, values: [...(expr.values ?? [])].map(String) });
  }
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.operator < b.operator ? -1 : 1));
}

function matchesRequirement(req: Requirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(labels[req.key]);
    // labels.Requirement.Matches: NotIn and DoesNotExist match a set that lacks the key.
    case 'NotIn':
      return !has || !req.values.includes(labels[req.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      // Unknown operators fail validation; a policy carrying one never reaches the engine.
      return false;
  }
}

/** Compiles a LabelSelector; `{}` (no requirements) selects everything. */
export function compileSelector(selector: V1LabelSelector): CompiledSelector {
  const reqs = requirementsOf(selector);
  const key = reqs.map((r) => `${r.key} ${r.operator} ${[...new Set(r.values)].sort().join(',')}`).join(';');
  return {
    key,
    keys: [...new Set(reqs.map((r) => r.key))],
    isEverything: reqs.length === 0,
    requirements: reqs,
    // A loop rather than `every`: it runs per pod class and rule, and makes no closure per call.
    matches: (labels) => {
      for (let i = 0; i < reqs.length; i++) if (!matchesRequirement(reqs[i], labels)) return false;
      return true;
    },
  };
}

/** Whether labels satisfy a LabelSelector. */
export function matchesSelector(selector: V1LabelSelector, labels: Labels): boolean {
  return compileSelector(selector).matches(labels);
}

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Problems with a label key (validation.IsQualifiedName), or [] when valid. */
export function validateLabelKey(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) return [`label key "${key}" must be a qualified name (prefix/name)`];
  const name = parts[parts.length - 1];
  const errs: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN_RE.test(prefix)) {
      errs.push(`label key "${key}" has an invalid prefix (a DNS subdomain, at most 253 characters)`);
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME_RE.test(name)) {
    errs.push(
      `label key "${key}" must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`,
    );
  }
  return errs;
}

/** Problems with a label value (validation.IsValidLabelValue), or [] when valid. */
export function validateLabelValue(value: string): string[] {
  if (value === '') return [];
  if (value.length > 63 || !NAME_RE.test(value)) {
    return [
      `label value "${value}" must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`,
    ];
  }
  return [];
}

/** Problems with a LabelSelector as the API server validates it (metav1validation.ValidateLabelSelector). */
export function validateSelector(selector: V1LabelSelector, path: string): string[] {
  const errs: string[] = [];
  if (selector === null || typeof selector !== 'object') return [`${path}: must be an object`];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    for (const e of validateLabelKey(key)) errs.push(`${path}.matchLabels: ${e}`);
    if (typeof value !== 'string') errs.push(`${path}.matchLabels["${key}"]: must be a string`);
    else for (const e of validateLabelValue(value)) errs.push(`${path}.matchLabels["${key}"]: ${e}`);
  }
  (selector.matchExpressions ?? []).forEach((expr: V1LabelSelectorRequirement, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    if (typeof expr.key !== 'string') errs.push(`${at}.key: must be a string`);
    else for (const e of validateLabelKey(expr.key)) errs.push(`${at}.key: ${e}`);
    const values: unknown = expr.values ?? [];
    // A string or number here is not a list (spreading "abc" would read it as three values).
    if (!Array.isArray(values)) {
      errs.push(`${at}.values: must be a list of strings`);
      return;
    }
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(`${at}.values: must be specified when operator is ${expr.operator}`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push(`${at}.values: may not be specified when operator is ${expr.operator}`);
        break;
      default:
        errs.push(
          `${at}.operator: "${expr.operator}" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)`,
        );
    }
    for (const v of values) {
      if (typeof v !== 'string') errs.push(`${at}.values: ${JSON.stringify(v)} must be a string`);
      else for (const e of validateLabelValue(v)) errs.push(`${at}.values: ${e}`);
    }
  });
  return errs;
}

/** Renders a selector in kubectl `-l` syntax; `{}` renders as the empty string. */
export function formatSelector(selector: V1LabelSelector): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator} (${values})`);
  }
  return parts.join(',');
}

/**
 * Parses kubectl `-l` syntax (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma = AND)
 * into a LabelSelector: equality becomes matchLabels, the rest matchExpressions.
 */
export function parseSelector(text: string): V1LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: V1LabelSelectorRequirement[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw new SelectorSyntaxError(`invalid label selector "${text}": ${why}`);
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const readWord = (): string => {
    skipSpace();
    const start = pos;
    while (pos < text.length && !/[\s,=!()<>]/.test(text[pos])) pos++;
    return text.slice(start, pos);
  };
  const checkKey = (key: string) => {
    if (key === '') fail(`expected a label key at position ${pos + 1}`);
    const errs = validateLabelKey(key);
    if (errs.length) fail(errs[0]);
  };
  const checkValue = (value: string) => {
    const errs = validateLabelValue(value);
    if (errs.length) fail(errs[0]);
  };
  if (text.trim() === '') return {};
  for (;;) {
    skipSpace();
    if (text[pos] === '!') {
      pos++;
      const key = readWord();
      checkKey(key);
      matchExpressions.push({ key, operator: 'DoesNotExist' });
    } else {
      const key = readWord();
      checkKey(key);
      skipSpace();
      const rest = text.slice(pos);
      if (rest.startsWith('==') || rest.startsWith('=')) {
        pos += rest.startsWith('==') ? 2 : 1;
        const value = readWord();
        checkValue(value);
        if (key in matchLabels && matchLabels[key] !== value) {
          matchExpressions.push({ key, operator: 'In', values: [value] });
        } else matchLabels[key] = value;
      } else if (rest.startsWith('!=')) {
        pos += 2;
        const value = readWord();
        checkValue(value);
        matchExpressions.push({ key, operator: 'NotIn', values: [value] });
      } else if (rest.startsWith('<') || rest.startsWith('>')) {
        fail(`operator "${rest[0]}" is not supported in a LabelSelector`);
      } else if (/^(in|notin)\s*\(/.test(rest)) {
        const operator = rest.startsWith('in') ? 'In' : 'NotIn';
        pos += operator === 'In' ? 2 : 5;
        skipSpace();
        pos++; // '('
        const values: string[] = [];
        for (;;) {
          const value = readWord();
          skipSpace();
          if (text[pos] === ',') {
            checkValue(value);
            values.push(value);
            pos++;
          } else if (text[pos] === ')') {
            // apimachinery's parseValues reads `()` as the one empty value, so `k in ()` is In [""].
            checkValue(value);
            values.push(value);
            pos++;
            break;
          } else fail(`expected ',' or ')' in the value list of "${key}"`);
        }
        matchExpressions.push({ key, operator, values });
      } else if (rest === '' || rest.startsWith(',')) {
        matchExpressions.push({ key, operator: 'Exists' });
      } else {
        fail(`unexpected "${rest[0]}" after "${key}" at position ${pos + 1}`);
      }
    }
    skipSpace();
    if (pos >= text.length) break;
    if (text[pos] !== ',') fail(`expected ',' at position ${pos + 1}`);
    pos++;
  }
  const selector: V1LabelSelector = {};
  if (Object.keys(matchLabels).length) selector.matchLabels = matchLabels;
  if (matchExpressions.length) selector.matchExpressions = matchExpressions;
  return selector;
}
