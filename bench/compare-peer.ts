/**
 * Side by side with np-guard/netpol-analyzer: builds its `netpolicy` CLI once (cached outside the
 * repo), runs `netpolicy list --dirpath DIR -o json` on the bench's manifests, and compares its
 * connection set with ours at its granularity (workloads `ns/name[Kind]`, a pod's controller owner),
 * sorting every difference into a reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { V1Pod } from '@kubernetes/client-node';

import { compileWorld } from '../src/lib/engine/compile.js';
import type { ClusterSnapshot, PodRef, PortSet } from '../src/lib/engine/model.js';
import { whoCan } from '../src/lib/engine/who-can.js';
import { connectionsOf } from '../src/lib/engine/answer.js';

/** The peer's module and version, as the issue names them. */
export const PEER_MODULE = 'github.com/np-guard/netpol-analyzer';
export const PEER_VERSION = 'v1.4.4';
const PEER_HOME = join(homedir(), '.cache', 'kubectl-netpol', 'peers');

/** Where the peer binary is (NETPOL_ANALYZER overrides). */
export function peerBinary(): string {
  return process.env.NETPOL_ANALYZER ?? join(PEER_HOME, 'bin', 'netpolicy');
}

/**
 * Builds the peer if it is missing. `go install MODULE/cmd/netpolicy@v1.4.4` fails here (the proxy
 * refuses the module's version list, which go install reads for deprecations), so this builds it the
 * same way from a scratch module that requires v1.4.4, with the peer's own go.sum.
 * Returns the binary's path, or an error message.
 */
export function ensurePeer(log: (line: string) => void): { path?: string; error?: string } {
  const path = peerBinary();
  if (existsSync(path)) return { path };
  log(`building ${PEER_MODULE}/cmd/netpolicy@${PEER_VERSION} into ${path} (once; several minutes)`);
  const src = join(PEER_HOME, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'go.mod'), `module peerbuild\n\ngo 1.24\n\nrequire ${PEER_MODULE} ${PEER_VERSION}\n`);
  writeFileSync(
    join(src, 'tools.go'),
    `//go:build tools\n\npackage tools\n\nimport _ "${PEER_MODULE}/cmd/netpolicy"\n`,
  );
  const go = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync('go', args, { cwd: src, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30 * 60_000 });
  const download = go(['mod', 'download', '-json', `${PEER_MODULE}@${PEER_VERSION}`]);
  if (download.status !== 0) return { error: `go mod download failed: ${download.stderr.trim().split('\n').pop()}` };
  const dir = (JSON.parse(download.stdout) as { Dir: string }).Dir;
  copyFileSync(join(dir, 'go.sum'), join(src, 'go.sum'));
  for (const args of [
    ['mod', 'tidy'],
    ['install', `${PEER_MODULE}/cmd/netpolicy`],
  ]) {
    const run = go(args, { GOBIN: join(PEER_HOME, 'bin') });
    if (run.status !== 0) return { error: `go ${args.join(' ')} failed: ${run.stderr.trim().split('\n').pop()}` };
  }
  return existsSync(path) ? { path } : { error: `go install left no ${path}` };
}

/** One connection as the peer's JSON lists it. */
interface PeerEntry {
  src: string;
  dst: string;
  conn: string;
}

/** Runs the peer's list on a directory; wall time in ms, or timedOut. */
export async function runPeer(
  binary: string,
  dir: string,
  timeoutMs: number,
): Promise<{ ms: number; entries?: PeerEntry[]; timedOut?: boolean; error?: string }> {
  const out = join(tmpdir(), `netpolicy-${process.pid}-${Date.now()}.json`);
  const run = await spawnTimed(binary, ['list', '--dirpath', dir, '-o', 'json', '-f', out, '-q'], timeoutMs);
  try {
    if (run.timedOut) return { ms: run.ms, timedOut: true };
    if (run.code !== 0 || !existsSync(out)) return { ms: run.ms, error: `exit ${run.code}: ${run.stderr}` };
    return { ms: run.ms, entries: JSON.parse(readFileSync(out, 'utf8')) as PeerEntry[] };
  } finally {
    rmSync(out, { force: true });
  }
}

