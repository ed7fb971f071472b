/**
 * The live loader: the ONLY module that loads @kubernetes/client-node values. Callers import it
 * lazily (`await import('./live.js')`) so that `-f` runs never pay for client-node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  NetworkingV1Api,
  ServerConfiguration,
} from '@kubernetes/client-node';
import type {
  Cluster,
  Configuration,
  Context,
  Middleware,
  RequestContext,
  SecurityAuthentication,
  User,
  V1LabelSelector,
  V1ListMeta,
  V1Namespace,
  V1NetworkPolicy,
  V1Pod,
  V1PodTemplateSpec,
  V1Service,
} from '@kubernetes/client-node';

import type { Workload, WorkloadKind } from '../engine/model.js';
import { ApiError, KubeconfigError, NetpolError } from '../errors.js';
import { toTypedPolicy } from './policy-shape.js';
import type {
  ClusterApi,
  ClusterConnection,
  LiveOptions,
  LoadedSnapshot,
  RetryPolicy,
  SnapshotScope,
  WriteOptions,
} from './types.js';

/** A live cluster: a ClusterConnection plus the client-node handles for calls it does not wrap. */
export interface LiveCluster extends ClusterConnection {
  /** The kubeconfig, narrowed to the selected context. */
  kubeConfig: KubeConfig;
  /** Builds a client-node API client (e.g. `RbacAuthorizationV1Api`) that honours --request-timeout. */
  makeApiClient<T>(apiClass: new (config: Configuration) => T): T;
  /** Maps any error of a client-node call to a typed NetpolError (ApiError, KubeconfigError). */
  mapError(err: unknown, target: RequestTarget): NetpolError;
}

/** What a request was about, for error messages: `list networkpolicies.networking.k8s.io in ns`. */
export interface RequestTarget {
  verb: string;
  resource: string;
  /** API group; '' for the core group. */
  group: string;
  namespace?: string;
  name?: string;
}

/** Page size of every list call (`limit`), as kubectl uses. */
export const PAGE_SIZE = 500;
/** How many requests a snapshot keeps in flight at once. */
const MAX_IN_FLIGHT = 8;
const NO_KUBECONFIG = 'no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or use -f to read manifests';
/** Where a pod's service account is mounted (token, ca.crt, namespace). */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Reads are tried 3 times with 250 ms, then 500 ms of backoff; a Retry-After of up to 10 s is honoured. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 2000, maxRetryAfterMs: 10_000 };
/** HTTP statuses worth another try of a read: throttling and server-side failures. */
const RETRIABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
/** Transport failures worth another try of a read (the request may not have reached the server). */
const RETRIABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Singular names of the resources this module touches, for "<kind> "x" not found" messages. */
const SINGULAR: Record<string, string> = {
  namespaces: 'namespace',
  pods: 'pod',
  services: 'service',
  networkpolicies: 'networkpolicy',
  deployments: 'deployment',
  statefulsets: 'statefulset',
  daemonsets: 'daemonset',
  replicasets: 'replicaset',
  replicationcontrollers: 'replicationcontroller',
  jobs: 'job',
  cronjobs: 'cronjob',
};

/** A page of any list call. */
interface Page<T> {
  items: T[];
  metadata?: V1ListMeta;
}

/** The kubeconfig as merged from its files, before a context is chosen. */
interface MergedConfig {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext?: string;
  /** Files it came from (for messages); empty for in-cluster config. */
  files: string[];
}

/**
 * Resolves kubeconfig and context like kubectl (--kubeconfig, else KUBECONFIG merged first-wins,
 * else ~/.kube/config) and returns the cluster. No request is made until something is loaded.
 */
