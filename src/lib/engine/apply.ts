/**
 * The after-world of a change: a snapshot with the objects of some manifests applied as `kubectl
 * apply -f` would leave them (each replaces the object of the same kind, namespace and name, or is
 * added; with prune, the objects of the namespaces they cover that they lack are deleted, as
 * `kubectl apply --prune`), what happens to each object, and what a reachability diff must compare.
 */
import type { V1Namespace, V1NetworkPolicy, V1NetworkPolicySpec, V1Pod } from '@kubernetes/client-node';

import type { ClusterSnapshot, PodRef, PolicyRef, Workload } from './model.js';
import { effectivePolicyTypes, keyOf, NAMESPACE_NAME_LABEL, refOf } from './model.js';
import { workloadOf } from './targets.js';
import type { ClusterTierPolicy } from './tiers-compile.js';

/** What applying does to one object, in kubectl's words. */
export type ObjectAction = 'created' | 'configured' | 'unchanged' | 'deleted';

/** One object of the change (or of the before-world, deleted), and what happens to it. */
export interface ObjectChange {
  /** NetworkPolicy, Pod, Namespace, or a workload kind (Deployment, ...). */
  kind: string;
  /** Undefined for a Namespace. */
  namespace?: string;
  name: string;
  action: ObjectAction;
}

/** What to apply. */
interface ChangeInput {
  /** The objects to apply (pods a workload of it stands for included, as the file loader makes them). */
  change: ClusterSnapshot;
  /** Namespaces the change only mentions, with no Namespace object of its own: they change no labels. */
  impliedNamespaces?: readonly string[];
  /** Policies to delete (`--delete networkpolicy/NAME`). */
  deletes?: readonly PolicyRef[];
  /** The change is the whole after-world of the namespaces it covers (`--prune`). */
  prune?: boolean;
}

/** A change applied: the after-world, each object's action, and where reachability may differ. */
interface AppliedChange {
  after: ClusterSnapshot;
  /** Sorted by kind, namespace, name. */
  objects: ObjectChange[];
  /** Policies created, configured or deleted. */
  policies: PolicyRef[];
  /** Pods added, removed, or changed where a policy looks (labels, ports, addresses, host network, phase). */
  pods: PodRef[];
  /** Namespaces whose labels differ: namespaceSelectors may match them differently. */
  namespaces: string[];
  /** Some cluster tier policy was created, configured or deleted: any pair may differ. */
  tiersChanged: boolean;
}

/** Raised when the change cannot be applied (a --delete of a policy that is not there). */
export class ApplyError extends Error {}

/** Labels a workload's controller puts on its pods that the template does not hold: a rollout keeps them alike. */
const CONTROLLER_LABELS = ['pod-template-hash', 'controller-revision-hash'];
/** The label the StatefulSet controller sets to the pod's name. */
const STATEFULSET_POD_NAME = 'statefulset.kubernetes.io/pod-name';

function nodesAfter(
  before: ClusterSnapshot,
  change: ClusterSnapshot,
): Pick<ClusterSnapshot, 'nodes' | 'nodesUnreadable'> {
  const nodes = new Map((before.nodes ?? []).map((n) => [n.name, n]));
  for (const n of change.nodes ?? []) nodes.set(n.name, n);
  return {
    // None read before nor in the change stays "none read" (nodes peers fail closed); [] stays [].
    ...(before.nodes || change.nodes ? { nodes: [...nodes.values()] } : {}),
    ...(before.nodesUnreadable ? { nodesUnreadable: true } : {}),
  };
}

