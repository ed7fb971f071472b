/**
 * What a previewed policy names that matches nothing (selectors, namespaces, port names) and why no
 * connection changes; what it does to traffic with addresses outside the cluster; address sets
 * written back as ipBlocks.
 */
import { describe, expect, test } from '@jest/globals';
import {
  compileIpBlock,
  addressesOfBlock,
  blocksOf,
  subtractAddresses,
  unionAddresses,
} from '../../src/lib/engine/ipblock.js';
import { previewPolicy } from '../../src/lib/engine/preview.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import type { AllowSpec } from '../../src/lib/engine/synthesize.js';
import { buildAllowPolicy } from '../../src/lib/engine/synthesize.js';
import type { PolicyTrap } from '../../src/lib/engine/traps.js';
import { WorldBuilder } from './world-builder.js';

const world = () =>
  new WorldBuilder()
    .namespace('shop', { team: 'shop' })
    .namespace('ops', { team: 'ops' })
    .pod('shop/api', { app: 'api' }, { ports: [{ name: 'http', containerPort: 8080 }] })
    .pod('shop/web', { app: 'frontend' })
    .pod('ops/prometheus', { app: 'prometheus' });

const ingress = (over: Partial<AllowSpec>): AllowSpec => ({
  namespace: 'shop',
  direction: 'ingress',
  subject: { matchLabels: { app: 'api' } },
  peers: [{ podSelector: { matchLabels: { app: 'frontend' } } }],
  ports: [{ protocol: 'TCP', port: 8080 }],
  ...over,
});

const preview = (spec: AllowSpec, builder = world()) => previewPolicy(builder.build(), buildAllowPolicy(spec, 'p'));

const codes = (traps: PolicyTrap[]) =>
  traps.map((t) => {
    if (t.code === 'port-name-unknown') return `${t.code} ${t.name} [${t.nearMisses.join(',')}]`;
    const misses = t.nearMisses.map((m) => `${m.wanted}~${m.closest}`).join(',');
    return t.code === 'peer-matches-nothing' ? `${t.code} ${t.what} [${misses}]` : `${t.code} [${misses}]`;
  });

describe('what a policy names that matches nothing', () => {
  test('a clean policy: no trap, and what it opens is said', () => {
    const p = preview(ingress({}));
    expect(p.traps).toEqual([]);
    expect(p.unchanged).toBeUndefined();
  });

  test('a subject selector with a typo: the near-miss label of the namespace', () => {
    const p = preview(ingress({ subject: { matchLabels: { app: 'apii' } } }));
    expect(codes(p.traps)).toEqual(['subject-matches-nothing [app=apii~app=api]']);
    expect(p.unchanged).toBe('matches-nothing');
  });

  test('a peer pod selector that matches nothing: near-misses among the pods of its namespaces only', () => {
    const p = preview(ingress({ peers: [{ podSelector: { matchLabels: { app: 'frontnd' } } }] }));
    expect(codes(p.traps)).toEqual(['peer-matches-nothing pods [app=frontnd~app=frontend]']);
    // prometheus lives in ops: a peer without namespaceSelector cannot mean it, so it is no near-miss.
    const other = preview(ingress({ peers: [{ podSelector: { matchLabels: { app: 'prometheuss' } } }] }));
    expect(codes(other.traps)).toEqual(['peer-matches-nothing pods []']);
  });

  test('a namespace selector that selects no namespace is named as such, with the near-miss namespace label', () => {
    const p = preview(ingress({ peers: [{ namespaceSelector: { matchLabels: { team: 'opps' } } }] }));
    expect(codes(p.traps)).toEqual(['peer-matches-nothing namespaces [team=opps~team=ops]']);
  });

  test('a label in another case, and a value far from any: only the close one is suggested', () => {
    const p = preview(ingress({ subject: { matchLabels: { App: 'api' } } }));
    expect(codes(p.traps)).toEqual(['subject-matches-nothing [App=api~app=api]']);
    const far = preview(ingress({ subject: { matchLabels: { app: 'database' } } }));
    expect(codes(far.traps)).toEqual(['subject-matches-nothing []']);
  });

  test('a port name no destination pod defines: the near-miss name', () => {
    const p = preview(ingress({ ports: [{ protocol: 'TCP', port: 'htp' }] }));
    expect(codes(p.traps)).toEqual(['port-name-unknown htp [http]']);
    // Under a default deny it changes nothing at all, and says why.
    const deny = world().policy('shop/deny', { podSelector: {}, policyTypes: ['Ingress'] });
    expect(preview(ingress({ ports: [{ protocol: 'TCP', port: 'htp' }] }), deny).unchanged).toBe('matches-nothing');
    // The name on another protocol is not the same port.
    const udp = preview(ingress({ ports: [{ protocol: 'UDP', port: 'http' }] }));
    expect(codes(udp.traps)).toEqual(['port-name-unknown http []']);
  });

  test('egress: port names resolve on the pods the peers admit', () => {
    const egress: AllowSpec = {
      namespace: 'shop',
      direction: 'egress',
      subject: { matchLabels: { app: 'frontend' } },
      peers: [{ podSelector: { matchLabels: { app: 'api' } } }],
      ports: [{ protocol: 'TCP', port: 'http' }],
    };
    expect(preview(egress).traps).toEqual([]);
    expect(codes(preview({ ...egress, ports: [{ protocol: 'TCP', port: 'metrics' }] }).traps)).toEqual([
      'port-name-unknown metrics []',
    ]);
  });

  test('ipBlock peers never match nothing: addresses are not pods', () => {
    expect(preview(ingress({ peers: [{ ipBlock: { cidr: '203.0.113.0/24' } }] })).traps).toEqual([]);
  });
});