export async function connectLive(opts: LiveOptions, env: NodeJS.ProcessEnv = process.env): Promise<LiveCluster> {
  const merged = loadKubeconfig(opts, env);
  if (merged.clusters.length === 0) throw new KubeconfigError(NO_KUBECONFIG);
  const available = merged.contexts.map((c) => c.name);
  const contextName = opts.context || merged.currentContext;
  if (!contextName) {
    throw new KubeconfigError(
      'no current context is set in the kubeconfig',
      `pass --context (available: ${available.join(', ') || 'none'})`,
    );
  }
  const context = merged.contexts.find((c) => c.name === contextName);
  if (!context) {
    throw new KubeconfigError(
      `context "${contextName}" not found in the kubeconfig (available: ${available.join(', ') || 'none'})`,
      'list contexts with `kubectl config get-contexts`',
    );
  }
  const cluster = merged.clusters.find((c) => c.name === context.cluster);
  if (!cluster) {
    throw new KubeconfigError(`context "${contextName}" refers to cluster "${context.cluster}", which is not defined`);
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // client-node refuses http:// servers unless TLS verification is off; kubectl allows them
    // (e.g. `kubectl proxy`), and there is no TLS to verify, so say so. https:// servers are
    // verified unless the kubeconfig or --insecure-skip-tls-verify says otherwise.
    clusters: merged.clusters.map((c) =>
      c.server.startsWith('http:') || (opts.insecureSkipTlsVerify && c.name === cluster.name)
        ? { ...c, skipTLSVerify: true }
        : { ...c, skipTLSVerify: c.skipTLSVerify === true },
    ),
    users: merged.users,
    contexts: merged.contexts,
    currentContext: contextName,
  });
  const retry = { ...DEFAULT_RETRY, ...opts.retry };
  const connection = new Connection(kubeConfig, contextName, cluster.server, opts.requestTimeoutMs ?? 0, retry);
  connection.onListPage = opts.onListPage;
  const api = new LiveApi(connection);
  return {
    contextName,
    defaultNamespace: context.namespace || 'default',
    server: cluster.server,
    api,
    kubeConfig,
    loadSnapshot: (scope) => loadLiveSnapshot(connection, api, scope),
    makeApiClient: (apiClass) => connection.makeApiClient(apiClass),
    mapError: (err, target) => connection.mapError(err, target),
  };
}

/** Reads and merges the kubeconfig files kubectl would read; never echoes file contents. */
function loadKubeconfig(opts: LiveOptions, env: NodeJS.ProcessEnv): MergedConfig {
  let files: string[];
  if (opts.kubeconfig) {
    files = [opts.kubeconfig];
  } else if (env.KUBECONFIG) {
    // kubectl skips KUBECONFIG entries that do not exist.
    files = env.KUBECONFIG.split(delimiter).filter((f) => f !== '' && existsSync(f));
  } else {
    const home = env.HOME || env.USERPROFILE || homedir();
    const config = join(home, '.kube', 'config');
    files = existsSync(config) ? [config] : [];
  }
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (files.length === 0 && env.KUBERNETES_SERVICE_HOST && existsSync(join(saDir, 'token'))) {
    return { ...inClusterConfig(env, saDir), files: [] };
  }
  const merged: MergedConfig = { clusters: [], users: [], contexts: [], files };
  for (const file of files) {
    const part = snapshotOf(readKubeconfigFile(file));
    // kubectl's merge: the first file to set a value wins, for current-context and for each name.
    merged.currentContext ||= part.currentContext;
    mergeByName(merged.clusters, part.clusters);
    mergeByName(merged.users, part.users);
    mergeByName(merged.contexts, part.contexts);
  }
  return merged;
}

/**
 * In-cluster config, as client-go's rest.InClusterConfig: the API server at KUBERNETES_SERVICE_HOST
 * and _PORT, its CA and a token file (re-read as it rotates) from the service account directory.
 */
