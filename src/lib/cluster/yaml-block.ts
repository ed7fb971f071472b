/**
 * The plainest block YAML, read in one pass over the stream's text: what `kubectl get -o yaml` and most
 * hand-written manifests are made of. Block mappings with simple keys, block sequences (compact mappings
 * on the dash line included), one-line plain, single- and double-quoted scalars, `{}` and `[]`,
 * comments and blank lines. Anything else (anchors, tags, block scalars, flow collections with content,
 * multi-line scalars, tabs, CR line ends, odd keys, errors) makes it give up on the document, which is
 * then read as before (yaml-documents.ts): it never decides what is an error, so errors and their lines
 * stay the `yaml` package's. Scalars resolve as in the `yaml` package's YAML 1.2 core schema.
 */

/** One document read: its value, the 0-based line of its content and of each element of its root `items`. */
export interface BlockDocument {
  value: Record<string, unknown>;
  line: number;
  itemLines?: number[];
}

/** Thrown (and caught in readBlockDocument) when the text is not of the plain kind read here. */
const UNSUPPORTED = new Error('not plain block YAML');

export const SPACE = 32;
export const NEWLINE = 10;
const HASH = 35;
export const COLON = 58;
const DASH = 45;
export const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
export const BACKSLASH = 92;

/**
 * The scalar forms of the `yaml` package's core schema (yaml/dist/schema/core), in its order: null, bool,
 * int (octal, decimal, hex), float (inf/nan, exponent, decimal). Each type lists the first characters its
 * patterns accept, so most plain scalars (names, words) are told apart by their first character alone.
 */
export const CORE_SCALAR_TYPES: readonly {
  tag: string;
  starts: string;
  forms: readonly [RegExp, (source: string) => unknown][];
}[] = [
  { tag: 'tag:yaml.org,2002:null', starts: '~nN', forms: [[/^(?:~|[Nn]ull|NULL)?$/, () => null]] },
  {
    tag: 'tag:yaml.org,2002:bool',
    starts: 'tTfF',
    forms: [[/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T']],
  },
  {
    tag: 'tag:yaml.org,2002:int',
    starts: '+-0123456789',
    forms: [
      [/^0o[0-7]+$/, (s) => parseInt(s.substring(2), 8)],
      [/^[-+]?[0-9]+$/, (s) => parseInt(s, 10)],
      [/^0x[0-9a-fA-F]+$/, (s) => parseInt(s.substring(2), 16)],
    ],
  },
  {
    tag: 'tag:yaml.org,2002:float',
    starts: '+-.0123456789',
    forms: [
      [
        /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
        (s) =>
          s.slice(-3).toLowerCase() === 'nan'
            ? NaN
            : s[0] === '-'
              ? Number.NEGATIVE_INFINITY
              : Number.POSITIVE_INFINITY,
      ],
      [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, parseFloat],
      [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, parseFloat],
    ],
  },
];

/**
 * Strings read before, by a hash of their text (direct-mapped, so a collision replaces): names, kinds,
 * label keys and values repeat across manifests, and one string for each saves the time of making and
 * collecting copies. Kept between reads; bounded by CACHE_MASK and MAX_CACHED_LENGTH.
 */
const CACHE_MASK = (1 << 14) - 1;
const MAX_CACHED_LENGTH = 48;
const KEY_CACHE: (string | undefined)[] = new Array<string | undefined>(CACHE_MASK + 1).fill(undefined);
const QUOTED_CACHE: (string | undefined)[] = new Array<string | undefined>(CACHE_MASK + 1).fill(undefined);
const PLAIN_CACHE: (string | undefined)[] = new Array<string | undefined>(CACHE_MASK + 1).fill(undefined);
/** The value each PLAIN_CACHE entry resolves to. */
const PLAIN_VALUES: unknown[] = new Array<unknown>(CACHE_MASK + 1).fill(undefined);
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The value of a (non-empty, one-line) plain scalar under the core schema. */
function resolvePlain(source: string): unknown {
  const first = source[0];
  for (const type of CORE_SCALAR_TYPES) {
    if (!type.starts.includes(first)) continue;
    for (const [pattern, construct] of type.forms) if (pattern.test(source)) return construct(source);
  }
  return source;
}

/** Indicators that cannot start a plain scalar here, or start something not read here, by character code. */
const IS_INDICATOR = new Uint8Array(128);
for (const c of '-?:,]}#&*!|>%@`') IS_INDICATOR[c.charCodeAt(0)] = 1;

/** Whether a character may appear in a key read here: letters, digits and `_ . / -`. */
function isKeyChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    c === 46 ||
    c === 47 ||
    c === 45
  );
}

