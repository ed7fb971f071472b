/**
 * Start-up time of the built CLI (`node bin/run.js`, the file kubectl execs for `kubectl netpol`),
 * beside `kubectl version --client` and a bare `node -e 0`, and a check that neither `--help` nor a
 * `-f` who-can loads @kubernetes/client-node (only the live loader may, lazily).
 *
 * Timing runs carry no instrumentation: each is one spawn, wall time from spawn to exit. The
 * client-node check is a separate run of each command with a preload (`--import`) that registers a
 * module `load` hook (every ESM module and every CommonJS module imported from ESM passes through
 * it) and, at exit, scans the CommonJS cache (modules reached by `require()` alone); both append the
 * loaded files to a log that is read afterwards.
 *
 * `node .cache/bench/bench/startup.js [--runs 10] [--json]` runs it alone; `npm run bench` runs it
 * before the sizes (`--no-startup` to skip).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface Timing {
  /** Median of the samples (mean of the two middle ones for an even count). */
  medianMs: number;
  /** Nearest-rank 90th percentile. */
  p90Ms: number;
  samplesMs: number[];
  /**
   * Median CPU time (user + system) of the process and its children, from the parent's
   * /proc/self/stat (Linux; 10 ms ticks), null elsewhere. Less inflated than wall time when other
   * work shares the machine.
   */
  cpuMedianMs: number | null;
}

export interface StartupCommand extends Timing {
  name: string;
  /** Arguments after `node bin/run.js`. */
  argv: string[];
  exitCode: number | null;
  clientNodeLoaded: boolean;
  /** Files loaded in the checking run (ESM and CommonJS, node: builtins excluded). */
  modulesLoaded: number;
  /** Distinct node_modules packages among them. */
  packages: string[];
}

export interface StartupResult {
  runs: number;
  warmup: number;
  node: string;
  commands: StartupCommand[];
  /** `node -e 0`: the floor every Node CLI pays. */
  nodeBaseline: Timing;
  /** `kubectl version --client`, or null when no kubectl is found (see kubectlNote). */
  kubectl: (Timing & { path: string; version: string }) | null;
  kubectlNote?: string;
  /** The medians issue 19's targets compare (wall ms): `--help`, the `-f` who-can and kubectl's. */
  helpMs: number;
  whoCanFileMs: number;
  /** null when no kubectl was found. */
  kubectlVersionMs: number | null;
}

