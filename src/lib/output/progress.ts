/**
 * A progress line on stderr while the cluster is listed: nothing for the first half second (most
 * loads are done by then), then a spinner and the objects listed so far (`- listing pods 1500,
 * services 40...`), redrawn in place and erased when the load ends. Only on a terminal (stderr is a
 * TTY that understands erasing, TERM is not `dumb`), so pipes, files and CI logs never see it; stdout
 * is never touched, whatever the output format. No colour, so NO_COLOR has nothing to turn off.
 */

/** Where the line goes: process.stderr, or a fake terminal in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Receives list pages as they arrive; `done` erases the line (and later pages are ignored). */
export interface Progress {
  /** False when nothing will ever be drawn (not a terminal): callers may skip the counting. */
  readonly isActive: boolean;
  /** One page of `resource` arrived with `count` objects. */
  onListPage(resource: string, count: number): void;
  done(): void;
}

/** When to draw: after `delayMs` (default 500), every `intervalMs` (default 100). */
interface ProgressOptions {
  delayMs?: number;
  intervalMs?: number;
  env?: NodeJS.ProcessEnv;
}

const FRAMES = ['-', '\\', '|', '/'];
/** Carriage return, then erase the line (ECMA-48 EL 2). */
const ERASE = '\r\u001b[2K';

const NO_PROGRESS: Progress = { isActive: false, onListPage: () => {}, done: () => {} };

/** Whether a progress line may be drawn on the stream. */
function isProgressEnabled(stream: ProgressStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/** The text of the line: what was listed so far, resources in the order they first answered. */
export function formatProgress(counts: ReadonlyMap<string, number>, frame: number): string {
  const listed = [...counts].map(([resource, count]) => `${resource} ${count}`).join(', ');
  return `${FRAMES[frame % FRAMES.length]} listing${listed === '' ? '' : ` ${listed}`}...`;
}

/** Starts a progress line on `stream` (a no-op unless it is a terminal). */
export function startProgress(stream: ProgressStream, opts: ProgressOptions = {}): Progress {
  if (!isProgressEnabled(stream, opts.env)) return NO_PROGRESS;
  const counts = new Map<string, number>();
  let frame = 0;
  let isDrawn = false;
  let isDone = false;
  let interval: NodeJS.Timeout | undefined;
  const draw = () => {
    const width = Math.max((stream.columns ?? 80) - 1, 10);
    // Never wider than the terminal: a wrapped line could not be erased with one \r.
    stream.write(ERASE + formatProgress(counts, frame++).slice(0, width));
    isDrawn = true;
  };
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, opts.intervalMs ?? 100);
    interval.unref();
  }, opts.delayMs ?? 500);
  delay.unref();
  return {
    isActive: true,
    onListPage(resource, count) {
      if (!isDone) counts.set(resource, (counts.get(resource) ?? 0) + count);
    },
    done() {
      if (isDone) return;
      isDone = true;
      clearTimeout(delay);
      clearInterval(interval);
      if (isDrawn) stream.write(ERASE);
    },
  };
}
