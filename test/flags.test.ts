import { describe, expect, it } from '@jest/globals';

import { UsageError } from '../src/lib/errors.js';
import { parsePortFlag, parseRequestTimeout, toPortQuery } from '../src/lib/flags.js';

describe('parsePortFlag', () => {
  it.each([
    ['80', { port: 80, protocol: undefined }],
    ['80/TCP', { port: 80, protocol: 'TCP' }],
    ['53/udp', { port: 53, protocol: 'UDP' }],
    ['9000/Sctp', { port: 9000, protocol: 'SCTP' }],
    ['65535', { port: 65535, protocol: undefined }],
    ['http', { port: 'http', protocol: undefined }],
    ['dns-tcp/TCP', { port: 'dns-tcp', protocol: 'TCP' }],
  ])('parses %s', (text, expected) => {
    expect(parsePortFlag(text)).toEqual(expected);
  });

  it.each(['0', '65536', '80/ICMP', '80/', '/TCP', 'HTTP', 'a_b', 'averyveryverylongname', '-http', '80/TCP/x', ''])(
    'rejects %j as a usage error naming the flag',
    (text) => {
      expect(() => parsePortFlag(text)).toThrow(UsageError);
      expect(() => parsePortFlag(text)).toThrow(/for --port/);
    },
  );

  it('defaults the protocol to TCP for the engine', () => {
    expect(toPortQuery(parsePortFlag('http'))).toEqual({ port: 'http', protocol: 'TCP' });
  });
});

describe('parseRequestTimeout', () => {
  it.each([
    ['0', 0],
    ['30', 30_000],
    ['5s', 5000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
  ])('parses %s as %d ms', (text, ms) => {
    expect(parseRequestTimeout(text)).toBe(ms);
  });

  it.each(['5x', 's', '-1s', '1 m', ''])('rejects %j', (text) => {
    expect(() => parseRequestTimeout(text)).toThrow(/--request-timeout/);
  });
});
