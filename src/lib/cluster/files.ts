/**
 * The offline loader: manifests from files, directories and stdin (`-f`) become a ClusterSnapshot.
 * Reads YAML (multi-document) and JSON; never loads @kubernetes/client-node (types only).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

import type { V1LabelSelector, V1Namespace, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';

import type { ClusterNode, Workload, WorkloadKind } from '../engine/model.js';
import type { ClusterTierPolicy } from '../engine/tiers-compile.js';
import { NAMESPACE_NAME_LABEL } from '../engine/model.js';
import { compileSelector } from '../engine/selector.js';
import { workloadOf } from '../engine/targets.js';
import { ManifestError, UsageError } from '../errors.js';
import {
  checkContainers,
  checkLabels,
  checkNode,
  checkPod,
  checkSelector,
  checkService,
  checkStringMap,
  validateObject,
  type Located,
  type RawObject,
} from './manifest-checks.js';
import { isObject } from '../engine/json.js';
import { toTypedPolicy } from './policy-shape.js';
import { isTierPolicy, readTierPolicy, toClusterNode } from './tier-policies.js';
import type { LoadedSnapshot, ObjectOrigin } from './types.js';
import { readFastDocuments } from './yaml-stream.js';

/** Options of loadManifests. */
interface LoadManifestsOptions {
  /** What `-` reads: a string, a stream, or (when absent) process.stdin. */
  stdin?: NodeJS.ReadableStream | string;
  /** Namespace of objects that name none (kubectl's -n, else the context's); default 'default'. */
  defaultNamespace?: string;
}

/** The most pods one workload read from a file stands for: its replicas share their answers, so more adds only size. */
const MAX_REPLICAS = 1000;

/** Name `-` is reported under in messages. */
const STDIN_NAME = '<stdin>';
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** API groups each supported kind may come from (the group of apiVersion; '' is the core group). */
const KIND_GROUPS: Record<string, readonly string[]> = {
  Namespace: [''],
  Node: [''],
  Pod: [''],
  Service: [''],
  // extensions/v1beta1 NetworkPolicy has the same shape as networking.k8s.io/v1.
  NetworkPolicy: ['networking.k8s.io', 'extensions'],
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  DaemonSet: ['apps', 'extensions'],
  ReplicaSet: ['apps', 'extensions'],
  ReplicationController: [''],
  Job: ['batch'],
  CronJob: ['batch'],
};

const WORKLOAD_KINDS: ReadonlySet<string> = new Set<WorkloadKind>([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
]);

/** One manifest source once read: a file path (or `<stdin>`) and its text. */
interface Source {
  name: string;
  text: string;
  isJson: boolean;
}

/** Collects objects by kind/namespace/name; a later definition replaces an earlier one. */
class SnapshotBuilder {
  readonly warnings: string[] = [];
  private readonly namespaces = new Map<string, V1Namespace>();
  private readonly pods = new Map<string, V1Pod>();
  private readonly policies = new Map<string, V1NetworkPolicy>();
  private readonly services = new Map<string, V1Service>();
  private readonly workloads = new Map<string, Workload>();
  private readonly clusterPolicies = new Map<string, ClusterTierPolicy>();
  private readonly nodes = new Map<string, ClusterNode>();
  private readonly origins = new Map<string, ObjectOrigin>();
  private readonly mentionedNamespaces: string[] = [];
  private readonly skippedKinds = new Set<string>();
  /** Pods made for workloads (by ns/name), and the workload each stands for. */
  private readonly representatives = new Map<string, Workload>();
  /** The pods made for each workload (by kind/ns/name): what a redefinition of it replaces. */
  private readonly replicaIds = new Map<string, string[]>();
  /** DaemonSets, each modelled as one pod (said once, in one warning). */
  private readonly daemonSets: string[] = [];

  constructor(private readonly defaultNamespace: string) {}

