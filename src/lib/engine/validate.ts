/** NetworkPolicy validation as the API server does it (pkg/apis/networking/validation), for manifests read from files. */
import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { validateIpBlock } from './ipblock.js';
import { validatePolicyPort } from './ports.js';
import { validateSelector } from './selector.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateList(value: unknown, path: string, each: (item: unknown, at: string) => string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [`${path}: must be a list`];
  return value.flatMap((item, i) => each(item, `${path}[${i}]`));
}

function validateSelectorField(value: unknown, path: string): string[] {
  if (!isObject(value)) return [`${path}: must be a label selector object`];
  if (value.matchLabels !== undefined && value.matchLabels !== null && !isObject(value.matchLabels)) {
    return [`${path}.matchLabels: must be a map of strings`];
  }
  if (value.matchExpressions !== undefined && value.matchExpressions !== null) {
    if (!Array.isArray(value.matchExpressions)) return [`${path}.matchExpressions: must be a list`];
    const bad = value.matchExpressions.findIndex((e) => !isObject(e));
    if (bad >= 0) return [`${path}.matchExpressions[${bad}]: must be an object`];
  }
  return validateSelector(value, path);
}

function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

/** ValidateNetworkPolicyPeer: at least one of podSelector/namespaceSelector/ipBlock; ipBlock only alone. */
function validatePeer(peer: unknown, path: string): string[] {
  if (!isObject(peer)) return [`${path}: must be an object`];
  const p = peer as V1NetworkPolicyPeer;
  const errs: string[] = [];
  let count = 0;
  if (p.podSelector !== undefined && p.podSelector !== null) {
    count++;
    errs.push(...validateSelectorField(p.podSelector, `${path}.podSelector`));
  }
  if (p.namespaceSelector !== undefined && p.namespaceSelector !== null) {
    count++;
    errs.push(...validateSelectorField(p.namespaceSelector, `${path}.namespaceSelector`));
  }
  if (p.ipBlock !== undefined && p.ipBlock !== null) {
    count++;
    errs.push(...validateIpBlock({ cidr: p.ipBlock.cidr, except: p.ipBlock.except ?? [] }, `${path}.ipBlock`));
  }
  if (count === 0) errs.push(`${path}: must specify a peer (podSelector, namespaceSelector or ipBlock)`);
  else if (count > 1 && p.ipBlock) errs.push(`${path}: ipBlock may not be combined with a selector in one peer`);
  return errs;
}

function validateRule(rule: unknown, path: string, peersField: 'from' | 'to'): string[] {
  // A null rule decodes to the zero rule `{}` (it admits everyone), as the API server stores it.
  if (rule === null) return [];
  if (!isObject(rule)) return [`${path}: must be an object`];
  return [
    ...validateList(rule.ports, `${path}.ports`, (port, at) =>
      isObject(port) ? validatePolicyPort(port, at) : [`${at}: must be an object`],
    ),
    // client-node deserialises `from` as `_from`; plain manifests keep `from`.
    ...validateList(rule[peersField] ?? rule[`_${peersField}`], `${path}.${peersField}`, validatePeer),
  ];
}

/** Problems that would make the API server reject this NetworkPolicy, each `field: message`; [] when valid. */
export function validatePolicy(policy: V1NetworkPolicy): string[] {
  if (!isObject(policy)) return ['must be an object'];
  const errs: string[] = [];
  if (!isObject(policy.metadata) || !policy.metadata.name) errs.push('metadata.name: Required value');
  else if (!isDnsSubdomain(String(policy.metadata.name))) {
    // ValidateObjectMeta with NameIsDNSSubdomain.
    errs.push(`metadata.name: "${policy.metadata.name}" must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')`);
  }
  const spec: unknown = policy.spec;
  if (spec === undefined || spec === null) return errs;
  if (!isObject(spec)) return [...errs, 'spec: must be an object'];
  // NetworkPolicySpec.podSelector is a struct, not a pointer: absent is the same as {}.
  if (spec.podSelector !== undefined && spec.podSelector !== null) {
    errs.push(...validateSelectorField(spec.podSelector, 'spec.podSelector'));
  }
  errs.push(...validateList(spec.ingress, 'spec.ingress', (r, at) => validateRule(r, at, 'from')));
  errs.push(...validateList(spec.egress, 'spec.egress', (r, at) => validateRule(r, at, 'to')));
  if (spec.policyTypes !== undefined && spec.policyTypes !== null) {
    if (!Array.isArray(spec.policyTypes)) errs.push('spec.policyTypes: must be a list');
    else if (spec.policyTypes.length > 2) errs.push('spec.policyTypes: may not specify more than two policyTypes');
    else {
      spec.policyTypes.forEach((t, i) => {
        if (t !== 'Ingress' && t !== 'Egress') {
          errs.push(`spec.policyTypes[${i}]: Unsupported value "${String(t)}" (Ingress, Egress)`);
        }
      });
    }
  }
  return errs;
}
