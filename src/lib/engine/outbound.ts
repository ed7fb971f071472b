/**
 * The outbound view with the world's bitsets: which destination pods one source class may reach, on a
 * port or on which ports. A destination is reached when the source's egress admits it (no egress
 * isolation, or an egress rule whose peers hold it) AND its ingress admits the source (no ingress
 * isolation, or an ingress rule of a policy selecting it whose peers hold the source), a word of 32
 * destination pods at a time. Ports resolve on the destination (NetworkPolicyPort names, both sides):
 * destinations are taken per set of named container ports, the few kinds a world has.
 */
import type { Bits, Layout, Point } from './layout.js';
import { Acc, layoutOf } from './layout.js';
import { atomsOf } from './matrix.js';
import type { PortSet, Protocol } from './model.js';
import { portSetContains, resolveNamedPort, unionPortSets } from './ports.js';
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, World } from './world.js';

/** A rule with the policy it belongs to. */
interface RuleOf {
  policy: CompiledPolicy;
  rule: CompiledRule;
}

/** What outbound questions need beyond the world's own indexes, built on the first one. */
interface OutboundIndex {
  /** Pods no policy selects for ingress: they admit every source. */
  ingressOpen: Bits;
  /** Policy -> the classes it selects for ingress. */
  ingressClasses: Map<CompiledPolicy, number[]>;
  policyIngress: Map<CompiledPolicy, Bits>;
  /** Ingress rules that admit every source (`from` empty). */
  ingressToAll: RuleOf[];
  /** Source namespace -> ingress rules with a pod peer that can admit pods there (selector checked per source). */
  ingressBySourceNamespace: Map<string, (RuleOf & { peer: CompiledPeer & { kind: 'pods' } })[]>;
  /** ipBlock peer id -> ingress rules with that peer. */
  ingressByIpBlock: Map<number, RuleOf[]>;
  /** Named-port set id -> a class that has it (its pods resolve every rule's port names alike). */
  namedPortClass: Map<number, PodClass>;
  /** Named-port set id -> the pods whose class has it. */
  namedPortBits: Map<number, Bits>;
}

const indexes = new WeakMap<World, OutboundIndex>();

function outboundIndex(world: World, layout: Layout): OutboundIndex {
  let index = indexes.get(world);
  if (index) return index;
  const ingressClasses = new Map<CompiledPolicy, number[]>();
  const open: number[] = [];
  const namedPortClasses = new Map<number, number[]>();
  const namedPortClass = new Map<number, PodClass>();
  for (const cls of world.classes) {
    if (cls.ingressPolicies.length === 0) open.push(cls.id);
    for (const p of cls.ingressPolicies) {
      const list = ingressClasses.get(p);
      if (list) list.push(cls.id);
      else ingressClasses.set(p, [cls.id]);
    }
    const same = namedPortClasses.get(cls.namedPorts);
    if (same) same.push(cls.id);
    else {
      namedPortClasses.set(cls.namedPorts, [cls.id]);
      namedPortClass.set(cls.namedPorts, cls);
    }
  }
  index = {
    ingressOpen: layout.ofClasses(open),
    ingressClasses,
    policyIngress: new Map(),
    ingressToAll: [],
    ingressBySourceNamespace: new Map(),
    ingressByIpBlock: new Map(),
    namedPortClass,
    namedPortBits: new Map([...namedPortClasses].map(([k, ids]) => [k, layout.ofClasses(ids)])),
  };
  for (const policy of ingressClasses.keys()) {
    for (const rule of policy.ingress ?? []) {
      if (rule.peers === 'all') {
        index.ingressToAll.push({ policy, rule });
        continue;
      }
      for (const peer of rule.peers) {
        if (peer.kind === 'ipBlock') {
          const list = index.ingressByIpBlock.get(peer.id) ?? [];
          list.push({ policy, rule });
          index.ingressByIpBlock.set(peer.id, list);
          continue;
        }
        // NetworkPolicyPeer: namespaceSelector absent is the policy's own namespace.
        const namespaces = peer.namespaces
          ? [...world.namespaceLabels].filter(([, labels]) => peer.namespaces!.matches(labels)).map(([ns]) => ns)
          : [policy.ref.namespace];
        for (const ns of namespaces) {
          const list = index.ingressBySourceNamespace.get(ns) ?? [];
          list.push({ policy, rule, peer });
          index.ingressBySourceNamespace.set(ns, list);
        }
      }
    }
  }
  indexes.set(world, index);
  return index;
}

