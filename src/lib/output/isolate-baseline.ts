/** What `isolate --baseline` prints on stderr: what the ClusterNetworkPolicy does and cannot do, and the preview. */
import type { BaselineResult } from '../services/isolate-baseline.js';
import { describeDns, formatChangePreview } from './isolate.js';

/** The policy's meaning (or what --off finds), one line each, then the preview of what it cuts or opens. */
export function formatBaselineNotes(result: BaselineResult, options: { explain: boolean }): string {
  const { name, namespaces } = result;
  const where = `namespace${namespaces.length === 1 ? '' : 's'} ${namespaces.join(', ')}`;
  const lines: string[] = [];
  if (result.action === 'none') {
    lines.push(`no clusternetworkpolicy ${name} created by kubectl-netpol; nothing to remove`);
  } else if (result.action === 'foreign') {
    lines.push(
      `clusternetworkpolicy ${name} was not created by kubectl-netpol; left alone (delete it with kubectl if you mean to)`,
    );
  } else if (result.action === 'delete') {
    lines.push(`removing clusternetworkpolicy ${name}, the Baseline default-deny of ${where}`);
  } else {
    const what = result.egress
      ? 'ingress from every pod, and egress to every pod and every address'
      : 'ingress from every pod';
    lines.push(
      `clusternetworkpolicy ${name} (${result.resource.group}/${result.resource.version}, Baseline tier, priority ${result.priority}) denies ${what} for ${where}; it decides only for pods no NetworkPolicy selects`,
    );
    if (result.dns) lines.push(`DNS: egress stays allowed to ${describeDns(result.dns)} on 53/UDP and 53/TCP`);
    else if (result.egress)
      lines.push('DNS: not allowed (--no-allow-dns); pods in these namespaces will not resolve names');
    // ClusterNetworkPolicy ingress peers are pods and namespaces only: no rule can name an outside source.
    const outside =
      result.reachableFromOutside > 0
        ? `kept: ${result.reachableFromOutside} pod${result.reachableFromOutside === 1 ? '' : 's'} of ${where} still ${result.reachableFromOutside === 1 ? 'takes' : 'take'} traffic from addresses outside the cluster (0.0.0.0/0, ::/0)`
        : 'kept: traffic from addresses outside the cluster (0.0.0.0/0, ::/0), wherever it is allowed';
    lines.push(
      `${outside}: a ClusterNetworkPolicy's ingress peers are pods and namespaces only, so it cannot deny them (isolate without --baseline writes NetworkPolicies that do)`,
    );
  }
  const text = lines.map((line) => line + '\n').join('');
  if (result.action !== 'write' && result.action !== 'delete') return text;
  return text + formatChangePreview(result.preview, { isOff: result.off, explain: options.explain });
}
