/**
 * The live path, measured (`npm run bench -- --live`, or `node .cache/bench/bench/live.js`): starts
 * the e2e tier's real kube-apiserver + etcd (test/e2e/control-plane, built once and cached), loads a
 * generated cluster into it through the API (namespaces, pods with a running status, NetworkPolicies),
 * then times, in the same run and alternating, `kubectl get pods,networkpolicies,namespaces -A -o json`
 * and `kubectl netpol who-can -A -o json` (the built CLI, `node bin/run.js`), both into a pipe that
 * counts the bytes, and stops the control plane. Progress on stderr; `--json`: one JSON line on stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { countedRun } from './counted-run.js';
import { generateCluster, toManifestPolicy } from './generate.js';
import { runningStatus } from './kubelet-status.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const CONTROL_PLANE = join(REPO, 'test', 'e2e', 'control-plane');

/** What the live bench measured; `ratio` is ours over kubectl's (medians). */
export interface LiveResult {
  pods: number;
  policies: number;
  namespaces: number;
  /** Creating the objects and their statuses through the API. */
  loadIntoApiserverMs: number;
  runs: number;
  kubectlGetMs: number;
  kubectlGetBytes: number;
  whoCanMs: number;
  whoCanBytes: number;
  whoCanRssMb: number;
  /** The who-can arguments timed. */
  whoCanArgs: string[];
  ratio: number;
}

export interface LiveOptions {
  pods: number;
  seed: number;
  runs: number;
  /** Extra who-can arguments (e.g. a document shape). */
  whoCanArgs?: string[];
}

