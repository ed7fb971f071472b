/**
 * The live transport: API clients with a middleware that bounds each request (connect, TLS handshake,
 * what is left of --request-timeout) and passes on the server's warnings, bounded retries of reads
 * (backoff, Retry-After), and every failure mapped to a typed error with the credentials redacted.
 */
import {
  ApiException,
  ApisApi,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  NetworkingV1Api,
  ServerConfiguration,
} from '@kubernetes/client-node';
import type {
  Configuration,
  KubeConfig,
  Middleware,
  RequestContext,
  ResponseContext,
  SecurityAuthentication,
  User,
  V1ListMeta,
} from '@kubernetes/client-node';

import { ApiError, KubeconfigError, NetpolError } from '../errors.js';
import {
  DEFAULT_CONNECT_TIMEOUTS,
  DIAL_TIMEOUT_CODE,
  guardConnects,
  TLS_HANDSHAKE_TIMEOUT_CODE,
  WaitBudget,
} from './live-timeouts.js';
import type { ConnectTimeouts } from './live-timeouts.js';
import type { RetryPolicy } from './types.js';

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

/** The transport: API clients with the timeout and warning middleware, and error mapping with secrets redacted. */
export class Connection {
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  /** Discovery of the API groups (GET /apis). */
  readonly apis: ApisApi;
  /** Custom resources (the cluster tiers' policies). */
  readonly custom: CustomObjectsApi;
  private readonly secrets: string[];
  /** Authenticates each request; credential plugin failures become KubeconfigErrors without their output. */
  private readonly auth: SecurityAuthentication;
  /** --request-timeout, as the budget of every request together. */
  private readonly budget: WaitBudget;
  /** The server's warnings already passed on. */
  private readonly warned = new Set<string>();

  /** Told about each page of each list (LiveOptions.onListPage). */
  onListPage?: (resource: string, count: number) => void;
  /** Told each distinct warning the server sends (LiveOptions.onWarning). */
  onWarning?: (message: string) => void;

  constructor(
    readonly kubeConfig: KubeConfig,
    readonly contextName: string,
    readonly server: string,
    readonly timeoutMs: number,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
    readonly connectTimeouts: ConnectTimeouts = DEFAULT_CONNECT_TIMEOUTS,
  ) {
    this.secrets = collectSecrets(kubeConfig.getCurrentUser());
    this.auth = this.makeAuth();
    this.budget = new WaitBudget(timeoutMs);
    this.core = this.makeApiClient(CoreV1Api);
    this.networking = this.makeApiClient(NetworkingV1Api);
    this.apps = this.makeApiClient(AppsV1Api);
    this.batch = this.makeApiClient(BatchV1Api);
    this.apis = this.makeApiClient(ApisApi);
    this.custom = this.makeApiClient(CustomObjectsApi);
  }

  makeApiClient<T>(apiClass: new (config: Configuration) => T): T {
    const config = createConfiguration({
      baseServer: new ServerConfiguration(this.server, {}),
      authMethods: { default: this.auth },
      // One middleware: client-node reverses the list in place for every response.
      promiseMiddleware: [this.middleware()],
    });
    return new apiClass(config);
  }

