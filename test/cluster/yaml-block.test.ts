/**
 * The one-pass reader of plain block YAML must read what it reads exactly as the `yaml` package does
 * (values, document lines, List item lines), and give up on everything else, which the loader then reads
 * as before.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { generateCluster, writeManifests } from '../../bench/generate.js';
import { readJsonDocument } from '../../src/lib/cluster/json-document.js';
import { readBlockDocument } from '../../src/lib/cluster/yaml-block.js';
import { parseYamlDocuments, parseYamlStream } from '../../src/lib/cluster/yaml-documents.js';
import type { YamlDocument } from '../../src/lib/cluster/yaml-stream.js';
import { runs } from '../property/arbitraries.js';
import { yamlTrees, type YamlTree } from './yaml-trees.js';

let files: string[];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netpol-yaml-block-'));
  const snapshot = generateCluster({ pods: 200, seed: 5 }).snapshot;
  ({ files } = await writeManifests(snapshot, dir));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The one-pass reading of a one-document text, with 1-based lines as parseYamlDocuments gives them. */
function readBlock(text: string): unknown {
  const document = readBlockDocument(text, 0, text.length);
  if (!document) return undefined;
  const { value, line, itemLines } = document;
  return [{ value, line: line + 1, ...(itemLines ? { itemLines: itemLines.map((l) => l + 1) } : {}) }];
}

/**
 * The `yaml` package's reading, as the loader uses it: item lines serve only a List's `items` sequence (it
 * also gives lines for an `items` map, which the loader refuses before it looks at them).
 */
function readYaml(text: string): YamlDocument[] {
  return read(parseYamlStream(text, 'x'));
}

function read(documents: YamlDocument[]): YamlDocument[] {
  return documents.map(({ itemLines, ...document }) => {
    const items = (document.value as { items?: unknown } | null)?.items;
    return Array.isArray(items) && itemLines ? { ...document, itemLines } : document;
  });
}

describe('what the generator writes', () => {
  it('is read in one pass, document by document, as the yaml package reads it', async () => {
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      const documents = text.split(/^(?=---\n)/m);
      for (const document of documents) expect(readBlock(document)).toStrictEqual(readYaml(document));
      expect(documents.length).toBeGreaterThan(0);
    }
  });
});