/**
 * Reads the document in text[start, end) (a `---` line first, or none) when it is plain block YAML whose
 * root is a mapping; undefined otherwise, and for empty documents.
 */
export function readBlockDocument(text: string, start: number, end: number): BlockDocument | undefined {
  try {
    return new BlockReader(text, start, end).readDocument();
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
}

class BlockReader {
  private pos: number;
  /** 0-based line of `pos`, counted from `start`. */
  private line = 0;
  /** Column of the content at `pos`, after nextContent (-1 at the end). */
  private column = -1;
  private itemLines: number[] | undefined;
  /** Where the last double-quoted scalar scanned ends. */
  private scanEnd = 0;

  constructor(
    private readonly text: string,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  readDocument(): BlockDocument {
    const { text } = this;
    if (text.startsWith('---', this.pos)) {
      this.pos += 3;
      this.skipLineEnd();
    }
    this.nextContent();
    if (this.column !== 0 || text.charCodeAt(this.pos) === DASH) throw UNSUPPORTED;
    const line = this.line;
    const value = this.readMapping(0, true);
    // Content left at a smaller column than the root's: not read here.
    if (!this.isAtEnd()) throw UNSUPPORTED;
    const document: BlockDocument = { value, line };
    if (Array.isArray(value.items)) document.itemLines = this.itemLines ?? [];
    return document;
  }

  private isAtEnd(): boolean {
    return this.column === -1;
  }

  /** From the end of a node on its line: only spaces and a comment may follow; then goes to the next line. */
  private skipLineEnd(): void {
    const { text, end } = this;
    let pos = this.pos;
    while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
    if (pos < end) {
      const c = text.charCodeAt(pos);
      if (c === HASH && pos > this.pos) {
        const newline = text.indexOf('\n', pos);
        pos = newline < 0 || newline >= end ? end : newline;
      } else if (c !== NEWLINE) throw UNSUPPORTED;
    }
    if (pos < end) {
      pos++;
      this.line++;
    }
    this.pos = pos;
  }

  /**
   * From the start of a line: skips blank and comment lines; leaves `pos` at the first content character
   * and `column` at its column, or -1 at the end.
   */
  private nextContent(): void {
    const { text, end } = this;
    let pos = this.pos;
    while (pos < end) {
      const lineStart = pos;
      while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
      if (pos >= end) break;
      const c = text.charCodeAt(pos);
      if (c === NEWLINE || c === HASH) {
        const newline = c === NEWLINE ? pos : text.indexOf('\n', pos);
        if (newline < 0 || newline >= end) break;
        pos = newline + 1;
        this.line++;
        continue;
      }
      this.pos = pos;
      this.column = pos - lineStart;
      return;
    }
    this.pos = end;
    this.column = -1;
  }

  /** A block mapping whose keys are at `indent`, the first at `pos`. */
  private readMapping(indent: number, isRoot = false): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (;;) {
      const key = this.readKey();
      if (key === undefined) throw UNSUPPORTED;
      const isItems = isRoot && key === 'items';
      // A second `items`: the `yaml` package gives the lines of the first, left to it.
      if (isItems && Object.hasOwn(map, key)) throw UNSUPPORTED;
      map[key] = this.readMappingValue(indent, isItems);
      if (this.column < indent) return map;
      if (this.column > indent || this.text.charCodeAt(this.pos) === DASH) throw UNSUPPORTED;
    }
  }

  /** The key at `pos` and its `:`; undefined (pos unchanged) when there is none of the kind read here. */
  private readKey(): string | undefined {
    const { text, end } = this;
    const start = this.pos;
    let key: string | undefined;
    let pos = start;
    if (text.charCodeAt(pos) === DOUBLE_QUOTE) {
      key = this.scanDoubleQuoted(pos);
      if (key === undefined) return undefined;
      pos = this.scanEnd;
    } else {
      let hash = FNV_OFFSET;
      for (; pos < end; pos++) {
        const c = text.charCodeAt(pos);
        if (!isKeyChar(c)) break;
        hash = Math.imul(hash ^ c, FNV_PRIME);
      }
      if (pos === start || text.charCodeAt(start) === DASH || text.charCodeAt(start) === 46) return undefined;
      const slot = hash & CACHE_MASK;
      key = KEY_CACHE[slot];
      if (key === undefined || key.length !== pos - start || !text.startsWith(key, start)) {
        key = text.slice(start, pos);
        if (typeof resolvePlain(key) !== 'string') return undefined;
        // Only keys that read as strings are kept, so a key found here needs no check.
        KEY_CACHE[slot] = key;
      }
    }
    if (text.charCodeAt(pos) !== COLON) return undefined;
    const next = pos + 1 < end ? text.charCodeAt(pos + 1) : NEWLINE;
    if (next !== SPACE && next !== NEWLINE) return undefined;
    if (key === '__proto__' || key === '<<' || key.length > 1000) throw UNSUPPORTED;
    this.pos = pos + 1;
    return key;
  }

  /** After a key's `:`: an inline value, or a node on the lines below (null when there is none). */
  private readMappingValue(indent: number, isItems: boolean): unknown {
    const { text, end } = this;
    let pos = this.pos;
    while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
    const c = pos < end ? text.charCodeAt(pos) : NEWLINE;
    if (c !== NEWLINE && c !== HASH) {
      this.pos = pos;
      const value = this.readInlineScalar();
      this.skipLineEnd();
      this.nextContent();
      // A more indented line would continue the scalar (or be an error).
      if (this.column > indent) throw UNSUPPORTED;
      return value;
    }
    this.skipLineEnd();
    this.nextContent();
    if (this.column > indent) return this.readNode(this.column, isItems);
    // A sequence may sit at its key's column.
    if (this.column === indent && this.isAtDash()) return this.readSequence(indent, true, isItems);
    return null;
  }

  /** A block node starting a line at `indent`: a sequence or a mapping. */
  private readNode(indent: number, isItems = false): unknown {
    if (this.isAtDash()) return this.readSequence(indent, false, isItems);
    return this.readMapping(indent);
  }

  private isAtDash(): boolean {
    const { text, pos } = this;
    if (text.charCodeAt(pos) !== DASH) return false;
    const next = pos + 1 < this.end ? text.charCodeAt(pos + 1) : NEWLINE;
    return next === SPACE || next === NEWLINE;
  }

  /**
   * A block sequence whose dashes are at `indent`. `isUnderKey`: it sits at its key's column, so a line
   * there without a dash ends it (the mapping goes on). `isItems`: the root's `items`, whose lines are kept.
   */
  private readSequence(indent: number, isUnderKey: boolean, isItems: boolean): unknown[] {
    const { text, end } = this;
    const sequence: unknown[] = [];
    const lines: number[] | undefined = isItems ? [] : undefined;
    for (;;) {
      lines?.push(this.line);
      let pos = this.pos + 1;
      while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
      const c = pos < end ? text.charCodeAt(pos) : NEWLINE;
      // An entry with nothing on its dash line, or a sequence in a sequence: left to the full readers.
      if (c === NEWLINE || c === HASH || (c === DASH && pos + 1 < end && text.charCodeAt(pos + 1) === SPACE))
        throw UNSUPPORTED;
      const column = this.column + (pos - this.pos);
      this.pos = pos;
      if (this.readKeyAhead()) {
        this.column = column;
        sequence.push(this.readMapping(column));
      } else {
        sequence.push(this.readInlineScalar());
        this.skipLineEnd();
        this.nextContent();
        if (this.column > indent) throw UNSUPPORTED;
      }
      if (this.column < indent) break;
      if (this.column > indent) throw UNSUPPORTED;
      if (!this.isAtDash()) {
        if (isUnderKey) break;
        throw UNSUPPORTED;
      }
    }
    if (lines) this.itemLines = lines;
    return sequence;
  }

  /** Whether a key of the kind read here starts at `pos` (pos unchanged). */
  private readKeyAhead(): boolean {
    const { pos, line } = this;
    const isKey = this.readKey() !== undefined;
    this.pos = pos;
    this.line = line;
    return isKey;
  }

  /** A one-line scalar, `{}` or `[]` at `pos`; leaves `pos` right after it. */
  private readInlineScalar(): unknown {
    const { text, end } = this;
    const pos = this.pos;
    const c = text.charCodeAt(pos);
    if (c === DOUBLE_QUOTE) {
      const quoted = this.scanDoubleQuoted(pos);
      if (quoted === undefined) throw UNSUPPORTED;
      this.pos = this.scanEnd;
      return quoted;
    }
    if (c === SINGLE_QUOTE) return this.readSingleQuoted();
    if (c === 123 || c === 91) {
      // `{}` or `[]` alone; other flow collections are left to the full readers.
      if (text.charCodeAt(pos + 1) !== c + 2) throw UNSUPPORTED;
      this.pos = pos + 2;
      return c === 123 ? {} : [];
    }
    if (c < 128 && IS_INDICATOR[c] === 1 && !(c === DASH && isDigit(text.charCodeAt(pos + 1)))) throw UNSUPPORTED;
    let stop = pos;
    let last = pos;
    let hash = FNV_OFFSET;
    while (stop < end) {
      const ch = text.charCodeAt(stop);
      if (ch === NEWLINE) break;
      if (ch === SPACE) {
        const next = stop + 1 < end ? text.charCodeAt(stop + 1) : NEWLINE;
        if (next === HASH) break;
      } else {
        if (isUnreadChar(ch)) throw UNSUPPORTED;
        if (ch === COLON) {
          const next = stop + 1 < end ? text.charCodeAt(stop + 1) : NEWLINE;
          if (next === SPACE || next === NEWLINE) throw UNSUPPORTED;
        }
        last = stop + 1;
      }
      hash = Math.imul(hash ^ ch, FNV_PRIME);
      stop++;
    }
    this.pos = last;
    // The hash covers spaces before a comment too: the same scalar may miss the cache, never mismatch.
    const slot = hash & CACHE_MASK;
    const cached = PLAIN_CACHE[slot];
    if (cached !== undefined && cached.length === last - pos && text.startsWith(cached, pos)) return PLAIN_VALUES[slot];
    const source = text.slice(pos, last);
    const value = resolvePlain(source);
    if (source.length <= MAX_CACHED_LENGTH) {
      PLAIN_CACHE[slot] = source;
      PLAIN_VALUES[slot] = value;
    }
    return value;
  }

  /**
   * A double-quoted scalar on one line at `pos`, leaving `scanEnd` after its closing quote; undefined when
   * it spans lines or holds an escape JSON does not read the same way.
   */
  private scanDoubleQuoted(pos: number): string | undefined {
    const { text, end } = this;
    let hasEscape = false;
    let hash = FNV_OFFSET;
    let at = pos + 1;
    for (; at < end; at++) {
      const c = text.charCodeAt(at);
      if (c === DOUBLE_QUOTE) break;
      if (c === BACKSLASH) {
        hasEscape = true;
        at++;
      } else if (isUnreadChar(c)) return undefined;
      hash = Math.imul(hash ^ c, FNV_PRIME);
    }
    if (at >= end) return undefined;
    this.scanEnd = at + 1;
    if (hasEscape) {
      // JSON's escapes are a subset of YAML's, with the same meaning; JSON refuses the others.
      try {
        return JSON.parse(text.slice(pos, at + 1)) as string;
      } catch {
        return undefined;
      }
    }
    const length = at - pos - 1;
    if (length > MAX_CACHED_LENGTH) return text.slice(pos + 1, at);
    const slot = hash & CACHE_MASK;
    let value = QUOTED_CACHE[slot];
    if (value === undefined || value.length !== length || !text.startsWith(value, pos + 1)) {
      value = text.slice(pos + 1, at);
      QUOTED_CACHE[slot] = value;
    }
    return value;
  }

  private readSingleQuoted(): string {
    const { text, end } = this;
    let value = '';
    let from = this.pos + 1;
    for (let at = from; at < end; at++) {
      const c = text.charCodeAt(at);
      if (isUnreadChar(c)) break;
      if (c !== SINGLE_QUOTE) continue;
      value += text.slice(from, at);
      if (text.charCodeAt(at + 1) !== SINGLE_QUOTE) {
        this.pos = at + 1;
        return value;
      }
      value += "'";
      from = at + 2;
      at++;
    }
    throw UNSUPPORTED;
  }
}

/**
 * Characters left to the full readers inside a scalar: control characters (tab, CR and the line break
 * included), DEL and the C1 controls, the byte order mark, and the YAML 1.1 line and paragraph separators.
 */
function isUnreadChar(c: number): boolean {
  return c < SPACE || (c >= 127 && c <= 159) || c === 0xfeff || c === 0x2028 || c === 0x2029;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