function inClusterConfig(env: NodeJS.ProcessEnv, saDir: string): Omit<MergedConfig, 'files'> {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const caFile = join(saDir, 'ca.crt');
  const namespaceFile = join(saDir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  return {
    clusters: [{ name: 'in-cluster', server, caFile: existsSync(caFile) ? caFile : undefined, skipTLSVerify: false }],
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster', namespace }],
    currentContext: 'in-cluster',
  };
}

function readKubeconfigFile(file: string): KubeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new KubeconfigError(`cannot read kubeconfig ${file}: ${reason ?? 'unreadable'}`);
  }
  const kc = new KubeConfig();
  if (text.trim() === '') return kc;
  try {
    // Entries without a name or server are dropped, as kubectl ignores them until they are used.
    kc.loadFromString(text, { onInvalidEntry: 'filter' });
  } catch (err) {
    // js-yaml's own message quotes the offending lines, which may hold credentials: keep only the reason.
    const { reason, mark } = err as { reason?: string; mark?: { line: number } };
    const where = mark ? ` at line ${mark.line + 1}` : '';
    throw new KubeconfigError(`cannot parse kubeconfig ${file}${where}: ${reason ?? 'not a kubeconfig'}`);
  }
  kc.makePathsAbsolute(dirname(file));
  return kc;
}

function snapshotOf(kc: KubeConfig): Omit<MergedConfig, 'files'> {
  return {
    clusters: kc.getClusters() ?? [],
    users: kc.getUsers() ?? [],
    contexts: kc.getContexts() ?? [],
    currentContext: kc.getCurrentContext() || undefined,
  };
}

function mergeByName<T extends { name: string }>(into: T[], from: T[]): void {
  for (const item of from) if (!into.some((existing) => existing.name === item.name)) into.push(item);
}

/** The transport: API clients with the timeout middleware, and error mapping with secrets redacted. */
class Connection {
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  private readonly secrets: string[];
  /** Authenticates each request; credential plugin failures become KubeconfigErrors without their output. */
  private readonly auth: SecurityAuthentication;

  /** Told about each page of each list (LiveOptions.onListPage). */
  onListPage?: (resource: string, count: number) => void;

  constructor(
    readonly kubeConfig: KubeConfig,
    readonly contextName: string,
    readonly server: string,
    readonly timeoutMs: number,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.secrets = collectSecrets(kubeConfig.getCurrentUser());
    this.auth = this.makeAuth();
    this.core = this.makeApiClient(CoreV1Api);
    this.networking = this.makeApiClient(NetworkingV1Api);
    this.apps = this.makeApiClient(AppsV1Api);
    this.batch = this.makeApiClient(BatchV1Api);
  }

  makeApiClient<T>(apiClass: new (config: Configuration) => T): T {
    const promiseMiddleware = this.timeoutMs > 0 ? [abortAfter(this.timeoutMs)] : [];
    const config = createConfiguration({
      baseServer: new ServerConfiguration(this.server, {}),
      authMethods: { default: this.auth },
      promiseMiddleware,
    });
    return new apiClass(config);
  }

