/** Where snapshots come from: the contract between commands and the two loaders (files, live). */
import type { ClusterSnapshot, WorkloadKind } from '../engine/model.js';

/** What a query needs from the cluster, so the live loader lists no more than that. */
export interface SnapshotScope {
  /** Namespaces whose pods, policies, services and workloads are needed; undefined means all. */
  namespaces?: string[];
  /** Workloads named by the query (TARGET or --from), fetched by kind and name. */
  workloads?: { kind: WorkloadKind; namespace: string; name: string }[];
  /** Services named by the query. */
  services?: { namespace: string; name: string }[];
}

/** A loaded snapshot and what the loader wants the user to know about it. */
export interface LoadedSnapshot {
  snapshot: ClusterSnapshot;
  /** One line each, e.g. "examples/app.yaml: skipped kind ConfigMap (not used by network policy)". */
  warnings: string[];
}

/** Connection settings for the live path, named after kubectl's flags. */
export interface LiveOptions {
  kubeconfig?: string;
  context?: string;
  /** --request-timeout in milliseconds; 0 or undefined means no timeout. */
  requestTimeoutMs?: number;
}
