/** Tables in kubectl's look, drawn by cli-table3: no borders, UPPERCASE headers, columns separated by three spaces. */
import Table from 'cli-table3';
import stringWidth from 'string-width';

/** kubectl's printers pad columns with a tabwriter of padding 3: every cell gets three spaces on its right. */
const COLUMN_PADDING = 3;

/** No borders: cli-table3 draws nothing but the cells and their padding. */
const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '',
};

/** Lines given to one cli-table3 table: its layout pass takes time quadratic in a table's rows. */
const LINES_PER_TABLE = 100;

/** How to draw one table. */
export interface TableOptions {
  /** Leave out the header row (`--no-headers`). */
  noHeaders?: boolean;
  /** Styles a cell's text before it is measured (ANSI codes take no width); used for colour on a TTY. */
  style?: (column: number, text: string) => string;
}

/** The blanks ending a line, with any ANSI colour codes among them. */
// eslint-disable-next-line no-control-regex -- an ANSI code starts with ESC
const TRAILING_BLANKS = /(?:\s|\u001b\[[\d;]*m)+$/;

/** A cell's width in terminal columns, as cli-table3 measures it (wide characters count 2, ANSI codes 0). */
function measureCell(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return Math.max(...text.split('\n').map((line) => stringWidth(line)));
}

/** A drawn line without trailing blanks, keeping the colour codes that close it. */
function trimLine(line: string): string {
  const trimmed = line.trimEnd();
  if (!trimmed.endsWith('m') || !trimmed.includes('\u001b')) return trimmed;
  return trimmed.replace(TRAILING_BLANKS, (tail) => tail.replace(/\s+/g, ''));
}

/** Draws lines (the header first, if any) through cli-table3 with the columns' widths, padding included. */
function drawTable(lines: readonly string[][], widths: readonly number[]): string {
  const table = new Table({
    chars: NO_BORDERS,
    colWidths: [...widths],
    style: { 'padding-left': 0, 'padding-right': COLUMN_PADDING, head: [], border: [] },
  });
  table.push(...lines);
  return table.toString().split('\n').map(trimLine).join('\n') + '\n';
}

/**
 * Lays out rows under headers, each column as wide as its widest cell, the last column unpadded.
 * Returns '' when there are no rows, so callers can say "nothing found" their own way.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): string {
  if (rows.length === 0) return '';
  const cells = rows.map((row) =>
    headers.map((_, column) => {
      const text = row[column] ?? '';
      return opts.style ? opts.style(column, text) : text;
    }),
  );
  const lines = opts.noHeaders ? cells : [headers.map((header) => header.toUpperCase()), ...cells];
  // Measured once over all lines, so the tables drawn a hundred lines at a time line up.
  const widths = headers.map((_, column) => {
    let width = 0;
    for (const line of lines) width = Math.max(width, measureCell(line[column]));
    return width + COLUMN_PADDING;
  });
  let text = '';
  for (let start = 0; start < lines.length; start += LINES_PER_TABLE) {
    text += drawTable(lines.slice(start, start + LINES_PER_TABLE), widths);
  }
  return text;
}
