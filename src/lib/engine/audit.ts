/**
 * `audit`: what a world exposes, what in it does nothing, and what is ambiguous, as findings (plain
 * data: an id, a severity, the object, and the facts a view words). Each finding is decided by the
 * engine rule that already answers it elsewhere: isolation and DNS (isolation.ts), outside addresses
 * (addresses.ts), selectors and ports matching nothing (traps.ts), validation (validate.ts) and the
 * cluster tiers (tiers-compile.ts); only rule shadowing and tier overlap are decided here.
 */
import type { V1LabelSelector, V1NetworkPolicyPeer } from '@kubernetes/client-node';

import { addressConnection } from './addresses.js';
import type { Connection } from './answer.js';
import type { AddressSet } from './ipblock.js';
import { addressesOfBlock, compileIpBlock, isEmptyAddressSet, subtractAddresses, unionAddresses } from './ipblock.js';
import type { Direction, IpBlock, PolicyRef, PortSet, RuleRef, TierRuleRef } from './model.js';
import { keyOf, NAMESPACE_NAME_LABEL, refOf } from './model.js';
import { findDnsPeer, dnsEgress, legacyIsolation, namespaceIsolation, type IsolationState } from './isolation.js';
import { portsOfRule } from './peers.js';
import { isEmptyPortSet, resolvePorts, subtractPortSets, unionPortSets } from './ports.js';
import type { CompiledSelector, Requirement } from './selector.js';
import { workloadOf } from './targets.js';
import { EVERY_ADDRESS, tierAddressSide } from './tier-addresses.js';
import { hitOf } from './tiers.js';
import {
  compileTierPolicies,
  snapshotNodes,
  type CompiledTierPolicy,
  type Tier,
  type TierPeer,
  type TierPort,
  type TierRule,
} from './tiers-compile.js';
import type { LabelNearMiss } from './traps.js';
import { policyTraps } from './traps.js';
import { validatePolicy } from './validate.js';
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, PodInfo, World } from './world.js';

/** How much a finding matters; `--fail-on` compares against this order. */
export type Severity = 'info' | 'warning' | 'error';

/** Severities from least to most severe. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];

/** Every finding id, with its default severity: the catalogue (docs/audit.md, SARIF's rules). */
export const FINDING_IDS = {
  'invalid-policy': 'error',
  'expectation-violated': 'error',
  'exposed-to-internet': 'warning',
  'exposed-to-all-namespaces': 'warning',
  'namespace-not-isolated': 'warning',
  'egress-without-dns': 'warning',
  'policy-selects-no-pods': 'warning',
  'peer-selects-nothing': 'warning',
  'named-port-unresolved': 'warning',
  'tier-priority-tie': 'warning',
  'legacy-annotation': 'warning',
  'rule-shadowed': 'info',
} as const satisfies Record<string, Severity>;

/** A finding id. */
export type FindingId = keyof typeof FINDING_IDS;

/** The object a finding is about: a namespaced object (namespace on the finding), or a cluster-scoped one. */
export interface FindingObject {
  kind: string;
  name: string;
}

/** How pods are exposed: no policy selects them for ingress, or rules (`rules`) admit the peers. */
type Exposure = { isolated: false } | { isolated: true; rules: RuleRef[] };

