/**
 * The fast YAML path (documents cut at `---`, read by js-yaml) must read manifests exactly as the `yaml`
 * package reads the whole stream, which is what the loader did before: same values, lines, List item
 * lines, snapshots, warnings and error messages.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';

import { generateCluster, writeManifests } from '../../bench/generate.js';
import { loadManifests } from '../../src/lib/cluster/files.js';
import { parseYamlDocuments, parseYamlStream } from '../../src/lib/cluster/yaml-documents.js';
import * as yamlStream from '../../src/lib/cluster/yaml-stream.js';
import type { YamlDocument } from '../../src/lib/cluster/yaml-stream.js';
import { ManifestError } from '../../src/lib/errors.js';
import { runs } from '../property/arbitraries.js';
import { yamlTrees, type YamlTree } from './yaml-trees.js';

/** files.ts as it was: every YAML stream read whole by the `yaml` package. */
let loadManifestsBefore: typeof loadManifests;
let generatedDir: string;

beforeAll(async () => {
  await jest.isolateModulesAsync(async () => {
    jest.unstable_mockModule('../../src/lib/cluster/yaml-stream.js', () => ({
      ...yamlStream,
      // Nothing read fast: yaml-documents.ts reads the whole stream with the `yaml` package.
      readFastDocuments: () => ({ documents: [], rest: 'whole' }),
    }));
    ({ loadManifests: loadManifestsBefore } = await import('../../src/lib/cluster/files.js'));
  });
  generatedDir = await mkdtemp(join(tmpdir(), 'netpol-yaml-documents-'));
  await writeManifests(generateCluster({ pods: 300, seed: 3 }).snapshot, generatedDir);
});
afterAll(() => rm(generatedDir, { recursive: true, force: true }));

/** YAML files below a directory, recursively. */
async function yamlFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * The documents as the loader uses them: item lines serve only a List's `items` sequence (the `yaml` package
 * also gave lines for an `items` map, which the loader refuses before it looks at them).
 */
function read(parse: typeof parseYamlStream, text: string): YamlDocument[] {
  return parse(text, 'x').map(({ itemLines, ...document }) => {
    const items = (document.value as { items?: unknown } | null)?.items;
    return Array.isArray(items) && itemLines ? { ...document, itemLines } : document;
  });
}

