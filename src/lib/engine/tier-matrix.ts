/**
 * The inbound view with cluster tiers, on the world's bitsets: per target class and atom of ports,
 * NetworkPolicy v1's ingress and egress source sets (matrix.ts's Evaluator, kept apart) combined with
 * what the tiers say about each tier class of sources, a word of 32 sources at a time:
 *
 *   ingress = adminAccept | (undecided & v1Ingress & ~(baselineDeny unless v1 isolates the target))
 *   egress  = adminAccept | (undecided & v1Egress  & ~(baselineDeny & sources v1 does not isolate))
 *
 * where undecided is neither an Admin Accept nor an Admin Deny (a Pass is undecided), per direction.
 */
import type { Acc, Bits, Layout, Point } from './layout.js';
import { Acc as Accumulator, count, countAdded, hasBit, layoutOf } from './layout.js';
import type { ClassMatrix, MatrixOptions } from './matrix.js';
import { atomsOf, Evaluator, type Atom } from './matrix.js';
import type { PortSet, Protocol } from './model.js';
import { emptyPortSet, portSetOf, unionPortSets } from './ports.js';
import { segmentAt } from './tier-sides.js';
import { tierGroups, tierSideBetween } from './tier-world.js';
import type { TierEndpoint } from './tiers.js';
import type { TierRule } from './tiers-compile.js';
import type { PodClass, TierWorld, World } from './world.js';

/**
 * What the tiers say toward one target signature at one tier atom, as full-width masks of sources
 * (`keep*` are the sources the tiers leave to NetworkPolicy v1 for the direction):
 *
 *   keepIn         = ~(adminAccept | adminDeny | baselineDeny)   (targets v1 does not isolate for ingress)
 *   keepInIsolated = ~(adminAccept | adminDeny)                  (v1 isolates the target: no Baseline)
 *   keepOut        = ~(adminAccept | adminDeny | (baselineDeny & sources v1 does not isolate))
 */
interface Masks {
  acceptIn: Int32Array;
  /** The words where acceptIn has bits: [acceptInLo, acceptInHi) (elsewhere only v1's ingress can admit). */
  acceptInLo: number;
  acceptInHi: number;
  keepIn: Int32Array;
  keepInIsolated: Int32Array;
  acceptOut: Int32Array;
  keepOut: Int32Array;
  /** No tier rule says anything at this point: v1 alone decides. */
  silent: boolean;
}

/**
 * Targets alike for the tiers (the policies selecting them for ingress, the egress rules matching
 * them, their port names): the ports where what the tiers say toward them changes, cut into tier
 * atoms, and the masks of each atom, computed when first asked.
 */
interface TargetTiers {
  /** The ports of every tier segment toward these targets: the cuts the port atoms need. */
  cuts: PortSet[];
  atoms: Atom[];
  masks: (Masks | undefined)[];
}

/** The ports of every tier rule on destinations like these (named ports resolve there): the cuts atoms need. */
function tierPortSets(tw: TierWorld, destinations: readonly TierEndpoint[]): PortSet[] {
  const sets: PortSet[] = [];
  const add = (rule: TierRule) => {
    if (rule.ports === 'all') return;
    for (const p of rule.ports) {
      if (!('namedPort' in p)) sets.push(portSetOf(p.protocol, p.from, p.to));
      else
        for (const endpoint of destinations)
          for (const c of endpoint.ports) if (c.name === p.namedPort) sets.push(portSetOf(c.protocol, c.port, c.port));
    }
  };
  for (const policy of tw.set.policies) for (const rule of [...policy.ingress, ...policy.egress]) add(rule);
  return sets;
}

const cuts = new WeakMap<TierWorld, PortSet[]>();

/** The ports of every tier rule on any destination: where the outbound view must cut the port space. */
export function tierPortCuts(tw: TierWorld): PortSet[] {
  let sets = cuts.get(tw);
  if (!sets) cuts.set(tw, (sets = tierPortSets(tw, tw.endpoints)));
  return sets;
}

