/**
 * How a change of policies reads, the same for every command that previews one (isolate, allow): the
 * connections it cuts and opens, grouped by the workloads or addresses at either end and their ports,
 * the largest groups first, a few of them unless every one is asked for.
 */
import type { ChangeEnd, ChangeGroup } from '../engine/diff.js';
import type { PortSet } from '../engine/model.js';
import { formatPortSet, isEmptyPortSet, isFullPortSet, unionPortSets } from '../engine/ports.js';
import { formatIpBlock, formatWorkloadRef } from './names.js';
import { formatTable } from './table.js';

/** How many groups a preview shows unless every one is asked for (--explain). */
export const PREVIEW_GROUPS = 5;

/** One end of a group: `ns/kind/name`, `ns/name` for a bare pod, or the address blocks. */
export function formatChangeEnd(end: ChangeEnd): string {
  return 'addresses' in end ? end.addresses.map(formatIpBlock).join(', ') : formatWorkloadRef(end);
}

/**
 * The ports a group loses (or gains): `all`, `8080/TCP`, or, when it keeps some, what it keeps:
 * `all but 53/TCP, 53/UDP` (the connections that keep only DNS), `80/TCP (keeps 443/TCP)`.
 */
export function formatChangePorts(ports: PortSet, kept: PortSet): string {
  if (isEmptyPortSet(kept)) return formatPortSet(ports);
  if (isFullPortSet(unionPortSets(ports, kept))) return `all but ${formatPortSet(kept)}`;
  return `${formatPortSet(ports)} (keeps ${formatPortSet(kept)})`;
}

/** Groups of one kind of change, or of both (`opens`/`cuts` in a first column). */
interface ChangeSection {
  change?: 'opens' | 'cuts';
  groups: ChangeGroup[];
}

/**
 * The table of a preview: [CHANGE] CONNECTIONS FROM TO PORTS, the first `limit` groups (every one
 * without a limit), then how many more there are and how to see them; '' when nothing changes.
 */
export function formatChangeGroups(sections: ChangeSection[], opts: { limit?: number; more?: string } = {}): string {
  const hasChange = sections.some((s) => s.change !== undefined);
  const rows = sections.flatMap((section) =>
    section.groups.map((g) => [
      ...(hasChange ? [section.change ?? ''] : []),
      String(g.count),
      formatChangeEnd(g.from),
      formatChangeEnd(g.to),
      formatChangePorts(g.ports, g.kept),
    ]),
  );
  if (rows.length === 0) return '';
  const shown = opts.limit === undefined ? rows : rows.slice(0, opts.limit);
  const headers = [...(hasChange ? ['CHANGE'] : []), 'CONNECTIONS', 'FROM', 'TO', 'PORTS'];
  let text = formatTable(headers, shown);
  const rest = rows.length - shown.length;
  if (rest > 0)
    text += `... and ${rest} more ${rest === 1 ? 'group' : 'groups'}${opts.more ? ` (${opts.more})` : ''}\n`;
  return text;
}
