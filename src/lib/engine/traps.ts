/**
 * The mistakes a new policy can hide: a selector that matches nothing today (a typo in a label, the
 * wrong namespace) and a port name no destination pod defines. Each is found with the labels or port
 * names that do exist nearby, so a person sees the near-miss at once.
 */
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';

import type { Direction, Protocol } from './model.js';
import { namespacesOfPeer, podsAdmittedByPeer } from './peers.js';
import { resolveNamedPort } from './ports.js';
import type { Labels } from './selector.js';
import { compileSelector, matchesSelector } from './selector.js';
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, PodInfo, World } from './world.js';

/** A label the selector asks for (`key=value`) that nothing carries, and the closest that something does. */
export interface LabelNearMiss {
  wanted: string;
  closest: string;
}

/** What a policy names that matches nothing in the world it is previewed on. */
export type PolicyTrap =
  | {
      /** The policy's podSelector selects no pod of its namespace. */
      code: 'subject-matches-nothing';
      selector: V1LabelSelector;
      namespace: string;
      nearMisses: LabelNearMiss[];
    }
  | {
      /** A rule peer admits no pod: its namespaceSelector selects no namespace (`namespaces`), or its podSelector no pod there (`pods`). */
      code: 'peer-matches-nothing';
      direction: Direction;
      /** The rule (spec.ingress[rule] or spec.egress[rule]) and the peer's position in its from/to. */
      rule: number;
      peerIndex: number;
      peer: V1NetworkPolicyPeer;
      what: 'namespaces' | 'pods';
      nearMisses: LabelNearMiss[];
    }
  | {
      /** A port name that no destination pod defines: nothing is opened on it. */
      code: 'port-name-unknown';
      direction: Direction;
      /** The rule naming the port (spec.ingress[rule] or spec.egress[rule]). */
      rule: number;
      name: string;
      protocol: Protocol;
      /** The port names the destination pods do define, closest first; only near ones. */
      nearMisses: string[];
    };

/**
 * Edit distance between two short strings: insertions, deletions, substitutions, and transpositions of
 * two adjacent characters (optimal string alignment), so `wbe` is one edit from `web`.
 */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    before = previous;
    previous = row;
  }
  return previous[b.length];
}

/** The candidates close enough to `wanted` to be what was meant (same letters but case, or a typo or two), closest first. */
function closest(wanted: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(1, Math.floor(wanted.length / 4));
  const scored: [string, number][] = [];
  for (const candidate of new Set(candidates)) {
    // The distance is at least the difference in length.
    if (Math.abs(candidate.length - wanted.length) > limit) continue;
    const d = candidate.toLowerCase() === wanted.toLowerCase() ? 0 : distance(wanted, candidate);
    if (d <= limit && candidate !== wanted) scored.push([candidate, d]);
  }
  return scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0])).map(([c]) => c);
}

/** The labels some of `objects` carry, as `key=value`. */
function carriedLabels(objects: Iterable<Labels>): Set<string> {
  const carried = new Set<string>();
  for (const labels of objects) for (const key of Object.keys(labels)) carried.add(`${key}=${labels[key]}`);
  return carried;
}

/** For each `key=value` a selector requires that nothing carries, the closest label something does carry. */
function labelNearMisses(selector: V1LabelSelector, carried: ReadonlySet<string>): LabelNearMiss[] {
  const required = [
    ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector.matchExpressions ?? [])
      .filter((e) => e.operator === 'In')
      .flatMap((e) => (e.values ?? []).map((v) => `${e.key}=${v}`)),
  ];
  const out: LabelNearMiss[] = [];
  for (const wanted of required) {
    if (carried.has(wanted)) continue;
    const [best] = closest(wanted, carried);
    if (best !== undefined) out.push({ wanted, closest: best });
  }
  return out;
}

const labelsOf = (pod: PodInfo): Labels => pod.pod.metadata?.labels ?? {};

/**
 * What a world's compiled policies answer per class rather than per pod: each valid policy by its
 * object, and whether a pod peer (by its selectors) admits some pod. A compiled policy's selectors and
 * port names are among those the world's classes tell pods apart by, so a class's labels and named
 * ports stand for every member's; a policy the world left out (invalid) is answered pod by pod.
 */
interface TrapMemo {
  compiled: Map<V1NetworkPolicy, CompiledPolicy>;
  /** (peer, question) -> whether some pod the peer admits answers yes. */
  answers: Map<string, boolean>;
  /** Namespace -> the labels its pods carry (`key=value`). */
  labelsByNamespace: Map<string, Set<string>>;
}

const memos = new WeakMap<World, TrapMemo>();

