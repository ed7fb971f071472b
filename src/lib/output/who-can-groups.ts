/**
 * The grouped document of a reachability answer (`--group-by workload`, docs/output.md): the pair
 * document with pods folded by workload, as the tables fold them. An entry says "every pod of `from`
 * reaches every pod of `to`, never a pod itself, with these ports and rules"; address blocks are
 * entries of their own. Written share by share from the engine's groups, never pair by pair.
 */
import type { Connection, ConnectionGroup, ReachAnswer, ShareGroups, StreamedAnswer } from '../engine/answer.js';
import { connectionOf, openShares, peerOf, sharesOf, subjectOf } from '../engine/answer.js';
import type { Decision, PodRef } from '../engine/model.js';
import { keyOf } from '../engine/model.js';
import type { ReachReport, WorkloadRef } from '../services/report.js';
import { formatIpBlock, formatWorkloadRef } from './names.js';
import {
  connectionDocument,
  portSetKey,
  reachFields,
  type ConnectionDocument,
  type PeerDocument,
} from './reach-document.js';
import { writeDocument, type DocumentSink } from './stream.js';

/** The pods of one workload (or one bare pod) at one end of a grouped entry. */
interface PodGroupDocument {
  namespace: string;
  /** The owner as who-can's table names it; absent for a bare pod. */
  workload?: WorkloadRef;
  pods: string[];
}

/** An entry of the grouped document: the pair entry's fields, with pod groups at its ends. */
type GroupedEntry = Omit<ConnectionDocument, 'from' | 'to'> & {
  from: PodGroupDocument | PeerDocument;
  to: PodGroupDocument | PeerDocument;
};

/** Pods of one workload (or a bare pod), in order of first appearance. */
interface Slice {
  /** `namespace/kind/name`, or `namespace/name` for a bare pod: how tables and reasons name it. */
  label: string;
  workload?: WorkloadRef;
  pods: PodRef[];
}

/** An entry being gathered: its subject pods grow while later shares of the same workload agree. */
interface Pending {
  subject: Slice;
  /** The pod group or address block at the other end. */
  peer: Slice | PeerDocument;
  rest: Omit<ConnectionDocument, 'from' | 'to'>;
}

/** Distinct entry rests remembered at once (memory stays bounded by the world, not by the answer). */
const RESTS_KEPT = 1 << 13;

/**
 * Writes the grouped document of a report (who-can's `--group-by workload`) to a sink, entry by
 * entry; with `explain`, the denied entries too (reasons name the workloads, as the table's do).
 */
export async function writeGroupedDocument(
  report: ReachReport<ReachAnswer | StreamedAnswer>,
  format: 'json' | 'yaml',
  sink: DocumentSink,
  opts: { explain?: boolean } = {},
): Promise<void> {
  const items = (which: 'connections' | 'denied') =>
    groupedEntries(report, which === 'connections' ? 'allowed' : 'denied');
  await writeDocument(reachFields(report, opts, items), format, sink);
}

/** Pods split by workload, in order of first appearance. */
function slicesOf(pods: readonly PodRef[], workloads: ReadonlyMap<string, WorkloadRef>): Slice[] {
  const slices = new Map<string, Slice>();
  for (const pod of pods) {
    const owner = workloads.get(keyOf(pod));
    const workload = owner && owner.kind !== 'Pod' ? owner : undefined;
    const label = workload ? formatWorkloadRef({ namespace: pod.namespace, ...workload }) : keyOf(pod);
    let slice = slices.get(label);
    if (!slice) slices.set(label, (slice = { label, workload, pods: [] }));
    slice.pods.push(pod);
  }
  return [...slices.values()];
}

function podGroupDocument(slice: Slice): PodGroupDocument {
  const pods = slice.pods.map((pod) => pod.name);
  const { namespace } = slice.pods[0];
  return slice.workload
    ? { namespace, workload: { kind: slice.workload.kind, name: slice.workload.name }, pods }
    : { namespace, pods };
}

/**
 * The grouped entries of one side of an answer. Subject pods are met in order; a share's groups are
 * folded when its first subject pod is met (peers by workload and by everything else the entry says),
 * and entries of the same subject workload in consecutive shares merge their subject pods. The
 * gathered entries are written when a share of other workloads begins, so what is held is one
 * workload's answer, not the cluster's.
 */
