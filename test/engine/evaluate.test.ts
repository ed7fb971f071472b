/** Table-driven engine cases: each rule of networking.k8s.io/v1, one small world each. */
import { describe, expect, test } from '@jest/globals';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { Protocol } from '../../src/lib/engine/model.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import { whoCanPairs } from '../support/pairs.js';
import { WorldBuilder } from './world-builder.js';

/** `true` when `from` may reach `to` on the port (a number, or a name resolved on `to`). */
function can(world: WorldBuilder, from: string, to: string, port: number | string = 80, protocol: Protocol = 'TCP') {
  const w = compileWorld(world.build());
  const [fns, fname] = from.split('/');
  const [tns, tname] = to.split('/');
  const r = whoCanPairs(w, {
    targets: [{ namespace: tns, name: tname }],
    sources: [{ namespace: fns, name: fname }],
    port: { port, protocol },
    includeDenied: true,
  });
  const all = [...r.connections, ...r.denied];
  expect(all).toHaveLength(from === to ? 0 : 1);
  return r.connections.length === 1;
}

/** Pods x/a, x/b, y/a, y/b with labels pod=<name>, namespaces labelled ns=<name>. */
function base() {
  return new WorldBuilder()
    .namespace('x', { ns: 'x' })
    .namespace('y', { ns: 'y' })
    .pod('x/a', { pod: 'a' }, { ips: ['10.0.0.1'] })
    .pod('x/b', { pod: 'b' }, { ips: ['10.0.0.2'] })
    .pod('y/a', { pod: 'a' }, { ips: ['10.0.1.1'] })
    .pod('y/b', { pod: 'b' }, { ips: ['10.0.1.2'] });
}

describe('isolation and selection', () => {
  test('without policies everything is allowed', () => {
    expect(can(base(), 'y/a', 'x/b')).toBe(true);
  });
  test('empty podSelector selects every pod of the policy namespace only', () => {
    const w = base().policy('x/deny', { podSelector: {}, policyTypes: ['Ingress'] });
    expect(can(w, 'x/a', 'x/b')).toBe(false);
    expect(can(w, 'y/a', 'x/a')).toBe(false);
    expect(can(w, 'x/a', 'y/b')).toBe(true);
  });
  test('absent spec.podSelector means every pod, like {}', () => {
    const w = base().policy('x/deny', { policyTypes: ['Ingress'] });
    expect(can(w, 'y/a', 'x/b')).toBe(false);
  });
  test('a pod can always reach itself, isolated or not', () => {
    const w = compileWorld(
      base()
        .policy('x/deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })
        .build(),
    );
    const r = whoCanPairs(w, {
      targets: [{ namespace: 'x', name: 'a' }],
      port: { port: 80, protocol: 'TCP' },
      includeDenied: true,
    });
    expect(
      [...r.connections, ...r.denied].some(
        (c) => 'pod' in c.from && c.from.pod.name === 'a' && c.from.pod.namespace === 'x',
      ),
    ).toBe(false);
  });
  test('a rule with no peers list admits everyone; a policy without rules admits no one', () => {
    expect(can(base().policy('x/all', { podSelector: {}, ingress: [{}] }), 'y/a', 'x/a')).toBe(true);
    expect(can(base().policy('x/all', { podSelector: {}, ingress: [{ from: [] }] }), 'y/a', 'x/a')).toBe(true);
    expect(can(base().policy('x/none', { podSelector: {}, ingress: [] }), 'y/a', 'x/a')).toBe(false);
  });
});

describe('peers', () => {
  test('podSelector alone means pods of the policy namespace', () => {
    const w = base().policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    expect(can(w, 'x/b', 'x/a')).toBe(true);
    expect(can(w, 'y/b', 'x/a')).toBe(false);
  });
  test('namespaceSelector alone means every pod of the selected namespaces', () => {
    const w = base().policy('x/p', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
    });
    expect(can(w, 'y/a', 'x/a')).toBe(true);
    expect(can(w, 'y/b', 'x/a')).toBe(true);
    expect(can(w, 'x/b', 'x/a')).toBe(false);
  });
  test('namespaceSelector {} means every namespace; absent means the policy namespace', () => {
    const all = base().policy('x/p', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    expect(can(all, 'y/b', 'x/a')).toBe(true);
    const own = base().policy('x/p', {
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    expect(can(own, 'y/b', 'x/a')).toBe(false);
  });
  test('pod and namespace selector in one peer is AND; as two peers it is OR', () => {
    const and = base().policy('x/p', {
      podSelector: {},
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'a' } } }] },
      ],
    });
    expect(can(and, 'y/a', 'x/b')).toBe(true);
    expect(can(and, 'y/b', 'x/b')).toBe(false);
    expect(can(and, 'x/a', 'x/b')).toBe(false);
    const or = base().policy('x/p', {
      podSelector: {},
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'a' } } }] },
      ],
    });
    expect(can(or, 'y/b', 'x/b')).toBe(true);
    expect(can(or, 'x/a', 'x/b')).toBe(true);
  });
  test('matchLabels and matchExpressions both apply', () => {
    const w = base()
      .pod('x/c', { pod: 'c', tier: 'web' })
      .policy('x/p', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [
              {
                podSelector: {
                  matchLabels: { pod: 'c' },
                  matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }],
                },
              },
            ],
          },
        ],
      });
    expect(can(w, 'x/c', 'x/a')).toBe(false);
  });
  test.each([
    ['NotIn', ['b'], { pod: 'c' }, true],
    ['NotIn', ['b'], {}, true],
    ['NotIn', ['b'], { role: 'b' }, false],
    ['DoesNotExist', [], {}, true],
    ['DoesNotExist', [], { role: 'x' }, false],
    ['In', ['b'], {}, false],
    ['Exists', [], {}, false],
    ['Exists', [], { role: '' }, true],
  ] as const)('matchExpressions %s %j on labels %j: %s', (operator, values, labels, allowed) => {
    const w = base()
      .pod('x/s', labels)
      .policy('x/p', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [
              { podSelector: { matchExpressions: [{ key: 'role', operator, ...(values.length ? { values } : {}) }] } },
            ],
          },
        ],
      });
    expect(can(w, 'x/s', 'x/a')).toBe(allowed);
  });
  test('namespaceSelector on kubernetes.io/metadata.name works even when the namespace object lacks it', () => {
    const w = base()
      .pod('z/a', { pod: 'a' })
      .policy('x/p', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }],
      });
    expect(can(w, 'z/a', 'x/a')).toBe(true);
    expect(can(w, 'y/a', 'x/a')).toBe(false);
  });
});

