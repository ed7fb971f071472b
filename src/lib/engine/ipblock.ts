/** CIDR parsing, containment and ipBlock `except`, for IPv4 and IPv6. */
import type { IpBlock } from './model.js';

/** An IP address as a number, with its family. */
export interface Ip {
  family: 4 | 6;
  value: bigint;
  /** IPv4 only: the address as an unsigned 32-bit number (bigint arithmetic is slow). */
  v4?: number;
}

/** A CIDR: the network address (host bits cleared) and prefix length. */
export interface Cidr {
  family: 4 | 6;
  base: bigint;
  prefix: number;
  text: string;
  /** IPv4 only: the network address as an unsigned 32-bit number. */
  v4?: number;
}

/** An ipBlock peer compiled for matching. */
export interface CompiledIpBlock {
  block: IpBlock;
  cidr: Cidr;
  except: Cidr[];
}

const BITS = { 4: 32, 6: 128 } as const;

/** Four dot-separated parts of one to three decimal digits, each at most 255 (read a character at a time: every pod IP goes through here). */
function parseIpv4Number(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // Leading zeros are read as decimal, as netutils.ParseIPSloppy does for legacy API fields.
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++dots > 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return value * 256 + part;
}

function parseIpv4(text: string): bigint | undefined {
  const n = parseIpv4Number(text);
  return n === undefined ? undefined : BigInt(n);
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = toGroups(halves[0]);
  const right = halves.length === 2 ? toGroups(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is read as IPv4, as Go's net.IP does. */
export function parseIp(text: string): Ip | undefined {
  if (typeof text !== 'string') return undefined;
  if (!text.includes(':')) {
    const v4 = parseIpv4Number(text);
    return v4 === undefined ? undefined : { family: 4, value: BigInt(v4), v4 };
  }
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn, v4: Number(v6 & 0xffffffffn) };
  return { family: 6, value: v6 };
}

/** Parses `address/prefix`; host bits are cleared (10.0.0.1/24 is 10.0.0.0/24), as net.ParseCIDR does. */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  let prefix = Number(prefixText);
  let ip: Ip | undefined;
  if (addr.includes(':')) {
    const v6 = parseIpv6(addr);
    if (v6 === undefined || prefix > 128) return undefined;
    // An IPv4-mapped network with a prefix of at least 96 is an IPv4 network, as in Go.
    if (v6 >> 32n === 0xffffn && prefix >= 96) {
      ip = { family: 4, value: v6 & 0xffffffffn };
      prefix -= 96;
    } else ip = { family: 6, value: v6 };
  } else {
    ip = parseIp(addr);
    if (ip === undefined || prefix > 32) return undefined;
  }
  const bits = BITS[ip.family];
  const hostBits = BigInt(bits - prefix);
  const base = (ip.value >> hostBits) << hostBits;
  return ip.family === 4 ? { family: 4, base, prefix, text, v4: Number(base) } : { family: 6, base, prefix, text };
}

/** Whether a CIDR contains an address (never across families). */
export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false;
  if (cidr.v4 !== undefined && ip.v4 !== undefined) {
    // 32-bit arithmetic; a shift by 32 is a shift by 0 in JavaScript, so /0 is handled apart.
    return cidr.prefix === 0 || (cidr.v4 ^ ip.v4) >>> (32 - cidr.prefix) === 0;
  }
  const hostBits = BigInt(BITS[cidr.family] - cidr.prefix);
  return ip.value >> hostBits === cidr.base >> hostBits;
}

/** Whether `inner` is a strict subset of `outer` (the API's rule for ipBlock.except). */
export function isStrictSubnet(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefix > outer.prefix &&
    cidrContains(outer, { family: inner.family, value: inner.base, v4: inner.v4 })
  );
}

/** Problems with an ipBlock as the API server validates it (validation.ValidateIPBlock), or []. */
export function validateIpBlock(block: IpBlock, path: string): string[] {
  if (block === null || typeof block !== 'object') return [`${path}: must be an object`];
  if (!block.cidr) return [`${path}.cidr: Required value`];
  const cidr = parseCidr(block.cidr);
  if (!cidr) return [`${path}.cidr: "${block.cidr}" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)`];
  const errs: string[] = [];
  if (block.except !== undefined && block.except !== null && !Array.isArray(block.except)) {
    return [`${path}.except: must be a list of CIDRs`];
  }
  (block.except ?? []).forEach((text, i) => {
    const except = parseCidr(text);
    if (!except) errs.push(`${path}.except[${i}]: "${text}" is not a valid CIDR`);
    else if (!isStrictSubnet(except, cidr)) {
      errs.push(`${path}.except[${i}]: "${text}" must be a strict subset of cidr "${block.cidr}"`);
    }
  });
  return errs;
}

