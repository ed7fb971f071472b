/** The PEER and PORT grammar of `allow`: every form and the object it produces, and one-line usage errors. */
import { describe, expect, test } from '@jest/globals';

import { UsageError } from '../src/lib/errors.js';
import {
  canonicalCidr,
  formatPeer,
  formatPort,
  nonCanonicalCidrWarnings,
  parsePeer,
  parsePort,
  parsePortText,
  parseSubject,
  shellQuote,
} from '../src/lib/peer-syntax.js';

const byName = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

describe('parsePeer', () => {
  test.each([
    ['segment=frontend', { podSelector: { matchLabels: { segment: 'frontend' } } }],
    ['*', { podSelector: {} }],
    ['app!=web', { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] } }],
    ['tier in (a,b)', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] } }],
    ['tier notin (x)', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] } }],
    ['app', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } }],
    ['!canary', { podSelector: { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] } }],
    [
      'app=web,!canary',
      {
        podSelector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }],
        },
      },
    ],
    // SELECTOR@NAMESPACES is one peer: both selectors in it (AND).
    ['app=web@tenant-b', { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: byName('tenant-b') }],
    [
      'app=web@env=prod',
      { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { env: 'prod' } } },
    ],
    [
      'app=web@env in (prod,staging)',
      {
        podSelector: { matchLabels: { app: 'web' } },
        namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] },
      },
    ],
    ['app=web@*', { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: {} }],
    ['*@tenant-b', { podSelector: {}, namespaceSelector: byName('tenant-b') }],
    ['@tenant-b', { namespaceSelector: byName('tenant-b') }],
    ['@team=payments', { namespaceSelector: { matchLabels: { team: 'payments' } } }],
    ['@*', { namespaceSelector: {} }],
    ['10.0.0.0/8', { ipBlock: { cidr: '10.0.0.0/8' } }],
    ['10.0.0.0/8!10.1.0.0/16', { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
    ['10.0.0.0/8!10.1.0.0/16,10.2.0.0/16', { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] } }],
    ['fd00::/8', { ipBlock: { cidr: 'fd00::/8' } }],
    ['fd00::/8!fd00:1::/32', { ipBlock: { cidr: 'fd00::/8', except: ['fd00:1::/32'] } }],
    ['0.0.0.0/0', { ipBlock: { cidr: '0.0.0.0/0' } }],
    // A label key whose prefix looks like hex is still a selector.
    ['cafe.de/team=a', { podSelector: { matchLabels: { 'cafe.de/team': 'a' } } }],
  ])('%j', (text, expected) => {
    expect(parsePeer(text, '--from')).toEqual(expected);
  });

  test.each([
    ['app=we b', "expected ','"],
    ['app=web@env=pr od', 'invalid label selector "env=pr od"'],
    ['app in (a', 'expected'],
    ['Bad Key=x', 'unexpected "K"'],
    ['', 'empty peer'],
    ['app=web@', 'nothing after "@"'],
    ['a@b@c', 'more than one "@"'],
    ['10.0.0.0/33', 'not a valid CIDR'],
    ['10.0.0.0/', 'not a valid CIDR'],
    ['300.0.0.0/8', 'not a valid CIDR'],
    ['10.0.0.0/8!11.0.0.0/16', 'strict subset'],
    ['fd00::/8!10.0.0.0/8', 'strict subset'],
    ['10.0.0.0/8!x', 'not a valid CIDR'],
  ])('rejects %j as a usage error naming the flag', (text, why) => {
    const error = (() => {
      try {
        parsePeer(text, '--from');
      } catch (e) {
        return e;
      }
    })() as UsageError;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('--from');
    expect(error.message).toContain(why);
    expect(error.message).not.toContain('\n');
    // One line: what is wrong and the forms a PEER takes, no separate hint.
    expect(error.hint).toBeUndefined();
    expect(error.message).toContain('a PEER is SELECTOR');
  });
});

describe('parseSubject', () => {
  test('a plain selector, or * for every pod', () => {
    expect(parseSubject('segment=backend', '--to')).toEqual({ matchLabels: { segment: 'backend' } });
    expect(parseSubject('*', '--to')).toEqual({});
  });
  test.each([
    ['app=web@tenant-b', 'no @NAMESPACES'],
    ['@tenant-b', 'no @NAMESPACES'],
    ['10.0.0.0/8', 'address block'],
    ['a b', 'unexpected "b"'],
  ])('rejects %j', (text, why) => {
    expect(() => parseSubject(text, '--to')).toThrow(why);
  });
});

describe('parsePort', () => {
  test.each([
    ['80', { protocol: 'TCP', port: 80 }],
    ['80/TCP', { protocol: 'TCP', port: 80 }],
    ['80/UDP', { protocol: 'UDP', port: 80 }],
    ['53/udp', { protocol: 'UDP', port: 53 }],
    ['3868/SCTP', { protocol: 'SCTP', port: 3868 }],
    ['8000-9000/TCP', { protocol: 'TCP', port: 8000, endPort: 9000 }],
    ['8000-9000', { protocol: 'TCP', port: 8000, endPort: 9000 }],
    ['http', { protocol: 'TCP', port: 'http' }],
    ['dns/UDP', { protocol: 'UDP', port: 'dns' }],
    // A name with digits in it is a name, not a range.
    ['http-8000/TCP', { protocol: 'TCP', port: 'http-8000' }],
  ])('%j', (text, expected) => {
    expect(parsePort(text)).toEqual(expected);
  });
  test.each([
    ['0', 'between 1 and 65535'],
    ['65536', 'between 1 and 65535'],
    ['80/ICMP', 'TCP, UDP or SCTP'],
    ['80/', 'TCP, UDP or SCTP'],
    ['9000-8000', 'the end port must be >= the start port'],
    ['80-70000', 'between 1 and 65535'],
    ['HTTP', 'lowercase'],
    ['a-very-long-port-name', '15 characters'],
    ['', 'expected PORT'],
  ])('rejects %j', (text, why) => {
    expect(() => parsePort(text)).toThrow(UsageError);
    expect(() => parsePort(text)).toThrow(why);
  });
});

