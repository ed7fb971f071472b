/**
 * Namespace isolation: whether a namespace is isolated per direction and by which policies, the
 * default-deny policy that isolates it, the cluster DNS peer its egress must keep, the seed-era
 * isolation annotations, and the plan of `isolate` (what to write, what to leave alone).
 */
import type {
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

import type { CompiledPolicy, CompiledRule, World } from './world.js';
import type { ClusterSnapshot, Direction, PodRef, PolicyRef } from './model.js';
import { effectivePolicyTypes, isObjectAt, keyOf, NAMESPACE_NAME_LABEL } from './model.js';
import { analysePair, decideOnPort } from './evaluate.js';
import { compileSelector } from './selector.js';
import { endpointOf } from './tier-sides.js';
import { selectsSubject } from './tiers.js';
import type { TierPeer } from './tiers-compile.js';

/** Both directions, in display order. */
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** How isolated one direction of a namespace is. */
export type IsolationState =
  /** A policy selects every pod (podSelector `{}`) for the direction and admits nothing (egress: nothing but DNS). */
  | 'isolated'
  /** No such policy, but policies with rules select every pod: each is isolated, and rules let traffic through. */
  | 'all-pods'
  /** Policies select some of the pods. */
  | 'partial'
  /** No policy selects any pod for the direction. */
  | 'open';

/** One direction of a namespace's isolation, with the policies responsible. */
export interface DirectionIsolation {
  state: IsolationState;
  /** Policies that isolate every pod and admit nothing (egress: nothing but DNS); non-empty iff state is 'isolated'. */
  denyAll: PolicyRef[];
  /** Every policy that selects some pod of the namespace (or every pod) for this direction. */
  policies: PolicyRef[];
  /** Pods selected for this direction by some policy, of `pods`. */
  selectedPods: number;
  pods: number;
  /**
   * Only when the world holds cluster tier policies: those with rules for this direction whose subject
   * selects some pod of the namespace (they decide before, or instead of, its NetworkPolicies).
   */
  clusterPolicies?: { kind: string; name: string; tier: 'Admin' | 'Baseline' }[];
  /**
   * Only with cluster tiers, for a direction no NetworkPolicy isolates: the Baseline policy that decides
   * first for every pod of the namespace, when its first rule there denies every pod on every port (the
   * namespace is closed to pods by the Baseline tier; outside addresses are not pods).
   */
  baselineDenyAll?: { kind: string; name: string };
}

/** A namespace's isolation, both directions, and its seed-era annotation if it has one. */
export interface NamespaceIsolation {
  namespace: string;
  ingress: DirectionIsolation;
  egress: DirectionIsolation;
  legacy?: LegacyIsolation;
}

/** The seed-era per-namespace switch (extensions/v1beta1 era), which current Kubernetes ignores. */
const LEGACY_ISOLATION_ANNOTATION = 'net.alpha.kubernetes.io/network-isolation';
/** Its successor in Kubernetes 1.3-1.6: `{"ingress": {"isolation": "DefaultDeny"}}`. */
const LEGACY_POLICY_ANNOTATION = 'net.beta.kubernetes.io/network-policy';

/** A seed-era isolation annotation on a namespace and what it asked for. */
export interface LegacyIsolation {
  annotation: string;
  value: string;
  /** Whether it asked for ingress isolation (those annotations only ever covered ingress). */
  isolatesIngress: boolean;
}

/**
 * Whether a podSelector selects every pod of its namespace: no matchLabels and no matchExpressions
 * (`{}`, `{matchLabels: {}}`, `{matchExpressions: []}`), as LabelSelectorAsSelector gives labels.Everything().
 * NetworkPolicySpec.podSelector is a struct, so absent is `{}` too. No selector with a requirement matches
 * every possible pod, even if it matches every pod there is today.
 */
function selectsEveryPod(policy: CompiledPolicy): boolean {
  return policy.podSelector.key === '';
}

/** Whether a rule admits only DNS: it names ports, and every one is 53 over UDP or TCP (no range). */
function isDnsOnlyRule(rule: CompiledRule): boolean {
  return (
    rule.ports !== 'all' &&
    rule.ports.every((p) => p.kind === 'range' && p.from === 53 && p.to === 53 && p.protocol !== 'SCTP')
  );
}

/**
 * Whether a policy isolates its whole namespace in a direction and admits nothing there: it applies to
 * the direction (effective policyTypes), selects every pod, and has no rules for it. For egress, rules
 * that admit only port 53 (DNS) still count: what `isolate --egress` writes is isolation with DNS kept.
 */
function isDenyAll(policy: CompiledPolicy, direction: Direction): boolean {
  const rules = policy[direction];
  if (rules === undefined || !selectsEveryPod(policy)) return false;
  return rules.length === 0 || (direction === 'egress' && rules.every(isDnsOnlyRule));
}

const byNamespace = new WeakMap<World, Map<string, CompiledPolicy[]>>();

/** A world's valid policies per namespace, in the world's order (memoised per world). */
function policiesByNamespace(world: World): Map<string, CompiledPolicy[]> {
  let map = byNamespace.get(world);
  if (!map) {
    map = new Map();
    for (const policy of world.policies) {
      const list = map.get(policy.ref.namespace);
      if (list) list.push(policy);
      else map.set(policy.ref.namespace, [policy]);
    }
    byNamespace.set(world, map);
  }
  return map;
}

/** The isolation of each direction of a namespace, from a compiled world (invalid policies are left out). */
export function namespaceIsolation(world: World, namespace: string): NamespaceIsolation {
  const ns = world.snapshot.namespaces.find((n) => n.metadata?.name === namespace);
  // Per class: its members are alike for every compiled selector (its labels stand for theirs).
  const classes = world.index.classesByNamespace.get(namespace) ?? [];
  const pods = classes.reduce((n, cls) => n + cls.members.length, 0);
  const inNamespace = policiesByNamespace(world).get(namespace) ?? [];
  // The labels of one class per label class (its siblings differ only in their addresses).
  const labelled = (world.index.labelClassesByNamespace.get(namespace) ?? []).map(
    (id) => world.labelClasses[id][0].labels,
  );
  const direction = (d: Direction): DirectionIsolation => {
    const applying = inNamespace.filter((p) => p[d] !== undefined);
    const selected = classes
      .filter((cls) => (d === 'ingress' ? cls.ingressPolicies : cls.egressPolicies).length > 0)
      .reduce((n, cls) => n + cls.members.length, 0);
    const policies = applying
      .filter((p) => selectsEveryPod(p) || labelled.some((labels) => p.podSelector.matches(labels)))
      .map((p) => p.ref);
    const denyAll = applying.filter((p) => isDenyAll(p, d)).map((p) => p.ref);
    const state: IsolationState =
      denyAll.length > 0
        ? 'isolated'
        : applying.some(selectsEveryPod) || (pods > 0 && selected === pods)
          ? 'all-pods'
          : selected > 0
            ? 'partial'
            : 'open';
    const result: DirectionIsolation = { state, denyAll, policies, selectedPods: selected, pods };
    if (world.tiers) {
      const endpoints = classes.map(endpointOf);
      // In the order they decide: the Admin tier, then (after NetworkPolicy) the Baseline tier.
      result.clusterPolicies = (['Admin', 'Baseline'] as const).flatMap((tier) =>
        world
          .tiers!.set.policies.filter(
            (p) => p.tier === tier && p[d].length > 0 && endpoints.some((e) => selectsSubject(p, e)),
          )
          .map((p) => ({ kind: p.ref.kind, name: p.ref.name, tier: p.tier })),
      );
      const first = world.tiers.set.policies.find(
        (p) => p.tier === 'Baseline' && p[d].length > 0 && endpoints.some((e) => selectsSubject(p, e)),
      );
      const rule = first?.[d][0];
      const isEveryPod = (peer: TierPeer) =>
        (peer.kind === 'namespaces' && peer.namespaces.key === '') ||
        (peer.kind === 'pods' && peer.namespaces.key === '' && peer.pods.key === '');
      if (
        state === 'open' &&
        first &&
        endpoints.length > 0 &&
        endpoints.every((e) => selectsSubject(first, e)) &&
        rule?.action === 'Deny' &&
        rule.ports === 'all' &&
        (rule.peers === 'all' || rule.peers.some(isEveryPod))
      )
        result.baselineDenyAll = { kind: first.ref.kind, name: first.ref.name };
    }
    return result;
  };
  return {
    namespace,
    ingress: direction('ingress'),
    egress: direction('egress'),
    legacy: ns ? legacyIsolation(ns) : undefined,
  };
}

/**
 * The seed-era isolation annotation of a namespace, if any: `net.alpha.kubernetes.io/network-isolation: on|off`,
 * or `net.beta.kubernetes.io/network-policy: {"ingress": {"isolation": "DefaultDeny"}}`.
 */
export function legacyIsolation(namespace: V1Namespace): LegacyIsolation | undefined {
  const annotations = namespace.metadata?.annotations ?? {};
  const alpha = annotations[LEGACY_ISOLATION_ANNOTATION];
  if (alpha !== undefined) {
    return {
      annotation: LEGACY_ISOLATION_ANNOTATION,
      value: alpha,
      isolatesIngress: alpha.trim().toLowerCase() === 'on',
    };
  }
  const beta = annotations[LEGACY_POLICY_ANNOTATION];
  if (beta === undefined) return undefined;
  let isolatesIngress = false;
  try {
    const parsed = JSON.parse(beta) as { ingress?: { isolation?: string } };
    isolatesIngress = parsed?.ingress?.isolation === 'DefaultDeny';
  } catch {
    isolatesIngress = false;
  }
  return { annotation: LEGACY_POLICY_ANNOTATION, value: beta, isolatesIngress };
}

/** Where cluster DNS runs, as an egress peer: pods with these labels in this namespace. */
export interface DnsPeer {
  namespace: string;
  podLabels: Record<string, string>;
  /** How it was found: the kube-dns Service's selector, pods labelled k8s-app=kube-dns, or the usual default. */
  foundBy: 'service' | 'pod-label' | 'default';
  /** The DNS pods in the snapshot (none when foundBy is 'default'). */
  pods: PodRef[];
}

export const DNS_NAMESPACE = 'kube-system';
export const DNS_SERVICE = 'kube-dns';
const DNS_LABELS = { 'k8s-app': 'kube-dns' };

/**
 * Finds the cluster DNS pods in a snapshot: the pods behind the Service kube-system/kube-dns (its selector),
 * else pods labelled k8s-app=kube-dns (kube-system first), else the usual kube-system + k8s-app=kube-dns.
 * CoreDNS's labels vary by distribution, so the Service is the best evidence.
 */
export function findDnsPeer(world: World): DnsPeer {
  const podsWith = (namespace: string | undefined, labels: Record<string, string>): PodRef[] => {
    const selector = compileSelector({ matchLabels: labels });
    return world.pods
      .filter(
        (p) =>
          (namespace === undefined || p.ref.namespace === namespace) && selector.matches(p.pod.metadata?.labels ?? {}),
      )
      .map((p) => p.ref);
  };
  const service = world.snapshot.services.find(
    (s) => s.metadata?.namespace === DNS_NAMESPACE && s.metadata?.name === DNS_SERVICE,
  );
  const selector = service?.spec?.selector;
  if (selector && Object.keys(selector).length > 0) {
    return {
      namespace: DNS_NAMESPACE,
      podLabels: { ...selector },
      foundBy: 'service',
      pods: podsWith(DNS_NAMESPACE, selector),
    };
  }
  const labelled = podsWith(undefined, DNS_LABELS);
  if (labelled.length > 0) {
    const namespace = labelled.some((p) => p.namespace === DNS_NAMESPACE)
      ? DNS_NAMESPACE
      : [...new Set(labelled.map((p) => p.namespace))].sort()[0];
    return {
      namespace,
      podLabels: { ...DNS_LABELS },
      foundBy: 'pod-label',
      pods: labelled.filter((p) => p.namespace === namespace),
    };
  }
  return { namespace: DNS_NAMESPACE, podLabels: { ...DNS_LABELS }, foundBy: 'default', pods: [] };
}

/** The DNS ports an isolated namespace keeps: 53/UDP and 53/TCP (TCP for large answers and zone transfers). */
const DNS_PORTS: V1NetworkPolicyPort[] = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];

