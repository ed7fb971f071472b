/**
 * applyChange: a policy applied over its own copy is unchanged exactly when the API server would store
 * the same spec; a pod, exactly when it is alike wherever a policy or an answer looks.
 */
import { describe, expect, test } from '@jest/globals';
import type {
  V1Container,
  V1ContainerPort,
  V1NetworkPolicy,
  V1NetworkPolicySpec,
  V1Pod,
  V1PodStatus,
} from '@kubernetes/client-node';

import { applyChange } from '../../src/lib/engine/apply.js';
import type { ClusterSnapshot } from '../../src/lib/engine/model.js';

/** A spec as manifests write it (`from`, where client-node's type says `_from`). */
type Spec = Record<string, unknown>;

function policy(spec: Spec): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: 'x', name: 'p' },
    spec: spec as V1NetworkPolicySpec,
  };
}

function snapshot(policies: V1NetworkPolicy[], pods: V1Pod[] = []): ClusterSnapshot {
  return { namespaces: [], pods, policies, services: [], workloads: [] };
}

/** What applying `now` over a cluster holding `was` does to the policy. */
function actionOf(was: Spec, now: Spec): string {
  const applied = applyChange(snapshot([policy(was)]), { change: snapshot([policy(now)]) });
  expect(applied.objects).toHaveLength(1);
  return applied.objects[0].action;
}

const WEB = { podSelector: { matchLabels: { app: 'web' } } };

describe('applyChange: a policy over its own copy', () => {
  test.each<[string, Spec, Spec, string]>([
    [
      'a port without protocol is TCP (SetDefaults_NetworkPolicy)',
      { ...WEB, ingress: [{ ports: [{ port: 80 }] }] },
      { ...WEB, ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }] },
      'unchanged',
    ],
    [
      'a port without protocol is not UDP',
      { ...WEB, ingress: [{ ports: [{ port: 80 }] }] },
      { ...WEB, ingress: [{ ports: [{ port: 80, protocol: 'UDP' }] }] },
      'configured',
    ],
    [
      'another port',
      { ...WEB, egress: [{ ports: [{ port: 80 }] }] },
      { ...WEB, egress: [{ ports: [{ port: 81 }] }] },
      'configured',
    ],
    [
      'an endPort added',
      { ...WEB, ingress: [{ ports: [{ port: 80 }] }] },
      { ...WEB, ingress: [{ ports: [{ port: 80, endPort: 90 }] }] },
      'configured',
    ],
    [
      'policyTypes absent is Ingress when there is no egress rule',
      { ...WEB, ingress: [{}] },
      { ...WEB, ingress: [{}], policyTypes: ['Ingress'] },
      'unchanged',
    ],
    [
      'policyTypes absent is Ingress and Egress with an egress rule',
      { ...WEB, egress: [{}] },
      { ...WEB, egress: [{}], policyTypes: ['Ingress'] },
      'configured',
    ],
    ['no ingress list is not an empty one', { ...WEB }, { ...WEB, ingress: [] }, 'configured'],
    [
      'fields in another order, undefined ones dropped',
      {
        podSelector: { matchLabels: { app: 'web', tier: 'a' } },
        ingress: [{ from: [{ podSelector: {} }], ports: undefined }],
      },
      { ingress: [{ from: [{ podSelector: {} }] }], podSelector: { matchLabels: { tier: 'a', app: 'web' } } },
      'unchanged',
    ],
    [
      'another peer',
      { ...WEB, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }] },
      { ...WEB, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 80 }] }] },
      'configured',
    ],
    [
      'a rule more',
      { ...WEB, ingress: [{ ports: [{ port: 80 }] }] },
      { ...WEB, ingress: [{ ports: [{ port: 80 }] }, {}] },
      'configured',
    ],
    [
      'ports absent against ports listed',
      { ...WEB, ingress: [{}] },
      { ...WEB, ingress: [{ ports: [{ port: 80 }] }] },
      'configured',
    ],
  ])('%s', (_name, was, now, action) => {
    expect(actionOf(was, now)).toBe(action);
    expect(actionOf(now, was)).toBe(action);
  });
});

/** A bare pod as the change writes it, with the fields a policy or an answer reads. */
function pod(fields: Record<string, unknown> = {}): V1Pod {
  const { labels = { app: 'web' }, deletionTimestamp, ports, hostNetwork, status, containers } = fields;
  return {
    metadata: {
      namespace: 'x',
      name: 'web-1',
      ...(labels === null ? {} : { labels: labels as Record<string, string> }),
      ...(deletionTimestamp ? { deletionTimestamp: deletionTimestamp as Date } : {}),
    },
    spec: {
      containers: (containers as V1Container[] | undefined) ?? [
        { name: 'c', ...(ports ? { ports: ports as V1ContainerPort[] } : {}) },
      ],
      ...(hostNetwork !== undefined ? { hostNetwork: hostNetwork as boolean } : {}),
    },
    ...(status ? { status: status as V1PodStatus } : {}),
  };
}

