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
import { Acc as Accumulator, count, layoutOf } from './layout.js';
import type { ClassMatrix, MatrixOptions } from './matrix.js';
import { Evaluator } from './matrix.js';
import type { PortSet, Protocol } from './model.js';
import { emptyPortSet, portSetOf, unionPortSets } from './ports.js';
import { segmentAt } from './tier-sides.js';
import { tierGroups, tierSideBetween } from './tier-world.js';
import type { TierEndpoint } from './tiers.js';
import type { TierRule } from './tiers-compile.js';
import type { PodClass, TierWorld, World } from './world.js';

/** Full-width masks of sources by what the tiers say toward one tier class of targets at one point. */
interface Masks {
  acceptIn: Int32Array;
  denyIn: Int32Array;
  baselineDenyIn: Int32Array;
  acceptOut: Int32Array;
  denyOut: Int32Array;
  baselineDenyOut: Int32Array;
  /** No tier rule says anything at this point: v1 alone decides. */
  silent: boolean;
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

/** Answers targets of a tier world class by class, reusing the v1 evaluator and memoised masks. */
class TierEvaluator {
  readonly evaluator: Evaluator;
  private readonly tw: TierWorld;
  private readonly tierBits = new Map<string, Bits>();
  private readonly masks = new Map<string, Masks>();
  private readonly egressOpen: Int32Array;
  private readonly all: Int32Array;
  /** Per atom of the last class: the sources finally allowed. */
  final: Acc[] = [];
  readonly union: Acc;
  private readonly portsByAtoms = new Map<string, PortSet>();

  constructor(readonly layout: Layout) {
    this.evaluator = new Evaluator(layout, true);
    this.tw = layout.world.tiers!;
    this.egressOpen = this.full(layout.egressOpen);
    this.all = this.full(layout.all);
    this.union = new Accumulator(layout.nWords);
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

  /** What the tiers say about every tier class of sources toward `target`'s tier class, at `point`. */
  private masksAt(target: number, point: Point): Masks {
    const key = `${target}|${point.key}`;
    let m = this.masks.get(key);
    if (m) return m;
    const n = this.layout.nWords;
    m = {
      acceptIn: new Int32Array(n),
      denyIn: new Int32Array(n),
      baselineDenyIn: new Int32Array(n),
      acceptOut: new Int32Array(n),
      denyOut: new Int32Array(n),
      baselineDenyOut: new Int32Array(n),
      silent: true,
    };
    const put = (into: Int32Array, bits: Bits) => {
      for (let i = 0; i < bits.words.length; i++) into[bits.lo + i] |= bits.words[i];
    };
    // Sources grouped by what the answer depends on: the rules matching them (ingress), the policies
    // selecting them (egress).
    for (const direction of ['ingress', 'egress'] as const) {
      const grouping = direction === 'ingress' ? 'otherIn' : 'subjectOut';
      tierGroups(this.tw, grouping).forEach((group, g) => {
        const side = tierSideBetween(this.tw, direction, group.rep, target);
        if (!side) return;
        const admin = segmentAt(side.admin, point.protocol, point.port);
        const action = admin?.hit.action;
        const isIn = direction === 'ingress';
        const bits = () => this.bitsOf(grouping, g, group.classes);
        if (action === 'Accept') put(isIn ? m.acceptIn : m.acceptOut, bits());
        else if (action === 'Deny') put(isIn ? m.denyIn : m.denyOut, bits());
        else if (segmentAt(side.baseline, point.protocol, point.port)?.hit.action === 'Deny')
          put(isIn ? m.baselineDenyIn : m.baselineDenyOut, bits());
        else if (!action) return;
        m.silent = false;
      });
    }
    this.masks.set(key, m);
    return m;
  }

  /** The label-class part (v1), then call classSources for each class of the label class. */
  labelClass(classes: PodClass[], port?: { port: number; protocol: Protocol }): void {
    const extra = port ? [] : tierPortSets(this.tw, [this.tw.endpoints[this.tw.classOf[classes[0].id]]]);
    this.evaluator.labelClass(classes, port, extra);
    // Atoms are numbered per label class: sets of them name other ports in the next one.
    this.portsByAtoms.clear();
  }

  /** The sources allowed to reach the pods of `target` (of the last label class), per atom and in all. */
  classSources(target: PodClass): Acc {
    const { layout, evaluator } = this;
    const n = layout.nWords;
    const atoms = evaluator.atoms;
    while (this.final.length < atoms.length) this.final.push(new Accumulator(n));
    const isolated = target.ingressPolicies.length > 0;
    const tierClass = this.tw.classOf[target.id];
    const union = this.union;
    union.clear();
    for (let a = 0; a < atoms.length; a++) {
      const out = this.final[a];
      out.clear();
      const ingress = evaluator.ingressAcc[a].words;
      const egress = evaluator.egressAcc[a].words;
      const ip = layout.ipEgress(target, atoms[a].point);
      const m = this.masksAt(tierClass, atoms[a].point);
      const w = out.words;
      let lo = n;
      let hi = 0;
      for (let i = 0; i < n; i++) {
        const j = i - ip.lo;
        const v1Out = egress[i] | (j >= 0 && j < ip.words.length ? ip.words[j] : 0);
        let word: number;
        if (m.silent) word = ingress[i] & v1Out;
        else {
          const undecidedIn = ~(m.acceptIn[i] | m.denyIn[i]);
          const inWord = m.acceptIn[i] | (undecidedIn & ingress[i] & ~(isolated ? 0 : m.baselineDenyIn[i]));
          const undecidedOut = ~(m.acceptOut[i] | m.denyOut[i]);
          const outWord = m.acceptOut[i] | (undecidedOut & v1Out & ~(this.egressOpen[i] & m.baselineDenyOut[i]));
          word = inWord & outWord;
        }
        word &= this.all[i];
        w[i] = word;
        if (word !== 0) {
          if (i < lo) lo = i;
          hi = i + 1;
          union.words[i] |= word;
        }
      }
      out.lo = lo;
      out.hi = hi;
      if (lo < union.lo) union.lo = lo;
      if (hi > union.hi) union.hi = hi;
    }
    return union;
  }

  /** The ports allowed to the source at `bit` by the last classSources. */
  portsAt(bit: number): PortSet {
    const atoms = this.evaluator.atoms;
    const held: number[] = [];
    for (let a = 0; a < atoms.length; a++) if (this.final[a].has(bit)) held.push(a);
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
  const sources = evaluator.classSources(target);
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
      const sources = evaluator.classSources(cls);
      const members = layout.size[cls.id];
      const self = members > 0 && sources.has(layout.start[cls.id]);
      pairCount += members * count(sources) - (self ? members : 0);
      if (options.visit) {
        const allowed = new Map<number, PortSet | true>();
        for (const id of layout.classesIn(sources)) allowed.set(id, port ? true : evaluator.portsAt(layout.start[id]));
        options.visit(cls, allowed);
      }
    }
    if (options.progress && !options.progress(lc + 1, total)) return { pairCount, complete: false };
  }
  return { pairCount, complete: true };
}