/** Applies a change to a snapshot (neither is modified). */
export function applyChange(before: ClusterSnapshot, input: ChangeInput): AppliedChange {
  const { change } = input;
  const objects: ObjectChange[] = [];
  // kubectl apply --prune: the namespaces of the namespaced objects applied.
  const covered = new Set(
    input.prune
      ? [...change.pods, ...change.policies, ...change.services]
          .map((o) => refOf(o).namespace)
          .concat(change.workloads.map((w) => w.namespace))
      : [],
  );
  const namespaces = applyNamespaces(before, input, objects);
  const policies = applyPolicies(before, input, covered, objects);
  const pods = applyPods(before, change, covered, objects);
  const tiers = applyTierPolicies(before, change, objects);
  const workloads = new Map(before.workloads.map((w) => [workloadKey(w), w]));
  for (const w of change.workloads) workloads.set(workloadKey(w), w);
  const inChange = new Set(change.workloads.map(workloadKey));
  for (const [key, w] of workloads) if (covered.has(w.namespace) && !inChange.has(key)) workloads.delete(key);
  const services = new Map(before.services.map((s) => [keyOf(refOf(s)), s]));
  for (const s of change.services) services.set(keyOf(refOf(s)), s);
  // As localeCompare (the same collation), with a collator made once.
  const { compare } = NATURAL_TEXT;
  objects.sort(
    (a, b) => compare(a.kind, b.kind) || compare(a.namespace ?? '', b.namespace ?? '') || compare(a.name, b.name),
  );
  return {
    after: {
      namespaces: namespaces.after,
      pods: pods.after,
      policies: policies.after,
      services: [...services.values()],
      workloads: [...workloads.values()],
      ...(tiers.after.length > 0 ? { clusterPolicies: tiers.after } : {}),
      // Node objects (what tier nodes peers select): the change's replace the cluster's of the same name.
      ...nodesAfter(before, change),
    },
    objects,
    policies: policies.changed,
    pods: pods.changed,
    namespaces: namespaces.changed,
    tiersChanged: tiers.changed,
  };
}

/**
 * Cluster tier policies of the change replace those of the same kind and name, or are added (they are
 * cluster-scoped: --prune does not delete them, as kubectl's namespaced prune would not).
 */
function applyTierPolicies(
  before: ClusterSnapshot,
  change: ClusterSnapshot,
  objects: ObjectChange[],
): { after: ClusterTierPolicy[]; changed: boolean } {
  const key = (p: ClusterTierPolicy) => `${p.kind}/${p.metadata.name}`;
  const byKey = new Map((before.clusterPolicies ?? []).map((p) => [key(p), p]));
  let changed = false;
  for (const policy of change.clusterPolicies ?? []) {
    const was = byKey.get(key(policy));
    // The API server stores one object whatever version it was written at: compare the spec.
    const action: ObjectAction = !was ? 'created' : isSameData(was.spec, policy.spec) ? 'unchanged' : 'configured';
    objects.push({ kind: policy.kind, name: policy.metadata.name, action });
    if (action !== 'unchanged') changed = true;
    byKey.set(key(policy), policy);
  }
  return { after: [...byKey.values()], changed };
}

/** A Namespace of the change replaces the one of its name (the name label always set, as the API server does). */
function applyNamespaces(
  before: ClusterSnapshot,
  input: ChangeInput,
  objects: ObjectChange[],
): { after: V1Namespace[]; changed: string[] } {
  const implied = new Set(input.impliedNamespaces ?? []);
  const byName = new Map(before.namespaces.map((n) => [n.metadata?.name ?? '', n]));
  const changed: string[] = [];
  for (const namespace of input.change.namespaces) {
    const name = namespace.metadata?.name ?? '';
    const was = byName.get(name);
    if (implied.has(name)) {
      if (!was) byName.set(name, namespace);
      continue;
    }
    const labels = (n: V1Namespace) => ({ ...n.metadata?.labels, [NAMESPACE_NAME_LABEL]: name });
    const isSame = was !== undefined && isSameData(labels(was), labels(namespace));
    objects.push({ kind: 'Namespace', name, action: !was ? 'created' : isSame ? 'unchanged' : 'configured' });
    if (!isSame) changed.push(name);
    byName.set(name, namespace);
  }
  return { after: [...byName.values()], changed };
}

