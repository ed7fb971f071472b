/**
 * `diff` between the command and the engine: the after-world (the before-world with the objects of
 * the -f files applied, the --delete policies removed, and with --prune what the files lack in the
 * namespaces they cover deleted, as `kubectl apply` would leave it), what happens to each object, and
 * the reachability it opens and cuts between the pairs the filters keep, through the one diff engine
 * isolate's and allow's previews use.
 */
import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';

import type { SnapshotScope } from '../cluster/types.js';
import type { ObjectChange } from '../engine/apply.js';
import { ApplyError, applyChange, isSameDirection } from '../engine/apply.js';
import { compileWorld } from '../engine/compile.js';
import type { BlockDiff, ChangeBlock, ChangeGroup, DiffScope } from '../engine/diff.js';
import { diffBlocks, podsSelectedBy } from '../engine/diff.js';
import { groupBoth } from '../engine/diff-groups.js';
import type { ClusterSnapshot, PodRef, PolicyRef, Warning } from '../engine/model.js';
import { keyOf, refOf } from '../engine/model.js';
import type { TargetSpec } from '../engine/targets.js';
import { resolveTargets } from '../engine/targets.js';
import { hasNodesPeer } from '../engine/tiers-compile.js';
import type { World } from '../engine/world.js';
import { NetpolError, UsageError } from '../errors.js';
import type { PortText } from '../peer-syntax.js';
import type { AddressText, NamedTargetSpec } from '../target-spec.js';

/** What diff asks, every name completed with its namespace. */
interface DiffRequest {
  /** Policies to remove (`--delete`). */
  deletes: PolicyRef[];
  /** The files are the whole after-world of the namespaces they cover (`--prune`). */
  prune: boolean;
  /** Namespaces the files only mention (no Namespace manifest): they change no labels. */
  impliedNamespaces?: string[];
  /** Only connections to these pods (TARGET), or to the pods -l selects in `namespaces` (every namespace: undefined). */
  target?: NamedTargetSpec;
  selector?: V1LabelSelector;
  namespaces?: string[];
  /** Only connections from these pods, or from this address block (--from). */
  from?: NamedTargetSpec | AddressText;
  /** Only this port (--port). */
  port?: PortText;
}

/** What a change does: to the objects, and to reachability (pod to pod, and with addresses outside the cluster). */
export interface DiffResult {
  objects: ObjectChange[];
  /** The pod pairs that change, as blocks (changesOf walks their pairs), and the addresses. */
  diff: BlockDiff;
  /** The changes grouped by workload or addresses at either end, ports and the rules responsible, largest group first. */
  opened: ChangeGroup[];
  cut: ChangeGroup[];
  /** The namespaces of the pods whose connections change. */
  namespaces: string[];
  /** Whether any connection is opened or cut (diff's exit status 1). */
  hasChanges: boolean;
  /** The compiler's warnings about either world (invalid policies left out), once each (warningsOf). */
  warnings: Warning[];
}

/**
 * What the live loader must list for the before-world: every namespace; no Service (a change of
 * policies needs none); the Nodes when the change brings a `nodes` peer (the cluster's policies may
 * have none, and without the Nodes such a rule fails closed).
 */
export function diffScope(change: ClusterSnapshot): SnapshotScope {
  return { listServices: false, ...((change.clusterPolicies ?? []).some(hasNodesPeer) ? { nodes: true } : {}) };
}

/** The before-world with the change applied, and what that does to the connections the request keeps. */
export function planDiff(before: ClusterSnapshot, change: ClusterSnapshot, request: DiffRequest): DiffResult {
  const applying = new Set(change.policies.map((p) => keyOf(refOf(p))));
  for (const ref of request.deletes) {
    if (applying.has(keyOf(ref))) {
      throw new UsageError(
        `networkpolicy ${keyOf(ref)} is both in the -f files and in --delete`,
        'drop it from one of them',
      );
    }
  }
  let applied;
  try {
    applied = applyChange(before, {
      change,
      deletes: request.deletes,
      prune: request.prune,
      impliedNamespaces: request.impliedNamespaces,
    });
  } catch (error) {
    if (error instanceof ApplyError) throw new NetpolError(error.message, 1);
    throw error;
  }
  const beforeWorld = compileWorld(before);
  const afterWorld = compileWorld(applied.after);
  const worlds = [afterWorld, beforeWorld];
  // A pair's answer reads the destination's ingress policies against the source and the source's
  // egress policies against the destination: it changes only if one of these, or a pod, does.
  const relabelled = new Set(applied.namespaces);
  const changed = [
    ...applied.pods,
    ...worlds.flatMap((w) => w.pods.filter((p) => relabelled.has(p.ref.namespace)).map((p) => p.ref)),
  ];
  const sources = policySources(beforeWorld, afterWorld, applied.policies);
  const touching = (direction: 'ingress' | 'egress') => {
    const policies = policiesChangedIn(sources, applied.policies, direction);
    return worlds.flatMap((w) => podsSelectedBy(w, policies));
  };
  // A cluster tier policy may select any pod and admit or deny any peer: every pod is compared.
  const all = applied.tiersChanged ? worlds.flatMap((w) => w.pods.map((p) => p.ref)) : undefined;
  const affected = {
    ingress: all ?? [...changed, ...touching('ingress')],
    egress: all ?? [...changed, ...touching('egress')],
  };
  const diff = diffBlocks(beforeWorld, afterWorld, affected, scopeOf(worlds, request));
  const namespaces = new Set([...diff.cutAddresses, ...diff.openedAddresses].map((c) => c.pod.namespace));
  for (const pods of blockEnds(diff.blocks)) {
    // The pods of one end are mostly of one namespace: the set is asked when it changes.
    let last: string | undefined;
    for (const pod of pods) if (pod.namespace !== last) namespaces.add((last = pod.namespace));
  }
  return {
    objects: applied.objects,
    diff,
    ...groupBoth(worlds, diff, { byRules: true }),
    namespaces: [...namespaces].sort(),
    hasChanges: [diff.blocks, diff.cutAddresses, diff.openedAddresses].some((list) => list.length > 0),
    warnings: warningsOf(beforeWorld, afterWorld),
  };
}

