/** Properties of allow's PEER and PORT grammar: any text gives a result or one UsageError line; results round-trip. */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { V1NetworkPolicy } from '@kubernetes/client-node';

import { validatePolicy } from '../../src/lib/engine/validate.js';
import { UsageError } from '../../src/lib/errors.js';
import { formatPeer, formatPort, parsePeer, parsePort, parseSubject } from '../../src/lib/peer-syntax.js';
import { formatSelector } from '../../src/lib/engine/selector.js';
import { runs, selector, selectorish } from './arbitraries.js';

/** Text near the PEER grammar: selectors, `@`, `*`, CIDRs with `!` and `,`. */
const peerish = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: selectorish },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          '@',
          '*',
          '!',
          ',',
          '/',
          '10.0.0.0/8',
          '10.1.0.0/16',
          'fd00::/8',
          '::1/128',
          ':',
          '.',
        ),
      },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }).map(String) },
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));

const portish = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        fc.integer({ min: -2, max: 70000 }).map(String),
        fc.tuple(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 70000 })).map(([a, b]) => `${a}-${b}`),
        fc.constantFrom('http', 'dns-tcp', 'HTTP', 'a--b', 'x'.repeat(16), '0x50', '1e3', '', '80-80'),
      ),
      fc.constantFrom('', '/TCP', '/udp', '/Sctp', '/ICMP', '/', '//TCP'),
    )
    .map(([p, q]) => p + q),
  fc.string({ maxLength: 12 }),
);

/** Asserts the error is a UsageError of one line naming the flag. */
function expectOneLineUsageError(error: unknown, flag: string): void {
  expect(error).toBeInstanceOf(UsageError);
  const { message, hint } = error as UsageError;
  expect(message).toContain(flag);
  expect(hint ?? '').not.toContain('\n');
  // The value is quoted as given; apart from it, one line.
  expect(message.replace(/"[^]*?" for /, '').includes('\n')).toBe(false);
}

/** A policy around one peer and one port, as the API server would receive it. */
function policyWith(peer: object, port?: object): V1NetworkPolicy {
  return {
    metadata: { name: 'p', namespace: 'n' },
    spec: { podSelector: {}, ingress: [{ from: [peer], ...(port ? { ports: [port] } : {}) }] },
  } as unknown as V1NetworkPolicy;
}

describe('parsePeer', () => {
  test('any text: a peer the API server accepts, written back to the same peer; or one UsageError line', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(peerish, fc.string({ maxLength: 16 })), (text) => {
        let peer;
        try {
          peer = parsePeer(text, '--from');
        } catch (error) {
          expectOneLineUsageError(error, '--from');
          return;
        }
        accepted++;
        expect(validatePolicy(policyWith(peer))).toEqual([]);
        expect(parsePeer(formatPeer(peer), '--from')).toEqual(peer);
      }),
      runs(4000),
    );
    expect(accepted).toBeGreaterThan(400);
  });

  test('SELECTOR@SELECTOR built from valid selectors parses to one peer with both, and writes back', () => {
    fc.assert(
      fc.property(selector, selector, (pods, namespaces) => {
        const text = `${formatSelector(pods) || '*'}@${formatSelector(namespaces) || '*'}`;
        const peer = parsePeer(text, '--to');
        expect(peer.podSelector).toBeDefined();
        expect(peer.namespaceSelector).toBeDefined();
        expect(parsePeer(formatPeer(peer), '--to')).toEqual(peer);
      }),
      runs(1500),
    );
  });

  test('parseSubject: a selector or one UsageError line', () => {
    fc.assert(
      fc.property(peerish, (text) => {
        try {
          parseSubject(text, '--to');
        } catch (error) {
          expectOneLineUsageError(error, '--to');
        }
      }),
      runs(2000),
    );
  });
});

describe('parsePort', () => {
  test('any text: a port the API server accepts, written back to the same port; or one UsageError line', () => {
    let accepted = 0;
    fc.assert(
      fc.property(portish, (text) => {
        let port;
        try {
          port = parsePort(text);
        } catch (error) {
          expectOneLineUsageError(error, '--port');
          return;
        }
        expect(validatePolicy(policyWith({ podSelector: {} }, port))).toEqual([]);
        accepted++;
        // `80-80` is written back as `80`.
        expect(parsePort(formatPort(port))).toEqual(
          port.endPort === port.port ? { protocol: port.protocol, port: port.port } : port,
        );
      }),
      runs(3000),
    );
    expect(accepted).toBeGreaterThan(300);
  });
});
