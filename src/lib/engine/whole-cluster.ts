/**
 * Whole-cluster answers (who-can -A written as a document): most pods are classes of their own when
 * ipBlocks cover pod IPs, so a streamed answer has about one group per pod pair, yet far fewer
 * distinct decisions. Groups alike in what their decision reads share one decision object, so a
 * writer renders each distinct entry once.
 */
import type { ConnectionGroup, ShareGroups, StreamedAnswer } from './answer.js';
import { Decisions } from './diff-classes.js';
import { analysePair, decideOnPort } from './evaluate.js';
import { Acc, hasBit, layoutOf, type Bits, type Layout } from './layout.js';
import { TrieNode } from './number-trie.js';
import type { Decision, PortSet } from './model.js';
import { keyOf } from './model.js';
import type { CompiledPolicy, CompiledRule, World } from './world.js';

/**
 * Distinct decisions kept at once: on the bench's 10k-pod cluster the first 500 targets alone read
 * 81 k (of 847 k groups), and holding them all broke 1 GB; past this many the memo starts over. Targets come workload by workload, so the
 * decisions a target reads were mostly made for the targets just before it.
 */
const DECISION_MEMO_LIMIT = 1 << 13;

/**
 * The decisions of a world between classes, shared by every group alike in what it reads: the key is
 * Decisions' (label classes, the addresses the rules' ipBlock peers read, tier classes) and the port.
 */
class SharedDecisions {
  private keys: Decisions;
  private readonly onPort = new Map<string, Decision>();

  constructor(
    private readonly world: World,
    private readonly limit: number,
  ) {
    this.keys = new Decisions(world);
  }

  /** The decision from pods of class `source` to pods of class `target`, on one port or (absent) all ports. */
  of(
    source: number,
    target: number,
    port?: { port: number; protocol: ConnectionGroup['protocol'] & string },
  ): Decision {
    const allPorts = this.keys.of(source, target);
    // Decisions gives one object per key, numbered: its id stands for the key.
    const id = this.keys.id(allPorts);
    let decision = allPorts;
    if (port) {
      const key = `${id} ${port.port}/${port.protocol}`;
      const known = this.onPort.get(key);
      if (known) decision = known;
      else {
        const { classes } = this.world;
        decision = decideOnPort(analysePair(this.world, classes[source], classes[target]), port.protocol, port.port);
        this.onPort.set(key, decision);
      }
    }
    // Both memos start over together: a key's id is only valid with the Decisions that gave it.
    if (id >= this.limit) {
      this.keys = new Decisions(this.world);
      this.onPort.clear();
    }
    return decision;
  }
}

/** Entry keys handed out at most (past this many a group has none, and its decision is read as usual). */
const ENTRY_LIMIT = 1 << 20;

/** Port sets told apart by identity at most before that memo starts over (the engine interns allowed ones). */
const PORT_IDS_KEPT = 1 << 16;

/** A rule with its number in this world and the pods its peers admit. */
interface RuleBits {
  id: number;
  bits: Bits;
}

/**
 * Entry keys of allowed class pairs (NetworkPolicy v1 only): what an allowed entry of a document says
 * after `from` and `to` is its ports and the rules that admitted it (their policies), and those are
 * decided by the target's named ports, the ports (or port) of the group, the target's ingress rules
 * that admit the source and the source's egress rules that admit the target (evaluate.ts keeps, of
 * those, the rules whose ports meet the allowed ones, in policy order). Which rules admit which pods
 * is read from the matrix's bitsets (layout.ts), a bit test per rule, so pairs alike get one key
 * without a decision: a writer decides and renders once per key.
 */
class EntryKeys {
  private readonly layout: Layout;
  /** Entry keys by path: named ports, port id, ingress rule ids, -1, egress rule ids. */
  private readonly root = new TrieNode<number>();
  private count = 0;
  private readonly rules = new Map<CompiledRule, RuleBits>();
  private readonly rulesOfPolicies = {
    ingress: new Map<CompiledPolicy[], RuleBits[]>(),
    egress: new Map<CompiledPolicy[], RuleBits[]>(),
  };
  private portIds = new Map<PortSet, number>();
  private readonly portTextIds = new Map<string, number>();
  private nextPortId = 0;

  constructor(
    private readonly world: World,
    private readonly classOfPeers: ReadonlyMap<readonly unknown[], number>,
  ) {
    this.layout = layoutOf(world);
  }