describe('why no connection changes', () => {
  test('already allowed: a second policy admitting the same', () => {
    const builder = world().policy('shop/first', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }],
    });
    const p = preview(ingress({}), builder);
    expect(p.unchanged).toBe('already-allowed');
    expect(p.traps).toEqual([]);
  });

  test("blocked by the other side's egress, with the ports that stay blocked", () => {
    const builder = world()
      .policy('shop/deny', { podSelector: {}, policyTypes: ['Ingress'] })
      .policy('shop/web-out', {
        podSelector: { matchLabels: { app: 'frontend' } },
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 8080 }] }],
      });
    const both = ingress({
      ports: [
        { protocol: 'TCP', port: 8080 },
        { protocol: 'TCP', port: 9090 },
      ],
    });
    const p = preview(both, builder);
    // 8080 opens; 9090 stays blocked by the frontend's egress: said, with its port.
    expect(p.unchanged).toBeUndefined();
    const blocked = p.findings.find((f) => f.code === 'blocked-by-other-side');
    expect(blocked && 'blocked' in blocked ? blocked.blocked.map((b) => formatPortSet(b.ports)) : []).toEqual([
      '9090/TCP',
    ]);
    const only = preview(ingress({ ports: [{ protocol: 'TCP', port: 9090 }] }), builder);
    expect(only.unchanged).toBe('blocked-by-other-side');
  });
});

describe('addresses outside the cluster in a preview', () => {
  test('the first ingress policy cuts every address, on every port', () => {
    const p = preview(ingress({}));
    expect(
      p.diff.cutAddresses.map((c) => `${c.pod.name} ${c.direction} ${c.blocks.map((b) => b.cidr).join('+')}`),
    ).toEqual(['api ingress 0.0.0.0/0+::/0']);
    expect(p.groups.cut.some((g) => 'addresses' in g.from)).toBe(true);
  });

  test('under a default deny, an ipBlock peer with except opens exactly its addresses on its port', () => {
    const builder = world().policy('shop/deny', { podSelector: {}, policyTypes: ['Ingress'] });
    const p = preview(
      ingress({
        peers: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      }),
      builder,
    );
    expect(p.diff.cutAddresses).toEqual([]);
    expect(p.diff.openedAddresses.map((c) => [c.blocks, formatPortSet(c.ports)])).toEqual([
      [[{ cidr: '203.0.113.0/25', except: [] }], '443/TCP'],
    ]);
  });

  test('narrowing an open egress to one block cuts the rest of the address space, written with except', () => {
    const egress: AllowSpec = {
      namespace: 'shop',
      direction: 'egress',
      subject: { matchLabels: { app: 'api' } },
      peers: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
      ports: [],
    };
    const p = preview(egress);
    const cut = p.diff.cutAddresses.map((c) => [c.blocks, formatPortSet(c.ports)]);
    expect(cut).toEqual([
      [
        [
          { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] },
          { cidr: '::/0', except: [] },
        ],
        'all',
      ],
    ]);
  });
});

