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
import type { KeyedShareGroups } from '../engine/whole-cluster.js';
import type { ReachReport, WorkloadRef } from '../services/report.js';
import { formatIpBlock, formatWorkloadRef } from './names.js';
import {
  connectionDocument,
  ENTRY_FROM,
  ENTRY_TO,
  portSetKey,
  reachFields,
  type ConnectionDocument,
  type PeerDocument,
} from './reach-document.js';
import { jsonAt, writeDocument, type DocumentSink, type ItemOut } from './stream.js';

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
  /** The label's number: what entries are told apart by. */
  id: number;
  /** `namespace/kind/name`, or `namespace/name` for a bare pod: how tables and reasons name it. */
  label: string;
  workload?: WorkloadRef;
  pods: PodRef[];
}

/** What an entry says after `from` and `to`, made once per distinct text; equal texts share the number. */
interface Rest {
  fields: Omit<ConnectionDocument, 'from' | 'to'>;
  id: number;
  /** The JSON of the fields as they follow `to` in the document, encoded on first write. */
  bytes?: Uint8Array;
}

/** An entry being gathered: its subject pods grow while later shares of the same workload agree. */
interface Pending {
  subject: Slice;
  /** The pod group or address block at the other end. */
  peer: Slice | PeerDocument;
  rest: Rest;
}

/** A grouped entry as written: its ends, and its rest. */
interface GroupedItem {
  from: PodGroupDocument | PeerDocument;
  to: PodGroupDocument | PeerDocument;
  rest: Rest;
}

/** Distinct entry rests remembered at once (memory stays bounded by the world, not by the answer). */
const RESTS_KEPT = 1 << 15;

/** Writes a grouped entry as JSON: its ends as text, its rest as the bytes shared by every entry with it. */
function writeGroupedItem(item: unknown, out: ItemOut): void {
  const { from, to, rest } = item as GroupedItem;
  out.bytes(ENTRY_FROM);
  out.text(endText(from));
  out.bytes(ENTRY_TO);
  out.text(endText(to));
  out.bytes((rest.bytes ??= Buffer.from(`,${jsonAt(rest.fields, 2).slice(1)}`)));
}

/** Where a pod group's pods begin (the JSON of its namespace and workload), kept per workload. */
const podGroupHeads = new Map<string, string>();

/**
 * An end of a grouped entry as JSON at its depth in the document: jsonAt(end, 3), written out for a
 * pod group (one per entry end: the regular expression of jsonAt would cost more than the entry).
 */
function endText(end: PodGroupDocument | PeerDocument): string {
  if (!('pods' in end)) return jsonAt(end, 3);
  const { namespace, workload, pods } = end;
  const key = workload ? `${namespace}\u0000${workload.kind}\u0000${workload.name}` : namespace;
  let head = podGroupHeads.get(key);
  if (head === undefined) {
    const owner = workload
      ? `\n        "workload": {\n          "kind": ${JSON.stringify(workload.kind)},\n          "name": ${JSON.stringify(workload.name)}\n        },`
      : '';
    head = `{\n        "namespace": ${JSON.stringify(namespace)},${owner}\n        "pods": [`;
    // Bounded by the workloads of the world; cleared should a process write many worlds.
    if (podGroupHeads.size > 1 << 16) podGroupHeads.clear();
    podGroupHeads.set(key, head);
  }
  let text = head;
  for (let i = 0; i < pods.length; i++) text += `${i === 0 ? '' : ','}\n          ${JSON.stringify(pods[i])}`;
  return `${text}\n        ]\n      }`;
}

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
  if (format === 'json') {
    await writeDocument(reachFields(report, opts, items), format, sink, writeGroupedItem);
    return;
  }
  const documents = function* (which: 'connections' | 'denied'): Generator<GroupedEntry> {
    for (const { from, to, rest } of items(which)) yield { from, to, ...rest.fields };
  };
  await writeDocument(reachFields(report, opts, documents), format, sink);
}

