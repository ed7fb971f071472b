/**
 * What a policy means, in words: one sentence per rule ("pods app=web in shop may reach pods app=api
 * in shop on 8080/TCP"), for `allow`'s summary. Rendered from the policy's fields, nothing decided here.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

import type { Direction } from '../engine/model.js';
import { effectivePolicyTypes, refOf } from '../engine/model.js';
import { formatSelector } from '../engine/selector.js';
import type { AllowSpec } from '../engine/synthesize.js';
import { namespaceNameOf } from '../engine/synthesize.js';

function podsText(selector: V1LabelSelector | undefined): string {
  const text = selector ? formatSelector(selector) : '';
  return text ? `pods ${text}` : 'every pod';
}

function namespacesText(selector: V1LabelSelector): string {
  const name = namespaceNameOf(selector);
  if (name !== undefined) return name;
  const text = formatSelector(selector);
  return text ? `namespaces ${text}` : 'every namespace';
}

/** A peer in words: `pods app=web in tenant-b`, `every pod in namespaces env=prod`, `addresses 10.0.0.0/8 except ...`. */
function describePeer(peer: V1NetworkPolicyPeer, policyNamespace: string): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except ?? [];
    return `addresses ${peer.ipBlock.cidr}${except.length ? ` except ${except.join(', ')}` : ''}`;
  }
  // NetworkPolicyPeer: namespaceSelector absent means the policy's own namespace.
  const where = peer.namespaceSelector ? namespacesText(peer.namespaceSelector) : policyNamespace;
  return `${podsText(peer.podSelector)} in ${where}`;
}

function portText(port: V1NetworkPolicyPort): string {
  const protocol = port.protocol ?? 'TCP';
  if (port.port === undefined) return `any ${protocol} port`;
  return port.endPort !== undefined ? `${port.port}-${port.endPort}/${protocol}` : `${port.port}/${protocol}`;
}

function ruleSentence(
  direction: Direction,
  subject: string,
  namespace: string,
  peers: V1NetworkPolicyPeer[] | undefined,
  ports: V1NetworkPolicyPort[] | undefined,
): string {
  // from/to empty or absent: every peer; ports empty or absent: every port.
  const others = peers && peers.length ? peers.map((p) => describePeer(p, namespace)).join(' or ') : 'anything';
  const on = ports && ports.length ? ports.map(portText).join(', ') : 'any port';
  return direction === 'ingress'
    ? `${others} may reach ${subject} on ${on}`
    : `${subject} may reach ${others} on ${on}`;
}

/** The one-line meaning of an AllowSpec: "pods A in ns may reach pods B in ns on 80/TCP". */
export function describeAllow(spec: AllowSpec): string {
  const subject = `${podsText(spec.subject)} in ${spec.namespace}`;
  return ruleSentence(spec.direction, subject, spec.namespace, spec.peers, spec.ports);
}

/** The meaning of any policy, one line per rule (or per direction it isolates without rules). */
export function describePolicy(policy: V1NetworkPolicy): string[] {
  const { namespace } = refOf(policy);
  const subject = `${podsText(policy.spec?.podSelector)} in ${namespace}`;
  const types = effectivePolicyTypes(policy);
  const lines: string[] = [];
  if (types.ingress) {
    const rules = policy.spec?.ingress ?? [];
    if (rules.length === 0) lines.push(`nothing may reach ${subject}`);
    for (const rule of rules) lines.push(ruleSentence('ingress', subject, namespace, rule._from, rule.ports));
  }
  if (types.egress) {
    const rules = policy.spec?.egress ?? [];
    if (rules.length === 0) lines.push(`${subject} may reach nothing`);
    for (const rule of rules) lines.push(ruleSentence('egress', subject, namespace, rule.to, rule.ports));
  }
  return lines;
}
