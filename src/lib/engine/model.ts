/**
 * Plain types of the policy engine, and the few API rules about objects that every layer needs (an
 * object's namespace/name, policyTypes defaulting, the namespace name label): each written once, here.
 * The engine is pure: it takes a ClusterSnapshot (the API's own object shapes, imported as types
 * only) and returns decisions as data.
 */
import type { V1LabelSelector, V1Namespace, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';

import type { TierRuleHit } from './tiers.js';
import type { ClusterTierPolicy } from './tiers-compile.js';

/** Protocols a NetworkPolicyPort may name (networking.k8s.io/v1 NetworkPolicyPort.protocol). */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
/** All protocols, in display order. */
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** Kinds of workload that own pods and that a manifest may carry instead of pods. */
export type WorkloadKind =
  'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'ReplicationController' | 'Job' | 'CronJob';

/** A workload object as far as the engine needs it: its pod selector and template labels. */
export interface Workload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** spec.selector (ReplicationController's map form is converted to matchLabels). */
  selector?: V1LabelSelector;
  templateLabels: Record<string, string>;
}

/**
 * The world the engine reasons about. Live clusters and manifest files both produce it, in one shape:
 * the API's objects as client-node types them, so every ingress rule's peers are under `_from`
 * (cluster/policy-shape.ts normalises manifests where a snapshot is built).
 */
export interface ClusterSnapshot {
  namespaces: V1Namespace[];
  pods: V1Pod[];
  policies: V1NetworkPolicy[];
  services: V1Service[];
  workloads: Workload[];
  /** Cluster-scoped tier policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy), when read. */
  clusterPolicies?: ClusterTierPolicy[];
  /**
   * Node objects, for the tiers' `nodes` peers. Absent when none were read (-f files without
   * `kind: Node`; live, listed only when some tier rule has a `nodes` peer): the peers then fail
   * closed, since which nodes they select is unknown. [] is a cluster listed with no nodes.
   */
  nodes?: ClusterNode[];
  /** Live: Node objects were needed but could not be read (forbidden): `nodes` peers fail closed. */
  nodesUnreadable?: boolean;
}

/** A Node as the tiers read it: its name, labels and IP addresses (status.addresses InternalIP, ExternalIP). */
export interface ClusterNode {
  name: string;
  labels: Record<string, string>;
  addresses: string[];
}

/** A pod by namespace and name. */
export interface PodRef {
  namespace: string;
  name: string;
}

/** A NetworkPolicy by namespace and name. */
export interface PolicyRef {
  namespace: string;
  name: string;
}

/**
 * The label the API server sets on every namespace, to the namespace's name (immutable since 1.22):
 * the reliable way for a namespaceSelector to name one namespace.
 */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** `namespace/name` of a pod, a policy or any namespaced object: the key of every map by object. */
export function keyOf(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

/**
 * A namespaced object's namespace and name from its metadata. An object without a namespace is in
 * `default`: where the snapshot builders put it (files take -n) and where the API server would.
 */
export function refOf(object: { metadata?: { namespace?: string; name?: string } }): PolicyRef {
  return { namespace: object.metadata?.namespace ?? 'default', name: object.metadata?.name ?? '' };
}

/** Whether an object is the one `ref` names. */
export function isObjectAt(object: { metadata?: { namespace?: string; name?: string } }, ref: PolicyRef): boolean {
  return object.metadata?.name === ref.name && (object.metadata?.namespace ?? 'default') === ref.namespace;
}

/** Traffic direction as seen by the subject pod of a policy. */
export type Direction = 'ingress' | 'egress';

/**
 * The directions a policy applies to. NetworkPolicySpec.policyTypes as written; when absent or empty
 * (SetDefaults_NetworkPolicy), Ingress always, and Egress only if the policy has egress rules.
 */
export function effectivePolicyTypes(policy: V1NetworkPolicy): Record<Direction, boolean> {
  const types = policy.spec?.policyTypes ?? [];
  if (types.length > 0) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (policy.spec?.egress ?? []).length > 0 };
}

/** One rule of one policy: spec.ingress[index] or spec.egress[index]. */
export interface RuleRef {
  policy: PolicyRef;
  direction: Direction;
  index: number;
}

/** An address block as written in a policy's ipBlock peer. */
export interface IpBlock {
  cidr: string;
  except: string[];
}

/** A source or destination of traffic: a pod, or addresses outside the cluster. */
export type Peer = { pod: PodRef } | { ipBlock: IpBlock };

/** An inclusive port range. */
export interface PortRange {
  from: number;
  to: number;
}

/** A set of ports: per protocol, sorted, disjoint, non-adjacent inclusive ranges. */
export type PortSet = Record<Protocol, PortRange[]>;

/** A concrete port to ask about: a number, or a name resolved on the destination pod. */
export interface PortQuery {
  port: number | string;
  protocol: Protocol;
}

/** Why a direction denied traffic (absent when it allowed it). */
export type DenialReason =
  /** No rule of the isolating policies admits the peer at all. */
  | 'no-rule-admits-peer'
  /** Some rules admit the peer, but none on the port asked about. */
  | 'no-rule-admits-port'
  /** The destination pod has no container port of the name asked about (a port name resolves on it). */
  | 'no-such-port'
  /** An address block only part of which the rules admit (`notAdmitted` holds the rest). */
  | 'partly-admitted'
  /** A Deny rule of a cluster-scoped tier policy (`tierRules` names it) decided. */
  | 'denied-by-tier';

/** Which layer decided a direction once cluster tiers are read: Admin tier, NetworkPolicy v1, Baseline tier, or none (allowed). */
export type DecidingLayer = 'Admin' | 'NetworkPolicy' | 'Baseline' | 'default';

/** A rule of a cluster-scoped policy (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) in an answer. */
export type TierRuleRef = TierRuleHit;

/** The verdict of one direction (the destination's ingress, or the source's egress). */
export interface DirectionDecision {
  allowed: boolean;
  /** True once some policy selects the subject pod for this direction. */
  isolated: boolean;
  /** Policies that select the subject pod for this direction. */
  selectedBy: PolicyRef[];
  /** Rules that admitted the traffic (empty when not isolated, or denied). */
  allowedBy: RuleRef[];
  /** Rules whose peers admit the other side but whose ports do not include the port asked about. */
  peerAdmittedBy: RuleRef[];
  reason?: DenialReason;
  /** With reason partly-admitted: the addresses of the block no rule admits, as CIDRs. */
  notAdmitted?: string[];
  /** False when the direction does not apply (egress of an address outside the cluster). */
  applies: boolean;
  /** Set only when cluster tiers are read, on a one-port answer: which layer decided. */
  decidedBy?: DecidingLayer;
  /** Set only when cluster tiers are read: the tier rules that decided (Accept rules when allowed, Deny rules when denied). */
  tierRules?: TierRuleRef[];
  /** Set only when cluster tiers are read: Pass rules on the way ("passed to NetworkPolicy"). */
  passedBy?: TierRuleRef[];
}

/** Whether traffic is allowed, with both halves of the answer. */
export interface Decision {
  allowed: boolean;
  ingress: DirectionDecision;
  egress: DirectionDecision;
}

/** Something the user should know about the answer, as data. */
export interface Warning {
  code:
    | 'invalid-policy'
    | 'host-network-pod'
    | 'pod-without-ip'
    | 'terminating-pod'
    | 'unresolved-named-port'
    | 'no-target'
    | 'service-port'
    | 'tier-fail-closed'
    | 'tier-ambiguous'
    | 'tier-domain-names';
  message: string;
}
