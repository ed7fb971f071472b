/**
 * `isolate` between the command and the engine: the request as the flags describe it, what the live
 * loader must list, and the plan per namespace with the reachability it cuts or opens, grouped by
 * workload for the preview, and the writes it makes. The command confirms and writes; views render.
 */
import type { SnapshotScope } from '../cluster/types.js';
import { toManifest } from '../cluster/policy-shape.js';
import type { World } from '../engine/world.js';
import { compileWorld } from '../engine/compile.js';
import type { ChangeGroup, ReachabilityChange, ReachabilityDiff } from '../engine/diff.js';
import { diffReachability, groupChanges, withPolicies } from '../engine/diff.js';
import { acceptedByAdmin, type TierOverride } from '../engine/preview.js';
import type { DnsPeer, NamespaceIsolation, NamespacePlan } from '../engine/isolation.js';
import { DNS_NAMESPACE, DNS_SERVICE, findDnsPeer, namespaceIsolation, planIsolation } from '../engine/isolation.js';
import type { ClusterSnapshot, Direction, PolicyRef } from '../engine/model.js';
import { isObjectAt, keyOf } from '../engine/model.js';
import { isEmptyPortSet } from '../engine/ports.js';
import { NamespaceNotFoundError } from '../errors.js';
import type { PolicyChange, WriteOutcome } from '../write.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../write.js';
import type { WriteSettings } from '../write-flags.js';
import type { BaselineResult } from './isolate-baseline.js';

/** The request as the flags describe it, checked before anything is loaded. */
export interface IsolateOptions {
  mode: 'isolate' | 'off' | 'status';
  /** Namespaces named as arguments; empty: -n or the context's (all with -A for --status). */
  namespaces: string[];
  allNamespaces: boolean;
  directions: Direction[];
  allowDns: boolean;
  explain: boolean;
  name: string;
  noHeaders: boolean;
  isOffline: boolean;
  write: WriteSettings;
  /** `--baseline`: one ClusterNetworkPolicy in the Baseline tier instead (services/isolate-baseline.ts). */
  baseline?: { priority: number; name?: string };
}

/** The connections a change cuts (isolating) or opens (--off), grouped by the workloads or addresses at either end. */
export interface IsolatePreview {
  /** Pod pairs, each with the ports it loses (isolating) or gains (--off). */
  changes: ReachabilityChange[];
  /** Pod pairs of `changes` that keep some ports (isolating: the ones left with DNS only, say). */
  partly: number;
  /** Pods whose traffic with addresses outside the cluster the change cuts (or opens). */
  addressPods: number;
  /** The same, grouped by source and destination workload or addresses and ports, largest group first. */
  groups: ChangeGroup[];
  /**
   * Isolating: what the change opens all the same, grouped (the DNS rule written into a namespace
   * isolated without DNS); empty with --off, where opening is what `groups` shows.
   */
  alsoOpened: ChangeGroup[];
  /** Isolating, with cluster tiers: connections Admin-tier Accept rules keep, whatever NetworkPolicy says. */
  keptByAdmin: TierOverride[];
}

/** What `isolate` did, as data: the plan per namespace, the reachability it changes, what was written. */
export interface IsolateResult {
  mode: IsolateOptions['mode'];
  namespaces: string[];
  plans: NamespacePlan[];
  dns?: DnsPeer;
  /** What the change does to reachability: pod to pod, and between pods and addresses outside the cluster. */
  diff: ReachabilityDiff;
  /** What the preview shows: the cut connections when isolating, the opened ones with --off. */
  preview: IsolatePreview;
  outcomes: WriteOutcome[];
  status: NamespaceIsolation[];
  /** `--baseline`: the ClusterNetworkPolicy's plan and outcome (then `plans` and `outcomes` are empty). */
  baseline?: BaselineResult;
}

/** A plan ready to write: the result so far and the changes that carry it out. */
interface IsolatePlan {
  result: IsolateResult;
  changes: PolicyChange[];
}

/** What the live loader must fetch: everything but Services, of which only kube-dns (when DNS is kept). */
export function scopeOf(options: IsolateOptions): SnapshotScope {
  // Reading kube-dns is best effort: without it, findDnsPeer falls back to the k8s-app=kube-dns label.
  const services = wantsDns(options) ? [{ namespace: DNS_NAMESPACE, name: DNS_SERVICE, optional: true }] : [];
  return { listServices: false, services };
}

function wantsDns(options: IsolateOptions): boolean {
  return options.mode === 'isolate' && options.directions.includes('egress') && options.allowDns;
}

export function requireNamespaces(snapshot: ClusterSnapshot, namespaces: string[], isWrite: boolean): void {
  const known = snapshot.namespaces.map((n) => n.metadata?.name ?? '');
  const missing = namespaces.filter((ns) => !known.includes(ns));
  if (missing.length > 0) throw new NamespaceNotFoundError(missing, known, { isWrite });
}

