/**
 * NetworkPolicy rules another rule already admits in full (`rule-shadowed`), proven from the policies
 * alone: selectors by their requirements, ipBlocks as address sets, ports as ranges.
 */
import { addressesOfBlock, isEmptyAddressSet, subtractAddresses } from './ipblock.js';
import type { PortSet } from './model.js';
import { NAMESPACE_NAME_LABEL } from './model.js';
import { isEmptyPortSet, resolvePorts, subtractPortSets } from './ports.js';
import type { CompiledSelector, Requirement } from './selector.js';
import type { CompiledPeer, CompiledPolicy, CompiledRule, World } from './world.js';
import { finding, type Finding } from './audit-findings.js';

/**
 * Whether every label set `narrow` matches, `wide` matches too, provably: each requirement of `wide`
 * follows from one of `narrow`'s (labels.Requirement semantics: NotIn and DoesNotExist match a set
 * without the key). False means "not proven", never "not implied".
 */
export function implies(narrow: CompiledSelector, wide: CompiledSelector): boolean {
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
export function isDisjoint(a: CompiledSelector, b: CompiledSelector): boolean {
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
export function shadowedRules(world: World, isIn: (ns: string) => boolean): Finding[] {
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