describe('ipBlock', () => {
  const v4 = () =>
    base().policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }] }],
    });
  test('matches pod IPs inside cidr and outside except (IPv4)', () => {
    expect(can(v4(), 'x/b', 'x/a')).toBe(true);
    expect(can(v4(), 'y/a', 'x/a')).toBe(false);
  });
  test('IPv6 with except, and dual-stack pods match on either address', () => {
    const w = new WorldBuilder()
      .namespace('x')
      .pod('x/a', { pod: 'a' }, { ips: ['10.0.0.1', 'fd00::1'] })
      .pod('x/in', {}, { ips: ['10.9.0.1', 'fd00:1::5'] })
      .pod('x/out', {}, { ips: ['fd00:1:2::5'] })
      .pod('x/noip', {})
      .policy('x/p', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/16', except: ['fd00:1:2::/48'] } }] }],
      });
    expect(can(w, 'x/in', 'x/a')).toBe(true);
    expect(can(w, 'x/out', 'x/a')).toBe(false);
    expect(can(w, 'x/noip', 'x/a')).toBe(false);
    expect(compileWorld(w.build()).warnings.map((x) => x.code)).toContain('pod-without-ip');
  });
  test('egress ipBlock matches the destination pod IP', () => {
    const w = base().policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.1.0/24' } }] }],
    });
    expect(can(w, 'x/a', 'y/a')).toBe(true);
    expect(can(w, 'x/a', 'x/b')).toBe(false);
  });
  test('address blocks admitted by ingress rules are listed as sources, every address when not isolated', () => {
    const w = compileWorld(v4().build());
    const isolated = whoCanPairs(w, { targets: [{ namespace: 'x', name: 'a' }], port: { port: 80, protocol: 'TCP' } });
    expect(isolated.connections.filter((c) => 'ipBlock' in c.from).map((c) => c.from)).toEqual([
      { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } },
    ]);
    const open = whoCanPairs(w, { targets: [{ namespace: 'x', name: 'b' }], port: { port: 80, protocol: 'TCP' } });
    expect(
      open.connections.filter((c) => 'ipBlock' in c.from).map((c) => ('ipBlock' in c.from ? c.from.ipBlock.cidr : '')),
    ).toEqual(['0.0.0.0/0', '::/0']);
  });
});

