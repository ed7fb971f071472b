/**
 * The class machinery of the diff engine: pods of both worlds grouped by their classes in each, port
 * sets as small numbers, one world's answers for one class as a column, the decisions between
 * classes shared by the pairs that read the same rules, and changed pairs collected into blocks.
 */
import type { CompiledPolicy, PodClass, PodInfo, World } from './world.js';
import { isSameDirection } from './apply.js';
import type { ChangeBlock } from './diff.js';
import { portSetKey } from './diff-groups.js';
import type { Decision, PodRef, PortSet } from './model.js';
import { keyOf } from './model.js';
import { emptyPortSet, intersectPortSets, isEmptyPortSet, subtractPortSets } from './ports.js';
import { analysePair, decideOnAllPorts } from './evaluate.js';
import { allowedSourceClasses } from './matrix.js';
import { allowedDestinations, ingressRulesAdmittingClass } from './outbound.js';
import { tierSourceClasses } from './tier-matrix.js';

/** A pod of either world: its info in each (undefined: not in that world), and whether the change can touch it. */
export interface JointPod {
  ref: PodRef;
  was?: PodInfo;
  now?: PodInfo;
  /** The change can touch what reaches the pod (ingress), what it reaches (egress). */
  isAffectedIn: boolean;
  isAffectedOut: boolean;
}

/** Pods alike in both worlds at one end of the pairs: same class before, same class after, same scope port. */
export interface PodGroup {
  id: number;
  classBefore: number;
  classAfter: number;
  /** The scope's port on these pods in each world (a name resolves per pod), as a port set id; undefined: every port. */
  portBefore?: number;
  portAfter?: number;
  isAffected: boolean;
  pods: PodRef[];
}

/** Groups pods by their classes in both worlds (and whatever `extra` tells apart), in first-seen order. */
export function groupPods(
  pods: JointPod[],
  isAffected: (p: JointPod) => boolean,
  extra: (p: JointPod) => string,
): { groups: PodGroup[]; groupOf: Map<PodRef, number> } {
  const byKey = new Map<string, PodGroup>();
  const groups: PodGroup[] = [];
  const groupOf = new Map<PodRef, number>();
  for (const p of pods) {
    const classBefore = p.was?.classId ?? -1;
    const classAfter = p.now?.classId ?? -1;
    const affected = isAffected(p);
    const key = `${classBefore} ${classAfter} ${affected ? 1 : 0} ${extra(p)}`;
    let group = byKey.get(key);
    if (!group) {
      group = { id: groups.length, classBefore, classAfter, isAffected: affected, pods: [] };
      byKey.set(key, group);
      groups.push(group);
    }
    group.pods.push(p.ref);
    groupOf.set(p.ref, group.id);
  }
  return { groups, groupOf };
}

/** Port sets of both worlds as small numbers: equal sets, equal numbers (0: empty). */
export class PortSetIds {
  private readonly byKey = new Map<string, number>();
  private readonly ids = new Map<PortSet, number>();
  /** Id -> a port set with it. */
  readonly sets: PortSet[] = [emptyPortSet()];
  /** (id, scope port id) -> id of their intersection. */
  private readonly within = new Map<number, number>();

  id(ports: PortSet | undefined): number {
    if (!ports) return 0;
    let id = this.ids.get(ports);
    if (id === undefined) {
      const key = isEmptyPortSet(ports) ? '' : portSetKey(ports);
      id = key === '' ? 0 : this.byKey.get(key);
      if (id === undefined) {
        this.byKey.set(key, (id = this.sets.length));
        this.sets.push(ports);
      }
      this.ids.set(ports, id);
    }
    return id;
  }

  /** The id of the ports of `id` that are also in `scope` (an id); `id` itself without a scope. */
  intersect(id: number, scope: number | undefined): number {
    if (scope === undefined || id === 0) return id;
    const key = id * 65536 + scope;
    let out = this.within.get(key);
    if (out === undefined) this.within.set(key, (out = this.id(intersectPortSets(this.sets[id], this.sets[scope]))));
    return out;
  }
}

/** The port set id each class of one world allows, from (or to) one class of it: filled per query, cleared after. */
export class Column {
  private readonly ids: Int32Array;
  private filled: ArrayLike<number> = [];

  constructor(
    size: number,
    private readonly portIds: PortSetIds,
  ) {
    this.ids = new Int32Array(size);
  }

  fill(answer: { ids: ArrayLike<number>; ports?: PortSet[] } | undefined): void {
    for (let i = 0; i < this.filled.length; i++) this.ids[this.filled[i]] = 0;
    this.filled = answer?.ids ?? [];
    for (let i = 0; i < this.filled.length; i++) this.ids[this.filled[i]] = this.portIds.id(answer!.ports![i]);
  }

  at(classId: number): number {
    return classId < 0 ? 0 : this.ids[classId];
  }
}

