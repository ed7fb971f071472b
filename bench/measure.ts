/**
 * One size of the benchmark, run in its own process so peak RSS is this size's alone: load the
 * manifests the generator wrote, build, who-can on sampled targets, reachable-from on sampled sources, the one-port and all-ports
 * matrices, then (outside the timings and the RSS figure) netpol-analyzer on the same files.
 * Uses only the engine's public functions (compileWorld, whoCan, reachableFrom, reachabilityMatrix).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { loadManifests } from '../src/lib/cluster/files.js';
import { compileWorld } from '../src/lib/engine/compile.js';
import type { ClusterSnapshot, PodRef, PortQuery } from '../src/lib/engine/model.js';
import { reachableFrom } from '../src/lib/engine/reachable-from.js';
import { reachabilityMatrix, whoCan } from '../src/lib/engine/who-can.js';
import type { Expectation } from '../src/lib/expectations.js';
import { checkExpectations, runAudit } from '../src/lib/services/audit.js';
import { planDiff } from '../src/lib/services/diff.js';
import { parseSourceSpec } from '../src/lib/target-spec.js';
import type { PeerDifferences } from './compare-peer.js';
import { countedRun } from './counted-run.js';
import { comparePeer, ensurePeer, runPeer, runPeerDiff } from './compare-peer.js';
import { changeCluster, Rng, writeManifests } from './generate.js';
import { findRoot } from './startup.js';

/** What to measure. */
export interface MeasureOptions {
  dir: string;
  pods: number;
  seed: number;
  /** Per matrix: stop after this long and report "> budget". */
  budgetMs: number;
  /** Who-can samples. */
  samples: number;
  peer: boolean;
  peerTimeoutMs: number;
  /** Measure diff (and the peer's diff); false with `--no-diff` (at 50k and more it takes minutes). */
  diff?: boolean;
}

/** A matrix that ran out of budget: how far it got and where the pace would have ended. */
export interface OverBudget {
  budgetMs: number;
  doneTargets: number;
  totalTargets: number;
  estimateMs: number;
}

/** The peer's side of one size. */
export interface PeerResult {
  name: 'netpol-analyzer';
  version: string;
  /** Wall time of `netpolicy list` (null when it did not finish). */
  ms: number | null;
  /** Ours on the comparable work: load + build + all-ports matrix. */
  oursMs: number | null;
  /** True when the all-ports matrix ran out of budget and oursMs uses its estimate. */
  oursEstimated?: boolean;
  /** ms / oursMs: how many times faster we are. */
  ratio: number | null;
  connections?: number;
  differences?: PeerDifferences;
  note?: string;
}

/** The peer's diff of one size. */
export interface PeerDiffResult {
  /** Wall time (null when it did not finish). */
  ms: number | null;
  /** Ours on the same work: load both directories, build both worlds, compare. */
  oursMs: number;
  /** ms / oursMs (with ms null: the timeout / oursMs, a lower bound). */
  ratio: number | null;
  /** Lines of its CSV: changed connections, per workload pair or address range. */
  connections?: number;
  note?: string;
  /**
   * When it failed on the change (it crashes on pods of one owner with different labels, which the
   * relabelled pods are): both again on the same policy changes with no pod relabelled.
   */
  policiesOnly?: PeerDiffResult;
}