  /** Adds one validated document; Lists are expanded, unsupported kinds skipped with a warning. */
  add(doc: Located): void {
    const obj = validateObject(doc);
    if (obj.kind === 'List' || obj.kind.endsWith('List')) {
      this.addList(obj, doc);
      return;
    }
    if (isTierPolicy(obj)) {
      const read = readTierPolicy(obj, doc);
      if ('warning' in read) this.warnings.push(read.warning);
      else this.put(this.clusterPolicies, obj.kind, obj.metadata.name, read.policy, doc);
      return;
    }
    const groups = KIND_GROUPS[obj.kind];
    if (!groups || !groups.includes(apiGroupOf(obj.apiVersion))) {
      this.skip(doc.file, obj);
      return;
    }
    if (obj.kind === 'Namespace') {
      this.addNamespace(obj, doc);
      return;
    }
    if (obj.kind === 'Node') {
      // Cluster-scoped: a namespace written on it is ignored, as the API server does.
      checkNode(obj, doc);
      this.put(this.nodes, 'Node', obj.metadata.name, toClusterNode(obj), doc);
      return;
    }
    const namespace = obj.metadata.namespace || this.defaultNamespace;
    obj.metadata.namespace = namespace;
    this.mentionedNamespaces.push(namespace);
    const id = `${namespace}/${obj.metadata.name}`;
    switch (obj.kind) {
      case 'Pod':
        checkPod(obj, doc);
        // A real pod of the name a workload's replica was given takes its place.
        if (this.representatives.delete(id)) this.pods.delete(id);
        this.put(this.pods, 'Pod', id, obj as V1Pod, doc);
        return;
      case 'Service':
        checkService(obj, doc);
        this.put(this.services, 'Service', id, obj as V1Service, doc);
        return;
      case 'NetworkPolicy':
        this.put(this.policies, 'NetworkPolicy', id, toTypedPolicy(obj), doc);
        return;
    }
    if (WORKLOAD_KINDS.has(obj.kind)) this.addWorkload(obj, obj.kind as WorkloadKind, doc);
  }