/** Pods split by workload, in order of first appearance; `ids` numbers their labels. */
function slicesOf(
  pods: readonly PodRef[],
  workloads: ReadonlyMap<string, WorkloadRef>,
  ids: Map<string, number>,
): Slice[] {
  const slices = new Map<string, Slice>();
  for (const pod of pods) {
    const owner = workloads.get(keyOf(pod));
    const workload = owner && owner.kind !== 'Pod' ? owner : undefined;
    const label = workload ? formatWorkloadRef({ namespace: pod.namespace, ...workload }) : keyOf(pod);
    let slice = slices.get(label);
    if (!slice) {
      let id = ids.get(label);
      if (id === undefined) ids.set(label, (id = ids.size));
      slices.set(label, (slice = { id, label, workload, pods: [] }));
    }
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

/** True when two pod lists hold the same pods in the same order. */
function isSameList(a: readonly PodRef[], b: readonly PodRef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The grouped entries of one side of an answer. Subject pods are met in order; a share's groups are
 * folded when its first subject pod is met (peers by workload and by everything else the entry says),
 * and entries of the same subject workload in consecutive shares merge their subject pods. The
 * gathered entries are written when a share of other workloads begins, so what is held is one
 * workload's answer, not the cluster's. Entries are told apart by numbers (slices, rests), not text:
 * there is about one group per pod pair.
 */
function* groupedEntries(
  report: ReachReport<ReachAnswer | StreamedAnswer>,
  which: 'allowed' | 'denied',
): Generator<GroupedItem> {
  const answer = sharesOf(report.answer);
  const denied = which === 'denied';
  const isInbound = answer.orientation === 'inbound';
  const sliceIds = new Map<string, number>();
  /** Entries in the order they were begun, and how to find one: subject, then peer workload, then rest and peer pods. */
  let pending: Pending[] = [];
  let podEntries = new Map<string, Map<number, Pending[]>>();
  let blockEntries = new Map<string, Pending>();
  /** Subject workloads of the pending entries. */
  let open = new Set<string>();
  const subjectSlices = new Map<PodRef, Slice>();
  // An entry's rest is the same for groups with the same decision object and ports (whole-cluster
  // answers share decisions: engine/whole-cluster.ts; allowed port sets are interned, so the object
  // stands for them), and for denied ones the same names: made once.
  let rests = new WeakMap<Decision, Map<unknown, Rest>>();
  // Rests are told apart by a number while entries are pending: equal rests (by their JSON) share one.
  let restIds = new Map<string, Rest>();
  /** Rests by entry key, kept as long as restIds. */
  let byEntry: (Rest | undefined)[] = [];
  const restOf = (
    decision: Decision,
    group: Pick<ConnectionGroup, 'ports' | 'port' | 'protocol' | 'portName'>,
    make: () => Connection,
    subject: string,
    peer: string,
  ): Rest => {
    let byKey = rests.get(decision);
    if (!byKey) rests.set(decision, (byKey = new Map()));
    const { ports, port, protocol, portName } = group;
    const portKey = ports && !denied ? ports : `${ports ? portSetKey(ports) : `${port}/${protocol}/${portName}`}`;
    const key = denied ? `${portKey as string}\u0000${subject}\u0000${peer}` : portKey;
    let known = byKey.get(key);
    if (!known) {
      const fields: Partial<ConnectionDocument> = connectionDocument(
        make(),
        denied,
        isInbound ? [peer, subject] : [subject, peer],
      );
      delete fields.from;
      delete fields.to;
      const text = JSON.stringify(fields);
      known = restIds.get(text);
      if (!known) restIds.set(text, (known = { fields: fields as Rest['fields'], id: restIds.size }));
      byKey.set(key, known);
    }
    return known;
  };
  const add = (subject: Slice, subjectPods: readonly PodRef[], peer: Slice | PeerDocument, rest: Rest) => {
    let entry: Pending | undefined;
    if ('pods' in peer) {
      let bySubject = podEntries.get(subject.label);
      if (!bySubject) podEntries.set(subject.label, (bySubject = new Map()));
      let list = bySubject.get(peer.id);
      if (!list) bySubject.set(peer.id, (list = []));
      entry = list.find((known) => known.rest === rest && isSameList((known.peer as Slice).pods, peer.pods));
      if (!entry) list.push((entry = { subject: { ...subject, pods: [] }, peer, rest }));
    } else {
      const key = `${subject.label}\u0000${JSON.stringify(peer)}\u0000${rest.id}`;
      entry = blockEntries.get(key);
      if (!entry) blockEntries.set(key, (entry = { subject: { ...subject, pods: [] }, peer, rest }));
    }
    if (entry.subject.pods.length === 0) pending.push(entry);
    const pods = entry.subject.pods;
    for (const pod of subjectPods) if (!pods.includes(pod)) pods.push(pod);
  };
  function* flush(): Generator<GroupedItem> {
    for (const { subject, peer, rest } of pending) {
      const own = podGroupDocument(subject);
      const other = 'pods' in peer ? podGroupDocument(peer) : peer;
      yield isInbound ? { from: other, to: own, rest } : { from: own, to: other, rest };
    }
    pending = [];
    podEntries = new Map();
    blockEntries = new Map();
    open = new Set();
    // Nothing pending reads a rest's number now: past RESTS_KEPT rests, both memos start over.
    if (restIds.size > RESTS_KEPT) {
      rests = new WeakMap();
      restIds = new Map();
      byEntry = [];
    }
  }
  // Groups of one peer class share its pods array: split by workload once.
  const slicesOfPeers = new WeakMap<readonly PodRef[], Slice[]>();
  const peerSlices = (pods: readonly PodRef[]): Slice[] => {
    let slices = slicesOfPeers.get(pods);
    if (!slices) slicesOfPeers.set(pods, (slices = slicesOf(pods, report.workloads, sliceIds)));
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
      const slices = slicesOf(groups[0].subjects, report.workloads, sliceIds);
      for (const slice of slices) for (const pod of slice.pods) subjectSlices.set(pod, slice);
      if (!slices.some((slice) => open.has(slice.label))) yield* flush();
      for (const slice of slices) open.add(slice.label);
      foldShare(share, groups, slices);
    }
    for (const connection of external.get(keyOf(subject)) ?? []) {
      const slice = subjectSlices.get(subject) ?? slicesOf([subject], report.workloads, sliceIds)[0];
      if (!open.has(slice.label)) yield* flush();
      open.add(slice.label);
      const peer = peerOf(answer, connection);
      if (!('ipBlock' in peer)) continue;
      const block: PeerDocument = { ipBlock: { cidr: peer.ipBlock.cidr, except: [...peer.ipBlock.except] } };
      add(
        slice,
        [subject],
        block,
        restOf(connection.decision, connection, () => connection, slice.label, formatIpBlock(peer.ipBlock)),
      );
    }
  }
  yield* flush();

  /** One share's groups: per subject workload, peers by workload and by what the entry says. */
  function foldShare(share: KeyedShareGroups, groups: ConnectionGroup[], slices: Slice[]): void {
    const view = { orientation: answer.orientation, decide: share.decide };
    for (const subject of slices) {
      // Peers of one workload whose entries say the same are one entry.
      // By peer workload, then rest (a workload's pods mostly share one): small numbers, no key to build.
      const byPeer = new Map<number, { peer: Slice; rest: Rest }[]>();
      const folded: { peer: Slice; rest: Rest }[] = [];
      for (const group of groups) {
        // Allowed groups with an entry key (engine/whole-cluster.ts) are not decided past the first.
        const entry = !denied && share.entryOf ? share.entryOf(group) : -1;
        for (const peer of peerSlices(group.peers)) {
          const isSelfOnly = subject.pods.length === 1 && peer.pods.length === 1 && subject.pods[0] === peer.pods[0];
          if (isSelfOnly) continue;
          let rest = entry < 0 ? undefined : byEntry[entry];
          if (!rest) {
            const make = () => connectionOf(view, group, subject.pods[0], peer.pods[0]);
            rest = restOf(share.decide(group), group, make, subject.label, peer.label);
            if (entry >= 0) byEntry[entry] = rest;
          }
          let ofPeer = byPeer.get(peer.id);
          if (!ofPeer) byPeer.set(peer.id, (ofPeer = []));
          const known = ofPeer.find((one) => one.rest === rest);
          if (known) for (const pod of peer.pods) known.peer.pods.push(pod);
          else {
            const one = { peer: { ...peer, pods: [...peer.pods] }, rest };
            ofPeer.push(one);
            folded.push(one);
          }
        }
      }
      for (const { peer, rest } of folded) add(subject, subject.pods, peer, rest);
    }
  }
}
