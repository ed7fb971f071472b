/**
 * The whole reachability matrix with bitsets over pods. Pods are laid out so that every class (and so
 * every label class and namespace) is a run of bits; each source set is a bitset, and a target's
 * allowed sources are (its ingress admits) AND (their egress admits it), a word at a time.
 *
 * Classes that differ only in the ipBlocks their IPs fall in share a label class: everything but the
 * ipBlock peers is computed once per label class, the ipBlock part once per address signature.
 * Without a port, the port space is cut into atoms (ranges no rule tells apart) and each atom is
 * answered as one port.
 */
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, World } from './compile.js';
import { namespacesOfPeer, portsOfRule } from './compile.js';
import type { PortSet, Protocol } from './model.js';
import { PROTOCOLS } from './model.js';
import { MAX_PORT, MIN_PORT, portSetContains, unionPortSets } from './ports.js';

/** Bits over pods, stored from word `lo` on (everything outside is zero). */
interface Bits {
  lo: number;
  words: Int32Array;
}

const EMPTY: Bits = { lo: 0, words: new Int32Array(0) };

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

/** Sets `length` bits from bit `from` on. */
function setRange(words: Int32Array, from: number, length: number): void {
  let b = from;
  const end = from + length;
  for (; b < end && (b & 31) !== 0; b++) words[b >>> 5] |= 1 << (b & 31);
  for (; b + 32 <= end; b += 32) words[b >>> 5] = -1;
  for (; b < end; b++) words[b >>> 5] |= 1 << (b & 31);
}

/** One port to answer: a protocol and a number (the representative of an atom). */
interface Point {
  protocol: Protocol;
  port: number;
  key: string;
}

/** A set of ports no rule of a target tells apart: answered once, at `point`. */
interface Atom {
  point: Point;
  ports: PortSet;
}

/** Pod bit layout and the memoised source sets of one world. */
class Layout {
  readonly start: Int32Array;
  /** Bit -> the class of the pod there. */
  readonly classOfBit: Int32Array;
  /** Room for a list of classes. */
  readonly classScratch: Int32Array;
  readonly size: Int32Array;
  readonly nWords: number;
  readonly all: Bits;
  private readonly peerBits = new Map<string, Bits>();
  /** Namespace -> [first bit, bits]. */
  private readonly namespaceRuns = new Map<string, [number, number]>();
  private readonly blockBits = new Map<number, Bits>();
  private readonly namedPorts = new Map<CompiledRule, Map<number, PortSet>>();
  private readonly signatureBits: Bits[] = [];
  private readonly policyBits = new Map<CompiledPolicy, Bits>();
  private readonly ipEgressMemo = new Map<string, Map<number, Bits>>();
  private readonly ipEgressRules = new Map<number, { policy: CompiledPolicy; rule: CompiledRule }[]>();
  readonly egressOpen: Bits;

  constructor(readonly world: World) {
    const n = world.classes.length;
    this.start = new Int32Array(n);
    this.size = new Int32Array(n);
    let bit = 0;
    // Namespace, then label class, then class: namespaces and label classes are runs of bits.
    for (const [ns, list] of world.index.classesByNamespace) {
      const first = bit;
      const seen = new Set<number>();
      for (const c of list) {
        if (seen.has(c.labelClass)) continue;
        seen.add(c.labelClass);
        for (const member of world.labelClasses[c.labelClass]) {
          this.start[member.id] = bit;
          this.size[member.id] = member.members.length;
          bit += member.members.length;
        }
      }
      this.namespaceRuns.set(ns, [first, bit - first]);
    }
    this.nWords = (bit + 31) >>> 5;
    this.classOfBit = new Int32Array(bit);
    this.classScratch = new Int32Array(n);
    for (const c of world.classes) this.classOfBit.fill(c.id, this.start[c.id], this.start[c.id] + this.size[c.id]);
    this.all = this.ofClasses(world.classes.map((c) => c.id));
    this.egressOpen = this.ofClasses(world.index.egressOpenClasses);
    // Address signatures as bits, for ipBlock peers (few signatures, each a list of classes).
    const { classesBySignature } = world.index;
    if (
      world.index.egressByIpBlock.size > 0 ||
      world.policies.some((p) => p.ingress?.some((r) => r.peers !== 'all' && r.peers.some((x) => x.kind === 'ipBlock')))
    )
      for (let sig = 0; sig < classesBySignature.length; sig++)
        this.signatureBits[sig] = this.ofClasses(classesBySignature[sig]);
  }