/** What a read throws, or undefined when it returns. */
function errorOf(read: () => unknown): Error | undefined {
  try {
    read();
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

describe('the fast path reads what the yaml package read', () => {
  it('loadManifestsBefore really is the old path', () => {
    expect(loadManifestsBefore).not.toBe(loadManifests);
  });

  it.each(['examples', 'examples/shop', 'examples/seed', 'test/fixtures/cluster/files/app.yaml'])(
    'the same snapshot and warnings from %s',
    async (path) => {
      const before = await loadManifestsBefore([path]);

      expect(await loadManifests([path])).toStrictEqual(before);
      expect(before.snapshot.pods.length + before.snapshot.policies.length).toBeGreaterThan(0);
    },
  );

  it('the same documents, lines and item lines from every YAML file of examples/ and the file fixtures', async () => {
    const files = [...(await yamlFilesUnder('examples')), ...(await yamlFilesUnder('test/fixtures/cluster/files'))];
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      const before = errorOf(() => parseYamlStream(text, file));
      if (before) expect(errorOf(() => parseYamlDocuments(text, file))).toStrictEqual(before);
      else expect([file, read(parseYamlDocuments, text)]).toStrictEqual([file, read(parseYamlStream, text)]);
    }
  });

  it('the same snapshot of a generated 300-pod cluster', async () => {
    const before = await loadManifestsBefore([generatedDir]);

    expect(await loadManifests([generatedDir])).toStrictEqual(before);
    expect(before.snapshot.pods).toHaveLength(300);
  });

  it('the same documents and lines from each generated file', async () => {
    for (const file of await yamlFilesUnder(generatedDir)) {
      const text = await readFile(file, 'utf8');

      expect(read(parseYamlDocuments, text)).toStrictEqual(read(parseYamlStream, text));
    }
  });
});

describe('YAML 1.2 core scalars, as the yaml package resolves them', () => {
  const pod = (labels: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n${labels}`;

  it('keeps `on`, `yes`, `off`, `no`, `y` as strings in labels (YAML 1.1 booleans are not booleans)', async () => {
    const stdin = pod('    a: on\n    b: yes\n    c: off\n    d: no\n    e: y\n    f: On\n    g: NO\n');
    const { snapshot } = await loadManifests(['-'], { stdin });

    expect(snapshot.pods[0].metadata?.labels).toEqual({
      a: 'on',
      b: 'yes',
      c: 'off',
      d: 'no',
      e: 'y',
      f: 'On',
      g: 'NO',
    });
    expect(await loadManifestsBefore(['-'], { stdin })).toStrictEqual(await loadManifests(['-'], { stdin }));
  });

  it.each([
    ['booleans', 'a: true\nb: True\nc: TRUE\nd: false\ne: tRUE\nf: on\ng: yes\n'],
    ['nulls', 'a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nULL\n'],
    ['integers', 'a: 017\nb: 0o17\nc: 0x1F\nd: -0\ne: +5\nf: 1_000\ng: 0b11\nh: 12345678901234567890\ni: 0xg\n'],
    ['floats', 'a: 1.50\nb: .5\nc: 5.\nd: 1e3\ne: -1.5E-3\nf: .inf\ng: -.Inf\nh: +.INF\ni: .nan\nj: 1.2.3\nk: 1e\n'],
    ['strings that look like other types', 'a: 2024-01-01T00:00:00Z\nb: "5"\nc: \'true\'\nd: 1:30\ne: 0777\n'],
    ['non-string keys', '1: a\ntrue: b\n1.5: c\n0x10: d\n'],
    [
      'block and folded scalars',
      'a: |\n  one\n  two\n\nb: >-\n  folded\n  line\nc: plain\n  continued\nd: |+\n  kept\n\n',
    ],
    ['escapes and quotes', 'a: "x\\u00e9\\/y\\ttab"\nb: \'it\'\'s\'\nc: "multi\n  line"\n'],
    ['duplicate keys (the later wins)', 'a: 1\nb: 2\na: 3\n'],
  ])('%s', (_what, text) => {
    expect(read(parseYamlDocuments, text)).toStrictEqual(read(parseYamlStream, text));
  });
});

describe('generated YAML streams', () => {
  /** Plain and quoted scalars, written as they are, including every edge of the core schema. */
  const scalar = fc.oneof(
    fc.constantFrom(
      ...['on', 'yes', 'no', 'off', 'y', 'true', 'True', 'tRUE', 'FALSE', '~', 'null', 'Null', 'nULL', ''],
      ...['0', '-0', '+5', '017', '0o17', '0o8', '0x1F', '0xg', '1_000', '0b11', '12345678901234567890'],
      ...['1.5', '1.50', '.5', '5.', '1e3', '-1.5E-3', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '1.2.3'],
      ...['2024-01-01', '2024-01-01T00:00:00Z', '1:30', 'a b c', 'web', 'TCP', '10.0.0.0/8', 'x # comment'],
      ...['"5"', "'true'", '"a: b"', "'it''s'", '"tab\\there"', '"\\u00e9"', '|-\n  block', '>\n  folded'],
    ),
    fc.stringMatching(/^[a-z][a-z0-9.-]{0,8}$/),
  );
  const key = fc.oneof(fc.stringMatching(/^[a-z][a-zA-Z0-9./-]{0,10}$/), fc.constantFrom('items', '1', 'true', '"q"'));
  type Tree = YamlTree;
  const tree = yamlTrees(scalar, key);

  /** Block-style YAML of a tree at an indentation (a scalar's block header keeps its own lines). */
  function write(node: Tree, indent: string): string {
    if (typeof node === 'string') return ` ${node.replace(/\n/g, `\n${indent}`)}\n`;
    if ('seq' in node) {
      if (node.seq.length === 0) return ' []\n';
      return `\n${node.seq.map((n) => `${indent}-${write(n, `${indent}  `)}`).join('')}`;
    }
    if (node.map.length === 0) return ' {}\n';
    return `\n${node.map.map(([k, v]) => `${indent}${k}:${write(v, `${indent}  `)}`).join('')}`;
  }

  it('read as the yaml package reads them (or refused with the same error)', () => {
    const document = fc.array(fc.tuple(key, tree), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(document, { minLength: 1, maxLength: 3 }), (documents) => {
        const text = documents
          .map((pairs) => `---\n${pairs.map(([k, v]) => `${k}:${write(v, '  ')}`).join('')}`)
          .join('');
        const before = errorOf(() => parseYamlStream(text, 'x'));
        if (before) expect(errorOf(() => parseYamlDocuments(text, 'x'))).toStrictEqual(before);
        else expect(read(parseYamlDocuments, text)).toStrictEqual(read(parseYamlStream, text));
      }),
      runs(300),
    );
  });
});

describe('streams the yaml package still reads', () => {
  it.each([
    ['anchors, aliases and merge keys', 'base: &b {app: web}\nx: *b\ny:\n  <<: *b\n  tier: 1\n'],
    ['tags', 'a: !!str 5\nb: !!int "7"\nc: !custom x\n'],
    ['a complex key', '? [a, b]\n: c\n'],
    ['an empty and a null key', ': a\n~: b\n'],
    ['a null key first', 'null: a\n'],
    ['__proto__', '__proto__: {polluted: true}\n'],
    ['a %YAML 1.1 directive', '%YAML 1.1\n---\na: on\nb: yes\n'],
    ['document end markers', 'a: 1\n...\n---\nb: 2\n...\n'],
    ['content on the --- line', '--- {a: 1}\n--- b\n---\nc: 3\n'],
    ['CRLF line ends', '---\r\napiVersion: v1\r\nkind: List\r\nitems:\r\n- a: 1\r\n- b: 2\r\n---\r\nc: 3\r\n'],
    ['a byte order mark', '\uFEFF---\na: 1\n---\nb: 2\n'],
    ['tab indentation', 'a:\n\tb: 1\n'],
    ['comments and empty documents', '# head\n---\n# only a comment\n---\n---\n\n  # indented\na: 1 # trailing\n'],
    ['`---` inside a block scalar that is not at column 0', 'a: |\n  ---\n  text\nb: 2\n'],
    ['a block scalar ended by a --- line', 'a: |\n  x\n---\nb: |\n  y\n'],
    ['a quoted string across a --- line', 'a: "x\n---\n  y"\n---\nb: 1\n'],
    ['a flow sequence across a --- line', 'a: [1,\n---\n2]\n---\nb: 1\n'],
    ['a top-level plain scalar across a --- line', 'just\ntext\n---\nmore\n'],
    ['a List with null and flow items', 'kind: List\nitems:\n- {a: 1}\n-\n- [x]\n-   b: 2\n'],
    ['a List in JSON style', '{"kind": "List", "items": [{"a": 1},\n  {"b": 2}]}\n'],
    ['items that are not at the top level', 'metadata:\n  items: [1]\nitems:\n  - a\n  - b\nkind: items\n'],
  ])('%s', (_what, text) => {
    const before = errorOf(() => parseYamlStream(text, 'x'));
    if (before) expect(errorOf(() => parseYamlDocuments(text, 'x'))).toStrictEqual(before);
    else expect(read(parseYamlDocuments, text)).toStrictEqual(read(parseYamlStream, text));
  });
});

/** What a loader error says (the old loader is another copy of the modules, so another ManifestError class). */
function describeError(err: unknown): Record<string, unknown> {
  const { name, message, file, line, hint } = err as ManifestError;
  return { name, message, file, line, hint };
}

describe('errors', () => {
  const good = (name: string) => `---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n`;

  it('names the file and line of a malformed document in the middle of a multi-document file', async () => {
    // Lines 1-5 and 6-10 are good pods; the third document starts at line 11 and breaks at line 15.
    const stdin = `${good('a')}${good('b')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: bad: colon\n${good('c')}`;

    const err = await loadManifests(['-'], { stdin }).catch((e: unknown) => e as ManifestError);

    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({ file: '<stdin>', line: 15 });
    expect((err as Error).message).toMatch(/^<stdin>:15: invalid YAML: /);
    expect(describeError(err)).toEqual(
      describeError(await loadManifestsBefore(['-'], { stdin }).catch((e: unknown) => e)),
    );
  });

  it.each([
    ['an unclosed quote', `${good('a')}---\nkind: "Pod\n${good('b')}`],
    ['an unclosed quote in a document with an anchor', `${good('a')}---\nx: &a "Pod\n${good('b')}`],
    ['a duplicate key and a bad document after it', `${good('a')}---\na: 1\na: 2\n---\nb: [\n${good('b')}`],
    ['an unclosed flow mapping', `${good('a')}${good('b')}---\nmetadata: {name: x\n`],
    ['bad indentation', `${good('a')}---\napiVersion: v1\n kind: Pod\n`],
    ['an alias without its anchor', `${good('a')}---\n<<: *a\n`],
    ['a document that is not an object', `${good('a')}---\n- a\n- b\n`],
    [
      'a List item without a name',
      `${good('a')}---\napiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  apiVersion: v1\n  metadata: {}\n`,
    ],
  ])('the same message as before for %s', async (_what, stdin) => {
    const before = await loadManifestsBefore(['-'], { stdin }).catch((e: unknown) => e);
    const after = await loadManifests(['-'], { stdin }).catch((e: unknown) => e);

    expect(after).toBeInstanceOf(ManifestError);
    expect(describeError(after)).toEqual(describeError(before));
  });
});
