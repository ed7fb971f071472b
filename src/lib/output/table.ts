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
interface TableOptions {
  /** Leave out the header row (`--no-headers`). */
  noHeaders?: boolean;
  /** Styles a cell's text before it is measured (ANSI codes take no width); used for colour on a TTY. */
  style?: (column: number, text: string) => string;
}

/** An ANSI SGR code (colour, bold): it takes no room on the terminal. */
// eslint-disable-next-line no-control-regex -- an ANSI code starts with ESC
const SGR_CODE = /\u001b\[[\d;]*m/g;

/** The ANSI SGR codes ending a line. */
const TRAILING_CODES = new RegExp(`(?:${SGR_CODE.source})+$`);

/** Printable ASCII: one terminal column per character. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The width of a cell showing printable ASCII only, colour codes aside; undefined for any other cell. */
function plainWidth(text: string): number | undefined {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  if (!text.includes('\u001b')) return undefined;
  const shown = text.replace(SGR_CODE, '');
  return PRINTABLE_ASCII.test(shown) ? shown.length : undefined;
}

/** A cell's width in terminal columns, as cli-table3 measures it: wide characters count 2, ANSI codes 0. */
function measureCell(text: string): number {
  return Math.max(...text.split('\n').map((line) => stringWidth(line)));
}

/** A drawn line without trailing blanks, keeping the colour codes that close it. */
function trimLine(line: string): string {
  let shown = line.trimEnd();
  let codes = '';
  while (shown.endsWith('m')) {
    const match = TRAILING_CODES.exec(shown);
    if (!match) break;
    codes = match[0] + codes;
    shown = shown.slice(0, match.index).trimEnd();
  }
  return shown + codes;
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

/** The lines to draw, each cell's width (-1 where it is not plain) and each column's, padding included. */
interface Layout {
  lines: readonly (readonly string[])[];
  cellWidths: Int32Array;
  widths: number[];
}

/**
 * Pads lines of plain cells to their columns' widths: the bytes cli-table3 draws for them, without its
 * cost per cell (20,000 rows of 5 cells: seconds through cli-table3, a tenth of a second padded).
 */
function padPlain(layout: Layout, start: number, end: number): string {
  const { lines, cellWidths, widths } = layout;
  let text = '';
  for (let index = start; index < end; index++) {
    let line = '';
    for (let column = 0; column < widths.length; column++) {
      const padding = widths[column] - cellWidths[index * widths.length + column];
      line += (lines[index][column] ?? '') + ' '.repeat(padding);
    }
    text += trimLine(line) + '\n';
  }
  return text;
}

/** Styles the cells and measures them all once, so that every chunk of lines gets the same column widths. */
function measureLines(headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions): Layout {
  const { style } = opts;
  const cells = style ? rows.map((row) => headers.map((_, column) => style(column, row[column] ?? ''))) : rows;
  const lines = opts.noHeaders ? cells : [headers.map((header) => header.toUpperCase()), ...cells];
  const cellWidths = new Int32Array(lines.length * headers.length);
  const widths = headers.map(() => 0);
  lines.forEach((line, index) => {
    headers.forEach((_, column) => {
      const text = line[column] ?? '';
      const plain = plainWidth(text);
      cellWidths[index * headers.length + column] = plain ?? -1;
      widths[column] = Math.max(widths[column], plain ?? measureCell(text));
    });
  });
  return { lines, cellWidths, widths: widths.map((width) => width + COLUMN_PADDING) };
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
  const layout = measureLines(headers, rows, opts);
  const { lines, cellWidths } = layout;
  let text = '';
  for (let start = 0; start < lines.length; start += LINES_PER_TABLE) {
    const end = Math.min(start + LINES_PER_TABLE, lines.length);
    const isPlain = !cellWidths.subarray(start * headers.length, end * headers.length).includes(-1);
    text += isPlain
      ? padPlain(layout, start, end)
      : drawTable(
          lines.slice(start, end).map((line) => headers.map((_, column) => line[column] ?? '')),
          layout.widths,
        );
  }
  return text;
}
