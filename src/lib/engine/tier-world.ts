/**
 * What a world needs from its cluster-scoped tier policies when it is built: the pod label keys, port
 * names and networks their rules read (so that pod classes are cut by them as by NetworkPolicy's), and
 * what the user must be told about them once (rules that fail closed, same-priority policies whose
 * order the API leaves open, rules that cannot be evaluated statically).
 */
import { cidrContains, parseCidr } from './ipblock.js';
import { keyOf, type Direction, type Warning } from './model.js';
import { namedPortSignature } from './ports.js';
import type { Labels } from './selector.js';
import { onSelectedNode, peerMatches, selectsSubject, type TierEndpoint, type TierHost } from './tiers.js';
import type { CompiledTierPolicy, TierPeer, TierPolicyRef, TierSet } from './tiers-compile.js';
import { endpointOf, tierSide, type TierSide } from './tier-sides.js';
import type { PodClass, TierSignatures, TierWorld } from './world.js';

function* rulesOf(set: TierSet) {
  for (const policy of set.policies) for (const rule of [...policy.ingress, ...policy.egress]) yield rule;
}

/** Label keys the tier selectors read on pods (subjects and pod peers). */
export function tierPodKeys(set: TierSet): Set<string> {
  const keys = new Set<string>();
  for (const policy of set.policies) policy.subject.pods?.keys.forEach((k) => keys.add(k));
  for (const rule of rulesOf(set)) {
    if (rule.peers === 'all') continue;
    for (const peer of rule.peers) if (peer.kind === 'pods') peer.pods.keys.forEach((k) => keys.add(k));
  }
  return keys;
}

/** Container port names the tier rules name. */
export function tierPortNames(set: TierSet): Set<string> {
  const names = new Set<string>();
  for (const rule of rulesOf(set)) {
    if (rule.ports === 'all') continue;
    for (const port of rule.ports) if ('namedPort' in port) names.add(port.namedPort);
  }
  return names;
}

/** The CIDRs of the networks peers, as written in canonical form. */
export function tierNetworks(set: TierSet): string[] {
  const cidrs = new Set<string>();
  for (const rule of rulesOf(set)) {
    if (rule.peers === 'all') continue;
    for (const peer of rule.peers) if (peer.kind === 'networks') for (const c of peer.cidrs) cidrs.add(c.text);
  }
  return [...cidrs];
}

/**
 * Which nodes peers select a host-network pod's node, one character per peer ('' for a pod on the pod
 * network, which no nodes peer matches): pods on different nodes must not share a class when a nodes
 * peer tells their nodes apart.
 */
export function tierNodesSignature(set: TierSet, pod: TierHost): string {
  if (!pod.isHostNetwork) return '';
  let key = '';
  for (const peer of set.nodePeers) key += onSelectedNode(peer, pod) ? '1' : '0';
  return key;
}

/** `AdminNetworkPolicy/name`. */
function nameOf(ref: TierPolicyRef): string {
  return `${ref.kind}/${ref.name}`;
}

/** A pod class both policies select for a direction in which both have rules; undefined when none. */
function sharedSubject(
  a: CompiledTierPolicy,
  b: CompiledTierPolicy,
  classes: readonly PodClass[],
): { cls: PodClass; direction: Direction } | undefined {
  for (const direction of ['ingress', 'egress'] as const) {
    if (a[direction].length === 0 || b[direction].length === 0) continue;
    for (const cls of classes) {
      const endpoint = endpointOf(cls);
      if (selectsSubject(a, endpoint) && selectsSubject(b, endpoint)) return { cls, direction };
    }
  }
  return undefined;
}

