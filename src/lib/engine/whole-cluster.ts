/**
 * Whole-cluster answers (who-can -A written as a document): most pods are classes of their own when
 * ipBlocks cover pod IPs, so a streamed answer has about one group per pod pair, yet far fewer
 * distinct decisions. Groups alike in what their decision reads share one decision object, so a
 * writer renders each distinct entry once.
 */
import type { ConnectionGroup, ShareGroups, StreamedAnswer } from './answer.js';
import { Decisions } from './diff-classes.js';
import { analysePair, decideOnPort } from './evaluate.js';
import type { Decision } from './model.js';
import { keyOf } from './model.js';
import type { World } from './world.js';

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
  return {
    ...answer,
    shares: answer.shares.map((share) => ({
      subjects: share.subjects,
      compute(): ShareGroups {
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
        return { ...own, decide };
      },
    })),
  };
}
