/**
 * Cluster-scoped tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy): the
 * shared tier conformance cases, loaded from their manifests with the -f loader, with NetworkPolicy
 * v1's verdict of each direction from the engine; then cases of our own.
 */
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';

import { loadManifests } from '../../src/lib/cluster/files.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { analysePair, decideOnPort } from '../../src/lib/engine/evaluate.js';
import type { Protocol } from '../../src/lib/engine/model.js';
import { compileTierPolicies, snapshotNodes, type TierSet } from '../../src/lib/engine/tiers-compile.js';
import { decideWithTiers, type TierDecision, type TierEndpoint } from '../../src/lib/engine/tiers.js';
import type { PodInfo, World } from '../../src/lib/engine/world.js';
import { tierCases, tierManifest } from '../support/tier-cases.js';

/** A world read from manifests: the compiled v1 world, the compiled tiers, and the loader's warnings. */
interface TierWorld {
  world: World;
  tiers: TierSet;
  warnings: string[];
}

async function loadWorld(paths: string[], stdin?: string): Promise<TierWorld> {
  const loaded = await loadManifests(paths, stdin === undefined ? {} : { stdin });
  return {
    world: compileWorld(loaded.snapshot),
    tiers: compileTierPolicies(loaded.snapshot.clusterPolicies ?? [], snapshotNodes(loaded.snapshot)),
    warnings: loaded.warnings,
  };
}

function endpointOf(world: World, info: PodInfo): TierEndpoint {
  return {
    namespace: info.ref.namespace,
    namespaceLabels: world.namespaceLabels.get(info.ref.namespace) ?? {},
    labels: info.pod.metadata?.labels ?? {},
    ips: info.ips,
    ports: (info.pod.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? []).map((p) => ({
        name: p.name,
        port: p.containerPort,
        protocol: (p.protocol ?? 'TCP') as Protocol,
      })),
    ),
    isHostNetwork: info.isHostNetwork,
  };
}

/** The verdict of one probe: v1 from the engine's analysePair/decideOnPort, then the tiers. */
function decide(w: TierWorld, from: string, to: string, port: number, protocol: Protocol): TierDecision {
  const source = w.world.podsByKey.get(from);
  const destination = w.world.podsByKey.get(to);
  if (!source || !destination) throw new Error(`no pod ${source ? to : from}`);
  const v1 = decideOnPort(
    analysePair(w.world, w.world.classes[source.classId]!, w.world.classes[destination.classId]!),
    protocol,
    port,
  );
  return decideWithTiers(
    w.tiers,
    {
      ingress: { isolated: v1.ingress.isolated, allowed: v1.ingress.allowed },
      egress: { isolated: v1.egress.isolated, allowed: v1.egress.allowed },
    },
    endpointOf(w.world, source),
    endpointOf(w.world, destination),
    { port, protocol },
  );
}

const cases = tierCases();

describe('shared tier conformance cases', () => {
  test('are all present', () => {
    expect(cases.length).toBe(71);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const w = await loadWorld([tierManifest(c.name)]);
    expect(w.tiers.warnings).toEqual([]);
    expect(w.tiers.policies.length).toBeGreaterThan(0);
    const actual = c.probes.map((p) => ({ ...p, allowed: decide(w, p.from, p.to, p.port, p.protocol).allowed }));
    expect(actual).toEqual(c.probes);
  });
});

/** Namespaces a and b; a/client, b/server (web 8080/TCP), b/other (IPv6 only), and a host-network pod in b. */
const NAMESPACES = fileURLToPath(new URL('../fixtures/tiers/pods.yaml', import.meta.url));

async function worldWith(policies: string): Promise<TierWorld> {
  return loadWorld([NAMESPACES, '-'], policies);
}

/** An Admin tier ClusterNetworkPolicy (v1alpha2) whose subject is namespace a, with these egress rules (YAML flow maps). */
function adminEgressOfA(name: string, priority: number, ...rules: string[]): string {
  return `
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: ${name}}
spec:
  tier: Admin
  priority: ${priority}
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
${rules.map((r) => `  - ${r}\n`).join('')}`;
}

const A_CLIENT = 'a/client';
const B_SERVER = 'b/server';
const B_OTHER = 'b/other';

