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
import type { CompiledPolicy, CompiledRule, PodClass, World, WorldIndex } from './world.js';
import type { Bits, Point } from './layout.js';
import { Acc, count, countAdded, hasBit, Layout, layoutOf } from './layout.js';
import { TrieNode } from './number-trie.js';
import type { PortSet, Protocol } from './model.js';
import { PROTOCOLS } from './model.js';
import { MAX_PORT, MIN_PORT, portSetContains, unionPortSets } from './ports.js';

/** A set of ports no rule of a target tells apart: answered once, at `point`. */
export interface Atom {
  point: Point;
  ports: PortSet;
}

/** The atoms of the port space for these port sets: ranges each set holds whole or not at all. */
export function atomsOf(sets: PortSet[]): Atom[] {
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

/**
 * What an Evaluator reads of a layout: the world's pods as bits (a Layout), or the same bits seen
 * through fewer pods (diff-classes.ts: SourcesView); every set operation means the same on both.
 */
export type BitLayout = Pick<
  Layout,
  | 'world'
  | 'start'
  | 'nWords'
  | 'all'
  | 'egressOpen'
  | 'peer'
  | 'ports'
  | 'policyEgress'
  | 'egressRulesOfSignature'
  | 'ipEgress'
>;

/** Answers one label class, then each of its classes, reusing full-width scratch sets. */
export class Evaluator<L extends BitLayout = Layout> {
  readonly ingressAcc: Acc[] = [];
  private readonly labelAcc: Acc[] = [];
  /**
   * With `keepEgress`: per atom, the sources whose egress admits the label class by labels (before
   * ingress), in place of the label part: the caller combines them with ingressAcc (tier-matrix.ts).
   */
  readonly egressAcc: Acc[];
  /** Sources allowed on some atom, by labels alone (before the ipBlock part of egress). */
  readonly union: Acc;
  private readonly scratch: Acc;
  private atomScratch: Acc | undefined;
  atoms: Atom[] = [];
  private ipParts: Bits[] = [];
  /** Set by sourceCount. */
  isSelfSource = false;
  /** The union of the atoms' ports, by which atoms hold a source (sources of one target mostly share a few). */
  private portsByAtoms = new TrieNode<PortSet>();

  constructor(
    readonly layout: L,
    private readonly keepEgress = false,
  ) {
    this.union = new Acc(layout.nWords);
    this.scratch = new Acc(layout.nWords);
    this.egressAcc = keepEgress ? this.labelAcc : [];
  }

  /** Computes the label-class part for the pods of `classes` (one label class); returns its source count. */
  labelClass(classes: PodClass[], port?: { port: number; protocol: Protocol }, extraSets: PortSet[] = []): number {
    const { layout } = this;
    const n = layout.nWords;
    const target = classes[0];
    const ingressRules: { rule: CompiledRule; ports: PortSet; namespace: string }[] = [];
    for (const policy of target.ingressPolicies)
      for (const rule of policy.ingress ?? [])
        ingressRules.push({ rule, ports: layout.ports(rule, target), namespace: policy.ref.namespace });
    const egressRules = egressRulesAdmitting(layout, target);
    // Atoms: one port asked about, or the cuts of every rule that may apply to this target.
    this.portsByAtoms = new TrieNode<PortSet>();
    if (port) this.atoms = [{ point: { ...port, key: `${port.port}/${port.protocol}` }, ports: portOf(port) }];
    else {
      const sets = new Set<PortSet>(extraSets);
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
      // With keepEgress the caller takes the whole egress part from here; else it is needed only
      // where ingress has words.
      const [from, to] = this.keepEgress ? [0, n] : [ingress.lo, ingress.hi];
      if (from >= to) continue;
      label.orWithin(layout.egressOpen, from, to);
      for (const r of egressRules)
        if (portSetContains(r.ports, point.protocol, point.port))
          label.orWithin(layout.policyEgress(r.policy), from, to);
      if (this.keepEgress) continue;
      // Sources admitted by both, before the ipBlock part of egress: kept in `label`.
      const { words } = label;
      for (let i = label.lo; i < label.hi; i++) {
        const word = words[i] & ingress.words[i];
        words[i] = word;
        union.words[i] |= word;
      }
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

  /**
   * For one atom: how many sources the pods of `cls` have (classSources counted without building it:
   * the label part's count plus what the ipBlock part of egress adds); `isSelfSource` then says
   * whether the class's first pod is one of them.
   */
  sourceCount(cls: PodClass, labelCount: number): number {
    const { layout, union } = this;
    const x = layout.ipEgress(cls, this.atoms[0].point);
    const ingress = this.ingressAcc[0];
    const bit = layout.start[cls.id];
    this.isSelfSource = union.has(bit) || (hasBit(x, bit) && ingress.has(bit));
    return x.words.length === 0 ? labelCount : labelCount + countAdded(x, ingress, union);
  }

  /** The ports allowed to the source at `bit` by the last classSources: the atoms whose answer holds it. */
  portsAt(bit: number): PortSet {
    // Walked by the atoms that hold the source (no list or key string per call: it runs per source pair).
    let node = this.portsByAtoms;
    for (let a = 0; a < this.atoms.length; a++) {
      if (!this.holds(a, bit)) continue;
      node = node.step(a);
    }
    if (!node.value) {
      const held: PortSet[] = [];
      for (let a = 0; a < this.atoms.length; a++) if (this.holds(a, bit)) held.push(this.atoms[a].ports);
      node.value = this.layout.world.portSets.intern(unionPortSets(...held));
    }
    return node.value;
  }

  /** The sources allowed on atom `a` by the last classSources (valid until the next call of either). */
  atomSources(a: number): Acc {
    const x = this.ipParts[a];
    if (x.words.length === 0) return this.labelAcc[a];
    const out = (this.atomScratch ??= new Acc(this.layout.nWords));
    out.copyFrom(this.labelAcc[a]);
    const ingress = this.ingressAcc[a].words;
    for (let i = 0; i < x.words.length; i++) out.words[x.lo + i] |= x.words[i] & ingress[x.lo + i];
    out.lo = Math.min(out.lo, x.lo);
    out.hi = Math.max(out.hi, x.lo + x.words.length);
    return out;
  }

  /** Whether atom `a`'s answer of the last classSources holds the source at `bit`. */
  private holds(a: number, bit: number): boolean {
    const x = this.ipParts[a];
    const w = (bit >>> 5) - x.lo;
    const viaIp = w >= 0 && w < x.words.length && (x.words[w] & (1 << (bit & 31))) !== 0 && this.ingressAcc[a].has(bit);
    return viaIp || this.labelAcc[a].has(bit);
  }
}

/**
 * The source classes allowed to reach the pods of one class, with their ports when no port is given.
 * Computed with the world's bitsets: a few word passes whatever the number of sources. `evaluator`
 * (of this world) may be one kept for many queries.
 */
export function allowedSourceClasses(
  world: World,
  target: PodClass,
  port?: { port: number; protocol: Protocol },
  evaluator = new Evaluator(layoutOf(world)),
): { ids: Int32Array; ports?: PortSet[] } {
  evaluator.labelClass(world.labelClasses[target.labelClass], port);
  const sources = evaluator.classSources(target);
  const ids = evaluator.layout.classesIn(sources);
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
      const members = layout.size[cls.id];
      if (port && !options.visit) {
        // One port: counted with no set built.
        const allowed = evaluator.sourceCount(cls, labelCount);
        pairCount += members * allowed - (members > 0 && evaluator.isSelfSource ? members : 0);
        continue;
      }
      const sources = evaluator.classSources(cls);
      const self = members > 0 && sources.has(layout.start[cls.id]);
      pairCount += members * (sources === evaluator.union ? labelCount : count(sources)) - (self ? members : 0);
      if (options.visit) {
        const allowed = new Map<number, PortSet | true>();
        for (const id of evaluator.layout.classesIn(sources))
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

type DestinationEntry = WorldIndex['egressByDestinationNamespace'] extends Map<string, (infer E)[]> ? E : never;

/**
 * A namespace's egress peers split by an `In` requirement of their pod selector: a pod can only match
 * the peers listed under the value of one of its labels (key, then value), or those without one (`rest`).
 */
interface NarrowedPeers {
  byLabel: Map<string, Map<string, DestinationEntry[]>>;
  rest: DestinationEntry[];
}

const narrowed = new WeakMap<World, Map<string, NarrowedPeers>>();

function narrowedPeers(world: World, namespace: string): NarrowedPeers {
  let byNamespace = narrowed.get(world);
  if (!byNamespace) narrowed.set(world, (byNamespace = new Map()));
  let out = byNamespace.get(namespace);
  if (out) return out;
  out = { byLabel: new Map(), rest: [] };
  for (const entry of world.index.egressByDestinationNamespace.get(namespace) ?? []) {
    const narrowing = entry.peer.pods?.requirements.find((r) => r.operator === 'In');
    if (!narrowing) {
      out.rest.push(entry);
      continue;
    }
    let byValue = out.byLabel.get(narrowing.key);
    if (!byValue) out.byLabel.set(narrowing.key, (byValue = new Map()));
    for (const value of new Set(narrowing.values)) {
      const list = byValue.get(value);
      if (list) list.push(entry);
      else byValue.set(value, [entry]);
    }
  }
  byNamespace.set(namespace, out);
  return out;
}

/** Egress rules (with their policies and ports on the target) whose pod peers admit the pods of a label class. */
function egressRulesAdmitting(
  layout: BitLayout,
  target: PodClass,
): { policy: CompiledPolicy; rule: CompiledRule; ports: PortSet }[] {
  const { world } = layout;
  const out: { policy: CompiledPolicy; rule: CompiledRule; ports: PortSet }[] = [];
  for (const { policy, rule } of world.index.egressToAll) out.push({ policy, rule, ports: layout.ports(rule, target) });
  let seen: Set<CompiledRule> | undefined;
  const { labels } = target;
  const admit = (list: DestinationEntry[]) => {
    for (const { policy, rule, peer } of list) {
      if (peer.pods && !peer.pods.matches(labels)) continue;
      // A rule with two peers that both admit the target counts once (a rule with one peer is met once:
      // its peer is listed under one key, and a pod has one value per key).
      if (rule.peers !== 'all' && rule.peers.length > 1) {
        seen ??= new Set();
        if (seen.has(rule)) continue;
        seen.add(rule);
      }
      out.push({ policy, rule, ports: layout.ports(rule, target) });
    }
  };
  const peers = narrowedPeers(world, target.namespace);
  admit(peers.rest);
  // A peer whose selector requires key In (values) can only admit a pod carrying one of those values
  // (compared as text, as the selector compares them).
  for (const [key, byValue] of peers.byLabel) {
    if (!Object.prototype.hasOwnProperty.call(labels, key)) continue;
    const list = byValue.get(String(labels[key]));
    if (list) admit(list);
  }
  return out;
}
