/**
 * The pods of a world laid out as bits: every class (and so every label class and namespace) is a
 * run of bits, and the pods a peer, a policy or an address signature admits are bitsets, memoised per
 * world. The matrix (matrix.ts) answers with them a word of 32 pods at a time.
 */
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodClass, World } from './world.js';
import type { PortSet, Protocol } from './model.js';
import { namespacesOfPeer, portsOfRule } from './peers.js';
import { portSetContains } from './ports.js';

/** Bits over pods, stored from word `lo` on (everything outside is zero). */
export interface Bits {
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
export interface Point {
  protocol: Protocol;
  port: number;
  key: string;
}

/** Pod bit layout and the memoised source sets of one world. */
export class Layout {
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
  /** A rule naming ports -> its port list's resolutions per named-port kind (shared by rules listing the same ports). */
  private readonly namedPorts = new Map<CompiledRule, Map<number, PortSet>>();
  private readonly namedPortsBySpec = new Map<string, Map<number, PortSet>>();
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

  /** The classes whose pods are in `sources` (a class is in or out as a whole), in bit order. */
  classesIn(sources: Acc): Int32Array {
    const { start, size, classOfBit } = this;
    const { words, hi } = sources;
    const out = this.classScratch;
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
    let narrowing = pods && namespaces.length > 1 ? pods.requirements.find((r) => r.operator === 'In') : undefined;
    if (narrowing) {
      // Only when its values' label classes are fewer than the namespaces' (a value common cluster-wide is not).
      let viaValues = 0;
      for (const value of new Set(narrowing.values))
        viaValues += index.labelClassesByLabel.get(`${narrowing.key}=${value}`)?.length ?? 0;
      let viaNamespaces = 0;
      for (const ns of namespaces) viaNamespaces += index.labelClassesByNamespace.get(ns)?.length ?? 0;
      if (viaNamespaces < viaValues) narrowing = undefined;
    }
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

  /** The pods of these label classes as bits (each is a run of bits). */
  ofLabelClasses(ids: ArrayLike<number>): Bits {
    const runs: number[] = [];
    for (let i = 0; i < ids.length; i++) runs.push(...this.labelClassRun(ids[i]));
    return this.ofRuns(runs);
  }

  /** [first bit, bits] of a label class. */
  labelClassRun(lc: number): [number, number] {
    const classes = this.world.labelClasses[lc];
    let size = 0;
    for (const c of classes) size += this.size[c.id];
    return [this.start[classes[0].id], size];
  }

  /** Bits from [start, length] pairs. */
  ofRuns(runs: number[]): Bits {
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

  /**
   * A rule's ports on the pods of a target class (named ports resolve alike for the same container
   * ports), interned. Resolved once per port list and kind, not per rule: policies repeat a few lists
   * (thousands of rules, a handful of lists), and a first query met thousands of rules at once.
   */
  ports(rule: CompiledRule, target: PodClass): PortSet {
    if (rule.fixedPorts) return rule.fixedPorts;
    let byLabelClass = this.namedPorts.get(rule);
    if (!byLabelClass) {
      const spec = portListKey(rule.ports);
      byLabelClass = this.namedPortsBySpec.get(spec);
      if (!byLabelClass) this.namedPortsBySpec.set(spec, (byLabelClass = new Map()));
      this.namedPorts.set(rule, byLabelClass);
    }
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

/** A rule's port list as text: lists equal as text resolve alike on every pod. */
function portListKey(ports: CompiledRule['ports']): string {
  if (ports === 'all') return '*';
  let key = '';
  for (const p of ports)
    key +=
      p.kind === 'named'
        ? `${p.protocol}:${p.name}\u0000`
        : p.kind === 'range'
          ? `${p.protocol}:${p.from}-${p.to}\u0000`
          : `${p.protocol}:*\u0000`;
  return key;
}

/** A full-width accumulator. */
export class Acc {
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
  /** ORs in the words of `bits` in [from, to) only. */
  orWithin(bits: Bits, from: number, to: number): void {
    const { lo, words } = bits;
    const start = Math.max(lo, from);
    const end = Math.min(lo + words.length, to);
    if (start >= end) return;
    const w = this.words;
    for (let i = start; i < end; i++) w[i] |= words[i - lo];
    if (start < this.lo) this.lo = start;
    if (end > this.hi) this.hi = end;
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

/** Whether `bit` is set in `bits`. */
export function hasBit(bits: Bits, bit: number): boolean {
  const w = (bit >>> 5) - bits.lo;
  return w >= 0 && w < bits.words.length && (bits.words[w] & (1 << (bit & 31))) !== 0;
}

/**
 * The bits of `x` that are in `keep` and not in `held`, counted: what `held | (x & keep)` adds to
 * `held`, without building it (an Acc's words outside [lo, hi) are zero, so x's whole range is read).
 */
export function countAdded(x: Bits, keep: Acc, held: Acc): number {
  const { lo, words } = x;
  const k = keep.words;
  const h = held.words;
  let added = 0;
  for (let i = 0; i < words.length; i++) {
    const extra = words[i] & k[lo + i] & ~h[lo + i];
    if (extra !== 0) added += popcount32(extra);
  }
  return added;
}

/** The number of bits set. */
export function count(a: Acc): number {
  let n = 0;
  for (let i = a.lo; i < a.hi; i++) n += popcount32(a.words[i]);
  return n;
}

const layouts = new WeakMap<World, Layout>();

/** Lays out a world's pods as bits (compileWorld calls it, so the first query does not pay for it). */
export function layoutOf(world: World): Layout {
  let layout = layouts.get(world);
  if (!layout) layouts.set(world, (layout = new Layout(world)));
  return layout;
}