/**
 * The egress rule to the DNS peer: one peer with namespaceSelector on kubernetes.io/metadata.name (set
 * on every namespace by the API server, so reliable) AND podSelector on the DNS pods' labels, on 53/UDP and 53/TCP.
 */
function dnsEgressRule(peer: DnsPeer): V1NetworkPolicyEgressRule {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } },
        podSelector: { matchLabels: { ...peer.podLabels } },
      },
    ],
    ports: DNS_PORTS.map((p) => ({ ...p })),
  };
}

/** What a default-deny policy is made of. */
interface DefaultDenySpec {
  namespace: string;
  name: string;
  directions: readonly Direction[];
  /** With egress: keep DNS to this peer (one egress rule); undefined: no rules at all. */
  dns?: DnsPeer;
  labels: Record<string, string>;
}

/**
 * A default-deny NetworkPolicy: podSelector `{}` (every pod of the namespace), policyTypes written out
 * (so the directions never depend on SetDefaults' inference) and no rules, except the DNS egress rule.
 */
export function buildDefaultDeny(spec: DefaultDenySpec): V1NetworkPolicy {
  const hasEgress = spec.directions.includes('egress');
  const policy: V1NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: spec.name, namespace: spec.namespace, labels: { ...spec.labels } },
    spec: {
      podSelector: {},
      policyTypes: DIRECTIONS.filter((d) => spec.directions.includes(d)).map((d) =>
        d === 'ingress' ? 'Ingress' : 'Egress',
      ),
    },
  };
  if (hasEgress && spec.dns) policy.spec!.egress = [dnsEgressRule(spec.dns)];
  return policy;
}

