/** Where snapshots come from: the contract between commands and the two loaders (files, live). */
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';

import type { ClusterSnapshot, WorkloadKind } from '../engine/model.js';

/** What a query needs from the cluster, so the live loader lists no more than that. */
export interface SnapshotScope {
  /** Namespaces whose pods, policies, services and workloads are needed; undefined means all. */
  namespaces?: string[];
  /** Workloads named by the query (TARGET or --from), fetched by kind and name. */
  workloads?: { kind: WorkloadKind; namespace: string; name: string }[];
  /**
   * Services named by the query, read by name (get); one that does not exist is left out, and so is
   * an `optional` one the user may not read (with a warning).
   */
  services?: { namespace: string; name: string; optional?: boolean }[];
  /**
   * Whether every Service of the scoped namespaces is listed (the default). false: only the Services
   * named in `services` are read, so a user without list on services can still run the query.
   */
  listServices?: boolean;
  /**
   * Namespaces whose Services are listed only to help (a hint naming a Service port): a user who may
   * not list them still gets the answer, with a warning. Ignored when listServices lists them anyway.
   */
  hintServices?: string[];
  /**
   * Whether Node objects are listed even when no cluster policy read has a `nodes` peer: the query
   * adds policies of its own that have one (`diff -f`).
   */
  nodes?: boolean;
}

/** A loaded snapshot and what the loader wants the user to know about it. */
export interface LoadedSnapshot {
  snapshot: ClusterSnapshot;
  /** One line each, e.g. "examples/app.yaml: skipped kind ConfigMap (not used by network policy)". */
  warnings: string[];
  /**
   * Live only: the API groups the cluster serves, from discovery (GET /apis); what `isolate --baseline`
   * picks its ClusterNetworkPolicy version from (tier-policies.ts tierVersionsToRead) and names when it
   * must refuse. Absent when discovery could not be read.
   */
  apiGroups?: ServedApiGroup[];
  /** Files only: the namespaces objects name that no Namespace manifest defines (their snapshot copies hold only the name label). */
  impliedNamespaces?: string[];
  /**
   * Where each object was read from (-f only): `Kind/namespace/name` (`Kind/name` for a Namespace or
   * a cluster-scoped policy) -> file and 1-based line of its document.
   */
  origins?: ReadonlyMap<string, ObjectOrigin>;
}

/** An API group the cluster serves and its versions, the preferred one first, as discovery lists them. */
export interface ServedApiGroup {
  name: string;
  versions: string[];
}

/** Where a manifest object was defined. */
export interface ObjectOrigin {
  file: string;
  line: number;
}

/** Connection settings for the live path, named after kubectl's flags. */
export interface LiveOptions {
  kubeconfig?: string;
  context?: string;
  /**
   * --request-timeout in milliseconds: how long the command may wait for the API server, all its
   * requests together; 0 or undefined means no timeout. A connect and a TLS handshake are bounded
   * whatever it says (30 s and 10 s, or KUBECTL_NETPOL_DIAL_TIMEOUT and
   * KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT).
   */
  requestTimeoutMs?: number;
  /** --insecure-skip-tls-verify: do not check the server's certificate (only when asked for). */
  insecureSkipTlsVerify?: boolean;
  /** How reads (get, list) are retried; the defaults suit people, tests shorten the waits. */
  retry?: Partial<RetryPolicy>;
  /**
   * Put before the in-cluster service account's paths (`<prefix>/var/run/secrets/kubernetes.io/
   * serviceaccount/token`, ca.crt, namespace), as client-node's loadFromCluster(pathPrefix) does;
   * '' by default. Tests put a pod's files under a temporary directory.
   */
  inClusterPathPrefix?: string;
  /** Called for each page of every list call (`pods`, 500): what a progress line counts. */
  onListPage?: (resource: string, count: number) => void;
  /** Called once for each distinct warning the API server sends (`Warning: 299 - "text"` headers), with its text. */
  onWarning?: (message: string) => void;
}

/** Bounded retries of reads: never of writes, which are not idempotent. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Backoff before the second try, doubled before each next one, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server's Retry-After (429, 503) is honoured up to this long; beyond it the read fails. */
  maxRetryAfterMs: number;
}

/** How a write is made: `dryRun: 'All'` is server-side dry run; fieldManager names the writer. */
export interface WriteOptions {
  dryRun?: 'All';
  fieldManager?: string;
}

/** Where a cluster-scoped custom resource is served: /apis/GROUP/VERSION/PLURAL. */
export interface ClusterResource {
  group: string;
  version: string;
  plural: string;
}

/** A cluster-scoped custom object (a ClusterNetworkPolicy) as it is written and read back. */
export interface ClusterObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  spec: Record<string, unknown>;
}

/** The API calls commands make beyond a snapshot; live-api.ts serves them over HTTP, tests from memory. */
export interface ClusterApi {
  /** Every namespace (cluster-wide list, paginated). */
  listNamespaces(): Promise<V1Namespace[]>;
  /** One namespace; ApiError 404 when it does not exist. */
  readNamespace(name: string): Promise<V1Namespace>;
  /** NetworkPolicies of one namespace, or of all when namespace is undefined. */
  listNetworkPolicies(namespace?: string): Promise<V1NetworkPolicy[]>;
  /** One NetworkPolicy, or undefined when it does not exist. */
  readNetworkPolicy(namespace: string, name: string): Promise<V1NetworkPolicy | undefined>;
  /** Creates a NetworkPolicy; ApiError 409 when one of that name exists. */
  createNetworkPolicy(namespace: string, body: V1NetworkPolicy, opts?: WriteOptions): Promise<V1NetworkPolicy>;
  /** Replaces a NetworkPolicy (PUT); pass metadata.resourceVersion for an optimistic update. */
  replaceNetworkPolicy(
    namespace: string,
    name: string,
    body: V1NetworkPolicy,
    opts?: WriteOptions,
  ): Promise<V1NetworkPolicy>;
  /** Deletes a NetworkPolicy; ApiError 404 when it does not exist. */
  deleteNetworkPolicy(namespace: string, name: string, opts?: Pick<WriteOptions, 'dryRun'>): Promise<void>;
  /** One cluster-scoped custom object, or undefined when it does not exist. */
  readClusterObject(resource: ClusterResource, name: string): Promise<ClusterObject | undefined>;
  /** Creates a cluster-scoped custom object; ApiError 409 when one of that name exists. */
  createClusterObject(resource: ClusterResource, body: ClusterObject, opts?: WriteOptions): Promise<ClusterObject>;
  /** Replaces a cluster-scoped custom object (PUT); pass metadata.resourceVersion for an optimistic update. */
  replaceClusterObject(
    resource: ClusterResource,
    name: string,
    body: ClusterObject,
    opts?: WriteOptions,
  ): Promise<ClusterObject>;
  /** Deletes a cluster-scoped custom object; ApiError 404 when it does not exist. */
  deleteClusterObject(resource: ClusterResource, name: string, opts?: Pick<WriteOptions, 'dryRun'>): Promise<void>;
}

/** A cluster to work with: where it is, its default namespace, snapshots and API calls. */
export interface ClusterConnection {
  /** The kubeconfig context in use. */
  contextName: string;
  /** The context's namespace, else 'default' (what `-n` defaults to). */
  defaultNamespace: string;
  /** The API server URL. */
  server: string;
  /** Lists what the scope needs and returns it as a snapshot. */
  loadSnapshot(scope: SnapshotScope): Promise<LoadedSnapshot>;
  api: ClusterApi;
}