function applyPolicies(
  before: ClusterSnapshot,
  input: ChangeInput,
  covered: ReadonlySet<string>,
  objects: ObjectChange[],
): { after: V1NetworkPolicy[]; changed: PolicyRef[] } {
  const byKey = new Map(before.policies.map((p) => [keyOf(refOf(p)), p]));
  const changed: PolicyRef[] = [];
  const applied = new Set<string>();
  const record = (ref: PolicyRef, action: ObjectAction) => {
    objects.push({ kind: 'NetworkPolicy', ...ref, action });
    if (action !== 'unchanged') changed.push(ref);
  };
  for (const policy of input.change.policies) {
    const ref = refOf(policy);
    const key = keyOf(ref);
    const old = byKey.get(key);
    record(ref, !old ? 'created' : old === policy || isSameSpec(old, policy) ? 'unchanged' : 'configured');
    byKey.set(key, policy);
    applied.add(key);
  }
  for (const ref of input.deletes ?? []) {
    if (!byKey.has(keyOf(ref)) || applied.has(keyOf(ref))) {
      throw new ApplyError(`networkpolicy "${ref.name}" not found in namespace "${ref.namespace}"`);
    }
    byKey.delete(keyOf(ref));
    record(ref, 'deleted');
  }
  for (const [key, policy] of byKey) {
    const ref = refOf(policy);
    if (covered.has(ref.namespace) && !applied.has(key)) {
      byKey.delete(key);
      record(ref, 'deleted');
    }
  }
  return { after: [...byKey.values()], changed };
}

/**
 * Pods: a bare pod of the change replaces the pod of its name (keeping its status: `kubectl apply`
 * writes no status, so its addresses stay); a workload's pods replace the pods that workload owns,
 * taking their names and addresses in order (a rollout replaces pods with pods alike: the same pair
 * reads as the same pair), extra ones added, missing ones removed.
 */
