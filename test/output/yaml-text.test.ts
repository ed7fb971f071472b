/** The block YAML writer against the `yaml` package it stands in for: same bytes on generated values. */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { stringify } from 'yaml';

import { blockYamlText, YAML_OPTIONS, yamlText } from '../../src/lib/output/yaml.js';

/** Characters and words that change how a YAML scalar or key must be written. */
const CHARS = [...'aZ09 :#-?"\'\n\t{}[],&*!|>%@`~.\\/=_+é中\u0085\u00a0\u2028'];
const WORDS = [
  'on',
  'yes',
  'No',
  'y',
  '~',
  'null',
  'true',
  '1_000',
  '0x1F',
  '0o17',
  '1:20',
  '2001-12-14',
  '<<',
  '-',
  '---',
  '...',
  '',
  ' a',
  'a ',
  'a: b',
  'a #b',
  '- a',
  '1e3',
  '.inf',
  '007',
  'ns/pod',
];

const text = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...CHARS), { maxLength: 8 }).map((c) => c.join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  // Printable ASCII after a letter: what is written without asking the yaml package, when it is plain.
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...'aNyYonx'), fc.string({ unit: 'grapheme-ascii', maxLength: 10 }))
      .map(([first, rest]) => first + rest),
  },
);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.constantFrom(0, -0, 1.5, 2 ** 53, -(2 ** 60), 1e21, NaN, Infinity),
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
  list: fc.array(fc.oneof({ weight: 9, arbitrary: tie('value') }, { weight: 1, arbitrary: fc.constant(undefined) }), {
    maxLength: 4,
  }),
  map: fc.dictionary(
    text,
    fc.oneof({ weight: 9, arbitrary: tie('value') }, { weight: 1, arbitrary: fc.constant(undefined) }),
    {
      maxKeys: 4,
    },
  ),
}));

describe('yamlText', () => {
  test('writes every generated value as the yaml package does, whole and as an indented list item', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(yamlText(v)).toBe(stringify(v, YAML_OPTIONS));
        expect('  ' + yamlText([v], '  ')).toBe('  ' + stringify([v], YAML_OPTIONS).replace(/\n(?!$)/g, '\n  '));
      }),
      { numRuns: 3000 },
    );
  });

  test('writes a document of the shape the commands print without the yaml package', () => {
    const entry = {
      from: { namespace: 'web', pod: 'frontend-7d9c-x2', workload: 'Deployment/frontend' },
      to: { namespace: 'db', pod: 'postgres-0' },
      ports: [{ port: 5432, protocol: 'TCP' }, 'all'],
      allowedBy: [{ kind: 'NetworkPolicy', namespace: 'db', name: 'allow-web', rule: 0 }],
      labels: { 'app.kubernetes.io/name': 'x', on: 'yes', '': '~' },
      reason: 'allowed by db/allow-web ingress[0]: from namespaceSelector {team: web}',
      why: 'denied by ClusterNetworkPolicy/deny (Admin, priority 6) rule deny-to-db, #3 [x] "q" a:b',
      empty: { list: [], map: {}, gone: undefined },
      nested: [[1, [2]], [{ a: null }], [], {}],
    };
    const document = { connections: [entry, entry], warnings: [], count: 2, complete: true };
    const fast = blockYamlText(document);
    expect(fast).toBeDefined();
    expect(fast).toBe(stringify(document, YAML_OPTIONS));
    expect(fast).toContain('\n    labels:\n      app.kubernetes.io/name: x\n      "on": "yes"\n      "": "~"\n');
  });

  test('hands what it cannot write the same way to the yaml package', () => {
    for (const v of [{ a: 'two\nlines' }, [1.5], { ['k'.repeat(1100)]: 1 }, [undefined], new Map([['a', 1]])]) {
      expect(blockYamlText(v)).toBeUndefined();
      expect(yamlText(v)).toBe(stringify(v, YAML_OPTIONS));
    }
  });
});
