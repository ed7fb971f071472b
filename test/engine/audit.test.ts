/** audit's findings: one small world per finding id, with the exact findings it gives, and a clean world. */
import { describe, expect, it } from '@jest/globals';

import { auditWorld, findingKey } from '../../src/lib/engine/audit.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { formatFix, formatMessage } from '../../src/lib/output/audit.js';
import type { ClusterSnapshot } from '../../src/lib/engine/model.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import { WorldBuilder } from './world-builder.js';

/** Each finding as `severity id namespace kind/name key`, in the engine's order. */
function audit(snapshot: ClusterSnapshot, namespaces?: string[]): string[] {
  return auditWorld(compileWorld(snapshot), namespaces ? { namespaces } : {}).map((f) =>
    [f.severity, f.id, f.namespace ?? '-', `${f.object.kind}/${f.object.name}`, findingKey(f)].join(' ').trimEnd(),
  );
}

const DENY_ALL = { podSelector: {}, policyTypes: ['Ingress', 'Egress'] };

/** Namespace `a` isolated both ways, with one pod `a/web` (app=web, port http 8080): the base of most worlds. */
function isolated(): WorldBuilder {
  return new WorldBuilder()
    .namespace('a')
    .pod('a/web', { app: 'web' }, { ports: [{ name: 'http', containerPort: 8080 }] })
    .policy('a/default-deny', DENY_ALL);
}

describe('a clean world', () => {
  it('has no finding: isolated both ways, rules between named pods, no DNS pods to check', () => {
    const snapshot = isolated()
      .pod('a/client', { app: 'client' })
      .policy('a/web-from-client', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 'http' }] }],
      })
      .policy('a/client-to-web', {
        podSelector: { matchLabels: { app: 'client' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
      })
      .build();
    expect(audit(snapshot, ['a'])).toEqual([]);
  });
});

describe('namespace-not-isolated, and the exposures of a namespace without policies', () => {
  it('says ingress (warning) and egress (info), and that the pods are open to the internet and every namespace', () => {
    const snapshot = new WorldBuilder().namespace('a').pod('a/web', { app: 'web' }).build();
    expect(audit(snapshot)).toEqual([
      'warning exposed-to-all-namespaces a Pod/web not-isolated',
      'warning exposed-to-internet a Pod/web not-isolated',
      'warning namespace-not-isolated a Namespace/a ingress',
      'info namespace-not-isolated a Namespace/a egress',
    ]);
  });

  it('counts the pods left out when policies select only some', () => {
    const snapshot = new WorldBuilder()
      .namespace('a')
      .pod('a/web', { app: 'web' })
      .pod('a/db', { app: 'db' })
      .policy('a/web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress', 'Egress'] })
      .build();
    const world = compileWorld(snapshot);
    const found = auditWorld(world).filter((f) => f.id === 'namespace-not-isolated');
    expect(found.map((f) => f.details)).toEqual([
      { id: 'namespace-not-isolated', direction: 'ingress', state: 'partial', pods: 2, selectedPods: 1 },
      { id: 'namespace-not-isolated', direction: 'egress', state: 'partial', pods: 2, selectedPods: 1 },
    ]);
  });
});

describe('exposed-to-internet', () => {
  const withSources = (...blocks: { cidr: string; except?: string[] }[]) =>
    isolated()
      .policy('a/web-ingress', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: blocks.map((ipBlock) => ({ ipBlock })), ports: [{ port: 443 }] }],
      })
      .build();

  it('finds a rule admitting 0.0.0.0/0 (less private ranges), with its ports and rule', () => {
    const world = compileWorld(withSources({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }));
    const found = auditWorld(world);
    expect(found.map((f) => `${f.severity} ${f.id} ${f.object.kind}/${f.object.name}`)).toEqual([
      'warning exposed-to-internet Pod/web',
    ]);
    expect(found[0].details).toMatchObject({
      isolated: true,
      pods: 1,
      rules: [{ policy: { namespace: 'a', name: 'web-ingress' }, direction: 'ingress', index: 0 }],
      blocks: [{ cidr: '0.0.0.0/0' }],
      ports: { TCP: [{ from: 443, to: 443 }], UDP: [], SCTP: [] },
    });
  });

  it('says nothing of private or narrow blocks', () => {
    expect(audit(withSources({ cidr: '10.0.0.0/8' }, { cidr: '203.0.113.0/24' }))).toEqual([]);
  });
});

