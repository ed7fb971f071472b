/**
 * The compiled world's shapes: policies compiled into rules and peers, pods as the engine sees them,
 * classes of pods that no policy tells apart, and the indexes built once per world (compile.ts builds
 * them; every query reads them).
 */
import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1Pod } from '@kubernetes/client-node';

import type { BlockIds, CompiledIpBlock, Ip } from './ipblock.js';
import type { ClusterSnapshot, PodRef, PolicyRef, PortSet, RuleRef, Warning } from './model.js';
import type { CompiledPort, PortSetInterner } from './ports.js';
import type { CompiledSelector, Labels } from './selector.js';
import type { TierEndpoint } from './tiers.js';
import type { TierSet } from './tiers-compile.js';

/** A peer of a rule, compiled. */
export type CompiledPeer =
  | {
      kind: 'pods';
      /** namespaceSelector, or undefined for "the policy's own namespace" (NetworkPolicyPeer.namespaceSelector absent). */
      namespaces?: CompiledSelector;
      /** podSelector, or undefined for "every pod" (NetworkPolicyPeer.podSelector absent). */
      pods?: CompiledSelector;
      source: V1NetworkPolicyPeer;
    }
  | { kind: 'ipBlock'; block: CompiledIpBlock; id: number; source: V1NetworkPolicyPeer };

/** One ingress or egress rule, compiled. */
export interface CompiledRule {
  ref: RuleRef;
  /** 'all' when `from`/`to` is empty or absent: the rule admits every peer. */
  peers: CompiledPeer[] | 'all';
  /** 'all' when `ports` is empty or absent: every port of every protocol. */
  ports: CompiledPort[] | 'all';
  /** The rule's ports when they name no port (the same on every destination), computed once. */
  fixedPorts?: PortSet;
}

/** A valid NetworkPolicy, compiled. */
export interface CompiledPolicy {
  ref: PolicyRef;
  podSelector: CompiledSelector;
  /** Rules per direction; undefined when the policy does not apply to that direction. */
  ingress?: CompiledRule[];
  egress?: CompiledRule[];
  source: V1NetworkPolicy;
}

/** A pod as the engine sees it. */
export interface PodInfo {
  ref: PodRef;
  pod: V1Pod;
  ips: Ip[];
  classId: number;
  isHostNetwork: boolean;
  isTerminating: boolean;
}

/** Pods that every policy treats alike: same namespace, same labels where selectors look, same ipBlock hits, same named ports. */
export interface PodClass {
  id: number;
  namespace: string;
  /** A member; its labels and named ports stand for the whole class. */
  representative: PodInfo;
  labels: Labels;
  namespaceLabels: Labels;
  /** Ids of the ipBlock peers that contain one of the pods' IPs. */
  ipBlockIds: BlockIds;
  /** Id of that set of ipBlocks; classes with the same set share it (and the BlockIds object). */
  ipSignature: number;
  /** Id of the label class: classes alike except for their ipBlock hits (same namespace, labels, named ports). */
  labelClass: number;
  /** Id of the named ports that rules refer to (classes with the same id resolve every rule's ports alike). */
  namedPorts: number;
  /** Policies that select these pods, per direction. */
  ingressPolicies: CompiledPolicy[];
  egressPolicies: CompiledPolicy[];
  members: PodInfo[];
  /** The members' references, shared by every answer that lists them (made on first read). */
  readonly memberRefs: PodRef[];
}

/** A PodClass as compileWorld makes it: one shape for all, its members' references kept beside them. */
export class Class implements PodClass {
  /** Starts as the representative alone: most classes have one member, and an array made by a literal holds just it (one pushed to an empty array reserves room for 17). */
  readonly members: PodInfo[];
  /** Filled with members (add), so the first answer that lists a class pays nothing for it. */
  readonly memberRefs: PodRef[];

  constructor(
    readonly id: number,
    readonly labelClass: number,
    readonly namedPorts: number,
    readonly namespace: string,
    readonly representative: PodInfo,
    readonly labels: Labels,
    readonly namespaceLabels: Labels,
    readonly ipBlockIds: BlockIds,
    readonly ipSignature: number,
    readonly ingressPolicies: CompiledPolicy[],
    readonly egressPolicies: CompiledPolicy[],
  ) {
    this.members = [representative];
    this.memberRefs = [representative.ref];
  }

  /** Adds a member (after the representative) while the world is built (members are never added after). */
  add(pod: PodInfo): void {
    this.members.push(pod);
    this.memberRefs.push(pod.ref);
  }
}