/** Runs the peer's diff between two directories (`netpolicy diff --dir1 --dir2`); wall time in ms, or timedOut. */
export async function runPeerDiff(
  binary: string,
  dirs: [string, string],
  timeoutMs: number,
): Promise<{ ms: number; lines?: number; timedOut?: boolean; error?: string }> {
  const out = join(tmpdir(), `netpolicy-diff-${process.pid}-${Date.now()}.csv`);
  const run = await spawnTimed(
    binary,
    ['diff', '--dir1', dirs[0], '--dir2', dirs[1], '-o', 'csv', '-f', out, '-q'],
    timeoutMs,
  );
  try {
    if (run.timedOut) return { ms: run.ms, timedOut: true };
    if (run.code !== 0 || !existsSync(out)) return { ms: run.ms, error: `exit ${run.code}: ${run.stderr}` };
    // A header line, then one line per changed connection (workload pair or address range).
    return { ms: run.ms, lines: readFileSync(out, 'utf8').trim().split('\n').length - 1 };
  } finally {
    rmSync(out, { force: true });
  }
}

/** Runs a command with its stdout ignored, killed after `timeoutMs`. */
async function spawnTimed(
  binary: string,
  args: string[],
  timeoutMs: number,
): Promise<{ ms: number; code: number | null; timedOut: boolean; stderr: string }> {
  const start = performance.now();
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  // The first line is what a failure says (a Go panic's message comes before its stack).
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(0, 4000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { ms: performance.now() - start, code, timedOut, stderr: stderr.trim().split('\n')[0] ?? '' };
}

/** Why two connection sets differ, one counter per reason. */
export interface PeerDifferences {
  /** Workload pairs (and address ranges) both list with the same ports. */
  agree: number;
  /** name -> count and a sentence on the reason. */
  reasons: Record<string, { count: number; why: string; examples: string[] }>;
}

const REASONS: Record<string, string> = {
  'same-workload':
    'replica to replica of one workload: ours lists pod pairs, the peer skips a workload connecting to itself',
  'ipblock-pod-ips':
    'an ipBlock covers pod IPs (10.64.0.0/12 with an except): ours matches pods by IP (docs/semantics.md), the peer never matches pods by ipBlock',
  'ipv6-addresses': 'address blocks outside the cluster in IPv6: the peer analyses IPv4 only',
  'egress-to-addresses':
    'a pod reaching addresses outside the cluster (egress): the peer lists them, who-can answers for pod targets only',
  'peer-joins-ranges':
    'the peer gives one range from the lowest to the highest of ports ours lists apart (e.g. TCP 8000-8999 and a named port 50051 as 8000-50051): ours has every port of its answer, the peer also the gap between them, which no rule admits',
  unexplained: 'no reason known: a bug on one side',
};

/** The workload the peer reports a pod under: its controller owner `ns/name[Kind]`, else the pod. */
export function peerWorkloadOf(pod: V1Pod): string {
  const ns = pod.metadata?.namespace ?? 'default';
  const owners = pod.metadata?.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller);
  return owner ? `${ns}/${owner.name}[${owner.kind}]` : `${ns}/${pod.metadata?.name ?? ''}[Pod]`;
}

type Ranges = Map<string, [number, number][]>;

