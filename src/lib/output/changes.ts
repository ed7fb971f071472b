/**
 * How a change of policies reads, the same for every command that previews one (isolate, allow): the
 * connections it cuts and opens, grouped by the workloads or addresses at either end and their ports,
 * the largest groups first, a few of them unless every one is asked for.
 */
import type { ChangeEnd, ChangeGroup } from '../engine/diff.js';
import type { Decision, PortSet } from '../engine/model.js';
import { formatPortSet, isEmptyPortSet, isFullPortSet, unionPortSets } from '../engine/ports.js';
import { formatAllowedBy } from './explain.js';
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
export interface ChangeSection {
  change?: 'opens' | 'cuts';
  groups: ChangeGroup[];
}

/** who-can's ALLOWED BY of one side of a change: the policies that admitted it, or `-` when nothing did. */
function formatAllowedByOrNone(decision: Decision | undefined): string {
  return decision ? formatAllowedBy(decision) : '-';
}

/** How a table of changes is drawn. */
interface ChangeTableOptions {
  /** Show the first groups only, then how many more there are, and `more` (how to see them). */
  limit?: number;
  more?: string;
  /** Add who-can's ALLOWED BY before and after the change (diff). */
  hasRules?: boolean;
  noHeaders?: boolean;
}

/** The cells of a table of changes, one row per group: [CHANGE] CONNECTIONS FROM TO PORTS [BEFORE AFTER]. */
export function changeRows(sections: ChangeSection[], opts: Pick<ChangeTableOptions, 'hasRules'> = {}): string[][] {
  const hasChange = sections.some((s) => s.change !== undefined);
  return sections.flatMap((section) =>
    section.groups.map((g) => [
      ...(hasChange ? [section.change ?? ''] : []),
      String(g.count),
      formatChangeEnd(g.from),
      formatChangeEnd(g.to),
      formatChangePorts(g.ports, g.kept),
      ...(opts.hasRules ? [formatAllowedByOrNone(g.before), formatAllowedByOrNone(g.after)] : []),
    ]),
  );
}

/** The headers of changeRows' cells. */
export function changeHeaders(sections: ChangeSection[], opts: Pick<ChangeTableOptions, 'hasRules'> = {}): string[] {
  const hasChange = sections.some((s) => s.change !== undefined);
  return [
    ...(hasChange ? ['CHANGE'] : []),
    'CONNECTIONS',
    'FROM',
    'TO',
    'PORTS',
    ...(opts.hasRules ? ['ALLOWED BY BEFORE', 'ALLOWED BY AFTER'] : []),
  ];
}

/**
 * The table of a preview: [CHANGE] CONNECTIONS FROM TO PORTS, the first `limit` groups (every one
 * without a limit), then how many more there are and how to see them; '' when nothing changes.
 */
export function formatChangeGroups(sections: ChangeSection[], opts: ChangeTableOptions = {}): string {
  const rows = changeRows(sections, opts);
  if (rows.length === 0) return '';
  const shown = opts.limit === undefined ? rows : rows.slice(0, opts.limit);
  let text = formatTable(changeHeaders(sections, opts), shown, { noHeaders: opts.noHeaders });
  const rest = rows.length - shown.length;
  if (rest > 0)
    text += `... and ${rest} more ${rest === 1 ? 'group' : 'groups'}${opts.more ? ` (${opts.more})` : ''}\n`;
  return text;
}
