/**
 * Pure policy builders for `allow`: a NetworkPolicy from a subject, peers and ports; its name and its
 * meaning in one line; what it changes (with the engine on the snapshot before and after) and the traps
 * it walks into; and legacy shapes (net.alpha v1alpha1, extensions/v1beta1) translated into v1.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

import type { PodInfo, World } from './compile.js';
import { compileWorld, keyOf, NAMESPACE_NAME_LABEL } from './compile.js';
import type { ReachabilityDiff } from './diff.js';
import { diffReachability } from './diff.js';
import { analysePair } from './evaluate.js';
import type { ClusterSnapshot, Direction, PodRef, PortSet } from './model.js';
import { intersectPortSets, isEmptyPortSet, subtractPortSets, unionPortSets } from './ports.js';
import type { Labels } from './selector.js';
import { formatSelector, matchesSelector } from './selector.js';

/** What `allow` is asked for: a policy on `subject` pods of `namespace`, in one direction, admitting `peers` on `ports`. */
export interface AllowSpec {
  namespace: string;
  /** `ingress`: the policy is on the --to pods; `egress`: on the --from pods. */
  direction: Direction;
  /** The pods the policy selects (spec.podSelector), in `namespace`. */
  subject: V1LabelSelector;
  /** The other side, one NetworkPolicyPeer each (several peers = OR). */
  peers: V1NetworkPolicyPeer[];
  /** Ports; empty means every port of every protocol. */
  ports: V1NetworkPolicyPort[];
}

/** Longest name derived here: a DNS-1123 label (valid for a NetworkPolicy, and for a label value). */
export const MAX_NAME_LENGTH = 63;

/**
 * The NetworkPolicy of an AllowSpec, in client-node's typed shape (`_from` for ingress peers).
 * Written with policyTypes set to the one direction, so the policy never isolates the other one.
 */
export function buildAllowPolicy(spec: AllowSpec, name: string, labels: Record<string, string> = {}): V1NetworkPolicy {
  const rule: V1NetworkPolicyIngressRule & V1NetworkPolicyEgressRule = {};
  if (spec.direction === 'ingress') rule._from = spec.peers.map(clonePeer);
  else rule.to = spec.peers.map(clonePeer);
  if (spec.ports.length > 0) rule.ports = spec.ports.map((p) => ({ ...p }));
  const metadata: V1NetworkPolicy['metadata'] = { name, namespace: spec.namespace };
  if (Object.keys(labels).length > 0) metadata.labels = { ...labels };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: cloneSelector(spec.subject),
      policyTypes: [spec.direction === 'ingress' ? 'Ingress' : 'Egress'],
      ...(spec.direction === 'ingress' ? { ingress: [rule] } : { egress: [rule] }),
    },
  };
}

function cloneSelector(selector: V1LabelSelector): V1LabelSelector {
  const out: V1LabelSelector = {};
  if (selector.matchLabels) out.matchLabels = { ...selector.matchLabels };
  if (selector.matchExpressions) {
    out.matchExpressions = selector.matchExpressions.map((e) => ({
      ...e,
      ...(e.values ? { values: [...e.values] } : {}),
    }));
  }
  return out;
}

function clonePeer(peer: V1NetworkPolicyPeer): V1NetworkPolicyPeer {
  const out: V1NetworkPolicyPeer = {};
  if (peer.podSelector) out.podSelector = cloneSelector(peer.podSelector);
  if (peer.namespaceSelector) out.namespaceSelector = cloneSelector(peer.namespaceSelector);
  if (peer.ipBlock)
    out.ipBlock = { ...peer.ipBlock, ...(peer.ipBlock.except ? { except: [...peer.ipBlock.except] } : {}) };
  return out;
}

/* ---------- names ---------- */

function selectorSlug(selector: V1LabelSelector): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) parts.push(value || key.split('/').pop()!);
  for (const e of selector.matchExpressions ?? []) {
    const key = e.key.split('/').pop()!;
    if (e.operator === 'In') parts.push(...(e.values ?? []));
    else if (e.operator === 'NotIn') parts.push('not', ...(e.values ?? []));
    else if (e.operator === 'Exists') parts.push(key);
    else parts.push('no', key);
  }
  return parts.length ? parts.join('-') : 'all';
}