/** What `isolate` does to one namespace. */
export type NamespacePlan =
  /**
   * Write (create or update) our default-deny; `restoresDns` when the namespace was isolated already
   * but its pods could not reach DNS, which our policy's DNS rule opens.
   */
  | { namespace: string; action: 'write'; policy: V1NetworkPolicy; existing?: V1NetworkPolicy; restoresDns?: boolean }
  /**
   * Already isolated in every direction asked, by these policies (egress with DNS kept: also the
   * policies through which the pods reach DNS, in `dnsBy`): write nothing.
   */
  | { namespace: string; action: 'skip'; isolatedBy: Record<Direction, PolicyRef[]>; dnsBy: PolicyRef[] }
  /** `--off`: delete our policy; `keptBy` are other policies that keep directions isolated. */
  | { namespace: string; action: 'delete'; policy: V1NetworkPolicy; keptBy: Record<Direction, PolicyRef[]> }
  /**
   * `--off` with nothing of ours to delete; `foreign` is a policy of that name someone else made
   * (left alone), `keptBy` policies that keep directions isolated.
   */
  | { namespace: string; action: 'none'; foreign?: PolicyRef; keptBy: Record<Direction, PolicyRef[]> };

/** What the plan needs besides the world. */
export interface IsolationRequest {
  namespaces: string[];
  name: string;
  directions: readonly Direction[];
  dns?: DnsPeer;
  /** The labels that mark our policies (managed-by); ours carry all of them. */
  labels: Record<string, string>;
  off: boolean;
}

