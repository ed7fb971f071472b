/** Tables in kubectl's look: no borders, UPPERCASE headers, columns separated by three spaces. */

/** kubectl's printers pad columns with a tabwriter of padding 3. */
const COLUMN_GAP = '   ';

/** How to draw one table. */
export interface TableOptions {
  /** Leave out the header row (`--no-headers`). */
  noHeaders?: boolean;
  /** Styles a cell's text (after its width is measured); used for colour on a TTY. */
  style?: (column: number, text: string) => string;
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
  const lines = opts.noHeaders ? [...rows] : [headers.map((header) => header.toUpperCase()), ...rows];
  const widths = headers.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? '').length)));
  const last = headers.length - 1;
  const format = (line: readonly string[], isHeader: boolean): string =>
    line
      .map((cell, column) => {
        const text = cell ?? '';
        const styled = opts.style && !isHeader ? opts.style(column, text) : text;
        return column === last ? styled : styled + ' '.repeat(widths[column] - text.length);
      })
      .join(COLUMN_GAP)
      .trimEnd();
  return lines.map((line, index) => format(line, index === 0 && !opts.noHeaders)).join('\n') + '\n';
}
