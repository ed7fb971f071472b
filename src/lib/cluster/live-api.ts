/**
 * The typed API over HTTP: namespaces, NetworkPolicies and cluster-scoped custom objects
 * (ClusterNetworkPolicy), as commands call them beyond a snapshot.
 */
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';

import { ApiError } from '../errors.js';
import { PAGE_SIZE } from './live-transport.js';
import type { Connection } from './live-transport.js';
import { toTypedPolicy } from './policy-shape.js';
import type { ClusterApi, ClusterObject, ClusterResource, WriteOptions } from './types.js';

/** The ClusterApi over HTTP. */
export class LiveApi implements ClusterApi {
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

  async readClusterObject(resource: ClusterResource, name: string): Promise<ClusterObject | undefined> {
    const target = { verb: 'get', resource: resource.plural, group: resource.group, name };
    try {
      return (await this.conn.call(target, () =>
        this.conn.custom.getClusterCustomObject({ ...resource, name }),
      )) as ClusterObject;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async createClusterObject(
    resource: ClusterResource,
    body: ClusterObject,
    opts: WriteOptions = {},
  ): Promise<ClusterObject> {
    const target = { verb: 'create', resource: resource.plural, group: resource.group };
    return (await this.conn.call(target, () =>
      this.conn.custom.createClusterCustomObject({
        ...resource,
        body,
        dryRun: opts.dryRun,
        fieldManager: opts.fieldManager,
      }),
    )) as ClusterObject;
  }

  async replaceClusterObject(
    resource: ClusterResource,
    name: string,
    body: ClusterObject,
    opts: WriteOptions = {},
  ): Promise<ClusterObject> {
    const target = { verb: 'update', resource: resource.plural, group: resource.group, name };
    return (await this.conn.call(target, () =>
      this.conn.custom.replaceClusterCustomObject({
        ...resource,
        name,
        body,
        dryRun: opts.dryRun,
        fieldManager: opts.fieldManager,
      }),
    )) as ClusterObject;
  }

  async deleteClusterObject(
    resource: ClusterResource,
    name: string,
    opts: Pick<WriteOptions, 'dryRun'> = {},
  ): Promise<void> {
    const target = { verb: 'delete', resource: resource.plural, group: resource.group, name };
    await this.conn.call(target, () =>
      this.conn.custom.deleteClusterCustomObject({ ...resource, name, dryRun: opts.dryRun }),
    );
  }
}