export interface LoadCheck {
  clientNodeLoaded: boolean;
  /** file: URLs and paths of everything loaded, in load order (CommonJS-only ones last). */
  modules: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const CLIENT_NODE = /[\\/]node_modules[\\/]@kubernetes[\\/]client-node[\\/]/;
const LOG_ENV = 'KUBECTL_NETPOL_BENCH_MODULE_LOG';

// The hooks run on Node's loader thread (Node 20: module.register); they see the same environment.
const HOOKS_SOURCE = `import { appendFileSync } from 'node:fs';
const log = process.env.${LOG_ENV};
export async function load(url, context, nextLoad) {
  if (log && !url.startsWith('node:')) appendFileSync(log, url + '\\n');
  return nextLoad(url, context);
}
`;
const PRELOAD_SOURCE = `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url));
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const log = process.env.${LOG_ENV};
  const files = Object.keys(cache);
  if (log && files.length > 0) appendFileSync(log, files.map((f) => 'cjs:' + f).join('\\n') + '\\n');
});
`;

/** The repository root: the nearest directory above `from` that holds bin/run.js and package.json. */
export function findRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'run.js')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no bin/run.js above ${from}`);
  }
}

/**
 * Runs `node ...args` once with the module-recording preload and reports what it loaded. The
 * command's own NODE_OPTIONS are kept (the preload is added to them).
 */
export function checkLoads(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): LoadCheck {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-netpol-startup-'));
  try {
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS_SOURCE);
    writeFileSync(join(dir, 'preload.mjs'), PRELOAD_SOURCE);
    const log = join(dir, 'modules.log');
    writeFileSync(log, '');
    const env = options.env ?? process.env;
    const preload = `--import=${pathToFileURL(join(dir, 'preload.mjs')).href}`;
    const child = spawnSync(process.execPath, args, {
      cwd: options.cwd,
      env: { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, preload].filter(Boolean).join(' '), [LOG_ENV]: log },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.error) throw child.error;
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    // The same file may be recorded by both the hook (as a URL) and the CommonJS cache (as a path).
    const seen = new Set<string>();
    const modules: string[] = [];
    for (const line of lines) {
      const path = line.startsWith('cjs:') ? line.slice(4) : line.startsWith('file:') ? fileURLToPath(line) : line;
      if (seen.has(path)) continue;
      seen.add(path);
      modules.push(line.startsWith('cjs:') ? path : line);
    }
    // Our own preload and hooks are not the command's.
    const own = (m: string) => m.includes(dir);
    const loaded = modules.filter((m) => !own(m));
    return {
      clientNodeLoaded: loaded.some((m) => CLIENT_NODE.test(m)),
      modules: loaded,
      exitCode: child.status,
      stdout: child.stdout,
      stderr: child.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Distinct package names (`@scope/name` or `name`) under node_modules among the loaded files. */
export function packagesOf(modules: string[]): string[] {
  const names = new Set<string>();
  for (const m of modules) {
    const path = m.startsWith('file:') ? fileURLToPath(m) : m;
    const match = /.*[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(path);
    if (match) names.add(match[1].replace(/\\/g, '/'));
  }
  return [...names].sort();
}

const round = (v: number) => Math.round(v * 10) / 10;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

export function summarize(samples: number[], cpuSamples: number[] | null = null): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const p90Ms = sorted.length === 0 ? NaN : sorted[Math.ceil(0.9 * sorted.length) - 1];
  return {
    medianMs: round(median(samples)),
    p90Ms: round(p90Ms),
    samplesMs: samples.map(round),
    cpuMedianMs: cpuSamples ? round(median(cpuSamples)) : null,
  };
}

let clockTicks: number | undefined;

/** CPU ms (user + system) of the waited-for children so far, or null without /proc. */
function childrenCpuMs(): number | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces): state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (clockTicks === undefined) {
    const getconf = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(getconf.stdout?.trim()) || 100;
  }
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks;
}

export interface Subject {
  file: string;
  args: string[];
  cwd?: string;
}

/**
 * Wall time of each subject, spawn to exit, output discarded: `warmup` discarded rounds, then `runs`
 * rounds. A round runs every subject once, so a change in the machine's load (shared machines) falls
 * on all of them alike rather than on whichever ran during it.
 */
export function timeInterleaved(subjects: Subject[], runs: number, warmup: number): Timing[] {
  const samples = subjects.map((): number[] => []);
  const cpu = subjects.map((): number[] => []);
  let cpuKnown = childrenCpuMs() !== null;
  for (let round = 0; round < warmup + runs; round++) {
    subjects.forEach((s, i) => {
      const cpuBefore = childrenCpuMs();
      const start = performance.now();
      const child = spawnSync(s.file, s.args, { cwd: s.cwd, stdio: 'ignore' });
      const elapsed = performance.now() - start;
      const cpuAfter = childrenCpuMs();
      if (cpuBefore === null || cpuAfter === null) cpuKnown = false;
      else if (round >= warmup) cpu[i].push(cpuAfter - cpuBefore);
      if (child.error) throw child.error;
      if (child.status !== 0) throw new Error(`${s.file} ${s.args.join(' ')} exited ${child.status ?? child.signal}`);
      if (round >= warmup) samples[i].push(elapsed);
    });
  }
  return samples.map((x, i) => summarize(x, cpuKnown ? cpu[i] : null));
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * `$KUBECTL` if set, else `kubectl` on PATH, else the one test/e2e/control-plane/build.sh caches
 * (`WITH_KUBECTL=1`); null if none exists. Never builds one.
 */
export function findKubectl(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.KUBECTL) return isExecutable(env.KUBECTL) ? env.KUBECTL : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir || '.', 'kubectl');
    if (isExecutable(candidate)) return candidate;
  }
  const cacheRoot = env.KUBECTL_NETPOL_CACHE ?? join(homedir(), '.cache', 'kubectl-netpol');
  const cached = join(cacheRoot, env.K8S_VERSION ?? 'v1.35.4', 'bin', 'kubectl');
  return isExecutable(cached) ? cached : null;
}

function isExecutable(path: string): boolean {
  try {
    return statSync(path).isFile() && (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The commands timed, as arguments after `node bin/run.js` (paths relative to the repo root). */
export const COMMANDS: { name: string; argv: string[] }[] = [
  { name: '--help', argv: ['--help'] },
  { name: 'who-can -f', argv: ['who-can', 'backend', '-n', 'tenant-a', '--port', '80', '-f', 'examples/seed'] },
];

export function measureStartup(
  options: { runs?: number; warmup?: number; root?: string } = {},
  progress: (line: string) => void = () => {},
): StartupResult {
  const runs = options.runs ?? 10;
  const warmup = options.warmup ?? 1;
  const root = options.root ?? findRoot();
  const bin = join(root, 'bin', 'run.js');
  if (!existsSync(join(root, 'dist', 'commands'))) {
    throw new Error(`${root}/dist is not built: run \`npm run build\` first (or pass --no-startup)`);
  }
  const stale = newestMtime(join(root, 'src')) > newestMtime(join(root, 'dist'));
  if (stale) progress('start-up: warning: src/ has changes newer than dist/; `npm run build` to time them');
  const kubectlPath = findKubectl();
  const subjects: Subject[] = [
    ...COMMANDS.map((c) => ({ file: process.execPath, args: [bin, ...c.argv], cwd: root })),
    { file: process.execPath, args: ['-e', '0'] },
    ...(kubectlPath ? [{ file: kubectlPath, args: ['version', '--client'] }] : []),
  ];
  progress(
    `start-up: ${warmup} warm-up + ${runs} rounds of ${subjects.map((s) => [s.file, ...s.args].join(' ')).join(' | ')}`,
  );
  const timings = timeInterleaved(subjects, runs, warmup);
  const commands: StartupCommand[] = COMMANDS.map((c, i) => {
    progress(`start-up: load check of node bin/run.js ${c.argv.join(' ')}`);
    const check = checkLoads([bin, ...c.argv], { cwd: root });
    return {
      name: c.name,
      argv: c.argv,
      ...timings[i],
      exitCode: check.exitCode,
      clientNodeLoaded: check.clientNodeLoaded,
      modulesLoaded: check.modules.length,
      packages: packagesOf(check.modules),
    };
  });
  const nodeBaseline = timings[COMMANDS.length];
  let kubectl: StartupResult['kubectl'] = null;
  let kubectlNote: string | undefined;
  if (kubectlPath) {
    const version = spawnSync(kubectlPath, ['version', '--client'], { encoding: 'utf8' });
    kubectl = {
      path: kubectlPath,
      version: /Client Version: (\S+)/.exec(version.stdout ?? '')?.[1] ?? 'unknown',
      ...timings[COMMANDS.length + 1],
    };
  } else {
    kubectlNote = process.env.KUBECTL
      ? `KUBECTL=${process.env.KUBECTL} is not an executable file`
      : 'no kubectl on PATH or in ~/.cache/kubectl-netpol/v1.35.4/bin (WITH_KUBECTL=1 test/e2e/control-plane/build.sh builds one)';
  }
  return {
    runs,
    warmup,
    node: process.version,
    commands,
    nodeBaseline,
    kubectl,
    kubectlNote,
    // COMMANDS order: --help, then the -f who-can.
    helpMs: commands[0].medianMs,
    whoCanFileMs: commands[1].medianMs,
    kubectlVersionMs: kubectl?.medianMs ?? null,
  };
}

