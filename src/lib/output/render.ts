/** Machine-readable output and colour: the parts of rendering every command shares. */
import type { CreateNodeOptions, SchemaOptions, ToStringOptions } from 'yaml';
import { Schema, stringify } from 'yaml';

/** Values of `-o/--output`. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
/** One of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

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

/** Renders a document as JSON (2-space indent) or YAML (YAML_OPTIONS), ending with a newline. */
export function renderDocument(document: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(document, null, 2) + '\n';
  return stringify(document, YAML_OPTIONS);
}

/** Whether to colour what goes to a stream: only a TTY, and never when NO_COLOR is set (no-color.org). */
export function isColorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/** ANSI styles used by the renderers. */
type Color = 'red' | 'green' | 'yellow' | 'bold';

const ANSI: Record<Color, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22] };

/** Wraps text in an ANSI style when enabled, else returns it unchanged. */
export function paint(text: string, color: Color, enabled: boolean): string {
  if (!enabled || text === '') return text;
  const [open, close] = ANSI[color];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}
