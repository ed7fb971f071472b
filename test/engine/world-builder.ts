/** Fluent builder of small cluster snapshots for engine tests. */
import type { V1ContainerPort, V1NetworkPolicySpec, V1Pod } from '@kubernetes/client-node';
import { toTypedPolicy } from '../../src/lib/cluster/policy-shape.js';
import type { ClusterSnapshot } from '../../src/lib/engine/model.js';

/** Builds a ClusterSnapshot one object at a time. */
export class WorldBuilder {
  private readonly snapshot: ClusterSnapshot = { namespaces: [], pods: [], policies: [], services: [], workloads: [] };

  /** Adds a namespace with labels. */
  namespace(name: string, labels: Record<string, string> = {}): this {
    this.snapshot.namespaces.push({ metadata: { name, labels } });
    return this;
  }

  /** Adds a pod `ns/name` with labels, optional IPs and container ports. */
  pod(
    ref: string,
    labels: Record<string, string> = {},
    opts: { ips?: string[]; ports?: V1ContainerPort[]; extra?: Partial<V1Pod> } = {},
  ): this {
    const [namespace, name] = ref.split('/');
    const ips = opts.ips ?? [];
    this.snapshot.pods.push({
      ...opts.extra,
      metadata: { namespace, name, labels, ...opts.extra?.metadata },
      spec: { containers: [{ name: 'main', ports: opts.ports ?? [] }], ...opts.extra?.spec },
      status: ips.length
        ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), ...opts.extra?.status }
        : { ...opts.extra?.status },
    });
    return this;
  }

  /** Adds a NetworkPolicy `ns/name` with a spec written as in YAML (`from`), stored as snapshots hold it (`_from`). */
  policy(ref: string, spec: Record<string, unknown>): this {
    const [namespace, name] = ref.split('/');
    this.snapshot.policies.push(
      toTypedPolicy({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace, name },
        spec: spec as V1NetworkPolicySpec,
      }),
    );
    return this;
  }

  /** The snapshot built so far. */
  build(): ClusterSnapshot {
    return this.snapshot;
  }
}