/** The numbers of one size (the JSON document's `sizes[]` entry). */
export interface SizeResult {
  pods: number;
  policies: number;
  namespaces: number;
  manifestBytes?: number;
  loadMs: number;
  buildMs: number;
  whoCanP50Ms: number;
  whoCanP99Ms: number;
  /** Runs saved before whoCan returned its groups: the time with them built (what a table reads). */
  whoCanGroupsP50Ms?: number;
  whoCanGroupsP99Ms?: number;
  /** One reachableFrom per sampled source (runs saved before reachable-from existed lack it). */
  reachableFromP50Ms?: number;
  reachableFromP99Ms?: number;
  matrixOnePortMs: number | null;
  matrixOnePortPairs: number | null;
  matrixOnePortOverBudget?: OverBudget;
  matrixAllPortsMs: number | null;
  matrixAllPortsPairs: number | null;
  matrixAllPortsOverBudget?: OverBudget;
  /** diff: planDiff of the cluster against changeCluster's (both worlds built and compared; runs saved before lack it). */
  diffMs?: number;
  /** The same with both directories loaded from YAML first (what the peer's diff does). */
  diffWithLoadMs?: number;
  /** Pod pairs (and pods with addresses) the diff opens and cuts, and its groups (rows). */
  diffOpened?: number;
  diffCut?: number;
  diffGroups?: number;
  /** `netpolicy diff --dir1 --dir2` on the same two directories. */
  peerDiff?: PeerDiffResult | null;
  /** `audit -A` on the snapshot (compile included), and 1,000 pod-to-pod expectations on 80/TCP after the build. */
  auditMs?: number;
  auditFindings?: number;
  expectations1000Ms?: number;
  peakRssMb: number;
  /** `who-can -A -o json -f DIR` through the CLI (bin/run.js), stdout counted and dropped: wall time, peak RSS, bytes (runs saved before lack it). */
  jsonAllMs?: number | null;
  jsonAllRssMb?: number | null;
  jsonAllBytes?: number;
  /** The same with `--group-by workload`. */
  jsonGroupedMs?: number | null;
  jsonGroupedRssMb?: number | null;
  jsonGroupedBytes?: number;
  peer: PeerResult | null;
  errors?: string[];
}

const ONE_PORT: PortQuery = { port: 80, protocol: 'TCP' };

/** One run of the CLI's whole-cluster document: wall time (null past the timeout), peak RSS, bytes written. */
export interface DocumentRun {
  ms: number | null;
  rssMb: number | null;
  bytes: number;
}

/**
 * Runs `node bin/run.js who-can -A -o json -f DIR [extra]` as a user would, its stdout read and
 * dropped (counted), under /usr/bin/time for the peak RSS when it is there (else rssMb is null).
 * Past `timeoutMs` the process is killed: ms is null, bytes what it had written.
 */
