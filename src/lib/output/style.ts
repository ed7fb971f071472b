/** What every command's rendering shares, without a YAML writer (a table needs none): the output formats, colour. */

/** Values of `-o/--output`. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
/** One of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Whether to colour what goes to a stream: only a TTY, and never when NO_COLOR is set (no-color.org). */
export function isColorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/** ANSI styles used by the renderers. */
type Color = 'red' | 'green' | 'yellow' | 'bold';

const ANSI: Record<Color, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22] };

/** Wraps text in an ANSI style when enabled, else returns it unchanged. */
export function paint(text: string, color: Color, enabled: boolean): string {
  if (!enabled || text === '') return text;
  const [open, close] = ANSI[color];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}