function memoOf(world: World): TrapMemo {
  let memo = memos.get(world);
  if (!memo) {
    memo = {
      compiled: new Map(world.policies.map((p) => [p.source, p])),
      answers: new Map(),
      labelsByNamespace: new Map(),
    };
    memos.set(world, memo);
  }
  return memo;
}

/** What a compiled peer admits, as a key: its selectors (and the policy's namespace without a namespaceSelector), its block, or everything. */
function peerKey(peer: CompiledPeer | 'all', namespace: string): string {
  if (peer === 'all') return '*';
  if (peer.kind === 'ipBlock') return `#${peer.id}`;
  return `${peer.namespaces ? peer.namespaces.key : `@${namespace}`}\u0000${peer.pods ? peer.pods.key : ''}`;
}

/**
 * Classes that stand for the pods a compiled peer of a policy in `namespace` admits (every pod for
 * 'all'), found as asked: one per label class for pod peers (its classes differ only in their
 * addresses), every class holding an address of the block for an ipBlock.
 */
function* classesAdmittedBy(world: World, peer: CompiledPeer | 'all', namespace: string): Generator<PodClass> {
  if (peer === 'all') {
    for (const classes of world.labelClasses) yield classes[0];
  } else if (peer.kind === 'ipBlock') {
    const { signatures, classesBySignature } = world.index;
    for (const [signature, blocks] of signatures.entries()) {
      if (blocks.has(peer.id)) for (const id of classesBySignature[signature]) yield world.classes[id];
    }
  } else {
    for (const ns of namespacesOfPeer(world, peer, namespace)) {
      for (const id of world.index.labelClassesByNamespace.get(ns) ?? []) {
        const cls = world.labelClasses[id][0];
        if (!peer.pods || peer.pods.matches(cls.labels)) yield cls;
      }
    }
  }
}

/** Whether some pod a compiled peer admits passes `test` (asked of the classes that stand for them; memoised by `question`). */
function admitsSome(
  world: World,
  peer: CompiledPeer | 'all',
  namespace: string,
  question = '',
  test: (cls: PodClass) => boolean = () => true,
): boolean {
  const { answers } = memoOf(world);
  const key = `${peerKey(peer, namespace)}\u0001${question}`;
  let answer = answers.get(key);
  if (answer === undefined) {
    answer = false;
    for (const cls of classesAdmittedBy(world, peer, namespace)) if ((answer = test(cls))) break;
    answers.set(key, answer);
  }
  return answer;
}

/** Pods of the namespaces (with pods) whose labels `selects` accepts. */
function podsOfNamespaces(world: World, selects: (labels: Labels, namespace: string) => boolean): PodInfo[] {
  const out: PodInfo[] = [];
  for (const [ns, classes] of world.index.classesByNamespace) {
    if (!selects(world.namespaceLabels.get(ns) ?? {}, ns)) continue;
    for (const cls of classes) out.push(...cls.members);
  }
  return out;
}

/** Why a pod peer admits no pod: no namespace it selects, or no pod there; with the near-misses. */
function peerTrap(
  world: World,
  peer: V1NetworkPolicyPeer,
  compiled: CompiledPeer | undefined,
  namespace: string,
  at: { direction: Direction; rule: number; peerIndex: number },
): PolicyTrap | undefined {
  if (peer.ipBlock) return undefined;
  const admits =
    compiled?.kind === 'pods'
      ? admitsSome(world, compiled, namespace)
      : podsAdmittedByPeer(world, peer, namespace).length > 0;
  if (admits) return undefined;
  // The world's labels: the API server's kubernetes.io/metadata.name included, which files may leave out.
  const namespaceLabels = [...world.namespaceLabels.values()];
  if (peer.namespaceSelector && !namespaceLabels.some((labels) => matchesSelector(peer.namespaceSelector!, labels))) {
    const nearMisses = labelNearMisses(peer.namespaceSelector, carriedLabels(namespaceLabels));
    return { code: 'peer-matches-nothing', ...at, peer, what: 'namespaces', nearMisses };
  }
  const selector = compileSelector(peer.namespaceSelector ?? {});
  const inScope = podsOfNamespaces(world, (labels, ns) =>
    peer.namespaceSelector ? selector.matches(labels) : ns === namespace,
  );
  const nearMisses = labelNearMisses(peer.podSelector ?? {}, carriedLabels(inScope.map(labelsOf)));
  return { code: 'peer-matches-nothing', ...at, peer, what: 'pods', nearMisses };
}

/**
 * The pods a rule's named ports resolve on: the subjects (ingress), or what the peers admit (egress;
 * every pod without peers), as pods, and as classes when the rule is compiled (a class's
 * representative resolves every name a rule uses as its members do).
 */