/** `--status`: each namespace's isolation (the namespaces named, else every one). */
export function isolationStatus(snapshot: ClusterSnapshot, options: IsolateOptions): IsolateResult {
  const world = compileWorld(snapshot);
  const all = snapshot.namespaces.map((n) => n.metadata?.name ?? '').sort();
  const namespaces = options.namespaces.length > 0 ? options.namespaces : all;
  requireNamespaces(snapshot, namespaces, false);
  const status = namespaces.map((ns) => namespaceIsolation(world, ns));
  const diff = { cut: [], opened: [], cutAddresses: [], openedAddresses: [] };
  const preview = { changes: [], partly: 0, addressPods: 0, groups: [], alsoOpened: [], keptByAdmin: [] };
  return { mode: 'status', namespaces, plans: [], diff, preview, outcomes: [], status };
}

/** Plans each namespace, the writes that makes, and the pod-to-pod reachability it cuts and opens. */
export function planIsolate(snapshot: ClusterSnapshot, namespaces: string[], options: IsolateOptions): IsolatePlan {
  const world = compileWorld(snapshot);
  requireNamespaces(snapshot, namespaces, true);
  const dns = wantsDns(options) ? findDnsPeer(world) : undefined;
  const plans = planIsolation(world, {
    namespaces,
    name: options.name,
    directions: options.directions,
    dns,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    off: options.mode === 'off',
  });
  const { changes: writes, after } = applyPlans(world, plans);
  const affected = after.pods.filter((p) => namespaces.includes(p.ref.namespace)).map((p) => p.ref);
  const diff = diffReachability(world, after, affected);
  const preview = previewOf(world, diff, options.mode === 'off' ? 'opened' : 'cut');
  // An Admin-tier Accept keeps what NetworkPolicy isolation would cut: the preview names it.
  if (options.mode !== 'off') preview.keptByAdmin = acceptedByAdmin(after, affected, options.directions);
  const result: IsolateResult = {
    mode: options.mode,
    namespaces,
    plans,
    dns,
    diff,
    preview,
    outcomes: [],
    status: [],
  };
  return { result, changes: writes };
}

/** What the preview shows of a diff: the connections cut (isolating) or opened (--off), grouped. */
export function previewOf(world: World, diff: ReachabilityDiff, which: 'cut' | 'opened'): IsolatePreview {
  const changes = which === 'opened' ? diff.opened : diff.cut;
  const addressChanges = which === 'opened' ? diff.openedAddresses : diff.cutAddresses;
  return {
    changes,
    partly: changes.filter((c) => !isEmptyPortSet(which === 'opened' ? c.before : c.after)).length,
    addressPods: new Set(addressChanges.map((c) => keyOf(c.pod))).size,
    groups: groupChanges(world, diff, which),
    alsoOpened: which === 'cut' ? groupChanges(world, diff, 'opened') : [],
    keptByAdmin: [],
  };
}

/** The writes a plan makes and the world after them. */
function applyPlans(world: World, plans: NamespacePlan[]): { changes: PolicyChange[]; after: World } {
  const changes: PolicyChange[] = [];
  const add = [];
  const remove: PolicyRef[] = [];
  for (const plan of plans) {
    if (plan.action === 'write') {
      changes.push({ action: 'apply', policy: plan.policy });
      add.push(plan.policy);
    } else if (plan.action === 'delete') {
      const ref = { namespace: plan.namespace, name: plan.policy.metadata?.name ?? '' };
      changes.push({ action: 'delete', ...ref });
      remove.push(ref);
    }
  }
  return { changes, after: compileWorld(withPolicies(world.snapshot, { add, remove })) };
}

/**
 * The policies that already isolate the skipped namespaces, as `unchanged` outcomes: the one named
 * --name when it isolates every direction asked, else each policy that denies a direction asked; with
 * egress, also those through which the pods reach DNS (a default-deny shown without them would not be
 * the isolation the namespace has).
 */
export function keptOutcomes(
  snapshot: ClusterSnapshot,
  plans: NamespacePlan[],
  options: IsolateOptions,
): WriteOutcome[] {
  const outcomes: WriteOutcome[] = [];
  for (const plan of plans) {
    if (plan.action !== 'skip') continue;
    const byDirection = options.directions.map((d) => plan.isolatedBy[d].map((r) => r.name));
    const isOwnEnough = byDirection.every((refs) => refs.includes(options.name));
    const isolating = isOwnEnough ? [options.name] : byDirection.flat();
    const wanted = [...new Set([...isolating, ...plan.dnsBy.map((r) => r.name)])];
    for (const name of wanted) {
      const policy = snapshot.policies.find((p) => isObjectAt(p, { namespace: plan.namespace, name }));
      if (!policy) continue;
      const object = toManifest(policy);
      outcomes.push({
        namespace: plan.namespace,
        name,
        verb: 'unchanged',
        object,
        previous: object,
        replacedForeign: false,
      });
    }
  }
  return outcomes;
}
