/** Selector syntax, CIDRs, port sets and policy validation. */
import { describe, expect, test } from '@jest/globals';
import {
  cidrContains,
  compileIpBlock,
  ipBlockContains,
  IpBlockIndex,
  parseCidr,
  parseIp,
  validateIpBlock,
} from '../../src/lib/engine/ipblock.js';
import {
  fullPortSet,
  intersectPortSets,
  portSetOf,
  unionPortSets,
  formatPortSet,
  validatePolicyPort,
} from '../../src/lib/engine/ports.js';
import { formatSelector, parseSelector, SelectorSyntaxError, validateSelector } from '../../src/lib/engine/selector.js';
import { validatePolicy } from '../../src/lib/engine/validate.js';
import { toTypedPolicy } from '../../src/lib/cluster/policy-shape.js';

describe('parseSelector (kubectl -l syntax)', () => {
  test.each([
    ['', {}],
    ['app=web', { matchLabels: { app: 'web' } }],
    ['app==web, tier = db', { matchLabels: { app: 'web', tier: 'db' } }],
    ['app!=web', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }],
    ['env in (prod, staging)', { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] }],
    ['env notin (dev)', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] }],
    [
      'app,!legacy',
      {
        matchExpressions: [
          { key: 'app', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
    ],
    ['example.com/team=a', { matchLabels: { 'example.com/team': 'a' } }],
    ['a=', { matchLabels: { a: '' } }],
  ])('%j', (text, expected) => {
    expect(parseSelector(text)).toEqual(expected);
  });
  test.each(['app=we b', 'app in (a', '=x', 'a>1', 'Bad Key=x', 'a=-x', 'a=b,', 'a b'])('rejects %j', (text) => {
    expect(() => parseSelector(text)).toThrow(SelectorSyntaxError);
  });
  test('`k in ()` is In [""], as apimachinery reads it', () => {
    expect(parseSelector('a in ()')).toEqual({ matchExpressions: [{ key: 'a', operator: 'In', values: [''] }] });
  });
  test('round-trips through formatSelector', () => {
    const text = 'app=web,env in (a,b),!legacy';
    expect(parseSelector(formatSelector(parseSelector(text)))).toEqual(parseSelector(text));
  });
});

describe('CIDRs and IPs', () => {
  test.each([
    ['10.1.2.3', { family: 4, value: 0x0a010203n }],
    ['::1', { family: 6, value: 1n }],
    ['fd00::1:2', { family: 6, value: (0xfd00n << 112n) | (1n << 16n) | 2n }],
    ['::ffff:10.0.0.1', { family: 4, value: 0x0a000001n }],
    ['1:2:3:4:5:6:7:8', { family: 6, value: 0x00010002000300040005000600070008n }],
  ])('parseIp(%j)', (text, expected) => {
    expect(parseIp(text)).toMatchObject(expected);
  });
  test.each(['10.0.0', '256.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'x', ''])('parseIp rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
  test('host bits are cleared and containment never crosses families', () => {
    const c = parseCidr('10.0.0.7/24')!;
    expect(cidrContains(c, parseIp('10.0.0.200')!)).toBe(true);
    expect(cidrContains(c, parseIp('10.0.1.1')!)).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('::1')!)).toBe(false);
    expect(cidrContains(parseCidr('::/0')!, parseIp('::1')!)).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('255.255.255.255')!)).toBe(true);
    expect(cidrContains(parseCidr('255.255.255.255/32')!, parseIp('255.255.255.255')!)).toBe(true);
    expect(cidrContains(parseCidr('128.0.0.0/1')!, parseIp('127.255.255.255')!)).toBe(false);
  });
  test.each([
    [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, 0],
    [{ cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] }, 1],
    [{ cidr: '10.0.0.0/8', except: ['fd00::/8'] }, 1],
    [{ cidr: '10.0.0.0/33', except: [] }, 1],
    [{ cidr: 'fd00::/8', except: ['fd00:1::/32'] }, 0],
    [{ cidr: '', except: [] }, 1],
  ])('validateIpBlock(%j) finds %d problem(s)', (block, count) => {
    expect(validateIpBlock(block, 'ipBlock')).toHaveLength(count);
  });
});

