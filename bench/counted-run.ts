/** One command run for the bench: wall time, the bytes it wrote to stdout (counted, not kept) and its peak RSS. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** What a counted run gives; ms is null when it was stopped at its timeout, rssMb when GNU time is missing. */
export interface CountedRun {
  ms: number | null;
  rssMb: number | null;
  bytes: number;
  code: number | null;
  /** The last 4 KB of its stderr, without GNU time's line. */
  stderr: string;
}

/** Runs argv (under /usr/bin/time for the peak RSS when it exists) with stdout into a byte counter. */
export function countedRun(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CountedRun> {
  const timed = existsSync('/usr/bin/time');
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
    const child = timed
      ? spawn('/usr/bin/time', ['-f', 'maxrss-kb %M', ...argv], { env: options.env, stdio })
      : spawn(argv[0], argv.slice(1), { env: options.env, stdio });
    let bytes = 0;
    let stderr = '';
    let isTimedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            isTimedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      const rss = /maxrss-kb (\d+)\s*$/.exec(stderr);
      resolve({
        ms: isTimedOut ? null : ms,
        rssMb: rss ? Number(rss[1]) / 1024 : null,
        bytes,
        code,
        stderr: rss ? stderr.slice(0, rss.index).trim() : stderr.trim(),
      });
    });
  });
}
