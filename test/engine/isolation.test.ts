/** Namespace isolation: status per direction, default-deny builder, DNS peer, seed-era annotations, the isolate plan. */
import { describe, expect, test } from '@jest/globals';

import { compileWorld } from '../../src/lib/engine/compile.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import type { ChangeEnd } from '../../src/lib/engine/diff.js';
import { diffReachability, groupChanges, withPolicies } from '../../src/lib/engine/diff.js';
import {
  buildDefaultDeny,
  findDnsPeer,
  legacyIsolation,
  namespaceIsolation,
  planIsolation,
  type IsolationRequest,
} from '../../src/lib/engine/isolation.js';
import { WorldBuilder } from './world-builder.js';

const LABELS = { 'app.kubernetes.io/managed-by': 'kubectl-netpol' };

const base = () =>
  new WorldBuilder().namespace('x').namespace('y').pod('x/a', { app: 'a' }).pod('x/b', { app: 'b' }).pod('y/c');

const stateOf = (builder: WorldBuilder, namespace = 'x') => {
  const s = namespaceIsolation(compileWorld(builder.build()), namespace);
  return { ingress: s.ingress.state, egress: s.egress.state };
};

describe('namespaceIsolation', () => {
  test.each([
    ['{}', {}],
    ['absent', undefined],
    ['matchLabels: {}', { matchLabels: {} }],
    ['matchExpressions: []', { matchExpressions: [] }],
    ['both empty', { matchLabels: {}, matchExpressions: [] }],
  ])('a podSelector %s with no rules isolates every pod', (_, podSelector) => {
    const spec = podSelector === undefined ? { policyTypes: ['Ingress'] } : { podSelector, policyTypes: ['Ingress'] };
    const s = namespaceIsolation(compileWorld(base().policy('x/deny', spec).build()), 'x');
    expect(s.ingress).toEqual({
      state: 'isolated',
      denyAll: [{ namespace: 'x', name: 'deny' }],
      policies: [{ namespace: 'x', name: 'deny' }],
      selectedPods: 2,
      pods: 2,
    });
    expect(s.egress.state).toBe('open');
  });

  test('a selector that happens to match every pod today is not a default-deny', () => {
    const b = base().policy('x/p', {
      podSelector: { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] },
      policyTypes: ['Ingress'],
    });
    expect(stateOf(b)).toEqual({ ingress: 'all-pods', egress: 'open' });
  });

  test('policyTypes absent: Ingress always, Egress only with egress rules', () => {
    expect(stateOf(base().policy('x/p', { podSelector: {} }))).toEqual({ ingress: 'isolated', egress: 'open' });
    expect(stateOf(base().policy('x/p', { podSelector: {}, egress: [{ to: [{ podSelector: {} }] }] }))).toEqual({
      ingress: 'isolated',
      egress: 'all-pods',
    });
  });

  test('egress: no rules, or only rules on 53/UDP and 53/TCP, is isolated; anything more is not', () => {
    const dnsOnly = { ports: [{ protocol: 'UDP', port: 53 }, { port: 53 }] };
    expect(stateOf(base().policy('x/p', { podSelector: {}, policyTypes: ['Egress'] })).egress).toBe('isolated');
    expect(stateOf(base().policy('x/p', { podSelector: {}, policyTypes: ['Egress'], egress: [dnsOnly] })).egress).toBe(
      'isolated',
    );
    const wider = { ports: [{ protocol: 'UDP', port: 53, endPort: 54 }] };
    expect(stateOf(base().policy('x/p', { podSelector: {}, policyTypes: ['Egress'], egress: [wider] })).egress).toBe(
      'all-pods',
    );
    // Ingress rules on 53 are still rules: ingress isolation with DNS exception is not "isolated".
    expect(stateOf(base().policy('x/p', { podSelector: {}, ingress: [dnsOnly] })).ingress).toBe('all-pods');
  });

  test('some pods selected is partial; policies of other namespaces do not count; invalid policies are left out', () => {
    const b = base()
      .policy('x/only-a', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'] })
      .policy('y/deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })
      .policy('x/bad', { podSelector: {}, policyTypes: ['Sideways'] });
    const s = namespaceIsolation(compileWorld(b.build()), 'x');
    expect(s.ingress).toMatchObject({ state: 'partial', selectedPods: 1, pods: 2, policies: [{ name: 'only-a' }] });
    expect(s.egress.state).toBe('open');
    expect(stateOf(b, 'y')).toEqual({ ingress: 'isolated', egress: 'isolated' });
  });

  test('an empty namespace with a {} policy that has rules selects all its (future) pods', () => {
    const b = new WorldBuilder().namespace('e').policy('e/p', { podSelector: {}, ingress: [{}] });
    expect(stateOf(b, 'e')).toEqual({ ingress: 'all-pods', egress: 'open' });
    expect(stateOf(new WorldBuilder().namespace('e'), 'e')).toEqual({ ingress: 'open', egress: 'open' });
  });
});

describe('legacyIsolation', () => {
  const ns = (annotations: Record<string, string>) => ({ metadata: { name: 'n', annotations } });
  test.each([
    [{ 'net.alpha.kubernetes.io/network-isolation': 'on' }, true],
    [{ 'net.alpha.kubernetes.io/network-isolation': 'off' }, false],
    [{ 'net.beta.kubernetes.io/network-policy': '{"ingress":{"isolation":"DefaultDeny"}}' }, true],
    [{ 'net.beta.kubernetes.io/network-policy': '{"ingress":{}}' }, false],
    [{ 'net.beta.kubernetes.io/network-policy': 'not json' }, false],
  ])('%j isolates ingress: %s', (annotations, isolates) => {
    expect(legacyIsolation(ns(annotations))?.isolatesIngress).toBe(isolates);
  });
  test('no annotation, no answer', () => expect(legacyIsolation(ns({}))).toBeUndefined());
});

describe('findDnsPeer', () => {
  test('the kube-dns Service selector wins, whatever the labels', () => {
    const snapshot = new WorldBuilder()
      .namespace('kube-system')
      .pod('kube-system/dns-1', { 'dns.operator/daemonset': 'default' })
      .pod('kube-system/other', { 'k8s-app': 'kube-dns' })
      .build();
    snapshot.services.push({
      metadata: { namespace: 'kube-system', name: 'kube-dns' },
      spec: { selector: { 'dns.operator/daemonset': 'default' } },
    });
    expect(findDnsPeer(compileWorld(snapshot))).toEqual({
      namespace: 'kube-system',
      podLabels: { 'dns.operator/daemonset': 'default' },
      foundBy: 'service',
      pods: [{ namespace: 'kube-system', name: 'dns-1' }],
    });
  });

  test('else pods labelled k8s-app=kube-dns, in their namespace', () => {
    const snapshot = new WorldBuilder().namespace('dns').pod('dns/coredns-1', { 'k8s-app': 'kube-dns' }).build();
    expect(findDnsPeer(compileWorld(snapshot))).toMatchObject({ namespace: 'dns', foundBy: 'pod-label' });
  });

  test('else kube-system with k8s-app=kube-dns', () => {
    expect(findDnsPeer(compileWorld(base().build()))).toEqual({
      namespace: 'kube-system',
      podLabels: { 'k8s-app': 'kube-dns' },
      foundBy: 'default',
      pods: [],
    });
  });
});

test('buildDefaultDeny: podSelector {}, policyTypes written out, one DNS egress rule or none', () => {
  const dns = findDnsPeer(compileWorld(base().build()));
  expect(buildDefaultDeny({ namespace: 'x', name: 'dd', directions: ['ingress'], dns, labels: LABELS }).spec).toEqual({
    podSelector: {},
    policyTypes: ['Ingress'],
  });
  expect(
    buildDefaultDeny({ namespace: 'x', name: 'dd', directions: ['egress', 'ingress'], dns, labels: LABELS }).spec,
  ).toEqual({
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ],
  });
});

