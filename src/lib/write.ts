/**
 * What every mutating command shares: the managed-by label, the kubectl write flags (--dry-run,
 * --field-manager, --overwrite, -y, -o yaml|json|name), writing a set of NetworkPolicies safely
 * (check all, server dry run, write, roll back on a half-way failure) and printing them.
 */
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
} from '@kubernetes/client-node';
import { Flags } from '@oclif/core';

import type { ClusterApi } from './cluster/types.js';
import { NetpolError, UsageError } from './errors.js';
import { renderDocument } from './output/render.js';

/** The label kubectl-netpol puts on what it creates, and looks for before it changes or deletes anything. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The value of MANAGED_BY_LABEL on objects kubectl-netpol created. */
export const MANAGED_BY_VALUE = 'kubectl-netpol';
/** The resource as kubectl names it in its output lines. */
export const POLICY_RESOURCE = 'networkpolicy.networking.k8s.io';

/** Values of --dry-run. */
export const DRY_RUN_MODES = ['none', 'client', 'server'] as const;
/** One of DRY_RUN_MODES. */
export type DryRunMode = (typeof DRY_RUN_MODES)[number];
/** Values of -o for mutating commands; absent means one kubectl-style line per object. */
export const WRITE_OUTPUT_FORMATS = ['yaml', 'json', 'name'] as const;
/** One of WRITE_OUTPUT_FORMATS. */
export type WriteOutputFormat = (typeof WRITE_OUTPUT_FORMATS)[number];

/** The flags of every mutating command, with kubectl's names and wording. `output` replaces the base -o. */
export const writeFlags = {
  'dry-run': Flags.string({
    default: 'none',
    description:
      'Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.',
    options: [...DRY_RUN_MODES],
  }),
  'field-manager': Flags.string({
    default: MANAGED_BY_VALUE,
    description: 'Name of the manager used to track field ownership.',
  }),
  output: Flags.string({
    char: 'o',
    description: 'Output format. One of: (json, yaml, name). Default: one line per object changed.',
    options: [...WRITE_OUTPUT_FORMATS],
  }),
  overwrite: Flags.boolean({
    description: 'replace an existing NetworkPolicy of the same name that kubectl-netpol did not create',
  }),
  yes: Flags.boolean({
    char: 'y',
    description: 'do not ask for confirmation (needed without a terminal when connections would be cut)',
  }),
};

/** The write flags as parsed. */
export interface WriteFlags {
  'dry-run': string;
  'field-manager': string;
  output?: string;
  overwrite: boolean;
  yes: boolean;
}

/** The write flags as a service takes them. */
export interface WriteSettings {
  dryRun: DryRunMode;
  fieldManager: string;
  /** Undefined: one kubectl-style line per object. */
  output?: WriteOutputFormat;
  overwrite: boolean;
  yes: boolean;
}

/** Reads the write flags; an empty --field-manager is a usage error. */
export function parseWriteFlags(flags: WriteFlags): WriteSettings {
  if (flags['field-manager'].trim() === '') {
    throw new UsageError('--field-manager must not be empty', `the default is ${MANAGED_BY_VALUE}`);
  }
  return {
    dryRun: flags['dry-run'] as DryRunMode,
    fieldManager: flags['field-manager'],
    output: flags.output as WriteOutputFormat | undefined,
    overwrite: flags.overwrite,
    yes: flags.yes,
  };
}

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
export interface WriteTarget {
  /** The API; undefined offline (-f), where only --dry-run=client is possible. */
  api?: ClusterApi;
  /** Policies known without the API (the snapshot's), used when api is undefined. */
  existing?: V1NetworkPolicy[];
  settings: Pick<WriteSettings, 'dryRun' | 'fieldManager' | 'overwrite'>;
}

/** A write that failed; says what was rolled back and what could not be. */
export class WriteError extends NetpolError {}

const refOf = (change: PolicyChange): { namespace: string; name: string } =>
  change.action === 'apply'
    ? { namespace: change.policy.metadata?.namespace ?? 'default', name: change.policy.metadata?.name ?? '' }
    : { namespace: change.namespace, name: change.name };

const keyOf = (ref: { namespace: string; name: string }): string => `${ref.namespace}/${ref.name}`;