describe('exposed-to-all-namespaces', () => {
  const withPeer = (peer: Record<string, unknown>) =>
    isolated()
      .policy('a/web-ingress', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [peer], ports: [{ port: 8080 }] }],
      })
      .build();

  it('finds namespaceSelector {} without a podSelector', () => {
    expect(audit(withPeer({ namespaceSelector: {} }))).toEqual(['warning exposed-to-all-namespaces a Pod/web rules']);
  });

  it('says nothing when a podSelector narrows it, or the namespaces are named', () => {
    expect(audit(withPeer({ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }))).toEqual([]);
    expect(audit(withPeer({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'a' } } }))).toEqual([]);
  });
});

describe('policy-selects-no-pods, peer-selects-nothing, named-port-unresolved', () => {
  it('finds each, with the near miss', () => {
    const snapshot = isolated()
      .policy('a/typo', {
        podSelector: { matchLabels: { app: 'weeb' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
      })
      .policy('a/peer-typo', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: 'web' } } },
              { podSelector: { matchLabels: { app: 'webb' } } },
              { namespaceSelector: { matchLabels: { team: 'nobody' } } },
            ],
            ports: [{ port: 'htpp' }],
          },
        ],
      })
      .build();
    const found = auditWorld(compileWorld(snapshot));
    expect(found.map((f) => `${f.id} ${f.object.name} ${findingKey(f)}`.trimEnd())).toEqual([
      'named-port-unresolved peer-typo a/peer-typo ingress[000000] htpp/TCP',
      'peer-selects-nothing peer-typo a/peer-typo ingress[000000].000001',
      'peer-selects-nothing peer-typo a/peer-typo ingress[000000].000002',
      'policy-selects-no-pods typo',
    ]);
    expect(found.map((f) => ('nearMisses' in f.details ? f.details.nearMisses : undefined))).toEqual([
      ['http'],
      [{ wanted: 'app=webb', closest: 'app=web' }],
      [],
      [{ wanted: 'app=weeb', closest: 'app=web' }],
    ]);
  });

  it('takes a transposition for one edit: wbe is a near miss of web', () => {
    const snapshot = isolated()
      .policy('a/swapped', {
        podSelector: { matchLabels: { app: 'wbe' } },
        ingress: [{ ports: [{ port: 'htpt' }] }],
      })
      .build();
    const found = auditWorld(compileWorld(snapshot)).filter((f) => f.id === 'policy-selects-no-pods');
    expect(found.map((f) => f.details)).toEqual([
      {
        id: 'policy-selects-no-pods',
        selector: { matchLabels: { app: 'wbe' } },
        nearMisses: [{ wanted: 'app=wbe', closest: 'app=web' }],
      },
    ]);
  });

  describe('egress port names resolve on the pods the peers admit, never on addresses', () => {
    // a/client reaches out; a/web defines http, a/db defines only postgres (10.0.0.2).
    const egress = (to: Record<string, unknown>[] | undefined, port: string) =>
      isolated()
        .pod('a/client', { app: 'client' }, { ips: ['10.0.0.1'] })
        .pod('a/db', { app: 'db' }, { ips: ['10.0.0.2'], ports: [{ name: 'postgres', containerPort: 5432 }] })
        .policy('a/client-out', {
          podSelector: { matchLabels: { app: 'client' } },
          policyTypes: ['Egress'],
          egress: [{ ...(to ? { to } : {}), ports: [{ port }] }],
        })
        .build();
    const unresolved = (snapshot: ClusterSnapshot) =>
      auditWorld(compileWorld(snapshot))
        .filter((f) => f.id === 'named-port-unresolved')
        .map((f) =>
          f.details.id === 'named-port-unresolved' ? `${f.details.port} ${f.details.nearMisses.join(',')}` : '',
        );

    it('says nothing of a name toward addresses outside the cluster only (there it opens nothing, and is no typo)', () => {
      expect(unresolved(egress([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], 'https'))).toEqual([]);
      expect(unresolved(egress([{ ipBlock: { cidr: '203.0.113.0/24' } }], 'postgress'))).toEqual([]);
    });

    it('finds a name none of the pods an ipBlock holds defines, and says nothing when one does', () => {
      expect(unresolved(egress([{ ipBlock: { cidr: '10.0.0.2/32' } }], 'postgress'))).toEqual(['postgress postgres']);
      expect(unresolved(egress([{ ipBlock: { cidr: '10.0.0.2/32' } }], 'postgres'))).toEqual([]);
    });

    it('resolves on the pods of pod peers, and on every pod without peers', () => {
      expect(unresolved(egress([{ podSelector: { matchLabels: { app: 'db' } } }], 'htpp'))).toEqual(['htpp ']);
      expect(unresolved(egress([{ podSelector: { matchLabels: { app: 'web' } } }], 'htpp'))).toEqual(['htpp http']);
      expect(unresolved(egress(undefined, 'http'))).toEqual([]);
      expect(unresolved(egress(undefined, 'htpp'))).toEqual(['htpp http']);
    });
  });

  it('leaves out rules of a direction the policy does not apply to', () => {
    const snapshot = isolated()
      .policy('a/egress-only', {
        podSelector: {},
        policyTypes: ['Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'nothing' } } }] }],
      })
      .build();
    expect(audit(snapshot, ['a'])).toEqual([]);
  });
});