  /**
   * Runs one call, mapping whatever it throws. Reads (get, list) that fail in a way worth another try
   * (429, 5xx, a reset or refused connection, a cut-short response) are tried again, a bounded number
   * of times; writes never are, since the first may have been applied.
   */
  async call<T>(target: RequestTarget, request: () => Promise<T>): Promise<T> {
    const isRead = target.verb === 'get' || target.verb === 'list';
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        const delay = isRead && attempt < this.retry.attempts ? this.retryDelay(err, attempt) : undefined;
        if (delay === undefined) {
          const mapped = this.mapError(err, target);
          return Promise.reject(attempt > 1 ? withAttempts(mapped, attempt) : mapped);
        }
        await sleep(delay);
      }
    }
  }

  /** How long to wait before trying a read again, or undefined when it is not worth it. */
  private retryDelay(err: unknown, attempt: number): number | undefined {
    const backoff = Math.min(this.retry.baseDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs);
    if (err instanceof ApiException) {
      if (!RETRIABLE_STATUSES.has(err.code)) return undefined;
      const headers = (err.headers ?? {}) as Record<string, string>;
      const retryAfter = retryAfterMs(headers['retry-after']);
      if (retryAfter === undefined) return backoff;
      // A server asking for a longer pause than we are willing to wait: fail now and say so.
      return retryAfter <= this.retry.maxRetryAfterMs ? retryAfter : undefined;
    }
    if (err instanceof NetpolError) return undefined;
    // Our own --request-timeout: the user set the bound, so waiting it out again is not wanted.
    if ((err as { name?: string }).name === 'AbortError') return undefined;
    return isCutShort(err) || RETRIABLE_CODES.has(errorCode(err) ?? '') ? backoff : undefined;
  }

  /** Lists every page: `limit` per request, following `metadata.continue` until it is empty. */
  async listAll<T>(target: RequestTarget, fetchPage: (cont: string | undefined) => Promise<Page<T>>): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.call(target, () => fetchPage(cont));
      items.push(...(page.items ?? []));
      this.onListPage?.(target.resource, page.items?.length ?? 0);
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return items;
  }

  mapError(err: unknown, target: RequestTarget): NetpolError {
    if (err instanceof NetpolError) return err;
    if (err instanceof ApiException) return this.mapStatus(err.code, parseStatus(err.body), target);
    const { name } = err as { name?: string };
    const code = errorCode(err);
    const what = describeTarget(target);
    if (name === 'AbortError') {
      return new ApiError(
        `${what}: timed out after ${formatSeconds(this.timeoutMs)} talking to ${this.server}`,
        undefined,
        undefined,
        'raise --request-timeout, or check the network path to the API server',
      );
    }
    if (isCutShort(err)) {
      return new ApiError(
        `${what}: the response from ${this.server} was cut short or is not JSON`,
        undefined,
        undefined,
        'retry; if it persists, check proxies between you and the API server',
      );
    }
    if (code && NETWORK_ERROR_CODES.has(code)) {
      return new ApiError(
        `${what}: cannot reach the API server at ${this.server}: ${code}`,
        undefined,
        undefined,
        `check that the cluster of context "${this.contextName}" is running and reachable`,
      );
    }
    if (code && /CERT|TLS|SSL|SIGNATURE|VERIFY/.test(code)) {
      return new ApiError(
        `${what}: TLS error talking to ${this.server}: ${code}`,
        undefined,
        undefined,
        'check the certificate-authority of the cluster in the kubeconfig (--insecure-skip-tls-verify skips the check)',
      );
    }
    const message = this.redact(err instanceof Error ? err.message : String(err)).split('\n')[0];
    return new ApiError(`${what}: request to ${this.server} failed: ${message}`);
  }

  /**
   * The kubeconfig's authentication (token, basic, client certificate, auth provider, exec plugin),
   * applied per request. The credential it adds is remembered for redaction; a failing credential
   * plugin becomes a KubeconfigError that names the plugin but never echoes its output.
   */
  private makeAuth(): SecurityAuthentication {
    const user = this.kubeConfig.getCurrentUser();
    return {
      getName: () => 'kubeconfig',
      applySecurityAuthentication: async (context: RequestContext) => {
        try {
          await this.kubeConfig.applySecurityAuthentication(context);
        } catch (err) {
          const exec = user?.exec as { command?: string } | undefined;
          const what = exec?.command
            ? `the credential plugin "${exec.command}" of user "${user?.name}" failed`
            : `cannot apply the credentials of user "${user?.name}"`;
          const code = errorCode(err);
          throw new KubeconfigError(
            `${what}${code ? ` (${code})` : ''}`,
            exec?.command
              ? 'run the plugin by hand to see its error, or refresh its login'
              : 'check the user in the kubeconfig (`kubectl config view --minify`)',
          );
        }
        const authorization = context.getHeaders().Authorization ?? context.getHeaders().authorization;
        const credential = authorization?.replace(/^(Bearer|Basic)\s+/i, '');
        if (credential && credential.length >= 4 && !this.secrets.includes(credential)) this.secrets.push(credential);
      },
    };
  }

  private mapStatus(status: number, body: ServerStatus, target: RequestTarget): ApiError {
    const serverMessage = body.message ? this.redact(body.message) : undefined;
    const resource = qualifiedResource(target.resource, target.group);
    if (status === 401) {
      return new ApiError(
        `unauthorized: the server rejected your credentials for context "${this.contextName}"`,
        status,
        serverMessage,
        'refresh the credentials of the context (`kubectl config view --minify` shows which user it uses)',
      );
    }
    if (status === 403) return forbidden(serverMessage, target);
    if (status === 404) {
      const kind = body.details?.kind ?? target.resource;
      const name = body.details?.name ?? target.name;
      const namespaced = target.namespace && kind !== 'namespaces' ? ` in namespace "${target.namespace}"` : '';
      const message = name
        ? `${SINGULAR[kind] ?? kind} "${name}" not found${namespaced}`
        : `not found: ${serverMessage ?? `${target.verb} ${resource}`}`;
      return new ApiError(message, status, serverMessage);
    }
    if (status === 409) {
      return new ApiError(`conflict: ${serverMessage ?? `${target.verb} ${resource}`}`, status, serverMessage);
    }
    if (status === 429) {
      return new ApiError(
        `${describeTarget(target)}: the API server at ${this.server} is throttling requests (HTTP 429): ${serverMessage ?? body.reason ?? 'too many requests'}`,
        status,
        serverMessage,
        'retry later',
      );
    }
    if (status >= 500) {
      return new ApiError(
        `${describeTarget(target)}: the API server at ${this.server} failed (HTTP ${status}): ${serverMessage ?? body.reason ?? 'no message'}`,
        status,
        serverMessage,
        'retry later; if it persists, ask the cluster administrator',
      );
    }
    const reason = status === 422 ? 'invalid' : `HTTP ${status}`;
    return new ApiError(`${reason}: ${serverMessage ?? `${target.verb} ${resource} failed`}`, status, serverMessage);
  }

  /** Removes the context's credentials from a message, should anything echo them. */
  private redact(message: string): string {
    return this.secrets.reduce((text, secret) => text.split(secret).join('[redacted]'), message);
  }
}