describe('ports', () => {
  const withPorts = (ports: unknown[]) =>
    base()
      .pod(
        'x/web',
        { pod: 'web' },
        {
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
          ],
        },
      )
      .policy('x/p', { podSelector: {}, ingress: [{ ports }] });
  test('a numbered port, TCP when protocol is absent', () => {
    const w = withPorts([{ port: 80 }]);
    expect(can(w, 'x/b', 'x/a', 80)).toBe(true);
    expect(can(w, 'x/b', 'x/a', 81)).toBe(false);
    expect(can(w, 'x/b', 'x/a', 80, 'UDP')).toBe(false);
  });
  test('endPort ranges are inclusive', () => {
    const w = withPorts([{ port: 8000, endPort: 8080 }]);
    expect([7999, 8000, 8080, 8081].map((p) => can(w, 'x/b', 'x/a', p))).toEqual([false, true, true, false]);
  });
  test('UDP and SCTP', () => {
    const w = withPorts([{ port: 53, protocol: 'UDP' }, { protocol: 'SCTP' }]);
    expect(can(w, 'x/b', 'x/a', 53, 'UDP')).toBe(true);
    expect(can(w, 'x/b', 'x/a', 53, 'TCP')).toBe(false);
    expect(can(w, 'x/b', 'x/a', 9999, 'SCTP')).toBe(true);
  });
  test('named ports resolve on the destination pod with the same protocol; unresolved admits nothing', () => {
    const w = withPorts([{ port: 'http' }, { port: 'dns', protocol: 'UDP' }]);
    expect(can(w, 'x/b', 'x/web', 8080)).toBe(true);
    expect(can(w, 'x/b', 'x/web', 53, 'UDP')).toBe(true);
    expect(can(w, 'x/b', 'x/web', 80)).toBe(false);
    expect(can(w, 'x/b', 'x/a', 8080)).toBe(false);
  });
  test('a port asked by name resolves on each target', () => {
    const w = withPorts([{ port: 8080 }]);
    expect(can(w, 'x/b', 'x/web', 'http')).toBe(true);
    const r = whoCanPairs(compileWorld(w.build()), {
      targets: [{ namespace: 'x', name: 'a' }],
      port: { port: 'http', protocol: 'TCP' },
    });
    expect(r.connections).toEqual([]);
    expect(r.warnings.map((x) => x.code)).toEqual(['unresolved-named-port']);
  });
  test('egress named ports resolve on the destination', () => {
    const w = base()
      .pod('y/web', {}, { ports: [{ name: 'http', containerPort: 8080 }] })
      .policy('x/p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] });
    expect(can(w, 'x/a', 'y/web', 8080)).toBe(true);
    expect(can(w, 'x/a', 'y/a', 8080)).toBe(false);
  });
  test('without a port, the allowed set is what both directions allow', () => {
    const w = compileWorld(
      base()
        .policy('x/in', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ ports: [{ port: 80 }, { port: 443 }, { port: 53, protocol: 'UDP' }] }],
        })
        .policy('y/out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 1, endPort: 100 }] }] })
        .build(),
    );
    const r = whoCanPairs(w, {
      targets: [{ namespace: 'x', name: 'a' }],
      sources: [
        { namespace: 'y', name: 'a' },
        { namespace: 'x', name: 'b' },
      ],
    });
    expect(r.connections.map((c) => [c.from, formatPortSet(c.ports!)])).toEqual([
      [{ pod: { namespace: 'y', name: 'a' } }, '80/TCP'],
      [{ pod: { namespace: 'x', name: 'b' } }, '80/TCP, 443/TCP, 53/UDP'],
    ]);
  });
});