describe('generated block YAML', () => {
  const scalar = fc.oneof(
    fc.constantFrom(
      ...['on', 'yes', 'no', 'y', 'true', 'True', 'tRUE', 'FALSE', '~', 'null', 'Null', 'nULL', '-', '--', '---'],
      ...['0', '-0', '+5', '-5', '017', '0o17', '0o8', '0x1F', '0xg', '1_000', '12345678901234567890', '-x'],
      ...['1.5', '.5', '5.', '1e3', '-1.5E-3', '.inf', '-.Inf', '.nan', '1.2.3', '2024-01-01T00:00:00Z'],
      ...['1:30', 'a b c', 'a  b ', 'x # comment', 'x#y', 'a: b', 'a:b', 'b]', 'x,y', '{}', '[]', '{ }', '[a]'],
      ...['"5"', "'true'", '"a: b"', "'it''s'", "''", '""', '"tab\\there"', '"\\u00e9"', '"\\x41"', '"a\\"b"'],
      ...["'a", '"a', '&a x', '*a', '!t x', '|\n  block', '>-\n  folded', '?', ':x', '%x', '@x', '`x', 'é', '"é"'],
    ),
    fc.stringMatching(/^[a-z][a-z0-9.-]{0,8}$/),
  );
  const key = fc.oneof(
    fc.stringMatching(/^[a-z][a-zA-Z0-9./_-]{0,10}$/),
    fc.constantFrom('items', '1', 'true', 'null', '"q"', '"a b"', '"1"', '-a', '.a', '__proto__', '<<', 'a b', 'é'),
  );
  type Tree = YamlTree;
  const tree = yamlTrees(scalar, key);
  /** How a writer lays a node out: compact mappings on the dash line, sequences at their key's column, comments. */
  const style = fc.record({ isCompact: fc.boolean(), isSeqAtKey: fc.boolean(), hasComments: fc.boolean() });
  type Style = { isCompact: boolean; isSeqAtKey: boolean; hasComments: boolean };

  /** Block YAML of a node after a key's `:` or a dash, its lines at `indent`. */
  function write(node: Tree, indent: string, s: Style, afterDash = false): string {
    const comment = s.hasComments ? ' # c' : '';
    if (typeof node === 'string')
      return ` ${node.replace(/\n/g, `\n${indent}`)}${node.includes('\n') ? '' : comment}\n`;
    if ('seq' in node) {
      if (node.seq.length === 0) return ' []\n';
      const at = s.isSeqAtKey && !afterDash ? indent.slice(2) : indent;
      const items = node.seq.map((n) => `${at}-${write(n, `${at}  `, s, true)}`).join('');
      return `${comment}\n${s.hasComments ? `${at}# between\n\n` : ''}${items}`;
    }
    if (node.map.length === 0) return ' {}\n';
    const pairs = node.map.map(([k, v]) => `${indent}${k}:${write(v, `${indent}  `, s)}`).join('');
    return afterDash && s.isCompact ? ` ${pairs.slice(indent.length)}` : `\n${pairs}`;
  }

  it('reads what the yaml package reads, or leaves it to it', () => {
    let readHere = 0;
    const document = fc.array(fc.tuple(key, tree), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(document, { minLength: 1, maxLength: 3 }), style, (documents, s) => {
        const texts = documents.map((pairs) => `---\n${pairs.map(([k, v]) => `${k}:${write(v, '  ', s)}`).join('')}`);
        const text = texts.join('');
        for (const one of texts) {
          const block = readBlock(one);
          if (block === undefined) continue;
          readHere++;
          expect([one, block]).toStrictEqual([one, readYaml(one)]);
        }
        // A quote left open is read past its line by js-yaml, which the yaml package refuses: an old
        // difference of the js-yaml path (yaml-documents.ts), not of this reader, which leaves them to it.
        if (/ ["']a(?: # c)?$/m.test(text)) return;
        let before: unknown;
        try {
          before = parseYamlStream(text, 'x');
        } catch (err) {
          before = err;
        }
        if (before instanceof Error) expect(() => parseYamlDocuments(text, 'x')).toThrow(before.message);
        else expect(read(parseYamlDocuments(text, 'x'))).toStrictEqual(read(before as YamlDocument[]));
      }),
      runs(500),
    );
    // Not a reader that gives up on everything.
    expect(readHere).toBeGreaterThan(100);
  });
});

describe('left to the full readers', () => {
  it.each([
    ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 5\n'],
    ['a literal block scalar', 'a: |\n  x\n'],
    ['a folded block scalar', 'a: >\n  x\n'],
    ['a flow mapping with content', 'a: {b: 1}\n'],
    ['a flow sequence with content', 'a: [1]\n'],
    ['a plain scalar over two lines', 'a: b\n  c\n'],
    ['a double-quoted scalar over two lines', 'a: "b\n  c"\n'],
    ['a single-quoted scalar over two lines', "a: 'b\n  c'\n"],
    ['a scalar on the line below its key', 'a:\n  b\n'],
    ['tab indentation', 'a:\n\tb: 1\n'],
    ['a tab after a colon', 'a:\tb\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a null key', 'null: a\n'],
    ['a numeric key', '1: a\n'],
    ['a key with a space', 'a b: c\n'],
    ['__proto__', '__proto__: {}\n'],
    ['a merge key', '<<:\n  a: 1\n'],
    ['a second items', 'items:\n- a\nitems:\n- b\n'],
    ['a dash with nothing after it', 'a:\n-\n- b\n'],
    ['a sequence in a sequence', 'a:\n- - b\n'],
    ['a root sequence', '- a\n'],
    ['an indented root', '  a: 1\n'],
    ['content on the --- line', '--- a: 1\n'],
    ['an empty document', '---\n# nothing\n'],
    ['a byte order mark', '\uFEFFa: 1\n'],
    ['an unknown escape', 'a: "\\q"\n'],
    ['a nested mapping on a value line', 'a: b: c\n'],
  ])('%s', (_what, text) => {
    expect(readBlockDocument(text, 0, text.length)).toBeUndefined();
  });
});

describe('reads', () => {
  it('a List with its item lines, comments and blank lines between', () => {
    const text =
      '---\n# a list\napiVersion: v1\nkind: List\nitems:\n\n- kind: Pod # one\n  metadata: {}\n# between\n- b\n';

    expect(readBlockDocument(text, 0, text.length)).toStrictEqual({
      value: { apiVersion: 'v1', kind: 'List', items: [{ kind: 'Pod', metadata: {} }, 'b'] },
      line: 2,
      itemLines: [6, 9],
    });
    expect(readBlock(text)).toStrictEqual(readYaml(text));
  });

  it('YAML 1.1 booleans as strings and 1.2 core scalars as the yaml package does', () => {
    const text = 'labels:\n  a: on\n  b: yes\n  c: "true"\nn: 0x1F\no: 0o17\nf: .5\nt: true\nz: ~\ns: 2024-01-01\n';

    expect(readBlock(text)).toStrictEqual(readYaml(text));
    expect(readBlockDocument(text, 0, text.length)?.value).toMatchObject({ labels: { a: 'on', b: 'yes' }, n: 31 });
  });
});

describe('a stream that is one JSON object', () => {
  const json: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.string(), fc.constantFrom('a # b', 'x\ty', '"q"', '\\', 'é', '\u2028'), fc.integer(), fc.double()),
      fc.constantFrom(true, false, null, 2 ** 64, -0, 1e300),
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('items', 'a:b', '#')), tie('node'), { maxKeys: 4 }),
      fc.array(tie('node'), { maxLength: 4 }),
    ),
  })).node;
  const root = fc.record({ kind: fc.constantFrom('List', 'PodList'), items: fc.array(json, { maxLength: 4 }) });

  it('is read as the yaml package reads it, with its List item lines', () => {
    let readHere = 0;
    fc.assert(
      fc.property(fc.oneof(root, fc.dictionary(fc.string(), json)), fc.constantFrom(0, 1, 2, 4), (value, indent) => {
        const text = `\n${JSON.stringify(value, null, indent)}\n`;
        if (readJsonDocument(text)) readHere++;
        expect(read(parseYamlDocuments(text, 'x'))).toStrictEqual(readYaml(text));
      }),
      runs(500),
    );
    expect(readHere).toBeGreaterThan(250);
  });

  it.each([
    ['two documents', '{"a": 1}\n---\n{"b": 2}\n'],
    ['a second items', '{"items": [1], "items": [2]}\n'],
    ['__proto__', '{"__proto__": {"a": 1}}\n'],
    ['a tab', '{\t"a": 1}\n'],
    ['a root array', '[{"a": 1}]\n'],
    ['YAML flow', '{a: 1}\n'],
  ])('left to the full readers: %s', (_what, text) => {
    expect(readJsonDocument(text)).toBeUndefined();
  });
});