/** The source classes allowed into a class, with their ports (cluster tiers: their own evaluator). */
export function sourcesInto(world: World, classId: number) {
  if (classId < 0) return undefined;
  const cls = world.classes[classId];
  return world.tiers ? tierSourceClasses(world, cls) : allowedSourceClasses(world, cls);
}

/** The destination classes a class may reach, with their ports. */
export function destinationsFrom(world: World, classId: number) {
  return classId < 0 ? undefined : allowedDestinations(world, world.classes[classId]);
}

/**
 * The decisions of one world between classes, one object per distinct answer. A pair's answer reads
 * the destination's ingress rules against the source and the source's egress rules against the
 * destination: the classes' label classes (namespace, labels, named ports), their addresses only when
 * one of those rules has an ipBlock peer, and the cluster tiers between their tier classes. Pairs
 * alike in these share one decision, worked out once.
 */
export class Decisions {
  private readonly byKey = new Map<string, { decision: Decision; ports: PortSet }>();
  private readonly ids = new Map<Decision, number>();
  private readonly readsAddresses = { ingress: new Map<unknown, boolean>(), egress: new Map<unknown, boolean>() };

  constructor(private readonly world: World) {}

  of(source: number, target: number): Decision {
    return this.answer(source, target).decision;
  }

  /** The ports allowed from one class to another. */
  ports(source: number, target: number): PortSet {
    return source < 0 || target < 0 ? emptyPortSet() : this.answer(source, target).ports;
  }

  private answer(source: number, target: number): { decision: Decision; ports: PortSet } {
    const { world } = this;
    const [s, t] = [world.classes[source], world.classes[target]];
    const sourceAddresses = this.reads(t.ingressPolicies, 'ingress') ? s.ipSignature : -1;
    const targetAddresses = this.reads(s.egressPolicies, 'egress') ? t.ipSignature : -1;
    const tiers = world.tiers ? ` ${world.tiers.classOf[source]} ${world.tiers.classOf[target]}` : '';
    const key = `${s.labelClass} ${t.labelClass} ${sourceAddresses} ${targetAddresses}${tiers}`;
    let answer = this.byKey.get(key);
    if (!answer) {
      answer = decideOnAllPorts(analysePair(world, s, t));
      this.byKey.set(key, answer);
      this.ids.set(answer.decision, this.ids.size + 1);
    }
    return answer;
  }

  /** A number per decision object (0: none). */
  id(decision: Decision | undefined): number {
    return decision ? this.ids.get(decision)! : 0;
  }

  /** Whether some rule of these policies in this direction has an ipBlock peer (memoised per policy list). */
  private reads(policies: CompiledPolicy[], direction: 'ingress' | 'egress'): boolean {
    const memo = this.readsAddresses[direction];
    let reads = memo.get(policies);
    if (reads === undefined) {
      reads = policies.some((p) =>
        (p[direction] ?? []).some((r) => r.peers !== 'all' && r.peers.some((peer) => peer.kind === 'ipBlock')),
      );
      memo.set(policies, reads);
    }
    return reads;
  }
}

/** A block being filled: the pod lists of the groups at its open end, joined when it is closed. */
interface OpenBlock {
  block: ChangeBlock;
  lists: PodRef[][];
  self: PodRef[][];
}

/**
 * Collects the changed group pairs around one group (the block's fixed end) into blocks: one per
 * distinct answer (ports and decisions before and after), its other end the groups that have it.
 */
export class BlockCollector {
  readonly blocks: ChangeBlock[] = [];
  private open = new Map<string, OpenBlock>();
  private isOpenAtSource = true;

  constructor(
    private readonly ids: PortSetIds,
    readonly decisions: [Decisions, Decisions],
  ) {}

  /** Starts the blocks around one group: its pods are the destinations (`to`) or the sources (`from`). */
  start(fixed: 'to' | 'from'): void {
    this.close();
    this.isOpenAtSource = fixed === 'to';
  }

  /**
   * Adds the pairs from `s` to `t` (their port set ids in scope before and after; `self`: pods at both
   * ends, `count`: the pairs) to the block of their answer.
   */
  add(s: PodGroup, t: PodGroup, was: number, now: number, self: PodRef[], count: number): void {
    const [before, after] = this.decisions;
    const decisionBefore = was === 0 ? undefined : before.of(s.classBefore, t.classBefore);
    const decisionAfter = now === 0 ? undefined : after.of(s.classAfter, t.classAfter);
    const key = `${was} ${now} ${before.id(decisionBefore)} ${after.id(decisionAfter)}`;
    let open = this.open.get(key);
    if (!open) {
      const [beforePorts, afterPorts] = [this.ids.sets[was], this.ids.sets[now]];
      const block: ChangeBlock = {
        from: this.isOpenAtSource ? [] : s.pods,
        to: this.isOpenAtSource ? t.pods : [],
        count: 0,
        before: beforePorts,
        after: afterPorts,
        lost: subtractPortSets(beforePorts, afterPorts),
        gained: subtractPortSets(afterPorts, beforePorts),
      };
      if (decisionBefore) block.decisionBefore = decisionBefore;
      if (decisionAfter) block.decisionAfter = decisionAfter;
      this.open.set(key, (open = { block, lists: [], self: [] }));
      this.blocks.push(block);
    }
    open.lists.push(this.isOpenAtSource ? s.pods : t.pods);
    if (self.length > 0) open.self.push(self);
    open.block.count += count;
  }

