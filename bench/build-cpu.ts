/**
 * CPU and wall time of compileWorld (and optionally the one-port matrix) on a directory the generator
 * wrote, in one process: for comparing two checkouts in the same minute on a loaded machine, where CPU
 * time (process.cpuUsage) moves less than wall time.
 *
 *   node .cache/bench/bench/build-cpu.js --dir DIR [--runs 3] [--no-tiers] [--matrix]
 *
 * Prints one JSON line: per run the build's CPU and wall ms, then the matrix's when asked.
 */
import { pathToFileURL } from 'node:url';

import { loadManifests } from '../src/lib/cluster/files.js';
import { compileWorld } from '../src/lib/engine/compile.js';
import { reachabilityMatrix } from '../src/lib/engine/who-can.js';

/** CPU milliseconds (user + system) since `since`. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return Math.round((used.user + used.system) / 1000);
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const dir = arg('dir', '');
  const runs = Number(arg('runs', '3'));
  if (!dir || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: build-cpu --dir DIR [--runs N] [--no-tiers] [--matrix]\n');
    process.exitCode = 2;
    return;
  }
  const { snapshot } = await loadManifests([dir]);
  if (argv.includes('--no-tiers')) delete snapshot.clusterPolicies;
  const builds: { cpuMs: number; wallMs: number }[] = [];
  let world = compileWorld(snapshot);
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    world = compileWorld(snapshot);
    builds.push({ cpuMs: cpuMs(cpu), wallMs: Math.round(performance.now() - start) });
  }
  let matrix: { cpuMs: number; wallMs: number; pairs: number } | undefined;
  if (argv.includes('--matrix')) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const { pairCount } = reachabilityMatrix(world, { port: 80, protocol: 'TCP' });
    matrix = { cpuMs: cpuMs(cpu), wallMs: Math.round(performance.now() - start), pairs: pairCount };
  }
  process.stdout.write(`${JSON.stringify({ pods: snapshot.pods.length, builds, matrix })}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