  /** Returns the snapshot, adding namespaces that objects mention but no manifest defines. */
  build(): LoadedSnapshot {
    this.dropRepresentativesOfLoadedPods();
    if (this.daemonSets.length > 0) {
      const shown = this.daemonSets.slice(0, 3).join(', ') + (this.daemonSets.length > 3 ? ', ...' : '');
      this.warnings.push(
        `${this.daemonSets.length} DaemonSet(s) (${shown}) run one pod per node; each is modelled as one pod, so traffic between its pods is not shown`,
      );
    }
    const implied = new Set<string>();
    for (const name of this.mentionedNamespaces) {
      if (!this.namespaces.has(name)) {
        implied.add(name);
        this.namespaces.set(name, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { [NAMESPACE_NAME_LABEL]: name } },
        });
      }
    }
    return {
      snapshot: {
        namespaces: [...this.namespaces.values()],
        pods: [...this.pods.values()],
        policies: [...this.policies.values()],
        services: [...this.services.values()],
        workloads: [...this.workloads.values()],
        ...(this.clusterPolicies.size > 0 ? { clusterPolicies: [...this.clusterPolicies.values()] } : {}),
        ...(this.nodes.size > 0 ? { nodes: [...this.nodes.values()] } : {}),
      },
      warnings: this.warnings,
      impliedNamespaces: [...implied],
      origins: this.origins,
    };
  }

  /**
   * A workload stands for its pods only when they were not loaded too (a `kubectl get deploy,pods -o yaml`
   * dump has both): pods it selects or owns make the pods made for it redundant, and wrong to count.
   */
  private dropRepresentativesOfLoadedPods(): void {
    const realByNamespace = new Map<string, V1Pod[]>();
    for (const [id, pod] of this.pods) {
      if (this.representatives.has(id)) continue;
      const ns = pod.metadata?.namespace ?? this.defaultNamespace;
      const list = realByNamespace.get(ns);
      if (list) list.push(pod);
      else realByNamespace.set(ns, [pod]);
    }
    const owned = new Map<Workload, boolean>();
    for (const [id, workload] of this.representatives) {
      let isOwned = owned.get(workload);
      if (isOwned === undefined) {
        const selector = workload.selector ? compileSelector(workload.selector) : undefined;
        isOwned = (realByNamespace.get(workload.namespace) ?? []).some((pod) => {
          const owner = workloadOf(pod);
          if (owner.kind === workload.kind && owner.name === workload.name) return true;
          return selector !== undefined && !selector.isEverything && selector.matches(pod.metadata?.labels ?? {});
        });
        owned.set(workload, isOwned);
      }
      if (isOwned) this.pods.delete(id);
    }
  }

  private addList(list: RawObject, doc: Located): void {
    const items = list.items ?? [];
    if (!Array.isArray(items))
      throw new ManifestError(`${list.kind} has items that are not a list`, doc.file, doc.line);
    const { itemLines } = doc;
    // Typed lists from the API (PodList) omit kind and apiVersion on their items.
    const impliedKind = list.kind === 'List' ? undefined : list.kind.slice(0, -'List'.length);
    items.forEach((item: unknown, index) => {
      if (item === null || item === undefined) return;
      if (impliedKind && isObject(item)) {
        item.kind ??= impliedKind;
        item.apiVersion ??= list.apiVersion;
      }
      this.add({ value: item, file: doc.file, line: itemLines?.[index] ?? doc.line });
    });
  }

  private addNamespace(obj: RawObject, doc: Located): void {
    // The API server always sets this label to the namespace's name.
    obj.metadata.labels = { ...obj.metadata.labels, [NAMESPACE_NAME_LABEL]: obj.metadata.name };
    this.put(this.namespaces, 'Namespace', obj.metadata.name, obj as V1Namespace, doc);
  }

  private addWorkload(obj: RawObject, kind: WorkloadKind, doc: Located): void {
    const spec = isObject(obj.spec) ? obj.spec : {};
    const jobSpec = kind === 'CronJob' && isObject(spec.jobTemplate) ? spec.jobTemplate.spec : undefined;
    const template = kind === 'CronJob' ? (isObject(jobSpec) ? jobSpec.template : undefined) : spec.template;
    const templateObj = isObject(template) ? template : {};
    const templateMeta = isObject(templateObj.metadata) ? templateObj.metadata : {};
    const templateSpec = isObject(templateObj.spec) ? templateObj.spec : {};
    const templateLabels = checkLabels(templateMeta.labels, doc, 'spec.template.metadata.labels') ?? {};
    const problem =
      checkContainers(templateSpec.containers, 'spec.template.spec.containers') ??
      (kind === 'ReplicationController'
        ? checkStringMap(spec.selector, 'spec.selector')
        : checkSelector(spec.selector));
    if (problem) throw new ManifestError(`${kind} ${obj.metadata.name}: ${problem}`, doc.file, doc.line);
    const { name, namespace = this.defaultNamespace } = obj.metadata;
    const workload: Workload = { kind, namespace, name, templateLabels };
    const selector = toSelector(kind, spec.selector);
    if (selector) workload.selector = selector;
    this.put(this.workloads, kind, `${namespace}/${name}`, workload, doc);

    // The workload stands for the pods its controller would make: spec.replicas of them (docs/semantics.md).
    const key = `${kind}/${namespace}/${name}`;
    for (const id of this.replicaIds.get(key) ?? []) {
      if (this.representatives.delete(id)) this.pods.delete(id);
    }
    const count = this.replicaCount(kind, `${namespace}/${name}`, kind === 'CronJob' ? jobSpec : spec, doc);
    const containers = Array.isArray(templateSpec.containers) ? templateSpec.containers : [];
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const podName = `${name}-${index}`;
      const id = `${namespace}/${podName}`;
      // A real pod of that name, read earlier, keeps its place.
      if (this.pods.has(id) && !this.representatives.has(id)) continue;
      const labels: Record<string, string> = { ...templateLabels };
      if (kind === 'StatefulSet') {
        // What the StatefulSet controller puts on each of its pods.
        labels['statefulset.kubernetes.io/pod-name'] = podName;
        labels['apps.kubernetes.io/pod-index'] = String(index);
      }
      const pod: V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace,
          labels,
          ownerReferences: [{ apiVersion: obj.apiVersion, kind, name, uid: '', controller: true }],
        },
        spec: { containers },
      };
      if (templateSpec.hostNetwork === true) pod.spec!.hostNetwork = true;
      this.pods.set(id, pod);
      this.representatives.set(id, workload);
      ids.push(id);
    }
    this.replicaIds.set(key, ids);
  }

  /**
   * How many pods a workload stands for: spec.replicas (Deployment, StatefulSet, ReplicaSet,
   * ReplicationController; default 1), spec.parallelism (Job, and a CronJob's job; default 1), one for
   * a DaemonSet (one per node: said in a warning), at most MAX_REPLICAS (said in a warning).
   */
  private replicaCount(kind: WorkloadKind, ref: string, spec: unknown, doc: Located): number {
    if (kind === 'DaemonSet') {
      this.daemonSets.push(ref);
      return 1;
    }
    const field = kind === 'Job' || kind === 'CronJob' ? 'parallelism' : 'replicas';
    const value = isObject(spec) ? spec[field] : undefined;
    if (value === undefined || value === null) return 1;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new ManifestError(`${kind} ${ref}: spec.${field} must be a whole number`, doc.file, doc.line);
    }
    if (value > MAX_REPLICAS) {
      this.warnings.push(
        `${doc.file}:${doc.line}: ${kind} ${ref} has ${value} replicas; modelled as ${MAX_REPLICAS} (pods of one workload share their answers)`,
      );
      return MAX_REPLICAS;
    }
    return value;
  }

  /** Stores an object under kind/id; returns false (after warning) when it replaces an earlier one. */
  private put<T>(map: Map<string, T>, kind: string, id: string, value: T, doc: Located, quiet = false): boolean {
    const originKey = `${kind}/${id}`;
    // Every object with an origin is in its map, so a new id needs no look-up of origins.
    const earlier = map.has(id) ? this.origins.get(originKey) : undefined;
    if (earlier && !quiet) {
      this.warnings.push(
        `${doc.file}:${doc.line}: ${kind} ${id} is also defined at ${earlier.file}:${earlier.line}; using the later one`,
      );
    }
    this.origins.set(originKey, { file: doc.file, line: doc.line });
    map.set(id, value);
    return !earlier;
  }

  private skip(file: string, obj: RawObject): void {
    const what = KIND_GROUPS[obj.kind] ? `${obj.kind} (${obj.apiVersion})` : obj.kind;
    const key = `${file}\0${what}`;
    if (this.skippedKinds.has(key)) return;
    this.skippedKinds.add(key);
    this.warnings.push(`${file}: skipped kind ${what} (not used by network policy)`);
  }
}