export async function measureDocument(dir: string, extra: string[], timeoutMs: number): Promise<DocumentRun> {
  const cli = join(findRoot(), 'bin', 'run.js');
  const argv = [process.execPath, cli, 'who-can', '--all-namespaces', '-o', 'json', '-f', dir, ...extra];
  const run = await countedRun(argv, { timeoutMs });
  if (run.ms !== null && run.code !== 0) throw new Error(`who-can -A -o json exited ${run.code}: ${run.stderr}`);
  return { ms: run.ms, rssMb: run.rssMb, bytes: run.bytes };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * The whole matrix for one port (or all ports): every pod as a target, counting allowed pod-to-pod
 * pairs. The engine computes it between pod classes (reachabilityMatrix), which is the point of the
 * classes; stops at the budget and estimates from the share of target classes done.
 */
function runMatrix(
  snapshot: ClusterSnapshot,
  port: PortQuery | undefined,
  budgetMs: number,
): { ms: number | null; pairs: number | null; over?: OverBudget } {
  // A fresh world per matrix, so no answer is served from an earlier query's memo.
  const world = compileWorld(snapshot);
  const numeric = port && typeof port.port === 'number' ? { port: port.port, protocol: port.protocol } : undefined;
  const start = performance.now();
  let done = 0;
  let total = 0;
  const { pairCount, complete } = reachabilityMatrix(world, numeric, {
    progress: (d, t) => {
      done = d;
      total = t;
      return d % 64 !== 0 || performance.now() - start <= budgetMs;
    },
  });
  const elapsed = performance.now() - start;
  if (complete) return { ms: elapsed, pairs: pairCount };
  return {
    ms: null,
    pairs: null,
    over: { budgetMs, doneTargets: done, totalTargets: total, estimateMs: (elapsed * total) / done },
  };
}

/** Runs one size; progress goes to `log`. */
export async function measureSize(options: MeasureOptions, log: (line: string) => void): Promise<SizeResult> {
  const errors: string[] = [];
  let t = performance.now();
  const loaded = await loadManifests([options.dir]);
  const loadMs = performance.now() - t;
  const snapshot = loaded.snapshot;
  log(`  load ${loadMs.toFixed(0)} ms (${snapshot.pods.length} pods, ${snapshot.policies.length} policies)`);

  t = performance.now();
  let world = compileWorld(snapshot);
  const buildMs = performance.now() - t;
  log(`  build ${buildMs.toFixed(0)} ms`);

  const rng = new Rng(options.seed ^ 0x5eed);
  /** Times one query per randomly drawn pod, `options.samples` times: p50 and p99. */
  const sample = (name: string, query: (pod: PodRef) => void): { p50: number; p99: number } => {
    const times: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const pod = world.pods[rng.int(0, world.pods.length - 1)].ref;
      const start = performance.now();
      query(pod);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const [p50, p99] = [percentile(times, 50), percentile(times, 99)];
    log(`  ${name} x${options.samples}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
    return { p50, p99 };
  };
  // The answer as every view reads it: one group per allowed source class (decisions when asked).
  const inbound = sample('who-can', (target) => whoCan(world, { targets: [target], port: ONE_PORT }));
  // The outbound view: what one source pod reaches (pods and address blocks) on the same port.
  const outbound = sample('reachable-from', (source) => reachableFrom(world, { sources: [source], port: ONE_PORT }));
  world = undefined as never;
  const audited = measureAudit(snapshot, options.seed, log);
  const diffed = options.diff === false ? {} : await measureDiff(options, snapshot, log);

  const result: SizeResult = {
    ...audited,
    ...diffed,
    pods: snapshot.pods.length,
    policies: snapshot.policies.length,
    namespaces: snapshot.namespaces.length,
    loadMs,
    buildMs,
    whoCanP50Ms: inbound.p50,
    whoCanP99Ms: inbound.p99,
    reachableFromP50Ms: outbound.p50,
    reachableFromP99Ms: outbound.p99,
    matrixOnePortMs: null,
    matrixOnePortPairs: null,
    matrixAllPortsMs: null,
    matrixAllPortsPairs: null,
    peakRssMb: 0,
    peer: null,
  };

  for (const [name, port] of [
    ['OnePort', ONE_PORT],
    ['AllPorts', undefined],
  ] as const) {
    try {
      const m = runMatrix(snapshot, port, options.budgetMs);
      result[`matrix${name}Ms`] = m.ms;
      result[`matrix${name}Pairs`] = m.pairs;
      if (m.over) result[`matrix${name}OverBudget`] = m.over;
      log(
        m.over
          ? `  matrix ${name}: > ${m.over.budgetMs} ms budget (${m.over.doneTargets}/${m.over.totalTargets} targets; pace says ~${(m.over.estimateMs / 1000).toFixed(0)} s)`
          : `  matrix ${name}: ${m.ms!.toFixed(0)} ms, ${m.pairs} allowed pod pairs`,
      );
    } catch (error) {
      errors.push(`matrix ${name}: ${(error as Error).message}`);
      log(`  matrix ${name} failed: ${(error as Error).message}`);
    }
  }
  result.peakRssMb = process.resourceUsage().maxRSS / 1024;
  log(`  peak RSS ${result.peakRssMb.toFixed(0)} MB`);

  if (options.peer) {
    result.peer = await measurePeer(options, snapshot, result, log);
    if (result.diffWithLoadMs !== undefined)
      result.peerDiff = await measurePeerDiff(options, result.diffWithLoadMs, log);
  }
  rmSync(changedDir(options.dir), { recursive: true, force: true });
  rmSync(policiesOnlyDir(options.dir), { recursive: true, force: true });
  if (errors.length) result.errors = errors;
  return result;
}

/** Where the changed cluster is written, beside the generated one. */
function changedDir(dir: string): string {
  return `${dir}-changed`;
}

/** Where the cluster with the policy changes alone is written (for the peer's diff). */
function policiesOnlyDir(dir: string): string {
  return `${dir}-changed-policies`;
}

/**
 * diff between the generated cluster and changeCluster's (3 policies given a rule, 3 deleted, 1% of
 * the pods relabelled), as `kubectl netpol diff --base DIR -f DIR-changed --prune` does it: built and
 * compared from the snapshots, and again from both directories' YAML (written, then timed from loading).
 */
async function measureDiff(
  options: MeasureOptions,
  snapshot: ClusterSnapshot,
  log: (line: string) => void,
): Promise<Pick<SizeResult, 'diffMs' | 'diffWithLoadMs' | 'diffOpened' | 'diffCut' | 'diffGroups'>> {
  const changed = changeCluster(snapshot, options.seed);
  await writeManifests(changed, changedDir(options.dir));
  const request = { deletes: [], prune: true };
  let t = performance.now();
  const result = planDiff(snapshot, changed, request);
  const diffMs = performance.now() - t;
  const count = (groups: { count: number }[]) => groups.reduce((sum, g) => sum + g.count, 0);
  const [diffOpened, diffCut] = [count(result.opened), count(result.cut)];
  const diffGroups = result.opened.length + result.cut.length;
  log(`  diff ${diffMs.toFixed(0)} ms: ${diffOpened} connections opened, ${diffCut} cut, ${diffGroups} groups`);
  t = performance.now();
  const [base, files] = await Promise.all([loadManifests([options.dir]), loadManifests([changedDir(options.dir)])]);
  planDiff(base.snapshot, files.snapshot, request);
  const diffWithLoadMs = performance.now() - t;
  log(`  diff with both directories loaded ${diffWithLoadMs.toFixed(0)} ms`);
  if (options.peer) await writeManifests(changeCluster(snapshot, options.seed, false), policiesOnlyDir(options.dir));
  return { diffMs, diffWithLoadMs, diffOpened, diffCut, diffGroups };
}

/** The peer's `diff --dir1 --dir2` on the generated and changed directories. */
async function measurePeerDiff(
  options: MeasureOptions,
  oursMs: number,
  log: (line: string) => void,
  after = changedDir(options.dir),
): Promise<PeerDiffResult> {
  const binary = ensurePeer(log);
  if (!binary.path) return { ms: null, oursMs, ratio: null, note: binary.error };
  log(`  netpol-analyzer diff (timeout ${(options.peerTimeoutMs / 1000).toFixed(0)} s) ...`);
  const run = await runPeerDiff(binary.path, [options.dir, after], options.peerTimeoutMs);
  if (run.timedOut) {
    log(`  netpol-analyzer diff: > ${options.peerTimeoutMs} ms`);
    const note = `did not finish within ${options.peerTimeoutMs} ms`;
    return { ms: null, oursMs, ratio: options.peerTimeoutMs / oursMs, note };
  }
  if (run.lines === undefined) {
    log(`  netpol-analyzer diff failed after ${run.ms.toFixed(0)} ms: ${run.error ?? ''}`);
    const failed: PeerDiffResult = { ms: run.ms, oursMs, ratio: null, note: run.error };
    if (after !== changedDir(options.dir)) return failed;
    // Both again on the policy changes alone, which it can answer: a ratio on the same work.
    const dirs = [options.dir, policiesOnlyDir(options.dir)];
    const t = performance.now();
    const [base, files] = await Promise.all(dirs.map((dir) => loadManifests([dir])));
    planDiff(base.snapshot, files.snapshot, { deletes: [], prune: true });
    const ours = performance.now() - t;
    log(`  policy changes alone: ours with both directories loaded ${ours.toFixed(0)} ms`);
    return { ...failed, policiesOnly: await measurePeerDiff(options, ours, log, dirs[1]) };
  }
  log(`  netpol-analyzer diff: ${run.ms.toFixed(0)} ms, ${run.lines} changed connections`);
  return { ms: run.ms, oursMs, ratio: run.ms / oursMs, connections: run.lines };
}

/** `audit -A` (compile included) and 1,000 expectations between random pods on 80/TCP, one world (services/audit.ts). */
function measureAudit(
  snapshot: ClusterSnapshot,
  seed: number,
  log: (line: string) => void,
): Pick<SizeResult, 'auditMs' | 'auditFindings' | 'expectations1000Ms'> {
  const base = { namespace: 'default', allNamespaces: true, failOn: 'warning' as const, ignore: new Set<never>() };
  let t = performance.now();
  const audit = runAudit(snapshot, { ...base, expectations: [] });
  const auditMs = performance.now() - t;
  log(`  audit -A ${auditMs.toFixed(0)} ms, ${audit.findings.length} findings`);
  const rng = new Rng(seed ^ 0xe4ec7);
  const pods = snapshot.pods.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
  const pick = () => rng.int(0, pods.length - 1);
  const expectations: Expectation[] = Array.from({ length: 1000 }, (_, index) => {
    const from = pick();
    // A pod always reaches itself: an expectation of one pod to itself has nothing to check.
    const to = (from + 1 + rng.int(0, pods.length - 2)) % pods.length;
    return { index, from: parseSourceSpec(pods[from], 'from'), to: parseSourceSpec(pods[to], 'to') };
  }).map(({ index, from, to }) => ({
    index,
    from,
    to,
    port: { port: 80, protocol: 'TCP' },
    allowed: true,
    text: { from: '', to: '' },
  }));
  const world = compileWorld(snapshot);
  t = performance.now();
  const failed = checkExpectations(world, expectations, 'default');
  const expectations1000Ms = performance.now() - t;
  log(`  1,000 expectations ${expectations1000Ms.toFixed(0)} ms after the build (${1000 - failed.length} hold)`);
  return { auditMs, auditFindings: audit.findings.length, expectations1000Ms };
}

async function measurePeer(
  options: MeasureOptions,
  snapshot: ClusterSnapshot,
  ours: SizeResult,
  log: (line: string) => void,
): Promise<PeerResult> {
  // Over budget, the all-ports matrix counts at its pace's estimate (and says so).
  const matrixMs = ours.matrixAllPortsMs ?? ours.matrixAllPortsOverBudget?.estimateMs ?? null;
  const oursMs = matrixMs === null ? null : ours.loadMs + ours.buildMs + matrixMs;
  const base: PeerResult = { name: 'netpol-analyzer', version: 'v1.4.4', ms: null, oursMs, ratio: null };
  if (ours.matrixAllPortsMs === null && oursMs !== null) base.oursEstimated = true;
  const binary = ensurePeer(log);
  if (!binary.path) return { ...base, note: binary.error };
  log(`  netpol-analyzer list (timeout ${(options.peerTimeoutMs / 1000).toFixed(0)} s) ...`);
  const run = await runPeer(binary.path, options.dir, options.peerTimeoutMs);
  if (run.timedOut) {
    log(`  netpol-analyzer: > ${options.peerTimeoutMs} ms`);
    return {
      ...base,
      note: `did not finish within ${options.peerTimeoutMs} ms`,
      ratio: oursMs ? options.peerTimeoutMs / oursMs : null,
    };
  }
  if (!run.entries) return { ...base, ms: run.ms, note: run.error };
  log(`  netpol-analyzer: ${run.ms.toFixed(0)} ms, ${run.entries.length} connections; comparing ...`);
  const differences = comparePeer(snapshot, run.entries);
  return {
    ...base,
    ms: run.ms,
    ratio: oursMs ? run.ms / oursMs : null,
    connections: run.entries.length,
    differences,
  };
}