/** The parts of a metav1.Status body that messages use. */
interface ServerStatus {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; group?: string };
}

function parseStatus(body: unknown): ServerStatus {
  if (typeof body === 'string') {
    try {
      return parseStatus(JSON.parse(body));
    } catch {
      return body.trim() ? { message: body.trim().split('\n')[0] } : {};
    }
  }
  if (typeof body === 'object' && body !== null) return body as ServerStatus;
  return {};
}

/** 403: the server's own words (`User "x" cannot list resource "y" in API group "z" ...`) plus what to ask for. */
function forbidden(serverMessage: string | undefined, target: RequestTarget): ApiError {
  const match = serverMessage
    ? /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(.*)$/.exec(serverMessage)
    : null;
  const [verb, resource, group] = match ? [match[2], match[3], match[4]] : [target.verb, target.resource, target.group];
  const message = match
    ? `forbidden: user "${match[1]}" cannot ${verb} resource "${resource}" in API group "${group}"${match[5]}`
    : `forbidden: ${serverMessage ?? `cannot ${verb} ${qualifiedResource(resource, group)}`}`;
  const isRead = verb === 'list' || verb === 'get' || verb === 'watch';
  const hint = `ask for ${verb} on ${qualifiedResource(resource, group)}${isRead ? ' or use -f to read manifests' : ''}`;
  return new ApiError(message, 403, serverMessage, hint);
}