/** Reads manifests from files, directories (recursively: .yaml, .yml, .json) and `-` (stdin). */
export async function loadManifests(paths: string[], opts: LoadManifestsOptions = {}): Promise<LoadedSnapshot> {
  if (paths.filter((p) => p === '-').length > 1) {
    throw new UsageError('-f - (stdin) can be given only once');
  }
  const builder = new SnapshotBuilder(opts.defaultNamespace || 'default');
  let documents = 0;
  for (const path of paths) {
    const sources = path === '-' ? [await readStdin(opts.stdin ?? process.stdin)] : await readPath(path);
    for (const source of sources) {
      for (const doc of await parseSource(source)) {
        builder.add(doc);
        documents++;
      }
    }
  }
  const loaded = builder.build();
  // An empty answer from empty files would look like "nothing can reach anything": say why.
  if (documents === 0) {
    const where = paths.map((p) => (p === '-' ? STDIN_NAME : p)).join(', ');
    loaded.warnings.push(`${where}: no Kubernetes objects found`);
  }
  return loaded;
}

/** Reads a file, or every manifest file below a directory in sorted order. */
async function readPath(path: string): Promise<Source[]> {
  const info = await stat(path).catch((err: unknown) => failRead(err, path));
  if (!info.isDirectory()) return [await readSource(path)];
  const files = await listManifestFiles(path);
  return Promise.all(files.map(readSource));
}