function destinationsOf(
  world: World,
  direction: Direction,
  peers: V1NetworkPolicyPeer[],
  compiled: CompiledRule | undefined,
  subjects: readonly PodInfo[],
  namespace: string,
): { pods: () => readonly PodInfo[]; resolves: (name: string, protocol: Protocol) => boolean } {
  const byPods = (pods: readonly PodInfo[]) => ({
    pods: () => pods,
    resolves: (name: string, protocol: Protocol) =>
      pods.some((pod) => resolveNamedPort(pod.pod, name, protocol) !== undefined),
  });
  if (direction === 'ingress') return byPods(subjects);
  if (!compiled) {
    return byPods(
      peers.length === 0
        ? world.pods
        : [...new Set(peers.flatMap((peer) => podsAdmittedByPeer(world, peer, namespace)))],
    );
  }
  const admitting = compiled.peers === 'all' ? (['all'] as const) : compiled.peers;
  return {
    pods: () => {
      const classes = new Set<PodClass>();
      for (const peer of admitting) {
        for (const cls of classesAdmittedBy(world, peer, namespace)) {
          // A pod peer's class stands for its label class: all of them are admitted.
          for (const member of peer !== 'all' && peer.kind === 'ipBlock' ? [cls] : world.labelClasses[cls.labelClass])
            classes.add(member);
        }
      }
      return [...classes].flatMap((cls) => cls.members);
    },
    resolves: (name, protocol) =>
      admitting.some((peer) =>
        admitsSome(
          world,
          peer,
          namespace,
          `${name}/${protocol}`,
          (cls) => resolveNamedPort(cls.representative.pod, name, protocol) !== undefined,
        ),
      ),
  };
}

/** The container port names some of the pods define. */
function portNamesOf(pods: readonly PodInfo[]): Set<string> {
  const names = new Set<string>();
  for (const pod of pods)
    for (const c of pod.pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name) names.add(p.name);
  return names;
}

/**
 * What `policy` names that matches nothing in `world`: its podSelector, each rule peer, and each port
 * name (resolved on the destination pods: the subjects for ingress, the pods the peers admit for egress).
 */
export function policyTraps(world: World, policy: V1NetworkPolicy, subjects: readonly PodInfo[]): PolicyTrap[] {
  const namespace = policy.metadata?.namespace ?? '';
  const compiled = memoOf(world).compiled.get(policy);
  const traps: PolicyTrap[] = [];
  const selector = policy.spec?.podSelector ?? {};
  if (subjects.length === 0) {
    const { labelsByNamespace } = memoOf(world);
    let here = labelsByNamespace.get(namespace);
    if (!here) {
      here = carriedLabels(podsOfNamespaces(world, (_, ns) => ns === namespace).map(labelsOf));
      labelsByNamespace.set(namespace, here);
    }
    traps.push({ code: 'subject-matches-nothing', selector, namespace, nearMisses: labelNearMisses(selector, here) });
  }
  for (const direction of ['ingress', 'egress'] as const) {
    const rules =
      (direction === 'ingress'
        ? policy.spec?.ingress?.map((r) => ({ peers: r._from, ports: r.ports }))
        : policy.spec?.egress?.map((r) => ({ peers: r.to, ports: r.ports }))) ?? [];
    for (const [index, rule] of rules.entries()) {
      // The compiled rule, when the policy applies to this direction (policyTypes).
      const compiledRule = compiled?.[direction]?.[index];
      const compiledPeers = compiledRule && compiledRule.peers !== 'all' ? compiledRule.peers : undefined;
      const peers = rule.peers ?? [];
      for (const [peerIndex, peer] of peers.entries()) {
        const trap = peerTrap(world, peer, compiledPeers?.[peerIndex], namespace, {
          direction,
          rule: index,
          peerIndex,
        });
        if (trap) traps.push(trap);
      }
      const named = (rule.ports ?? []).filter((p) => typeof p.port === 'string');
      if (named.length === 0) continue;
      const destinations = destinationsOf(world, direction, peers, compiledRule, subjects, namespace);
      let defined: Set<string> | undefined;
      for (const port of named) {
        const name = String(port.port);
        const protocol = (port.protocol ?? 'TCP') as Protocol;
        if (destinations.resolves(name, protocol)) continue;
        const pods = destinations.pods();
        // No destination at all (a peer that admits nothing): said by the peer's trap, not the port's.
        if (pods.length === 0) break;
        defined ??= portNamesOf(pods);
        traps.push({
          code: 'port-name-unknown',
          direction,
          rule: index,
          name,
          protocol,
          nearMisses: closest(name, defined),
        });
      }
    }
  }
  return traps;
}