describe('IpBlockIndex', () => {
  test('answers exactly as checking every block, at and around every edge', () => {
    const blocks = [
      compileIpBlock({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.3.0/24'] }),
      compileIpBlock({ cidr: '10.1.0.0/16', except: [] }),
      compileIpBlock({ cidr: '0.0.0.0/0', except: ['255.255.255.255/32'] }),
      compileIpBlock({ cidr: 'fd00::/8', except: ['fd00:1::/32'] }),
      compileIpBlock({ cidr: '::/0', except: [] }),
    ];
    const index = new IpBlockIndex(blocks);
    const probes = [
      '0.0.0.0',
      '9.255.255.255',
      '10.0.0.0',
      '10.0.255.255',
      '10.1.0.0',
      '10.1.255.255',
      '10.2.0.0',
      '10.2.3.7',
      '10.2.4.0',
      '10.255.255.255',
      '11.0.0.0',
      '255.255.255.254',
      '255.255.255.255',
      '::',
      'fd00::1',
      'fd00:1::1',
      'fd00:2::',
      'fe00::',
    ];
    for (const text of probes) {
      const ip = parseIp(text)!;
      const brute = blocks.flatMap((b, id) => (ipBlockContains(b, ip) ? [id] : []));
      expect([text, index.blocksContaining(ip)]).toEqual([text, brute]);
    }
  });
});

describe('port sets', () => {
  test('union merges adjacent ranges; intersection clips', () => {
    const u = unionPortSets(portSetOf('TCP', 80, 80), portSetOf('TCP', 81, 90), portSetOf('UDP', 53, 53));
    expect(formatPortSet(u)).toBe('80-90/TCP, 53/UDP');
    expect(formatPortSet(intersectPortSets(u, portSetOf('TCP', 85, 100)))).toBe('85-90/TCP');
    expect(formatPortSet(fullPortSet())).toBe('all');
  });
  test.each([
    [{ port: 80 }, 0],
    [{ port: 0 }, 1],
    [{ port: 80, endPort: 79 }, 1],
    [{ port: 'http', endPort: 90 }, 1],
    [{ endPort: 90 }, 1],
    [{ port: 'Not_A_Name' }, 1],
    [{ port: '80' }, 1],
    [{ port: 80, protocol: 'ICMP' }, 1],
  ])('validatePolicyPort(%j) finds %d problem(s)', (port, count) => {
    expect(validatePolicyPort(port as never, 'port')).toHaveLength(count);
  });
});

describe('validatePolicy', () => {
  // Policies are validated in the snapshot's shape (`_from`), as compileWorld sees them.
  const policy = (spec: unknown) => toTypedPolicy({ metadata: { name: 'p', namespace: 'x' }, spec } as never);
  test('accepts a valid policy and an empty spec', () => {
    expect(validatePolicy(policy({ podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }))).toEqual([]);
    expect(validatePolicy(policy({}))).toEqual([]);
  });
  test.each([
    [{ policyTypes: ['Ingres'] }, 'spec.policyTypes[0]'],
    [{ ingress: [{ from: [{}] }] }, 'spec.ingress[0].from[0]: must specify a peer'],
    [
      { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      'spec.podSelector.matchExpressions[0].values',
    ],
    [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }, 'may not be specified'],
    [{ ingress: 'everything' }, 'spec.ingress: must be a list'],
    [{ podSelector: 'app=web' }, 'spec.podSelector: must be a label selector object'],
    [{ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: '10.1.0.0/16' } }] }] }, 'except: must be a list'],
  ])('rejects %j', (spec, message) => {
    expect(validatePolicy(policy(spec)).join('\n')).toContain(message);
  });
});

describe('validateSelector: wrong types (regressions found by test/property/manifests.test.ts)', () => {
  test('matchExpressions values that are not a list are an error, not a crash or a list of characters', () => {
    expect(
      validateSelector(
        { matchExpressions: [{ key: 'k', operator: 'In', values: 'abc' as never }] },
        'spec.podSelector',
      ),
    ).toEqual(['spec.podSelector.matchExpressions[0].values: must be a list of strings']);
    expect(
      validateSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: 5 as never }] }, 'spec.podSelector'),
    ).toEqual(['spec.podSelector.matchExpressions[0].values: must be a list of strings']);
    expect(validateSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: [1] as never }] }, 'p')).toEqual([
      'p.matchExpressions[0].values: 1 must be a string',
    ]);
  });
});