/** Compiles a validated ipBlock. */
export function compileIpBlock(block: IpBlock): CompiledIpBlock {
  const cidr = parseCidr(block.cidr);
  if (!cidr) throw new Error(`invalid CIDR ${block.cidr}`);
  const except = (block.except ?? []).map((e) => parseCidr(e)).filter((c): c is Cidr => c !== undefined);
  return { block: { cidr: block.cidr, except: [...(block.except ?? [])] }, cidr, except };
}

/** Whether an address is in an ipBlock: inside cidr and outside every except. */
export function ipBlockContains(block: CompiledIpBlock, ip: Ip): boolean {
  if (!cidrContains(block.cidr, ip)) return false;
  for (const e of block.except) if (cidrContains(e, ip)) return false;
  return true;
}

const NO_BLOCKS: readonly number[] = Object.freeze([]);

/**
 * Which ipBlocks contain an address, answered by binary search: the edges of every cidr and except
 * cut the address space into intervals whose addresses all fall in the same blocks, so membership is
 * computed once per interval that holds an address, not once per (address, block).
 */
export class IpBlockIndex {
  /** IPv4 edges as numbers in a typed array (read without boxing); IPv6 edges as bigints. */
  private readonly v4: Float64Array;
  private readonly v6: bigint[];
  private readonly memo: { 4: Map<number, readonly number[]>; 6: Map<number, readonly number[]> } = {
    4: new Map(),
    6: new Map(),
  };

  constructor(private readonly blocks: readonly CompiledIpBlock[]) {
    const v4 = new Set<number>();
    const v6 = new Set<bigint>();
    for (const b of blocks) {
      for (const c of [b.cidr, ...b.except]) {
        if (c.family === 4) {
          const size = 2 ** (32 - c.prefix);
          v4.add(c.v4!).add(c.v4! + size);
        } else {
          v6.add(c.base).add(c.base + (1n << BigInt(128 - c.prefix)));
        }
      }
    }
    this.v4 = Float64Array.from(v4).sort();
    this.v6 = [...v6].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Ids (positions in the constructor's list) of the blocks containing the address, ascending. The
   * same array (frozen) for every address of one interval: callers may key on its identity.
   */
  blocksContaining(ip: Ip): readonly number[] {
    // The interval is [edges[i], edges[i + 1]): find the last edge <= x.
    let lo = 0;
    if (ip.family === 4) {
      const edges = this.v4;
      const x = ip.v4!;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edges[mid] <= x) lo = mid + 1;
        else hi = mid;
      }
    } else {
      const edges = this.v6;
      const x = ip.value;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edges[mid] <= x) lo = mid + 1;
        else hi = mid;
      }
    }
    const interval = lo - 1;
    if (interval < 0) return NO_BLOCKS;
    const memo = this.memo[ip.family];
    let ids = memo.get(interval);
    if (!ids) {
      const found: number[] = [];
      for (let id = 0; id < this.blocks.length; id++) if (ipBlockContains(this.blocks[id], ip)) found.push(id);
      ids = Object.freeze(found);
      memo.set(interval, ids);
    }
    return ids;
  }
}

/** A set of ipBlock ids (the blocks an address falls in) as bits, iterated in ascending order. */
export class BlockIds implements Iterable<number> {
  private readonly bits: Uint32Array;

  /** `ids` ascending, without repeats. */
  constructor(readonly ids: readonly number[]) {
    this.bits = new Uint32Array(ids.length === 0 ? 0 : (ids[ids.length - 1] >>> 5) + 1);
    for (const id of ids) this.bits[id >>> 5] |= 1 << (id & 31);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    const word = id >>> 5;
    return word < this.bits.length && (this.bits[word] & (1 << (id & 31))) !== 0;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.ids[Symbol.iterator]();
  }
}

/** A set of addresses: per family, sorted disjoint half-open ranges [from, to) that do not touch. */
export interface AddressSet {
  4: [bigint, bigint][];
  6: [bigint, bigint][];
}

/** The empty set of addresses. */
function emptyAddressSet(): AddressSet {
  return { 4: [], 6: [] };
}

function rangeOf(cidr: Cidr): [bigint, bigint] {
  return [cidr.base, cidr.base + (1n << BigInt(BITS[cidr.family] - cidr.prefix))];
}

/** Sorted, merged ranges. */
function normalize(ranges: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = ranges.filter(([a, b]) => a < b).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = b > last[1] ? b : last[1];
    else out.push([a, b]);
  }
  return out;
}

/** The addresses of a CIDR. */
function addressesOfCidr(cidr: Cidr): AddressSet {
  const set = emptyAddressSet();
  set[cidr.family].push(rangeOf(cidr));
  return set;
}

