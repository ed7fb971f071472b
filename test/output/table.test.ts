import { stripVTControlCharacters } from 'node:util';

import { describe, expect, it } from '@jest/globals';

import { renderDocument } from '../../src/lib/output/render.js';
import { isColorEnabled, paint } from '../../src/lib/output/style.js';
import { formatTable } from '../../src/lib/output/table.js';

describe('formatTable', () => {
  const rows = [
    ['x/b', 'y/a', '80/TCP'],
    ['x/longer-name', 'z', 'all'],
  ];

  it('aligns columns three spaces apart under upper-case headers, without trailing spaces', () => {
    expect(formatTable(['target', 'from', 'ports'], rows)).toBe(
      ['TARGET          FROM   PORTS', 'x/b             y/a    80/TCP', 'x/longer-name   z      all', ''].join('\n'),
    );
  });

  it('leaves out the header row with noHeaders', () => {
    expect(formatTable(['target', 'from', 'ports'], rows, { noHeaders: true })).toBe(
      ['x/b             y/a   80/TCP', 'x/longer-name   z     all', ''].join('\n'),
    );
  });

  it('is empty without rows', () => {
    expect(formatTable(['a'], [])).toBe('');
  });

  it('measures a styled cell by what it shows: colour codes take no width', () => {
    const red = (text: string): string => `\u001b[31m${text}\u001b[39m`;
    const text = formatTable(
      ['a', 'b'],
      [
        ['yes', '1'],
        ['no', '22'],
      ],
      {
        style: (column, cell) => (column === 0 ? red(cell) : cell),
      },
    );
    expect(text).toBe(`A     B\n${red('yes')}   1\n${red('no')}    22\n`);
  });

  it('aligns cells that arrive coloured', () => {
    const green = '\u001b[32mallowed\u001b[39m';
    expect(
      formatTable(
        ['verdict', 'reason'],
        [
          [green, 'rule 1'],
          ['denied', 'none'],
        ],
      ),
    ).toBe(`VERDICT   REASON\n${green}   rule 1\ndenied    none\n`);
  });

  it('counts wide characters (CJK, emoji) as two columns', () => {
    const text = formatTable(
      ['name', 'ports'],
      [
        ['名前空間/ポッド', '80/TCP'],
        ['🚀 api', 'all'],
        ['x/b', '53/UDP'],
      ],
    );
    expect(text).toBe(
      [
        'NAME              PORTS',
        '名前空間/ポッド   80/TCP',
        '🚀 api            all',
        'x/b               53/UDP',
        '',
      ].join('\n'),
    );
  });

  it('ends no line in blanks, not even before the colour codes of an empty last cell', () => {
    const dim = (text: string): string => `\u001b[2m${text}\u001b[22m`;
    const text = formatTable(
      ['a', 'b', 'c'],
      [
        ['x', '', ''],
        ['longer', 'y', ''],
      ],
      {
        style: (_, cell) => dim(cell),
      },
    );
    expect(text).toBe(
      ['A        B   C', `${dim('x')}${dim('')}${dim('')}`, `${dim('longer')}   ${dim('y')}${dim('')}`, ''].join('\n'),
    );
    for (const line of text.split('\n'))
      expect(stripVTControlCharacters(line)).toBe(stripVTControlCharacters(line).trimEnd());
  });

  it('keeps an empty column three spaces wide with noHeaders, like kubectl', () => {
    expect(formatTable(['a', 'b', 'c'], [['x', '', 'z']], { noHeaders: true })).toBe('x      z\n');
  });

  it('lines up a long table as one, whichever row holds the widest cell', () => {
    const rows = Array.from({ length: 250 }, (_, i) => [i === 249 ? 'ポッド/the-widest' : `pod-${i}`, String(i)]);
    const lines = formatTable(['pod', 'n'], rows).split('\n');
    expect(lines).toHaveLength(252);
    expect(lines[0]).toBe('POD                 N');
    expect(lines[1]).toBe('pod-0               0');
    expect(lines[249]).toBe('pod-248             248');
    expect(lines[250]).toBe('ポッド/the-widest   249');
    expect(lines[251]).toBe('');
  });

  it('pads plain cells to the bytes cli-table3 draws, colour codes and blank columns included', () => {
    // A wide cell sends its lines through cli-table3; an ASCII cell as wide leaves them to plain padding.
    const dim = (text: string): string => `\u001b[2m${text}\u001b[22m`;
    const rows = [
      ['x', '', dim('allowed')],
      ['longer', 'y', dim('')],
      [dim('a'), '', ''],
    ];
    for (const noHeaders of [false, true]) {
      const drawn = formatTable(['a', 'b', 'c'], [...rows, ['名前', '', 'z']], { noHeaders }).split('\n');
      const padded = formatTable(['a', 'b', 'c'], [...rows, ['abcd', '', 'z']], { noHeaders }).split('\n');
      expect(drawn.slice(0, -2)).toEqual(padded.slice(0, -2));
      expect(drawn.at(-2)).toBe('名前         z');
      expect(padded.at(-2)).toBe('abcd         z');
    }
  });
});

describe('renderDocument', () => {
  it('prints JSON with a 2-space indent and YAML, each ending in a newline', () => {
    expect(renderDocument({ a: [1] }, 'json')).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(renderDocument({ a: [1] }, 'yaml')).toBe('a:\n  - 1\n');
  });
});

describe('colour', () => {
  it('is on only for a TTY without NO_COLOR', () => {
    expect(isColorEnabled({ isTTY: true }, {})).toBe(true);
    expect(isColorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(isColorEnabled({ isTTY: false }, {})).toBe(false);
    expect(isColorEnabled({}, {})).toBe(false);
  });

  it('wraps text in ANSI codes only when enabled', () => {
    expect(paint('no', 'red', true)).toBe('\u001b[31mno\u001b[39m');
    expect(paint('no', 'red', false)).toBe('no');
  });
});
