/**
 * The shape of every reachability answer, whichever way it looks: who reaches the pods asked about
 * (inbound, who-can) or what they reach (outbound, reachable-from). The pods asked about are the
 * subjects; what reaches them, or what they reach, the peers. Answers are data plus two explicit
 * walks: the pairs (never listed, walked one by one) and a group's decision (computed when asked).
 */
import type { Decision, Peer, PodRef, PortSet, Protocol, Warning } from './model.js';
import { keyOf } from './model.js';

/** Which way an answer looks: inbound (peers are sources) or outbound (peers are destinations). */
export type Orientation = 'inbound' | 'outbound';

/** One source-to-destination answer. */
export interface Connection {
  from: Peer;
  to: Peer;
  /** With a port query: the port number it resolved to on the destination, and its protocol. */
  port?: number;
  protocol?: Protocol;
  /** With a port query by name: that name. */
  portName?: string;
  /** Without a port query: the ports allowed (empty when denied). */
  ports?: PortSet;
  decision: Decision;
}

/** Every subject pod of a group with every peer pod of it: one engine answer shared by all their pairs. */
export interface ConnectionGroup {
  /** Pods asked about (one pod class, one resolved port); groups of one subject class share this array. */
  subjects: PodRef[];
  /**
   * Pods on the other side: one pod class, or (who-can without named sources) the classes of one label
   * class that the answer does not tell apart, in class order; a pod is never paired with itself.
   */
  peers: PodRef[];
  port?: number;
  protocol?: Protocol;
  portName?: string;
  /** Without a port query: the ports allowed. */
  ports?: PortSet;
  /** Which decision of its answer the group's pairs share: what `decide` looks up (a copy of the group keeps it). */
  decisionId: number;
}

/**
 * An answer, as data: the subject pods found, the peer pods as groups (each one engine answer for many
 * pod pairs), the address blocks per subject, and warnings. Computed only when asked, explicitly: the
 * pairs (`connectionsOf` walks them one by one) and a group's decision (`decide`; a subject may have
 * tens of thousands of peer groups, and a caller that counts or lists never reads why).
 */
export interface ReachAnswer {
  orientation: Orientation;
  /** The pods asked about that were found, in query order. */
  subjects: PodRef[];
  /** Allowed peer pods, per subject class. */
  groups: ConnectionGroup[];
  /** Denied peer pods (only when denials were asked for). */
  deniedGroups: ConnectionGroup[];
  /** Address blocks allowed (inbound: sources; outbound: destinations), in subject order. */
  external: Connection[];
  /** Address blocks denied (when denials were asked for, or one was the question), in subject order. */
  deniedExternal: Connection[];
  warnings: Warning[];
  /** The decision a group's pairs share, with the policies and rules responsible (computed on the first call, then kept). */
  decide(group: ConnectionGroup): Decision;
}

/** The groups of one subject share of a streamed answer, with the decisions of their own. */
export interface ShareGroups {
  groups: ConnectionGroup[];
  deniedGroups: ConnectionGroup[];
  /** As ReachAnswer.decide, for these groups (kept while the share is). */
  decide(group: ConnectionGroup): Decision;
}

/** Subject pods that share their groups (one subject class, one port), the groups computed when asked. */
export interface LazyShare {
  subjects: PodRef[];
  compute(): ShareGroups;
}

/**
 * An answer whose groups are not held: each share computes them when a walk (connectionsOf) reaches
 * its first subject pod, and the walk drops them after its last. Memory is bounded by the world and
 * the shares open at once, not by the pairs: what whole-cluster documents are written from.
 */
export interface StreamedAnswer extends Omit<ReachAnswer, 'groups' | 'deniedGroups' | 'decide'> {
  /** In the order of their first subject pod (the order of a ReachAnswer's groups). */
  shares: LazyShare[];
}

/** True for an answer that computes its groups as it is walked. */
export function isStreamed(answer: ReachAnswer | StreamedAnswer): answer is StreamedAnswer {
  return 'shares' in answer;
}