describe('blocksOf: address sets as a person writes them', () => {
  const set = (cidr: string, except: string[] = []) => addressesOfBlock(compileIpBlock({ cidr, except }));

  test('a CIDR is itself; a CIDR less a hole is written with except; scattered CIDRs are listed', () => {
    expect(blocksOf(set('10.0.0.0/8'))).toEqual([{ cidr: '10.0.0.0/8', except: [] }]);
    expect(blocksOf(set('0.0.0.0/0', ['10.0.0.0/8', '192.168.0.0/16']))).toEqual([
      { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] },
    ]);
    expect(blocksOf(unionAddresses(set('10.0.0.0/8'), set('192.168.0.0/16')))).toEqual([
      { cidr: '10.0.0.0/8', except: [] },
      { cidr: '192.168.0.0/16', except: [] },
    ]);
    expect(blocksOf(unionAddresses(set('::/0'), set('203.0.113.0/24')))).toEqual([
      { cidr: '203.0.113.0/24', except: [] },
      { cidr: '::/0', except: [] },
    ]);
  });

  test('whatever form is chosen, it holds exactly the set', () => {
    const cases = [
      subtractAddresses(set('10.0.0.0/8'), set('10.1.2.0/24')),
      unionAddresses(set('10.0.0.0/9'), set('10.128.0.0/10')),
      subtractAddresses(set('2001:db8::/32'), set('2001:db8:1::/48')),
    ];
    for (const addresses of cases) {
      const back = unionAddresses(...blocksOf(addresses).map((b) => set(b.cidr, b.except)));
      expect(back).toEqual(addresses);
    }
  });
});

describe('fixes stay one readable command', () => {
  test('more than four namespaces reached the pods: the fix admits every namespace in one peer', () => {
    const builder = world();
    for (const i of [1, 2, 3, 4, 5]) builder.namespace(`team-${i}`).pod(`team-${i}/client`, { app: 'client' });
    const p = preview(ingress({}), builder);
    const first = p.findings.find((f) => f.code === 'first-policy');
    expect(first?.fixes.map((f) => f.peers)).toEqual([
      [{ namespaceSelector: {} }, { ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }],
    ]);
  });
});

test('a namespace named by kubernetes.io/metadata.name matches even without pods or the label in the file', () => {
  const builder = world().namespace('empty');
  const p = preview(
    ingress({ peers: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'empty' } } }] }),
    builder,
  );
  expect(codes(p.traps)).toEqual(['peer-matches-nothing pods []']);
});

test('replacing a policy of the same name: the pods the old one selected are in the diff too', () => {
  // shop/p isolated the frontend; the new shop/p selects the api instead: the frontend opens again.
  const builder = world().policy('shop/p', {
    podSelector: { matchLabels: { app: 'frontend' } },
    policyTypes: ['Ingress'],
  });
  const p = preview(ingress({}), builder);
  const opened = p.diff.opened.map((c) => `${c.from.name}->${c.to.name}`);
  expect(opened).toEqual(expect.arrayContaining(['api->web', 'prometheus->web']));
  expect(p.diff.openedAddresses.map((c) => `${c.pod.name} ${c.direction}`)).toEqual(['web ingress']);
});