describe('v1alpha1 port ranges', () => {
  const anp = `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-range}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - name: deny-8000-9000
    action: Deny
    to: [{namespaces: {matchLabels: {team: b}}}]
    ports: [{portRange: {protocol: TCP, start: 8000, end: 9000}}]
`;
  test.each([
    [7999, 'TCP', true],
    [8000, 'TCP', false],
    [8500, 'TCP', false],
    [9000, 'TCP', false],
    [9001, 'TCP', true],
    [8500, 'UDP', true],
  ] as const)('port %d/%s allowed=%s', async (port, protocol, allowed) => {
    const w = await worldWith(anp);
    const d = decide(w, A_CLIENT, B_SERVER, port, protocol);
    expect(d.allowed).toBe(allowed);
    expect(d.egress.decidedBy).toBe(allowed ? 'default' : 'Admin');
  });

  test('a range whose start is not below its end is left out, naming the field', async () => {
    const w = await worldWith(anp.replace('end: 9000', 'end: 8000'));
    expect(w.tiers.policies).toEqual([]);
    expect(w.warnings.join('\n')).toMatch(
      /AdminNetworkPolicy deny-range left out: spec\.egress\[0\]\.ports\[0\]\.portRange/,
    );
    expect(decide(w, A_CLIENT, B_SERVER, 8500, 'TCP').allowed).toBe(true);
  });

  test('v1alpha2 protocols ranges and named ports', async () => {
    const w = await worldWith(`
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: cnp}
spec:
  tier: Admin
  priority: 1
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}
  ingress:
  - {action: Accept, from: [{namespaces: {}}], protocols: [{destinationNamedPort: web}]}
  - {action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {range: {start: 8000, end: 8100}}}}]}
`);
    expect(decide(w, A_CLIENT, B_SERVER, 8080, 'TCP').allowed).toBe(true);
    expect(decide(w, A_CLIENT, B_SERVER, 8080, 'TCP').ingress.rule?.rule.index).toBe(0);
    expect(decide(w, A_CLIENT, B_SERVER, 8081, 'TCP').allowed).toBe(false);
    expect(decide(w, A_CLIENT, B_SERVER, 8101, 'TCP').allowed).toBe(true);
  });
});

describe('Pass into a pod a NetworkPolicy selects', () => {
  const world = `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pass-to-b}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: b}}}
  ingress:
  - {name: pass-all, action: Pass, from: [{namespaces: {}}]}
  - {name: never-reached, action: Deny, from: [{namespaces: {}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: b, name: only-from-a}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
`;
  test('the NetworkPolicy decides for the pod it selects; the Baseline tier for the others', async () => {
    const w = await worldWith(world);
    const toServer = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(toServer.allowed).toBe(true);
    expect(toServer.ingress.decidedBy).toBe('NetworkPolicy');
    expect(toServer.ingress.passedBy.map((h) => h.rule.name)).toEqual(['pass-all']);
    // b/other -> b/server: the NetworkPolicy admits only namespace a.
    const fromOther = decide(w, B_OTHER, B_SERVER, 80, 'TCP');
    expect(fromOther.allowed).toBe(false);
    expect(fromOther.ingress.decidedBy).toBe('NetworkPolicy');
    // No NetworkPolicy selects b/other: the Baseline tier's deny decides.
    const toOther = decide(w, A_CLIENT, B_OTHER, 80, 'TCP');
    expect(toOther.allowed).toBe(false);
    expect(toOther.ingress.decidedBy).toBe('Baseline');
    expect(toOther.ingress.rule).toMatchObject({ policy: { name: 'default' }, rule: { name: 'deny-all' } });
  });

  test('without the Pass, the Admin tier Deny would be final over the NetworkPolicy', async () => {
    const w = await worldWith(world.replace('action: Pass', 'action: Deny'));
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.allowed).toBe(false);
    expect(d.ingress.decidedBy).toBe('Admin');
  });
});

describe('same priority', () => {
  /** An AdminNetworkPolicy of priority 5 on namespace b; a-deny denies all ingress, b-allow allows it. */
  const anp = (name: string): string => `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: ${name}}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: b}}}
  ingress: [{name: r, action: ${name === 'a-deny' ? 'Deny' : 'Allow'}, from: [{namespaces: {}}]}]
`;
  const two = (first: string, second: string): string => `${anp(first)}---${anp(second)}`;
  test.each([
    ['a-deny', 'b-allow'],
    ['b-allow', 'a-deny'],
  ])('reports both policies and assumes name order (%s written first)', async (first, second) => {
    const w = await worldWith(two(first, second));
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.ingress.ambiguities).toEqual([
      {
        tier: 'Admin',
        priority: 5,
        policies: [
          { kind: 'AdminNetworkPolicy', name: 'a-deny' },
          { kind: 'AdminNetworkPolicy', name: 'b-allow' },
        ],
        assumed: { kind: 'AdminNetworkPolicy', name: 'a-deny' },
      },
    ]);
    expect(d.allowed).toBe(false);
  });

  test('different priorities are not ambiguous', async () => {
    const w = await worldWith(two('a-deny', 'b-allow').replace('priority: 5', 'priority: 4'));
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.ingress.ambiguities).toEqual([]);
    expect(d.allowed).toBe(false);
  });
  test('the lower priority decides, whatever the names', async () => {
    const w = await worldWith(two('b-allow', 'a-deny').replace('priority: 5', 'priority: 4'));
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.ingress.ambiguities).toEqual([]);
    expect(d.ingress.rule).toMatchObject({ policy: { name: 'b-allow' }, priority: 4, action: 'Accept' });
    expect(d.allowed).toBe(true);
  });
});