/** Any answer as shares: a streamed one as it is, a held one with its groups split by subject pods. */
export function sharesOf(answer: ReachAnswer | StreamedAnswer): StreamedAnswer {
  if (isStreamed(answer)) return answer;
  const bySubjects = new Map<readonly PodRef[], Omit<ShareGroups, 'decide'>>();
  const shareOf = (group: ConnectionGroup) => {
    let share = bySubjects.get(group.subjects);
    if (!share) bySubjects.set(group.subjects, (share = { groups: [], deniedGroups: [] }));
    return share;
  };
  for (const group of answer.groups) shareOf(group).groups.push(group);
  for (const group of answer.deniedGroups) shareOf(group).deniedGroups.push(group);
  const { orientation, subjects, external, deniedExternal, warnings, decide } = answer;
  return {
    orientation,
    subjects,
    external,
    deniedExternal,
    warnings,
    shares: [...bySubjects].map(([subjects, share]) => ({
      subjects: [...subjects],
      compute: () => ({ ...share, decide }),
    })),
  };
}

/** The pod a connection of an answer is about (the subject): its destination inbound, its source outbound. */
export function subjectOf(answer: Pick<ReachAnswer, 'orientation'>, connection: Connection): PodRef {
  const side = answer.orientation === 'inbound' ? connection.to : connection.from;
  if (!('pod' in side)) throw new Error('a connection of an answer always has its subject pod');
  return side.pod;
}

/** The other end of a connection of an answer (the peer): a pod or an address block. */
export function peerOf(answer: Pick<ReachAnswer, 'orientation'>, connection: Connection): Peer {
  return answer.orientation === 'inbound' ? connection.from : connection.to;
}

/** A pod pair of an answer and the group it belongs to (whose ports and decision it shares). */
interface GroupPair {
  subject: PodRef;
  peer: PodRef;
  group: ConnectionGroup;
}

/** Groups with the same subject pods (the engine shares one subjects array per subject class and port). */
export interface SubjectShare {
  subjects: PodRef[];
  groups: ConnectionGroup[];
}

/** The shares that hold each subject pod, in order of first appearance, keyed `namespace/name`. */
export function sharesBySubject(groups: readonly ConnectionGroup[]): Map<string, SubjectShare[]> {
  const bySubjects = new Map<readonly PodRef[], SubjectShare>();
  for (const group of groups) {
    let share = bySubjects.get(group.subjects);
    if (!share) {
      share = { subjects: group.subjects, groups: [] };
      bySubjects.set(group.subjects, share);
    }
    share.groups.push(group);
  }
  const bySubject = new Map<string, SubjectShare[]>();
  for (const share of bySubjects.values()) {
    for (const subject of share.subjects) {
      const key = keyOf(subject);
      const list = bySubject.get(key);
      if (list) list.push(share);
      else bySubject.set(key, [share]);
    }
  }
  return bySubject;
}

/**
 * The pod pairs of an answer, one at a time, in a stable order: per subject (in the order of
 * `subjects`), its peers group by group. Never a pod with itself. Nothing is decided here.
 */
export function* pairsOf(answer: ReachAnswer, which: 'allowed' | 'denied'): Generator<GroupPair> {
  const bySubject = sharesBySubject(which === 'allowed' ? answer.groups : answer.deniedGroups);
  for (const subject of uniqueSubjects(answer)) yield* pairsOfSubject(bySubject, subject);
}

/**
 * The connections of an answer, one (source, destination) pair at a time, with their decisions: per
 * subject (in the order of `subjects`), its pod peers group by group (as pairsOf), then its address blocks.
 */
export function* connectionsOf(
  answer: ReachAnswer | StreamedAnswer,
  which: 'allowed' | 'denied',
): Generator<Connection> {
  if (isStreamed(answer)) {
    yield* streamedConnectionsOf(answer, which);
    return;
  }
  const bySubject = sharesBySubject(which === 'allowed' ? answer.groups : answer.deniedGroups);
  const externalOf = externalBySubject(answer, which);
  for (const subject of uniqueSubjects(answer)) {
    for (const { subject: s, peer, group } of pairsOfSubject(bySubject, subject))
      yield connectionOf(answer, group, s, peer);
    yield* externalOf.get(keyOf(subject)) ?? [];
  }
}

