/** What mutating commands print: kubectl's line per object changed, or the objects for `kubectl apply -f -`. */
import { toManifestDocument } from '../cluster/policy-shape.js';
import type { ClusterObject } from '../cluster/types.js';
import type { WriteOutcome } from '../write.js';
import type { DryRunMode, WriteOutputFormat } from '../write-flags.js';
import { renderDocument } from './render.js';

/** The resource as kubectl names it in its output lines. */
const POLICY_RESOURCE = 'networkpolicy.networking.k8s.io';

/** The dry-run suffix kubectl prints: ` (dry run)` for client, ` (server dry run)` for server. */
function dryRunSuffix(dryRun: DryRunMode): string {
  return dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
}

/**
 * Renders outcomes for stdout: json/yaml print the objects (a List for several), `name` prints
 * `networkpolicy.networking.k8s.io/NAME`, and the default is kubectl's line
 * `networkpolicy.networking.k8s.io/NAME created (server dry run)`, naming the namespace when there are several.
 */
export function formatOutcomes(
  outcomes: WriteOutcome[],
  output: WriteOutputFormat | undefined,
  dryRun: DryRunMode,
): string {
  if ((output === 'json' || output === 'yaml') && outcomes.length > 0)
    return renderDocument(toManifestDocument(outcomes.map((o) => o.object)), output);
  return formatOutcomeLines(outcomes, output, dryRun, POLICY_RESOURCE);
}

/**
 * The same for a cluster-scoped object (`isolate --baseline`): the object as written (a manifest
 * already) for json/yaml, else `clusternetworkpolicy.policy.networking.k8s.io/NAME created`.
 */
export function formatClusterOutcomes(
  outcomes: WriteOutcome<ClusterObject>[],
  output: WriteOutputFormat | undefined,
  dryRun: DryRunMode,
  resource: string,
): string {
  if ((output === 'json' || output === 'yaml') && outcomes.length > 0) {
    const items = outcomes.map((o) => o.object);
    return renderDocument(items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items }, output);
  }
  return formatOutcomeLines(outcomes, output, dryRun, resource);
}

/** `-o name` or kubectl's line per object; `resource` as kubectl names it (`networkpolicy.networking.k8s.io`). */
function formatOutcomeLines(
  outcomes: WriteOutcome<{ metadata?: object }>[],
  output: WriteOutputFormat | undefined,
  dryRun: DryRunMode,
  resource: string,
): string {
  if (outcomes.length === 0) return '';
  if (output === 'name') return outcomes.map((o) => `${resource}/${o.name}\n`).join('');
  const isMultiNamespace = new Set(outcomes.map((o) => o.namespace)).size > 1;
  return outcomes
    .map((o) => {
      const where = isMultiNamespace ? ` in namespace ${o.namespace}` : '';
      return `${resource}/${o.name} ${o.verb}${where}${dryRunSuffix(dryRun)}\n`;
    })
    .join('');
}

/** Lines for stderr about outcomes the user should notice (a foreign policy replaced with --overwrite). */
export function outcomeNotices(outcomes: WriteOutcome[]): string[] {
  return outcomes
    .filter((o) => o.replacedForeign)
    .map(
      (o) =>
        `--overwrite: replacing networkpolicy ${o.namespace}/${o.name}, which kubectl-netpol did not create; its previous rules are gone`,
    );
}