/** Lists manifest files under a directory, recursively, sorted by path for determinism. */
async function listManifestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => failRead(err, dir));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listManifestFiles(full)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(full);
  }
  return files;
}

async function readSource(path: string): Promise<Source> {
  const text = await readFile(path, 'utf8').catch((err: unknown) => failRead(err, path));
  return { name: path, text, isJson: extname(path).toLowerCase() === '.json' };
}

async function readStdin(stdin: NodeJS.ReadableStream | string): Promise<Source> {
  if (typeof stdin === 'string') return { name: STDIN_NAME, text: stdin, isJson: false };
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  } catch (err) {
    throw new ManifestError(`cannot read: ${(err as Error).message}`, STDIN_NAME);
  }
  return { name: STDIN_NAME, text: Buffer.concat(chunks).toString('utf8'), isJson: false };
}

/** Turns a filesystem error into a ManifestError with a hint; never returns. */
function failRead(err: unknown, path: string): never {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    throw new ManifestError('no such file or directory', path, undefined, 'check the path given to -f/--filename');
  }
  if (code === 'EACCES' || code === 'EPERM') {
    throw new ManifestError('permission denied', path, undefined, 'make the file readable or pass it on stdin (-f -)');
  }
  throw new ManifestError(`cannot read: ${(err as Error).message}`, path);
}

/** Splits a source into its non-empty documents, each with its 1-based line. */
async function parseSource(source: Source): Promise<Located[]> {
  return source.isJson ? parseJson(source) : parseYaml(source);
}

function parseJson(source: Source): Located[] {
  const line = firstContentLine(source.text, 0);
  let value: unknown;
  try {
    value = JSON.parse(source.text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    const errorLine = position ? lineAt(source.text, Number(position[1])) : source.text.split('\n').length;
    throw new ManifestError(
      `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      source.name,
      errorLine,
    );
  }
  if (value === null) return [];
  return [{ value, file: source.name, line }];
}

async function parseYaml(source: Source): Promise<Located[]> {
  // The documents are new objects: naming their file on them saves a copy of each (100k at 100k pods).
  const fast = readFastDocuments(source.text);
  // js-yaml and the `yaml` package are loaded only for a stream the fast readers leave a document of.
  const documents = (
    fast.rest !== 'whole' && fast.rest.length === 0
      ? fast.documents
      : (await import('./yaml-documents.js')).finishYamlDocuments(source.text, source.name, fast)
  ) as Located[];
  for (const doc of documents) doc.file = source.name;
  return documents;
}

/** The 1-based line holding the character at `offset`. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The 1-based line of the first non-blank character from `offset`. */
function firstContentLine(text: string, offset: number): number {
  const match = /\S/.exec(text.slice(offset));
  return lineAt(text, offset + (match ? match.index : 0));
}

/** spec.selector as a LabelSelector; ReplicationController's map form becomes matchLabels. */
function toSelector(kind: WorkloadKind, selector: unknown): V1LabelSelector | undefined {
  if (!isObject(selector)) return undefined;
  if (kind === 'ReplicationController') return { matchLabels: { ...(selector as Record<string, string>) } };
  return selector as V1LabelSelector;
}

function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