/** What to say about a world's tier policies, once per world. */
export function tierWarnings(set: TierSet, classes: readonly PodClass[]): Warning[] {
  const warnings: Warning[] = [];
  for (const w of set.warnings) {
    if (w.code === 'invalid-policy') {
      warnings.push({
        code: 'invalid-policy',
        message: `${nameOf(w.policy)} is invalid and left out: ${(w.problems ?? []).slice(0, 3).join('; ')}`,
      });
    } else if (w.code === 'unreadable-nodes' || w.code === 'absent-nodes') {
      const why =
        w.code === 'unreadable-nodes'
          ? 'the Node objects could not be read'
          : 'the snapshot holds no Node objects (give them with -f, e.g. kubectl get nodes -o yaml)';
      warnings.push({
        code: 'tier-fail-closed',
        message: `${nameOf(w.policy)} ${w.field} is a nodes peer and ${why}: the rule fails closed (an Accept rule matches nothing, a Deny or Pass rule denies everything), as the API says for a peer it cannot evaluate`,
      });
    } else {
      const what = w.code === 'unknown-peer' ? 'a peer' : 'a port';
      warnings.push({
        code: 'tier-fail-closed',
        message: `${nameOf(w.policy)} ${w.field} is ${what} this version does not understand: the rule fails closed (an Accept rule matches nothing, a Deny or Pass rule denies everything), as the API says`,
      });
    }
  }
  // Same tier and priority, overlapping subjects: the API lets the network plugin apply either first.
  const policies = set.policies;
  for (let i = 0; i < policies.length; i++) {
    for (let j = i + 1; j < policies.length; j++) {
      const a = policies[i];
      const b = policies[j];
      if (a.tier !== b.tier || a.priority !== b.priority) continue;
      const shared = sharedSubject(a, b, classes);
      if (!shared) continue;
      warnings.push({
        code: 'tier-ambiguous',
        message: `${nameOf(a.ref)} and ${nameOf(b.ref)} have the same priority ${a.priority} in the ${a.tier} tier and both apply to ${shared.direction} of pods such as ${keyOf(shared.cls.representative.ref)}: the API leaves their order to the network plugin; answers assume ${nameOf(a.ref)} first (name order)`,
      });
    }
  }
  for (const policy of policies) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const rule of policy[direction]) {
        if (rule.peers === 'all') continue;
        const at = `${nameOf(policy.ref)} ${direction}[${rule.index}]${rule.name ? ` (${rule.name})` : ''}`;
        if (rule.hasDomainNames) {
          warnings.push({
            code: 'tier-domain-names',
            message: `${at} names domainNames, which are resolved at run time and not evaluated here: they match no pod; answers about addresses outside the cluster do not account for them`,
          });
        }
      }
    }
  }
  return warnings;
}

/**
 * The tier view of a world's classes: classes that every tier selector, port name and network treats
 * alike share a tier class (far fewer than classes: NetworkPolicy's ipBlocks cut classes the tiers do
 * not see), and what the tiers say between two tier classes is worked out once.
 */
export function buildTierWorld(set: TierSet, classes: readonly PodClass[]): TierWorld {
  const keys = [...tierPodKeys(set)].sort();
  const names = tierPortNames(set);
  const networks = tierNetworks(set).map((c) => parseCidr(c)!);
  const classOf = new Int32Array(classes.length);
  const reps: PodClass[] = [];
  const members: number[][] = [];
  // The classes of a label class share namespace, labels, port names and host network (compile.ts cuts
  // label classes by every tier selector key, port name and nodes peer): that part of the key once per
  // label class, as a number.
  const labelIds = new Map<string, number>();
  const labelIdOf: number[] = [];
  // Each part of that key as a number (namespace, each key's value or 0 for its absence, port names,
  // host-network nodes), two UTF-16 units per number: a short key string, no text joined per class.
  const namespaceIds = new Map<string, number>();
  const valueIds = keys.map(() => new Map<string, number>());
  const portIds = new Map<string, number>();
  const nodesIds = new Map<string, number>();
  const units: number[] = new Array<number>(2 * (keys.length + 3)).fill(0);
  const put = (at: number, id: number): void => {
    units[at] = id >>> 16;
    units[at + 1] = id & 0xffff;
  };
  // Classes with the same named ports id resolve every port name alike (compile.ts reads the tiers' too).
  const portKeyOf: string[] = [];
  const portsOf = (cls: PodClass): string =>
    names.size ? (portKeyOf[cls.namedPorts] ??= namedPortSignature(cls.representative.pod, names)) : '';
  // Which networks hold a class's addresses is the same for every class of an address signature
  // (compile.ts adds each networks CIDR as an address block): once per signature, as a number.
  const networkIds = new Map<string, number>();
  const networkIdOf: number[] = [];
  // A tier class is a (label part, networks part) pair; both ids are below classes.length + 1.
  const stride = classes.length + 1;
  const byKey = new Map<number, number>();
  for (const cls of classes) {
    const pod = cls.representative;
    let label = labelIdOf[cls.labelClass];
    if (label === undefined) {
      put(0, idOf(namespaceIds, cls.namespace));
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        // A value is told apart by its text (as a selector compares it); ids start at 1, 0 is "absent".
        const isSet = Object.prototype.hasOwnProperty.call(cls.labels, k);
        put(2 + 2 * i, isSet ? idOf(valueIds[i], String(cls.labels[k])) + 1 : 0);
      }
      put(2 + 2 * keys.length, idOf(portIds, portsOf(cls)));
      put(4 + 2 * keys.length, pod.isHostNetwork ? idOf(nodesIds, tierNodesSignature(set, endpointOf(cls))) + 1 : 0);
      label = idOf(labelIds, String.fromCharCode.apply(null, units));
      labelIdOf[cls.labelClass] = label;
    }
    let network = 0;
    if (networks.length > 0) {
      network = networkIdOf[cls.ipSignature];
      if (network === undefined) {
        let bits = '';
        for (const cidr of networks) bits += pod.ips.some((ip) => cidrContains(cidr, ip)) ? '1' : '0';
        network = idOf(networkIds, bits);
        networkIdOf[cls.ipSignature] = network;
      }
    }
    const key = label * stride + network;
    let id = byKey.get(key);
    if (id === undefined) {
      id = reps.length;
      byKey.set(key, id);
      reps.push(cls);
      members.push([]);
    }
    classOf[cls.id] = id;
    members[id].push(cls.id);
  }
  const endpoints = reps.map(endpointOf);
  return {
    set,
    classOf,
    reps,
    members,
    endpoints,
    signatures: signaturesOf(set, endpoints, reps.map(portsOf)),
    groups: new Map(),
  };
}

