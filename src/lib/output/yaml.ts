/**
 * YAML as kubectl-netpol writes it: YAML_OPTIONS, and yamlText, the text of plain data (objects, arrays, strings, finite numbers, booleans, null) exactly as
 * `stringify(value, YAML_OPTIONS)` of the `yaml` package writes it, an order of magnitude faster on the
 * big documents (who-can -A -o yaml): the block structure is written here, and each distinct string is
 * turned into a scalar once, by the `yaml` package itself (so quoting, the YAML 1.1 rules included, is
 * its decision, not a copy of it). Anything this does not know how to write the same way (a string
 * that would span lines, a key that needs quoting or `? `, a number that is not an integer, undefined
 * in a list, any other type) makes the whole value go through the `yaml` package instead.
 * test/output/yaml-block.test.ts compares the two on generated values.
 */
import type { CreateNodeOptions, SchemaOptions, ToStringOptions } from 'yaml';
import { Schema, stringify } from 'yaml';

/**
 * Numbers as go-yaml v2 reads them (kubectl reads manifests with it, through sigs.k8s.io/yaml) beyond
 * YAML 1.1's: Go's integer syntax (`0X1F`, `-0o17`, `0B101`) and floats, after it drops every `_` (`1e_3`, `-_1`).
 */
const GO_YAML_NUMBERS = [
  /^(?:[-+]_*)?0_*[xX]_*[0-9a-fA-F][_0-9a-fA-F]*$/,
  /^(?:[-+]_*)?0_*[bB]_*[01][_01]*$/,
  /^(?:[-+]_*)?0_*[oO]_*[0-7][_0-7]*$/,
  /^(?:[-+]_*)?(?:[0-9][_0-9]*(?:\.[_0-9]*)?|\._*[0-9][_0-9]*)(?:[eE]_*(?:[-+]_*)?[0-9][_0-9]*)?$/,
];

/**
 * Every plain scalar a YAML 1.1 reader takes for something other than a string: the `yaml` package's YAML
 * 1.1 schema (booleans, null, numbers, sexagesimals, timestamps, `<<`) and go-yaml's numbers, as one
 * pattern (one test per string keeps the streamed YAML of millions of entries fast).
 */
const YAML_1_1_NOT_STRING = new RegExp(
  [
    ...new Schema({ schema: 'yaml-1.1' }).tags.flatMap((tag) =>
      tag.default && tag.tag !== 'tag:yaml.org,2002:str' && tag.test ? [tag.test] : [],
    ),
    ...GO_YAML_NUMBERS,
  ]
    .map((pattern) => `(?:${pattern.source})`)
    .join('|'),
);

/**
 * How YAML is written: a string that a YAML 1.1 reader (kubectl, go-yaml v2) or a YAML 1.2 one would take
 * for a boolean, number, null, timestamp or merge key (`on`, `y`, `No`, `~`, `1_000`, `0x1F`, `1:20`,
 * `2001-12-14`, `<<`), as a key or a value, is double-quoted, as kubectl's own `-o yaml` does, so the text
 * means the same after `kubectl apply -f -`; every other string stays plain. The `yaml` package quotes
 * a plain string that its schema (YAML 1.2 core) or a `compat` tag's test matches; the one compat tag
 * here only carries YAML_1_1_NOT_STRING (nothing is read with it). (Writing with `version: '1.1'` alone
 * would leave `0o17`, a 1.2 integer, and `<<` plain.) No anchors and aliases: kubectl never writes them.
 */
export const YAML_OPTIONS: CreateNodeOptions & SchemaOptions & ToStringOptions = {
  lineWidth: 0,
  aliasDuplicateObjects: false,
  compat: [{ tag: 'tag:yaml.org,2002:yaml-1.1', default: true, test: YAML_1_1_NOT_STRING, resolve: String }],
};

/** Thrown inside the writer when a value needs the `yaml` package. */
const UNSURE = Symbol('unsure');

/** Memos of distinct strings (bounded: a document of unique strings must not keep them all). */
const MEMO_LIMIT = 200_000;
const scalars = new Map<string, string | null>();
const keys = new Map<string, string | null>();
const topKeys = new Map<string, string | null>();

function remember(memo: Map<string, string | null>, s: string, text: string | null): string | null {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(s, text);
  return text;
}

/**
 * Strings that every YAML writer leaves plain, told apart without asking the `yaml` package (most
 * strings of an answer are sentences and names seen once, which its memo would not serve): printable
 * ASCII starting with a letter, without `: `, ` #`, a trailing space or colon, and not something a YAML
 * 1.1 reader would take for another type (`on`, `y`, `null`).
 */
const PRINTABLE_FROM_LETTER = /^[A-Za-z][ -~]*$/;