function applyPods(
  before: ClusterSnapshot,
  change: ClusterSnapshot,
  covered: ReadonlySet<string>,
  objects: ObjectChange[],
): { after: V1Pod[]; changed: PodRef[] } {
  const owned = (pods: V1Pod[]) => {
    const byOwner = new Map<string, V1Pod[]>();
    for (const pod of pods) {
      const key = ownerKey(pod);
      const list = byOwner.get(key);
      if (list) list.push(pod);
      else byOwner.set(key, [pod]);
    }
    for (const list of byOwner.values()) list.sort((a, b) => naturalOrder(a.metadata?.name, b.metadata?.name));
    return byOwner;
  };
  const was = owned(before.pods);
  const wanted = owned(change.pods);
  // A workload of the change with no pod (0 replicas) still replaces the pods of its name.
  for (const w of change.workloads) {
    const key = `${w.namespace}/${w.kind}/${w.name}`;
    if (!wanted.has(key)) wanted.set(key, []);
  }
  const beforeByKey = new Map(before.pods.map((p) => [podKey(p), p]));
  const after = new Map(beforeByKey);
  const workloadsBefore = firstByKey(before.workloads);
  const workloadsChanged = firstByKey(change.workloads);
  const touched = new Set<string>();
  // Pods of the change compared with the pods they replace, by the new pod (each is compared once).
  const compared = new WeakMap<V1Pod, { old: V1Pod; isSame: boolean }>();
  const isSameAs = (old: V1Pod, pod: V1Pod) => {
    const known = compared.get(pod);
    if (known?.old === old) return known.isSame;
    const isSame = isSamePod(old, pod);
    compared.set(pod, { old, isSame });
    return isSame;
  };
  const drop = (pods: V1Pod[]) => {
    for (const pod of pods) {
      const key = podKey(pod);
      after.delete(key);
      touched.add(key);
    }
  };
  for (const [owner, pods] of wanted) {
    const [namespace, kind, name] = splitOwner(owner);
    if (kind === 'Pod') {
      // A pod given twice: the later one, as the file loader and kubectl keep it.
      const pod = pods[pods.length - 1];
      const key = podKey(pod);
      const old = after.get(key);
      const next = old && !pod.status ? { ...pod, status: old.status } : pod;
      objects.push({
        kind,
        namespace,
        name,
        action: !old ? 'created' : isSameAs(old, next) ? 'unchanged' : 'configured',
      });
      after.set(key, next);
      touched.add(key);
      continue;
    }
    const old = was.get(owner) ?? [];
    const next = pods.map((pod, i) => (i < old.length ? inPlaceOf(old[i], pod) : pod));
    // Every pod compared (not only up to the first difference): the changed pods are read from it below.
    let isSame = old.length === next.length;
    for (let i = 0; i < next.length && i < old.length; i++) if (!isSameAs(old[i], next[i])) isSame = false;
    isSame &&= isSameData(workloadsBefore.get(owner), workloadsChanged.get(owner));
    const existed = old.length > 0 || workloadsBefore.has(owner);
    objects.push({ kind, namespace, name, action: !existed ? 'created' : isSame ? 'unchanged' : 'configured' });
    drop(old);
    for (const pod of next) {
      const key = podKey(pod);
      after.set(key, pod);
      touched.add(key);
    }
  }
  if (covered.size > 0) {
    for (const [owner, pods] of was) {
      const [namespace, kind, name] = splitOwner(owner);
      // A pod the change put in place (under another owner) is the change's now.
      const left = pods.filter((p) => !touched.has(podKey(p)));
      if (!covered.has(namespace) || wanted.has(owner) || left.length === 0) continue;
      drop(left);
      objects.push({ kind, namespace, name, action: 'deleted' });
    }
    for (const w of before.workloads) {
      const key = workloadKey(w);
      if (covered.has(w.namespace) && !wanted.has(key) && !was.has(key)) {
        objects.push({ kind: w.kind, namespace: w.namespace, name: w.name, action: 'deleted' });
      }
    }
  }
  const changed: PodRef[] = [];
  for (const key of touched) {
    const old = beforeByKey.get(key);
    const now = after.get(key);
    if (!old || !now || !isSameAs(old, now)) changed.push(refOf((now ?? old)!));
  }
  return { after: [...after.values()], changed };
}

/** A workload's new pod in the place of one of its old ones: its name, addresses and controller labels. */
function inPlaceOf(old: V1Pod, pod: V1Pod): V1Pod {
  const name = old.metadata?.name ?? '';
  const labels = { ...pod.metadata?.labels };
  for (const key of CONTROLLER_LABELS) {
    const value = old.metadata?.labels?.[key];
    if (value !== undefined && labels[key] === undefined) labels[key] = value;
  }
  if (labels[STATEFULSET_POD_NAME] !== undefined) labels[STATEFULSET_POD_NAME] = name;
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      name,
      labels,
      ownerReferences: old.metadata?.ownerReferences ?? pod.metadata?.ownerReferences,
    },
    status: old.status,
  };
}

/**
 * Whether two pods are alike wherever a policy or an answer looks: labels, owner, terminating or
 * not, container ports (protocol TCP when absent), host network, phase and addresses.
 */
function isSamePod(a: V1Pod, b: V1Pod): boolean {
  if (a === b) return true;
  if (!isSameData(a.metadata?.labels ?? {}, b.metadata?.labels ?? {})) return false;
  if ((a.metadata?.deletionTimestamp !== undefined) !== (b.metadata?.deletionTimestamp !== undefined)) return false;
  if ((a.spec?.hostNetwork === true) !== (b.spec?.hostNetwork === true)) return false;
  if (a.status !== b.status && !isSameData(addressesOf(a), addressesOf(b))) return false;
  if (!isSameData(a.status?.phase, b.status?.phase)) return false;
  const [x, y] = [a.spec?.containers ?? [], b.spec?.containers ?? []];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const [ports, others] = [x[i].ports ?? [], y[i].ports ?? []] as unknown as Record<string, unknown>[][];
    if (ports.length !== others.length || (ports.length > 0 && !isSamePorts(ports, others))) return false;
  }
  const [ownerA, ownerB] = [workloadOf(a), workloadOf(b)];
  return ownerA.kind === ownerB.kind && ownerA.name === ownerB.name;
}