/** The number a map gives a key, a new one (its size) when it has none. */
function idOf(ids: Map<string, number>, key: string): number {
  let id = ids.get(key);
  if (id === undefined) ids.set(key, (id = ids.size));
  return id;
}

/** What a pod of one namespace can meet in one direction: the policies and rule peers its namespace does not rule out. */
interface NamespaceCandidates {
  /** Policies with rules in the direction whose subject's namespace selector selects the namespace. */
  subjects: { index: number; policy: CompiledTierPolicy }[];
  /** Rules with peers, in evaluation order, with the peers that may match a pod there (none: left out). */
  rules: { name: string; peers: TierPeer[] }[];
}

/** The policies and rules of a direction a pod in a namespace with these labels may meet. */
function candidatesIn(set: TierSet, direction: Direction, namespaceLabels: Labels): NamespaceCandidates {
  const out: NamespaceCandidates = { subjects: [], rules: [] };
  set.policies.forEach((policy, i) => {
    if (policy[direction].length === 0) return;
    if (policy.subject.namespaces.matches(namespaceLabels)) out.subjects.push({ index: i, policy });
    for (const rule of policy[direction]) {
      if (rule.peers === 'all') continue;
      // Namespaces and pods peers match only pods of the namespaces their selector selects.
      const peers = rule.peers.filter(
        (peer) => (peer.kind !== 'namespaces' && peer.kind !== 'pods') || peer.namespaces.matches(namespaceLabels),
      );
      if (peers.length > 0) out.rules.push({ name: `${i}.${rule.index}`, peers });
    }
  });
  return out;
}

/**
 * Per tier class, what a tier side depends on: which policies select it as the subject (per
 * direction), which rules' peers match it as the other end (per direction), and its port names (named
 * ports resolve on the destination). Tier classes with the same signatures get the same answers. The
 * namespace selectors are read once per namespace; each tier class checks only what its namespace
 * leaves (tiers.ts decides each match).
 */
function signaturesOf(set: TierSet, endpoints: readonly TierEndpoint[], ports: readonly string[]): TierSignatures {
  const out: TierSignatures = { subjectIn: [], subjectOut: [], otherIn: [], otherOut: [], ports: [...ports] };
  const byNamespace = new Map<string, Record<Direction, NamespaceCandidates>>();
  for (const e of endpoints) {
    let candidates = byNamespace.get(e.namespace);
    if (!candidates) {
      candidates = {
        ingress: candidatesIn(set, 'ingress', e.namespaceLabels),
        egress: candidatesIn(set, 'egress', e.namespaceLabels),
      };
      byNamespace.set(e.namespace, candidates);
    }
    for (const direction of ['ingress', 'egress'] as const) {
      const { subjects, rules } = candidates[direction];
      const subject: number[] = [];
      for (const { index, policy } of subjects) if (selectsSubject(policy, e)) subject.push(index);
      let other = '';
      for (const rule of rules)
        if (rule.peers.some((peer) => peerMatches(peer, e))) other += other ? `,${rule.name}` : rule.name;
      (direction === 'ingress' ? out.subjectIn : out.subjectOut).push(subject.join(','));
      (direction === 'ingress' ? out.otherIn : out.otherOut).push(other);
    }
  }
  return out;
}