function isSurelyPlain(s: string): boolean {
  return (
    s.length < 1024 &&
    PRINTABLE_FROM_LETTER.test(s) &&
    !s.endsWith(' ') &&
    !s.endsWith(':') &&
    !s.includes(': ') &&
    !s.includes(' #') &&
    !YAML_1_1_NOT_STRING.test(s)
  );
}

/**
 * A string as a one-line scalar after `- ` or `key: `, as the `yaml` package writes it there (written
 * as a list item: at the start of a document, `---` and `...` would be quoted where nested they are not).
 */
function scalarText(s: string): string {
  if (isSurelyPlain(s)) return s;
  let text = scalars.get(s);
  if (text === undefined) {
    const written = stringify([s], YAML_OPTIONS);
    const oneLine = written.startsWith('- ') && written.indexOf('\n') === written.length - 1;
    text = remember(scalars, s, oneLine && !/^[|>]/.test(written.slice(2)) ? written.slice(2, -1) : null);
  }
  if (text === null) throw UNSURE;
  return text;
}

/**
 * A map key as the `yaml` package writes it before `: `, at the start of a line of the document
 * (`top`) or nested (after `- ` or indented): null when it needs more than that (`? `, several lines).
 */
function keyText(k: string, top: boolean): string {
  const memo = top ? topKeys : keys;
  let text = memo.get(k);
  if (text === undefined) {
    const written = stringify(top ? { [k]: 0 } : [{ [k]: 0 }], YAML_OPTIONS);
    const lead = top ? '' : '- ';
    const simple =
      written.startsWith(lead) &&
      written.endsWith(': 0\n') &&
      written.indexOf('\n') === written.length - 1 &&
      written[lead.length] !== '?';
    text = remember(memo, k, simple ? written.slice(lead.length, -4) : null);
  }
  if (text === null) throw UNSURE;
  return text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A value that is written on the line of its key or dash, or undefined when it is a non-empty collection. */
function inline(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return scalarText(value);
    case 'number':
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
      throw UNSURE;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return value.length === 0 ? '[]' : undefined;
      if (!isPlainObject(value)) throw UNSURE;
      for (const k in value) if (value[k] !== undefined) return undefined;
      return '{}';
    default:
      throw UNSURE;
  }
}

/** Writes a map's pairs, each line starting with `indent` but the first (which continues `first`). */
function writeMap(map: Record<string, unknown>, indent: string, first: string, out: string[]): void {
  let lead = first;
  for (const k of Object.keys(map)) {
    const value = map[k];
    if (value === undefined) continue;
    out.push(lead, keyText(k, indent === ''), ':');
    lead = indent;
    const text = inline(value);
    if (text !== undefined) out.push(' ', text, '\n');
    else {
      out.push('\n');
      const inner = indent + '  ';
      if (Array.isArray(value)) writeSeq(value, inner, inner, out);
      else writeMap(value as Record<string, unknown>, inner, inner, out);
    }
  }
}

/** Writes a list's items (`- `), each line starting with `indent` but the first (which continues `first`). */
function writeSeq(items: readonly unknown[], indent: string, first: string, out: string[]): void {
  let lead = first;
  for (const item of items) {
    if (item === undefined) throw UNSURE;
    out.push(lead, '-');
    lead = indent;
    const text = inline(item);
    if (text !== undefined) out.push(' ', text, '\n');
    else if (Array.isArray(item)) writeSeq(item, indent + '  ', ' ', out);
    else writeMap(item as Record<string, unknown>, indent + '  ', ' ', out);
  }
}

/**
 * `stringify(value, YAML_OPTIONS)` written here, each line after the first indented by `indent`, or
 * undefined when some part of the value needs the `yaml` package (see the top of this file).
 */
export function blockYamlText(value: unknown, indent = ''): string | undefined {
  const out: string[] = [];
  try {
    // A whole document that is one string: as the yaml package writes it at the start of a document.
    const text = typeof value === 'string' ? stringify(value, YAML_OPTIONS).slice(0, -1) : inline(value);
    if (text?.includes('\n')) throw UNSURE;
    if (text !== undefined) out.push(text, '\n');
    else if (Array.isArray(value)) writeSeq(value, indent, '', out);
    else writeMap(value as Record<string, unknown>, indent, '', out);
    return out.join('');
  } catch (error) {
    if (error !== UNSURE) throw error;
    return undefined;
  }
}

/**
 * The YAML of a value, as `stringify(value, YAML_OPTIONS)`, each line after the first indented by
 * `indent` (a list item of a streamed document is its one-item list, indented by two).
 */
export function yamlText(value: unknown, indent = ''): string {
  const fast = blockYamlText(value, indent);
  if (fast !== undefined) return fast;
  const written = stringify(value, YAML_OPTIONS);
  return indent === '' ? written : written.replace(/\n(?!$)/g, '\n' + indent);
}