describe('IPv6 networks', () => {
  const cnp = `
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: v6}
spec:
  tier: Baseline
  priority: 0
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: deny-v6, action: Deny, to: [{networks: ["fd00:2::/64"]}]}
`;
  test('a pod with an address in the block is matched, on any of its IPs', async () => {
    const w = await worldWith(cnp);
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.allowed).toBe(false);
    expect(d.egress).toMatchObject({ decidedBy: 'Baseline', rule: { rule: { name: 'deny-v6' } } });
    expect(decide(w, A_CLIENT, B_OTHER, 80, 'TCP').allowed).toBe(true);
  });

  test('an IPv4 block does not match IPv6 addresses', async () => {
    const w = await worldWith(cnp.replace('fd00:2::/64', '0.0.0.0/0'));
    expect(decide(w, A_CLIENT, B_OTHER, 80, 'TCP').allowed).toBe(true);
    expect(decide(w, A_CLIENT, B_SERVER, 80, 'TCP').allowed).toBe(false);
  });

  test('an invalid CIDR leaves the policy out, naming the field', async () => {
    const w = await worldWith(cnp.replace('fd00:2::/64', 'fd00:2::/129'));
    expect(w.tiers.policies).toEqual([]);
    expect(w.warnings.join('\n')).toContain('spec.egress[0].to[0].networks[0]');
  });
});

describe('fields this version does not know fail closed', () => {
  const anp = (action: string): string => `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: future}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: future-rule, action: ${action}, to: [{serviceAccounts: {name: x}}]}
  - {name: then-deny, action: Deny, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}]}
`;
  test('a Deny rule with an unknown peer denies everything', async () => {
    const w = await worldWith(anp('Deny'));
    expect(w.tiers.warnings).toEqual([
      {
        code: 'unknown-peer',
        policy: { kind: 'AdminNetworkPolicy', name: 'future' },
        field: 'spec.egress[0].to[0]',
      },
    ]);
    for (const to of [B_SERVER, B_OTHER]) {
      const d = decide(w, A_CLIENT, to, 443, 'UDP');
      expect(d.allowed).toBe(false);
      expect(d.egress.rule?.rule.name).toBe('future-rule');
    }
  });

  test('a Pass rule with an unknown peer denies everything too', async () => {
    const w = await worldWith(anp('Pass'));
    expect(decide(w, A_CLIENT, B_OTHER, 80, 'TCP')).toMatchObject({
      allowed: false,
      egress: { decidedBy: 'Admin', rule: { action: 'Deny' } },
    });
  });

  test('an Allow rule with an unknown peer matches nothing', async () => {
    const w = await worldWith(anp('Allow'));
    expect(w.tiers.warnings.map((x) => x.code)).toEqual(['unknown-peer']);
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.allowed).toBe(false);
    expect(d.egress.rule?.rule.name).toBe('then-deny');
    expect(decide(w, A_CLIENT, B_OTHER, 80, 'TCP').allowed).toBe(true);
  });

  test('an Allow rule with an unknown peer matches nothing, its known peers included', async () => {
    const w = await worldWith(
      anp('Allow').replace('{serviceAccounts: {name: x}}', '{namespaces: {}}, {serviceAccounts: {name: x}}'),
    );
    expect(w.tiers.warnings.map((x) => x.field)).toEqual(['spec.egress[0].to[1]']);
    expect(decide(w, A_CLIENT, B_SERVER, 80, 'TCP').egress.rule?.rule.name).toBe('then-deny');
  });

  test('domainNames in a BaselineAdminNetworkPolicy (its CRD has none) fail closed', async () => {
    const w = await worldWith(`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: a}}}
  egress: [{name: deny-domains, action: Deny, to: [{domainNames: [example.com]}]}]
`);
    expect(w.tiers.warnings.map((x) => x.code)).toEqual(['unknown-peer']);
    expect(decide(w, A_CLIENT, B_OTHER, 80, 'TCP').egress).toMatchObject({ allowed: false, decidedBy: 'Baseline' });
  });

  test('a named port with a networks peer is what the CRD rejects', async () => {
    const w = await worldWith(
      adminEgressOfA(
        'named',
        1,
        `{action: Deny, to: [{networks: [10.0.0.0/8]}], protocols: [{destinationNamedPort: web}]}`,
      ),
    );
    expect(w.tiers.policies).toEqual([]);
    expect(w.warnings.join('\n')).toContain('named left out: spec.egress[0].protocols: a named port cannot');
  });

  test('an Accept rule whose only port entry is unknown admits no port', async () => {
    const w = await worldWith(
      adminEgressOfA(
        'future-port',
        1,
        `{name: accept, action: Accept, to: [{namespaces: {}}], protocols: [{icmp: {}}]}`,
        `{name: deny, action: Deny, to: [{namespaces: {}}]}`,
      ),
    );
    expect(w.tiers.warnings.map((x) => [x.code, x.field])).toEqual([['unknown-port', 'spec.egress[0].protocols[0]']]);
    expect(decide(w, A_CLIENT, B_SERVER, 80, 'TCP').egress.rule?.rule.name).toBe('deny');
  });

  test('an empty peer is what the CRD rejects: the policy is left out, naming the field', async () => {
    const w = await worldWith(anp('Deny').replace('{serviceAccounts: {name: x}}', '{}'));
    expect(w.tiers.policies).toEqual([]);
    expect(w.warnings.join('\n')).toContain(
      'AdminNetworkPolicy future left out: spec.egress[0].to[0]: must set one field',
    );
  });

  test.each([
    ['priority 1001', (s: string) => s.replace('priority: 1', 'priority: 1001'), 'spec.priority'],
    [
      'action Accept in v1alpha1',
      (s: string) => s.replace('action: Deny, to: [{pods', 'action: Accept, to: [{pods'),
      'spec.egress[1].action',
    ],
    ['no to', (s: string) => s.replace(', to: [{serviceAccounts: {name: x}}]', ''), 'spec.egress[0].to'],
  ])('%s is left out', async (_label, edit, field) => {
    const w = await worldWith(edit(anp('Deny')));
    expect(w.tiers.policies).toEqual([]);
    expect(w.warnings.join('\n')).toContain(`future left out: ${field}`);
  });
});