/** The facts of each kind of finding, from which the views word the message and the fix. */
export type FindingDetails =
  | { id: 'invalid-policy'; problems: string[] }
  | {
      id: 'namespace-not-isolated';
      direction: Direction;
      state: Exclude<IsolationState, 'isolated' | 'all-pods'>;
      pods: number;
      selectedPods: number;
    }
  | ({ id: 'exposed-to-internet'; pods: number; ports: PortSet; blocks: IpBlock[] } & Exposure)
  | ({ id: 'exposed-to-all-namespaces'; pods: number; ports: PortSet } & Exposure)
  | { id: 'egress-without-dns'; dnsNamespace: string; dnsPods: number; egressPolicies: PolicyRef[] }
  | { id: 'policy-selects-no-pods'; selector: V1LabelSelector; nearMisses: LabelNearMiss[] }
  | {
      id: 'peer-selects-nothing';
      rule: RuleRef;
      /** The peer's position in the rule's from/to, and the peer as written. */
      peerIndex: number;
      peer: V1NetworkPolicyPeer;
      what: 'namespaces' | 'pods';
      nearMisses: LabelNearMiss[];
    }
  | { id: 'named-port-unresolved'; rule: RuleRef; port: string; protocol: string; nearMisses: string[] }
  /** A NetworkPolicy rule another admits in full, or a cluster tier rule an earlier rule of its policy matches in full. */
  | { id: 'rule-shadowed'; rule: RuleRef; by: RuleRef }
  | { id: 'rule-shadowed'; tier: Tier; rule: TierRuleRef; by: TierRuleRef }
  | { id: 'tier-priority-tie'; tier: Tier; priority: number; other: FindingObject; overlapsToday: boolean }
  | { id: 'legacy-annotation'; annotation: string; value: string; isolatesIngress: boolean; isolatedBy: PolicyRef[] }
  | {
      id: 'expectation-violated';
      /** The expectation's position in its file (0-based) and its sides as written. */
      index: number;
      from: string;
      to: string;
      port?: string;
      expected: boolean;
      /** Which pairs (addresses) the answer allows: every one, some, or none. */
      actual: 'all' | 'some' | 'none';
      /** A connection of the actual answer that contradicts the expectation (who-can's decision), when there is one. */
      connection?: Connection;
    };

/** One finding: what, how bad, about which object, and the facts. */
export interface Finding {
  id: FindingId;
  severity: Severity;
  /** The object's namespace; undefined for cluster-scoped objects. */
  namespace?: string;
  object: FindingObject;
  details: FindingDetails;
}

/** What to audit. */
interface AuditScope {
  /** Namespaces whose objects are audited; undefined: every namespace and the cluster-scoped policies. */
  namespaces?: readonly string[];
}

