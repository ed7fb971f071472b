/**
 * What `diff` prints: the policies the change creates, configures or deletes (kubectl apply's words),
 * the connections it opens and cuts as isolate's and allow's previews show them, and a one-line
 * count; or the same as a JSON/YAML document with who-can's peers and ports.
 */
import type { AddressChange, ReachabilityChange } from '../engine/diff.js';
import type { ChangeGroup } from '../engine/diff.js';
import type { PortSet } from '../engine/model.js';
import type { DiffResult, PolicyAction } from '../services/diff.js';
import { formatChangeGroups } from './changes.js';
import { portSetDocument, type PeerDocument } from './reach-document.js';

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Connections in groups: pod pairs, and pods with their addresses outside the cluster. */
function countOf(groups: ChangeGroup[]): number {
  return groups.reduce((sum, g) => sum + g.count, 0);
}

/** `networkpolicy NS/NAME created` lines, the groups opened and cut, and `3 connections opened, 41 closed in 2 namespaces`. */
export function formatDiff(result: DiffResult): string {
  const objects = result.objects.map((o) => `networkpolicy ${o.namespace}/${o.name} ${o.action}\n`).join('');
  const table = formatChangeGroups([
    { change: 'opens', groups: result.opened },
    { change: 'cuts', groups: result.cut },
  ]);
  const summary = result.hasChanges
    ? `${plural(countOf(result.opened), 'connection')} opened, ${countOf(result.cut)} closed in ${plural(result.namespaces.length, 'namespace')}\n`
    : 'No connection opened or closed.\n';
  return [objects, table, summary].filter((part) => part !== '').join('\n');
}

/** One pair (or a pod and an address block) and the ports it gains (`added`) or loses (`removed`). */
interface DiffConnection {
  from: PeerDocument;
  to: PeerDocument;
  ports: ReturnType<typeof portSetDocument>;
}

/** The document of `diff -o json|yaml` (docs/output.md). */
interface DiffDocument {
  objects: { kind: 'NetworkPolicy'; namespace: string; name: string; action: PolicyAction }[];
  added: DiffConnection[];
  removed: DiffConnection[];
}

function pairConnection(change: ReachabilityChange, ports: PortSet): DiffConnection {
  return {
    from: { namespace: change.from.namespace, pod: change.from.name },
    to: { namespace: change.to.namespace, pod: change.to.name },
    ports: portSetDocument(ports),
  };
}

function addressConnections(change: AddressChange): DiffConnection[] {
  const pod = { namespace: change.pod.namespace, pod: change.pod.name };
  return change.blocks.map((block) => {
    const addresses = { ipBlock: { cidr: block.cidr, except: [...block.except] } };
    const [from, to] = change.direction === 'ingress' ? [addresses, pod] : [pod, addresses];
    return { from, to, ports: portSetDocument(change.ports) };
  });
}

export function toDiffDocument(result: DiffResult): DiffDocument {
  const { diff } = result;
  return {
    objects: result.objects.map((o) => ({
      kind: 'NetworkPolicy',
      namespace: o.namespace,
      name: o.name,
      action: o.action,
    })),
    added: [
      ...diff.opened.map((c) => pairConnection(c, c.gained)),
      ...diff.openedAddresses.flatMap(addressConnections),
    ],
    removed: [...diff.cut.map((c) => pairConnection(c, c.lost)), ...diff.cutAddresses.flatMap(addressConnections)],
  };
}