/** A snapshot with its policies compiled and its pods indexed; build once, query many times. */
export interface World {
  snapshot: ClusterSnapshot;
  warnings: Warning[];
  policies: CompiledPolicy[];
  pods: PodInfo[];
  classes: PodClass[];
  /** Label class id -> its classes (they differ only in the ipBlocks their IPs fall in). */
  labelClasses: PodClass[][];
  /** ns/name -> pod */
  podsByKey: PodIndex;
  /** Namespace name -> labels (always including kubernetes.io/metadata.name). */
  namespaceLabels: Map<string, Labels>;
  /** Indexes for answering a query per class without visiting every pair (who-can.ts). */
  index: WorldIndex;
  /** Canonical port sets for this world's answers. */
  portSets: PortSetInterner;
  /** Memo for the engine's pair analyses (evaluate.ts). */
  cache: Map<number, unknown>;
  /** The cluster-scoped tier policies, compiled, and the classes as they see them; absent when the snapshot holds none (NetworkPolicy v1 alone decides). */
  tiers?: TierWorld;
}

/** A world's tier policies and its classes as the tiers see them (tier-world.ts builds it). */
export interface TierWorld {
  set: TierSet;
  /** Class id -> tier class id. */
  classOf: Int32Array;
  /** Tier class id -> a class of it (its pods stand for all), and its TierEndpoint. */
  reps: PodClass[];
  endpoints: TierEndpoint[];
  /** Tier class id -> its class ids. */
  members: number[][];
  /** Per tier class, what tier sides depend on. */
  signatures: TierSignatures;
  /** Memo of tierGroups. */
  groups: Map<string, { rep: number; classes: number[] }[]>;
}

/** Per tier class id: which policies select it (per direction), which rules match it as the other end, its port names. */
export interface TierSignatures {
  subjectIn: string[];
  subjectOut: string[];
  otherIn: string[];
  otherOut: string[];
  ports: string[];
}

/** An egress rule together with the policy it belongs to. */
export interface EgressRuleOf {
  policy: CompiledPolicy;
  rule: CompiledRule;
}

/** Indexes built once per world. */
export interface WorldIndex {
  /** Namespace -> its pod classes. */
  classesByNamespace: Map<string, PodClass[]>;
  /** Classes that no policy selects for egress (their egress is open). */
  egressOpenClasses: Int32Array;
  /** Policy -> the classes it selects for egress. */
  egressClassesByPolicy: Map<CompiledPolicy, Int32Array>;
  /** ipBlock signature id -> classes that have it (few signatures: one per address interval). */
  classesBySignature: number[][];
  /** Class id -> its members' references (PodClass.memberRefs side by side: an answer listing many classes reads one array). */
  memberRefs: PodRef[][];
  /** ipBlock signature id -> the ipBlock ids in it. */
  signatures: BlockIds[];
  /** Egress rules that admit every destination (`to` empty). */
  egressToAll: EgressRuleOf[];
  /** Namespace -> egress rules with a pod peer that can match pods there (selector checked per query). */
  egressByDestinationNamespace: Map<
    string,
    { policy: CompiledPolicy; rule: CompiledRule; peer: CompiledPeer & { kind: 'pods' } }[]
  >;
  /** ipBlock peer id -> egress rules with that peer. */
  egressByIpBlock: Map<number, EgressRuleOf[]>;
  /** Memo: namespace selector key -> the namespaces it selects. */
  namespacesBySelector: Map<string, string[]>;
  /** Namespace -> its label classes. */
  labelClassesByNamespace: Map<string, number[]>;
  /** `key=value` (keys some pod selector reads) -> the label classes carrying it. */
  labelClassesByLabel: Map<string, number[]>;
}

/** Pods by `namespace/name` (keyOf), held per namespace so that indexing a pod builds no string. */
export class PodIndex {
  private readonly byNamespace = new Map<string, Map<string, PodInfo>>();

  add(info: PodInfo): void {
    let names = this.byNamespace.get(info.ref.namespace);
    if (!names) this.byNamespace.set(info.ref.namespace, (names = new Map()));
    names.set(info.ref.name, info);
  }

  get(key: string): PodInfo | undefined {
    // Namespace names cannot hold a '/': the first one ends it.
    const slash = key.indexOf('/');
    return slash < 0 ? undefined : this.byNamespace.get(key.slice(0, slash))?.get(key.slice(slash + 1));
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
}
