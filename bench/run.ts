/**
 * `npm run bench`: per size, the generator writes manifests to a temp directory, then a child process
 * measures load, build, who-can p50/p99, the one-port and all-ports matrices, peak RSS and, up to
 * --peer-max-pods, netpol-analyzer on the same files. Before the sizes, unless --no-startup, the
 * start-up time of the built CLI (bench/startup.ts). A table by default; with --json the last thing
 * on stdout is one JSON document {"sizes":[...],"startup":{...}}. Progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import type { PeerDiffResult, SizeResult } from './measure.js';
import { measureDocument, measureSize } from './measure.js';
import type { LiveResult } from './live.js';
import { formatLive, measureLive } from './live.js';
import type { StartupResult } from './startup.js';
import { formatStartup, measureStartup } from './startup.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const USAGE = `usage: npm run bench -- [--sizes 1000,10000,50000] [--seed N] [--json] [--no-peer]
       [--peer-max-pods 10000] [--peer-timeout-s 1800] [--budget-s 120] [--samples 200]
       [--no-startup] [--startup-runs 10] [--tiers 30] [--no-json-all] [--json-all-timeout-s 900] [--no-diff]
       [--live [--live-pods 10000] [--live-runs 3]]   (--sizes '' for the live path alone)
       node .cache/bench/bench/run.js --table SAVED.json   (a saved --json run as the table)`;

interface Options {
  sizes: number[];
  seed: number;
  json: boolean;
  peer: boolean;
  peerMaxPods: number;
  peerTimeoutMs: number;
  budgetMs: number;
  samples: number;
  startup: boolean;
  startupRuns: number;
  /** Time `who-can -A -o json` (pairs and --group-by workload) through the CLI, each up to this long. */
  jsonAll: boolean;
  /** diff per size (false: `--no-diff`). */
  diff: boolean;
  jsonAllTimeoutMs: number;
  /** Cluster tier policies added to each generated cluster (0: none; the peer does not read them, so it is not run). */
  tiers: number;
  /** The live path against a real kube-apiserver (bench/live.ts): pods loaded, runs timed. */
  live?: { pods: number; runs: number };
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1000,10000,50000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      'no-peer': { type: 'boolean', default: false },
      'peer-max-pods': { type: 'string', default: '10000' },
      'peer-timeout-s': { type: 'string', default: '1800' },
      'budget-s': { type: 'string', default: '120' },
      samples: { type: 'string', default: '200' },
      startup: { type: 'boolean', default: true },
      'no-startup': { type: 'boolean', default: false },
      'startup-runs': { type: 'string', default: '10' },
      tiers: { type: 'string', default: '0' },
      live: { type: 'boolean', default: false },
      'live-pods': { type: 'string', default: '10000' },
      'live-runs': { type: 'string', default: '3' },
      'no-json-all': { type: 'boolean', default: false },
      'no-diff': { type: 'boolean', default: false },
      'json-all-timeout-s': { type: 'string', default: '900' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${text}\n${USAGE}`);
    return n;
  };
  return {
    sizes: values.sizes
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => num('sizes', s.trim())),
    seed: num('seed', values.seed),
    json: values.json,
    peer: !values['no-peer'],
    peerMaxPods: num('peer-max-pods', values['peer-max-pods']),
    peerTimeoutMs: num('peer-timeout-s', values['peer-timeout-s']) * 1000,
    budgetMs: num('budget-s', values['budget-s']) * 1000,
    samples: num('samples', values.samples),
    startup: values.startup && !values['no-startup'],
    startupRuns: Math.max(1, Math.round(num('startup-runs', values['startup-runs']))),
    tiers: Math.round(num('tiers', values.tiers)),
    live: values.live
      ? {
          pods: Math.round(num('live-pods', values['live-pods'])),
          runs: Math.max(1, Math.round(num('live-runs', values['live-runs']))),
        }
      : undefined,
    jsonAll: !values['no-json-all'],
    diff: !values['no-diff'],
    jsonAllTimeoutMs: num('json-all-timeout-s', values['json-all-timeout-s']) * 1000,
  };
}

/** Runs a node script and returns the last line of its stdout; stderr passes through. */
function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0) resolve(last);
      else reject(new Error(`${args[0]} exited ${code}: ${last}`));
    });
  });
}

const ms = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(0);

function matrixCell(value: number | null, over?: SizeResult['matrixOnePortOverBudget']): string {
  if (over) return `> ${(over.budgetMs / 1000).toFixed(0)} s (~${(over.estimateMs / 1000).toFixed(0)} s)`;
  return ms(value);
}

/** The default view: one row per size, then the peer comparison. */
export function formatTable(sizes: SizeResult[]): string {
  const header = [
    'PODS',
    'POLICIES',
    'LOAD MS',
    'BUILD MS',
    'WHO-CAN P50',
    'WHO-CAN P99',
    'REACHABLE-FROM P50',
    'REACHABLE-FROM P99',
    'MATRIX 80/TCP MS',
    'MATRIX ALL PORTS MS',
    'DIFF MS',
    'PEAK RSS MB',
    'PEER MS',
    'PEER / OURS',
    'PEER DIFF MS',
    'PEER DIFF / OURS',
  ];
  const rows = sizes.map((s) => [
    String(s.pods),
    String(s.policies),
    ms(s.loadMs),
    ms(s.buildMs),
    ms(s.whoCanGroupsP50Ms ?? s.whoCanP50Ms),
    // A run saved before whoCan returned its groups: the time with them built, as whoCan's is now.
    ms(s.whoCanGroupsP99Ms ?? s.whoCanP99Ms),
    ms(s.reachableFromP50Ms),
    ms(s.reachableFromP99Ms),
    matrixCell(s.matrixOnePortMs, s.matrixOnePortOverBudget),
    matrixCell(s.matrixAllPortsMs, s.matrixAllPortsOverBudget),
    ms(s.diffMs),
    s.peakRssMb.toFixed(0),
    s.peer ? (s.peer.ms === null ? `- (${s.peer.note ?? ''})` : ms(s.peer.ms)) : '-',
    s.peer?.ratio ? `${s.peer.ms === null ? '> ' : s.peer.oursEstimated ? '~' : ''}${s.peer.ratio.toFixed(2)}x` : '-',
    s.peerDiff ? peerDiffCell(s.peerDiff) : '-',
    s.peerDiff?.ratio ? `${s.peerDiff.ms === null ? '> ' : ''}${s.peerDiff.ratio.toFixed(2)}x` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('   ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const s of sizes) {
    if (s.errors) out.push('', `${s.pods} pods: ${s.errors.join('; ')}`);
    const only = s.peerDiff?.policiesOnly;
    if (only) {
      const ratio = only.ratio ? ` = ${only.ms === null ? '> ' : ''}${only.ratio.toFixed(2)}x` : '';
      out.push(
        '',
        `${s.pods} pods: netpol-analyzer's diff failed on the change; on its policy changes alone (no pod relabelled): peer ${peerDiffCell(only)}, ours ${ms(only.oursMs)}${ratio}`,
      );
    }
    const d = s.peer?.differences;
    if (!d) continue;
    out.push(
      '',
      `${s.pods} pods vs netpol-analyzer (ours mapped to its workloads ns/name[Kind]): ${d.agree} agree; differences:`,
    );
    const reasons = Object.entries(d.reasons);
    if (reasons.length === 0) out.push('  none');
    for (const [name, r] of reasons) {
      out.push(`  ${String(r.count).padStart(7)}  ${name}: ${r.why}`);
      for (const e of r.examples) out.push(`           e.g. ${e}`);
    }
  }
  return `${out.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') {
    const o = JSON.parse(argv[1]) as Parameters<typeof measureSize>[0];
    const result = await measureSize(o, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (argv[0] === '--table') {
    // Re-renders a saved `--json` run as the table.
    const saved = JSON.parse(readFileSync(argv[1], 'utf8').trim().split('\n').pop()!) as {
      sizes: SizeResult[];
      startup?: StartupResult;
    };
    process.stdout.write(formatTable(saved.sizes));
    if (saved.startup) process.stdout.write(`\n${formatStartup(saved.startup)}`);
    return;
  }
  const options = parseOptions(argv);
  // First: it takes seconds, and fails early when dist/ is not built.
  const startup = options.startup
    ? measureStartup({ runs: options.startupRuns }, (line) => process.stderr.write(`${line}\n`))
    : undefined;
  const sizes: SizeResult[] = [];
  for (const pods of options.sizes) {
    const dir = mkdtempSync(join(tmpdir(), `kubectl-netpol-bench-${pods}-`));
    try {
      process.stderr.write(`${pods} pods: generating (seed ${options.seed}) into ${dir}\n`);
      const generated = JSON.parse(
        await runNode([
          join(HERE, 'generate.js'),
          '--pods',
          String(pods),
          '--seed',
          String(options.seed),
          '--out',
          dir,
          '--tiers',
          String(options.tiers),
        ]),
      ) as { bytes: number };
      const child = {
        dir,
        pods,
        seed: options.seed,
        budgetMs: options.budgetMs,
        samples: options.samples,
        peer: options.peer && pods <= options.peerMaxPods && options.tiers === 0,
        peerTimeoutMs: options.peerTimeoutMs,
        diff: options.diff,
      };
      const result = JSON.parse(
        await runNode(['--max-old-space-size=16384', join(HERE, 'run.js'), '--child', JSON.stringify(child)]),
      ) as SizeResult;
      result.manifestBytes = generated.bytes;
      if (options.jsonAll) {
        // The CLI in a process of its own, after the measuring child has exited.
        for (const [name, extra] of [
          ['jsonAll', []],
          ['jsonGrouped', ['--group-by', 'workload']],
        ] as const) {
          process.stderr.write(`${pods} pods: who-can -A -o json ${extra.join(' ')}\n`);
          const run = await measureDocument(dir, [...extra], options.jsonAllTimeoutMs);
          Object.assign(result, { [`${name}Ms`]: run.ms, [`${name}RssMb`]: run.rssMb, [`${name}Bytes`]: run.bytes });
        }
      }
      sizes.push(result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Last: it starts its own control plane and loads the cluster through the API.
  let live: LiveResult | undefined;
  if (options.live) {
    live = await measureLive({ pods: options.live.pods, seed: options.seed, runs: options.live.runs }, (line) =>
      process.stderr.write(`${line}\n`),
    );
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ sizes, startup, live })}\n`);
  else {
    if (sizes.length > 0) process.stdout.write(formatTable(sizes));
    if (startup) process.stdout.write(`\n${formatStartup(startup)}`);
    if (live) process.stdout.write(`\n${formatLive(live)}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}

/** The peer's diff time; when it ended without an answer (no CSV: it failed), that, and why. */
function peerDiffCell(d: PeerDiffResult): string {
  if (d.ms === null) return `- (${d.note ?? ''})`;
  if (d.ratio === null) return `failed after ${ms(d.ms)} (${d.note ?? ''})`;
  return ms(d.ms);
}
