/** Helpers for the e2e tier: kubectl against the test cluster, fresh namespaces, scenario worlds
 * (namespaces, pods with IPs, network policies) and the built CLI run as a subprocess. The cluster
 * comes from test/e2e/global-setup.ts through KUBECONFIG. */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { runningStatus } from '../../bench/kubelet-status.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Extra environment, on top of the test process's (less NODE_OPTIONS, see childEnv). */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin, which is otherwise empty (never a TTY). */
  input?: string;
  cwd?: string;
}

/** Root of the repository (set by global-setup; the working directory of `npm run test:e2e`). */
export const repoRoot = process.env.E2E_REPO_ROOT ?? process.cwd();

/** The kubectl the helpers run: global-setup's choice, else the one on PATH. */
export const kubectlPath = process.env.E2E_KUBECTL ?? 'kubectl';

/** Environment for children: jest's NODE_OPTIONS (--experimental-vm-modules) would make every
 * node child print an ExperimentalWarning on stderr, so it is dropped. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs a program to completion and collects its exit code and output; never throws on exit code. */
function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env: childEnv(options.env) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
    child.stdin.end(options.input ?? '');
  });
}

interface KubectlOptions extends RunOptions {
  /** kubeconfig context; default: the current context (`e2e`, the admin). */
  context?: string;
  /** Resolve with a non-zero result instead of throwing. */
  allowFailure?: boolean;
}

