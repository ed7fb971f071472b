/**
 * `who-can -o dot` and `-o mermaid`: the graph built from the engine's groups (checked against the
 * graph built pair by pair), golden files byte for byte, escaping, and one real render with
 * Graphviz (`dot`: .ci/run installs it; elsewhere, without it, that part is skipped and says so).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import WhoCan from '../../src/commands/who-can.js';
import { buildReachGraph, dotString, formatDot, formatMermaid, mermaidString } from '../../src/lib/output/graph.js';
import type { ReachAnswer, StreamedAnswer } from '../../src/lib/engine/answer.js';
import type { ReachReport } from '../../src/lib/services/report.js';
import { eager, splitIntoPairs } from '../support/pairs.js';

type WhoCanReport = ReachReport;
import { ROOT, runCommand } from '../commands/run-command.js';
import { requirePrograms } from '../support/programs.js';

const SHOP = ['--filename', 'examples/shop'];
const REPLICAS = ['--filename', 'test/fixtures/graph/replicas.yaml'];

async function whoCan(...argv: string[]) {
  const run = await runCommand<ReachReport<ReachAnswer | StreamedAnswer>>(WhoCan, argv);
  return { ...run, result: run.result && eager(run.result) };
}

/** Compares with test/fixtures/graph/NAME; UPDATE_GOLDEN=1 rewrites it. */
function expectGraphGolden(text: string, name: string): void {
  const path = join(ROOT, 'test', 'fixtures', 'graph', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

/** The same report with one group per pod pair, so the graph is built pair by pair. */
function pairByPair(report: WhoCanReport): WhoCanReport {
  return { ...report, answer: splitIntoPairs(report.answer) };
}

describe('the reachability graph', () => {
  it('folds replicas into one node per workload, with pod counts, ports and the allowing rule', async () => {
    const run = await whoCan('-n', 'shop', '-l', 'app=api', '--explain', '-o', 'dot', ...REPLICAS);
    expect(run.exitCode).toBe(0);
    const graph = buildReachGraph(run.result!, { explain: true });
    expect(graph.nodes.map((node) => [node.id, node.pods, node.isTarget])).toEqual([
      ['shop/deployment/api', 2, true],
      ['shop/deployment/web', 3, false],
      ['shop/debug', 1, false],
      ['ip:0.0.0.0/0', undefined, false],
      ['ip:203.0.113.0/24 except 203.0.113.128/25', undefined, false],
      ['ip:::/0', undefined, false],
    ]);
    // The addresses the rules leave out are denied, dashed: every address but the admitted block.
    expect(graph.edges.filter((edge) => edge.from === 'ip:0.0.0.0/0' || edge.from === 'ip:::/0')).toEqual([
      {
        from: 'ip:0.0.0.0/0',
        to: 'shop/deployment/api',
        isDenied: true,
        ports: '',
        why: [
          expect.stringMatching(/^ingress: rule api-ingress ingress\[1\] admits only part of 0\.0\.0\.0\/0 \(not /),
        ],
      },
      {
        from: 'ip:::/0',
        to: 'shop/deployment/api',
        isDenied: true,
        ports: '',
        why: ['ingress: shop/deployment/api is isolated by [api-ingress] and no ingress rule admits ::/0'],
      },
    ]);
    expect(graph.edges.filter((edge) => edge.from !== 'ip:0.0.0.0/0' && edge.from !== 'ip:::/0')).toEqual([
      {
        from: 'ip:203.0.113.0/24 except 203.0.113.128/25',
        to: 'shop/deployment/api',
        isDenied: false,
        ports: '8080/TCP',
        why: ['shop/api-ingress ingress[1]'],
      },
      {
        from: 'shop/debug',
        to: 'shop/deployment/api',
        isDenied: true,
        ports: '',
        why: ['ingress: shop/deployment/api is isolated by [api-ingress] and no ingress rule admits shop/debug'],
      },
      // The api replicas reach each other (never a pod itself): a loop on the node.
      {
        from: 'shop/deployment/api',
        to: 'shop/deployment/api',
        isDenied: false,
        ports: '8080/TCP',
        why: ['shop/api-ingress ingress[0]'],
      },
      {
        from: 'shop/deployment/web',
        to: 'shop/deployment/api',
        isDenied: false,
        ports: '8080/TCP',
        why: ['shop/api-ingress ingress[0]'],
      },
    ]);
    expectGraphGolden(run.stdout, 'replicas-api-explain.dot');
  });

  it('draws no loop for a single pod, which is never its own source', async () => {
    const run = await whoCan('pod/debug', '-n', 'shop', '-o', 'dot', ...REPLICAS);
    const graph = buildReachGraph(run.result!);
    expect(graph.edges.filter((edge) => edge.from === edge.to)).toEqual([]);
    expect(graph.edges.map((edge) => edge.from)).toContain('shop/deployment/api');
  });

  it('is the same graph whether built from the groups or from every pair', async () => {
    for (const argv of [
      ['--all-namespaces', ...SHOP],
      ['--all-namespaces', '--port', '8080', ...SHOP],
      ['--namespace', 'api', '--explain', ...SHOP],
      ['--namespace', 'shop', '--explain', ...REPLICAS],
    ]) {
      const run = await whoCan(...argv);
      expect(run.result?.answer.groups.length).toBeGreaterThan(0);
      const explain = argv.includes('--explain');
      expect(buildReachGraph(run.result!, { explain })).toEqual(buildReachGraph(pairByPair(run.result!), { explain }));
    }
  });

  it('prints the shop api namespace as dot and mermaid (golden files)', async () => {
    const dot = await whoCan('-n', 'api', '--explain', '-o', 'dot', ...SHOP);
    expect(dot.exitCode).toBe(0);
    expectGraphGolden(dot.stdout, 'shop-api-explain.dot');
    const mermaid = await whoCan('-n', 'api', '--explain', '--output', 'mermaid', ...SHOP);
    expectGraphGolden(mermaid.stdout, 'shop-api-explain.mmd');
  });

  it('unions the port sets of one edge and keeps denied edges out without --explain', async () => {
    const run = await whoCan('-A', '-o', 'dot', ...SHOP);
    const graph = buildReachGraph(run.result!);
    expect(graph.edges.every((edge) => !edge.isDenied)).toBe(true);
    expect(graph.hasDenied).toBe(false);
    const prometheusToDns = graph.edges.find(
      (edge) => edge.from === 'monitoring/deployment/prometheus' && edge.to === 'kube-system/deployment/coredns',
    );
    expect(prometheusToDns?.ports).toBe('9090/TCP, 9100-9199/TCP, 53/UDP');
    expect(run.stdout).not.toContain('style=dashed');
  });

  it('draws the --from answer too, and keeps the exit status', async () => {
    const run = await whoCan(
      'b',
      '-n',
      'x',
      '--from',
      'y/pod/c',
      '--port',
      '80',
      '-o',
      'mermaid',
      ...['--filename', 'test/fixtures/who-can/worlds/small.yaml'],
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('n1 -.->|"80/TCP"| n0');
  });
});

describe('escaping', () => {
  it('quotes DOT strings: backslashes, double quotes and newlines', () => {
    expect(dotString('a "b" \\ c\nd')).toBe('"a \\"b\\" \\\\ c\\nd"');
  });

  it('turns what mermaid would parse into entity codes', () => {
    expect(mermaidString('say "hi" <b> & more\nnext')).toBe('"say #quot;hi#quot; #lt;b#gt; #amp; more<br/>next"');
  });

  it('keeps a quote in a label from ending the string, in both formats', () => {
    const graph = {
      nodes: [
        { id: 'n/a"b', namespace: 'n', label: 'pod/a"b', pods: 1, isTarget: true },
        { id: 'ip:1.2.3.4/32', label: '1.2.3.4/32', isTarget: false },
      ],
      edges: [{ from: 'ip:1.2.3.4/32', to: 'n/a"b', isDenied: false, ports: '80/TCP', why: ['n/p "x" ingress[0]'] }],
      hasDenied: false,
      name: 'who-can' as const,
    };
    const dot = formatDot(graph);
    expect(dot).toContain('"n/a\\"b" [label="pod/a\\"b\\n1 pod"');
    expect(dot).toContain('tooltip="1.2.3.4/32 -> n/a\\"b on 80/TCP: allowed by n/p \\"x\\" ingress[0]"');
    const mermaid = formatMermaid(graph);
    expect(mermaid).toContain('n0["pod/a#quot;b<br/>1 pod"]');
    expect(mermaid).not.toMatch(/\["[^"\n]*"[^\]]/);
  });
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

requirePrograms('dot').describe('rendering with Graphviz', () => {
  it('renders the dot output to a PNG of a sane size', async () => {
    const run = await whoCan('-n', 'api', '--explain', '-o', 'dot', ...SHOP);
    const dir = mkdtempSync(join(tmpdir(), 'netpol-graph-'));
    try {
      const png = join(dir, 'who-can.png');
      // -q: Graphviz warnings (e.g. a missing font) are not failures; a syntax error still exits non-zero.
      execFileSync('dot', ['-q', '-Tpng', '-o', png], { input: run.stdout });
      const bytes = readFileSync(png);
      expect(statSync(png).size).toBeGreaterThan(5_000);
      const { width, height } = pngSize(bytes);
      expect(width).toBeGreaterThan(300);
      expect(width).toBeLessThan(4_000);
      expect(height).toBeGreaterThan(200);
      expect(height).toBeLessThan(4_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses every golden dot file', () => {
    for (const name of ['shop-api-explain.dot', 'replicas-api-explain.dot']) {
      const text = readFileSync(join(ROOT, 'test', 'fixtures', 'graph', name), 'utf8');
      const canon = execFileSync('dot', ['-Tcanon'], { input: text, encoding: 'utf8' });
      expect(canon).toContain('digraph "who-can"');
    }
  });
});