  /**
   * Runs one call, mapping whatever it throws. Reads (get, list) that fail in a way worth another try
   * (429, 5xx, a reset or refused connection, a cut-short response) are tried again, a bounded number
   * of times and only while --request-timeout leaves time for it; writes never are, since the first
   * may have been applied.
   */
  async call<T>(target: RequestTarget, request: () => Promise<T>): Promise<T> {
    const isRead = target.verb === 'get' || target.verb === 'list';
    const end = this.budget.begin();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await request();
        } catch (err) {
          if ((err as { name?: string }).name === 'AbortError') this.budget.markSpent();
          const delay = isRead && attempt < this.retry.attempts ? this.retryDelay(err, attempt) : undefined;
          if (delay === undefined || delay >= this.budget.remaining()) {
            const mapped = this.mapError(err, target);
            throw attempt > 1 ? withAttempts(mapped, attempt) : mapped;
          }
          await sleep(delay);
        }
      }
    } finally {
      end();
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
    // Our own --request-timeout: the user set the bound, so waiting it out again is not wanted. (A
    // connect or TLS handshake that timed out is not tried again either: their codes are not retriable.)
    if ((err as { name?: string }).name === 'AbortError') return undefined;
    return isCutShort(err) || RETRIABLE_CODES.has(errorCode(err) ?? '') ? backoff : undefined;
  }

  /**
   * Lists every page: `limit` per request, following `metadata.continue` until it is empty. Once
   * --request-timeout has run out, no list starts another page (only a write's cleanup goes on then).
   */
  async listAll<T>(target: RequestTarget, fetchPage: (cont: string | undefined) => Promise<Page<T>>): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      if (this.budget.isSpent()) throw this.timedOut(target);
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
    if (name === 'AbortError') return this.timedOut(target);
    if (code === DIAL_TIMEOUT_CODE) {
      return new ApiError(
        `${what}: could not connect to ${this.server} within ${formatSeconds(this.connectTimeouts.dialMs)}`,
        undefined,
        undefined,
        `check that the cluster of context "${this.contextName}" is running and reachable from here (a firewall that drops packets looks like this)`,
      );
    }
    if (code === TLS_HANDSHAKE_TIMEOUT_CODE) {
      return new ApiError(
        `${what}: no TLS handshake from ${this.server} within ${formatSeconds(this.connectTimeouts.tlsHandshakeMs)}`,
        undefined,
        undefined,
        'something accepted the connection but never answered the TLS handshake: check that the server URL is the API server and that no proxy or load balancer in between is stuck',
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

  /** --request-timeout ran out during this request. */
  private timedOut(target: RequestTarget): ApiError {
    return new ApiError(
      `${describeTarget(target)}: timed out after ${formatSeconds(this.timeoutMs)} talking to ${this.server}`,
      undefined,
      undefined,
      'raise --request-timeout (it bounds all requests of the command together), or check the network path to the API server',
    );
  }

  /**
   * Each request's bounds (a connect and TLS handshake bounded on the agent the credentials chose,
   * what is left of --request-timeout as its abort signal), and the server's warnings from each
   * response, whatever its status.
   */
  private middleware(): Middleware {
    return {
      pre: async (context: RequestContext) => {
        const agent = context.getAgent();
        if (agent) guardConnects(agent, this.connectTimeouts);
        const bound = this.budget.requestBoundMs();
        // AbortSignal.timeout's timer never holds the process.
        if (bound !== undefined) context.setSignal(AbortSignal.timeout(bound));
        return context;
      },
      post: async (context: ResponseContext) => {
        const header = context.headers.warning;
        if (header) for (const message of parseWarningHeader(header)) this.warn(message);
        return context;
      },
    };
  }

  /** Passes a warning of the server on, once per distinct message, without credentials. */
  private warn(message: string): void {
    const text = this.redact(message);
    if (this.warned.has(text)) return;
    this.warned.add(text);
    this.onWarning?.(text);
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

/**
 * The messages of a `Warning` header (RFC 7234 5.5: `299 - "text"`, several separated by commas, as
 * node joins repeated headers), as client-go reads them: only code 299, the text unquoted; a value
 * that does not parse ends the list.
 */
export function parseWarningHeader(header: string): string[] {
  const messages: string[] = [];
  const value = /\s*(\d{3}) +(\S+) +"((?:[^"\\]|\\.)*)"(?: +"[^"]*")?\s*(?:,|$)/y;
  while (value.lastIndex < header.length) {
    const match = value.exec(header);
    if (!match) break;
    const text = match[3].replace(/\\(.)/g, '$1').trim();
    if (match[1] === '299' && text !== '') messages.push(text);
  }
  return messages;
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
function describeTarget(target: RequestTarget): string {
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