  /** The pods of these classes as bits. */
  ofClasses(ids: ArrayLike<number>): Bits {
    if (ids.length === 0) return EMPTY;
    let min = Infinity;
    let max = -1;
    for (let i = 0; i < ids.length; i++) {
      const s = this.start[ids[i]];
      const e = s + this.size[ids[i]] - 1;
      if (this.size[ids[i]] === 0) continue;
      if (s < min) min = s;
      if (e > max) max = e;
    }
    if (max < 0) return EMPTY;
    const lo = min >>> 5;
    const words = new Int32Array((max >>> 5) - lo + 1);
    for (let i = 0; i < ids.length; i++) setRange(words, this.start[ids[i]] - lo * 32, this.size[ids[i]]);
    return { lo, words };
  }

  /** Pods a peer of a rule admits, set from namespace and label-class runs (each is a run of bits). */
  peer(peer: CompiledPeer, policyNamespace: string): Bits {
    if (peer.kind === 'ipBlock') return this.ipBlock(peer.id);
    const key = `${peer.namespaces ? peer.namespaces.key : `=${policyNamespace}`}\u0000${peer.pods ? peer.pods.key : '*'}`;
    let bits = this.peerBits.get(key);
    if (bits) return bits;
    const { world } = this;
    const index = world.index;
    const namespaces = namespacesOfPeer(world, peer, policyNamespace);
    const runs: number[] = [];
    const pods = peer.pods;
    const narrowing = pods && namespaces.length > 1 ? pods.requirements.find((r) => r.operator === 'In') : undefined;
    if (!pods || pods.isEverything) {
      for (const ns of namespaces) {
        const run = this.namespaceRuns.get(ns);
        if (run) runs.push(run[0], run[1]);
      }
    } else if (narrowing) {
      // Only the label classes carrying one of the values can match (the key=value index).
      const inNamespaces = new Set(namespaces);
      for (const value of new Set(narrowing.values))
        for (const lc of index.labelClassesByLabel.get(`${narrowing.key}=${value}`) ?? []) {
          const first = world.labelClasses[lc][0];
          if (inNamespaces.has(first.namespace) && pods.matches(first.labels)) runs.push(...this.labelClassRun(lc));
        }
    } else {
      for (const ns of namespaces)
        for (const lc of index.labelClassesByNamespace.get(ns) ?? [])
          if (pods.matches(world.labelClasses[lc][0].labels)) runs.push(...this.labelClassRun(lc));
    }
    bits = this.ofRuns(runs);
    this.peerBits.set(key, bits);
    return bits;
  }

  /** [first bit, bits] of a label class. */
  private labelClassRun(lc: number): [number, number] {
    const classes = this.world.labelClasses[lc];
    let size = 0;
    for (const c of classes) size += this.size[c.id];
    return [this.start[classes[0].id], size];
  }

  /** Bits from [start, length] pairs. */
  private ofRuns(runs: number[]): Bits {
    let min = Infinity;
    let max = -1;
    for (let i = 0; i < runs.length; i += 2) {
      if (runs[i + 1] === 0) continue;
      min = Math.min(min, runs[i]);
      max = Math.max(max, runs[i] + runs[i + 1] - 1);
    }
    if (max < 0) return EMPTY;
    const lo = min >>> 5;
    const words = new Int32Array((max >>> 5) - lo + 1);
    for (let i = 0; i < runs.length; i += 2) setRange(words, runs[i] - lo * 32, runs[i + 1]);
    return { lo, words };
  }

