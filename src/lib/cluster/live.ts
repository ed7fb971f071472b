/**
 * The live entry point. live*.ts are the ONLY modules that load @kubernetes/client-node values, and
 * only this one is imported from outside them, lazily (`await import('./live.js')`), so that `-f`
 * runs never pay for client-node. Its parts: live-kubeconfig (which cluster, which credentials),
 * live-transport (requests, retries, errors), live-api (the ClusterApi) and live-snapshot.
 */
import type { Configuration, KubeConfig } from '@kubernetes/client-node';

import type { NetpolError } from '../errors.js';
import { parseDuration } from '../flags.js';
import { LiveApi } from './live-api.js';
import { resolveKubeconfig } from './live-kubeconfig.js';
import { loadLiveSnapshot } from './live-snapshot.js';
import { DEFAULT_CONNECT_TIMEOUTS } from './live-timeouts.js';
import type { ConnectTimeouts } from './live-timeouts.js';
import { Connection, DEFAULT_RETRY } from './live-transport.js';
import type { RequestTarget } from './live-transport.js';
import type { ClusterConnection, LiveOptions } from './types.js';

export { PAGE_SIZE } from './live-transport.js';
export type { RequestTarget } from './live-transport.js';

/** A live cluster: a ClusterConnection plus the client-node handles for calls it does not wrap. */
export interface LiveCluster extends ClusterConnection {
  /** The kubeconfig, narrowed to the selected context. */
  kubeConfig: KubeConfig;
  /** Builds a client-node API client (e.g. `RbacAuthorizationV1Api`) that honours the timeouts and passes warnings on. */
  makeApiClient<T>(apiClass: new (config: Configuration) => T): T;
  /** Maps any error of a client-node call to a typed NetpolError (ApiError, KubeconfigError). */
  mapError(err: unknown, target: RequestTarget): NetpolError;
}

/**
 * Connects to the cluster of the kubeconfig's context, chosen as kubectl chooses it (see
 * resolveKubeconfig). No request is made until something is loaded.
 */
export async function connectLive(opts: LiveOptions, env: NodeJS.ProcessEnv = process.env): Promise<LiveCluster> {
  const timeouts = connectTimeouts(env);
  const { kubeConfig, contextName, context, cluster } = resolveKubeconfig(opts, env);
  const retry = { ...DEFAULT_RETRY, ...opts.retry };
  const requestTimeoutMs = opts.requestTimeoutMs ?? 0;
  const connection = new Connection(kubeConfig, contextName, cluster.server, requestTimeoutMs, retry, timeouts);
  connection.onListPage = opts.onListPage;
  connection.onWarning = opts.onWarning;
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

/**
 * How long a connect and a TLS handshake may take: kubectl's 30 s and 10 s, unless
 * KUBECTL_NETPOL_DIAL_TIMEOUT or KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT say otherwise (a duration as
 * --request-timeout takes it; 0 is no bound).
 */
function connectTimeouts(env: NodeJS.ProcessEnv): ConnectTimeouts {
  const read = (name: string, fallback: number): number => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? fallback : parseDuration(value, name);
  };
  return {
    dialMs: read('KUBECTL_NETPOL_DIAL_TIMEOUT', DEFAULT_CONNECT_TIMEOUTS.dialMs),
    tlsHandshakeMs: read('KUBECTL_NETPOL_TLS_HANDSHAKE_TIMEOUT', DEFAULT_CONNECT_TIMEOUTS.tlsHandshakeMs),
  };
}