/** The ends of the blocks, each array once where consecutive blocks share it (those around one group do). */
function* blockEnds(blocks: readonly ChangeBlock[]): Generator<readonly PodRef[]> {
  let [from, to]: (readonly PodRef[] | undefined)[] = [];
  for (const block of blocks) {
    if (block.from !== from) yield (from = block.from);
    if (block.to !== to) yield (to = block.to);
  }
}

/**
 * The compiler's warnings about both worlds, once each. The count of pods without an IP is said
 * once, of the after-world (the before-world's count too only when the after-world has none): two
 * lines that differ by the count read as the same warning said twice.
 */
function warningsOf(before: World, after: World): Warning[] {
  const isCounted = (w: Warning) => w.code === 'pod-without-ip';
  const counted = after.warnings.find(isCounted);
  const warnings = new Map<string, Warning>();
  for (const warning of [...before.warnings, ...after.warnings]) {
    const said = counted && isCounted(warning) ? counted : warning;
    warnings.set(said.message, said);
  }
  return [...warnings.values()];
}

/** The sources of the policies named, as each world holds them (valid ones only), by namespace/name. */
function policySources(before: World, after: World, refs: readonly PolicyRef[]): Map<string, V1NetworkPolicy>[] {
  const wanted = new Map<string, Set<string>>();
  for (const ref of refs) {
    const names = wanted.get(ref.namespace) ?? new Set<string>();
    wanted.set(ref.namespace, names.add(ref.name));
  }
  return [before, after].map((world) => {
    const sources = new Map<string, V1NetworkPolicy>();
    for (const p of world.policies)
      if (wanted.get(p.ref.namespace)?.has(p.ref.name)) sources.set(keyOf(p.ref), p.source);
    return sources;
  });
}

/**
 * The policies of a change that may answer differently in one direction: those valid in one world
 * only (created, deleted, or made valid or invalid), and those valid in both whose pods or rules of
 * that direction differ (a new ingress rule touches no pod's egress).
 */
function policiesChangedIn(
  [was, now]: Map<string, V1NetworkPolicy>[],
  refs: readonly PolicyRef[],
  direction: 'ingress' | 'egress',
): PolicyRef[] {
  return refs.filter((ref) => {
    const [a, b] = [was.get(keyOf(ref)), now.get(keyOf(ref))];
    return !a || !b || (a !== b && !isSameDirection(a, b, direction));
  });
}

/** The filters as the engine takes them: names resolved to pods of either world. */
function scopeOf(worlds: World[], request: DiffRequest): DiffScope {
  const scope: DiffScope = {};
  if (request.target) scope.targets = resolveNamed(worlds, request.target);
  else if (request.selector) {
    const spec: TargetSpec = { kind: 'selector', namespaces: request.namespaces, selector: request.selector };
    scope.targets = podsOf(worlds, spec);
  }
  if (request.from?.kind === 'address') scope.sourceBlock = { cidr: request.from.cidr, except: [] };
  else if (request.from) scope.sources = resolveNamed(worlds, request.from);
  if (request.port) scope.port = { port: request.port.port, protocol: request.port.protocol ?? 'TCP' };
  return scope;
}

function podsOf(worlds: World[], spec: TargetSpec): PodRef[] {
  const pods = new Map<string, PodRef>();
  for (const world of worlds) for (const ref of resolveTargets(world, spec).pods) pods.set(keyOf(ref), ref);
  return [...pods.values()];
}

/** The pods a name stands for in either world; in neither is an error (exit 3: diff could not compare). */
function resolveNamed(worlds: World[], spec: NamedTargetSpec): PodRef[] {
  const pods = podsOf(worlds, spec);
  if (pods.length > 0) return pods;
  const why = resolveTargets(worlds[0], spec).warnings.map((w) => w.message);
  throw new NetpolError(
    why.join('; ') || `${spec.kind.toLowerCase()} "${spec.name}" not found in namespace "${spec.namespace}"`,
    1,
  );
}