function qualifiedResource(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** A middleware that aborts each request after `ms` (AbortSignal.timeout's timer never holds the process). */
function abortAfter(ms: number): Middleware {
  return {
    pre: async (context) => {
      context.setSignal(AbortSignal.timeout(ms));
      return context;
    },
    post: async (context) => context,
  };
}

function collectSecrets(user: User | null): string[] {
  if (!user) return [];
  const values: unknown[] = [
    user.token,
    user.password,
    user.keyData,
    user.keyData ? Buffer.from(user.keyData, 'base64').toString('utf8') : undefined,
    ...Object.values(user.authProvider?.config ?? {}),
    ...((user.exec as { env?: { value?: string }[] } | undefined)?.env ?? []).map((e) => e?.value),
  ];
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

/** `list pods in namespace "x"`, `create networkpolicies.networking.k8s.io "n" in namespace "x"`: what failed. */
export function describeTarget(target: RequestTarget): string {
  const resource = qualifiedResource(target.resource, target.group);
  const name = target.name ? ` "${target.name}"` : '';
  const where = target.namespace && target.resource !== 'namespaces' ? ` in namespace "${target.namespace}"` : '';
  return `${target.verb} ${resource}${name}${where}`;
}

/** The error's code, on it or on its cause (node-fetch keeps the socket's code in `code` or `errno`). */
function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errno?: unknown; cause?: { code?: unknown } } | undefined;
  for (const value of [e?.code, e?.errno, e?.cause?.code]) if (typeof value === 'string') return value;
  return undefined;
}

/** A response that ended early, or whose body is not the JSON the API sends. */
function isCutShort(err: unknown): boolean {
  const { name, message, code, type } = err as { name?: string; message?: string; code?: string; type?: string };
  if (name === 'SyntaxError') return true;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  return (
    type === 'invalid-json' ||
    /Premature close|Invalid response body|Unexpected end of JSON/.test(message ?? '') ||
    (type === 'system' && /body/.test(message ?? ''))
  );
}

/** Seconds (`120`) or an HTTP date in Retry-After, as milliseconds. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The same error, its message saying how many tries it took. */
function withAttempts(err: NetpolError, attempts: number): NetpolError {
  if (!(err instanceof ApiError)) return err;
  return new ApiError(`${err.message} (after ${attempts} attempts)`, err.status, err.serverMessage, err.hint);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The ClusterApi over HTTP. */
class LiveApi implements ClusterApi {
  constructor(private readonly conn: Connection) {}

  listNamespaces(): Promise<V1Namespace[]> {
    return this.conn.listAll({ verb: 'list', resource: 'namespaces', group: '' }, (cont) =>
      this.conn.core.listNamespace({ limit: PAGE_SIZE, _continue: cont }),
    );
  }

  readNamespace(name: string): Promise<V1Namespace> {
    return this.conn.call({ verb: 'get', resource: 'namespaces', group: '', name }, () =>
      this.conn.core.readNamespace({ name }),
    );
  }

  listNetworkPolicies(namespace?: string): Promise<V1NetworkPolicy[]> {
    const target = { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io', namespace };
    const api = this.conn.networking;
    return this.conn.listAll(target, (cont) =>
      namespace === undefined
        ? api.listNetworkPolicyForAllNamespaces({ limit: PAGE_SIZE, _continue: cont })
        : api.listNamespacedNetworkPolicy({ namespace, limit: PAGE_SIZE, _continue: cont }),
    );
  }

  async readNetworkPolicy(namespace: string, name: string): Promise<V1NetworkPolicy | undefined> {
    const target = { verb: 'get', resource: 'networkpolicies', group: 'networking.k8s.io', namespace, name };
    try {
      return await this.conn.call(target, () => this.conn.networking.readNamespacedNetworkPolicy({ namespace, name }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  createNetworkPolicy(namespace: string, body: V1NetworkPolicy, opts: WriteOptions = {}): Promise<V1NetworkPolicy> {
    const target = { verb: 'create', resource: 'networkpolicies', group: 'networking.k8s.io', namespace };
    return this.conn.call(target, () =>
      this.conn.networking.createNamespacedNetworkPolicy({
        namespace,
        body: toTypedPolicy(body),
        dryRun: opts.dryRun,
        fieldManager: opts.fieldManager,
      }),
    );
  }

  replaceNetworkPolicy(
    namespace: string,
    name: string,
    body: V1NetworkPolicy,
    opts: WriteOptions = {},
  ): Promise<V1NetworkPolicy> {
    const target = { verb: 'update', resource: 'networkpolicies', group: 'networking.k8s.io', namespace, name };
    return this.conn.call(target, () =>
      this.conn.networking.replaceNamespacedNetworkPolicy({
        namespace,
        name,
        body: toTypedPolicy(body),
        dryRun: opts.dryRun,
        fieldManager: opts.fieldManager,
      }),
    );
  }

  async deleteNetworkPolicy(namespace: string, name: string, opts: Pick<WriteOptions, 'dryRun'> = {}): Promise<void> {
    const target = { verb: 'delete', resource: 'networkpolicies', group: 'networking.k8s.io', namespace, name };
    await this.conn.call(target, () =>
      this.conn.networking.deleteNamespacedNetworkPolicy({ namespace, name, dryRun: opts.dryRun }),
    );
  }
}

/** Lists what the scope needs, in parallel but never more than MAX_IN_FLIGHT requests at once. */
async function loadLiveSnapshot(conn: Connection, api: LiveApi, scope: SnapshotScope): Promise<LoadedSnapshot> {
  const warnings: string[] = [];
  const limit = createLimiter(MAX_IN_FLIGHT);
  const scoped = scope.namespaces ? [...new Set(scope.namespaces)] : undefined;
  const perNamespace = <T>(list: (namespace?: string) => Promise<T[]>): Promise<T[]> =>
    scoped
      ? Promise.all(scoped.map((ns) => limit(() => list(ns)))).then((lists) => lists.flat())
      : limit(() => list(undefined));

  const listsServices = scope.listServices !== false;
  const [namespaces, pods, policies, listedServices, extraServices, workloads] = await Promise.all([
    limit(() => loadNamespaces(api, scoped, warnings)),
    perNamespace((ns) => listPods(conn, ns)),
    perNamespace((ns) => api.listNetworkPolicies(ns)),
    listsServices ? perNamespace((ns) => listServices(conn, ns)) : Promise.resolve([]),
    Promise.all(
      (scope.services ?? [])
        .filter((s) => !listsServices || (scoped !== undefined && !scoped.includes(s.namespace)))
        .map((s) => limit(() => readNamedService(conn, s, warnings))),
    ),
    Promise.all((scope.workloads ?? []).map((w) => limit(() => readWorkload(conn, w.kind, w.namespace, w.name)))),
  ]);
  const services = [...listedServices, ...extraServices.filter((s): s is V1Service => s !== undefined)];
  return {
    snapshot: { namespaces, pods, policies, services, workloads },
    warnings,
  };
}

/**
 * Namespaces are always listed cluster-wide: namespaceSelectors need every namespace's labels. When
 * listing is forbidden but the query names its namespaces, read those one by one instead.
 */
async function loadNamespaces(api: LiveApi, scoped: string[] | undefined, warnings: string[]): Promise<V1Namespace[]> {
  try {
    return await api.listNamespaces();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403 || !scoped) throw err;
    try {
      const namespaces = await Promise.all(scoped.map((name) => api.readNamespace(name)));
      warnings.push(
        `cannot list namespaces (forbidden); namespaceSelectors only see ${scoped.map((n) => `"${n}"`).join(', ')}`,
      );
      return namespaces;
    } catch (readErr) {
      if (readErr instanceof ApiError && readErr.status === 403) throw err;
      throw readErr;
    }
  }
}

function listPods(conn: Connection, namespace: string | undefined): Promise<V1Pod[]> {
  return conn.listAll({ verb: 'list', resource: 'pods', group: '', namespace }, (cont) =>
    namespace === undefined
      ? conn.core.listPodForAllNamespaces({ limit: PAGE_SIZE, _continue: cont })
      : conn.core.listNamespacedPod({ namespace, limit: PAGE_SIZE, _continue: cont }),
  );
}

function listServices(conn: Connection, namespace: string | undefined): Promise<V1Service[]> {
  return conn.listAll({ verb: 'list', resource: 'services', group: '', namespace }, (cont) =>
    namespace === undefined
      ? conn.core.listServiceForAllNamespaces({ limit: PAGE_SIZE, _continue: cont })
      : conn.core.listNamespacedService({ namespace, limit: PAGE_SIZE, _continue: cont }),
  );
}

function readService(conn: Connection, namespace: string, name: string): Promise<V1Service> {
  return conn.call({ verb: 'get', resource: 'services', group: '', namespace, name }, () =>
    conn.core.readNamespacedService({ namespace, name }),
  );
}

/**
 * A Service the query names: undefined when it does not exist (the query then says so in its own
 * words), or when it is optional and the user may not read it.
 */
async function readNamedService(
  conn: Connection,
  service: NonNullable<SnapshotScope['services']>[number],
  warnings: string[],
): Promise<V1Service | undefined> {
  try {
    return await readService(conn, service.namespace, service.name);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 404) return undefined;
    if (err.status === 403 && service.optional) {
      warnings.push(`cannot get service ${service.namespace}/${service.name} (forbidden); going on without it`);
      return undefined;
    }
    throw err;
  }
}

/** Reads one workload by kind and name and keeps what the engine needs of it. */
async function readWorkload(conn: Connection, kind: WorkloadKind, namespace: string, name: string): Promise<Workload> {
  const args = { namespace, name };
  const target = (resource: string, group: string): RequestTarget => ({
    verb: 'get',
    resource,
    group,
    namespace,
    name,
  });
  let selector: V1LabelSelector | undefined;
  let template: V1PodTemplateSpec | undefined;
  switch (kind) {
    case 'Deployment': {
      const obj = await conn.call(target('deployments', 'apps'), () => conn.apps.readNamespacedDeployment(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'StatefulSet': {
      const obj = await conn.call(target('statefulsets', 'apps'), () => conn.apps.readNamespacedStatefulSet(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'DaemonSet': {
      const obj = await conn.call(target('daemonsets', 'apps'), () => conn.apps.readNamespacedDaemonSet(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'ReplicaSet': {
      const obj = await conn.call(target('replicasets', 'apps'), () => conn.apps.readNamespacedReplicaSet(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'ReplicationController': {
      const obj = await conn.call(target('replicationcontrollers', ''), () =>
        conn.core.readNamespacedReplicationController(args),
      );
      // ReplicationControllerSpec.selector is a plain map: the equivalent of matchLabels.
      selector = obj.spec?.selector ? { matchLabels: obj.spec.selector } : undefined;
      template = obj.spec?.template;
      break;
    }
    case 'Job': {
      const obj = await conn.call(target('jobs', 'batch'), () => conn.batch.readNamespacedJob(args));
      [selector, template] = [obj.spec?.selector, obj.spec?.template];
      break;
    }
    case 'CronJob': {
      const obj = await conn.call(target('cronjobs', 'batch'), () => conn.batch.readNamespacedCronJob(args));
      template = obj.spec?.jobTemplate?.spec?.template;
      break;
    }
  }
  const workload: Workload = { kind, namespace, name, templateLabels: { ...template?.metadata?.labels } };
  if (selector) workload.selector = selector;
  return workload;
}

/** Runs at most `max` tasks at a time, in the order they were queued. */
function createLimiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    running--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        running++;
        task().then(resolve, reject).finally(next);
      };
      if (running < max) start();
      else queue.push(start);
    });
}
