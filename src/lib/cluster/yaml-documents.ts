/**
 * Multi-document YAML to plain values, the documents the fast readers of yaml-stream.ts leave: each is
 * read by js-yaml with a schema that resolves scalars exactly as the `yaml` package's YAML 1.2
 * core schema does (so `on` and `yes` stay strings, timestamps stay strings, `<<` is an ordinary key).
 * Whatever js-yaml might read differently from `yaml` (anchors, aliases, tags, complex or null keys,
 * directives) and every document js-yaml refuses is read by the `yaml` package instead, so values,
 * lines and error messages are the ones the `yaml` package gives for the whole stream. */
import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';
import type { State } from 'js-yaml';
import { LineCounter, parseAllDocuments } from 'yaml';

import { ManifestError } from '../errors.js';
import { CORE_SCALAR_TYPES, readBlockDocument } from './yaml-block.js';
import type { Chunk, FastReading, YamlDocument } from './yaml-stream.js';
import { isDocumentStart, readFastDocuments, toYamlDocument } from './yaml-stream.js';
import { isObject } from '../engine/json.js';

/** The `yaml` package's core scalar types for js-yaml, which keeps one implicit type per tag. */
const CORE_SCALARS = CORE_SCALAR_TYPES.map(({ tag, starts, forms }) => makeScalarType(tag, starts, forms));
const CORE_SCHEMA = FAILSAFE_SCHEMA.extend({ implicit: CORE_SCALARS });

/**
 * Text js-yaml and `yaml` may read differently, so the `yaml` package reads the document: a node
 * property or alias (`&`, `*`, `!` after a space or a flow indicator), a complex key (`? `), an empty or
 * null key (`yaml` names it '', js-yaml 'null'), `__proto__`, content on the `---` line, a sequence entry
 * with nothing after its dash on the line, nested ones (`- -`) too (js-yaml misplaces the entries after an
 * empty one).
 */