  /** Pods with an address inside an ipBlock: from the address signatures that hold it, or all but those that do not. */
  private ipBlock(id: number): Bits {
    let bits = this.blockBits.get(id);
    if (bits) return bits;
    const { signatures } = this.world.index;
    const inside: number[] = [];
    const outside: number[] = [];
    for (let sig = 0; sig < signatures.length; sig++) (signatures[sig].has(id) ? inside : outside).push(sig);
    const acc = new Acc(this.nWords);
    if (inside.length <= outside.length) for (const sig of inside) acc.or(this.signature(sig));
    else {
      // Every pod has exactly one signature: the block holds all pods but those of the other signatures.
      acc.or(this.all);
      for (const sig of outside) {
        const { lo, words } = this.signature(sig);
        for (let i = 0; i < words.length; i++) acc.words[lo + i] &= ~words[i];
      }
    }
    bits = acc.toBits();
    this.blockBits.set(id, bits);
    return bits;
  }

  private signature(sig: number): Bits {
    let bits = this.signatureBits[sig];
    if (!bits) bits = this.signatureBits[sig] = this.ofClasses(this.world.index.classesBySignature[sig]);
    return bits;
  }

  /** A rule's ports on the pods of a target class (named ports resolve alike for the same container ports), interned. */
  ports(rule: CompiledRule, target: PodClass): PortSet {
    if (rule.fixedPorts) return rule.fixedPorts;
    let byLabelClass = this.namedPorts.get(rule);
    if (!byLabelClass) this.namedPorts.set(rule, (byLabelClass = new Map()));
    let ports = byLabelClass.get(target.namedPorts);
    if (!ports) {
      ports = this.world.portSets.intern(portsOfRule(rule, target.representative.pod));
      byLabelClass.set(target.namedPorts, ports);
    }
    return ports;
  }

  /** Pods a policy selects for egress. */
  policyEgress(policy: CompiledPolicy): Bits {
    let bits = this.policyBits.get(policy);
    if (!bits) {
      bits = this.ofClasses(this.world.index.egressClassesByPolicy.get(policy) ?? []);
      this.policyBits.set(policy, bits);
    }
    return bits;
  }

  /** Egress rules with an ipBlock peer that holds the addresses of this signature. */
  egressRulesOfSignature(signature: number): { policy: CompiledPolicy; rule: CompiledRule }[] {
    let rules = this.ipEgressRules.get(signature);
    if (!rules) {
      const seen = new Set<CompiledRule>();
      rules = [];
      for (const id of this.world.index.signatures[signature]) {
        for (const r of this.world.index.egressByIpBlock.get(id) ?? []) {
          if (seen.has(r.rule)) continue;
          seen.add(r.rule);
          rules.push(r);
        }
      }
      this.ipEgressRules.set(signature, rules);
    }
    return rules;
  }

  /** Source pods whose egress admits a target of this class on `point` through an ipBlock rule. */
  ipEgress(target: PodClass, point: Point): Bits {
    const rules = this.egressRulesOfSignature(target.ipSignature);
    if (rules.length === 0) return EMPTY;
    // Named ports resolve on the target: then the answer is per label class, else per signature.
    const named = rules.some((r) => r.rule.fixedPorts === undefined);
    let memo = this.ipEgressMemo.get(point.key);
    if (!memo) this.ipEgressMemo.set(point.key, (memo = new Map()));
    const key = named ? target.ipSignature * 1048576 + target.namedPorts + 1 : target.ipSignature * 1048576;
    let bits = memo.get(key);
    if (!bits) {
      const acc = new Acc(this.nWords);
      for (const { policy, rule } of rules) {
        if (portSetContains(this.ports(rule, target), point.protocol, point.port)) acc.or(this.policyEgress(policy));
      }
      bits = acc.toBits();
      memo.set(key, bits);
    }
    return bits;
  }
}