/** Runs kubectl with the test cluster's KUBECONFIG; throws with kubectl's stderr when it fails. */
export async function kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<RunResult> {
  const fullArgs = options.context ? [`--context=${options.context}`, ...args] : [...args];
  const result = await run(kubectlPath, fullArgs, options);
  if (result.code !== 0 && !options.allowFailure) {
    throw new Error(`kubectl ${fullArgs.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result;
}

/** A fresh, unique namespace name (`t-<8 hex>`); this cluster runs no namespace controller, so
 * names are never reused and namespaces are left behind rather than deleted. */
export function uniqueNamespaceName(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Creates a fresh namespace (optionally labelled) and returns its name. */
export async function createNamespace(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueNamespaceName();
  await kubectl(['apply', '-f', '-'], {
    input: stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }),
  });
  return name;
}

/** Logical namespace name in a scenario's YAML -> real namespace in the cluster. */
export type NamespaceMapping = Record<string, string>;

interface WorldPod {
  namespace: string;
  name: string;
  podIP: string;
  hostIP: string;
}

interface World {
  namespaces: string[];
  pods: WorldPod[];
  networkPolicies: { namespace: string; name: string }[];
}

type Manifest = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';
const DEFAULT_HOST_IP = '192.0.2.1'; // TEST-NET-1: data only, never dialled
// Jest loads this module afresh for every test file, so start at a random point of 10.244.0.0/16
// to keep automatic IPs of different files apart in the one shared cluster.
let nextPodIndex = randomInt(1, 60_000);

/** Next automatic pod IP in 10.244.0.0/16 (data only: nothing listens there). */
function allocatePodIP(): string {
  let index = nextPodIndex++;
  while ((index & 255) === 0 || (index & 255) === 255) index = nextPodIndex++;
  return `10.244.${(index >> 8) & 255}.${index & 255}`;
}

function mapNamespace(mapping: NamespaceMapping, name: string | undefined): string {
  const logical = name ?? 'default';
  return mapping[logical] ?? logical;
}

/** Rewrites `kubernetes.io/metadata.name` values in a namespaceSelector through the mapping, so a
 * scenario written against logical names still selects the real namespaces. */
function rewriteNamespaceSelectors(value: unknown, mapping: NamespaceMapping): void {
  if (Array.isArray(value)) {
    value.forEach((item) => rewriteNamespaceSelectors(item, mapping));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  const selector = record.namespaceSelector as
    { matchLabels?: Record<string, string>; matchExpressions?: { key: string; values?: string[] }[] } | undefined;
  if (selector && typeof selector === 'object') {
    const labels = selector.matchLabels;
    if (labels?.[METADATA_NAME_LABEL] !== undefined) {
      labels[METADATA_NAME_LABEL] = mapNamespace(mapping, labels[METADATA_NAME_LABEL]);
    }
    for (const expression of selector.matchExpressions ?? []) {
      if (expression.key === METADATA_NAME_LABEL && expression.values) {
        expression.values = expression.values.map((v) => mapNamespace(mapping, v));
      }
    }
  }
  Object.values(record).forEach((child) => rewriteNamespaceSelectors(child, mapping));
}

/**
 * Creates a scenario in the cluster from YAML (one or more documents, `List`s allowed): Namespaces,
 * Pods, NetworkPolicies and anything else kubectl can apply. Namespaces are renamed through
 * `mapping` (objects without a namespace go to mapping.default ?? `default`), as are
 * `kubernetes.io/metadata.name` values in namespaceSelectors. Each Pod then gets a running status
 * through the status subresource: `status.podIP`/`status.hostIP` from the manifest if given, else
 * an allocated 10.244.x.y and 192.0.2.1 (hostNetwork pods get the host IP). Pods without
 * containers get a placeholder one, since nothing ever runs them.
 */
export async function applyWorld(mapping: NamespaceMapping, manifests: string): Promise<World> {
  const objects: Manifest[] = [];
  for (const document of parseAllDocuments(manifests)) {
    if (document.errors.length > 0) throw new Error(`applyWorld: bad YAML: ${document.errors[0].message}`);
    const value = document.toJS() as (Manifest & { items?: Manifest[] }) | null;
    if (!value) continue;
    objects.push(...(value.kind === 'List' ? (value.items ?? []) : [value]));
  }

  const world: World = { namespaces: [], pods: [], networkPolicies: [] };
  const statuses: { pod: WorldPod; status: Record<string, unknown> }[] = [];
  const toApply: Manifest[] = [];
  for (const original of objects) {
    const object = structuredClone(original);
    object.metadata ??= {};
    if (object.kind === 'Namespace') {
      object.metadata.name = mapNamespace(mapping, object.metadata.name);
      world.namespaces.push(object.metadata.name);
    } else {
      object.metadata.namespace = mapNamespace(mapping, object.metadata.namespace);
    }
    rewriteNamespaceSelectors(object.spec, mapping);
    if (object.kind === 'Pod') {
      const spec = (object.spec ??= {});
      if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
        spec.containers = [{ name: 'main', image: 'example.invalid/none:0' }];
      }
      const given = object.status ?? {};
      const hostIP = typeof given.hostIP === 'string' ? given.hostIP : DEFAULT_HOST_IP;
      const podIP =
        typeof given.podIP === 'string' ? given.podIP : spec.hostNetwork === true ? hostIP : allocatePodIP();
      const pod: WorldPod = { namespace: object.metadata.namespace!, name: object.metadata.name!, podIP, hostIP };
      world.pods.push(pod);
      const status = runningStatus(podIP, hostIP);
      if (Array.isArray(given.podIPs)) status.podIPs = given.podIPs;
      if (Array.isArray(given.hostIPs)) status.hostIPs = given.hostIPs;
      statuses.push({ pod, status });
    } else if (object.kind === 'NetworkPolicy') {
      world.networkPolicies.push({ namespace: object.metadata.namespace!, name: object.metadata.name! });
    }
    delete object.status;
    toApply.push(object);
  }

  // Namespaces first, so the objects in them can be created in the same run.
  const ordered = [...toApply.filter((o) => o.kind === 'Namespace'), ...toApply.filter((o) => o.kind !== 'Namespace')];
  if (ordered.length > 0) {
    // kubectl reads YAML 1.1, where an unquoted y, n, yes, on... is a boolean: quote such strings
    // (the conformance worlds label namespaces `ns: y`).
    const input = ordered.map((o) => stringify(o, { version: '1.1' })).join('---\n');
    await kubectl(['apply', '-f', '-'], { input });
  }
  for (const { pod, status } of statuses) {
    await kubectl([
      'patch',
      'pod',
      pod.name,
      `--namespace=${pod.namespace}`,
      '--subresource=status',
      '--type=merge',
      `--patch=${JSON.stringify({ status })}`,
    ]);
  }
  return world;
}

/** Runs the built CLI (`node bin/run.js ...`, built by `npm run build`) as a user would. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin', 'run.js'), ...args], options);
}

let pluginDir: string | undefined;

/** A temporary directory holding an executable `kubectl-netpol` that runs bin/run.js: a symlink
 * when bin/run.js is executable (as after `npm install -g`), else a small sh wrapper. */
export function pluginPathDir(): string {
  if (pluginDir) return pluginDir;
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-netpol-plugin-'));
  const entry = join(repoRoot, 'bin', 'run.js');
  const target = join(dir, 'kubectl-netpol');
  let executable = true;
  try {
    accessSync(entry, constants.X_OK);
  } catch {
    executable = false;
  }
  if (executable) symlinkSync(entry, target);
  else writeFileSync(target, `#!/bin/sh\nexec "${process.execPath}" "${entry}" "$@"\n`, { mode: 0o755 });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  pluginDir = dir;
  return dir;
}

/** Runs `kubectl netpol ...` through kubectl's plugin mechanism (flags go after `netpol`). */
export function runViaKubectl(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const path = `${pluginPathDir()}:${options.env?.PATH ?? process.env.PATH ?? ''}`;
  return run(kubectlPath, ['netpol', ...args], { ...options, env: { ...options.env, PATH: path } });
}

/** A workload of a manifest stream, as far as the helpers read it. */
interface WorkloadManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: Record<string, unknown> };
  };
}

