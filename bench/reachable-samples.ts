/**
 * The bench's reachable-from sampling (measure.ts: 200 who-can queries, then 200 reachable-from
 * queries on 80/TCP, one seeded draw), every sample printed: which queries make the p99, and why.
 *
 *   node .cache/bench/bench/reachable-samples.js --dir DIR [--samples 200] [--seed 1] [--top 12] [--profile FILE]
 *
 * DIR is a generated cluster (`generate.js --out DIR`). Per query: wall and CPU time, the source's
 * class and label class, the groups and address blocks of its answer. `--profile` writes a CPU
 * profile of the reachable-from queries alone (open it in Chrome's DevTools).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';

import { loadManifests } from '../src/lib/cluster/files.js';
import { compileWorld } from '../src/lib/engine/compile.js';
import { keyOf } from '../src/lib/engine/model.js';
import type { PodRef, PortQuery } from '../src/lib/engine/model.js';
import { reachableFrom } from '../src/lib/engine/reachable-from.js';
import { whoCan } from '../src/lib/engine/who-can.js';
import { Rng } from './generate.js';
import { percentile } from './measure.js';

const ONE_PORT: PortQuery = { port: 80, protocol: 'TCP' };

interface Sample {
  at: number;
  pod: PodRef;
  ms: number;
  cpuMs: number;
  groups: number;
  external: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      samples: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      top: { type: 'string', default: '12' },
      profile: { type: 'string' },
    },
  });
  if (!values.dir)
    throw new Error('usage: reachable-samples --dir DIR [--samples N] [--seed S] [--top N] [--profile FILE]');
  const samples = Number(values.samples);
  const { snapshot } = await loadManifests([values.dir]);
  let t = performance.now();
  const world = compileWorld(snapshot);
  process.stdout.write(`build ${(performance.now() - t).toFixed(0)} ms, ${world.pods.length} pods\n`);

  // The same draw as measureSize: who-can's targets first, then reachable-from's sources.
  const rng = new Rng(Number(values.seed) ^ 0x5eed);
  const draw = () => world.pods[rng.int(0, world.pods.length - 1)].ref;
  t = performance.now();
  for (let i = 0; i < samples; i++) whoCan(world, { targets: [draw()], port: ONE_PORT });
  process.stdout.write(`who-can x${samples} ${(performance.now() - t).toFixed(0)} ms\n`);

  const session = values.profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const taken: Sample[] = [];
  for (let i = 0; i < samples; i++) {
    const pod = draw();
    const cpu = process.cpuUsage();
    const start = performance.now();
    const answer = reachableFrom(world, { sources: [pod], port: ONE_PORT });
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    taken.push({
      at: i,
      pod,
      ms,
      cpuMs: (used.user + used.system) / 1000,
      groups: answer.groups.length,
      external: answer.external.length,
    });
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(values.profile!, JSON.stringify(profile));
    session.disconnect();
  }
  const sorted = [...taken].sort((a, b) => a.ms - b.ms);
  const times = sorted.map((s) => s.ms);
  const cpus = taken.map((s) => s.cpuMs).sort((a, b) => a - b);
  process.stdout.write(
    `reachable-from x${samples}: p50 ${percentile(times, 50).toFixed(2)} / p99 ${percentile(times, 99).toFixed(2)} ms wall, ` +
      `p50 ${percentile(cpus, 50).toFixed(2)} / p99 ${percentile(cpus, 99).toFixed(2)} ms CPU, ` +
      `sum ${times.reduce((a, b) => a + b, 0).toFixed(0)} ms\n`,
  );
  process.stdout.write(`all (ms, sorted): ${times.map((x) => x.toFixed(1)).join(' ')}\n`);
  process.stdout.write('slowest: at  wall ms  cpu ms  groups  external  source (class, label class)\n');
  for (const s of sorted.slice(-Number(values.top)).reverse()) {
    const info = world.podsByKey.get(keyOf(s.pod))!;
    const cls = world.classes[info.classId];
    process.stdout.write(
      `  ${String(s.at).padStart(3)}  ${s.ms.toFixed(2).padStart(7)}  ${s.cpuMs.toFixed(2).padStart(6)}  ` +
        `${String(s.groups).padStart(6)}  ${String(s.external).padStart(8)}  ${keyOf(s.pod)} ` +
        `(${cls.id}, ${cls.labelClass}; egress isolated: ${cls.egressPolicies.length > 0})\n`,
    );
  }
}

await main();
