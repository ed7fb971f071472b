/** applyChange: a policy applied over its own copy is unchanged exactly when the API server would store the same spec. */
import { describe, expect, test } from '@jest/globals';
import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';

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

function snapshot(policies: V1NetworkPolicy[]): ClusterSnapshot {
  return { namespaces: [], pods: [], policies, services: [], workloads: [] };
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