/** The one namespace a selector names by kubernetes.io/metadata.name, if that is all it says. */
export function namespaceNameOf(selector: V1LabelSelector): string | undefined {
  const keys = Object.keys(selector.matchLabels ?? {});
  if (keys.length !== 1 || keys[0] !== NAMESPACE_NAME_LABEL || selector.matchExpressions?.length) return undefined;
  return selector.matchLabels![NAMESPACE_NAME_LABEL];
}

function peerSlug(peer: V1NetworkPolicyPeer): string {
  if (peer.ipBlock) return peer.ipBlock.cidr;
  const pods = peer.podSelector ? selectorSlug(peer.podSelector) : 'all';
  if (!peer.namespaceSelector) return pods;
  const name = namespaceNameOf(peer.namespaceSelector);
  const namespaces =
    name ?? (formatSelector(peer.namespaceSelector) ? selectorSlug(peer.namespaceSelector) : 'all-namespaces');
  return peer.podSelector ? `${pods}-in-${namespaces}` : `ns-${namespaces}`;
}

function portSlug(port: V1NetworkPolicyPort): string {
  const protocol = (port.protocol ?? 'TCP').toLowerCase();
  if (port.port === undefined) return `all-${protocol}`;
  return port.endPort !== undefined ? `${port.port}-${port.endPort}-${protocol}` : `${port.port}-${protocol}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable suffix for names that must be cut. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A name from the selectors and ports: `allow-FROM-to-TO[-on-PORTS]`, lowercased to a DNS-1123 label;
 * over 63 characters it is cut and ends with a hash of the whole, so different specs keep different names.
 */
export function deriveName(spec: AllowSpec): string {
  const subject = selectorSlug(spec.subject);
  const peers = spec.peers.length ? spec.peers.map(peerSlug).join('-or-') : 'all';
  const [from, to] = spec.direction === 'ingress' ? [peers, subject] : [subject, peers];
  const ports = spec.ports.length ? `-on-${spec.ports.map(portSlug).join('-')}` : '';
  const full = `allow-${from}-to-${to}${ports}${spec.direction === 'egress' ? '-egress' : ''}`;
  const clean = full
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (clean.length <= MAX_NAME_LENGTH) return clean;
  const head = clean.slice(0, MAX_NAME_LENGTH - 9).replace(/-+$/, '');
  return `${head}-${hash(full)}`;
}

/* ---------- meaning ---------- */

function podsText(selector: V1LabelSelector | undefined): string {
  const text = selector ? formatSelector(selector) : '';
  return text ? `pods ${text}` : 'every pod';
}

function namespacesText(selector: V1LabelSelector): string {
  const name = namespaceNameOf(selector);
  if (name !== undefined) return name;
  const text = formatSelector(selector);
  return text ? `namespaces ${text}` : 'every namespace';
}

/** A peer in words: `pods app=web in tenant-b`, `every pod in namespaces env=prod`, `addresses 10.0.0.0/8 except ...`. */
export function describePeer(peer: V1NetworkPolicyPeer, policyNamespace: string): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except ?? [];
    return `addresses ${peer.ipBlock.cidr}${except.length ? ` except ${except.join(', ')}` : ''}`;
  }
  // NetworkPolicyPeer: namespaceSelector absent means the policy's own namespace.
  const where = peer.namespaceSelector ? namespacesText(peer.namespaceSelector) : policyNamespace;
  return `${podsText(peer.podSelector)} in ${where}`;
}

function portText(port: V1NetworkPolicyPort): string {
  const protocol = port.protocol ?? 'TCP';
  if (port.port === undefined) return `any ${protocol} port`;
  return port.endPort !== undefined ? `${port.port}-${port.endPort}/${protocol}` : `${port.port}/${protocol}`;
}

function ruleSentence(
  direction: Direction,
  subject: string,
  namespace: string,
  peers: V1NetworkPolicyPeer[] | undefined,
  ports: V1NetworkPolicyPort[] | undefined,
): string {
  // from/to empty or absent: every peer; ports empty or absent: every port.
  const others = peers && peers.length ? peers.map((p) => describePeer(p, namespace)).join(' or ') : 'anything';
  const on = ports && ports.length ? ports.map(portText).join(', ') : 'any port';
  return direction === 'ingress'
    ? `${others} may reach ${subject} on ${on}`
    : `${subject} may reach ${others} on ${on}`;
}

/** The one-line meaning of an AllowSpec: "pods A in ns may reach pods B in ns on 80/TCP". */
export function describeAllow(spec: AllowSpec): string {
  const subject = `${podsText(spec.subject)} in ${spec.namespace}`;
  return ruleSentence(spec.direction, subject, spec.namespace, spec.peers, spec.ports);
}

/** The meaning of any policy, one line per rule (or per direction it isolates without rules). */
export function describePolicy(policy: V1NetworkPolicy): string[] {
  const namespace = policy.metadata?.namespace ?? 'default';
  const subject = `${podsText(policy.spec?.podSelector)} in ${namespace}`;
  const types = policyTypesOf(policy);
  const lines: string[] = [];
  if (types.ingress) {
    const rules = policy.spec?.ingress ?? [];
    if (rules.length === 0) lines.push(`nothing may reach ${subject}`);
    for (const rule of rules) lines.push(ruleSentence('ingress', subject, namespace, peersOf(rule), rule.ports));
  }
  if (types.egress) {
    const rules = policy.spec?.egress ?? [];
    if (rules.length === 0) lines.push(`${subject} may reach nothing`);
    for (const rule of rules) lines.push(ruleSentence('egress', subject, namespace, rule.to, rule.ports));
  }
  return lines;
}

/** policyTypes as the API server defaults them (SetDefaults_NetworkPolicy). */
function policyTypesOf(policy: V1NetworkPolicy): Record<Direction, boolean> {
  const types = policy.spec?.policyTypes ?? [];
  if (types.length > 0) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (policy.spec?.egress ?? []).length > 0 };
}

/** An ingress rule's peers, typed (`_from`) or as written in YAML (`from`). */
function peersOf(rule: V1NetworkPolicyIngressRule): V1NetworkPolicyPeer[] | undefined {
  return rule._from ?? (rule as { from?: V1NetworkPolicyPeer[] }).from;
}

/* ---------- preview ---------- */

/** One pod pair and the ports in question. */
export interface PodPairPorts {
  from: PodRef;
  to: PodRef;
  ports: PortSet;
}

/** Something the new policy does that the user may not mean, with the `allow` that fixes it. */
export type AllowFinding =
  | {
      /** The policy is the first to select some subject pods in its direction: what reached them (or they reached) before is now denied. */
      code: 'first-policy';
      direction: Direction;
      /** Subject pods no policy selected in this direction before. */
      newlyIsolated: PodRef[];
      /** Pod pairs allowed today that become denied because of that. */
      cut: PodPairPorts[];
      /** `allow` calls that keep those connections open. */
      fixes: AllowSpec[];
    }
  | {
      /** Connections the policy admits that stay denied: the other side is isolated in the other direction. */
      code: 'blocked-by-other-side';
      /** The direction that still denies: `egress` of the sources for an ingress policy, and the reverse. */
      direction: Direction;
      blocked: PodPairPorts[];
      /** `allow` calls on the other side that open them. */
      fixes: AllowSpec[];
    };

/** What a policy changes: the pods it selects, the connections it opens and cuts, and what to watch out for. */
export interface PolicyPreview {
  /** Pods the policy selects. */
  subjects: PodRef[];
  /** Whether a policy of the same name is replaced. */
  replaces: boolean;
  diff: ReachabilityDiff;
  findings: AllowFinding[];
}

/**
 * Compares reachability with and without `policy` (replacing a policy of the same name), and finds
 * the two classic traps: the first policy on a pod denying everything else in that direction, and
 * admitted connections that the other side's isolation still denies.
 */
export function previewPolicy(snapshot: ClusterSnapshot, policy: V1NetworkPolicy): PolicyPreview {
  const ref = { namespace: policy.metadata?.namespace ?? 'default', name: policy.metadata?.name ?? '' };
  const sameName = (p: V1NetworkPolicy) =>
    (p.metadata?.namespace ?? 'default') === ref.namespace && p.metadata?.name === ref.name;
  const before = compileWorld(snapshot);
  const after = compileWorld({ ...snapshot, policies: [...snapshot.policies.filter((p) => !sameName(p)), policy] });
  const compiled = after.policies.find((p) => p.ref.namespace === ref.namespace && p.ref.name === ref.name);
  const subjects = after.pods.filter(
    (p) => p.ref.namespace === ref.namespace && (compiled?.podSelector.matches(p.pod.metadata?.labels ?? {}) ?? false),
  );
  const diff = diffReachability(
    before,
    after,
    subjects.map((p) => p.ref),
  );
  const findings: AllowFinding[] = [];
  const types = policyTypesOf(policy);
  for (const direction of ['ingress', 'egress'] as const) {
    if (!types[direction] || !compiled) continue;
    const first = firstPolicyFinding(before, subjects, diff, direction, ref.namespace, policy.spec?.podSelector ?? {});
    if (first) findings.push(first);
    const blocked = blockedFinding(after, policy, subjects, direction, ref);
    if (blocked) findings.push(blocked);
  }
  return { subjects: subjects.map((p) => p.ref), replaces: snapshot.policies.some(sameName), diff, findings };
}

function isIsolated(world: World, pod: PodRef, direction: Direction): boolean {
  const info = world.podsByKey.get(keyOf(pod));
  if (!info) return false;
  const cls = world.classes[info.classId];
  return (direction === 'ingress' ? cls.ingressPolicies : cls.egressPolicies).length > 0;
}

/** Selects the pods of some namespaces from the policy's namespace: none (same), one by name, or several. */
function peersForNamespaces(namespaces: string[], policyNamespace: string): V1NetworkPolicyPeer[] {
  // The policy's own namespace first (as `*`), then the others by name.
  const order = (ns: string) => `${ns === policyNamespace ? 0 : 1}${ns}`;
  return [...new Set(namespaces)]
    .sort((a, b) => (order(a) < order(b) ? -1 : 1))
    .map((ns) =>
      ns === policyNamespace
        ? { podSelector: {} }
        : { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } } },
    );
}

function firstPolicyFinding(
  before: World,
  subjects: PodInfo[],
  diff: ReachabilityDiff,
  direction: Direction,
  namespace: string,
  subject: V1LabelSelector,
): AllowFinding | undefined {
  const newlyIsolated = subjects.filter((s) => !isIsolated(before, s.ref, direction)).map((s) => s.ref);
  if (newlyIsolated.length === 0) return undefined;
  const keys = new Set(newlyIsolated.map(keyOf));
  // Ingress: connections into the newly isolated pods; egress: connections out of them.
  const cut = diff.cut
    .filter((c) => keys.has(keyOf(direction === 'ingress' ? c.to : c.from)))
    .map((c) => ({ from: c.from, to: c.to, ports: c.lost }));
  if (cut.length === 0) return undefined;
  const others = cut.map((c) => (direction === 'ingress' ? c.from : c.to).namespace);
  const fix: AllowSpec = { namespace, direction, subject, peers: peersForNamespaces(others, namespace), ports: [] };
  return { code: 'first-policy', direction, newlyIsolated, cut, fixes: [fix] };
}

function admitsPod(peer: V1NetworkPolicyPeer, policyNamespace: string, pod: PodInfo, nsLabels: Labels): boolean {
  if (peer.ipBlock) return false;
  const inNamespace = peer.namespaceSelector
    ? matchesSelector(peer.namespaceSelector, nsLabels)
    : pod.ref.namespace === policyNamespace;
  return inNamespace && (!peer.podSelector || matchesSelector(peer.podSelector, pod.pod.metadata?.labels ?? {}));
}

function blockedFinding(
  after: World,
  policy: V1NetworkPolicy,
  subjects: PodInfo[],
  direction: Direction,
  ref: { namespace: string; name: string },
): AllowFinding | undefined {
  const blocked: PodPairPorts[] = [];
  const ours = (r: { ref: { policy: { namespace: string; name: string } } }) =>
    r.ref.policy.namespace === ref.namespace && r.ref.policy.name === ref.name;
  const rules = direction === 'ingress' ? (policy.spec?.ingress ?? []) : (policy.spec?.egress ?? []);
  const portsListed = rules.some((r) => (r.ports ?? []).length > 0);
  for (const subject of subjects) {
    for (const other of after.pods) {
      if (other === subject) continue;
      const [source, destination] = direction === 'ingress' ? [other, subject] : [subject, other];
      const pair = analysePair(after, after.classes[source.classId], after.classes[destination.classId]);
      const mine = direction === 'ingress' ? pair.ingress : pair.egress;
      const theirs = direction === 'ingress' ? pair.egress : pair.ingress;
      const intended = unionPortSets(...mine.rules.filter(ours).map((r) => r.ports));
      if (isEmptyPortSet(intended)) continue;
      const denied = subtractPortSets(intended, theirs.ports);
      // With every port intended, only a connection denied on every port is worth a warning.
      const isWorthSaying = portsListed
        ? !isEmptyPortSet(denied)
        : isEmptyPortSet(intersectPortSets(intended, theirs.ports));
      if (isWorthSaying) blocked.push({ from: source.ref, to: destination.ref, ports: denied });
    }
  }
  if (blocked.length === 0) return undefined;
  const otherDirection: Direction = direction === 'ingress' ? 'egress' : 'ingress';
  return {
    code: 'blocked-by-other-side',
    direction: otherDirection,
    blocked,
    fixes: fixesFor(after, policy, blocked, direction, ref.namespace),
  };
}

/** The `allow` on the other side that opens blocked pairs: per peer of ours and per namespace of the blocked pods. */
function fixesFor(
  after: World,
  policy: V1NetworkPolicy,
  blocked: PodPairPorts[],
  direction: Direction,
  namespace: string,
): AllowSpec[] {
  const rules = direction === 'ingress' ? (policy.spec?.ingress ?? []) : (policy.spec?.egress ?? []);
  const subject = policy.spec?.podSelector ?? {};
  const fixes = new Map<string, AllowSpec>();
  for (const rule of rules) {
    const peers = (direction === 'ingress' ? peersOf(rule) : (rule as V1NetworkPolicyEgressRule).to) ?? [];
    const ports = rule.ports ?? [];
    for (const pair of blocked) {
      const other = after.podsByKey.get(keyOf(direction === 'ingress' ? pair.from : pair.to))!;
      const nsLabels = after.namespaceLabels.get(other.ref.namespace) ?? {};
      // The fix is written on the other pods, as the peer of ours that admits them selects them (all of them, if it names no pods).
      const peer = peers.length === 0 ? {} : peers.find((p) => admitsPod(p, namespace, other, nsLabels));
      if (!peer) continue;
      const back: V1NetworkPolicyPeer =
        other.ref.namespace === namespace
          ? { podSelector: subject }
          : { podSelector: subject, namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } };
      const fix: AllowSpec = {
        namespace: other.ref.namespace,
        direction: direction === 'ingress' ? 'egress' : 'ingress',
        subject: peer.podSelector ?? {},
        peers: [back],
        ports,
      };
      fixes.set(JSON.stringify(fix), fix);
    }
  }
  return [...fixes.values()];
}

/* ---------- --import ---------- */

/** A policy that cannot be translated into networking.k8s.io/v1, with the fields at fault. */
export class TranslationError extends Error {
  constructor(
    message: string,
    readonly fields: string[],
  ) {
    super(message);
  }
}

/** API versions --import reads. */
export const IMPORTABLE_VERSIONS = [
  'net.alpha.kubernetes.io/v1alpha1',
  'extensions/v1beta1',
  'networking.k8s.io/v1',
] as const;

/** Metadata fields the API server sets; an import leaves them out. */
const SERVER_METADATA = new Set([
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects the fields an import cannot carry over, by path. */
class FieldCheck {
  readonly unknown: string[] = [];
  /** Records every key of `value` at `path` that is not in `known`. */
  only(value: Json, path: string, known: readonly string[]): void {
    for (const key of Object.keys(value)) if (!known.includes(key)) this.unknown.push(`${path}.${key}`);
  }
}

/** A plain label map (v1alpha1's selectors) as a LabelSelector. */
function labelMap(value: unknown, path: string, check: FieldCheck): V1LabelSelector {
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    check.unknown.push(`${path} (expected a map of label strings)`);
    return {};
  }
  return Object.keys(value).length ? { matchLabels: { ...(value as Record<string, string>) } } : {};
}

function listAt(value: unknown, path: string, check: FieldCheck): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    check.unknown.push(`${path} (expected a list)`);
    return [];
  }
  return value;
}

/** net.alpha.kubernetes.io/v1alpha1: podSelector and peers are plain label maps; allowIncoming holds from and toPorts. */
function translateAlphaSpec(spec: Json, check: FieldCheck): V1NetworkPolicy['spec'] {
  check.only(spec, 'spec', ['podSelector', 'allowIncoming']);
  const podSelector = spec.podSelector === undefined ? {} : labelMap(spec.podSelector, 'spec.podSelector', check);
  // allowIncoming was one rule; some drafts made it a list. Absent: the pods accept nothing.
  const incoming = spec.allowIncoming;
  const rulesIn = Array.isArray(incoming) ? incoming : incoming === undefined || incoming === null ? [] : [incoming];
  const ingress = rulesIn.map((rule, i): V1NetworkPolicyIngressRule => {
    const at = Array.isArray(incoming) ? `spec.allowIncoming[${i}]` : 'spec.allowIncoming';
    if (!isObject(rule)) {
      check.unknown.push(`${at} (expected an object)`);
      return {};
    }
    check.only(rule, at, ['from', 'toPorts']);
    const out: V1NetworkPolicyIngressRule = {};
    if (rule.from !== undefined && rule.from !== null) {
      out._from = listAt(rule.from, `${at}.from`, check).map((peer, j) => {
        const pat = `${at}.from[${j}]`;
        if (!isObject(peer)) {
          check.unknown.push(`${pat} (expected an object)`);
          return {};
        }
        check.only(peer, pat, ['pods', 'namespaces']);
        // A v1alpha1 peer named exactly one of pods or namespaces.
        if (peer.pods !== undefined && peer.namespaces !== undefined) {
          check.unknown.push(`${pat} (both pods and namespaces: v1alpha1 allows one)`);
        }
        if (peer.pods !== undefined) return { podSelector: labelMap(peer.pods, `${pat}.pods`, check) };
        if (peer.namespaces !== undefined) {
          return { namespaceSelector: labelMap(peer.namespaces, `${pat}.namespaces`, check) };
        }
        check.unknown.push(`${pat} (names neither pods nor namespaces)`);
        return {};
      });
    }
    if (rule.toPorts !== undefined && rule.toPorts !== null) {
      out.ports = listAt(rule.toPorts, `${at}.toPorts`, check).map((port, j) => {
        const pat = `${at}.toPorts[${j}]`;
        if (!isObject(port)) {
          check.unknown.push(`${pat} (expected an object)`);
          return {};
        }
        check.only(port, pat, ['port', 'protocol']);
        const out: V1NetworkPolicyPort = {};
        if (port.protocol !== undefined) out.protocol = String(port.protocol);
        else out.protocol = 'TCP';
        if (port.port !== undefined) out.port = port.port as number | string;
        return out;
      });
    }
    return out;
  });
  return { podSelector, policyTypes: ['Ingress'], ingress };
}

function translatePeers(value: unknown, path: string, check: FieldCheck): V1NetworkPolicyPeer[] {
  return listAt(value, path, check).map((peer, i) => {
    if (!isObject(peer)) {
      check.unknown.push(`${path}[${i}] (expected an object)`);
      return {};
    }
    check.only(peer, `${path}[${i}]`, ['podSelector', 'namespaceSelector', 'ipBlock']);
    return { ...peer } as V1NetworkPolicyPeer;
  });
}

function translatePorts(value: unknown, path: string, check: FieldCheck): V1NetworkPolicyPort[] {
  return listAt(value, path, check).map((port, i) => {
    if (!isObject(port)) {
      check.unknown.push(`${path}[${i}] (expected an object)`);
      return {};
    }
    check.only(port, `${path}[${i}]`, ['port', 'endPort', 'protocol']);
    return { ...port } as V1NetworkPolicyPort;
  });
}

/** extensions/v1beta1 and networking.k8s.io/v1 share the spec; only known fields are carried over. */
function translateV1Spec(spec: Json, check: FieldCheck): V1NetworkPolicy['spec'] {
  check.only(spec, 'spec', ['podSelector', 'policyTypes', 'ingress', 'egress']);
  if (spec.podSelector !== undefined && !isObject(spec.podSelector))
    check.unknown.push('spec.podSelector (expected a label selector)');
  const out: V1NetworkPolicy['spec'] = { podSelector: isObject(spec.podSelector) ? { ...spec.podSelector } : {} };
  if (spec.policyTypes !== undefined) out.policyTypes = listAt(spec.policyTypes, 'spec.policyTypes', check) as string[];
  if (spec.ingress !== undefined) {
    out.ingress = listAt(spec.ingress, 'spec.ingress', check).map((rule, i) => {
      const at = `spec.ingress[${i}]`;
      if (!isObject(rule)) return {};
      check.only(rule, at, ['from', '_from', 'ports']);
      const typed: V1NetworkPolicyIngressRule = {};
      const from = rule.from ?? rule._from;
      if (from !== undefined && from !== null) typed._from = translatePeers(from, `${at}.from`, check);
      if (rule.ports !== undefined && rule.ports !== null)
        typed.ports = translatePorts(rule.ports, `${at}.ports`, check);
      return typed;
    });
  }
  if (spec.egress !== undefined) {
    out.egress = listAt(spec.egress, 'spec.egress', check).map((rule, i) => {
      const at = `spec.egress[${i}]`;
      if (!isObject(rule)) return {};
      check.only(rule, at, ['to', 'ports']);
      const typed: V1NetworkPolicyEgressRule = {};
      if (rule.to !== undefined && rule.to !== null) typed.to = translatePeers(rule.to, `${at}.to`, check);
      if (rule.ports !== undefined && rule.ports !== null)
        typed.ports = translatePorts(rule.ports, `${at}.ports`, check);
      return typed;
    });
  }
  return out;
}

/**
 * Translates a NetworkPolicy document (v1alpha1, extensions/v1beta1 or networking.k8s.io/v1) into
 * networking.k8s.io/v1 in client-node's typed shape. Server-set metadata is dropped; any other field
 * it cannot carry over is a TranslationError naming the fields.
 */
export function translatePolicy(document: unknown): V1NetworkPolicy {
  if (!isObject(document)) throw new TranslationError('not a Kubernetes object', []);
  const { apiVersion, kind } = document;
  if (kind !== 'NetworkPolicy') {
    throw new TranslationError(`kind ${String(kind)} is not a NetworkPolicy`, ['kind']);
  }
  if (!(IMPORTABLE_VERSIONS as readonly unknown[]).includes(apiVersion)) {
    throw new TranslationError(`apiVersion ${String(apiVersion)} is not one of ${IMPORTABLE_VERSIONS.join(', ')}`, [
      'apiVersion',
    ]);
  }
  const check = new FieldCheck();
  check.only(document, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metadata = isObject(document.metadata) ? document.metadata : {};
  const known = ['name', 'namespace', 'labels', 'annotations', ...SERVER_METADATA];
  check.only(metadata, 'metadata', known);
  const spec = isObject(document.spec) ? document.spec : {};
  const translated =
    apiVersion === 'net.alpha.kubernetes.io/v1alpha1' ? translateAlphaSpec(spec, check) : translateV1Spec(spec, check);
  if (check.unknown.length > 0) {
    const fields = check.unknown.map((f) => f.replace(/^\./, ''));
    throw new TranslationError(`cannot translate ${fields.join(', ')} into networking.k8s.io/v1`, fields);
  }
  const outMeta: V1NetworkPolicy['metadata'] = {};
  if (typeof metadata.name === 'string') outMeta.name = metadata.name;
  if (typeof metadata.namespace === 'string') outMeta.namespace = metadata.namespace;
  if (isObject(metadata.labels)) outMeta.labels = { ...(metadata.labels as Record<string, string>) };
  if (isObject(metadata.annotations)) {
    const annotations = Object.entries(metadata.annotations as Record<string, string>).filter(
      ([k]) => k !== LAST_APPLIED,
    );
    if (annotations.length) outMeta.annotations = Object.fromEntries(annotations);
  }
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: outMeta, spec: translated };
}