/** Canonical text of a port set: "All Connections", or "PROTO a-b,c,..." per protocol in name order. */
function canonical(ranges: Ranges): string {
  const protocols = ['SCTP', 'TCP', 'UDP'];
  const merged = new Map<string, [number, number][]>();
  for (const p of protocols) {
    const sorted = [...(ranges.get(p) ?? [])].sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const [a, b] of sorted) {
      const last = out[out.length - 1];
      if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
      else out.push([a, b]);
    }
    if (out.length) merged.set(p, out);
  }
  if (
    protocols.every((p) => merged.get(p)?.length === 1 && merged.get(p)![0][0] === 1 && merged.get(p)![0][1] === 65535)
  )
    return 'All Connections';
  return protocols
    .filter((p) => merged.has(p))
    .map(
      (p) =>
        `${p} ${merged
          .get(p)!
          .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`))
          .join(',')}`,
    )
    .join(';');
}

/**
 * Whether the peer's port set (canonical text) is ours with gaps between our ranges filled: per
 * protocol, each of its ranges starts where one of ours starts and ends where one of ours ends, and
 * together they cover ours. A wider answer of that one shape is the peer joining ranges.
 */
export function joinsRanges(mine: string, peer: string): boolean {
  if (!mine || !peer || mine === peer || peer === 'All Connections') return false;
  const [ours, theirs] = [parsePeerConn(mine.replaceAll(';', ',')), parsePeerConn(peer.replaceAll(';', ','))];
  if (mine === 'All Connections' || [...theirs.keys()].join() !== [...ours.keys()].join()) return false;
  for (const [protocol, peerRanges] of theirs) {
    const ourRanges = ours.get(protocol)!;
    const starts = new Set(ourRanges.map((r) => r[0]));
    const ends = new Set(ourRanges.map((r) => r[1]));
    if (!peerRanges.every(([a, b]) => starts.has(a) && ends.has(b))) return false;
    if (!ourRanges.every(([a, b]) => peerRanges.some(([x, y]) => x <= a && b <= y))) return false;
  }
  return true;
}

/** The peer's "TCP 80,8000-8999,UDP 53" (or "All Connections") as ranges. */
function parsePeerConn(conn: string): Ranges {
  const ranges: Ranges = new Map();
  if (conn === 'All Connections') {
    for (const p of ['SCTP', 'TCP', 'UDP']) ranges.set(p, [[1, 65535]]);
    return ranges;
  }
  let protocol = '';
  for (const token of conn.split(',')) {
    const m = /^(TCP|UDP|SCTP) (.+)$/.exec(token.trim());
    const range = m ? m[2] : token.trim();
    if (m) protocol = m[1];
    const [a, b] = range.split('-').map(Number);
    if (!protocol || !Number.isFinite(a)) continue;
    ranges.set(protocol, [...(ranges.get(protocol) ?? []), [a, Number.isFinite(b) ? b : a]]);
  }
  return ranges;
}

function addPortSet(ranges: Ranges, ports: PortSet): void {
  for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
    for (const r of ports[p]) ranges.set(p, [...(ranges.get(p) ?? []), [r.from, r.to]]);
  }
}

function ipv4(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number);
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

/** An IPv4 CIDR as an inclusive [first, last] range. */
function cidrRange(cidr: string): [number, number] {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits ?? 32));
  const first = Math.floor(ipv4(base) / size) * size;
  return [first, first + size - 1];
}

/**
 * Ours at workload granularity. Like the peer, a workload's first pod stands for it; a second replica is
 * kept as a source so replica-to-replica traffic shows. Other pods are dropped: each pair's answer does
 * not depend on the pods not in it, and external sources depend on the target alone.
 */
function ourWorkloadConnections(full: ClusterSnapshot): {
  pods: Map<string, Ranges>;
  external: Map<string, { cidr: string; except: string[]; ranges: Ranges }[]>;
} {
  const workloadOf = new Map<string, string>();
  const targets: PodRef[] = [];
  const kept: V1Pod[] = [];
  const seen = new Map<string, number>();
  for (const pod of full.pods) {
    const w = peerWorkloadOf(pod);
    const n = seen.get(w) ?? 0;
    seen.set(w, n + 1);
    if (n >= 2) continue;
    const ref = { namespace: pod.metadata?.namespace ?? 'default', name: pod.metadata?.name ?? '' };
    if (n === 0) targets.push(ref);
    kept.push(pod);
    workloadOf.set(`${ref.namespace}/${ref.name}`, w);
  }
  const world = compileWorld({ ...full, pods: kept });
  const pods = new Map<string, Ranges>();
  const external = new Map<string, { cidr: string; except: string[]; ranges: Ranges }[]>();
  for (let i = 0; i < targets.length; i += 16) {
    for (const c of connectionsOf(whoCan(world, { targets: targets.slice(i, i + 16) }), 'allowed')) {
      if (!('pod' in c.to)) continue;
      const dst = workloadOf.get(`${c.to.pod.namespace}/${c.to.pod.name}`)!;
      if ('pod' in c.from) {
        const key = `${workloadOf.get(`${c.from.pod.namespace}/${c.from.pod.name}`)}|${dst}`;
        const ranges = pods.get(key) ?? new Map();
        addPortSet(ranges, c.ports!);
        pods.set(key, ranges);
      } else {
        const ranges: Ranges = new Map();
        addPortSet(ranges, c.ports!);
        external.set(dst, [...(external.get(dst) ?? []), { ...c.from.ipBlock, ranges }]);
      }
    }
  }
  return { pods, external };
}

/** The snapshot with every pod's IPs removed: ipBlocks can then match no pod, as in the peer. */
function withoutPodIps(snapshot: ClusterSnapshot): ClusterSnapshot {
  return {
    ...snapshot,
    pods: snapshot.pods.map((p) => ({ ...p, status: { ...p.status, podIP: undefined, podIPs: undefined } })),
  };
}

/** Compares the peer's connections with ours, counting each difference under its reason. */
export function comparePeer(snapshot: ClusterSnapshot, entries: PeerEntry[]): PeerDifferences {
  const result: PeerDifferences = { agree: 0, reasons: {} };
  const count = (reason: string, example: string) => {
    const r = (result.reasons[reason] ??= { count: 0, why: REASONS[reason], examples: [] });
    r.count++;
    if (r.examples.length < 3) r.examples.push(example);
  };
  const ours = ourWorkloadConnections(snapshot);
  const oursNoIps = ourWorkloadConnections(withoutPodIps(snapshot));

  const isWorkload = (name: string) => name.endsWith(']');
  const theirs = new Map<string, string>();
  const theirsExternal = new Map<string, Map<string, string>>(); // dst -> range -> conn
  for (const e of entries) {
    if (e.conn === 'No Connections') continue;
    if (isWorkload(e.src) && isWorkload(e.dst)) theirs.set(`${e.src}|${e.dst}`, canonical(parsePeerConn(e.conn)));
    else if (isWorkload(e.dst)) {
      const m = theirsExternal.get(e.dst) ?? new Map<string, string>();
      m.set(e.src, canonical(parsePeerConn(e.conn)));
      theirsExternal.set(e.dst, m);
    } else count('egress-to-addresses', `${e.src} -> ${e.dst}: ${e.conn}`);
  }

  // Pod to pod, per workload pair.
  for (const key of new Set([...theirs.keys(), ...ours.pods.keys()])) {
    const [src, dst] = key.split('|');
    const mine = ours.pods.has(key) ? canonical(ours.pods.get(key)!) : '';
    const peer = theirs.get(key) ?? '';
    const example = `${src} -> ${dst}: ours ${mine || 'none'}, peer ${peer || 'none'}`;
    if (mine === peer) result.agree++;
    else if (src === dst && !peer) count('same-workload', example);
    else if ((oursNoIps.pods.has(key) ? canonical(oursNoIps.pods.get(key)!) : '') === peer)
      count('ipblock-pod-ips', example);
    else if (joinsRanges(mine, peer)) count('peer-joins-ranges', example);
    else count('unexplained', example);
  }

  // Addresses outside the cluster, per destination workload: the peer's disjoint IPv4 ranges against our blocks.
  const atoms = new Set<string>();
  for (const m of theirsExternal.values()) for (const range of m.keys()) atoms.add(range);
  const atomRanges = [...atoms].map((text) => {
    const [a, b] = text.includes('-') ? text.split('-').map(ipv4) : cidrRange(text);
    return { text, a, b };
  });
  for (const dst of new Set([...theirsExternal.keys(), ...ours.external.keys()])) {
    const mine = ours.external.get(dst) ?? [];
    for (const block of mine) if (block.cidr.includes(':')) count('ipv6-addresses', `${block.cidr} -> ${dst}`);
    const v4 = mine
      .filter((b) => !b.cidr.includes(':'))
      .map((b) => ({ range: cidrRange(b.cidr), except: b.except.map(cidrRange), ranges: b.ranges }));
    const peer = theirsExternal.get(dst) ?? new Map<string, string>();
    for (const atom of atomRanges) {
      const ranges: Ranges = new Map();
      for (const b of v4) {
        const inside = b.range[0] <= atom.a && atom.b <= b.range[1];
        const excepted = b.except.some(([x, y]) => atom.a <= y && x <= atom.b);
        if (inside && !excepted) for (const [p, r] of b.ranges) ranges.set(p, [...(ranges.get(p) ?? []), ...r]);
      }
      const mineText = ranges.size ? canonical(ranges) : '';
      const peerText = peer.get(atom.text) ?? '';
      if (!mineText && !peerText) continue;
      if (mineText === peerText) result.agree++;
      else if (joinsRanges(mineText, peerText))
        count('peer-joins-ranges', `${atom.text} -> ${dst}: ours ${mineText}, peer ${peerText}`);
      else count('unexplained', `${atom.text} -> ${dst}: ours ${mineText || 'none'}, peer ${peerText || 'none'}`);
    }
  }
  return result;
}
