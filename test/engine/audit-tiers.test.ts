/**
 * audit's exposures and namespace isolation with cluster tiers: one small world per case, with the
 * exact findings (and the tier rules they name) the tiers give.
 */
import { describe, expect, it } from '@jest/globals';

import { auditWorld } from '../../src/lib/engine/audit.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { ClusterSnapshot } from '../../src/lib/engine/model.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import { formatMessage } from '../../src/lib/output/audit.js';
import { WorldBuilder } from './world-builder.js';

/** One ClusterNetworkPolicy over every namespace but kube-system, with ingress rules. */
function cnp(name: string, tier: 'Admin' | 'Baseline', priority: number, ingress: unknown[]): ClusterTierPolicy {
  return {
    apiVersion: 'policy.networking.k8s.io/v1beta1',
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: { tier, priority, subject: { namespaces: { matchLabels: { team: 'a' } } }, ingress },
  };
}

const EVERY_NAMESPACE = { namespaces: {} };
const tcp = (port: number) => ({ tcp: { destinationPort: { number: port } } });

/** Namespace `a` (team=a) with one pod `a/web`, plus the given NetworkPolicies and tier policies. */
function world(tiers: ClusterTierPolicy[], policies: Record<string, Record<string, unknown>> = {}): ClusterSnapshot {
  const builder = new WorldBuilder().namespace('a', { team: 'a' }).pod('a/web', { app: 'web' });
  for (const [name, spec] of Object.entries(policies)) builder.policy(`a/${name}`, spec);
  const snapshot = builder.build();
  snapshot.clusterPolicies = tiers;
  return snapshot;
}

/** Each ingress exposure and namespace finding as `id object: ports, via rules / tier rules`. */
function exposures(snapshot: ClusterSnapshot): string[] {
  return auditWorld(compileWorld(snapshot)).flatMap((f) => {
    const d = f.details;
    if (d.id === 'namespace-not-isolated' && d.direction === 'ingress') {
      const tiers = d.tierRules
        ? ` closed by ${d.tierRules.denying.map((r) => r.rule.name).join(',')} open ${formatPortSet(d.tierRules.openPorts)}`
        : ' open';
      return [`${d.id}${tiers}`];
    }
    if (d.id !== 'exposed-to-internet' && d.id !== 'exposed-to-all-namespaces') return [];
    const rules = d.isolated ? d.rules.map((r) => `${r.policy.name}[${r.index}]`) : ['not-isolated'];
    const accepting = (d.tierRules?.accepting ?? []).map((r) => r.rule.name);
    const denying = (d.tierRules?.denying ?? []).map((r) => r.rule.name);
    return [
      `${d.id} ${formatPortSet(d.ports)}: ${rules.join(',')} accept ${accepting.join(',')} deny ${denying.join(',')}`,
    ];
  });
}

describe('exposures and isolation with cluster tiers', () => {
  it('a Baseline Deny of every pod closes a namespace no NetworkPolicy selects to pods, not to outside addresses', () => {
    const snapshot = world([
      cnp('closed', 'Baseline', 10, [
        { name: 'http', action: 'Accept', from: [EVERY_NAMESPACE], protocols: [tcp(8080)] },
        { name: 'deny-pods', action: 'Deny', from: [EVERY_NAMESPACE] },
      ]),
    ]);
    expect(exposures(snapshot)).toEqual([
      'exposed-to-all-namespaces 8080/TCP: not-isolated accept http deny deny-pods',
      'exposed-to-internet all: not-isolated accept  deny deny-pods',
      'namespace-not-isolated closed by deny-pods open 8080/TCP',
    ]);
    const messages = auditWorld(compileWorld(snapshot)).map(formatMessage);
    expect(messages).toContain(
      'no NetworkPolicy selects the 1 pod of namespace a for ingress: ClusterNetworkPolicy/closed (Baseline, priority 10) rule deny-pods keeps every pod out except on 8080/TCP, but any outside address may reach them (tier ingress peers are pods and namespaces, never addresses)',
    );
  });

  it('a Baseline Deny of every pod on every port leaves no exposure to namespaces', () => {
    const snapshot = world([
      cnp('closed', 'Baseline', 10, [{ name: 'deny-pods', action: 'Deny', from: [EVERY_NAMESPACE] }]),
    ]);
    expect(exposures(snapshot)).toEqual([
      'exposed-to-internet all: not-isolated accept  deny deny-pods',
      'namespace-not-isolated closed by deny-pods open none',
    ]);
  });

  it('an Admin Deny closes an exposure a NetworkPolicy rule opens', () => {
    const open = {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 8080 }, { port: 9090 }] }],
    };
    expect(exposures(world([], { open }))).toEqual([
      'exposed-to-all-namespaces 8080/TCP, 9090/TCP: open[0] accept  deny ',
    ]);
    const deny = cnp('protect', 'Admin', 10, [
      { name: 'no-8080', action: 'Deny', from: [EVERY_NAMESPACE], protocols: [tcp(8080)] },
    ]);
    expect(exposures(world([deny], { open }))).toEqual([
      'exposed-to-all-namespaces 9090/TCP: open[0] accept  deny no-8080',
    ]);
    const all = cnp('protect', 'Admin', 10, [{ name: 'nobody', action: 'Deny', from: [EVERY_NAMESPACE] }]);
    expect(exposures(world([all], { open }))).toEqual([]);
  });

  it('an Admin Accept exposes pods a NetworkPolicy isolates', () => {
    const denyAll = { podSelector: {}, policyTypes: ['Ingress'] };
    expect(exposures(world([], { 'deny-all': denyAll }))).toEqual([]);
    const accept = cnp('open-443', 'Admin', 10, [
      {
        name: 'https',
        action: 'Accept',
        from: [{ pods: { namespaceSelector: {}, podSelector: {} } }],
        protocols: [tcp(443)],
      },
    ]);
    const snapshot = world([accept], { 'deny-all': denyAll });
    expect(exposures(snapshot)).toEqual(['exposed-to-all-namespaces 443/TCP:  accept https deny ']);
    expect(auditWorld(compileWorld(snapshot)).map(formatMessage)).toEqual([
      '1 pod may be reached by every pod of every namespace, including namespaces not created yet, on 443/TCP: through ClusterNetworkPolicy/open-443 (Admin, priority 10) rule https',
      'no policy selects the 1 pod of namespace a for egress: they may reach any pod or address',
    ]);
  });

  it('an Admin rule naming some namespaces only decides nothing for a pod of a namespace created tomorrow', () => {
    const some = cnp('some', 'Admin', 10, [
      { name: 'deny-b', action: 'Deny', from: [{ namespaces: { matchLabels: { team: 'b' } } }] },
      { name: 'accept-c', action: 'Accept', from: [{ namespaces: { matchLabels: { team: 'c' } } }] },
    ]);
    expect(exposures(world([some]))).toEqual([
      'exposed-to-all-namespaces all: not-isolated accept  deny ',
      'exposed-to-internet all: not-isolated accept  deny ',
      'namespace-not-isolated open',
    ]);
  });

  it('a Pass leaves the decision to the NetworkPolicy below, and an Admin rule every namespace but one matches is every pod', () => {
    const pass = cnp('pass', 'Admin', 10, [
      {
        name: 'to-v1',
        action: 'Pass',
        from: [
          {
            namespaces: {
              matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
            },
          },
        ],
      },
    ]);
    const denyAll = { podSelector: {}, policyTypes: ['Ingress'] };
    expect(exposures(world([pass], { 'deny-all': denyAll }))).toEqual([]);
    const open = { podSelector: {}, ingress: [{}] };
    expect(exposures(world([pass], { open }))).toEqual([
      'exposed-to-all-namespaces all: open[0] accept  deny ',
      'exposed-to-internet all: open[0] accept  deny ',
    ]);
  });
});

