/**
 * Where completion finds names: the live cluster (one ClusterConnection, made only when a name is
 * needed) or the manifests given with -f. Each answer is fetched once per completion.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';

import { loadManifests } from '../cluster/files.js';
import type { ClusterConnection } from '../cluster/types.js';
import type { ClusterSnapshot } from '../engine/model.js';

/** Pods and Services of a namespace (or of every namespace). */
export interface NamespaceObjects {
  pods: V1Pod[];
  services: V1Service[];
}

/** The names completion offers, wherever they come from. */
export interface CompletionData {
  /** The namespace `-n` defaults to: the context's, or `default`. */
  defaultNamespace(): Promise<string>;
  namespaces(): Promise<string[]>;
  /** Objects of one namespace; undefined: of every namespace. */
  objects(namespace: string | undefined): Promise<NamespaceObjects>;
}

function memo<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= load());
}

function sortedNames(names: Iterable<string>): string[] {
  return [...new Set(names)].filter((name) => name !== '').sort();
}

/** Rejects when `promise` has not settled within `ms`; the timer never holds the process. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Names from a live cluster: namespaces from a list call, pods and Services from a scoped snapshot.
 * Each call gets `timeoutMs` once connected (loading the client and the kubeconfig is not waiting
 * for the cluster, and is not counted).
 */
export function clusterData(connect: () => Promise<ClusterConnection>, timeoutMs = 1000): CompletionData {
  const connection = memo(connect);
  const cache = new Map<string, Promise<NamespaceObjects>>();
  return {
    defaultNamespace: async () => (await connection()).defaultNamespace,
    namespaces: memo(async () => {
      const live = await connection();
      const namespaces = await withDeadline(live.api.listNamespaces(), timeoutMs);
      return sortedNames(namespaces.map((ns) => ns.metadata?.name ?? ''));
    }),
    objects: (namespace) => {
      const key = namespace ?? '';
      let objects = cache.get(key);
      if (!objects) {
        objects = connection()
          .then((live) =>
            withDeadline(live.loadSnapshot(namespace === undefined ? {} : { namespaces: [namespace] }), timeoutMs),
          )
          .then(({ snapshot }) => objectsIn(snapshot, namespace));
        cache.set(key, objects);
      }
      return objects;
    },
  };
}

/**
 * Names from manifest files (-f), read once; objects that name no namespace go to the namespace
 * `namespaceOf` gives (read when first needed), else default.
 */
export function fileData(
  paths: string[],
  namespaceOf: () => Promise<string | undefined> = async () => undefined,
): CompletionData {
  const defaultNamespace = memo(async () => (await namespaceOf()) ?? 'default');
  const snapshot = memo(
    async () => (await loadManifests(paths, { defaultNamespace: await defaultNamespace() })).snapshot,
  );
  return {
    defaultNamespace,
    namespaces: async () => {
      const { namespaces, pods, services } = await snapshot();
      const fallback = await defaultNamespace();
      return sortedNames([
        ...namespaces.map((ns) => ns.metadata?.name ?? ''),
        ...[...pods, ...services].map((object) => object.metadata?.namespace ?? fallback),
      ]);
    },
    objects: async (namespace) => objectsIn(await snapshot(), namespace),
  };
}

function objectsIn(snapshot: ClusterSnapshot, namespace: string | undefined): NamespaceObjects {
  const inScope = (object: { metadata?: { namespace?: string } }) =>
    namespace === undefined || (object.metadata?.namespace ?? 'default') === namespace;
  return { pods: snapshot.pods.filter(inScope), services: snapshot.services.filter(inScope) };
}