const NEEDS_YAML_PACKAGE =
  /(?:^|[\s[\]{},:])[&*!]|(?:^|[\s[{,])\?(?:\s|$)|(?:^|[\s[{,])(?:~|null|Null|NULL)?:(?:\s|$)|__proto__|^---[ \t]*[^\s#]|^[ \t]*(?:-[ \t]+)*-[ \t]*(?:#.*)?\r?$/m;
/** A quick test that NEEDS_YAML_PACKAGE cannot match (it is slow on the `:` of every line). */
const MAY_NEED_YAML_PACKAGE =
  /[&*!?~]|__proto__|(?:^|[\s[{,])[Nn]ull:|NULL:|(?:^|[\s[{,]):|^---[ \t]*[^\s#]|^[ \t]*(?:-[ \t]+)*-[ \t]*(?:#.*)?\r?$/m;

/**
 * Reads every non-empty document of a YAML stream; a syntax error is a ManifestError naming file and
 * line. Synchronous, with every reader at hand: files.ts goes through readYamlDocuments, which loads
 * this module only when the fast readers leave a document to it.
 */
export function parseYamlDocuments(text: string, file: string): YamlDocument[] {
  return finishYamlDocuments(text, file, readFastDocuments(text));
}

/** Reads what the fast readers left: the rest of the stream from the chunk they stopped at. */
export function finishYamlDocuments(text: string, file: string, fast: FastReading): YamlDocument[] {
  if (fast.rest === 'whole') return parseYamlStream(text, file);
  const documents = fast.documents;
  for (const chunk of fast.rest) {
    const block = readBlockDocument(text, chunk.start, chunk.start + chunk.text.length);
    if (block) {
      documents.push(toYamlDocument(block, chunk.startLine));
      continue;
    }
    const parsed =
      (needsYamlPackage(chunk.text) ? undefined : parseWithJsYaml(chunk)) ?? parseChunkWithYamlPackage(chunk, file);
    if (!parsed) {
      // A chunk the yaml package refuses alone may not end at its `---` (a quote left open runs past it):
      // the rest of the stream is read as one, so the error and its line are the ones of the whole stream.
      documents.push(...parseWithYamlPackage(text.slice(chunk.start), file, chunk.startLine - 1));
      break;
    }
    documents.push(...parsed);
  }
  return documents;
}

function needsYamlPackage(text: string): boolean {
  return MAY_NEED_YAML_PACKAGE.test(text) && NEEDS_YAML_PACKAGE.test(text);
}

/** One document read by js-yaml; undefined when js-yaml refuses it or cannot place a List's items. */
function parseWithJsYaml(chunk: Chunk): YamlDocument[] | undefined {
  const tracker = chunk.text.includes('items') ? new ItemLineTracker() : undefined;
  let value: unknown;
  try {
    value = load(chunk.text, {
      schema: CORE_SCHEMA,
      listener: tracker && ((event: string, state: State) => tracker.on(event, state)),
    });
  } catch {
    return undefined;
  }
  if (value === null || value === undefined) return [];
  const document: YamlDocument = { value, line: chunk.startLine + firstContentLine(chunk.text) };
  const items = isObject(value) ? value.items : undefined;
  if (Array.isArray(items)) {
    // Every element of a top-level `items` sequence opens a node at depth 3 (document, value of `items`, element).
    if (!tracker || tracker.lines.length !== items.length) return undefined;
    document.itemLines = tracker.lines.map((l) => chunk.startLine + l);
  }
  return [document];
}

/** Follows js-yaml's open/close events to record the (0-based) line of each element of the root's `items`. */
class ItemLineTracker {
  readonly lines: number[] = [];
  private depth = 0;
  private isAfterItemsKey = false;
  private isInItems = false;

  on(event: string, state: State): void {
    if (event === 'open') {
      this.depth++;
      if (this.depth === 2 && this.isAfterItemsKey) {
        this.isAfterItemsKey = false;
        this.isInItems = true;
        this.lines.length = 0;
      } else if (this.depth === 3 && this.isInItems) this.lines.push(state.line);
      return;
    }
    if (this.depth === 2) {
      if (this.isInItems) this.isInItems = false;
      else this.isAfterItemsKey = state.result === 'items';
    }
    this.depth--;
  }
}

/** The 0-based line, within a chunk, of its first character that is not a `---` marker, blank or comment. */
function firstContentLine(text: string): number {
  let line = 0;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (isDocumentStart(text, pos)) pos += 3;
  while (pos < text.length) {
    const c = text.charCodeAt(pos);
    if (c === 10) {
      line++;
      pos++;
    } else if (c === 32 || c === 9 || c === 13 || c === 0xfeff) pos++;
    else if (c === 35) {
      const newline = text.indexOf('\n', pos);
      if (newline < 0) break;
      pos = newline;
    } else break;
  }
  return line;
}

/** One chunk read by the `yaml` package; undefined when it finds an error there. */
function parseChunkWithYamlPackage(chunk: Chunk, file: string): YamlDocument[] | undefined {
  try {
    return parseWithYamlPackage(chunk.text, file, chunk.startLine - 1);
  } catch (err) {
    if (err instanceof ManifestError) return undefined;
    throw err;
  }
}

/**
 * The `yaml` package's reading of a whole stream as one: what the loader did before the fast path, and
 * what it still does for streams whose documents depend on each other. Tests compare the fast path to it.
 */
export function parseYamlStream(text: string, file: string): YamlDocument[] {
  return parseWithYamlPackage(text, file, 0);
}

/** The `yaml` package's reading of a stream (or of one chunk of it, `lineOffset` lines into the file). */
function parseWithYamlPackage(text: string, file: string, lineOffset: number): YamlDocument[] {
  const lineCounter = new LineCounter();
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line + lineOffset;
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, logLevel: 'error' });
  const documents: YamlDocument[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = (error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line) + lineOffset;
      const summary = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new ManifestError(`invalid YAML: ${summary}`, file, line);
    }
    const contents = doc.contents;
    if (contents === null) continue;
    const line = lineOf(contents.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      // toJS throws on an alias without its anchor (`<<: *a`) and on too many aliases (a YAML bomb).
      throw new ManifestError(`invalid YAML: ${(err as Error).message.split('\n')[0]}`, file, line);
    }
    if (value === null || value === undefined) continue;
    const document: YamlDocument = { value, line };
    const items = doc.get('items', true) as { items?: { range?: [number, number, number] | null }[] } | undefined;
    if (items && Array.isArray(items.items)) {
      document.itemLines = items.items.map((item) => (item.range ? lineOf(item.range[0]) : line));
    }
    documents.push(document);
  }
  return documents;
}

/**
 * A js-yaml implicit scalar type: the first matching pattern constructs the value; `starts` holds every
 * first character the patterns accept. js-yaml calls construct right after a successful resolve, with
 * the same text, so the matched form is remembered.
 */
function makeScalarType(tag: string, starts: string, forms: readonly [RegExp, (source: string) => unknown][]): Type {
  // Most plain scalars (names, words) are told apart by their first character alone.
  const allowsEmpty = forms.some(([pattern]) => pattern.test(''));
  let matched: ((source: string) => unknown) | undefined;
  return new Type(tag, {
    kind: 'scalar',
    resolve: (data: unknown) => {
      if (typeof data !== 'string' || (data === '' ? !allowsEmpty : !starts.includes(data[0]))) return false;
      matched = forms.find(([pattern]) => pattern.test(data))?.[1];
      return matched !== undefined;
    },
    construct: (data: string) => matched!(data),
  });
}
