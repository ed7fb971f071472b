/**
 * Writing policies safely, for every mutating command: the managed-by label that marks what
 * kubectl-netpol created, then a set of changes checked against what exists (never touching a policy
 * it did not create unless asked), sent first as a server-side dry run, and rolled back when one fails
 * half-way. NetworkPolicies and cluster-scoped objects (ClusterNetworkPolicy, `isolate --baseline`)
 * take the same path, each through its ObjectStore. The flags are write-flags.ts; the lines printed,
 * output/write.ts.
 */
import { isDeepStrictEqual } from 'node:util';

import type { V1NetworkPolicy } from '@kubernetes/client-node';

import { toManifest } from './cluster/policy-shape.js';
import type { ClusterApi, ClusterObject, ClusterResource } from './cluster/types.js';
import { NetpolError, UsageError } from './errors.js';
import type { PolicyRef } from './engine/model.js';
import { isObjectAt, keyOf, refOf } from './engine/model.js';
import type { WriteOptions } from './cluster/types.js';
import type { DryRunMode } from './write-flags.js';

/** The label kubectl-netpol puts on what it creates, and looks for before it changes or deletes anything. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The value of MANAGED_BY_LABEL on objects kubectl-netpol created. */
export const MANAGED_BY_VALUE = 'kubectl-netpol';
/** Whether kubectl-netpol created this object (it carries the managed-by label). */
export function isManagedByUs(policy: { metadata?: { labels?: Record<string, string> } } | undefined): boolean {
  return policy?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** One change to make: create-or-replace a policy, or delete one. */
export type PolicyChange =
  { action: 'apply'; policy: V1NetworkPolicy } | { action: 'delete'; namespace: string; name: string };

/** What happened (or, in a dry run, would happen) to one object, in kubectl's words. */
export type WriteVerb = 'created' | 'configured' | 'unchanged' | 'deleted';

/** What the write path handles: an object with metadata (labels, resourceVersion) and a spec. */
interface WritableObject {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  spec?: unknown;
}

/** The outcome of one change (namespace '' for a cluster-scoped object). */
export interface WriteOutcome<T extends WritableObject = V1NetworkPolicy> {
  namespace: string;
  name: string;
  verb: WriteVerb;
  /** The object as sent (apply) or as it was (delete), in manifest shape. */
  object: T;
  /** The object it replaced or deleted, when there was one. */
  previous?: T;
  /** True when it replaced a policy kubectl-netpol did not create (--overwrite). */
  replacedForeign: boolean;
}

/** How writePolicies reaches the objects: the live API, or (client dry run offline) the snapshot's policies. */
interface WriteTarget<T = V1NetworkPolicy> {
  /** The API; undefined offline (-f), where only --dry-run=client is possible. */
  api?: ClusterApi;
  /** Objects known without the API (the snapshot's), used when api is undefined. */
  existing?: T[];
  settings: { dryRun: DryRunMode; fieldManager: string; overwrite: boolean };
}

/**
 * How the write path reaches one kind of object: read, create, replace and delete by reference, its
 * manifest shape, and the words messages name it with.
 */
interface ObjectStore<T extends WritableObject> {
  /** How messages name one object: `networkpolicy NS/NAME`, `clusternetworkpolicy NAME`. */
  describe(ref: PolicyRef): string;
  /** What `kubectl get` lists them as, for hints. */
  resource: string;
  read(ref: PolicyRef): Promise<T | undefined>;
  create(ref: PolicyRef, body: T, opts: WriteOptions): Promise<unknown>;
  replace(ref: PolicyRef, body: T, opts: WriteOptions): Promise<unknown>;
  delete(ref: PolicyRef, opts: Pick<WriteOptions, 'dryRun'>): Promise<void>;
  /** The object as a manifest: what is sent, compared and printed. */
  manifest(object: T): T;
}

/** NetworkPolicies through the API, or offline through the snapshot's. */
function networkPolicyStore(target: WriteTarget): ObjectStore<V1NetworkPolicy> {
  const { api } = target;
  const need = (): ClusterApi => api!;
  return {
    describe: (ref) => `networkpolicy ${keyOf(ref)}`,
    resource: 'networkpolicy',
    read: async (ref) =>
      api ? api.readNetworkPolicy(ref.namespace, ref.name) : target.existing?.find((p) => isObjectAt(p, ref)),
    create: (ref, body, opts) => need().createNetworkPolicy(ref.namespace, body, opts),
    replace: (ref, body, opts) => need().replaceNetworkPolicy(ref.namespace, ref.name, body, opts),
    delete: (ref, opts) => need().deleteNetworkPolicy(ref.namespace, ref.name, opts),
    manifest: toManifest,
  };
}

/** Cluster-scoped objects of one resource (ClusterNetworkPolicy at one version) through the API, or offline through the snapshot's. */
export function clusterObjectStore(
  resource: ClusterResource,
  kind: string,
  target: WriteTarget<ClusterObject>,
): ObjectStore<ClusterObject> {
  const { api } = target;
  const need = (): ClusterApi => api!;
  const noun = kind.toLowerCase();
  return {
    describe: (ref) => `${noun} ${ref.name}`,
    resource: `${resource.plural}.${resource.group}`,
    read: async (ref) =>
      api ? api.readClusterObject(resource, ref.name) : target.existing?.find((o) => o.metadata.name === ref.name),
    create: (_ref, body, opts) => need().createClusterObject(resource, body, opts),
    replace: (ref, body, opts) => need().replaceClusterObject(resource, ref.name, body, opts),
    delete: (ref, opts) => need().deleteClusterObject(resource, ref.name, opts),
    manifest: (object) => clusterManifest(object, `${resource.group}/${resource.version}`, kind),
  };
}

/** A cluster-scoped object as a manifest: apiVersion, kind, name, labels and annotations, spec. */
function clusterManifest(object: ClusterObject, apiVersion: string, kind: string): ClusterObject {
  const { name, labels, annotations } = object.metadata;
  const metadata: ClusterObject['metadata'] = { name };
  if (labels && Object.keys(labels).length > 0) metadata.labels = { ...labels };
  if (annotations && Object.keys(annotations).length > 0) metadata.annotations = { ...annotations };
  return { apiVersion, kind, metadata, spec: structuredClone(object.spec) };
}

/** A write that failed; says what was rolled back and what could not be. */
class WriteError extends NetpolError {}

/** One change to make to any kind of object: create-or-replace, or delete, by reference. */
export type ObjectChange<T> = { action: 'apply'; ref: PolicyRef; object: T } | { action: 'delete'; ref: PolicyRef };

const toObjectChange = (change: PolicyChange): ObjectChange<V1NetworkPolicy> =>
  change.action === 'apply'
    ? { action: 'apply', ref: refOf(change.policy), object: change.policy }
    : { action: 'delete', ref: { namespace: change.namespace, name: change.name } };

/** Changes checked against what exists, ready to send: from planWrites, for executeWrites. */
interface WritePlan<T extends WritableObject = V1NetworkPolicy> {
  store: ObjectStore<T>;
  steps: Step<T>[];
}

/** One checked change: what it does, its outcome, and the object it found. */
interface Step<T extends WritableObject> {
  change: ObjectChange<T>;
  outcome: WriteOutcome<T>;
  current?: T;
}

/**
 * Checks every change against what exists before anything is sent: an existing object of that name
 * that kubectl-netpol did not create is refused unless `overwrite` (one error naming all of them), a
 * delete of something already gone is dropped, and an identical object of ours is `unchanged`.
 */
export async function planWrites(changes: PolicyChange[], target: WriteTarget): Promise<WritePlan> {
  return planObjectWrites(networkPolicyStore(target), changes.map(toObjectChange), target);
}

/** planWrites for any kind of object, through its store (clusterObjectStore for a ClusterNetworkPolicy). */
export async function planObjectWrites<T extends WritableObject>(
  store: ObjectStore<T>,
  changes: ObjectChange<T>[],
  target: Pick<WriteTarget, 'api' | 'settings'>,
): Promise<WritePlan<T>> {
  const { api, settings } = target;
  if (!api && settings.dryRun !== 'client') {
    throw new UsageError('writing needs a cluster', 'use --dry-run=client with -f');
  }
  const steps: Step<T>[] = [];
  const refused: string[] = [];
  for (const change of changes) {
    const { ref } = change;
    const current = await store.read(ref);
    if (change.action === 'delete' && !current) continue;
    const isForeign = current !== undefined && !isManagedByUs(current);
    if (isForeign && !settings.overwrite) refused.push(store.describe(ref));
    const object = store.manifest(change.action === 'apply' ? change.object : current!);
    const verb: WriteVerb =
      change.action === 'delete'
        ? 'deleted'
        : !current
          ? 'created'
          : !isForeign && sameContent(store.manifest(current), object)
            ? 'unchanged'
            : 'configured';
    steps.push({
      change,
      current,
      outcome: {
        ...ref,
        verb,
        object,
        previous: current ? store.manifest(current) : undefined,
        replacedForeign: isForeign && change.action === 'apply',
      },
    });
  }
  if (refused.length > 0) {
    const what = refused.join(', ');
    throw new NetpolError(
      `${what} already exist${refused.length === 1 ? 's' : ''} and ${refused.length === 1 ? 'was' : 'were'} not created by kubectl-netpol (no label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); nothing was written`,
      1,
      'choose another name with --name, or pass --overwrite to replace it',
    );
  }
  return { store, steps };
}

/**
 * Sends a checked plan: nothing with `dryRun: 'client'`; live, every write first as a server-side dry
 * run (admission, validation and RBAC refuse before anything changes), then the writes in order, and if
 * one fails half-way, undoes the ones made and says what became of each (see reportFailure).
 */
export async function executeWrites<T extends WritableObject>(
  plan: WritePlan<T>,
  target: Pick<WriteTarget, 'api' | 'settings'>,
): Promise<WriteOutcome<T>[]> {
  const { api, settings } = target;
  const { store } = plan;
  const outcomes = plan.steps.map((step) => step.outcome);
  if (settings.dryRun === 'client' || !api) return outcomes;
  const toSend = plan.steps.filter((step) => step.outcome.verb !== 'unchanged');
  for (const step of toSend) {
    await send(store, step, { dryRun: 'All', fieldManager: settings.fieldManager });
  }
  if (settings.dryRun === 'server') return outcomes;
  const done: Step<T>[] = [];
  for (const step of toSend) {
    try {
      await send(store, step, { fieldManager: settings.fieldManager });
      done.push(step);
    } catch (error) {
      throw await reportFailure(store, done, step, error, settings.fieldManager);
    }
  }
  return outcomes;
}

/** Checks all changes, then makes them safely: planWrites followed by executeWrites. */
export async function writePolicies(changes: PolicyChange[], target: WriteTarget): Promise<WriteOutcome[]> {
  return executeWrites(await planWrites(changes, target), target);
}

async function send<T extends WritableObject>(
  store: ObjectStore<T>,
  { change, current }: Step<T>,
  opts: { dryRun?: 'All'; fieldManager: string },
): Promise<void> {
  const { ref } = change;
  if (change.action === 'delete') {
    await store.delete(ref, { dryRun: opts.dryRun });
    return;
  }
  const body = store.manifest(change.object);
  if (!current) {
    await store.create(ref, body, opts);
    return;
  }
  // An optimistic update: if someone changed it since we read it, the server answers 409.
  body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
  await store.replace(ref, body, opts);
}

/**
 * What an object is found to be when read back: as it was before the run, as the run left it
 * (`written`), neither (`changed`: someone else wrote it meanwhile), or `unknown` (it could not be read).
 */
type FoundState = 'before' | 'written' | 'changed' | 'unknown';

/** Reads an object the run wrote (or tried to) back from the server, and says which state it is in. */
async function readBack<T extends WritableObject>(store: ObjectStore<T>, step: Step<T>): Promise<FoundState> {
  let now: T | undefined;
  try {
    now = await store.read(step.change.ref);
  } catch {
    return 'unknown';
  }
  const { current } = step;
  switch (step.outcome.verb) {
    case 'created':
      return !now ? 'before' : isManagedByUs(now) ? 'written' : 'changed';
    case 'deleted':
      return !now
        ? 'written'
        : current && sameContent(store.manifest(now), store.manifest(current))
          ? 'before'
          : 'changed';
    default:
      // configured: unmoved, or back to what it was (a rollback), is as before; otherwise written.
      if (!now) return 'changed';
      if (now.metadata?.resourceVersion === current?.metadata?.resourceVersion) return 'before';
      return current && sameContent(store.manifest(now), store.manifest(current)) ? 'before' : 'written';
  }
}

/**
 * Whether a write that failed was applied all the same: never after a 4xx (the server refused it);
 * otherwise (no answer, a cut-short answer, a 5xx) the object is read back; undefined when it
 * cannot be read.
 */
async function wasApplied<T extends WritableObject>(
  store: ObjectStore<T>,
  step: Step<T>,
  error: unknown,
): Promise<boolean | undefined> {
  const status = (error as { status?: number }).status;
  if (status !== undefined && status < 500) return false;
  const found = await readBack(store, step);
  return found === 'unknown' ? undefined : found !== 'before';
}

/** Undoes one write: deletes what it created, puts back what it replaced or deleted. */
async function undo<T extends WritableObject>(
  store: ObjectStore<T>,
  step: Step<T>,
  fieldManager: string,
): Promise<void> {
  const { verb, previous } = step.outcome;
  const { ref } = step.change;
  if (verb === 'created') {
    await store.delete(ref, {});
    return;
  }
  if (verb === 'deleted') {
    await store.create(ref, previous!, { fieldManager });
    return;
  }
  const now = await store.read(ref);
  const body = { ...previous!, metadata: { ...previous!.metadata, resourceVersion: now?.metadata?.resourceVersion } };
  await store.replace(ref, body, { fieldManager });
}

/**
 * After a write failed: undoes the writes made (the failed one too, unless it is known not to have
 * been applied), newest first, and returns the error to report, saying for each object what is known
 * of it. A rollback the server answered is `rolled back`; where it failed, the object is read back
 * before anything is claimed: as before (rolled back all the same), still as written (`could NOT roll
 * back NS/NAME (created)`), changed by someone else, or `state unknown` when it cannot be read.
 */
async function reportFailure<T extends WritableObject>(
  store: ObjectStore<T>,
  done: Step<T>[],
  failed: Step<T>,
  cause: unknown,
  fieldManager: string,
): Promise<NetpolError> {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const failedApplied = await wasApplied(store, failed, cause);
  const toUndo = failedApplied === false ? done : [...done, failed];
  const rolledBack: string[] = [];
  const left: string[] = [];
  const unknown: string[] = [];
  let isFailedAsBefore = failedApplied === false;
  for (const step of [...toUndo].reverse()) {
    const key = step.outcome.namespace === '' ? step.outcome.name : keyOf(step.change.ref);
    const isFailed = step === failed;
    let found: FoundState;
    try {
      await undo(store, step, fieldManager);
      found = 'before';
    } catch {
      found = await readBack(store, step);
    }
    if (found === 'before') {
      // The failed write, found as it was and never undone by us, was not applied: nothing to say.
      if (isFailed && failedApplied === undefined) isFailedAsBefore = true;
      else rolledBack.push(key);
    } else if (found === 'written') left.push(`${key} (${step.outcome.verb})`);
    else if (found === 'changed') left.push(`${key} (changed by someone else since)`);
    else unknown.push(isFailed ? key : `${key} (${step.outcome.verb}, its rollback failed)`);
  }
  const parts = [`writing ${store.describe(failed.change.ref)} failed: ${reason}`];
  if (rolledBack.length > 0) parts.push(`rolled back ${rolledBack.join(', ')}`);
  if (left.length > 0) parts.push(`could NOT roll back ${left.join(', ')}`);
  if (unknown.length > 0) parts.push(`state unknown (could not be read back): ${unknown.join(', ')}`);
  if (done.length === 0 && isFailedAsBefore) parts.push('nothing was written');
  const hint =
    left.length > 0 || unknown.length > 0
      ? `check those policies with kubectl get ${store.resource} and fix them by hand`
      : cause instanceof NetpolError
        ? cause.hint
        : undefined;
  return new WriteError(parts.join('; '), 1, hint);
}

/** Compares what a manifest asks for (labels, annotations, spec), ignoring what the server adds. */
function sameContent(a: WritableObject, b: WritableObject): boolean {
  const content = (p: WritableObject) => ({
    labels: p.metadata?.labels ?? {},
    annotations: p.metadata?.annotations ?? {},
    spec: p.spec,
  });
  return isDeepStrictEqual(content(a), content(b));
}