describe('rule-shadowed', () => {
  const ingress = (ref: string, podSelector: Record<string, unknown>, rules: Record<string, unknown>[]) => [
    ref,
    { podSelector, policyTypes: ['Ingress'], ingress: rules },
  ];
  const world = (...policies: ReturnType<typeof ingress>[]) => {
    const builder = isolated().pod('a/client', { app: 'client', tier: 'front' });
    for (const [ref, spec] of policies) builder.policy(ref as string, spec as Record<string, unknown>);
    return builder.build();
  };
  const client = { podSelector: { matchLabels: { app: 'client' } } };
  const narrowClient = { podSelector: { matchLabels: { app: 'client', tier: 'front' } } };

  it('finds a narrower rule of the same pods, and of a policy selecting fewer pods', () => {
    const snapshot = world(
      ingress('a/p', { matchLabels: { app: 'web' } }, [
        { from: [client], ports: [{ port: 8080 }, { port: 'http' }] },
        { from: [narrowClient], ports: [{ port: 8080 }] },
      ]),
      ingress('a/q', { matchLabels: { app: 'web', tier: 'x' } }, [{ from: [client], ports: [{ port: 'http' }] }]),
    );
    // q's pods (app=web, tier=x) are a subset of p's even with none of them there today.
    expect(audit(snapshot)).toEqual([
      'warning policy-selects-no-pods a NetworkPolicy/q',
      'info rule-shadowed a NetworkPolicy/p a/p ingress[000001]',
      'info rule-shadowed a NetworkPolicy/q a/q ingress[000000]',
    ]);
  });

  it('reports only the later of two rules admitting the same', () => {
    const rule = { from: [client], ports: [{ port: 8080 }] };
    const snapshot = world(
      ingress('a/p', { matchLabels: { app: 'web' } }, [rule]),
      ingress('a/q', { matchLabels: { app: 'web' } }, [rule]),
    );
    expect(audit(snapshot)).toEqual(['info rule-shadowed a NetworkPolicy/q a/q ingress[000000]']);
  });

  it('says nothing it cannot prove: other pods, wider ports, a port name against a number, ipBlock against pods', () => {
    const snapshot = world(
      ingress('a/p', { matchLabels: { app: 'web' } }, [
        { from: [client], ports: [{ port: 8080 }] },
        { from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 8080 }] },
      ]),
      ingress('a/q', { matchLabels: { tier: 'x' } }, [{ from: [client], ports: [{ port: 8080 }] }]),
      ingress('a/r', { matchLabels: { app: 'web' } }, [
        { from: [client], ports: [{ port: 8080, endPort: 8081 }] },
        { from: [narrowClient], ports: [{ port: 'http' }] },
      ]),
    );
    expect(audit(snapshot).filter((f) => f.includes('rule-shadowed'))).toEqual([
      // r's 8080-8081 is not inside p's 8080; p's 8080 is inside r's 8080-8081.
      'info rule-shadowed a NetworkPolicy/p a/p ingress[000000]',
    ]);
  });

  it('reads ipBlocks as address sets', () => {
    const snapshot = world(
      ingress('a/p', { matchLabels: { app: 'web' } }, [
        { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] },
        { from: [{ ipBlock: { cidr: '10.2.0.0/16' } }] },
        { from: [{ ipBlock: { cidr: '10.1.2.0/24' } }] },
      ]),
    );
    expect(audit(snapshot)).toEqual(['info rule-shadowed a NetworkPolicy/p a/p ingress[000001]']);
  });
});