function hasLabels(policy: V1NetworkPolicy, labels: Record<string, string>): boolean {
  const own = policy.metadata?.labels ?? {};
  return Object.entries(labels).every(([k, v]) => own[k] === v);
}

function findPolicy(snapshot: ClusterSnapshot, namespace: string, name: string): V1NetworkPolicy | undefined {
  return snapshot.policies.find((p) => isObjectAt(p, { namespace, name }));
}

/**
 * The policies through which every pod of a namespace may reach a DNS pod on 53/UDP (their egress
 * side; the DNS pods' ingress is another namespace's business), or undefined when some pod may not.
 * With no DNS pod in the world there is nothing to check: no policy, and no objection.
 */
export function dnsEgress(world: World, namespace: string, dns: DnsPeer): PolicyRef[] | undefined {
  const servers = dns.pods.map((ref) => world.podsByKey.get(keyOf(ref))).filter((p) => p !== undefined);
  if (servers.length === 0) return [];
  const by = new Map<string, PolicyRef>();
  // Per class of the namespace (its pods are alike for every policy), in the order of their first pods;
  // the egress side reads the source's policies (and tier class), not its addresses: one class of each
  // label class answers for its siblings.
  const seen = new Set<string>();
  for (const source of world.index.classesByNamespace.get(namespace) ?? []) {
    const kind = world.tiers ? `${source.labelClass}/${world.tiers.classOf[source.id]}` : String(source.labelClass);
    if (seen.has(kind)) continue;
    seen.add(kind);
    let reaches = false;
    for (const server of servers) {
      const egress = decideOnPort(analysePair(world, source, world.classes[server.classId]), 'UDP', 53).egress;
      if (!egress.allowed) continue;
      reaches = true;
      for (const rule of egress.allowedBy) by.set(keyOf(rule.policy), rule.policy);
    }
    if (!reaches) return undefined;
  }
  return [...by.values()];
}

