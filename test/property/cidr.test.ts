/** Properties of CIDRs and ipBlocks (IPv4 and IPv6, except inside cidr) against node:net's BlockList as the oracle. */
import { BlockList, isIP } from 'node:net';

import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';

import {
  cidrContains,
  compileIpBlock,
  ipBlockContains,
  isStrictSubnet,
  parseCidr,
  parseIp,
  validateIpBlock,
} from '../../src/lib/engine/ipblock.js';
import { runs } from './arbitraries.js';

type Family = 4 | 6;
const BITS = { 4: 32, 6: 128 } as const;

/** An address as text from its value; IPv6 with a random `::` compression and case. */
function formatAddress(family: Family, value: bigint, style: number): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((value >> s) & 0xffffn).toString(16));
  const upper = style % 2 === 1;
  // Compress the longest run of zero groups (if style asks), as RFC 5952 does.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
  }
  let text = groups.join(':');
  if (style >= 2 && bestLen > 0) {
    text = `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  }
  return upper ? text.toUpperCase() : text;
}

/** Values clustered near a few networks, so containment is often true and often false. */
const value = (family: Family) =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << BigInt(BITS[family])) - 1n }),
    fc
      .tuple(
        fc.constantFrom(...(family === 4 ? [0x0a000000n, 0xc0a80000n, 0n] : [0xfd00n << 112n, 0n, 0x20010db8n << 96n])),
        fc.bigInt({ min: 0n, max: 0xffffn }),
      )
      .map(([base, low]) => base | low),
  );

/** IPv6 values in ::ffff:0:0/96 are IPv4-mapped: read as IPv4 (docs/semantics.md, as Go's net.IP does). */
const isMapped = (family: Family, v: bigint) => family === 6 && v >> 32n === 0xffffn;

const address = fc
  .constantFrom<Family>(4, 6)
  .chain((family) => fc.record({ family: fc.constant(family), value: value(family), style: fc.nat(3) }))
  .filter((a) => !isMapped(a.family, a.value));

const cidr = fc
  .constantFrom<Family>(4, 6)
  .chain((family) =>
    fc.record({
      family: fc.constant(family),
      value: value(family),
      prefix: fc.oneof(fc.integer({ min: 0, max: BITS[family] }), fc.constantFrom(0, 8, 16, 24, BITS[family])),
      style: fc.nat(3),
    }),
  )
  .filter((c) => !(isMapped(c.family, c.value) && c.prefix >= 96));

type CidrCase = { family: Family; value: bigint; prefix: number; style: number };
type AddressCase = { family: Family; value: bigint; style: number };

const cidrText = (c: CidrCase) => `${formatAddress(c.family, c.value, c.style)}/${c.prefix}`;
const addressText = (a: AddressCase) => formatAddress(a.family, a.value, a.style);
const familyName = (f: Family) => (f === 4 ? 'ipv4' : 'ipv6');

/** The oracle: does node's BlockList, holding the subnet, contain the address? */
function oracleContains(c: CidrCase, a: AddressCase): boolean {
  if (c.family !== a.family) return false;
  const list = new BlockList();
  list.addSubnet(formatAddress(c.family, c.value, 0), c.prefix, familyName(c.family));
  return list.check(formatAddress(a.family, a.value, 0), familyName(a.family));
}

/** Random text near CIDR syntax, for "never throws" properties. */
const cidrish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '1',
        '0',
        '255',
        '256',
        '.',
        ':',
        '::',
        '/',
        '/0',
        '/33',
        '/129',
        'ffff',
        'g',
        ' ',
        '-',
        '1.2.3.4',
      ),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 10 },
  )
  .map((parts) => parts.join(''));

describe('parseCidr and parseIp', () => {
  test('well-formed addresses and CIDRs parse; containment agrees with BlockList', () => {
    fc.assert(
      fc.property(cidr, fc.array(address, { minLength: 1, maxLength: 6 }), (c, addresses) => {
        const parsed = parseCidr(cidrText(c));
        expect(parsed).toBeDefined();
        expect(parsed!.prefix).toBe(c.prefix);
        for (const a of addresses) {
          const ip = parseIp(addressText(a));
          expect(ip).toMatchObject({ family: a.family, value: a.value });
          expect(cidrContains(parsed!, ip!)).toBe(oracleContains(c, a));
        }
        // The network's own address and its last address are inside; the one after (when any) is not.
        const host = BigInt(BITS[c.family] - c.prefix);
        const base = (c.value >> host) << host;
        const last = base | ((1n << host) - 1n);
        if (!isMapped(c.family, base))
          expect(cidrContains(parsed!, parseIp(formatAddress(c.family, base, 0))!)).toBe(true);
        if (!isMapped(c.family, last))
          expect(cidrContains(parsed!, parseIp(formatAddress(c.family, last, 2))!)).toBe(true);
        if (last + 1n < 1n << BigInt(BITS[c.family])) {
          expect(
            cidrContains(parsed!, {
              family: c.family,
              value: last + 1n,
              v4: c.family === 4 ? Number(last + 1n) : undefined,
            }),
          ).toBe(false);
        }
      }),
      runs(1500),
    );
  });

  test('any text: parseIp defined exactly when node:net says it is an IP (leading zeros aside); never throws', () => {
    fc.assert(
      fc.property(fc.oneof(cidrish, address.map(addressText)), (text) => {
        const ip = parseIp(text);
        const cidrParsed = parseCidr(text);
        // Zone ids and leading zeros: node accepts `fe80::1%eth0`, netutils reads `010` as 10.
        if (text.includes('%') || /(^|[.:])0\d/.test(text)) return;
        expect(ip !== undefined).toBe(isIP(text) !== 0);
        if (cidrParsed) expect(isIP(text.slice(0, text.indexOf('/')))).not.toBe(0);
      }),
      runs(2000),
    );
  });
});

describe('ipBlock with except', () => {
  test('validateIpBlock: except must be a strict subnet of cidr, same family, as BlockList sees it', () => {
    fc.assert(
      fc.property(cidr, fc.array(cidr, { maxLength: 3 }), (outer, excepts) => {
        const errors = validateIpBlock({ cidr: cidrText(outer), except: excepts.map(cidrText) }, 'ipBlock');
        const expected = excepts.filter((e) => {
          const host = BigInt(BITS[e.family] - e.prefix);
          const base = { family: e.family, value: (e.value >> host) << host, style: 0 };
          return !(e.family === outer.family && e.prefix > outer.prefix && oracleContains(outer, base));
        });
        expect(errors).toHaveLength(expected.length);
        for (const message of errors)
          expect(message).toMatch(/^ipBlock\.except\[\d+\]: ".*" must be a strict subset of cidr/);
      }),
      runs(1500),
    );
  });

  test('ipBlockContains: inside cidr and outside every except, as BlockList sees it', () => {
    fc.assert(
      fc.property(
        cidr.chain((outer) =>
          fc.record({
            outer: fc.constant(outer),
            // Excepts inside the outer network: same family, longer prefix, random host part.
            excepts: fc.array(
              fc.record({
                family: fc.constant(outer.family),
                value: value(outer.family).map((v) => {
                  const host = BigInt(BITS[outer.family] - outer.prefix);
                  return ((outer.value >> host) << host) | (v & ((1n << host) - 1n));
                }),
                prefix: fc.integer({ min: Math.min(outer.prefix + 1, BITS[outer.family]), max: BITS[outer.family] }),
                style: fc.nat(3),
              }),
              { maxLength: 3 },
            ),
            addresses: fc.array(address, { minLength: 1, maxLength: 6 }),
          }),
        ),
        ({ outer, excepts, addresses }) => {
          const valid = excepts.filter((e) => e.prefix > outer.prefix);
          const block = { cidr: cidrText(outer), except: valid.map(cidrText) };
          expect(validateIpBlock(block, 'ipBlock')).toEqual([]);
          const compiled = compileIpBlock(block);
          for (const a of addresses) {
            const expected = oracleContains(outer, a) && !valid.some((e) => oracleContains(e, a));
            expect(ipBlockContains(compiled, parseIp(addressText(a))!)).toBe(expected);
          }
          for (const e of valid) expect(isStrictSubnet(parseCidr(cidrText(e))!, compiled.cidr)).toBe(true);
        },
      ),
      runs(1500),
    );
  });

  test('validateIpBlock never throws, whatever the types; errors name the field', () => {
    const anything = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.boolean(), cidrish);
    fc.assert(
      fc.property(anything, fc.oneof(fc.array(anything, { maxLength: 3 }), anything), (c, except) => {
        const errors = validateIpBlock({ cidr: c, except } as never, 'ipBlock');
        for (const message of errors) expect(message).toMatch(/^ipBlock(\.cidr|\.except(\[\d+\])?)?: /);
      }),
      runs(1500),
    );
  });

  test('IPv4-mapped IPv6 addresses count as IPv4 (docs/semantics.md)', () => {
    const net = parseCidr('10.0.0.0/8')!;
    expect(cidrContains(net, parseIp('::ffff:10.1.2.3')!)).toBe(true);
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ family: 4, prefix: 8 });
  });
});