describe('tier-priority-tie', () => {
  const anp = (name: string, priority: number, subject: Record<string, unknown>): ClusterTierPolicy => ({
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata: { name },
    spec: { priority, subject, ingress: [{ name: 'r', action: 'Deny', from: [{ namespaces: {} }] }] },
  });
  const named = (ns: string) => ({ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': ns } } });

  it('finds two policies of one tier and priority whose subjects may overlap, and says when they do today', () => {
    const snapshot = isolated().build();
    snapshot.clusterPolicies = [anp('x', 10, named('a')), anp('y', 10, { namespaces: {} }), anp('z', 11, named('a'))];
    const found = auditWorld(compileWorld(snapshot)).filter((f) => f.id === 'tier-priority-tie');
    expect(found.map((f) => [f.object.name, f.details])).toEqual([
      [
        'x',
        {
          id: 'tier-priority-tie',
          tier: 'Admin',
          priority: 10,
          other: { kind: 'AdminNetworkPolicy', name: 'y' },
          overlapsToday: true,
        },
      ],
      [
        'y',
        {
          id: 'tier-priority-tie',
          tier: 'Admin',
          priority: 10,
          other: { kind: 'AdminNetworkPolicy', name: 'x' },
          overlapsToday: true,
        },
      ],
    ]);
  });

  it('says nothing of subjects that cannot overlap, and nothing with -n (cluster-scoped)', () => {
    const snapshot = isolated().build();
    snapshot.clusterPolicies = [anp('x', 10, named('a')), anp('y', 10, named('b'))];
    expect(audit(snapshot)).toEqual([]);
    snapshot.clusterPolicies = [anp('x', 10, named('a')), anp('y', 10, named('a'))];
    expect(audit(snapshot, ['a'])).toEqual([]);
  });
});

describe('rule-shadowed in a cluster tier policy', () => {
  const cnp = (ingress: Record<string, unknown>[], egress: Record<string, unknown>[] = []): ClusterTierPolicy => ({
    apiVersion: 'policy.networking.k8s.io/v1alpha2',
    kind: 'ClusterNetworkPolicy',
    metadata: { name: 'p' },
    spec: { tier: 'Admin', priority: 10, subject: { namespaces: {} }, ingress, egress },
  });
  const team = (value: string) => ({ matchLabels: { team: value } });
  const tcp = (from: number, to = from) => ({
    tcp: { destinationPort: from === to ? { number: from } : { range: { start: from, end: to } } },
  });
  const shadowed = (policy: ClusterTierPolicy) => {
    const snapshot = isolated().build();
    snapshot.clusterPolicies = [policy];
    return auditWorld(compileWorld(snapshot))
      .filter((f) => f.id === 'rule-shadowed')
      .map((f) =>
        f.details.id === 'rule-shadowed' && 'tier' in f.details ? `${findingKey(f)} by ${f.details.by.rule.name}` : '',
      );
  };

  it('finds a later rule an earlier one matches in full, whatever the actions', () => {
    const policy = cnp(
      [
        { name: 'deny-team-x', action: 'Deny', from: [{ namespaces: team('x') }], protocols: [tcp(8000, 8999)] },
        // Pods of team x namespaces on one port of the range: never reached.
        {
          name: 'accept-x-web',
          action: 'Accept',
          from: [{ pods: { namespaceSelector: team('x'), podSelector: { matchLabels: { app: 'web' } } } }],
          protocols: [tcp(8080)],
        },
        // Another port, or a wider peer: not shadowed.
        { name: 'accept-x-other-port', action: 'Accept', from: [{ namespaces: team('x') }], protocols: [tcp(9090)] },
        { name: 'pass-everyone', action: 'Pass', from: [{ namespaces: {} }], protocols: [tcp(8080)] },
      ],
      [
        { name: 'deny-net', action: 'Deny', to: [{ networks: ['10.0.0.0/8'] }] },
        {
          name: 'accept-subnet',
          action: 'Accept',
          to: [{ networks: ['10.1.0.0/16', '10.2.0.0/16'] }],
          protocols: [tcp(443)],
        },
        { name: 'accept-wider', action: 'Accept', to: [{ networks: ['10.0.0.0/7'] }] },
      ],
    );
    expect(shadowed(policy)).toEqual(['egress[000001] by deny-net', 'ingress[000001] by deny-team-x']);
  });

  it('proves nothing from pod selectors that are not implied, or from an earlier rule with fewer ports', () => {
    const policy = cnp([
      {
        name: 'web',
        action: 'Accept',
        from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } }],
        protocols: [tcp(80)],
      },
      { name: 'all-pods', action: 'Deny', from: [{ namespaces: {} }], protocols: [tcp(80)] },
      {
        name: 'api-any-port',
        action: 'Deny',
        from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'api' } } } }],
      },
    ]);
    expect(shadowed(policy)).toEqual([]);
  });

  it('is worded with the rules and where each is', () => {
    const policy = cnp([
      { name: 'deny-all', action: 'Deny', from: [{ namespaces: {} }] },
      { name: 'accept-x', action: 'Accept', from: [{ namespaces: team('x') }] },
    ]);
    const snapshot = isolated().build();
    snapshot.clusterPolicies = [policy];
    const [f] = auditWorld(compileWorld(snapshot)).filter((x) => x.id === 'rule-shadowed');
    expect([f.severity, f.namespace, f.object, formatMessage(f), formatFix(f)]).toEqual([
      'info',
      undefined,
      { kind: 'ClusterNetworkPolicy', name: 'p' },
      'ingress[1] (accept-x) can never match: ingress[0] (deny-all) before it matches every peer and port it names, and the first rule that matches decides',
      'remove ingress[1] (accept-x), or move it before ingress[0] (deny-all) if it is meant to decide first',
    ]);
  });
});