/** Changes checked against what exists, ready to send: from planWrites, for executeWrites. */
export interface WritePlan {
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
  const read = async (ref: { namespace: string; name: string }): Promise<V1NetworkPolicy | undefined> =>
    api
      ? api.readNetworkPolicy(ref.namespace, ref.name)
      : target.existing?.find((p) => p.metadata?.namespace === ref.namespace && p.metadata?.name === ref.name);

  const steps: WritePlan['steps'] = [];
  const refused: string[] = [];
  for (const change of changes) {
    const ref = refOf(change);
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
 * one fails half-way, undoes the ones made and says so.
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
  const done: WritePlan['steps'] = [];
  for (const step of toSend) {
    try {
      await send(api, step.change, step.current, { fieldManager: settings.fieldManager });
      done.push(step);
    } catch (error) {
      // A write that failed without a clear refusal (reset, timeout, 5xx) may still have been applied.
      if (await wasApplied(api, step, error)) done.push(step);
      throw await rollBack(api, done, error, step.outcome, settings.fieldManager);
    }
  }
  return outcomes;
}

/** Checks all changes, then makes them safely: planWrites followed by executeWrites. */
export async function writePolicies(changes: PolicyChange[], target: WriteTarget): Promise<WriteOutcome[]> {
  return executeWrites(await planWrites(changes, target), target);
}

async function send(
  api: ClusterApi,
  change: PolicyChange,
  current: V1NetworkPolicy | undefined,
  opts: { dryRun?: 'All'; fieldManager: string },
): Promise<void> {
  const ref = refOf(change);
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
 * Whether a write that failed was applied all the same: never after a 4xx (the server refused it);
 * otherwise (no answer, a cut-short answer, a 5xx) the object is read back and compared with what was
 * there before. When it cannot be read, it is assumed applied, so the rollback tries to undo it.
 */
async function wasApplied(api: ClusterApi, step: WritePlan['steps'][number], error: unknown): Promise<boolean> {
  const status = (error as { status?: number }).status;
  if (status !== undefined && status < 500) return false;
  const { namespace, name } = refOf(step.change);
  let now: V1NetworkPolicy | undefined;
  try {
    now = await api.readNetworkPolicy(namespace, name);
  } catch {
    return true;
  }
  if (step.change.action === 'delete') return now === undefined;
  if (!step.current) return now !== undefined && isManagedByUs(now);
  return now?.metadata?.resourceVersion !== step.current.metadata?.resourceVersion;
}

/** Undoes the writes made, newest first, and returns the error to report: what failed, what was undone, what was not. */
async function rollBack(
  api: ClusterApi,
  done: WritePlan['steps'],
  cause: unknown,
  failed: WriteOutcome,
  fieldManager: string,
): Promise<NetpolError> {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const undone: string[] = [];
  const left: string[] = [];
  for (const p of [...done].reverse()) {
    const { namespace, name } = p.outcome;
    try {
      if (p.outcome.verb === 'created') await api.deleteNetworkPolicy(namespace, name);
      else if (p.outcome.verb === 'deleted')
        await api.createNetworkPolicy(namespace, p.outcome.previous!, { fieldManager });
      else {
        const now = await api.readNetworkPolicy(namespace, name);
        const body = { ...p.outcome.previous!, metadata: { ...p.outcome.previous!.metadata } };
        body.metadata.resourceVersion = now?.metadata?.resourceVersion;
        await api.replaceNetworkPolicy(namespace, name, body, { fieldManager });
      }
      undone.push(`${namespace}/${name}`);
    } catch {
      left.push(`${namespace}/${name} (${p.outcome.verb})`);
    }
  }
  const status = cause instanceof NetpolError ? cause : undefined;
  const parts = [`writing networkpolicy ${failed.namespace}/${failed.name} failed: ${reason}`];
  if (undone.length > 0) parts.push(`rolled back ${undone.join(', ')}`);
  if (left.length > 0) parts.push(`could NOT roll back ${left.join(', ')}`);
  if (done.length === 0) parts.push('nothing was written');
  return new WriteError(
    parts.join('; '),
    1,
    left.length > 0 ? 'check those policies with kubectl get networkpolicy and fix them by hand' : status?.hint,
  );
}

/** Compares what a manifest asks for (labels, annotations, spec), ignoring what the server adds. */
function sameContent(a: V1NetworkPolicy, b: V1NetworkPolicy): boolean {
  const content = (p: V1NetworkPolicy) =>
    JSON.stringify(
      sortKeys({ labels: p.metadata?.labels ?? {}, annotations: p.metadata?.annotations ?? {}, spec: p.spec }),
    );
  return content(a) === content(b);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

/**
 * A NetworkPolicy as a manifest for `kubectl apply -f -`: apiVersion and kind, metadata without what
 * the server sets (uid, resourceVersion, managedFields, timestamps), no status, and each ingress rule's
 * peers under `from` (client-node's typed objects call it `_from`).
 */
export function toManifest(policy: V1NetworkPolicy): V1NetworkPolicy {
  const meta = policy.metadata ?? {};
  const metadata: Record<string, unknown> = { name: meta.name, namespace: meta.namespace };
  if (meta.labels && Object.keys(meta.labels).length > 0) metadata.labels = { ...meta.labels };
  if (meta.annotations && Object.keys(meta.annotations).length > 0) metadata.annotations = { ...meta.annotations };
  const spec = policy.spec ?? { podSelector: {} };
  const out: Record<string, unknown> = { podSelector: spec.podSelector ?? {} };
  if (spec.policyTypes) out.policyTypes = [...spec.policyTypes];
  if (spec.ingress) out.ingress = spec.ingress.map(plainIngressRule);
  if (spec.egress) out.egress = spec.egress.map((rule: V1NetworkPolicyEgressRule) => dropUndefined({ ...rule }));
  return dropUndefined({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: out,
  }) as V1NetworkPolicy;
}

function plainIngressRule(rule: V1NetworkPolicyIngressRule): Record<string, unknown> {
  const { _from, from, ...rest } = rule as V1NetworkPolicyIngressRule & { from?: V1NetworkPolicyPeer[] };
  const peers = _from ?? from;
  return dropUndefined(peers === undefined ? rest : { from: peers, ...rest });
}

function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, dropUndefined(v)]),
  ) as T;
}