/** What applying `now` over a cluster holding `was` does to the pod, and whether diff must compare its connections. */
function podActionOf(was: V1Pod, now: V1Pod): string {
  const cluster = (pods: V1Pod[]) => snapshot([], pods);
  const applied = applyChange(cluster([was]), { change: cluster([now]) });
  expect(applied.objects).toHaveLength(1);
  expect(applied.pods.length > 0).toBe(applied.objects[0].action !== 'unchanged');
  return applied.objects[0].action;
}

const RUNNING = { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] };

describe('applyChange: a pod over its own copy', () => {
  test.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
    ['labels in another order', { labels: { a: '1', b: '2' } }, { labels: { b: '2', a: '1' } }, 'unchanged'],
    ['a label more', { labels: { a: '1' } }, { labels: { a: '1', b: '2' } }, 'configured'],
    ['no labels is no labels', { labels: null }, { labels: {} }, 'unchanged'],
    ['another label value', { labels: { a: '1' } }, { labels: { a: '2' } }, 'configured'],
    [
      'a port without protocol is TCP',
      { ports: [{ containerPort: 80, name: 'http' }] },
      { ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] },
      'unchanged',
    ],
    [
      'a port without protocol is not UDP',
      { ports: [{ containerPort: 80 }] },
      { ports: [{ containerPort: 80, protocol: 'UDP' }] },
      'configured',
    ],
    [
      'a port renamed',
      { ports: [{ containerPort: 80, name: 'http' }] },
      { ports: [{ containerPort: 80, name: 'web' }] },
      'configured',
    ],
    [
      'a port more',
      { ports: [{ containerPort: 80 }] },
      { ports: [{ containerPort: 80 }, { containerPort: 81 }] },
      'configured',
    ],
    ['no ports is no ports', { ports: undefined }, { ports: [] }, 'unchanged'],
    [
      'the same ports in another container',
      { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }, { name: 'b' }] },
      { containers: [{ name: 'a' }, { name: 'b', ports: [{ containerPort: 80 }] }] },
      'configured',
    ],
    [
      'a container more without ports',
      { containers: [{ name: 'a' }] },
      { containers: [{ name: 'a' }, { name: 'b' }] },
      'configured',
    ],
    [
      'another image only',
      { containers: [{ name: 'a', image: 'x' }] },
      { containers: [{ name: 'a', image: 'y' }] },
      'unchanged',
    ],
    ['terminating', {}, { deletionTimestamp: new Date(0) }, 'configured'],
    ['host network', { hostNetwork: false }, { hostNetwork: true }, 'configured'],
    ['host network false is absent', { hostNetwork: false }, {}, 'unchanged'],
    ['another phase', { status: RUNNING }, { status: { ...RUNNING, phase: 'Pending' } }, 'configured'],
    ['another address', { status: RUNNING }, { status: { ...RUNNING, podIPs: [{ ip: '10.0.0.2' }] } }, 'configured'],
    [
      'the same status, copied',
      { status: RUNNING },
      { status: { ...RUNNING, podIPs: [{ ip: '10.0.0.1' }] } },
      'unchanged',
    ],
  ])('%s', (_name, was, now, action) => {
    expect(podActionOf(pod(was), pod(now))).toBe(action);
    expect(podActionOf(pod(now), pod(was))).toBe(action);
  });

  test('a pod without status keeps the status it had (kubectl apply writes none)', () => {
    expect(podActionOf(pod({ status: RUNNING }), pod())).toBe('unchanged');
  });

  test("a workload's pods in place of its old ones: only those that differ are compared again", () => {
    const member = (name: string, labels: Record<string, string>, status?: V1PodStatus): V1Pod => ({
      metadata: {
        namespace: 'x',
        name,
        labels,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: '1', controller: true }],
      },
      spec: { containers: [{ name: 'c' }] },
      ...(status ? { status } : {}),
    });
    const cluster = (pods: V1Pod[]) => snapshot([], pods);
    const was = cluster([member('db-0', { app: 'db' }, RUNNING), member('db-1', { app: 'db' }, RUNNING)]);
    const same = applyChange(was, { change: cluster([member('db-0', { app: 'db' }), member('db-1', { app: 'db' })]) });
    expect(same.objects.map((o) => o.action)).toEqual(['unchanged']);
    expect(same.pods).toEqual([]);
    const relabelled = applyChange(was, {
      change: cluster([member('db-0', { app: 'db' }), member('db-1', { app: 'db', track: 'canary' })]),
    });
    expect(relabelled.objects.map((o) => o.action)).toEqual(['configured']);
    expect(relabelled.pods).toEqual([{ namespace: 'x', name: 'db-1' }]);
    // Their addresses stay: the status of the pods they replace.
    expect(relabelled.after.pods.map((p) => p.status?.podIP)).toEqual(['10.0.0.1', '10.0.0.1']);
  });
});