  /** Joins the open ends of the blocks around the last group (one list: shared, not copied). */
  close(): ChangeBlock[] {
    for (const { block, lists, self } of this.open.values()) {
      const pods = lists.length === 1 ? lists[0] : lists.flat();
      if (this.isOpenAtSource) block.from = pods;
      else block.to = pods;
      if (self.length > 0) block.both = self.flat();
    }
    this.open = new Map();
    return this.blocks;
  }
}

/**
 * The destinations whose answer from an affected source may differ, found without asking every
 * destination. For a destination the change leaves alone (the same pod, labels and namespace labels,
 * the same policies selecting it for ingress, none of them changed: AffectedPods), the answer from a
 * source reads the source's egress rules against it and its ingress rules against the source. When
 * the source's egress policies ask the same in both worlds, only the second part can differ, and
 * only through the ingress rules that admit the source in one world and not in the other: the
 * destinations are those the policies of these rules select. Not with cluster tiers (a source's tier
 * class may change what any tier rule does to it), nor for a pod of one world only.
 */
export class SourceNarrowing {
  /** Per world: class id -> the unaffected destination groups of that class. */
  private readonly groupsByClass: [Map<number, PodGroup[]>, Map<number, PodGroup[]>] = [new Map(), new Map()];
  /** Per world: policy key -> the classes it selects for ingress (made on first use). */
  private readonly selected: (Map<string, number[]> | undefined)[] = [undefined, undefined];

  constructor(
    private readonly worlds: [World, World],
    unaffectedTargets: PodGroup[],
  ) {
    for (const t of unaffectedTargets) {
      for (const [which, id] of [t.classBefore, t.classAfter].entries()) {
        if (id < 0) continue;
        const list = this.groupsByClass[which].get(id);
        if (list) list.push(t);
        else this.groupsByClass[which].set(id, [t]);
      }
    }
  }

  /** The unaffected destination groups the answer from `s` may differ to, in group order; undefined: any of them. */
  targetsOf(s: PodGroup): PodGroup[] | undefined {
    const [before, after] = this.worlds;
    if (before.tiers || after.tiers || s.classBefore < 0 || s.classAfter < 0) return undefined;
    const [was, now] = [before.classes[s.classBefore], after.classes[s.classAfter]];
    if (!isSameEgress(was.egressPolicies, now.egressPolicies)) return undefined;
    const [rulesBefore, rulesAfter] = [admittingRules(before, was), admittingRules(after, now)];
    const policies = new Set<string>();
    for (const [rule, policy] of rulesBefore) if (!rulesAfter.has(rule)) policies.add(policy);
    for (const [rule, policy] of rulesAfter) if (!rulesBefore.has(rule)) policies.add(policy);
    const found = new Set<PodGroup>();
    for (const which of [0, 1]) {
      const selected = this.selectedIn(which);
      for (const policy of policies)
        for (const id of selected.get(policy) ?? [])
          for (const t of this.groupsByClass[which].get(id) ?? []) found.add(t);
    }
    return [...found].sort((x, y) => x.id - y.id);
  }

  private selectedIn(which: number): Map<string, number[]> {
    let selected = this.selected[which];
    if (!selected) {
      selected = new Map();
      for (const cls of this.worlds[which].classes) {
        for (const policy of cls.ingressPolicies) {
          const key = keyOf(policy.ref);
          const list = selected.get(key);
          if (list) list.push(cls.id);
          else selected.set(key, [cls.id]);
        }
      }
      this.selected[which] = selected;
    }
    return selected;
  }
}

/** The ingress rules whose peers admit a class: rule key (policy and index) -> policy key. */
function admittingRules(world: World, cls: PodClass): Map<string, string> {
  const out = new Map<string, string>();
  for (const { policy, rule } of ingressRulesAdmittingClass(world, cls))
    out.set(`${keyOf(policy.ref)} ${rule.ref.index}`, keyOf(policy.ref));
  return out;
}

/** Whether two lists of egress policies (of one pod in two worlds) are the same policies asking the same. */
function isSameEgress(was: CompiledPolicy[], now: CompiledPolicy[]): boolean {
  if (was.length !== now.length) return false;
  const byKey = new Map(now.map((p) => [keyOf(p.ref), p.source]));
  return was.every((p) => {
    const other = byKey.get(keyOf(p.ref));
    return other !== undefined && (other === p.source || isSameDirection(p.source, other, 'egress'));
  });
}