function script(name: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync('bash', [join(CONTROL_PLANE, name), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} exited ${result.status ?? result.signal}`);
  return result.stdout.trim();
}

/** A tiny admin client for the control plane up.sh started (client certificates from its pki/). */
class Admin {
  private readonly agent: Agent;
  constructor(
    private readonly server: string,
    pki: string,
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: readFileSync(join(pki, 'ca.crt')),
      cert: readFileSync(join(pki, 'admin.crt')),
      key: readFileSync(join(pki, 'admin.key')),
    });
  }

  send(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<void> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.server}${path}`,
        {
          method,
          agent: this.agent,
          headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(data) },
        },
        (res: IncomingMessage) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () =>
            (res.statusCode ?? 500) < 300
              ? resolve()
              : reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `work` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

interface Manifest {
  metadata: { name: string; namespace?: string; uid?: string; [key: string]: unknown };
  status?: { podIP?: string; hostIP?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The object as a client creates it: no uid, no status. */
function forCreate(object: Manifest): Manifest {
  const out: Manifest = { ...object, metadata: { ...object.metadata } };
  delete out.status;
  delete out.metadata.uid;
  return out;
}

async function loadCluster(admin: Admin, options: LiveOptions, log: (line: string) => void) {
  const { snapshot } = generateCluster({ pods: options.pods, seed: options.seed });
  const namespaces = snapshot.namespaces as unknown as Manifest[];
  const pods = snapshot.pods as unknown as Manifest[];
  // Policies as manifests (client-node's `_from` written `from`), as the bench's files have them.
  const policies = snapshot.policies.map(toManifestPolicy) as unknown as Manifest[];
  const started = performance.now();
  // kube-system exists already; the rest are created.
  await pool(
    namespaces.filter((n) => n.metadata.name !== 'kube-system'),
    16,
    (n) => admin.send('POST', '/api/v1/namespaces', forCreate(n)),
  );
  log(`  ${namespaces.length} namespaces`);
  await pool(pods, 32, async (p) => {
    const ns = p.metadata.namespace!;
    await admin.send('POST', `/api/v1/namespaces/${ns}/pods`, forCreate(p));
    const status = runningStatus(p.status?.podIP ?? '', p.status?.hostIP ?? '');
    await admin.send(
      'PATCH',
      `/api/v1/namespaces/${ns}/pods/${p.metadata.name}/status`,
      { status },
      'application/merge-patch+json',
    );
  });
  log(`  ${pods.length} pods with their status`);
  await pool(policies, 32, (p) =>
    admin.send('POST', `/apis/networking.k8s.io/v1/namespaces/${p.metadata.namespace!}/networkpolicies`, forCreate(p)),
  );
  log(`  ${policies.length} NetworkPolicies`);
  return {
    pods: pods.length,
    policies: policies.length,
    namespaces: namespaces.length,
    ms: performance.now() - started,
  };
}

/** Runs a command with stdout into a byte counter: wall time, bytes and peak RSS. */
async function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; bytes: number; rssMb: number }> {
  const run = await countedRun(argv, { env });
  // who-can exits 1 when nothing is allowed; anything above is a failure.
  if (run.code !== 0 && run.code !== 1) throw new Error(`${argv.join(' ')} exited ${run.code}: ${run.stderr}`);
  return { ms: run.ms!, bytes: run.bytes, rssMb: run.rssMb ?? NaN };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

export async function measureLive(options: LiveOptions, log: (line: string) => void): Promise<LiveResult> {
  if (!existsSync(join(REPO, 'dist', 'commands')))
    throw new Error('run `npm run build` first: the live bench times dist/');
  const binDir = process.env.E2E_BIN_DIR || script('build.sh', []);
  const state = mkdtempSync(join(tmpdir(), 'kubectl-netpol-bench-live-'));
  log(`live: starting kube-apiserver + etcd (${binDir})`);
  script('up.sh', [state], { ...process.env, E2E_BIN_DIR: binDir, E2E_OWNER_PID: String(process.pid) });
  const kubeconfig = join(state, 'kubeconfig');
  const server = /server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1];
  const admin = new Admin(server, join(state, 'pki'));
  try {
    log(`live: loading ${options.pods} generated pods (seed ${options.seed}) through the API`);
    const loaded = await loadCluster(admin, options, log);
    log(`  loaded in ${(loaded.ms / 1000).toFixed(1)} s`);
    const env = { ...process.env, KUBECONFIG: kubeconfig };
    const sameVersion = join(binDir, 'kubectl');
    const kubectl = existsSync(sameVersion) ? sameVersion : 'kubectl';
    const whoCanArgs = ['who-can', '-A', '-o', 'json', ...(options.whoCanArgs ?? [])];
    const kubectlArgs = ['get', 'pods,networkpolicies,namespaces', '-A', '-o', 'json'];
    const ours: { ms: number; bytes: number; rssMb: number }[] = [];
    const theirs: { ms: number; bytes: number; rssMb: number }[] = [];
    for (let run = 0; run < options.runs; run++) {
      theirs.push(await timed([kubectl, ...kubectlArgs], env));
      ours.push(await timed([process.execPath, join(REPO, 'bin', 'run.js'), ...whoCanArgs], env));
      log(
        `  run ${run + 1}: kubectl get ${theirs[run].ms.toFixed(0)} ms (${theirs[run].bytes} bytes), ` +
          `who-can ${ours[run].ms.toFixed(0)} ms (${ours[run].bytes} bytes, ${ours[run].rssMb.toFixed(0)} MB)`,
      );
    }
    const kubectlGetMs = median(theirs.map((r) => r.ms));
    const whoCanMs = median(ours.map((r) => r.ms));
    return {
      pods: loaded.pods,
      policies: loaded.policies,
      namespaces: loaded.namespaces,
      loadIntoApiserverMs: loaded.ms,
      runs: options.runs,
      kubectlGetMs,
      kubectlGetBytes: theirs[0].bytes,
      whoCanMs,
      whoCanBytes: ours[0].bytes,
      whoCanRssMb: Math.max(...ours.map((r) => r.rssMb)),
      whoCanArgs,
      ratio: whoCanMs / kubectlGetMs,
    };
  } finally {
    admin.close();
    script('down.sh', [state]);
    rmSync(state, { recursive: true, force: true });
  }
}

export function formatLive(r: LiveResult): string {
  return (
    `live (${r.pods} pods, ${r.policies} policies, ${r.namespaces} namespaces; medians of ${r.runs} runs):\n` +
    `  kubectl get pods,networkpolicies,namespaces -A -o json   ${r.kubectlGetMs.toFixed(0)} ms   ${r.kubectlGetBytes} bytes\n` +
    `  kubectl netpol ${r.whoCanArgs.join(' ')}   ${r.whoCanMs.toFixed(0)} ms   ${r.whoCanBytes} bytes   peak RSS ${r.whoCanRssMb.toFixed(0)} MB\n` +
    `  ratio ${r.ratio.toFixed(2)}x (target <= 1.3x)\n`
  );
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      // Extra who-can arguments, e.g. '--group-by workload'.
      'who-can-args': { type: 'string', default: '' },
    },
  });
  const result = await measureLive(
    {
      pods: Number(values.pods),
      seed: Number(values.seed),
      runs: Math.max(1, Number(values.runs)),
      whoCanArgs: values['who-can-args'].split(' ').filter((a) => a !== ''),
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatLive(result));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