/** kube-controller-manager's alphabet for generated name suffixes (no vowels, no look-alikes). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function suffix(length: number): string {
  return Array.from({ length }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join('');
}

/**
 * Makes the pods the controllers would make for the Deployments and StatefulSets of `manifests`
 * (already applied through applyWorld with `mapping`): this cluster runs no controllers. A Deployment
 * gets a ReplicaSet `NAME-<hash>` (owned by it, labelled pod-template-hash) and spec.replicas pods
 * `NAME-<hash>-<5 chars>` owned by the ReplicaSet; a StatefulSet gets pods `NAME-0..N-1` with the
 * labels its controller sets. Pods are left Pending, without an IP, like pods read from files.
 * Returns how many pods were created.
 */
export async function createControllerPods(mapping: NamespaceMapping, manifests: string): Promise<number> {
  const workloads: WorkloadManifest[] = [];
  for (const document of parseAllDocuments(manifests)) {
    const value = document.toJS() as (WorkloadManifest & { items?: WorkloadManifest[] }) | null;
    for (const object of value?.kind === 'List' ? (value.items ?? []) : value ? [value] : []) {
      if (object.kind === 'Deployment' || object.kind === 'StatefulSet') workloads.push(object);
    }
  }
  const uidOf = async (resource: string, name: string, namespace: string): Promise<string> =>
    (await kubectl(['get', resource, name, '-n', namespace, '-o', 'jsonpath={.metadata.uid}'])).stdout;
  const pods: unknown[] = [];
  for (const workload of workloads) {
    const namespace = mapNamespace(mapping, workload.metadata.namespace);
    const { name } = workload.metadata;
    const replicas = workload.spec.replicas ?? 1;
    const labels = workload.spec.template.metadata?.labels ?? {};
    const owner = (apiVersion: string, kind: string, ownerName: string, uid: string) => [
      { apiVersion, kind, name: ownerName, uid, controller: true, blockOwnerDeletion: true },
    ];
    const workloadUid = await uidOf(workload.kind.toLowerCase(), name, namespace);
    if (workload.kind === 'Deployment') {
      const hash = suffix(10);
      const replicaSet = `${name}-${hash}`;
      const rsLabels = { ...labels, 'pod-template-hash': hash };
      await kubectl(['create', '-f', '-'], {
        input: stringify({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: replicaSet,
            namespace,
            labels: rsLabels,
            ownerReferences: owner(workload.apiVersion, 'Deployment', name, workloadUid),
          },
          spec: {
            replicas,
            selector: { matchLabels: { ...workload.spec.selector?.matchLabels, 'pod-template-hash': hash } },
            template: { metadata: { labels: rsLabels }, spec: workload.spec.template.spec },
          },
        }),
      });
      const rsUid = await uidOf('replicaset', replicaSet, namespace);
      for (let i = 0; i < replicas; i++) {
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${replicaSet}-${suffix(5)}`,
            namespace,
            labels: rsLabels,
            ownerReferences: owner('apps/v1', 'ReplicaSet', replicaSet, rsUid),
          },
          spec: workload.spec.template.spec,
        });
      }
    } else {
      const revision = `${name}-${suffix(10)}`;
      for (let i = 0; i < replicas; i++) {
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${name}-${i}`,
            namespace,
            labels: {
              ...labels,
              'controller-revision-hash': revision,
              'statefulset.kubernetes.io/pod-name': `${name}-${i}`,
              'apps.kubernetes.io/pod-index': String(i),
            },
            ownerReferences: owner(workload.apiVersion, 'StatefulSet', name, workloadUid),
          },
          spec: workload.spec.template.spec,
        });
      }
    }
  }
  if (pods.length > 0) {
    await kubectl(['create', '-f', '-'], { input: stringify({ apiVersion: 'v1', kind: 'List', items: pods }) });
  }
  return pods.length;
}