describe('parsePortText: the one PORT grammar, as who-can --port takes it (one port)', () => {
  const onePort = (text: string) => parsePortText(text, { isRangeAllowed: false });
  test.each([
    ['80', { port: 80 }],
    ['80/TCP', { port: 80, protocol: 'TCP' }],
    ['53/udp', { port: 53, protocol: 'UDP' }],
    ['9000/Sctp', { port: 9000, protocol: 'SCTP' }],
    ['65535', { port: 65535 }],
    ['http', { port: 'http' }],
    ['dns-tcp/TCP', { port: 'dns-tcp', protocol: 'TCP' }],
  ])('%j', (text, expected) => {
    expect(onePort(text)).toEqual(expected);
  });
  test.each([
    ['0', 'port number must be between 1 and 65535'],
    ['65536', 'port number must be between 1 and 65535'],
    ['80/ICMP', 'protocol must be TCP, UDP or SCTP'],
    ['80/', 'protocol must be TCP, UDP or SCTP'],
    ['/TCP', 'expected PORT[/PROTOCOL]'],
    ['HTTP', 'lowercase'],
    ['a_b', 'lowercase'],
    ['averyveryverylongname', '15 characters'],
    ['-http', 'lowercase'],
    ['80/TCP/x', 'protocol must be TCP, UDP or SCTP'],
    ['', 'expected PORT[/PROTOCOL]'],
    ['8000-9000', 'one port'],
  ])('rejects %j as a usage error naming the flag', (text, why) => {
    expect(() => onePort(text)).toThrow(UsageError);
    expect(() => onePort(text)).toThrow(`invalid value "${text}" for --port: `);
    expect(() => onePort(text)).toThrow(why);
  });
  test('the same grammar as allow --port, with the protocol left unwritten', () => {
    for (const text of ['80', '53/UDP', 'http', 'dns/udp']) {
      const { port, protocol = 'TCP' } = onePort(text);
      expect(parsePort(text)).toEqual({ port, protocol });
    }
  });
});

describe('formatting back', () => {
  test.each([
    'segment=frontend',
    '*',
    'app=web@tenant-b',
    '@tenant-b',
    '@*',
    'app=web@env=prod',
    '10.0.0.0/8!10.1.0.0/16',
    'fd00::/8',
  ])('formatPeer(parsePeer(%j)) parses to the same peer', (text) => {
    const peer = parsePeer(text, '--from');
    expect(parsePeer(formatPeer(peer), '--from')).toEqual(peer);
  });
  test('formatPort', () => {
    expect(['80', '53/UDP', '8000-9000/TCP', 'http'].map((p) => formatPort(parsePort(p)))).toEqual([
      '80/TCP',
      '53/UDP',
      '8000-9000/TCP',
      'http/TCP',
    ]);
  });
  test('shellQuote leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('segment=frontend')).toBe('segment=frontend');
    expect(shellQuote('@tenant-b')).toBe('@tenant-b');
    expect(shellQuote('*')).toBe("'*'");
    expect(shellQuote('env in (a,b)')).toBe("'env in (a,b)'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });
});

describe('canonicalCidr', () => {
  test.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.0.0.1/8', '10.0.0.0/8'],
    ['192.168.1.77/32', '192.168.1.77/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['010.0.0.0/8', '10.0.0.0/8'],
    ['fd00::/8', 'fd00::/8'],
    ['FD00::1/8', 'fd00::/8'],
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['2001:0db8::/32', '2001:db8::/32'],
    ['2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
    ['::ffff:10.0.0.1/104', '10.0.0.0/8'],
    ['nonsense', undefined],
  ])('%s -> %s', (text, canonical) => {
    expect(canonicalCidr(text)).toBe(canonical);
  });
});

describe('nonCanonicalCidrWarnings', () => {
  test('one line per non-canonical cidr or except, ingress and egress; canonical ones say nothing', () => {
    const policy = {
      spec: {
        podSelector: {},
        ingress: [{ _from: [{ ipBlock: { cidr: '10.0.0.1/8', except: ['10.1.2.3/16', '10.2.0.0/16'] } }] }],
        egress: [{ to: [{ ipBlock: { cidr: 'fd00::/8' } }, { ipBlock: { cidr: '172.16.0.1/12' } }] }],
      },
    };
    expect(nonCanonicalCidrWarnings(policy)).toEqual([
      '10.0.0.1/8 is not a canonical CIDR; did you mean 10.0.0.0/8?',
      '10.1.2.3/16 is not a canonical CIDR; did you mean 10.1.0.0/16?',
      '172.16.0.1/12 is not a canonical CIDR; did you mean 172.16.0.0/12?',
    ]);
  });
});