/** The addresses an ipBlock admits: its cidr, less its excepts. */
export function addressesOfBlock(block: CompiledIpBlock): AddressSet {
  let set = addressesOfCidr(block.cidr);
  for (const e of block.except) set = subtractAddresses(set, addressesOfCidr(e));
  return set;
}

/** Union of address sets. */
export function unionAddresses(...sets: AddressSet[]): AddressSet {
  return { 4: normalize(sets.flatMap((s) => s[4])), 6: normalize(sets.flatMap((s) => s[6])) };
}

function subtractRanges(a: [bigint, bigint][], b: [bigint, bigint][]): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const [from, to] of a) {
    let start = from;
    for (const [cutFrom, cutTo] of b) {
      if (cutTo <= start || cutFrom >= to) continue;
      if (cutFrom > start) out.push([start, cutFrom]);
      start = cutTo > start ? cutTo : start;
      if (start >= to) break;
    }
    if (start < to) out.push([start, to]);
  }
  return out;
}

/** The addresses of `a` not in `b`. */
export function subtractAddresses(a: AddressSet, b: AddressSet): AddressSet {
  return { 4: subtractRanges(a[4], b[4]), 6: subtractRanges(a[6], b[6]) };
}

/** Whether a set holds no address. */
export function isEmptyAddressSet(set: AddressSet): boolean {
  return set[4].length === 0 && set[6].length === 0;
}

/** Whether two sets share an address. */
export function addressesOverlap(a: AddressSet, b: AddressSet): boolean {
  return !isEmptyAddressSet(subtractAddresses(a, subtractAddresses(a, b)));
}

/**
 * Where pods get their addresses in practice: the private ranges (RFC 1918, the shared 100.64.0.0/10
 * of RFC 6598, and IPv6 unique local fc00::/7). A block that misses all of them cannot hold a pod IP
 * on any cluster built the usual way.
 */
export const POD_ADDRESS_RANGES: AddressSet = unionAddresses(
  ...['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map((text) =>
    addressesOfCidr(parseCidr(text)!),
  ),
);

/** An IPv6 address as RFC 5952 writes it (Go's netip form): lowercase, the longest run of zero groups as `::`. */
function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = (part: number[]) => part.map((g) => g.toString(16)).join(':');
  if (best.length < 2) return hex(groups);
  return `${hex(groups.slice(0, best.start))}::${hex(groups.slice(best.start + best.length))}`;
}

/** An address as Go writes it: dotted IPv4, RFC 5952 IPv6. */
function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 6) return formatIpv6(value);
  return [24, 16, 8, 0].map((shift) => Number((value >> BigInt(shift)) & 255n)).join('.');
}

/** A CIDR as Go writes it. */
export function formatCidr(family: 4 | 6, base: bigint, prefix: number): string {
  return `${formatAddress(family, base)}/${prefix}`;
}

/** The fewest CIDRs that make up a set of addresses, IPv4 first, each in address order. */
export function cidrsOf(set: AddressSet): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const bits = BITS[family];
    for (const [from, to] of set[family]) {
      let start = from;
      while (start < to) {
        // The largest aligned block that starts here and stays inside the range.
        let size = start === 0n ? 1n << BigInt(bits) : start & -start;
        while (start + size > to) size >>= 1n;
        out.push(formatCidr(family, start, bits - (size.toString(2).length - 1)));
        start += size;
      }
    }
  }
  return out;
}

/**
 * A set of addresses as ipBlocks, the way a person would write it: per family, the smallest CIDR that
 * holds the set less its holes (`0.0.0.0/0 except 10.0.0.0/8`) when that takes fewer CIDRs than
 * listing the set's own; IPv4 first.
 */
export function blocksOf(set: AddressSet): IpBlock[] {
  const out: IpBlock[] = [];
  for (const family of [4, 6] as const) {
    const ranges = set[family];
    if (ranges.length === 0) continue;
    const only: AddressSet = { ...emptyAddressSet(), [family]: ranges };
    const inside = cidrsOf(only);
    const bits = BITS[family];
    const low = ranges[0][0];
    const high = ranges[ranges.length - 1][1] - 1n;
    // The longest prefix low and high share: the smallest CIDR holding the whole set.
    let prefix: number = bits;
    while (prefix > 0 && low >> BigInt(bits - prefix) !== high >> BigInt(bits - prefix)) prefix--;
    const base = prefix === 0 ? 0n : (low >> BigInt(bits - prefix)) << BigInt(bits - prefix);
    const enclosing = formatCidr(family, base, prefix);
    const holes = cidrsOf(subtractAddresses(addressesOfCidr(parseCidr(enclosing)!), only));
    if (holes.length + 1 < inside.length) out.push({ cidr: enclosing, except: holes });
    else out.push(...inside.map((cidr) => ({ cidr, except: [] })));
  }
  return out;
}
