import { describe, expect, it } from '@jest/globals';

import { isColorEnabled, paint, renderDocument } from '../../src/lib/output/render.js';
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

  it('measures widths before styling cells', () => {
    const text = formatTable(['a', 'b'], [['yes', '1']], {
      style: (column, cell) => (column === 0 ? `<${cell}>` : cell),
    });
    expect(text).toBe('A     B\n<yes>   1\n');
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
