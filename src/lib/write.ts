/**
 * Writing NetworkPolicies safely, for every mutating command: the managed-by label that marks what
 * kubectl-netpol created, then a set of changes checked against what exists (never touching a policy
 * it did not create unless asked), sent first as a server-side dry run, and rolled back when one fails
 * half-way. The flags are write-flags.ts; the lines printed, output/write.ts.
 */
import { isDeepStrictEqual } from 'node:util';

import type { V1NetworkPolicy } from '@kubernetes/client-node';

import { toManifest } from './cluster/policy-shape.js';
import type { ClusterApi } from './cluster/types.js';
import { NetpolError, UsageError } from './errors.js';
import type { PolicyRef } from './engine/model.js';
import { isObjectAt, keyOf, refOf } from './engine/model.js';
import type { DryRunMode } from './write-flags.js';

/** The label kubectl-netpol puts on what it creates, and looks for before it changes or deletes anything. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The value of MANAGED_BY_LABEL on objects kubectl-netpol created. */
export const MANAGED_BY_VALUE = 'kubectl-netpol';
/** Whether kubectl-netpol created this object (it carries the managed-by label). */
export function isManagedByUs(policy: V1NetworkPolicy | undefined): boolean {
  return policy?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** One change to make: create-or-replace a policy, or delete one. */
export type PolicyChange =
  { action: 'apply'; policy: V1NetworkPolicy } | { action: 'delete'; namespace: string; name: string };

/** What happened (or, in a dry run, would happen) to one object, in kubectl's words. */
export type WriteVerb = 'created' | 'configured' | 'unchanged' | 'deleted';

/** The outcome of one change. */
export interface WriteOutcome {
  namespace: string;
  name: string;
  verb: WriteVerb;
  /** The object as sent (apply) or as it was (delete), in manifest shape. */
  object: V1NetworkPolicy;
  /** The object it replaced or deleted, when there was one. */
  previous?: V1NetworkPolicy;
  /** True when it replaced a policy kubectl-netpol did not create (--overwrite). */
  replacedForeign: boolean;
}

/** How writePolicies reaches the objects: the live API, or (client dry run offline) the snapshot's policies. */
interface WriteTarget {
  /** The API; undefined offline (-f), where only --dry-run=client is possible. */
  api?: ClusterApi;
  /** Policies known without the API (the snapshot's), used when api is undefined. */
  existing?: V1NetworkPolicy[];
  settings: { dryRun: DryRunMode; fieldManager: string; overwrite: boolean };
}

/** A write that failed; says what was rolled back and what could not be. */
class WriteError extends NetpolError {}

const refOfChange = (change: PolicyChange): PolicyRef =>
  change.action === 'apply' ? refOf(change.policy) : { namespace: change.namespace, name: change.name };

/** Changes checked against what exists, ready to send: from planWrites, for executeWrites. */
interface WritePlan {
  steps: { change: PolicyChange; outcome: WriteOutcome; current?: V1NetworkPolicy }[];
}

/**
 * Checks every change against what exists before anything is sent: an existing object of that name
 * that kubectl-netpol did not create is refused unless `overwrite` (one error naming all of them), a
 * delete of something already gone is dropped, and an identical object of ours is `unchanged`.
 */
export async function planWrites(changes: PolicyChange[], target: WriteTarget): Promise<WritePlan> {
  const { api, settings } = target;
  if (!api && settings.dryRun !== 'client') {
    throw new UsageError('writing needs a cluster', 'use --dry-run=client with -f');
  }
  const read = async (ref: PolicyRef): Promise<V1NetworkPolicy | undefined> =>
    api ? api.readNetworkPolicy(ref.namespace, ref.name) : target.existing?.find((p) => isObjectAt(p, ref));

  const steps: WritePlan['steps'] = [];
  const refused: string[] = [];
  for (const change of changes) {
    const ref = refOfChange(change);
    const current = await read(ref);
    if (change.action === 'delete' && !current) continue;
    const isForeign = current !== undefined && !isManagedByUs(current);
    if (isForeign && !settings.overwrite) refused.push(keyOf(ref));
    const object = toManifest(change.action === 'apply' ? change.policy : current!);
    const verb: WriteVerb =
      change.action === 'delete'
        ? 'deleted'
        : !current
          ? 'created'
          : !isForeign && sameContent(toManifest(current), object)
            ? 'unchanged'
            : 'configured';
    steps.push({
      change,
      current,
      outcome: {
        ...ref,
        verb,
        object,
        previous: current ? toManifest(current) : undefined,
        replacedForeign: isForeign && change.action === 'apply',
      },
    });
  }
  if (refused.length > 0) {
    const what = refused.map((key) => `networkpolicy ${key}`).join(', ');
    throw new NetpolError(
      `${what} already exist${refused.length === 1 ? 's' : ''} and ${refused.length === 1 ? 'was' : 'were'} not created by kubectl-netpol (no label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); nothing was written`,
      1,
      'choose another name with --name, or pass --overwrite to replace it',
    );
  }
  return { steps };
}

/**
 * Sends a checked plan: nothing with `dryRun: 'client'`; live, every write first as a server-side dry
 * run (admission, validation and RBAC refuse before anything changes), then the writes in order, and if
 * one fails half-way, undoes the ones made and says what became of each (see reportFailure).
 */
export async function executeWrites(plan: WritePlan, target: WriteTarget): Promise<WriteOutcome[]> {
  const { api, settings } = target;
  const outcomes = plan.steps.map((step) => step.outcome);
  if (settings.dryRun === 'client' || !api) return outcomes;
  const toSend = plan.steps.filter((step) => step.outcome.verb !== 'unchanged');
  for (const step of toSend) {
    await send(api, step.change, step.current, { dryRun: 'All', fieldManager: settings.fieldManager });
  }
  if (settings.dryRun === 'server') return outcomes;
  const done: Step[] = [];
  for (const step of toSend) {
    try {
      await send(api, step.change, step.current, { fieldManager: settings.fieldManager });
      done.push(step);
    } catch (error) {
      throw await reportFailure(api, done, step, error, settings.fieldManager);
    }
  }
  return outcomes;
}

/** Checks all changes, then makes them safely: planWrites followed by executeWrites. */
export async function writePolicies(changes: PolicyChange[], target: WriteTarget): Promise<WriteOutcome[]> {
  return executeWrites(await planWrites(changes, target), target);
}

type Step = WritePlan['steps'][number];

async function send(
  api: ClusterApi,
  change: PolicyChange,
  current: V1NetworkPolicy | undefined,
  opts: { dryRun?: 'All'; fieldManager: string },
): Promise<void> {
  const ref = refOfChange(change);
  if (change.action === 'delete') {
    await api.deleteNetworkPolicy(ref.namespace, ref.name, { dryRun: opts.dryRun });
    return;
  }
  const body = toManifest(change.policy);
  if (!current) {
    await api.createNetworkPolicy(ref.namespace, body, opts);
    return;
  }
  // An optimistic update: if someone changed it since we read it, the server answers 409.
  body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
  await api.replaceNetworkPolicy(ref.namespace, ref.name, body, opts);
}

/**
 * What an object is found to be when read back: as it was before the run, as the run left it
 * (`written`), neither (`changed`: someone else wrote it meanwhile), or `unknown` (it could not be read).
 */
type FoundState = 'before' | 'written' | 'changed' | 'unknown';

/** Reads an object the run wrote (or tried to) back from the server, and says which state it is in. */
async function readBack(api: ClusterApi, step: Step): Promise<FoundState> {
  const { namespace, name } = step.outcome;
  let now: V1NetworkPolicy | undefined;
  try {
    now = await api.readNetworkPolicy(namespace, name);
  } catch {
    return 'unknown';
  }
  const { current } = step;
  switch (step.outcome.verb) {
    case 'created':
      return !now ? 'before' : isManagedByUs(now) ? 'written' : 'changed';
    case 'deleted':
      return !now ? 'written' : current && sameContent(toManifest(now), toManifest(current)) ? 'before' : 'changed';
    default:
      // configured: unmoved, or back to what it was (a rollback), is as before; otherwise written.
      if (!now) return 'changed';
      if (now.metadata?.resourceVersion === current?.metadata?.resourceVersion) return 'before';
      return current && sameContent(toManifest(now), toManifest(current)) ? 'before' : 'written';
  }
}

/**
 * Whether a write that failed was applied all the same: never after a 4xx (the server refused it);
 * otherwise (no answer, a cut-short answer, a 5xx) the object is read back; undefined when it
 * cannot be read.
 */
async function wasApplied(api: ClusterApi, step: Step, error: unknown): Promise<boolean | undefined> {
  const status = (error as { status?: number }).status;
  if (status !== undefined && status < 500) return false;
  const found = await readBack(api, step);
  return found === 'unknown' ? undefined : found !== 'before';
}

/** Undoes one write: deletes what it created, puts back what it replaced or deleted. */
async function undo(api: ClusterApi, step: Step, fieldManager: string): Promise<void> {
  const { namespace, name, verb, previous } = step.outcome;
  if (verb === 'created') {
    await api.deleteNetworkPolicy(namespace, name);
    return;
  }
  if (verb === 'deleted') {
    await api.createNetworkPolicy(namespace, previous!, { fieldManager });
    return;
  }
  const now = await api.readNetworkPolicy(namespace, name);
  const body = { ...previous!, metadata: { ...previous!.metadata, resourceVersion: now?.metadata?.resourceVersion } };
  await api.replaceNetworkPolicy(namespace, name, body, { fieldManager });
}

/**
 * After a write failed: undoes the writes made (the failed one too, unless it is known not to have
 * been applied), newest first, and returns the error to report, saying for each object what is known
 * of it. A rollback the server answered is `rolled back`; where it failed, the object is read back
 * before anything is claimed: as before (rolled back all the same), still as written (`could NOT roll
 * back NS/NAME (created)`), changed by someone else, or `state unknown` when it cannot be read.
 */
async function reportFailure(
  api: ClusterApi,
  done: Step[],
  failed: Step,
  cause: unknown,
  fieldManager: string,
): Promise<NetpolError> {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const failedApplied = await wasApplied(api, failed, cause);
  const toUndo = failedApplied === false ? done : [...done, failed];
  const rolledBack: string[] = [];
  const left: string[] = [];
  const unknown: string[] = [];
  let isFailedAsBefore = failedApplied === false;
  for (const step of [...toUndo].reverse()) {
    const key = `${step.outcome.namespace}/${step.outcome.name}`;
    const isFailed = step === failed;
    let found: FoundState;
    try {
      await undo(api, step, fieldManager);
      found = 'before';
    } catch {
      found = await readBack(api, step);
    }
    if (found === 'before') {
      // The failed write, found as it was and never undone by us, was not applied: nothing to say.
      if (isFailed && failedApplied === undefined) isFailedAsBefore = true;
      else rolledBack.push(key);
    } else if (found === 'written') left.push(`${key} (${step.outcome.verb})`);
    else if (found === 'changed') left.push(`${key} (changed by someone else since)`);
    else unknown.push(isFailed ? key : `${key} (${step.outcome.verb}, its rollback failed)`);
  }
  const parts = [`writing networkpolicy ${failed.outcome.namespace}/${failed.outcome.name} failed: ${reason}`];
  if (rolledBack.length > 0) parts.push(`rolled back ${rolledBack.join(', ')}`);
  if (left.length > 0) parts.push(`could NOT roll back ${left.join(', ')}`);
  if (unknown.length > 0) parts.push(`state unknown (could not be read back): ${unknown.join(', ')}`);
  if (done.length === 0 && isFailedAsBefore) parts.push('nothing was written');
  const hint =
    left.length > 0 || unknown.length > 0
      ? 'check those policies with kubectl get networkpolicy and fix them by hand'
      : cause instanceof NetpolError
        ? cause.hint
        : undefined;
  return new WriteError(parts.join('; '), 1, hint);
}

/** Compares what a manifest asks for (labels, annotations, spec), ignoring what the server adds. */
function sameContent(a: V1NetworkPolicy, b: V1NetworkPolicy): boolean {
  const content = (p: V1NetworkPolicy) => ({
    labels: p.metadata?.labels ?? {},
    annotations: p.metadata?.annotations ?? {},
    spec: p.spec,
  });
  return isDeepStrictEqual(content(a), content(b));
}