/** Tier classes that get the same answer from one side, grouped (for masks: each group once). */
type TierGrouping = 'otherIn' | 'subjectOut' | 'otherOut+ports' | 'subjectIn+ports' | 'subjectIn+otherOut+ports';

/** The tier classes grouped by what a grouping's answers depend on: per group, a tier class of it and its classes. */
export function tierGroups(tiers: TierWorld, grouping: TierGrouping): { rep: number; classes: number[] }[] {
  let groups = tiers.groups.get(grouping);
  if (groups) return groups;
  const sig = tiers.signatures;
  const keyOf = (t: number): string => {
    switch (grouping) {
      case 'otherIn':
        return sig.otherIn[t];
      case 'subjectOut':
        return sig.subjectOut[t];
      case 'otherOut+ports':
        return `${sig.otherOut[t]}|${sig.ports[t]}`;
      case 'subjectIn+ports':
        return `${sig.subjectIn[t]}|${sig.ports[t]}`;
      case 'subjectIn+otherOut+ports':
        return `${sig.subjectIn[t]}|${sig.otherOut[t]}|${sig.ports[t]}`;
    }
  };
  const byKey = new Map<string, { rep: number; classes: number[] }>();
  tiers.members.forEach((classes, t) => {
    const key = keyOf(t);
    const group = byKey.get(key);
    if (group) group.classes.push(...classes);
    else byKey.set(key, { rep: t, classes: [...classes] });
  });
  groups = [...byKey.values()];
  tiers.groups.set(grouping, groups);
  return groups;
}

/**
 * What the tiers say about one direction of traffic between the classes of two tier classes, Baseline
 * tier included (a caller whose pod NetworkPolicy v1 isolates for the direction drops it); undefined
 * when no tier rule matches. Worked out once per pair of tier classes.
 */
export function tierSideBetween(
  tiers: TierWorld,
  direction: Direction,
  source: number,
  destination: number,
): TierSide | undefined {
  const memo = sideMemoOf(tiers);
  // What the side depends on: the subject's selecting policies, the rules matching the other end, the
  // destination's port names (named ports resolve there).
  const isIn = direction === 'ingress';
  const subject = isIn ? memo.subjectIn[destination] : memo.subjectOut[source];
  if (subject === memo.none) return undefined;
  const other = isIn ? memo.otherIn[source] : memo.otherOut[destination];
  const key = memo.keyOf(subject, other, memo.ports[destination]);
  const sides = isIn ? memo.ingress : memo.egress;
  let side = sides.get(key);
  if (side === undefined) {
    const endpoints: TierEndpoint[] = tiers.endpoints;
    side = tierSide(tiers.set, direction, endpoints[source], endpoints[destination], false) ?? null;
    sides.set(key, side);
  }
  return side ?? undefined;
}

/** A tier world's signatures as numbers (equal texts, equal numbers) and tierSideBetween's memo, keyed by them. */
interface SideMemo {
  subjectIn: Int32Array;
  subjectOut: Int32Array;
  otherIn: Int32Array;
  otherOut: Int32Array;
  ports: Int32Array;
  /** The number of the empty signature (no policy selects the subject). */
  none: number;
  /** The memo key of a (subject, other, ports) triple. */
  keyOf: (subject: number, other: number, ports: number) => number | string;
  ingress: Map<number | string, TierSide | null>;
  egress: Map<number | string, TierSide | null>;
}

const sideMemos = new WeakMap<TierWorld, SideMemo>();

function sideMemoOf(tiers: TierWorld): SideMemo {
  let memo = sideMemos.get(tiers);
  if (memo) return memo;
  const ids = new Map<string, number>();
  const none = idOf(ids, '');
  const sig = tiers.signatures;
  const numbered = (texts: readonly string[]) => Int32Array.from(texts, (text) => idOf(ids, text));
  const [subjectIn, subjectOut, otherIn, otherOut, ports] = [
    sig.subjectIn,
    sig.subjectOut,
    sig.otherIn,
    sig.otherOut,
    sig.ports,
  ].map(numbered);
  // A triple as one number in base n while that is exact (n^3 under 2^53: some 40,000 tier classes).
  const n = ids.size;
  const keyOf = Number.isSafeInteger(n ** 3)
    ? (a: number, b: number, c: number) => (a * n + b) * n + c
    : (a: number, b: number, c: number) => `${a},${b},${c}`;
  memo = { subjectIn, subjectOut, otherIn, otherOut, ports, none, keyOf, ingress: new Map(), egress: new Map() };
  sideMemos.set(tiers, memo);
  return memo;
}