/**
 * Plans `isolate` for each namespace. Isolating: skip a namespace already isolated in every direction
 * asked (by any policy, ours or not; with --egress keeping DNS, only when its pods still reach DNS), else write our policy with the directions asked plus any ours
 * already had (never a second policy, never a downgrade). `--off`: delete only our policy (its name and
 * our labels), naming the other policies that keep the namespace isolated.
 */
export function planIsolation(world: World, request: IsolationRequest): NamespacePlan[] {
  return request.namespaces.map((namespace): NamespacePlan => {
    const existing = findPolicy(world.snapshot, namespace, request.name);
    const isOurs = existing !== undefined && hasLabels(existing, request.labels);
    if (request.off) {
      const others = world.policies.filter((p) => p.ref.namespace !== namespace || p.ref.name !== request.name);
      const keptBy = {
        ingress: others.filter((p) => p.ref.namespace === namespace && isDenyAll(p, 'ingress')).map((p) => p.ref),
        egress: others.filter((p) => p.ref.namespace === namespace && isDenyAll(p, 'egress')).map((p) => p.ref),
      };
      if (isOurs) return { namespace, action: 'delete', policy: existing, keptBy };
      return { namespace, action: 'none', foreign: existing ? { namespace, name: request.name } : undefined, keptBy };
    }
    const status = namespaceIsolation(world, namespace);
    // Egress isolation that leaves the pods without DNS is not what --egress promises: ours is written.
    const dns = request.directions.includes('egress') && request.dns ? dnsEgress(world, namespace, request.dns) : [];
    if (request.directions.every((d) => status[d].state === 'isolated') && dns !== undefined) {
      return {
        namespace,
        action: 'skip',
        isolatedBy: { ingress: status.ingress.denyAll, egress: status.egress.denyAll },
        dnsBy: dns,
      };
    }
    const had = isOurs ? effectivePolicyTypes(existing) : { ingress: false, egress: false };
    const directions = DIRECTIONS.filter((d) => request.directions.includes(d) || had[d]);
    const keepsOldEgress = isOurs && had.egress && !request.directions.includes('egress');
    const policy = buildDefaultDeny({
      namespace,
      name: request.name,
      directions,
      dns: request.dns,
      labels: request.labels,
    });
    if (keepsOldEgress) policy.spec!.egress = existing.spec?.egress;
    const restoresDns = dns === undefined && request.directions.every((d) => status[d].state === 'isolated');
    return { namespace, action: 'write', policy, existing, ...(restoresDns ? { restoresDns } : {}) };
  });
}