describe('exposed-to-all-namespaces without tiers', () => {
  it('counts a namespaceSelector on the name label alone that every new namespace passes (NotIn) as every namespace', () => {
    const notSystem = {
      podSelector: {},
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
              },
            },
          ],
          ports: [{ port: 80 }],
        },
      ],
    };
    expect(exposures(world([], { 'not-system': notSystem }))).toEqual([
      'exposed-to-all-namespaces 80/TCP: not-system[0] accept  deny ',
    ]);
    const named = {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'b' } } }] }],
    };
    expect(exposures(world([], { named }))).toEqual([]);
  });
});

describe('rule-shadowed across the policies of a tier', () => {
  const policy = (
    name: string,
    tier: 'Admin' | 'Baseline',
    priority: number,
    subject: Record<string, unknown>,
    ingress: unknown[],
  ): ClusterTierPolicy => ({
    apiVersion: 'policy.networking.k8s.io/v1beta1',
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: { tier, priority, subject, ingress },
  });
  const teamX = { namespaces: { matchLabels: { team: 'x' } } };
  const xWeb = {
    pods: { namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'web' } } },
  };
  const range = { tcp: { destinationPort: { range: { start: 8000, end: 8999 } } } };
  const earlier = (priority: number, subject: Record<string, unknown> = { namespaces: {} }, action = 'Deny') =>
    policy('earlier', 'Admin', priority, subject, [{ name: 'team-x', action, from: [teamX], protocols: [range] }]);
  const later = policy('later', 'Admin', 20, { namespaces: { matchLabels: { team: 'a' } } }, [
    { name: 'x-web', action: 'Accept', from: [xWeb], protocols: [tcp(8080)] },
    { name: 'x-9090', action: 'Accept', from: [teamX], protocols: [tcp(9090)] },
  ]);
  const shadowed = (...tiers: ClusterTierPolicy[]) =>
    auditWorld(compileWorld(world(tiers)))
      .filter((f) => f.id === 'rule-shadowed')
      .map((f) => (f.details.id === 'rule-shadowed' && 'tier' in f.details ? formatMessage(f) : ''));

  it('finds a rule that a rule of a policy deciding first for all its pods matches in full, whatever its action', () => {
    const message =
      'ingress[0] (x-web) can never match: ClusterNetworkPolicy/earlier (Admin, priority 10) rule team-x decides first for every pod this policy selects and matches every peer and port it names, and the first rule that matches decides';
    expect(shadowed(earlier(10), later)).toEqual([message]);
    expect(shadowed(earlier(10, { namespaces: {} }, 'Pass'), later)).toEqual([message]);
    expect(shadowed(earlier(10, { namespaces: { matchLabels: { team: 'a', env: 'prod' } } }), later)).toEqual([]);
  });

  it('proves nothing from a policy of the same priority, a later one, one selecting fewer pods, or another tier', () => {
    expect(shadowed(earlier(20), later)).toEqual([]);
    expect(shadowed(earlier(30), later)).toEqual([]);
    expect(
      shadowed(earlier(10, { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } }), later),
    ).toEqual([]);
    const baseline = policy('base', 'Baseline', 10, { namespaces: {} }, [
      { name: 'all', action: 'Deny', from: [teamX] },
    ]);
    expect(shadowed(baseline, later)).toEqual([]);
  });
});