function policyIngress(index: OutboundIndex, layout: Layout, policy: CompiledPolicy): Bits {
  let bits = index.policyIngress.get(policy);
  if (!bits) {
    bits = layout.ofClasses(index.ingressClasses.get(policy) ?? []);
    index.policyIngress.set(policy, bits);
  }
  return bits;
}

/** The ingress rules (of policies selecting some pod) whose peers admit the pods of a source class. */
function ingressRulesAdmitting(index: OutboundIndex, source: PodClass): RuleOf[] {
  const out: RuleOf[] = [...index.ingressToAll];
  const seen = new Set<CompiledRule>(out.map((r) => r.rule));
  const add = (r: RuleOf) => {
    // A rule with two peers that both admit the source counts once.
    if (seen.has(r.rule)) return;
    seen.add(r.rule);
    out.push(r);
  };
  for (const entry of index.ingressBySourceNamespace.get(source.namespace) ?? []) {
    // podSelector absent: every pod of those namespaces; present, it must match too (AND).
    if (!entry.peer.pods || entry.peer.pods.matches(source.labels)) add(entry);
  }
  for (const id of source.ipBlockIds) for (const r of index.ingressByIpBlock.get(id) ?? []) add(r);
  return out;
}

/** What to ask of the destinations: a port number, a port name (resolved on each), or every port. */
export type OutboundPort = { port: number; protocol: Protocol } | { name: string; protocol: Protocol } | undefined;

/**
 * The destinations a source may reach: per destination class, the port it was reached on (a name asked
 * about may resolve differently on pods of one class: then the class comes once per number, and only
 * its pods that resolve to it are reached), or without a port the ports allowed.
 */
interface OutboundEntry {
  id: number;
  port?: number;
  ports?: PortSet;
}

/** Pods by the number a port name resolves to on them, as bits (once per world and name). */
const namedPortPods = new WeakMap<World, Map<string, Map<number, Bits>>>();

function podsResolving(world: World, layout: Layout, name: string, protocol: Protocol): Map<number, Bits> {
  let byName = namedPortPods.get(world);
  if (!byName) namedPortPods.set(world, (byName = new Map()));
  const key = `${name}/${protocol}`;
  let byNumber = byName.get(key);
  if (byNumber) return byNumber;
  const accs = new Map<number, Acc>();
  for (const cls of world.classes) {
    cls.members.forEach((pod, i) => {
      const number = resolveNamedPort(pod.pod, name, protocol);
      if (number === undefined) return;
      let acc = accs.get(number);
      if (!acc) accs.set(number, (acc = new Acc(layout.nWords)));
      const bit = layout.start[cls.id] + i;
      acc.words[bit >>> 5] |= 1 << (bit & 31);
      if (bit >>> 5 < acc.lo) acc.lo = bit >>> 5;
      if ((bit >>> 5) + 1 > acc.hi) acc.hi = (bit >>> 5) + 1;
    });
  }
  byNumber = new Map([...accs].map(([number, acc]) => [number, acc.toBits()]));
  byName.set(key, byNumber);
  return byNumber;
}

/**
 * The destination classes the pods of a source class may reach (a pod reaching itself is the caller's
 * to leave out), computed with the world's bitsets.
 */