describe('domainNames', () => {
  test('are recorded per rule and match no pod', async () => {
    const w = await worldWith(
      adminEgressOfA(
        'dns-allow',
        3,
        `{name: to-example, action: Accept, to: [{domainNames: ["*.example.com"]}]}`,
        `{name: deny-rest, action: Deny, to: [{networks: ["0.0.0.0/0", "::/0"]}]}`,
      ),
    );
    const d = decide(w, A_CLIENT, B_SERVER, 443, 'TCP');
    expect(d.allowed).toBe(false);
    expect(d.egress.domainNameRules.map((h) => h.rule.name)).toEqual(['to-example']);
    expect(d.ingress.domainNameRules).toEqual([]);
  });
});

describe('tiers and v1 together', () => {
  test('a connection needs the egress and the ingress side', async () => {
    const w = await worldWith(`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: allow-egress}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: a}}}
  egress: [{name: all, action: Allow, to: [{namespaces: {}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: b, name: deny-in}
spec: {podSelector: {}, policyTypes: [Ingress]}
`);
    const d = decide(w, A_CLIENT, B_SERVER, 80, 'TCP');
    expect(d.egress).toMatchObject({ allowed: true, decidedBy: 'Admin' });
    expect(d.ingress).toMatchObject({ allowed: false, decidedBy: 'NetworkPolicy' });
    expect(d.allowed).toBe(false);
  });
});

describe('reading tier policies from files', () => {
  const cnp = (version: string): string => `
apiVersion: policy.networking.k8s.io/${version}
kind: ClusterNetworkPolicy
metadata: {name: cnp, namespace: ignored}
spec:
  tier: Baseline
  priority: 0
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
`;
  test.each(['v1alpha2', 'v1beta1'])(
    'ClusterNetworkPolicy %s is read, cluster-scoped, without a warning',
    async (version) => {
      const loaded = await loadManifests(['-'], { stdin: cnp(version) });
      expect(loaded.snapshot.clusterPolicies?.map((p) => [p.apiVersion, p.metadata])).toEqual([
        [`policy.networking.k8s.io/${version}`, { name: 'cnp' }],
      ]);
      expect(loaded.warnings).toEqual([]);
    },
  );

  test('a version this tool does not read is skipped as before', async () => {
    const loaded = await loadManifests(['-'], { stdin: cnp('v9') });
    expect(loaded.snapshot.clusterPolicies).toBeUndefined();
    expect(loaded.warnings.join('\n')).toContain('skipped kind ClusterNetworkPolicy');
  });

  test('a tier without a valid value is left out, naming spec.tier', async () => {
    const loaded = await loadManifests(['-'], { stdin: cnp('v1beta1').replace('tier: Baseline', 'tier: Developer') });
    expect(loaded.snapshot.clusterPolicies).toBeUndefined();
    expect(loaded.warnings[0]).toBe(
      '<stdin>:2: ClusterNetworkPolicy cnp left out: spec.tier: must be Admin or Baseline',
    );
  });
});