describe('policyTypes, unions and directions', () => {
  test('policyTypes absent: ingress only, unless the policy has egress rules', () => {
    const ingressOnly = base().policy('x/p', { podSelector: { matchLabels: { pod: 'a' } } });
    expect(can(ingressOnly, 'x/a', 'x/b')).toBe(true);
    expect(can(ingressOnly, 'x/b', 'x/a')).toBe(false);
    const both = base().policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    expect(can(both, 'x/a', 'y/a')).toBe(false);
    expect(can(both, 'x/a', 'x/b')).toBe(true);
    expect(can(both, 'x/b', 'x/a')).toBe(false);
  });
  test('policyTypes [Egress] ignores ingress rules and leaves ingress open', () => {
    const w = base().policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'zzz' } } }] }],
    });
    expect(can(w, 'x/b', 'x/a')).toBe(true);
    expect(can(w, 'x/a', 'x/b')).toBe(false);
  });
  test('several policies selecting a pod: the union of their rules', () => {
    const w = base()
      .policy('x/from-b', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
      })
      .policy('x/from-y', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
      });
    expect(can(w, 'x/b', 'x/a')).toBe(true);
    expect(can(w, 'y/b', 'x/a')).toBe(true);
    expect(can(w, 'x/a', 'x/b')).toBe(false);
  });
  test('ingress allowed but egress denied is denied, and the decision says which side', () => {
    const w = compileWorld(
      base()
        .policy('x/allow', { podSelector: {}, ingress: [{}] })
        .policy('y/deny-egress', { podSelector: {}, policyTypes: ['Egress'] })
        .build(),
    );
    const r = whoCanPairs(w, {
      targets: [{ namespace: 'x', name: 'a' }],
      sources: [{ namespace: 'y', name: 'a' }],
      port: { port: 80, protocol: 'TCP' },
      includeDenied: true,
    });
    expect(r.connections).toEqual([]);
    const d = r.denied[0].decision;
    expect(d.ingress).toMatchObject({
      allowed: true,
      isolated: true,
      allowedBy: [{ policy: { namespace: 'x', name: 'allow' }, direction: 'ingress', index: 0 }],
    });
    expect(d.egress).toMatchObject({
      allowed: false,
      isolated: true,
      selectedBy: [{ namespace: 'y', name: 'deny-egress' }],
      reason: 'no-rule-admits-peer',
    });
  });
  test('a rule that admits the peer on another port is reported as such', () => {
    const w = compileWorld(
      base()
        .policy('x/p', { podSelector: {}, ingress: [{ ports: [{ port: 443 }] }] })
        .build(),
    );
    const r = whoCanPairs(w, {
      targets: [{ namespace: 'x', name: 'a' }],
      sources: [{ namespace: 'y', name: 'a' }],
      port: { port: 80, protocol: 'TCP' },
      includeDenied: true,
    });
    expect(r.denied[0].decision.ingress).toMatchObject({
      reason: 'no-rule-admits-port',
      peerAdmittedBy: [{ index: 0 }],
    });
  });
  test('cross-namespace: egress in y and ingress in x must both admit', () => {
    const w = base()
      .policy('x/in', {
        podSelector: {},
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'a' } } }] },
        ],
      })
      .policy('y/out', {
        podSelector: {},
        egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'x' } } }], ports: [{ port: 80 }] }],
      });
    expect(can(w, 'y/a', 'x/b', 80)).toBe(true);
    expect(can(w, 'y/a', 'x/b', 81)).toBe(false);
    expect(can(w, 'y/b', 'x/b', 80)).toBe(false);
    expect(can(w, 'y/a', 'y/b', 80)).toBe(false);
  });
});

describe('what the API leaves open', () => {
  test('policies that fail validation are left out with a warning naming them', () => {
    const w = compileWorld(
      base()
        .policy('x/bad-port', { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] })
        .policy('x/bad-cidr', {
          podSelector: {},
          ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }],
        })
        .policy('x/bad-peer', {
          podSelector: {},
          ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }],
        })
        .build(),
    );
    expect(w.policies).toEqual([]);
    // In the API server's order (by name), as every list of policies.
    expect(w.warnings.map((x) => x.message.split(':')[0])).toEqual([
      'policy x/bad-cidr is invalid and left out',
      'policy x/bad-peer is invalid and left out',
      'policy x/bad-port is invalid and left out',
    ]);
  });
  test('a policy name that is not a DNS subdomain is invalid; a null rule is the rule {} (admits everyone)', () => {
    const w = compileWorld(
      base()
        .policy('x/Bad_Name', { podSelector: {} })
        .policy('x/null-rule', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [null] })
        .build(),
    );
    expect(w.policies.map((p) => p.ref.name)).toEqual(['null-rule']);
    expect(w.warnings.map((x) => x.message)).toEqual([expect.stringContaining('policy x/Bad_Name is invalid')]);
    const r = whoCanPairs(w, {
      targets: [{ namespace: 'x', name: 'a' }],
      sources: [{ namespace: 'y', name: 'b' }],
      port: { port: 80, protocol: 'TCP' },
    });
    expect(r.connections[0].decision.ingress).toMatchObject({
      isolated: true,
      allowedBy: [{ policy: { name: 'null-rule' }, index: 0 }],
    });
  });
  test('completed pods are left out; host-network targets are flagged', () => {
    const w = compileWorld(
      base()
        .pod('x/done', {}, { extra: { status: { phase: 'Succeeded' } } })
        .pod('x/host', {}, { extra: { spec: { hostNetwork: true, containers: [] } } })
        .build(),
    );
    expect(w.podsByKey.has('x/done')).toBe(false);
    const r = whoCanPairs(w, { targets: [{ namespace: 'x', name: 'host' }], port: { port: 80, protocol: 'TCP' } });
    expect(r.warnings.map((x) => x.code)).toEqual(['host-network-pod']);
  });
  test('pods alike to every selector share one class', () => {
    const b = base().policy('x/p', { podSelector: { matchLabels: { pod: 'a' } } });
    for (let i = 0; i < 50; i++) b.pod(`y/r${i}`, { pod: 'r', 'pod-template-hash': String(i) });
    const w = compileWorld(b.build());
    expect(new Set(w.pods.filter((p) => p.ref.name.startsWith('r')).map((p) => p.classId)).size).toBe(1);
  });
});