/** The address blocks of an answer per subject pod, keyed `namespace/name`. */
function externalBySubject(
  answer: Pick<ReachAnswer, 'orientation' | 'external' | 'deniedExternal'>,
  which: 'allowed' | 'denied',
): Map<string, Connection[]> {
  const externalOf = new Map<string, Connection[]>();
  for (const connection of which === 'allowed' ? answer.external : answer.deniedExternal) {
    const key = keyOf(subjectOf(answer, connection));
    const list = externalOf.get(key);
    if (list) list.push(connection);
    else externalOf.set(key, [connection]);
  }
  return externalOf;
}

/**
 * The shares of a streamed answer as a walk in subject order meets them: per subject pod, each share
 * holding it with its groups (computed on the share's first subject pod, dropped after its last).
 */
export function* openShares(answer: StreamedAnswer): Generator<{ subject: PodRef; shares: ShareGroups[] }> {
  const sharesOf = new Map<string, number[]>();
  answer.shares.forEach((share, index) => {
    for (const pod of share.subjects) {
      const key = keyOf(pod);
      const list = sharesOf.get(key);
      if (!list) sharesOf.set(key, [index]);
      else if (list[list.length - 1] !== index) list.push(index);
    }
  });
  const subjects = [...uniqueSubjects(answer)];
  const last = new Map<number, number>();
  subjects.forEach((subject, position) => {
    for (const index of sharesOf.get(keyOf(subject)) ?? []) last.set(index, position);
  });
  const open = new Map<number, ShareGroups>();
  for (let position = 0; position < subjects.length; position++) {
    const subject = subjects[position];
    const shares: ShareGroups[] = [];
    for (const index of sharesOf.get(keyOf(subject)) ?? []) {
      const groups = open.get(index) ?? answer.shares[index].compute();
      if (last.get(index)! > position) open.set(index, groups);
      else open.delete(index);
      shares.push(groups);
    }
    yield { subject, shares };
  }
}

function* streamedConnectionsOf(answer: StreamedAnswer, which: 'allowed' | 'denied'): Generator<Connection> {
  const externalOf = externalBySubject(answer, which);
  for (const { subject, shares } of openShares(answer)) {
    for (const share of shares) {
      const view = { orientation: answer.orientation, decide: share.decide };
      for (const group of which === 'allowed' ? share.groups : share.deniedGroups) {
        for (const peer of group.peers) {
          if (peer.namespace !== subject.namespace || peer.name !== subject.name)
            yield connectionOf(view, group, subject, peer);
        }
      }
    }
    yield* externalOf.get(keyOf(subject)) ?? [];
  }
}

/** One pair of a group, standing for all of them (they share the answer), oriented from source to destination. */
export function connectionOf(
  answer: Pick<ReachAnswer, 'orientation' | 'decide'>,
  group: ConnectionGroup,
  subject: PodRef,
  peer: PodRef,
): Connection {
  const [from, to] = answer.orientation === 'inbound' ? [peer, subject] : [subject, peer];
  const connection: Connection = { from: { pod: from }, to: { pod: to }, decision: answer.decide(group) };
  if (group.port !== undefined) connection.port = group.port;
  if (group.protocol !== undefined) connection.protocol = group.protocol;
  if (group.portName !== undefined) connection.portName = group.portName;
  if (group.ports !== undefined) connection.ports = group.ports;
  return connection;
}

/** The subjects of an answer, each once, in order. */
function* uniqueSubjects(answer: Pick<ReachAnswer, 'subjects'>): Generator<PodRef> {
  const seen = new Set<string>();
  for (const subject of answer.subjects) {
    const key = keyOf(subject);
    if (seen.has(key)) continue;
    seen.add(key);
    yield subject;
  }
}

function* pairsOfSubject(bySubject: Map<string, SubjectShare[]>, subject: PodRef): Generator<GroupPair> {
  for (const share of bySubject.get(keyOf(subject)) ?? []) {
    for (const group of share.groups) {
      for (const peer of group.peers) {
        if (peer.namespace !== subject.namespace || peer.name !== subject.name) yield { subject, peer, group };
      }
    }
  }
}
