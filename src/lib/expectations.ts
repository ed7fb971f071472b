/**
 * `audit --expect FILE`: connectivity expectations as a team writes them, `{from, to, port, allowed}`,
 * each side in who-can's own forms (a pod, a workload, service/NAME, an address or block, or pods by
 * label selector), parsed once with the parsers of who-can's TARGET, --from and --port.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

import { parseSelector, SelectorSyntaxError } from './engine/selector.js';
import { UsageError } from './errors.js';
import { parsePortText, type PortText } from './peer-syntax.js';
import { parseSourceSpec, type AddressText, type TargetText } from './target-spec.js';
import { isObject } from './engine/json.js';

/** One side of an expectation: who-can's TARGET or --from as parsed, or pods by label selector. */
export type ExpectationSide =
  TargetText | AddressText | { kind: 'selector'; namespace?: string; selector: V1LabelSelector; text: string };

/** One expectation, parsed: its sides, the port asked about (none: any port), the verdict expected. */
export interface Expectation {
  index: number;
  from: ExpectationSide;
  to: ExpectationSide;
  port?: PortText;
  allowed: boolean;
  /** The sides and port as written, to name the expectation in findings. */
  text: { from: string; to: string; port?: string };
}

/**
 * Reads the expectations of a parsed YAML or JSON document: a list, or `{expectations: [...]}`. Each
 * side is a string (`web/frontend`, `api/deployment/api`, `service/api`, `203.0.113.0/24`, `-l app=web`
 * in the expectation's `namespace`) or `{namespace, selector}`; `port` is who-can's `--port`.
 */
export function parseExpectations(document: unknown, file: string): Expectation[] {
  const list = isObject(document) && 'expectations' in document ? document.expectations : document;
  if (!Array.isArray(list)) {
    throw new UsageError(
      `${file}: expected a list of expectations ({from, to, port, allowed})`,
      'see docs/audit.md for the format',
    );
  }
  return list.map((item: unknown, index) => {
    const where = `${file}: expectation ${index + 1}`;
    if (!isObject(item)) throw new UsageError(`${where}: must be a mapping with from, to, port and allowed`);
    const unknown = Object.keys(item).filter((k) => !['from', 'to', 'port', 'allowed', 'namespace'].includes(k));
    if (unknown.length > 0) throw new UsageError(`${where}: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}`);
    if (typeof item.allowed !== 'boolean') throw new UsageError(`${where}: allowed must be true or false`);
    const namespace = item.namespace === undefined ? undefined : String(item.namespace);
    const from = parseSide(item.from, `${where}: from`, namespace);
    const to = parseSide(item.to, `${where}: to`, namespace);
    if (from.kind === 'address' && to.kind === 'address') {
      throw new UsageError(`${where}: from and to are both addresses; one side must be pods`);
    }
    const portText = item.port === undefined || item.port === null ? undefined : String(item.port);
    const port =
      portText === undefined ? undefined : parsePortText(portText, { flag: `${where}: port`, isRangeAllowed: false });
    if (to.kind === 'address' && typeof port?.port === 'string') {
      throw new UsageError(`${where}: port "${portText}" names a port, and an address block has no port names`);
    }
    return {
      index,
      from,
      to,
      ...(port ? { port } : {}),
      allowed: item.allowed,
      text: { from: sideText(item.from), to: sideText(item.to), ...(portText ? { port: portText } : {}) },
    };
  });
}

function sideText(value: unknown): string {
  if (!isObject(value)) return String(value);
  return `${value.namespace === undefined ? '' : `${String(value.namespace)} `}-l ${String(value.selector)}`;
}

/** One side: a string in who-can's forms (or `-l SELECTOR`), or `{namespace, selector}`. */
function parseSide(value: unknown, where: string, namespace: string | undefined): ExpectationSide {
  if (typeof value === 'string') {
    const selector = /^-l\s*(.*)$/.exec(value.trim());
    if (selector) return selectorSide(selector[1], namespace, where);
    const side = parseSourceSpec(value.trim(), where);
    return side.kind === 'address' || side.namespace !== undefined || namespace === undefined
      ? side
      : { ...side, namespace };
  }
  if (isObject(value) && typeof value.selector === 'string') {
    const extra = Object.keys(value).filter((k) => k !== 'selector' && k !== 'namespace');
    if (extra.length === 0) {
      return selectorSide(value.selector, value.namespace === undefined ? namespace : String(value.namespace), where);
    }
  }
  throw new UsageError(
    `${where}: expected a pod, a workload, service/NAME, an address block, "-l SELECTOR" or {namespace, selector}`,
  );
}

function selectorSide(text: string, namespace: string | undefined, where: string): ExpectationSide {
  try {
    return { kind: 'selector', ...(namespace === undefined ? {} : { namespace }), selector: parseSelector(text), text };
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
}