  /** The entry key of each allowed group of one target class (-1: none; read its decision). */
  forTarget(target: number): (group: ConnectionGroup) => number {
    const { world, layout } = this;
    const cls = world.classes[target];
    const admitting = this.rulesOf(cls.ingressPolicies, 'ingress');
    const targetBit = layout.start[target];
    const base = this.root.step(cls.namedPorts);
    let lastText = '';
    let lastTextId = -1;
    return (group) => {
      const source = this.classOfPeers.get(group.peers);
      if (source === undefined || this.count >= ENTRY_LIMIT) return -1;
      let portId: number;
      if (group.ports) portId = this.portIdOf(group.ports);
      else {
        if (group.port === undefined) return -1;
        const text = `${group.port}/${group.protocol}/${group.portName}`;
        if (text !== lastText) {
          lastText = text;
          lastTextId = this.portTextIds.get(text) ?? -1;
          if (lastTextId < 0) this.portTextIds.set(text, (lastTextId = this.nextPortId++));
        }
        portId = lastTextId;
      }
      let node = base.step(portId);
      const sourceBit = layout.start[source];
      // Ingress: the target's rules that admit the source; egress: the source's rules that admit the target.
      for (const rule of admitting) if (hasBit(rule.bits, sourceBit)) node = node.step(rule.id);
      node = node.step(-1);
      for (const rule of this.rulesOf(world.classes[source].egressPolicies, 'egress'))
        if (hasBit(rule.bits, targetBit)) node = node.step(rule.id);
      node.value ??= this.count++;
      return node.value;
    };
  }

  /** A port set's number: by identity (allowed port sets are interned), a new number for a new object. */
  private portIdOf(ports: PortSet): number {
    let id = this.portIds.get(ports);
    if (id === undefined) {
      if (this.portIds.size >= PORT_IDS_KEPT) this.portIds = new Map();
      this.portIds.set(ports, (id = this.nextPortId++));
    }
    return id;
  }

  /** The rules of these policies in one direction, in policy order, with the pods each admits. */
  private rulesOf(policies: CompiledPolicy[], direction: 'ingress' | 'egress'): RuleBits[] {
    const memo = this.rulesOfPolicies[direction];
    let list = memo.get(policies);
    if (!list) {
      list = [];
      for (const policy of policies) for (const rule of policy[direction] ?? []) list.push(this.ruleBits(rule));
      memo.set(policies, list);
    }
    return list;
  }

  private ruleBits(rule: CompiledRule): RuleBits {
    let known = this.rules.get(rule);
    if (!known) {
      const { layout } = this;
      let bits = layout.all;
      if (rule.peers !== 'all') {
        // As ruleAdmitsClass: any peer of the rule, read for the rule's policy namespace.
        const acc = new Acc(layout.nWords);
        for (const peer of rule.peers) acc.or(layout.peer(peer, rule.ref.policy.namespace));
        bits = acc.toBits();
      }
      this.rules.set(rule, (known = { id: this.rules.size, bits }));
    }
    return known;
  }
}

/** A share of a whole-cluster answer with entry keys for its allowed groups (shareDecisions). */
export interface KeyedShareGroups extends ShareGroups {
  /**
   * An allowed group's entry key: groups with the same key (>= 0) have entries that say the same after
   * `from` and `to`; -1 when it has none (its decision is read as usual).
   */
  entryOf?(group: ConnectionGroup): number;
}

/**
 * A streamed inbound answer (who-can) whose groups share their decisions across shares: a group
 * whose pods are one whole class on each side (every group of who-can without named sources) gets
 * the decision of its class pair from one memo; any other group keeps the answer's own. `memoLimit`:
 * distinct decisions kept at once (DECISION_MEMO_LIMIT).
 */
export function shareDecisions(
  world: World,
  answer: StreamedAnswer,
  opts: { memoLimit?: number } = {},
): StreamedAnswer {
  if (answer.orientation !== 'inbound') return answer;
  const classOfPeers = new Map<readonly unknown[], number>();
  world.index.memberRefs.forEach((refs, id) => classOfPeers.set(refs, id));
  const shared = new SharedDecisions(world, opts.memoLimit ?? DECISION_MEMO_LIMIT);
  // Cluster tiers add their own rules to an entry: their groups are decided one by one.
  const keys = world.tiers ? undefined : new EntryKeys(world, classOfPeers);
  return {
    ...answer,
    shares: answer.shares.map((share) => ({
      subjects: share.subjects,
      compute(): KeyedShareGroups {
        const own = share.compute();
        const first = share.subjects[0];
        const target = first === undefined ? undefined : world.podsByKey.get(keyOf(first))?.classId;
        const decide = (group: ConnectionGroup): Decision => {
          const source = classOfPeers.get(group.peers);
          // A port name the target lacks (a port-less group with a protocol) keeps its own decision.
          const lacksPort = group.port === undefined && group.protocol !== undefined;
          if (source === undefined || target === undefined || lacksPort) return own.decide(group);
          const port = group.port === undefined ? undefined : { port: group.port, protocol: group.protocol! };
          return shared.of(source, target, port);
        };
        if (!keys || target === undefined) return { ...own, decide };
        return { ...own, decide, entryOf: keys.forTarget(target) };
      },
    })),
  };
}
