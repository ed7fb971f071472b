/**
 * What any pod of any namespace, including namespaces not created yet, may do to a pod class (ingress)
 * or the class to it (egress), with the cluster tiers: the question of `exposed-to-all-namespaces` and
 * of `namespace-not-isolated`. Such a pod is matched only by peers that match every pod of every
 * namespace; the tiers are then walked by tier-sides.ts (tierSide, allowedWithTiers), as for any pod.
 */
import type { Direction, PortSet, TierRuleRef } from './model.js';
import { NAMESPACE_NAME_LABEL } from './model.js';
import { emptyPortSet, unionPortSets } from './ports.js';
import type { CompiledSelector } from './selector.js';
import { allowedWithTiers, endpointOf, segmentsOn, tierSide } from './tier-sides.js';
import type { TierEndpoint } from './tiers.js';
import type { TierPeer, TierSet } from './tiers-compile.js';
import type { CompiledRule, PodClass, World } from './world.js';

/** A namespace name no namespace can have (names are DNS labels): a namespace created tomorrow. */
const NEW_NAMESPACE = '-new-';

/**
 * Whether a namespaceSelector selects every namespace, today's and tomorrow's: it reads only the
 * immutable name label, and a name it does not list passes (`{}`, or `kubernetes.io/metadata.name
 * NotIn [...]` / `Exists`).
 */
function selectsEveryNamespace(selector: CompiledSelector): boolean {
  return (
    selector.requirements.every((r) => r.key === NAMESPACE_NAME_LABEL) &&
    selector.matches({ [NAMESPACE_NAME_LABEL]: NEW_NAMESPACE })
  );
}

/**
 * Whether a NetworkPolicy rule admits every pod of every namespace, today's and tomorrow's: no
 * `from`/`to` at all, or a peer whose namespaceSelector selects every namespace and whose podSelector
 * is absent or `{}` (NetworkPolicyPeer).
 */
export function admitsEveryPod(rule: CompiledRule): boolean {
  if (rule.peers === 'all') return true;
  return rule.peers.some(
    (peer) =>
      peer.kind === 'pods' &&
      peer.namespaces !== undefined &&
      selectsEveryNamespace(peer.namespaces) &&
      (!peer.pods || peer.pods.isEverything),
  );
}

/**
 * Whether a tier peer matches every pod of every namespace. `networks` peers match pods by their IPs,
 * which a pod not created yet does not have: they are left out (in ingress, where the exposures are,
 * the API allows no `networks` peer).
 */
function matchesEveryPod(peer: TierPeer): boolean {
  if (peer.kind === 'namespaces') return selectsEveryNamespace(peer.namespaces);
  return peer.kind === 'pods' && selectsEveryNamespace(peer.namespaces) && peer.pods.isEverything;
}

const views = new WeakMap<TierSet, TierSet>();

/** The tier policies as a pod of a new namespace meets them: each rule keeps only its peers that match every pod. */
function everyPodView(set: TierSet): TierSet {
  let view = views.get(set);
  if (!view) {
    const keep = (rules: TierSet['policies'][number]['ingress']) =>
      rules.map((r) => (r.peers === 'all' ? r : { ...r, peers: r.peers.filter(matchesEveryPod) }));
    view = { ...set, policies: set.policies.map((p) => ({ ...p, ingress: keep(p.ingress), egress: keep(p.egress) })) };
    views.set(set, view);
  }
  return view;
}

/** A pod of a namespace created tomorrow: its labels and its namespace's match only selectors of every pod. */
const ANY_POD: TierEndpoint = {
  namespace: NEW_NAMESPACE,
  namespaceLabels: { [NAMESPACE_NAME_LABEL]: NEW_NAMESPACE },
  labels: {},
  ips: [],
  ports: [],
};

/** What the tiers let any pod of any namespace do to a class, or the class to it, in one direction. */
interface EveryPodSide {
  /** The ports allowed: Admin Accept, then NetworkPolicy v1 (`v1Ports`) or what the Baseline tier does not deny. */
  ports: PortSet;
  /** Tier rules that accept some of `ports`. */
  accepting: TierRuleRef[];
  /** Tier rules that deny it the other ports (some of them). */
  denying: TierRuleRef[];
}

/**
 * The tiers' answer for any pod of any namespace and a class, in a direction (ingress: the pod toward
 * the class; egress: the class toward the pod), given NetworkPolicy v1's answer for that pod (`v1Ports`,
 * when some NetworkPolicy selects the class for the direction); undefined when no tier rule decides.
 */
export function everyPodSide(
  world: World,
  cls: PodClass,
  direction: Direction,
  v1Isolated: boolean,
  v1Ports: PortSet,
): EveryPodSide | undefined {
  if (!world.tiers) return undefined;
  const view = everyPodView(world.tiers.set);
  const endpoint = endpointOf(cls);
  const [source, destination] = direction === 'ingress' ? [ANY_POD, endpoint] : [endpoint, ANY_POD];
  const side = tierSide(view, direction, source, destination, v1Isolated);
  if (!side) return undefined;
  const ports = allowedWithTiers(side, v1Isolated, v1Ports);
  const segments = [...side.admin, ...side.baseline];
  const denied = segments.filter((s) => s.hit.action === 'Deny').map((s) => s.ports);
  const accepting = segmentsOn(segments, ports, 'Accept');
  const denying = segmentsOn(segments, unionPortSets(emptyPortSet(), ...denied), 'Deny');
  if (accepting.length === 0 && denying.length === 0) return undefined;
  return { ports, accepting, denying };
}
