/** Resolving what a query names (a pod, a workload, a service, a label selector) to pods. */
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { World } from './compile.js';
import type { PodRef, PortQuery, Protocol, Warning, WorkloadKind } from './model.js';

/** What TARGET or --from names. */
export type TargetSpec =
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'service'; namespace: string; name: string }
  | { kind: WorkloadKind; namespace: string; name: string }
  /** Pods matching a selector in the given namespaces (undefined: every namespace). */
  | { kind: 'selector'; namespaces?: string[]; selector: V1LabelSelector };

/** Pods a spec names, in snapshot order; an empty list comes with a warning saying why. */
export function resolveTargets(world: World, spec: TargetSpec): { pods: PodRef[]; warnings: Warning[] } {
  void world;
  void spec;
  throw new Error('resolveTargets: not implemented yet');
}

/**
 * A Service port (number or name, optional protocol) resolved to what its pods receive:
 * spec.ports[].targetPort, a number or a container port name. Throws when the Service has no such port.
 */
export function resolveServicePort(
  world: World,
  service: { namespace: string; name: string },
  port: number | string,
  protocol?: Protocol,
): PortQuery {
  void world;
  void service;
  void port;
  void protocol;
  throw new Error('resolveServicePort: not implemented yet');
}

/** The workload that owns a pod (a ReplicaSet's Deployment when its pod-template-hash says so), or the pod itself. */
export function workloadOf(pod: V1Pod): { kind: string; name: string } {
  void pod;
  throw new Error('workloadOf: not implemented yet');
}