/** Sources grouped by what the answer depends on: the rules matching them (ingress), the policies selecting them (egress). */
const SOURCE_GROUPING = { ingress: 'otherIn', egress: 'subjectOut' } as const;

/**
 * Answers targets of a tier world label class by label class, reusing the v1 evaluator. Per atom of
 * ports, with the masks of the target's tier atom:
 *
 *   labelPart = inWord & (acceptOut | (v1Egress & keepOut))   where inWord = acceptIn | (v1Ingress & keepIn)
 *   ipKeep    = inWord & keepOut
 *   allowed   = labelPart | (ipKeep & ipEgress(class))
 *
 * (the formula of the header with v1's egress split into its label part and the ipBlock part of each
 * class), so only the ipBlock part is per class.
 */
class TierEvaluator {
  readonly evaluator: Evaluator;
  private readonly tw: TierWorld;
  private readonly tierBits = new Map<string, Bits>();
  /** Class id -> its target signature (tier classes whose tier sides toward them are alike). */
  private readonly targetOf: Int32Array;
  private readonly targets: TargetTiers[] = [];
  private readonly egressOpen: Int32Array;
  /** Per atom of the last label class and target signature: the sources allowed by labels, and the ipBlock keep. */
  private readonly labelPart: Acc[] = [];
  private readonly ipKeep: Acc[] = [];
  /** Per atom: the ipKeep in use (ipKeep[a], or v1's ingress when the tiers are silent there). */
  private keeps: Acc[] = [];
  /** The union of labelPart over the atoms, and its count. */
  private readonly labelUnion: Acc;
  private labelCount = 0;
  /** What labelPart was computed for: the target signature and v1 isolation, or -1 after labelClass. */
  private computedFor = -1;
  /** Set by sourceCount. */
  isSelfSource = false;
  private ipParts: Bits[] = [];
  private readonly scratch: Acc;
  private readonly portsByAtoms = new Map<string, PortSet>();

  constructor(readonly layout: Layout) {
    this.evaluator = new Evaluator(layout, true);
    this.tw = layout.world.tiers!;
    this.egressOpen = this.full(layout.egressOpen);
    this.labelUnion = new Accumulator(layout.nWords);
    this.scratch = new Accumulator(layout.nWords);
    this.targetOf = new Int32Array(layout.world.classes.length);
    tierGroups(this.tw, 'subjectIn+otherOut+ports').forEach((group, g) => {
      for (const id of group.classes) this.targetOf[id] = g;
    });
  }

  private full(bits: Bits): Int32Array {
    const out = new Int32Array(this.layout.nWords);
    out.set(bits.words, bits.lo);
    return out;
  }

  private bitsOf(grouping: string, group: number, classes: number[]): Bits {
    const key = `${grouping}/${group}`;
    let bits = this.tierBits.get(key);
    if (!bits) this.tierBits.set(key, (bits = this.layout.ofClasses(classes)));
    return bits;
  }

  /** The tier atoms of one target signature: the segments of every tier side toward it, cut. */
  private targetTiers(t: number): TargetTiers {
    let tt = this.targets[t];
    if (tt) return tt;
    const target = tierGroups(this.tw, 'subjectIn+otherOut+ports')[t].rep;
    const sets = new Set<PortSet>();
    const interned = this.layout.world.portSets;
    for (const direction of ['ingress', 'egress'] as const)
      for (const group of tierGroups(this.tw, SOURCE_GROUPING[direction])) {
        const side = tierSideBetween(this.tw, direction, group.rep, target);
        if (!side) continue;
        for (const s of [...side.admin, ...side.baseline]) sets.add(interned.intern(s.ports));
      }
    const cutsOf = [...sets];
    tt = { cuts: cutsOf, atoms: atomsOf(cutsOf), masks: [] };
    this.targets[t] = tt;
    return tt;
  }