/** A full-width accumulator. */
class Acc {
  readonly words: Int32Array;
  lo: number;
  hi: number;
  constructor(nWords: number) {
    this.words = new Int32Array(nWords);
    this.lo = nWords;
    this.hi = 0;
  }
  clear(): void {
    if (this.hi > this.lo) this.words.fill(0, this.lo, this.hi);
    this.lo = this.words.length;
    this.hi = 0;
  }
  or(bits: Bits): void {
    const { lo, words } = bits;
    const n = words.length;
    if (n === 0) return;
    const w = this.words;
    for (let i = 0; i < n; i++) w[lo + i] |= words[i];
    if (lo < this.lo) this.lo = lo;
    if (lo + n > this.hi) this.hi = lo + n;
  }
  copyFrom(other: Acc): void {
    this.clear();
    this.words.set(other.words.subarray(other.lo, other.hi), other.lo);
    this.lo = other.lo;
    this.hi = other.hi;
  }
  toBits(): Bits {
    if (this.hi <= this.lo) return EMPTY;
    return { lo: this.lo, words: this.words.slice(this.lo, this.hi) };
  }
  has(bit: number): boolean {
    return (this.words[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }
}

/** The number of bits set. */
function count(a: Acc): number {
  let n = 0;
  for (let i = a.lo; i < a.hi; i++) n += popcount32(a.words[i]);
  return n;
}

/** The atoms of the port space for these port sets: ranges each set holds whole or not at all. */
function atomsOf(sets: PortSet[]): Atom[] {
  const out = new Map<string, { point: Point; ranges: Record<Protocol, { from: number; to: number }[]> }>();
  for (const protocol of PROTOCOLS) {
    const cuts = new Set<number>([MIN_PORT]);
    for (const s of sets) for (const r of s[protocol]) cuts.add(r.from).add(r.to + 1);
    const points = [...cuts].filter((c) => c <= MAX_PORT).sort((a, b) => a - b);
    for (let i = 0; i < points.length; i++) {
      const from = points[i];
      const to = (points[i + 1] ?? MAX_PORT + 1) - 1;
      // Ranges that the same sets hold are one atom.
      const member = sets.map((s) => (portSetContains(s, protocol, from) ? '1' : '0')).join('');
      let atom = out.get(member);
      if (!atom) {
        atom = { point: { protocol, port: from, key: `${from}/${protocol}` }, ranges: { TCP: [], UDP: [], SCTP: [] } };
        out.set(member, atom);
      }
      atom.ranges[protocol].push({ from, to });
    }
  }
  return [...out.values()].map((a) => ({ point: a.point, ports: a.ranges }));
}

/** The reachability matrix, summarised. */
export interface ClassMatrix {
  /** Allowed (source pod, target pod) pairs, a pod to itself not counted. */
  pairCount: number;
  /** False when `progress` stopped it early. */
  complete: boolean;
}

/** Options of reachabilityMatrix. */
export interface MatrixOptions {
  /**
   * Receives, per target class, its allowed source classes with their ports (all ports) or `true`
   * (one port). Costs a pass over every class per target: for tests and small worlds.
   */
  visit?: (target: PodClass, allowed: ReadonlyMap<number, PortSet | true>) => void;
  /** Called after each label class; return false to stop early (the counts so far are returned). */
  progress?: (done: number, total: number) => boolean;
}

/** Answers one label class, then each of its classes, reusing full-width scratch sets. */
class Evaluator {
  private readonly ingressAcc: Acc[] = [];
  private readonly labelAcc: Acc[] = [];
  /** Sources allowed on some atom, by labels alone (before the ipBlock part of egress). */
  readonly union: Acc;
  private readonly scratch: Acc;
  atoms: Atom[] = [];
  private ipParts: Bits[] = [];

  constructor(readonly layout: Layout) {
    this.union = new Acc(layout.nWords);
    this.scratch = new Acc(layout.nWords);
  }

  /** Computes the label-class part for the pods of `classes` (one label class); returns its source count. */
  labelClass(classes: PodClass[], port?: { port: number; protocol: Protocol }): number {
    const { layout } = this;
    const n = layout.nWords;
    const target = classes[0];
    const ingressRules: { rule: CompiledRule; ports: PortSet; namespace: string }[] = [];
    for (const policy of target.ingressPolicies)
      for (const rule of policy.ingress ?? [])
        ingressRules.push({ rule, ports: layout.ports(rule, target), namespace: policy.ref.namespace });
    const egressRules = egressRulesAdmitting(layout, target);
    // Atoms: one port asked about, or the cuts of every rule that may apply to this target.
    if (port) this.atoms = [{ point: { ...port, key: `${port.port}/${port.protocol}` }, ports: portOf(port) }];
    else {
      const sets = new Set<PortSet>();
      for (const r of ingressRules) sets.add(r.ports);
      for (const r of egressRules) sets.add(r.ports);
      for (const c of classes)
        for (const r of layout.egressRulesOfSignature(c.ipSignature)) sets.add(layout.ports(r.rule, target));
      this.atoms = atomsOf([...sets]);
    }
    const { atoms, union } = this;
    const isolated = target.ingressPolicies.length > 0;
    while (this.ingressAcc.length < atoms.length) {
      this.ingressAcc.push(new Acc(n));
      this.labelAcc.push(new Acc(n));
    }
    union.clear();
    for (let a = 0; a < atoms.length; a++) {
      const { point } = atoms[a];
      const ingress = this.ingressAcc[a];
      const label = this.labelAcc[a];
      ingress.clear();
      label.clear();
      let ingressAll = !isolated;
      if (isolated) {
        for (const r of ingressRules) {
          if (!portSetContains(r.ports, point.protocol, point.port)) continue;
          if (r.rule.peers === 'all') ingressAll = true;
          else for (const peer of r.rule.peers) ingress.or(layout.peer(peer, r.namespace));
        }
      }
      if (ingressAll) {
        ingress.clear();
        ingress.or(layout.all);
      }
      label.or(layout.egressOpen);
      for (const r of egressRules)
        if (portSetContains(r.ports, point.protocol, point.port)) label.or(layout.policyEgress(r.policy));
      // Sources admitted by both, before the ipBlock part of egress: kept in `label`.
      for (let i = label.lo; i < label.hi; i++) label.words[i] &= ingress.words[i];
      for (let i = label.lo; i < label.hi; i++) union.words[i] |= label.words[i];
      if (label.lo < union.lo) union.lo = label.lo;
      if (label.hi > union.hi) union.hi = label.hi;
    }
    return count(union);
  }

  /**
   * The sources allowed to reach the pods of one class of that label class: the label part plus those
   * admitted through an ipBlock egress rule that holds the class's addresses. Valid until the next call.
   */
  classSources(cls: PodClass): Acc {
    const { layout, atoms, scratch } = this;
    this.ipParts = atoms.map((atom) => layout.ipEgress(cls, atom.point));
    if (!this.ipParts.some((b) => b.words.length > 0)) return this.union;
    scratch.copyFrom(this.union);
    for (let a = 0; a < atoms.length; a++) {
      const x = this.ipParts[a];
      if (x.words.length === 0) continue;
      const ingress = this.ingressAcc[a];
      for (let i = 0; i < x.words.length; i++) {
        const w = x.lo + i;
        scratch.words[w] |= x.words[i] & ingress.words[w];
      }
      if (x.lo < scratch.lo) scratch.lo = x.lo;
      if (x.lo + x.words.length > scratch.hi) scratch.hi = x.lo + x.words.length;
    }
    return scratch;
  }

  /** The ports allowed to the source at `bit` by the last classSources: the atoms whose answer holds it. */
  portsAt(bit: number): PortSet {
    const held: PortSet[] = [];
    for (let a = 0; a < this.atoms.length; a++) {
      const x = this.ipParts[a];
      const w = (bit >>> 5) - x.lo;
      const viaIp =
        w >= 0 && w < x.words.length && (x.words[w] & (1 << (bit & 31))) !== 0 && this.ingressAcc[a].has(bit);
      if (viaIp || this.labelAcc[a].has(bit)) held.push(this.atoms[a].ports);
    }
    return this.layout.world.portSets.intern(unionPortSets(...held));
  }

  /** The classes whose pods are in `sources` (a class is in or out as a whole), in bit order. */
  classesIn(sources: Acc): Int32Array {
    const { start, size, classOfBit } = this.layout;
    const { words, hi } = sources;
    const out = this.layout.classScratch;
    let n = 0;
    let from = sources.lo * 32;
    for (;;) {
      let w = from >>> 5;
      if (w >= hi) break;
      let word = words[w] & (-1 << (from & 31));
      while (word === 0 && ++w < hi) word = words[w];
      if (word === 0) break;
      const id = classOfBit[(w << 5) + (31 - Math.clz32(word & -word))];
      out[n++] = id;
      // The rest of the class is alike: go on after it.
      from = start[id] + size[id];
    }
    return out.slice(0, n);
  }
}

const layouts = new WeakMap<World, Layout>();

/** Lays out a world's pods as bits (compileWorld calls it, so the first query does not pay for it). */
export function layoutOf(world: World): Layout {
  let layout = layouts.get(world);
  if (!layout) layouts.set(world, (layout = new Layout(world)));
  return layout;
}

/**
 * The source classes allowed to reach the pods of one class, with their ports when no port is given.
 * Computed with the world's bitsets: a few word passes whatever the number of sources.
 */
export function allowedSourceClasses(
  world: World,
  target: PodClass,
  port?: { port: number; protocol: Protocol },
): { ids: Int32Array; ports?: PortSet[] } {
  const evaluator = new Evaluator(layoutOf(world));
  evaluator.labelClass(world.labelClasses[target.labelClass], port);
  const sources = evaluator.classSources(target);
  const ids = evaluator.classesIn(sources);
  if (port) return { ids };
  return { ids, ports: Array.from(ids, (id) => evaluator.portsAt(evaluator.layout.start[id])) };
}

/**
 * The whole matrix for one port (or all ports when absent): for every target pod, the source pods
 * allowed to reach it, counted a word of 32 pods at a time.
 */
export function reachabilityMatrix(
  world: World,
  port?: { port: number; protocol: Protocol },
  options: MatrixOptions = {},
): ClassMatrix {
  const layout = new Layout(world);
  const evaluator = new Evaluator(layout);
  let pairCount = 0;
  const total = world.labelClasses.length;
  for (let lc = 0; lc < total; lc++) {
    const classes = world.labelClasses[lc];
    const labelCount = evaluator.labelClass(classes, port);
    for (const cls of classes) {
      const sources = evaluator.classSources(cls);
      const members = layout.size[cls.id];
      const self = members > 0 && sources.has(layout.start[cls.id]);
      pairCount += members * (sources === evaluator.union ? labelCount : count(sources)) - (self ? members : 0);
      if (options.visit) {
        const allowed = new Map<number, PortSet | true>();
        for (const id of evaluator.classesIn(sources))
          allowed.set(id, port ? true : evaluator.portsAt(layout.start[id]));
        options.visit(cls, allowed);
      }
    }
    if (options.progress && !options.progress(lc + 1, total)) return { pairCount, complete: false };
  }
  return { pairCount, complete: true };
}

function portOf(port: { port: number; protocol: Protocol }): PortSet {
  const set: PortSet = { TCP: [], UDP: [], SCTP: [] };
  set[port.protocol] = [{ from: port.port, to: port.port }];
  return set;
}

/** Egress rules (with their policies and ports on the target) whose pod peers admit the pods of a label class. */
function egressRulesAdmitting(
  layout: Layout,
  target: PodClass,
): { policy: CompiledPolicy; rule: CompiledRule; ports: PortSet }[] {
  const { index } = layout.world;
  const out: { policy: CompiledPolicy; rule: CompiledRule; ports: PortSet }[] = [];
  for (const { policy, rule } of index.egressToAll) out.push({ policy, rule, ports: layout.ports(rule, target) });
  let seen: Set<CompiledRule> | undefined;
  for (const { policy, rule, peer } of index.egressByDestinationNamespace.get(target.namespace) ?? []) {
    if (peer.pods && !peer.pods.matches(target.labels)) continue;
    // A rule with two peers that both admit the target counts once.
    seen ??= new Set();
    if (seen.has(rule)) continue;
    seen.add(rule);
    out.push({ policy, rule, ports: layout.ports(rule, target) });
  }
  return out;
}
