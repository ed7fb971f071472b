/**
 * What a compiled rule admits: which pods its peers admit (NetworkPolicyPeer) and which ports it
 * opens on a destination (NetworkPolicyPort). Every question "does this peer admit this pod" is
 * answered here, through the compiled peer.
 */
import type { V1NetworkPolicyPeer, V1Pod } from '@kubernetes/client-node';

import type { CompiledPeer, CompiledRule, PodClass, PodInfo, World } from './world.js';
import { compileIpBlock, ipBlockContains } from './ipblock.js';
import type { PortSet } from './model.js';
import { resolvePorts } from './ports.js';
import type { Labels } from './selector.js';
import { compileSelector } from './selector.js';

/** The ports a rule admits on a destination pod (named ports resolve on it). */
export function portsOfRule(rule: CompiledRule, destination: V1Pod): PortSet {
  return rule.fixedPorts ?? resolvePorts(rule.ports, destination);
}

/** Whether a pod peer of a rule in `policyNamespace` admits a pod of `namespace` with these labels. */
function podPeerAdmits(
  peer: CompiledPeer & { kind: 'pods' },
  policyNamespace: string,
  namespace: string,
  namespaceLabels: Labels,
  labels: Labels,
): boolean {
  // NetworkPolicyPeer: namespaceSelector absent means the policy's namespace; present, the namespaces it selects.
  const inNamespace = peer.namespaces ? peer.namespaces.matches(namespaceLabels) : namespace === policyNamespace;
  // podSelector absent means every pod of those namespaces; present, both must match (AND).
  return inNamespace && (peer.pods ? peer.pods.matches(labels) : true);
}

/**
 * Whether a peer of a rule in `policyNamespace` admits the pods of a class (a class holds pods alike
 * on every label some compiled selector reads: its labels stand for them all).
 */
export function peerAdmitsClass(peer: CompiledPeer, policyNamespace: string, cls: PodClass): boolean {
  if (peer.kind === 'ipBlock') return cls.ipBlockIds.has(peer.id);
  return podPeerAdmits(peer, policyNamespace, cls.namespace, cls.namespaceLabels, cls.labels);
}

/** Whether a rule's peers admit the pods of a class (`from`/`to` empty admits all). */
export function ruleAdmitsClass(rule: CompiledRule, cls: PodClass): boolean {
  return rule.peers === 'all' || rule.peers.some((p) => peerAdmitsClass(p, rule.ref.policy.namespace, cls));
}

/**
 * The namespaces (with pods) whose pods a pod peer may admit: the policy's own, or those its
 * namespaceSelector selects (memoised per world).
 */
export function namespacesOfPeer(
  world: World,
  peer: CompiledPeer & { kind: 'pods' },
  policyNamespace: string,
): string[] {
  if (!peer.namespaces) return [policyNamespace];
  const sel = peer.namespaces;
  const index = world.index;
  let namespaces = index.namespacesBySelector.get(sel.key);
  if (!namespaces) {
    namespaces = [...index.classesByNamespace.keys()].filter((ns) => sel.matches(world.namespaceLabels.get(ns)!));
    index.namespacesBySelector.set(sel.key, namespaces);
  }
  return namespaces;
}

/**
 * The pods a peer admits, written for a policy in `policyNamespace` but not (yet) in one: `allow`
 * asks which pods its peers stand for. The peer is compiled as compileWorld compiles rule peers.
 */
export function podsAdmittedByPeer(world: World, peer: V1NetworkPolicyPeer, policyNamespace: string): PodInfo[] {
  if (peer.ipBlock) {
    // An ipBlock admits a pod when it holds one of the pod's IPs (docs/semantics.md).
    const block = compileIpBlock({ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] });
    return world.pods.filter((pod) => pod.ips.some((ip) => ipBlockContains(block, ip)));
  }
  const compiled: CompiledPeer = {
    kind: 'pods',
    namespaces: peer.namespaceSelector ? compileSelector(peer.namespaceSelector) : undefined,
    pods: peer.podSelector ? compileSelector(peer.podSelector) : undefined,
    source: peer,
  };
  // Matched against each pod's own labels: the world's classes only tell apart the keys its policies read.
  return world.pods.filter((pod) =>
    podPeerAdmits(
      compiled,
      policyNamespace,
      pod.ref.namespace,
      world.classes[pod.classId].namespaceLabels,
      pod.pod.metadata?.labels ?? {},
    ),
  );
}