  /** The masks of the tier atom of `tt` that holds `point`. */
  private masksAt(t: number, point: Point): Masks {
    const tt = this.targetTiers(t);
    const a = tt.atoms.findIndex((atom) =>
      atom.ports[point.protocol].some((r) => r.from <= point.port && point.port <= r.to),
    );
    return (tt.masks[a] ??= this.masksOf(tierGroups(this.tw, 'subjectIn+otherOut+ports')[t].rep, tt.atoms[a].point));
  }

  /** What the tiers say about every group of sources toward the tier class `target`, at `point`. */
  private masksOf(target: number, point: Point): Masks {
    const n = this.layout.nWords;
    const acceptIn = new Int32Array(n);
    const denyIn = new Int32Array(n);
    const baselineDenyIn = new Int32Array(n);
    const acceptOut = new Int32Array(n);
    const denyOut = new Int32Array(n);
    const baselineDenyOut = new Int32Array(n);
    let silent = true;
    const put = (into: Int32Array, bits: Bits) => {
      for (let i = 0; i < bits.words.length; i++) into[bits.lo + i] |= bits.words[i];
    };
    for (const direction of ['ingress', 'egress'] as const) {
      const grouping = SOURCE_GROUPING[direction];
      const isIn = direction === 'ingress';
      tierGroups(this.tw, grouping).forEach((group, g) => {
        const side = tierSideBetween(this.tw, direction, group.rep, target);
        if (!side) return;
        const action = segmentAt(side.admin, point.protocol, point.port)?.hit.action;
        const bits = () => this.bitsOf(grouping, g, group.classes);
        if (action === 'Accept') put(isIn ? acceptIn : acceptOut, bits());
        else if (action === 'Deny') put(isIn ? denyIn : denyOut, bits());
        else if (segmentAt(side.baseline, point.protocol, point.port)?.hit.action === 'Deny')
          put(isIn ? baselineDenyIn : baselineDenyOut, bits());
        else if (!action) return;
        silent = false;
      });
    }
    const keepIn = new Int32Array(n);
    const keepInIsolated = new Int32Array(n);
    const keepOut = new Int32Array(n);
    const open = this.egressOpen;
    let acceptInLo = n;
    let acceptInHi = 0;
    for (let i = 0; i < n; i++) {
      keepInIsolated[i] = ~(acceptIn[i] | denyIn[i]);
      keepIn[i] = keepInIsolated[i] & ~baselineDenyIn[i];
      keepOut[i] = ~(acceptOut[i] | denyOut[i] | (open[i] & baselineDenyOut[i]));
      if (acceptIn[i] === 0) continue;
      if (i < acceptInLo) acceptInLo = i;
      acceptInHi = i + 1;
    }
    return { acceptIn, acceptInLo, acceptInHi, keepIn, keepInIsolated, acceptOut, keepOut, silent };
  }

  /** The label-class part (v1), cut also where the tiers toward its targets change. */
  labelClass(classes: PodClass[], port?: { port: number; protocol: Protocol }): void {
    const extra: PortSet[] = [];
    if (!port) {
      const seen = new Set<number>();
      for (const c of classes) {
        const t = this.targetOf[c.id];
        if (seen.has(t)) continue;
        seen.add(t);
        extra.push(...this.targetTiers(t).cuts);
      }
    }
    this.evaluator.labelClass(classes, port, extra);
    this.computedFor = -1;
    // Atoms are numbered per label class: sets of them name other ports in the next one.
    this.portsByAtoms.clear();
  }

