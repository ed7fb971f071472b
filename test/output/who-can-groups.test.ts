/**
 * Whole-cluster documents: the streamed answer (groups computed share by share as the document is
 * written) gives the bytes of the held one, and the grouped document (`--group-by workload`) is the
 * pair document grouped: expanding its entries gives back every pair entry, each once.
 */
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import { generateCluster } from '../../bench/generate.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { isStreamed } from '../../src/lib/engine/answer.js';
import { shareDecisions } from '../../src/lib/engine/whole-cluster.js';
import type { World } from '../../src/lib/engine/world.js';
import { renderDocument } from '../../src/lib/output/render.js';
import { toReachDocument, writeReachDocument } from '../../src/lib/output/reach-document.js';
import { writeGroupedDocument } from '../../src/lib/output/who-can-groups.js';
import { answerReach, completeReach, type ReachOptions } from '../../src/lib/services/reach.js';

/** Generated worlds take seconds per case on a busy machine: no timing is asserted, only the bytes. */

/** A sink that keeps what is written, asking for 'drain' now and then as a pipe does. */
function memorySink() {
  const chunks: Uint8Array[] = [];
  let drains = 0;
  return {
    chunks,
    get drains() {
      return drains;
    },
    write(chunk: Uint8Array) {
      chunks.push(chunk);
      return chunks.length % 3 !== 0;
    },
    once(_event: 'drain', listener: () => void) {
      drains++;
      setImmediate(listener);
    },
    text: () => Buffer.concat(chunks).toString(),
  };
}

const ASKED: [string, Partial<ReachOptions>][] = [
  ['all ports', {}],
  ['80/TCP', { port: { port: 80, protocol: 'TCP' } }],
  ['http, explained', { port: { port: 'http', protocol: 'TCP' }, explain: true }],
];

function request(options: Partial<ReachOptions>) {
  return completeReach({ orientation: 'inbound', allNamespaces: true, explain: false, ...options }, 'default');
}

/** The streamed answer as who-can writes its documents: groups alike share their decisions. */
function sharedAnswer(world: World, options: Partial<ReachOptions>) {
  const report = answerReach(world, request(options), { streamed: true });
  if (!isStreamed(report.answer)) throw new Error('a whole-cluster who-can answer is streamed');
  return { ...report, answer: shareDecisions(world, report.answer) };
}

type Entry = Record<string, unknown> & { from: Record<string, unknown>; to: Record<string, unknown> };

/** The pair entries a grouped entry stands for: each pod of `from` with each pod of `to`, never a pod with itself. */
function expand(entry: Entry): Entry[] {
  const { from, to, ...rest } = entry;
  const ends = (end: Record<string, unknown>) =>
    'pods' in end ? (end.pods as string[]).map((pod) => ({ namespace: end.namespace, pod })) : [end];
  const out: Entry[] = [];
  for (const f of ends(from))
    for (const t of ends(to)) {
      if ('pod' in f && 'pod' in t && f.namespace === t.namespace && f.pod === t.pod) continue;
      out.push({ from: f, to: t, ...rest });
    }
  return out;
}

/** Entries as sorted JSON lines, without `reason` (its sentence names pods in one, workloads in the other). */
function canonical(entries: Entry[]): string[] {
  return entries.map((entry) => JSON.stringify({ ...entry, reason: undefined })).sort();
}

describe.each([
  [60, 1],
  [45, 5],
])('on a generated world of %i pods (seed %i)', (pods, seed) => {
  const world: World = compileWorld(generateCluster({ pods, seed }).snapshot);

  it.each(ASKED)(
    '-o json and -o yaml streamed are the bytes of the held document (%s)',
    async (_name, options) => {
      const held = answerReach(world, request(options));
      const explain = options.explain ?? false;
      for (const format of ['json', 'yaml'] as const) {
        const sink = memorySink();
        await writeReachDocument(answerReach(world, request(options), { streamed: true }), format, sink, { explain });
        const text = sink.text();
        expect(text).toBe(renderDocument(toReachDocument(held, { explain }), format));
        // With decisions shared across groups, as who-can writes it: the same bytes.
        const shared = memorySink();
        await writeReachDocument(sharedAnswer(world, options), format, shared, { explain });
        expect(shared.text()).toBe(text);
        // The held YAML is the yaml package's own rendering: counting entries in the JSON is enough.
        if (format === 'json')
          expect((JSON.parse(text) as { connections: unknown[] }).connections.length).toBeGreaterThan(50);
        expect(sink.chunks.length).toBeGreaterThan(1);
      }
    },
    300_000,
  );

  it.each(ASKED)(
    'the grouped document expands to the pair document (%s)',
    async (_name, options) => {
      const explain = options.explain ?? false;
      const pairs = memorySink();
      await writeReachDocument(answerReach(world, request(options), { streamed: true }), 'json', pairs, { explain });
      const expected = JSON.parse(pairs.text()) as { connections: Entry[]; denied?: Entry[] };
      for (const streamed of [true, false]) {
        const grouped = memorySink();
        await writeGroupedDocument(answerReach(world, request(options), { streamed }), 'json', grouped, { explain });
        const document = JSON.parse(grouped.text()) as { connections: Entry[]; denied?: Entry[]; warnings: unknown };
        expect(document.warnings).toEqual(JSON.parse(pairs.text()).warnings);
        expect(document.connections.length).toBeLessThan(expected.connections.length);
        expect(canonical(document.connections.flatMap(expand))).toEqual(canonical(expected.connections));
        if (explain) expect(canonical(document.denied!.flatMap(expand))).toEqual(canonical(expected.denied!));
        // Its YAML is the same document.
        const yaml = memorySink();
        await writeGroupedDocument(answerReach(world, request(options), { streamed }), 'yaml', yaml, { explain });
        expect(parseYaml(yaml.text())).toEqual(document);
      }
      // With decisions shared across groups, as who-can writes it: the same bytes.
      const held = memorySink();
      await writeGroupedDocument(answerReach(world, request(options)), 'json', held, { explain });
      const shared = memorySink();
      await writeGroupedDocument(sharedAnswer(world, options), 'json', shared, { explain });
      expect(shared.text()).toBe(held.text());
    },
    300_000,
  );
});
