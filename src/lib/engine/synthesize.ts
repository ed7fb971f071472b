/**
 * Pure policy builders for `allow`: a NetworkPolicy from a subject, peers and ports, and the name it
 * gets when none is given. What a policy changes is preview.ts; what it means in words, output/describe.ts.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

import type { Direction } from './model.js';
import { NAMESPACE_NAME_LABEL } from './model.js';
import { formatSelector } from './selector.js';

/** What `allow` is asked for: a policy on `subject` pods of `namespace`, in one direction, admitting `peers` on `ports`. */
export interface AllowSpec {
  namespace: string;
  /** `ingress`: the policy is on the --to pods; `egress`: on the --from pods. */
  direction: Direction;
  /** The pods the policy selects (spec.podSelector), in `namespace`. */
  subject: V1LabelSelector;
  /** The other side, one NetworkPolicyPeer each (several peers = OR). */
  peers: V1NetworkPolicyPeer[];
  /** Ports; empty means every port of every protocol. */
  ports: V1NetworkPolicyPort[];
}

/** Longest name derived here: a DNS-1123 label (valid for a NetworkPolicy, and for a label value). */
const MAX_NAME_LENGTH = 63;

/**
 * The NetworkPolicy of an AllowSpec, in client-node's typed shape (`_from` for ingress peers).
 * Written with policyTypes set to the one direction, so the policy never isolates the other one.
 */
export function buildAllowPolicy(spec: AllowSpec, name: string, labels: Record<string, string> = {}): V1NetworkPolicy {
  const rule: V1NetworkPolicyIngressRule & V1NetworkPolicyEgressRule = {};
  if (spec.direction === 'ingress') rule._from = spec.peers.map(clonePeer);
  else rule.to = spec.peers.map(clonePeer);
  if (spec.ports.length > 0) rule.ports = spec.ports.map((p) => ({ ...p }));
  const metadata: V1NetworkPolicy['metadata'] = { name, namespace: spec.namespace };
  if (Object.keys(labels).length > 0) metadata.labels = { ...labels };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: cloneSelector(spec.subject),
      policyTypes: [spec.direction === 'ingress' ? 'Ingress' : 'Egress'],
      ...(spec.direction === 'ingress' ? { ingress: [rule] } : { egress: [rule] }),
    },
  };
}

function cloneSelector(selector: V1LabelSelector): V1LabelSelector {
  const out: V1LabelSelector = {};
  if (selector.matchLabels) out.matchLabels = { ...selector.matchLabels };
  if (selector.matchExpressions) {
    out.matchExpressions = selector.matchExpressions.map((e) => ({
      ...e,
      ...(e.values ? { values: [...e.values] } : {}),
    }));
  }
  return out;
}

function clonePeer(peer: V1NetworkPolicyPeer): V1NetworkPolicyPeer {
  const out: V1NetworkPolicyPeer = {};
  if (peer.podSelector) out.podSelector = cloneSelector(peer.podSelector);
  if (peer.namespaceSelector) out.namespaceSelector = cloneSelector(peer.namespaceSelector);
  if (peer.ipBlock)
    out.ipBlock = { ...peer.ipBlock, ...(peer.ipBlock.except ? { except: [...peer.ipBlock.except] } : {}) };
  return out;
}

function selectorSlug(selector: V1LabelSelector): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) parts.push(value || key.split('/').pop()!);
  for (const e of selector.matchExpressions ?? []) {
    const key = e.key.split('/').pop()!;
    if (e.operator === 'In') parts.push(...(e.values ?? []));
    else if (e.operator === 'NotIn') parts.push('not', ...(e.values ?? []));
    else if (e.operator === 'Exists') parts.push(key);
    else parts.push('no', key);
  }
  return parts.length ? parts.join('-') : 'all';
}

/** The one namespace a selector names by kubernetes.io/metadata.name, if that is all it says. */
export function namespaceNameOf(selector: V1LabelSelector): string | undefined {
  const keys = Object.keys(selector.matchLabels ?? {});
  if (keys.length !== 1 || keys[0] !== NAMESPACE_NAME_LABEL || selector.matchExpressions?.length) return undefined;
  return selector.matchLabels![NAMESPACE_NAME_LABEL];
}

function peerSlug(peer: V1NetworkPolicyPeer): string {
  if (peer.ipBlock) return peer.ipBlock.cidr;
  const pods = peer.podSelector ? selectorSlug(peer.podSelector) : 'all';
  if (!peer.namespaceSelector) return pods;
  const name = namespaceNameOf(peer.namespaceSelector);
  const namespaces =
    name ?? (formatSelector(peer.namespaceSelector) ? selectorSlug(peer.namespaceSelector) : 'all-namespaces');
  return peer.podSelector ? `${pods}-in-${namespaces}` : `ns-${namespaces}`;
}

function portSlug(port: V1NetworkPolicyPort): string {
  const protocol = (port.protocol ?? 'TCP').toLowerCase();
  if (port.port === undefined) return `all-${protocol}`;
  return port.endPort !== undefined ? `${port.port}-${port.endPort}-${protocol}` : `${port.port}-${protocol}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable suffix for names that must be cut. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A name from the selectors and ports: `allow-FROM-to-TO[-on-PORTS]`, lowercased to a DNS-1123 label;
 * over 63 characters it is cut and ends with a hash of the whole, so different specs keep different names.
 */
export function deriveName(spec: AllowSpec): string {
  const subject = selectorSlug(spec.subject);
  const peers = spec.peers.length ? spec.peers.map(peerSlug).join('-or-') : 'all';
  const [from, to] = spec.direction === 'ingress' ? [peers, subject] : [subject, peers];
  const ports = spec.ports.length ? `-on-${spec.ports.map(portSlug).join('-')}` : '';
  const full = `allow-${from}-to-${to}${ports}${spec.direction === 'egress' ? '-egress' : ''}`;
  const clean = full
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (clean.length <= MAX_NAME_LENGTH) return clean;
  const head = clean.slice(0, MAX_NAME_LENGTH - 9).replace(/-+$/, '');
  return `${head}-${hash(full)}`;
}