describe('planIsolation', () => {
  const request = (over: Partial<IsolationRequest> = {}): IsolationRequest => ({
    namespaces: ['x'],
    name: 'default-deny',
    directions: ['ingress'],
    labels: LABELS,
    off: false,
    ...over,
  });
  const ours = (policyTypes: string[]) => ({ podSelector: {}, policyTypes });
  const withOurs = (b: WorldBuilder, policyTypes: string[]) => {
    const s = b.policy('x/default-deny', ours(policyTypes)).build();
    s.policies[s.policies.length - 1].metadata!.labels = { ...LABELS };
    return s;
  };

  test('skips a namespace another policy already isolates, naming it', () => {
    const world = compileWorld(base().policy('x/mine', { podSelector: {} }).build());
    expect(planIsolation(world, request())).toEqual([
      {
        namespace: 'x',
        action: 'skip',
        isolatedBy: { ingress: [{ namespace: 'x', name: 'mine' }], egress: [] },
        dnsBy: [],
      },
    ]);
  });

  test('never a second policy: ours with Ingress is updated to Ingress+Egress', () => {
    const world = compileWorld(withOurs(base(), ['Ingress']));
    const [plan] = planIsolation(world, request({ directions: ['ingress', 'egress'] }));
    expect(plan).toMatchObject({ action: 'write', existing: { metadata: { name: 'default-deny' } } });
    expect(plan.action === 'write' && plan.policy.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(planIsolation(world, request())[0].action).toBe('skip');
  });

  test('--off deletes ours and names the foreign policies that keep the namespace isolated', () => {
    const world = compileWorld(
      withOurs(base().policy('x/theirs', { podSelector: {}, policyTypes: ['Egress'] }), ['Ingress']),
    );
    expect(planIsolation(world, request({ off: true }))).toMatchObject([
      { action: 'delete', keptBy: { ingress: [], egress: [{ name: 'theirs' }] } },
    ]);
  });

  test('--off leaves a foreign policy of our name alone', () => {
    const world = compileWorld(base().policy('x/default-deny', { podSelector: {} }).build());
    expect(planIsolation(world, request({ off: true }))).toEqual([
      {
        namespace: 'x',
        action: 'none',
        foreign: { namespace: 'x', name: 'default-deny' },
        keptBy: { ingress: [], egress: [] },
      },
    ]);
  });
});

test('groupChanges groups cut connections by workload, largest first', () => {
  const b = new WorldBuilder()
    .namespace('x')
    .pod(
      'x/web-1',
      { app: 'web' },
      {
        extra: {
          metadata: {
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: '1', controller: true }],
          },
        },
      },
    )
    .pod(
      'x/web-2',
      { app: 'web' },
      {
        extra: {
          metadata: {
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: '1', controller: true }],
          },
        },
      },
    )
    .pod('x/db');
  const before = compileWorld(b.build());
  const policy = buildDefaultDeny({ namespace: 'x', name: 'dd', directions: ['ingress'], labels: LABELS });
  const after = compileWorld(withPolicies(before.snapshot, { add: [policy] }));
  const diff = diffReachability(
    before,
    after,
    after.pods.map((p) => p.ref),
  );
  const end = (e: ChangeEnd) => ('addresses' in e ? e.addresses.map((b) => b.cidr).join('+') : `${e.kind}/${e.name}`);
  expect(
    groupChanges(after, diff, 'cut').map((g) => `${g.count} ${end(g.from)} -> ${end(g.to)} ${formatPortSet(g.ports)}`),
  ).toEqual([
    '2 StatefulSet/web -> Pod/db all',
    '2 0.0.0.0/0+::/0 -> StatefulSet/web all',
    '2 Pod/db -> StatefulSet/web all',
    '2 StatefulSet/web -> StatefulSet/web all',
    '1 0.0.0.0/0+::/0 -> Pod/db all',
  ]);
});
