/**
 * The help examples that need more than manifest files, run as written against the real apiserver:
 * each example line goes to a shell in a pseudo-terminal (tmux), `kubectl netpol` is found through
 * kubectl's plugin discovery, and the test answers like a person who accepts every proposal
 * (Enter on each question, taking its default, and `y` to the write confirmation). The offline examples run in
 * test/commands/help-examples.test.ts.
 *
 * The prepared cluster is the bundled examples (examples/seed and examples/shop, pods added for the
 * shop's workloads since no controller runs here) plus what the examples name besides: a backend
 * Deployment in tenant-a, web pods in tenant-b, api pods in shop. Examples name fixed namespaces,
 * so these are not per-test `t-<hex>` namespaces; other e2e files never use these names.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';

import { isSuccessStatus, loadExamples } from '../support/help-examples.js';
import type { HelpExample } from '../support/help-examples.js';
import { applyWorld, childEnv, kubectl, kubectlPath, pluginPathDir, repoRoot } from './helpers.js';

const TIMEOUT = 120_000;
const examples = (await loadExamples()).filter((e) => e.kind !== 'offline');

/** What the examples name beyond the bundled examples. */
const EXTRA_WORLD = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: backend, namespace: tenant-a }
spec:
  selector: { matchLabels: { segment: backend } }
  template:
    metadata: { labels: { segment: backend } }
    spec: { containers: [{ name: web, image: nginx:1.27 }] }
---
apiVersion: v1
kind: Namespace
metadata: { name: tenant-b }
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, namespace: tenant-b, labels: { app: web } }
spec: { containers: [{ name: web, image: nginx:1.27 }] }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Pod
metadata: { name: api-0, namespace: shop, labels: { app: api } }
spec:
  containers:
    - name: api
      image: ghcr.io/example/shop-api:2.4.1
      ports: [{ name: http, containerPort: 8080, protocol: TCP }]
`;

type Manifest = {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: unknown } };
};

/** The bundled examples as one YAML stream, with one running pod per shop workload (no controller
 * here makes them) and without kube-system's objects (the cluster's own DNS stays what it is). */
function bundledWorld(): string {
  const documents: Manifest[] = [];
  for (const dir of ['seed', 'shop']) {
    for (const file of readdirSync(join(repoRoot, 'examples', dir)).sort()) {
      const text = readFileSync(join(repoRoot, 'examples', dir, file), 'utf8');
      documents.push(...parseAllDocuments(text).map((d) => d.toJS() as Manifest));
    }
  }
  const kept = documents.filter(
    (d) => d && d.metadata?.namespace !== 'kube-system' && d.metadata?.name !== 'kube-system',
  );
  const pods = kept
    .filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet' || d.kind === 'DaemonSet')
    .map((d) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${d.metadata!.name}-0`,
        namespace: d.metadata!.namespace,
        labels: d.spec!.template!.metadata!.labels,
      },
      spec: d.spec!.template!.spec,
    }));
  return [...kept, ...pods].map((d) => stringify(d)).join('---\n');
}

let session: string | undefined;
let scratch: string;
let tools: string;

/** A tmux server of this run's own (-L): other tmux users on the machine (and their kill-server) never meet it. */
const TMUX_SOCKET = `netpol-e2e-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8', env: childEnv() });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-500', '-t', session!);
}

/** The shell an example is written for: zsh when it says so, else bash. */
function shellFor(example: HelpExample): string[] {
  const fpath = join(scratch, 'zsh-functions');
  return /\bzsh\b/.test(example.command)
    ? ['zsh', '-f', '-c', `fpath=(${fpath} $fpath); ${example.command}`]
    : ['bash', '-c', example.command];
}

/** Runs one example line in a pseudo-terminal, answering its questions; resolves with its exit
 * status and the screen. */
async function runInTerminal(example: HelpExample): Promise<{ code: number; screen: string }> {
  session = `netpol-example-${randomBytes(4).toString('hex')}`;
  const [shell, ...shellArgs] = shellFor(example);
  const quoted = [shell, ...shellArgs].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  // Environment on the command line: tmux's -e is overridden when the shell re-reads its profile.
  const env = [`PATH=${tools}`, `KUBECONFIG=${process.env.KUBECONFIG}`, 'NO_COLOR=1'].map((w) => `'${w}'`).join(' ');
  const command = `env ${env} ${quoted}; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '250', '-y', '80', '-c', repoRoot, command);
  const deadline = Date.now() + 60_000;
  let answered = '';
  let previous = '';
  let stableSince = Date.now();
  for (;;) {
    const shown = screen();
    const exit = /^EXIT=(\d+)$/m.exec(shown);
    if (exit) return { code: Number(exit[1]), screen: shown };
    if (Date.now() > deadline) throw new Error(`${example.command} did not finish; screen:\n${shown}`);
    if (shown !== previous) [previous, stableSince] = [shown, Date.now()];
    // A question waits on the screen (unchanged for a second since the last answer): take its
    // default, and say yes to the write ("Create ...?", "Cut ... and isolate ...?"): what running the example means.
    const question = shown.split('\n').findLast((line) => line.startsWith('? '));
    if (question && shown !== answered && Date.now() - stableSince > 1000) {
      if (/^\? (Create|Cut) .*\((y\/N|Y\/n)\)/.test(question)) tmux('send-keys', '-t', session!, 'y');
      tmux('send-keys', '-t', session!, 'Enter');
      answered = shown;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  await applyWorld({}, bundledWorld());
  await applyWorld({}, EXTRA_WORLD);
  // kubectl (the one the tier uses), kubectl-netpol (bin/run.js), node for its shebang, the shells.
  scratch = mkdtempSync(join(tmpdir(), 'netpol-examples-'));
  mkdirSync(join(scratch, 'zsh-functions'));
  mkdirSync(join(scratch, 'bin'));
  const resolvedKubectl = kubectlPath.includes('/')
    ? kubectlPath
    : execFileSync('sh', ['-c', `command -v ${kubectlPath}`], { encoding: 'utf8' }).trim();
  symlinkSync(resolvedKubectl, join(scratch, 'bin', 'kubectl'));
  tools = [join(scratch, 'bin'), pluginPathDir(), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(
    ':',
  );
}, TIMEOUT);

afterAll(() => {
  if (session) tmux('kill-session', '-t', session);
  rmSync(scratch, { recursive: true, force: true });
});

describe('help examples against the real apiserver', () => {
  test('the cluster has the namespaces the examples name', async () => {
    const { stdout } = await kubectl(['get', 'namespaces', '-o', 'name']);
    for (const name of ['tenant-a', 'tenant-b', 'shop', 'api', 'db', 'web'])
      expect(stdout).toContain(`namespace/${name}\n`);
  });

  test.each(examples.map((e) => [e.command, e] as const))(
    '`%s` succeeds',
    async (_, example) => {
      try {
        const result = await runInTerminal(example);
        if (!isSuccessStatus(example.id, result.code))
          throw new Error(`exit ${result.code}; screen:\n${result.screen}`);
        expect(result.screen).not.toMatch(/^error:/m);
      } finally {
        if (session) tmux('kill-session', '-t', session);
        session = undefined;
      }
    },
    TIMEOUT,
  );
});