export function allowedDestinations(world: World, source: PodClass, port?: OutboundPort): OutboundEntry[] {
  const layout = layoutOf(world);
  const index = outboundIndex(world, layout);
  const isolated = source.egressPolicies.length > 0;
  const egress: RuleOf[] = source.egressPolicies.flatMap((policy) =>
    (policy.egress ?? []).map((rule) => ({ policy, rule })),
  );
  const ingress = ingressRulesAdmitting(index, source);
  // Destinations whose rules resolve port names alike are answered together; without names, all at once.
  const named = [...egress, ...ingress].some((r) => r.rule.fixedPorts === undefined);
  const kinds: (number | undefined)[] = named ? [...index.namedPortClass.keys()] : [undefined];
  // A port asked by name: the destinations that resolve it to each number, else one point (or atoms).
  const byNumber =
    port !== undefined && 'name' in port ? podsResolving(world, layout, port.name, port.protocol) : undefined;
  const entries: OutboundEntry[] = [];
  const atPoints: { acc: Acc; ports: PortSet }[] = [];
  const union = new Acc(layout.nWords);
  for (const k of kinds) {
    const cls = k === undefined ? source : index.namedPortClass.get(k)!;
    const portsOf = (rule: CompiledRule) => layout.ports(rule, cls);
    const kindMask = k === undefined ? undefined : index.namedPortBits.get(k)!;
    if (port === undefined) {
      for (const { point, ports } of atomsOf([...egress, ...ingress].map((r) => portsOf(r.rule)))) {
        const acc = destinationsOn(layout, index, isolated, egress, ingress, portsOf, point, [kindMask]);
        if (acc.hi <= acc.lo) continue;
        union.or(acc.toBits());
        atPoints.push({ acc, ports });
      }
      continue;
    }
    const numbers: [number, Bits | undefined][] = byNumber
      ? [...byNumber]
      : [[(port as { port: number }).port, undefined]];
    for (const [number, pods] of numbers) {
      const point = { port: number, protocol: port.protocol, key: `${number}/${port.protocol}` };
      const acc = destinationsOn(layout, index, isolated, egress, ingress, portsOf, point, [kindMask, pods]);
      for (const id of layout.classesIn(acc)) entries.push({ id, port: number });
    }
  }
  if (port !== undefined) return entries.sort((a, b) => a.id - b.id || a.port! - b.port!);
  return Array.from(layout.classesIn(union), (id) => ({
    id,
    ports: world.portSets.intern(
      unionPortSets(...atPoints.filter((a) => a.acc.has(layout.start[id])).map((a) => a.ports)),
    ),
  }));
}

/** The destination pods reached on one point: egress admits AND ingress admits, within every mask given. */
function destinationsOn(
  layout: Layout,
  index: OutboundIndex,
  isolated: boolean,
  egress: RuleOf[],
  ingress: RuleOf[],
  portsOf: (rule: CompiledRule) => PortSet,
  point: Point,
  masks: (Bits | undefined)[],
): Acc {
  const on = (r: RuleOf) => portSetContains(portsOf(r.rule), point.protocol, point.port);
  const reach = new Acc(layout.nWords);
  // Egress of the source: every pod when it is not isolated, else what its rules on this port admit.
  let isEveryDestination = !isolated;
  if (isolated) {
    for (const r of egress) {
      if (!on(r)) continue;
      if (r.rule.peers === 'all') isEveryDestination = true;
      else for (const peer of r.rule.peers) reach.or(layout.peer(peer, r.policy.ref.namespace));
    }
  }
  if (isEveryDestination) {
    reach.clear();
    reach.or(layout.all);
  }
  // Ingress of the destinations: those not isolated, and those a rule admitting the source selects.
  const admit = new Acc(layout.nWords);
  admit.or(index.ingressOpen);
  for (const r of ingress) if (on(r)) admit.or(policyIngress(index, layout, r.policy));
  for (let i = reach.lo; i < reach.hi; i++) reach.words[i] &= admit.words[i];
  for (const mask of masks) {
    if (!mask) continue;
    const { lo, words } = mask;
    for (let i = reach.lo; i < reach.hi; i++) {
      const w = i - lo;
      reach.words[i] &= w >= 0 && w < words.length ? words[w] : 0;
    }
  }
  return reach;
}