  /** labelPart, ipKeep and their union for the targets of one signature (and v1 isolation) of the last label class. */
  private computeLabelPart(t: number, isolated: boolean): void {
    const key = t * 2 + (isolated ? 1 : 0);
    if (this.computedFor === key) return;
    this.computedFor = key;
    const { evaluator } = this;
    const n = this.layout.nWords;
    const atoms = evaluator.atoms;
    while (this.labelPart.length < atoms.length) {
      this.labelPart.push(new Accumulator(n));
      this.ipKeep.push(new Accumulator(n));
    }
    const union = this.labelUnion;
    union.clear();
    this.keeps = [];
    for (let a = 0; a < atoms.length; a++) {
      const ingressAcc = evaluator.ingressAcc[a];
      const egressAcc = evaluator.egressAcc[a];
      const ingress = ingressAcc.words;
      const egress = egressAcc.words;
      const out = this.labelPart[a];
      out.clear();
      const w = out.words;
      const m = this.masksAt(t, atoms[a].point);
      let lo = n;
      let hi = 0;
      if (m.silent) {
        // v1 alone: its ingress AND its egress, where both have bits; ipBlocks keep v1's ingress.
        this.keeps.push(ingressAcc);
        const end = Math.min(ingressAcc.hi, egressAcc.hi);
        for (let i = Math.max(ingressAcc.lo, egressAcc.lo); i < end; i++) {
          const word = ingress[i] & egress[i];
          if (word === 0) continue;
          w[i] = word;
          if (i < lo) lo = i;
          hi = i + 1;
        }
      } else {
        const keep = this.ipKeep[a];
        keep.clear();
        this.keeps.push(keep);
        const k = keep.words;
        const { acceptIn, acceptOut, keepOut } = m;
        const keepIn = isolated ? m.keepInIsolated : m.keepIn;
        let klo = n;
        let khi = 0;
        // inWord is 0 where neither v1's ingress nor an Admin Accept has bits: only their span is read.
        const end = Math.max(ingressAcc.hi, m.acceptInHi);
        for (let i = Math.min(ingressAcc.lo, m.acceptInLo); i < end; i++) {
          const inWord = acceptIn[i] | (ingress[i] & keepIn[i]);
          if (inWord === 0) continue;
          const kw = inWord & keepOut[i];
          if (kw !== 0) {
            k[i] = kw;
            if (i < klo) klo = i;
            khi = i + 1;
          }
          const word = inWord & (acceptOut[i] | (egress[i] & keepOut[i]));
          if (word === 0) continue;
          w[i] = word;
          if (i < lo) lo = i;
          hi = i + 1;
        }
        keep.lo = klo;
        keep.hi = khi;
      }
      out.lo = lo;
      out.hi = hi;
      for (let i = lo; i < hi; i++) union.words[i] |= w[i];
      if (lo < union.lo) union.lo = lo;
      if (hi > union.hi) union.hi = hi;
    }
    this.labelCount = count(union);
  }

  /** The sources allowed to reach the pods of `target` (of the last label class), in all; valid until the next call. */
  classSources(target: PodClass): { sources: Acc; count: number } {
    const { layout, evaluator, scratch } = this;
    const atoms = evaluator.atoms;
    this.computeLabelPart(this.targetOf[target.id], target.ingressPolicies.length > 0);
    this.ipParts = atoms.map((atom) => layout.ipEgress(target, atom.point));
    if (!this.ipParts.some((b) => b.words.length > 0)) return { sources: this.labelUnion, count: this.labelCount };
    scratch.copyFrom(this.labelUnion);
    for (let a = 0; a < atoms.length; a++) {
      const x = this.ipParts[a];
      if (x.words.length === 0) continue;
      const keep = this.keeps[a].words;
      let lo = scratch.lo;
      let hi = scratch.hi;
      for (let i = 0; i < x.words.length; i++) {
        const w = x.lo + i;
        const word = x.words[i] & keep[w];
        if (word === 0) continue;
        scratch.words[w] |= word;
        if (w < lo) lo = w;
        if (w + 1 > hi) hi = w + 1;
      }
      scratch.lo = lo;
      scratch.hi = hi;
    }
    return { sources: scratch, count: count(scratch) };
  }