/** A pod's addresses as isSamePod compares them: podIP, then each of podIPs. */
function addressesOf(pod: V1Pod): unknown[] {
  return [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((ip) => ip.ip)];
}

/** `namespace/name` of a pod, remembered (apply reads it several times per pod). */
const podKeys = new WeakMap<V1Pod, string>();
function podKey(pod: V1Pod): string {
  let key = podKeys.get(pod);
  if (key === undefined) podKeys.set(pod, (key = keyOf(refOf(pod))));
  return key;
}

/** `namespace/Kind/name` of the workload that owns a pod, or of the pod itself (kind Pod). */
function ownerKey(pod: V1Pod): string {
  const { kind, name } = workloadOf(pod);
  return `${refOf(pod).namespace}/${kind}/${name}`;
}

function splitOwner(key: string): [string, string, string] {
  const [namespace, kind, ...name] = key.split('/');
  return [namespace, kind, name.join('/')];
}

/** Workloads by key, the first of a key kept (as `find` would return it). */
function firstByKey(workloads: Workload[]): Map<string, Workload> {
  const byKey = new Map<string, Workload>();
  for (const w of workloads) if (!byKey.has(workloadKey(w))) byKey.set(workloadKey(w), w);
  return byKey;
}

function workloadKey(w: Workload): string {
  return `${w.namespace}/${w.kind}/${w.name}`;
}

/** Compares as `localeCompare(b)`, made once. */
const NATURAL_TEXT = new Intl.Collator();

/** Compares as `localeCompare(b, 'en', { numeric: true })`, made once (a collator per call is slow). */
const NATURAL = new Intl.Collator('en', { numeric: true });

/** `web-2` before `web-10`. */
function naturalOrder(a = '', b = ''): number {
  return NATURAL.compare(a, b);
}

/**
 * Whether two policies ask for the same, as the API server stores them: its defaults
 * (SetDefaults_NetworkPolicy: policyTypes as effectivePolicyTypes infers them, a port's protocol
 * TCP) filled in on both sides, undefined fields dropped, the metadata it adds ignored.
 */
function isSameSpec(a: V1NetworkPolicy, b: V1NetworkPolicy): boolean {
  const [x, y] = [a.spec ?? {}, b.spec ?? {}] as Record<string, unknown>[];
  // Specs of an unusual shape (rules or ports that are not lists of objects) take the copies.
  if (!hasPlainRules(x) || !hasPlainRules(y)) return isSameData(defaultedSpec(a), defaultedSpec(b));
  const [typesA, typesB] = [effectivePolicyTypes(a), effectivePolicyTypes(b)];
  if (typesA.ingress !== typesB.ingress || typesA.egress !== typesB.egress) return false;
  // The rest as isSameData compares defaultedSpec's copies, read in place.
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined && k !== 'policyTypes');
  const xKeys = keys(x);
  if (xKeys.length !== keys(y).length) return false;
  return xKeys.every(
    (k) =>
      Object.prototype.hasOwnProperty.call(y, k) &&
      (k === 'ingress' || k === 'egress' ? isSameRules(x[k] as Rule[], y[k] as Rule[]) : isSameData(x[k], y[k])),
  );
}

/** A rule as isSameSpec reads it: its ports compared with the protocol the API server defaults. */
type Rule = Record<string, unknown> & { ports?: Record<string, unknown>[] };