/** How many times kubectl's start-up a median is, as `1.62x`, or '-' without kubectl. */
function timesKubectl(medianMs: number, s: StartupResult): string {
  return s.kubectlVersionMs ? `${(medianMs / s.kubectlVersionMs).toFixed(2)}x` : '-';
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(0));

/** The table section: one row per command, then node and kubectl for scale. */
export function formatStartup(s: StartupResult): string {
  const header = ['START-UP', 'MEDIAN MS', 'P90 MS', 'CPU MS', 'CLIENT-NODE LOADED', 'MODULES'];
  const cpu = (t: Timing) => (t.cpuMedianMs === null ? '-' : ms(t.cpuMedianMs));
  const rows = [
    ...s.commands.map((c) => [
      `kubectl netpol ${c.argv.join(' ')}`,
      ms(c.medianMs),
      ms(c.p90Ms),
      cpu(c),
      c.clientNodeLoaded ? 'YES' : 'no',
      String(c.modulesLoaded),
    ]),
    ['node -e 0', ms(s.nodeBaseline.medianMs), ms(s.nodeBaseline.p90Ms), cpu(s.nodeBaseline), '-', '-'],
    s.kubectl
      ? [
          `kubectl version --client (${s.kubectl.version})`,
          ms(s.kubectl.medianMs),
          ms(s.kubectl.p90Ms),
          cpu(s.kubectl),
          '-',
          '-',
        ]
      : ['kubectl version --client', '-', '-', '-', '-', '-'],
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('   ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  out.push(
    `(${s.runs} interleaved rounds after ${s.warmup} warm-up, wall time from spawn to exit; CPU MS: median user + system time; node ${s.node})`,
  );
  if (s.kubectlNote) out.push(`kubectl: ${s.kubectlNote}`);
  // Saved runs from before these fields existed have no helpMs: the table alone then.
  if (s.helpMs !== undefined) {
    out.push(
      `median wall time over kubectl version --client: --help ${timesKubectl(s.helpMs, s)} (target 1.5x), who-can -f ${timesKubectl(s.whoCanFileMs, s)} (target 2x)`,
    );
  }
  return `${out.join('\n')}\n`;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { runs: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: not a positive integer: ${values.runs}`);
  const result = measureStartup({ runs }, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(values.json ? `${JSON.stringify({ startup: result })}\n` : formatStartup(result));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench startup: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