/** The public address space of each family: every address but the private ranges pods and LANs use (POD_ADDRESS_RANGES). */
const INTERNET: readonly IpBlock[] = [
  { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'] },
  { cidr: '::/0', except: ['fc00::/7'] },
];

const INTERNET_ADDRESSES: readonly AddressSet[] = INTERNET.map((block) => addressesOfBlock(compileIpBlock(block)));

/** The findings of a world, in a stable order (compareFindings). Expectations are checked by the caller. */
export function auditWorld(world: World, scope: AuditScope = {}): Finding[] {
  const inScope = scope.namespaces ? new Set(scope.namespaces) : undefined;
  const isIn = (namespace: string): boolean => !inScope || inScope.has(namespace);
  const findings = [
    ...invalidPolicies(world, isIn),
    ...namespaceFindings(world, isIn),
    ...exposures(world, isIn),
    ...policyTrapFindings(world, isIn),
    ...shadowedRules(world, isIn),
    // Cluster-scoped policies belong to no namespace: audited with the whole cluster only.
    ...(inScope ? [] : tierFindings(world)),
  ];
  return findings.sort(compareFindings);
}

function finding(
  details: FindingDetails,
  object: FindingObject,
  namespace: string | undefined,
  severity: Severity = FINDING_IDS[details.id],
): Finding {
  return { id: details.id, severity, ...(namespace === undefined ? {} : { namespace }), object, details };
}

/** Policies the API server would reject (validate.ts), which every answer leaves out. */
function invalidPolicies(world: World, isIn: (ns: string) => boolean): Finding[] {
  const valid = new Set(world.policies.map((p) => p.source));
  return world.snapshot.policies
    .filter((policy) => !valid.has(policy) && isIn(refOf(policy).namespace))
    .map((policy) => {
      const ref = refOf(policy);
      return finding(
        { id: 'invalid-policy', problems: validatePolicy(policy) },
        { kind: 'NetworkPolicy', name: ref.name },
        ref.namespace,
      );
    });
}

/** Per namespace: isolation of its pods per direction, seed-era annotations, and egress isolation without DNS. */
function namespaceFindings(world: World, isIn: (ns: string) => boolean): Finding[] {
  const out: Finding[] = [];
  const names = new Set([
    ...world.snapshot.namespaces.map((n) => n.metadata?.name ?? ''),
    ...world.index.classesByNamespace.keys(),
  ]);
  const objects = new Map(world.snapshot.namespaces.map((n) => [n.metadata?.name ?? '', n]));
  let dns: ReturnType<typeof findDnsPeer> | undefined;
  for (const namespace of [...names].filter((n) => n !== '' && isIn(n)).sort()) {
    const object = { kind: 'Namespace', name: namespace };
    const hasPods = world.index.classesByNamespace.has(namespace);
    const legacy = objects.has(namespace) ? legacyIsolation(objects.get(namespace)!) : undefined;
    if (!hasPods && !legacy) continue;
    const status = namespaceIsolation(world, namespace);
    if (legacy) {
      const { annotation, value, isolatesIngress } = legacy;
      const isolatedBy = status.ingress.denyAll;
      out.push(finding({ id: 'legacy-annotation', annotation, value, isolatesIngress, isolatedBy }, object, namespace));
    }
    if (!hasPods) continue;
    for (const direction of ['ingress', 'egress'] as const) {
      const { state, pods, selectedPods } = status[direction];
      if (state !== 'open' && state !== 'partial') continue;
      // Ingress is what exposes pods; egress isolation is defence in depth, said at a lower severity.
      const severity: Severity = direction === 'ingress' ? 'warning' : 'info';
      out.push(
        finding({ id: 'namespace-not-isolated', direction, state, pods, selectedPods }, object, namespace, severity),
      );
    }
    if (status.egress.selectedPods === 0) continue;
    dns ??= findDnsPeer(world);
    // No DNS pod in the world (manifests without kube-system): nothing to check, no finding.
    if (dns.pods.length === 0 || dnsEgress(world, namespace, dns) !== undefined) continue;
    out.push(
      finding(
        {
          id: 'egress-without-dns',
          dnsNamespace: dns.namespace,
          dnsPods: dns.pods.length,
          egressPolicies: status.egress.policies,
        },
        object,
        namespace,
      ),
    );
  }
  return out;
}

/**
 * Whether a rule admits every pod of every namespace, today's and tomorrow's: no `from`/`to` at all,
 * or a peer with `namespaceSelector: {}` and no podSelector (or `{}`) (NetworkPolicyPeer).
 */
function admitsEveryPod(rule: CompiledRule): boolean {
  if (rule.peers === 'all') return true;
  return rule.peers.some(
    (peer) =>
      peer.kind === 'pods' &&
      peer.namespaces !== undefined &&
      peer.namespaces.isEverything &&
      (!peer.pods || peer.pods.isEverything),
  );
}

/** An exposure of some pods, as found per class and merged per workload. */
interface ExposureGroup {
  namespace: string;
  object: FindingObject;
  pods: number;
  ports: PortSet[];
  rules: Map<string, RuleRef>;
  blocks: Map<string, IpBlock>;
  isolated: boolean;
  classes: Set<number>;
}

/**
 * Pods that the whole internet may reach (every public address, addresses.ts decides, on some
 * port), and pods that every pod of every namespace may reach, per workload.
 */
function exposures(world: World, isIn: (ns: string) => boolean): Finding[] {
  const internet = new Map<string, ExposureGroup>();
  const everyone = new Map<string, ExposureGroup>();
  // Classes of one label class (and tier class) differ only in their own addresses, which decide
  // nothing here (the pods are the destination): their exposure is worked out once.
  const known = new Map<string, ClassExposure>();
  for (const [namespace, classes] of world.index.classesByNamespace) {
    if (!isIn(namespace)) continue;
    for (const cls of classes) {
      const key = world.tiers ? `${cls.labelClass}/${world.tiers.classOf[cls.id]}` : String(cls.labelClass);
      let exposure = known.get(key);
      if (!exposure) known.set(key, (exposure = exposureOf(world, cls)));
      const { isolated, internet: open, fromAll } = exposure;
      if (open.blocks.length > 0) addExposure(internet, cls, isolated, open.ports, open.rules, open.blocks);
      if (!isolated) addExposure(everyone, cls, false, [resolvePorts('all', {})], [], []);
      else if (fromAll.rules.length > 0) addExposure(everyone, cls, true, fromAll.ports, fromAll.rules, []);
    }
  }
  const toFindings = (groups: Map<string, ExposureGroup>, id: 'exposed-to-internet' | 'exposed-to-all-namespaces') =>
    [...groups.values()].map((g) => {
      const exposure: Exposure = g.isolated
        ? { isolated: true, rules: sortRules([...g.rules.values()]) }
        : { isolated: false };
      const ports = unionPortSets(...g.ports);
      const details: FindingDetails =
        id === 'exposed-to-internet'
          ? { id, pods: g.pods, ports, blocks: [...g.blocks.values()], ...exposure }
          : { id, pods: g.pods, ports, ...exposure };
      return finding(details, g.object, g.namespace);
    });
  return [...toFindings(internet, 'exposed-to-internet'), ...toFindings(everyone, 'exposed-to-all-namespaces')];
}

/** How a class's pods are exposed: to the public address space (by block), and to every pod of every namespace. */
interface ClassExposure {
  isolated: boolean;
  internet: { blocks: IpBlock[]; ports: PortSet[]; rules: RuleRef[] };
  fromAll: { rules: RuleRef[]; ports: PortSet[] };
}

function exposureOf(world: World, cls: PodClass): ClassExposure {
  const pod = cls.representative;
  const isolated = cls.ingressPolicies.length > 0;
  const internet: ClassExposure['internet'] = { blocks: [], ports: [], rules: [] };
  // Isolated pods (no tier rule naming addresses) admit a whole block on some port only if their
  // rules together, on any port, name every address of it: else there is nothing to ask.
  const named =
    isolated && !tierAddressSide(world, cls, 'ingress')
      ? unionAddresses(...cls.ingressPolicies.map(addressesNamedBy))
      : undefined;
  INTERNET.forEach((block, i) => {
    if (named && !isEmptyAddressSet(subtractAddresses(INTERNET_ADDRESSES[i], named))) return;
    const connection = addressConnection(world, pod, block, 'ingress');
    if (!connection.decision.allowed || !connection.ports || isEmptyPortSet(connection.ports)) return;
    internet.blocks.push(block);
    internet.ports.push(connection.ports);
    internet.rules.push(...connection.decision.ingress.allowedBy);
  });
  return { isolated, internet, fromAll: isolated ? everyPodRules(cls, pod) : { rules: [], ports: [] } };
}

const namedAddresses = new WeakMap<CompiledPolicy, AddressSet>();

/** Every address a policy's ingress rules admit on some port: their ipBlocks, or all for a rule without `from`. */
function addressesNamedBy(policy: CompiledPolicy): AddressSet {
  let set = namedAddresses.get(policy);
  if (!set) {
    const rules = policy.ingress ?? [];
    set = rules.some((r) => r.peers === 'all')
      ? EVERY_ADDRESS
      : unionAddresses(
          ...rules.flatMap((r) =>
            r.peers === 'all'
              ? []
              : r.peers.flatMap((peer) => (peer.kind === 'ipBlock' ? [addressesOfBlock(peer.block)] : [])),
          ),
        );
    namedAddresses.set(policy, set);
  }
  return set;
}

/** The ingress rules of a class's policies that admit every pod of every namespace, and their ports on its pods. */
function everyPodRules(cls: PodClass, pod: PodInfo): { rules: RuleRef[]; ports: PortSet[] } {
  const rules: RuleRef[] = [];
  const ports: PortSet[] = [];
  for (const policy of cls.ingressPolicies) {
    for (const rule of policy.ingress ?? []) {
      if (!admitsEveryPod(rule)) continue;
      const on = portsOfRule(rule, pod.pod);
      if (isEmptyPortSet(on)) continue;
      rules.push(rule.ref);
      ports.push(on);
    }
  }
  return { rules, ports };
}

/** Adds a class's exposure to its workloads' groups (members of one class may belong to several workloads). */
function addExposure(
  groups: Map<string, ExposureGroup>,
  cls: PodClass,
  isolated: boolean,
  ports: PortSet[],
  rules: RuleRef[],
  blocks: IpBlock[],
): void {
  for (const member of cls.members) {
    const owner = workloadOf(member.pod);
    const key = `${cls.namespace}\u0000${owner.kind}\u0000${owner.name}\u0000${isolated}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        namespace: cls.namespace,
        object: owner,
        pods: 0,
        ports: [],
        rules: new Map(),
        blocks: new Map(),
        isolated,
        classes: new Set(),
      };
      groups.set(key, group);
    }
    group.pods++;
    // A class's exposure is the same for all its members: merged once per group.
    if (group.classes.has(cls.id)) continue;
    group.classes.add(cls.id);
    group.ports.push(...ports);
    for (const rule of rules) group.rules.set(ruleKey(rule), rule);
    for (const block of blocks) group.blocks.set(block.cidr, block);
  }
}

function ruleKey(rule: RuleRef): string {
  return `${keyOf(rule.policy)} ${rule.direction}[${String(rule.index).padStart(6, '0')}]`;
}

function sortRules(rules: RuleRef[]): RuleRef[] {
  return rules.sort((a, b) => (ruleKey(a) < ruleKey(b) ? -1 : ruleKey(a) > ruleKey(b) ? 1 : 0));
}

/**
 * Policies that select no pod, rule peers that admit no pod or namespace, and port names that no
 * destination pod defines: traps.ts decides each (with its near misses).
 */
function policyTrapFindings(world: World, isIn: (ns: string) => boolean): Finding[] {
  const subjects = new Map<CompiledPolicy, PodInfo[]>();
  // The classes of a label class are selected by the same policies.
  for (const classes of world.labelClasses) {
    const members = classes.length === 1 ? classes[0].members : classes.flatMap((c) => c.members);
    for (const policy of new Set([...classes[0].ingressPolicies, ...classes[0].egressPolicies])) {
      const list = subjects.get(policy);
      if (list) list.push(...members);
      else subjects.set(policy, [...members]);
    }
  }
  const out: Finding[] = [];
  for (const policy of world.policies) {
    const { namespace, name } = policy.ref;
    if (!isIn(namespace)) continue;
    const object = { kind: 'NetworkPolicy', name };
    for (const trap of policyTraps(world, policy.source, subjects.get(policy) ?? [])) {
      if (trap.code === 'subject-matches-nothing') {
        out.push(
          finding(
            { id: 'policy-selects-no-pods', selector: trap.selector, nearMisses: trap.nearMisses },
            object,
            namespace,
          ),
        );
        continue;
      }
      // Rules of a direction the policy does not apply to (policyTypes) decide nothing.
      if (policy[trap.direction] === undefined) continue;
      const rule = { policy: policy.ref, direction: trap.direction, index: trap.rule };
      if (trap.code === 'peer-matches-nothing') {
        const { what, nearMisses, peerIndex, peer } = trap;
        out.push(finding({ id: 'peer-selects-nothing', rule, peerIndex, peer, what, nearMisses }, object, namespace));
      } else {
        const { name: port, protocol, nearMisses } = trap;
        out.push(finding({ id: 'named-port-unresolved', rule, port, protocol, nearMisses }, object, namespace));
      }
    }
  }
  return out;
}

/**
 * Whether every label set `narrow` matches, `wide` matches too, provably: each requirement of `wide`
 * follows from one of `narrow`'s (labels.Requirement semantics: NotIn and DoesNotExist match a set
 * without the key). False means "not proven", never "not implied".
 */
function implies(narrow: CompiledSelector, wide: CompiledSelector): boolean {
  return wide.requirements.every((w) => narrow.requirements.some((n) => n.key === w.key && requirementImplies(n, w)));
}

function requirementImplies(n: Requirement, w: Requirement): boolean {
  switch (w.operator) {
    case 'In':
      return n.operator === 'In' && n.values.every((v) => w.values.includes(v));
    case 'Exists':
      return n.operator === 'In' || n.operator === 'Exists';
    case 'NotIn':
      return (
        (n.operator === 'In' && n.values.every((v) => !w.values.includes(v))) ||
        (n.operator === 'NotIn' && w.values.every((v) => n.values.includes(v))) ||
        n.operator === 'DoesNotExist'
      );
    case 'DoesNotExist':
      return n.operator === 'DoesNotExist';
    default:
      return false;
  }
}

/** Whether no label set can match both selectors, provably (two requirements on one key that contradict). */
function isDisjoint(a: CompiledSelector, b: CompiledSelector): boolean {
  const contradicts = (x: Requirement, y: Requirement): boolean =>
    (x.operator === 'In' && y.operator === 'In' && x.values.every((v) => !y.values.includes(v))) ||
    (x.operator === 'In' && y.operator === 'NotIn' && x.values.every((v) => y.values.includes(v))) ||
    ((x.operator === 'In' || x.operator === 'Exists') && y.operator === 'DoesNotExist');
  return a.requirements.some((x) =>
    b.requirements.some((y) => x.key === y.key && (contradicts(x, y) || contradicts(y, x))),
  );
}

/** Whether a namespaceSelector can only ever select the namespace `namespace` (by its immutable name label). */
function selectsOnlyNamespace(selector: CompiledSelector, namespace: string): boolean {
  return selector.requirements.some(
    (r) => r.key === NAMESPACE_NAME_LABEL && r.operator === 'In' && r.values.every((v) => v === namespace),
  );
}

/** Whether a namespaceSelector selects the namespace `namespace` whatever its other labels (it reads its name label only). */
function selectsNamespaceAlways(selector: CompiledSelector, namespace: string): boolean {
  return (
    selector.requirements.every((r) => r.key === NAMESPACE_NAME_LABEL) &&
    selector.matches({ [NAMESPACE_NAME_LABEL]: namespace })
  );
}

/** Whether peer `s` admits every pod or address peer `r` admits, provably (both in a policy of `namespace`). */
function peerCovers(s: CompiledPeer, r: CompiledPeer, namespace: string): boolean {
  if (s.kind === 'ipBlock' || r.kind === 'ipBlock') {
    // An ipBlock admits addresses (and the pods holding them): only a larger block surely holds them all.
    if (s.kind !== 'ipBlock' || r.kind !== 'ipBlock') return false;
    return isEmptyAddressSet(subtractAddresses(addressesOfBlock(r.block), addressesOfBlock(s.block)));
  }
  // NetworkPolicyPeer.namespaceSelector absent: the policy's own namespace.
  const namespaces = !s.namespaces
    ? !r.namespaces || selectsOnlyNamespace(r.namespaces, namespace)
    : s.namespaces.isEverything ||
      (r.namespaces ? implies(r.namespaces, s.namespaces) : selectsNamespaceAlways(s.namespaces, namespace));
  // podSelector absent: every pod of those namespaces.
  const pods = !s.pods || s.pods.isEverything || (r.pods !== undefined && implies(r.pods, s.pods));
  return namespaces && pods;
}

const numbered = new WeakMap<CompiledRule, PortSet>();

/** The ports a rule names by number or range (its port names left out), worked out once per rule. */
function numberedPorts(rule: CompiledRule): PortSet {
  let ports = rule.fixedPorts ?? numbered.get(rule);
  if (!ports) numbered.set(rule, (ports = resolvePorts(rule.ports, {})));
  return ports;
}

/** Whether rule `s` admits every (peer, port) rule `r` admits, provably; both of one namespace and direction. */
function ruleCovers(s: CompiledRule, r: CompiledRule, namespace: string): boolean {
  if (s.ports !== 'all') {
    if (r.ports === 'all') return false;
    if (!isEmptyPortSet(subtractPortSets(numberedPorts(r), numberedPorts(s)))) return false;
    // A port name resolves per destination pod: only the same name (or every port of its protocol) surely covers it.
    const sPorts = s.ports;
    const namedCovered = r.ports.every(
      (p) =>
        p.kind !== 'named' ||
        sPorts.some((q) => q.kind === 'named' && q.name === p.name && q.protocol === p.protocol) ||
        sPorts.some((q) => q.kind === 'all' && q.protocol === p.protocol),
    );
    if (!namedCovered) return false;
  }
  if (s.peers === 'all') return true;
  if (r.peers === 'all') return false;
  const sPeers = s.peers;
  return r.peers.every((rp) => sPeers.some((sp) => peerCovers(sp, rp, namespace)));
}

/**
 * NetworkPolicy rules that admit nothing another rule does not already admit to the same pods: a rule
 * of a policy whose pods another policy (or the same one) surely selects too, in the same direction,
 * whose peers and ports are each inside that rule's. Of two rules that admit the same, the later is
 * reported. Only what can be proven from the policies is said (not from today's pods and labels), and
 * only one rule covering another (not several together). Cluster tiers are not considered here.
 */
function shadowedRules(world: World, isIn: (ns: string) => boolean): Finding[] {
  const byNamespace = new Map<string, CompiledPolicy[]>();
  for (const policy of world.policies) {
    if (!isIn(policy.ref.namespace)) continue;
    const list = byNamespace.get(policy.ref.namespace);
    if (list) list.push(policy);
    else byNamespace.set(policy.ref.namespace, [policy]);
  }
  const out: Finding[] = [];
  for (const [namespace, policies] of byNamespace) {
    for (const direction of ['ingress', 'egress'] as const) {
      const applying = policies.filter((p) => (p[direction] ?? []).length > 0);
      const rules = applying.flatMap((policy, at) => (policy[direction] ?? []).map((rule) => ({ at, rule })));
      // Whether policy b selects every pod policy a selects (the same pods, or more): 0 unknown, 1 yes, 2 no.
      const n = applying.length;
      const coversSubjects = new Uint8Array(n * n);
      const subjectsCovered = (a: number, b: number): boolean => {
        if (a === b) return true;
        if (coversSubjects[a * n + b] === 0)
          coversSubjects[a * n + b] = implies(applying[a].podSelector, applying[b].podSelector) ? 1 : 2;
        return coversSubjects[a * n + b] === 1;
      };
      const covers = (s: (typeof rules)[number], r: (typeof rules)[number]) =>
        subjectsCovered(r.at, s.at) && ruleCovers(s.rule, r.rule, namespace);
      rules.forEach((r, i) => {
        const by = rules.find((s, j) => j !== i && covers(s, r) && (j < i || !covers(r, s)));
        if (!by) return;
        out.push(
          finding(
            { id: 'rule-shadowed', rule: r.rule.ref, by: by.rule.ref },
            { kind: 'NetworkPolicy', name: r.rule.ref.policy.name },
            namespace,
          ),
        );
      });
    }
  }
  return out;
}

/** Cluster-scoped policies: those the API server would reject, and ties of priority within a tier whose subjects may overlap. */
function tierFindings(world: World): Finding[] {
  const set = compileTierPolicies(world.snapshot.clusterPolicies ?? [], snapshotNodes(world.snapshot));
  const out: Finding[] = set.warnings
    .filter((w) => w.code === 'invalid-policy')
    .map((w) =>
      finding(
        { id: 'invalid-policy', problems: w.problems ?? [] },
        { kind: w.policy.kind, name: w.policy.name },
        undefined,
      ),
    );
  // BaselineAdminNetworkPolicy is a singleton without a priority: it ties with nothing.
  const ranked = set.policies.filter((p) => p.ref.kind !== 'BaselineAdminNetworkPolicy');
  ranked.forEach((a, i) => {
    for (const b of ranked.slice(i + 1)) {
      if (a.tier !== b.tier || a.priority !== b.priority || !mayOverlap(a, b)) continue;
      const overlapsToday = world.classes.some((cls) => isSubjectOf(a, cls) && isSubjectOf(b, cls));
      for (const [self, other] of [
        [a, b],
        [b, a],
      ]) {
        out.push(
          finding(
            { id: 'tier-priority-tie', tier: self.tier, priority: self.priority, other: other.ref, overlapsToday },
            self.ref,
            undefined,
          ),
        );
      }
    }
  });
  for (const policy of set.policies) out.push(...shadowedTierRules(policy));
  return out;
}

/**
 * Rules of a tier policy that can never match: an earlier rule of the same policy and direction matches
 * every peer and port they do, and the first rule that matches decides (whatever its action). Proven
 * from the rules alone, one earlier rule covering a later one; a rule that fails closed is left to its
 * warning, and one that fails closed as Deny or Pass (it matches everything) shadows every later rule.
 */
function shadowedTierRules(policy: CompiledTierPolicy): Finding[] {
  const out: Finding[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const rules = policy[direction];
    rules.forEach((r, i) => {
      if (r.failClosed) return;
      const by = rules.slice(0, i).find((s) => tierRuleCovers(s, r));
      if (!by) return;
      out.push(
        finding(
          {
            id: 'rule-shadowed',
            tier: policy.tier,
            rule: hitOf(policy, direction, r),
            by: hitOf(policy, direction, by),
          },
          policy.ref,
          undefined,
        ),
      );
    });
  }
  return out;
}

/** Whether tier rule `s` matches every connection rule `r` matches, provably. */
function tierRuleCovers(s: TierRule, r: TierRule): boolean {
  // Failing closed, an Accept rule matches nothing; a Deny or Pass rule, everything.
  if (s.failClosed) return s.action !== 'Accept';
  if (s.ports !== 'all') {
    if (r.ports === 'all') return false;
    const sPorts = s.ports;
    if (!r.ports.every((p) => sPorts.some((q) => tierPortCovers(q, p)))) return false;
  }
  if (s.peers === 'all') return true;
  if (r.peers === 'all') return false;
  const sPeers = s.peers;
  return r.peers.every((p) => sPeers.some((q) => tierPeerCovers(q, p)));
}

/** A port range inside another of its protocol, or the same port name (resolved on the same destination). */
function tierPortCovers(s: TierPort, r: TierPort): boolean {
  if ('namedPort' in r) return 'namedPort' in s && s.namedPort === r.namedPort;
  return !('namedPort' in s) && s.protocol === r.protocol && s.from <= r.from && r.to <= s.to;
}

/** Whether tier peer `s` matches every pod or address peer `r` matches, provably. */
function tierPeerCovers(s: TierPeer, r: TierPeer): boolean {
  switch (s.kind) {
    case 'namespaces':
      // Every pod of the namespaces it selects.
      return (r.kind === 'namespaces' || r.kind === 'pods') && implies(r.namespaces, s.namespaces);
    case 'pods':
      if (r.kind === 'namespaces') return s.pods.isEverything && implies(r.namespaces, s.namespaces);
      return r.kind === 'pods' && implies(r.namespaces, s.namespaces) && implies(r.pods, s.pods);
    case 'networks': {
      if (r.kind !== 'networks') return false;
      const of = (cidrs: { text: string }[]) =>
        unionAddresses(...cidrs.map((c) => addressesOfBlock(compileIpBlock({ cidr: c.text, except: [] }))));
      return isEmptyAddressSet(subtractAddresses(of(r.cidrs), of(s.cidrs)));
    }
    case 'domainNames':
      return r.kind === 'domainNames' && r.names.every((name) => s.names.includes(name));
    default:
      // nodes peers: their node selectors are not kept, so nothing is proven.
      return false;
  }
}

/** Whether two tier policies' subjects may hold a pod in common (not provably disjoint). */
function mayOverlap(a: CompiledTierPolicy, b: CompiledTierPolicy): boolean {
  if (isDisjoint(a.subject.namespaces, b.subject.namespaces)) return false;
  return !(a.subject.pods && b.subject.pods && isDisjoint(a.subject.pods, b.subject.pods));
}

/** Whether the pods of a class are a tier policy's subject (spec.subject: namespaces, or namespaces AND pods). */
function isSubjectOf(policy: CompiledTierPolicy, cls: PodClass): boolean {
  const { namespaces, pods } = policy.subject;
  return namespaces.matches(cls.namespaceLabels) && (!pods || pods.matches(cls.labels));
}

/** What tells two findings of one id and object apart (a direction, a rule, a peer, another policy). */
export function findingKey(f: Finding): string {
  const d = f.details;
  switch (d.id) {
    case 'namespace-not-isolated':
      return d.direction;
    case 'exposed-to-internet':
    case 'exposed-to-all-namespaces':
      return d.isolated ? 'rules' : 'not-isolated';
    case 'peer-selects-nothing':
      return `${ruleKey(d.rule)}.${String(d.peerIndex).padStart(6, '0')}`;
    case 'named-port-unresolved':
      return `${ruleKey(d.rule)} ${d.port}/${d.protocol}`;
    case 'rule-shadowed':
      return 'tier' in d ? `${d.rule.direction}[${String(d.rule.rule.index).padStart(6, '0')}]` : ruleKey(d.rule);
    case 'tier-priority-tie':
      return `${d.other.kind}/${d.other.name}`;
    case 'expectation-violated':
      return String(d.index).padStart(6, '0');
    default:
      return '';
  }
}

/** The order of findings: most severe first, then by id, namespace (cluster-scoped first), object and key. */
export function compareFindings(a: Finding, b: Finding): number {
  const rank = SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity);
  if (rank !== 0) return rank;
  const keys = (f: Finding) => [f.id, f.namespace ?? '', f.object.kind, f.object.name, findingKey(f)];
  const [x, y] = [keys(a), keys(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}