describe('invalid-policy', () => {
  it('finds a NetworkPolicy and a tier policy the API server would reject, with their problems', () => {
    const snapshot = isolated()
      .policy('a/bad', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] })
      .build();
    snapshot.clusterPolicies = [
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'AdminNetworkPolicy',
        metadata: { name: 'p' },
        spec: {},
      },
    ];
    const found = auditWorld(compileWorld(snapshot));
    expect(found.map((f) => `${f.severity} ${f.id} ${f.namespace ?? '-'} ${f.object.kind}/${f.object.name}`)).toEqual([
      'error invalid-policy - AdminNetworkPolicy/p',
      'error invalid-policy a NetworkPolicy/bad',
    ]);
    expect(found[1].details).toEqual({
      id: 'invalid-policy',
      problems: [expect.stringMatching(/^spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr/)],
    });
  });
});

describe('legacy-annotation', () => {
  it('finds both seed-era annotations, with what they asked for', () => {
    const snapshot = isolated().build();
    snapshot.namespaces[0].metadata!.annotations = {
      'net.beta.kubernetes.io/network-policy': '{"ingress": {"isolation": "DefaultDeny"}}',
    };
    snapshot.namespaces.push({
      metadata: { name: 'old', annotations: { 'net.alpha.kubernetes.io/network-isolation': 'off' } },
    });
    const found = auditWorld(compileWorld(snapshot));
    expect(found.map((f) => [f.namespace, f.details])).toEqual([
      [
        'a',
        {
          id: 'legacy-annotation',
          annotation: 'net.beta.kubernetes.io/network-policy',
          value: '{"ingress": {"isolation": "DefaultDeny"}}',
          isolatesIngress: true,
          isolatedBy: [{ namespace: 'a', name: 'default-deny' }],
        },
      ],
      [
        'old',
        {
          id: 'legacy-annotation',
          annotation: 'net.alpha.kubernetes.io/network-isolation',
          value: 'off',
          isolatesIngress: false,
          isolatedBy: [],
        },
      ],
    ]);
  });
});

describe('egress-without-dns', () => {
  const withDns = (builder: WorldBuilder) =>
    builder.namespace('kube-system').pod('kube-system/coredns', { 'k8s-app': 'kube-dns' });

  it('finds a namespace isolated for egress with no rule to the DNS pods', () => {
    expect(audit(withDns(isolated()).build(), ['a'])).toEqual(['warning egress-without-dns a Namespace/a']);
  });

  it('says nothing once a rule admits them on 53/UDP', () => {
    const snapshot = withDns(isolated())
      .policy('a/dns', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [{ port: 53, protocol: 'UDP' }],
          },
        ],
      })
      .build();
    expect(audit(snapshot, ['a'])).toEqual([]);
  });
});
