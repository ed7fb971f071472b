/**
 * Kubeconfig resolution as kubectl does it: --kubeconfig, else the KUBECONFIG list merged first-wins,
 * else ~/.kube/config, else in-cluster config; then the context, its cluster and its user.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Context, User } from '@kubernetes/client-node';

import { KubeconfigError } from '../errors.js';
import { kubeconfigFiles } from './kubeconfig-files.js';
import type { LiveOptions } from './types.js';

const NO_KUBECONFIG = 'no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or use -f to read manifests';

/** The kubeconfig as merged from its files, before a context is chosen. */
interface MergedConfig {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext?: string;
  /** Files it came from (for messages); empty for in-cluster config. */
  files: string[];
}

/** The kubeconfig narrowed to one context, with the context and its cluster as the files wrote them. */
interface ResolvedKubeconfig {
  kubeConfig: KubeConfig;
  contextName: string;
  context: Context;
  cluster: Cluster;
}

/**
 * Resolves kubeconfig and context like kubectl (--kubeconfig, else KUBECONFIG merged first-wins,
 * else ~/.kube/config, else in-cluster config) and narrows the kubeconfig to that context. Makes
 * no request.
 */
export function resolveKubeconfig(opts: LiveOptions, env: NodeJS.ProcessEnv): ResolvedKubeconfig {
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
  return { kubeConfig, contextName, context, cluster };
}

/** Reads and merges the kubeconfig files kubectl would read; never echoes file contents. */
function loadKubeconfig(opts: LiveOptions, env: NodeJS.ProcessEnv): MergedConfig {
  const files = kubeconfigFiles(opts, env);
  const inCluster = files.length === 0 ? inClusterConfig(env, opts.inClusterPathPrefix ?? '') : undefined;
  if (inCluster) return { ...inCluster, files: [] };
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
 * In-cluster config, found as kubectl finds it (client-go's inClusterClientConfig.Possible): only
 * when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are both set and the service account
 * token is there. client-node's loadFromCluster gives the service account's files (under
 * pathPrefix), a user whose token is read again from its file every minute as it rotates (as
 * client-go's cached file token source does) and the namespace. Where it differs from kubectl,
 * kubectl's way is kept here:
 * - the server: loadFromCluster reads process.env rather than the env given, and speaks http to
 *   ports 80, 8080 and 8001, which would send the token in clear text; client-go always uses
 *   https, with an IPv6 host bracketed (net.JoinHostPort);
 * - a missing ca.crt: loadFromCluster names it anyway and every request then fails to read it;
 *   client-go leaves it out and the system's roots verify the server;
 * - the namespace: loadFromCluster keeps the file's trailing newline; client-go trims it.
 * Everything is named "in-cluster", as messages name the context.
 */
function inClusterConfig(env: NodeJS.ProcessEnv, pathPrefix: string): Omit<MergedConfig, 'files'> | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const kc = new KubeConfig();
  kc.loadFromCluster(pathPrefix);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const context = kc.getContextObject(kc.getCurrentContext());
  const tokenFile: unknown = user?.authProvider?.config?.tokenFile;
  if (!cluster || !user || !context || typeof tokenFile !== 'string' || !isTokenFile(tokenFile)) return undefined;
  const name = 'in-cluster';
  return {
    clusters: [
      {
        ...cluster,
        name,
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        caFile: cluster.caFile && existsSync(cluster.caFile) ? cluster.caFile : undefined,
      },
    ],
    users: [{ ...user, name }],
    contexts: [{ ...context, name, cluster: name, user: name, namespace: context.namespace?.trim() || undefined }],
    currentContext: name,
  };
}

/** As client-go: the token is there and is no directory (the kubelet mounts it as a link to a file). */
function isTokenFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
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