  /**
   * On one port: how many sources the pods of `target` have (classSources counted without building
   * it); `isSelfSource` then says whether the target's first pod is one of them.
   */
  sourceCount(target: PodClass): number {
    const { layout, evaluator } = this;
    this.computeLabelPart(this.targetOf[target.id], target.ingressPolicies.length > 0);
    const x = layout.ipEgress(target, evaluator.atoms[0].point);
    const keep = this.keeps[0];
    const bit = layout.start[target.id];
    this.isSelfSource = this.labelUnion.has(bit) || (hasBit(x, bit) && keep.has(bit));
    return x.words.length === 0 ? this.labelCount : this.labelCount + countAdded(x, keep, this.labelUnion);
  }

  /** The ports allowed to the source at `bit` by the last classSources: the atoms whose answer holds it. */
  portsAt(bit: number): PortSet {
    const atoms = this.evaluator.atoms;
    const held: number[] = [];
    for (let a = 0; a < atoms.length; a++) {
      const x = this.ipParts[a];
      const w = (bit >>> 5) - x.lo;
      const viaIp = w >= 0 && w < x.words.length && (x.words[w] & (1 << (bit & 31))) !== 0 && this.keeps[a].has(bit);
      if (viaIp || this.labelPart[a].has(bit)) held.push(a);
    }
    const key = held.join(',');
    let ports = this.portsByAtoms.get(key);
    if (!ports) {
      ports = this.layout.world.portSets.intern(
        held.length ? unionPortSets(...held.map((a) => atoms[a].ports)) : emptyPortSet(),
      );
      this.portsByAtoms.set(key, ports);
    }
    return ports;
  }
}

const evaluators = new WeakMap<World, TierEvaluator>();

/** The source classes allowed to reach the pods of one class, with tiers (on a port, or with their ports). */
export function tierSourceClasses(
  world: World,
  target: PodClass,
  port?: { port: number; protocol: Protocol },
): { ids: Int32Array; ports?: PortSet[] } {
  let evaluator = evaluators.get(world);
  if (!evaluator) evaluators.set(world, (evaluator = new TierEvaluator(layoutOf(world))));
  evaluator.labelClass(world.labelClasses[target.labelClass], port);
  const { sources } = evaluator.classSources(target);
  const ids = evaluator.layout.classesIn(sources);
  if (port) return { ids };
  return { ids, ports: Array.from(ids, (id) => evaluator.portsAt(evaluator.layout.start[id])) };
}

/** The whole matrix of a tier world, for one port or all: allowed (source pod, target pod) pairs, a pod to itself not counted. */
export function tierReachabilityMatrix(
  world: World,
  port: { port: number; protocol: Protocol } | undefined,
  options: MatrixOptions,
): ClassMatrix {
  const layout = layoutOf(world);
  const evaluator = new TierEvaluator(layout);
  let pairCount = 0;
  const total = world.labelClasses.length;
  for (let lc = 0; lc < total; lc++) {
    const classes = world.labelClasses[lc];
    evaluator.labelClass(classes, port);
    for (const cls of classes) {
      const members = layout.size[cls.id];
      if (port && !options.visit) {
        // One port: counted with no set built.
        const allowed = evaluator.sourceCount(cls);
        pairCount += members * allowed - (members > 0 && evaluator.isSelfSource ? members : 0);
        continue;
      }
      const { sources, count: allowed } = evaluator.classSources(cls);
      const self = members > 0 && sources.has(layout.start[cls.id]);
      pairCount += members * allowed - (self ? members : 0);
      if (options.visit) {
        const byClass = new Map<number, PortSet | true>();
        for (const id of layout.classesIn(sources)) byClass.set(id, port ? true : evaluator.portsAt(layout.start[id]));
        options.visit(cls, byClass);
      }
    }
    if (options.progress && !options.progress(lc + 1, total)) return { pairCount, complete: false };
  }
  return { pairCount, complete: true };
}