function* groupedEntries(
  report: ReachReport<ReachAnswer | StreamedAnswer>,
  which: 'allowed' | 'denied',
): Generator<GroupedEntry> {
  const answer = sharesOf(report.answer);
  const denied = which === 'denied';
  const isInbound = answer.orientation === 'inbound';
  const pending = new Map<string, Pending>();
  /** Subject workloads of the pending entries. */
  let open = new Set<string>();
  const subjectSlices = new Map<string, Slice>();
  const sliceOfSubject = (pod: PodRef): Slice => subjectSlices.get(keyOf(pod))!;
  // An entry's rest is the same for groups with the same decision object and ports (whole-cluster
  // answers share decisions: engine/whole-cluster.ts), and for denied ones the same names: made once.
  let rests = new WeakMap<Decision, Map<string, { rest: Pending['rest']; id: number }>>();
  // Rests are told apart by a number while entries are pending: equal rests (by their JSON) share one.
  let restIds = new Map<string, number>();
  const rested = (connection: Connection, subject: string, peer: string) => {
    let byKey = rests.get(connection.decision);
    if (!byKey) rests.set(connection.decision, (byKey = new Map()));
    const { ports, port, protocol, portName } = connection;
    const key = `${ports ? portSetKey(ports) : `${port}/${protocol}/${portName}`}${denied ? `\u0000${subject}\u0000${peer}` : ''}`;
    let known = byKey.get(key);
    if (!known) {
      const rest: Partial<ConnectionDocument> = connectionDocument(
        connection,
        denied,
        isInbound ? [peer, subject] : [subject, peer],
      );
      delete rest.from;
      delete rest.to;
      const text = JSON.stringify(rest);
      let id = restIds.get(text);
      if (id === undefined) restIds.set(text, (id = restIds.size));
      known = { rest: rest as Pending['rest'], id };
      byKey.set(key, known);
    }
    return known;
  };
  const add = (
    subject: Slice,
    subjectPods: readonly PodRef[],
    peer: Slice | PeerDocument,
    { rest, id }: ReturnType<typeof rested>,
  ) => {
    const peerKey = 'pods' in peer ? `${peer.label}\u0000${peer.pods.map(keyOf).join(',')}` : JSON.stringify(peer);
    const key = `${subject.label}\u0000${peerKey}\u0000${id}`;
    let entry = pending.get(key);
    if (!entry) pending.set(key, (entry = { subject: { ...subject, pods: [] }, peer, rest }));
    const known = new Set(entry.subject.pods);
    for (const pod of subjectPods) if (!known.has(pod)) entry.subject.pods.push(pod);
  };
  function* flush(): Generator<GroupedEntry> {
    for (const { subject, peer, rest } of pending.values()) {
      const own = podGroupDocument(subject);
      const other = 'pods' in peer ? podGroupDocument(peer) : peer;
      yield { ...(isInbound ? { from: other, to: own } : { from: own, to: other }), ...rest };
    }
    pending.clear();
    open = new Set();
    // Nothing pending reads a rest's number now: past RESTS_KEPT rests, both memos start over.
    if (restIds.size > RESTS_KEPT) {
      rests = new WeakMap();
      restIds = new Map();
    }
  }
  // Groups of one peer class share its pods array: split by workload once.
  const slicesOfPeers = new WeakMap<readonly PodRef[], Slice[]>();
  const peerSlices = (pods: readonly PodRef[]): Slice[] => {
    let slices = slicesOfPeers.get(pods);
    if (!slices) slicesOfPeers.set(pods, (slices = slicesOf(pods, report.workloads)));
    return slices;
  };
  const folded = new WeakSet<ShareGroups>();
  const external = new Map<string, Connection[]>();
  for (const connection of denied ? answer.deniedExternal : answer.external) {
    const key = keyOf(subjectOf(answer, connection));
    external.set(key, [...(external.get(key) ?? []), connection]);
  }
  for (const { subject, shares } of openShares(answer)) {
    for (const share of shares) {
      if (folded.has(share)) continue;
      folded.add(share);
      const groups = denied ? share.deniedGroups : share.groups;
      if (groups.length === 0) continue;
      const slices = slicesOf(groups[0].subjects, report.workloads);
      for (const slice of slices) for (const pod of slice.pods) subjectSlices.set(keyOf(pod), slice);
      if (!slices.some((slice) => open.has(slice.label))) yield* flush();
      for (const slice of slices) open.add(slice.label);
      foldShare(share, groups, slices);
    }
    for (const connection of external.get(keyOf(subject)) ?? []) {
      const slice = subjectSlices.get(keyOf(subject)) ?? slicesOf([subject], report.workloads)[0];
      if (!open.has(slice.label)) yield* flush();
      open.add(slice.label);
      const peer = peerOf(answer, connection);
      if (!('ipBlock' in peer)) continue;
      const block: PeerDocument = { ipBlock: { cidr: peer.ipBlock.cidr, except: [...peer.ipBlock.except] } };
      add(slice, [subject], block, rested(connection, slice.label, formatIpBlock(peer.ipBlock)));
    }
  }
  yield* flush();

  /** One share's groups: per subject workload, peers by workload and by what the entry says. */
  function foldShare(share: ShareGroups, groups: ConnectionGroup[], slices: Slice[]): void {
    const view = { orientation: answer.orientation, decide: share.decide };
    for (const subject of slices) {
      // Peers of one workload whose entries say the same are one entry.
      const byPeer = new Map<string, { peer: Slice; rest: ReturnType<typeof rested> }>();
      for (const group of groups) {
        for (const peer of peerSlices(group.peers)) {
          const isSelfOnly = subject.pods.length === 1 && peer.pods.length === 1 && subject.pods[0] === peer.pods[0];
          if (isSelfOnly) continue;
          const rest = rested(connectionOf(view, group, subject.pods[0], peer.pods[0]), subject.label, peer.label);
          const key = `${peer.label}\u0000${rest.id}`;
          const known = byPeer.get(key);
          if (known) known.peer.pods.push(...peer.pods);
          else byPeer.set(key, { peer: { ...peer, pods: [...peer.pods] }, rest });
        }
      }
      for (const { peer, rest } of byPeer.values()) add(sliceOfSubject(subject.pods[0]), subject.pods, peer, rest);
    }
  }
}