/** One NetworkPolicy, or a v1 List of several, as `kubectl apply -f -` reads it. */
export function toManifestDocument(policies: V1NetworkPolicy[]): unknown {
  const items = policies.map(toManifest);
  return items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items };
}

/** The dry-run suffix kubectl prints: ` (dry run)` for client, ` (server dry run)` for server. */
function dryRunSuffix(dryRun: DryRunMode): string {
  return dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
}

/**
 * Renders outcomes for stdout: json/yaml print the objects (a List for several), `name` prints
 * `networkpolicy.networking.k8s.io/NAME`, and the default is kubectl's line
 * `networkpolicy.networking.k8s.io/NAME created (server dry run)`, naming the namespace when there are several.
 */
export function formatOutcomes(
  outcomes: WriteOutcome[],
  output: WriteOutputFormat | undefined,
  dryRun: DryRunMode,
): string {
  if (outcomes.length === 0) return '';
  if (output === 'json' || output === 'yaml')
    return renderDocument(toManifestDocument(outcomes.map((o) => o.object)), output);
  if (output === 'name') return outcomes.map((o) => `${POLICY_RESOURCE}/${o.name}\n`).join('');
  const isMultiNamespace = new Set(outcomes.map((o) => o.namespace)).size > 1;
  return outcomes
    .map((o) => {
      const where = isMultiNamespace ? ` in namespace ${o.namespace}` : '';
      return `${POLICY_RESOURCE}/${o.name} ${o.verb}${where}${dryRunSuffix(dryRun)}\n`;
    })
    .join('');
}

/** Lines for stderr about outcomes the user should notice (a foreign policy replaced with --overwrite). */
export function outcomeNotices(outcomes: WriteOutcome[]): string[] {
  return outcomes
    .filter((o) => o.replacedForeign)
    .map(
      (o) =>
        `--overwrite: replacing networkpolicy ${o.namespace}/${o.name}, which kubectl-netpol did not create; its previous rules are gone`,
    );
}