/** Whether a spec's rules are lists of objects whose ports are lists of objects (or absent). */
function hasPlainRules(spec: Record<string, unknown>): boolean {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  return [spec.ingress, spec.egress].every(
    (rules) =>
      rules === undefined ||
      rules === null ||
      (Array.isArray(rules) &&
        rules.every(
          (r) =>
            isObject(r) &&
            ((r as Rule).ports === undefined ||
              (Array.isArray((r as Rule).ports) && (r as Rule).ports!.every(isObject))),
        )),
  );
}

function isSameRules(a: Rule[] | undefined, b: Rule[] | undefined): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return isSameData(a, b);
  if (a.length !== b.length) return false;
  return a.every((rule, i) => {
    const other = b[i];
    const keys = (o: Rule) => Object.keys(o).filter((k) => o[k] !== undefined);
    const ruleKeys = keys(rule);
    if (ruleKeys.length !== keys(other).length) return false;
    return ruleKeys.every(
      (k) =>
        Object.prototype.hasOwnProperty.call(other, k) &&
        (k === 'ports' ? isSamePorts(rule.ports!, other.ports) : isSameData(rule[k], other[k])),
    );
  });
}

/** Ports compared with their protocol defaulted to TCP (SetDefaults_NetworkPolicy). */
function isSamePorts(a: Record<string, unknown>[], b: Record<string, unknown>[] | undefined): boolean {
  if (!Array.isArray(b) || a.length !== b.length) return false;
  return a.every((port, i) => {
    const other = b[i];
    if ((port.protocol ?? 'TCP') !== (other.protocol ?? 'TCP')) return false;
    const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined && k !== 'protocol');
    const portKeys = keys(port);
    if (portKeys.length !== keys(other).length) return false;
    return portKeys.every((k) => Object.prototype.hasOwnProperty.call(other, k) && isSameData(port[k], other[k]));
  });
}

/**
 * Whether two policies ask for the same in one direction: the same pods selected, and (as
 * isSameSpec compares them) the same rules of that direction, or neither applies to it.
 */
export function isSameDirection(a: V1NetworkPolicy, b: V1NetworkPolicy, direction: 'ingress' | 'egress'): boolean {
  const part = (policy: V1NetworkPolicy) => {
    const spec = defaultedSpec(policy) as V1NetworkPolicySpec;
    const type = direction === 'ingress' ? 'Ingress' : 'Egress';
    if (!spec.policyTypes?.includes(type)) return null;
    return { podSelector: spec.podSelector, rules: spec[direction] ?? [] };
  };
  return isSameData(part(a), part(b));
}

function defaultedSpec(policy: V1NetworkPolicy): unknown {
  const spec = JSON.parse(JSON.stringify(policy.spec ?? {})) as V1NetworkPolicySpec;
  const types = effectivePolicyTypes(policy);
  spec.policyTypes = [...(types.ingress ? ['Ingress'] : []), ...(types.egress ? ['Egress'] : [])];
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    for (const port of rule.ports ?? []) port.protocol ??= 'TCP';
  }
  return spec;
}

/**
 * Whether two plain values hold the same data (objects in any key order, undefined fields dropped),
 * as their canonical JSON would compare, without writing it: an array's undefined is its null, and
 * values JSON writes alike (NaN and null) are alike.
 */
function isSameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => isSameData(x ?? null, b[i] ?? null));
  }
  if (a !== null && typeof a === 'object' && b !== null && typeof b === 'object') {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    // The keys of each with a defined value, counted and compared in place (no filtered copies: apply
    // compares every pod of the change this way).
    let defined = 0;
    for (const k of Object.keys(x)) {
      if (x[k] === undefined) continue;
      defined++;
      if (!Object.prototype.hasOwnProperty.call(y, k) || !isSameData(x[k], y[k])) return false;
    }
    for (const k of Object.keys(y)) if (y[k] !== undefined) defined--;
    return defined === 0;
  }
  if ((a !== null && typeof a === 'object') || (b !== null && typeof b === 'object')) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
