/** Ports: numbers, endPort ranges, named ports (resolved on the destination pod), protocols. */
import type { V1NetworkPolicyPort, V1Pod } from '@kubernetes/client-node';
import type { PortRange, PortSet, Protocol } from './model.js';
import { PROTOCOLS } from './model.js';

/** The lowest and highest port numbers (validation.IsValidPortNum). */
export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** One NetworkPolicyPort, compiled: a range of one protocol, all its ports, or a port name. */
export type CompiledPort =
  | { protocol: Protocol; kind: 'all' }
  | { protocol: Protocol; kind: 'range'; from: number; to: number }
  | { protocol: Protocol; kind: 'named'; name: string };

/** The empty port set. */
export function emptyPortSet(): PortSet {
  return { TCP: [], UDP: [], SCTP: [] };
}

/** Every port of every protocol. */
export function fullPortSet(): PortSet {
  return {
    TCP: [{ from: MIN_PORT, to: MAX_PORT }],
    UDP: [{ from: MIN_PORT, to: MAX_PORT }],
    SCTP: [{ from: MIN_PORT, to: MAX_PORT }],
  };
}

function normalize(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** A port set holding one range of one protocol. */
export function portSetOf(protocol: Protocol, from: number, to: number): PortSet {
  const set = emptyPortSet();
  set[protocol] = [{ from, to }];
  return set;
}

/** Union of port sets. */
export function unionPortSets(...sets: PortSet[]): PortSet {
  const out = emptyPortSet();
  for (const p of PROTOCOLS) out[p] = normalize(sets.flatMap((s) => s[p]));
  return out;
}

/** Intersection of two port sets. */
export function intersectPortSets(a: PortSet, b: PortSet): PortSet {
  const out = emptyPortSet();
  for (const p of PROTOCOLS) {
    const res: PortRange[] = [];
    let i = 0;
    let j = 0;
    while (i < a[p].length && j < b[p].length) {
      const from = Math.max(a[p][i].from, b[p][j].from);
      const to = Math.min(a[p][i].to, b[p][j].to);
      if (from <= to) res.push({ from, to });
      if (a[p][i].to < b[p][j].to) i++;
      else j++;
    }
    out[p] = res;
  }
  return out;
}

/** Whether a port set holds nothing. */
export function isEmptyPortSet(set: PortSet): boolean {
  return PROTOCOLS.every((p) => set[p].length === 0);
}

/** Whether a port set holds every port of every protocol. */
export function isFullPortSet(set: PortSet): boolean {
  return PROTOCOLS.every((p) => set[p].length === 1 && set[p][0].from === MIN_PORT && set[p][0].to === MAX_PORT);
}

/** Whether a port set holds one port of one protocol. */
export function portSetContains(set: PortSet, protocol: Protocol, port: number): boolean {
  return set[protocol].some((r) => r.from <= port && port <= r.to);
}

/**
 * Compiles a rule's `ports`. Absent or empty means all ports of all protocols (NetworkPolicyIngressRule.ports);
 * an entry without `port` means every port of its protocol; protocol defaults to TCP.
 */
export function compilePorts(ports: V1NetworkPolicyPort[] | undefined): CompiledPort[] | 'all' {
  if (!ports || ports.length === 0) return 'all';
  return ports.map((p): CompiledPort => {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    if (p.port === undefined || p.port === null) return { protocol, kind: 'all' };
    // IntOrString: a string is always a port name (a quoted "80" is a name, and fails validation).
    if (typeof p.port === 'string') return { protocol, kind: 'named', name: p.port };
    const from = Number(p.port);
    // NetworkPolicyPort.endPort: the range port..endPort, inclusive.
    return { protocol, kind: 'range', from, to: p.endPort ?? from };
  });
}

/** The number a container port name stands for on a pod, for one protocol (ContainerPort.protocol defaults to TCP). */
export function resolveNamedPort(pod: V1Pod, name: string, protocol: Protocol): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const cp of c.ports ?? []) {
      if (cp.name === name && (cp.protocol ?? 'TCP') === protocol) return cp.containerPort;
    }
  }
  return undefined;
}

/** The port names a pod's containers declare, as `name/PROTOCOL=number`, sorted (for grouping pods). */
export function namedPortSignature(pod: V1Pod, names: ReadonlySet<string>): string {
  let one: string | undefined;
  let out: string[] | undefined;
  for (const c of pod.spec?.containers ?? []) {
    for (const cp of c.ports ?? []) {
      if (!cp.name || !names.has(cp.name)) continue;
      const text = `${cp.name}/${cp.protocol ?? 'TCP'}=${cp.containerPort}`;
      // One named port (the common case) needs no list and no sort.
      if (one === undefined) one = text;
      else (out ??= [one]).push(text);
    }
  }
  return out ? out.sort().join(',') : (one ?? '');
}

/** The ports a compiled rule admits on a destination pod; a name the pod lacks admits nothing. */
export function resolvePorts(ports: CompiledPort[] | 'all', destination: V1Pod): PortSet {
  if (ports === 'all') return fullPortSet();
  const parts = ports.map((p): PortSet => {
    if (p.kind === 'all') return portSetOf(p.protocol, MIN_PORT, MAX_PORT);
    if (p.kind === 'range') return portSetOf(p.protocol, p.from, p.to);
    const n = resolveNamedPort(destination, p.name, p.protocol);
    return n === undefined ? emptyPortSet() : portSetOf(p.protocol, n, n);
  });
  return unionPortSets(...parts);
}

/**
 * Whether the ports of a rule hold one port of a protocol on a destination pod: the same answer as
 * `portSetContains(resolvePorts(ports, destination), protocol, port)`, without building the set (a
 * question asked for thousands of rules on one port).
 */
export function portsHold(
  ports: CompiledPort[] | 'all',
  destination: V1Pod,
  protocol: Protocol,
  port: number,
): boolean {
  if (ports === 'all') return true;
  for (const p of ports) {
    if (p.protocol !== protocol) continue;
    if (p.kind === 'all') return true;
    if (p.kind === 'range' ? p.from <= port && port <= p.to : resolveNamedPort(destination, p.name, protocol) === port)
      return true;
  }
  return false;
}

const IANA_SVC_NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Problems with a port name (validation.IsValidPortName), or []. */
export function validatePortName(name: string): string[] {
  if (name.length > 15) return [`port name "${name}" must be no more than 15 characters`];
  if (!IANA_SVC_NAME_RE.test(name)) return [`port name "${name}" must contain only lowercase alphanumerics and '-'`];
  if (name.includes('--')) return [`port name "${name}" must not contain consecutive hyphens`];
  if (!/[a-z]/.test(name)) return [`port name "${name}" must contain at least one letter`];
  return [];
}

/** Problems with a NetworkPolicyPort as the API server validates it (ValidateNetworkPolicyPort), or []. */
export function validatePolicyPort(port: V1NetworkPolicyPort, path: string): string[] {
  const errs: string[] = [];
  if (port.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(port.protocol)) {
    errs.push(`${path}.protocol: "${port.protocol}" is not supported (TCP, UDP, SCTP)`);
  }
  const isNumber = typeof port.port === 'number';
  if (port.port === undefined || port.port === null) {
    if (port.endPort !== undefined && port.endPort !== null) {
      errs.push(`${path}.endPort: may not be specified when port is not specified`);
    }
  } else if (isNumber) {
    const n = Number(port.port);
    if (!Number.isInteger(n) || n < MIN_PORT || n > MAX_PORT) errs.push(`${path}.port: ${port.port} must be 1-65535`);
    if (port.endPort !== undefined && port.endPort !== null) {
      if (!Number.isInteger(port.endPort) || port.endPort < MIN_PORT || port.endPort > MAX_PORT) {
        errs.push(`${path}.endPort: ${port.endPort} must be 1-65535`);
      } else if (port.endPort < n) errs.push(`${path}.endPort: must be greater than or equal to port`);
    }
  } else if (typeof port.port === 'string') {
    if (port.endPort !== undefined && port.endPort !== null) {
      errs.push(`${path}.endPort: may not be specified when port is non-numeric`);
    }
    for (const e of validatePortName(port.port)) errs.push(`${path}.port: ${e}`);
  } else errs.push(`${path}.port: must be a number or a port name`);
  return errs;
}

/** Renders a port set like `80/TCP, 8000-9000/TCP, 53/UDP`, or `all`. */
export function formatPortSet(set: PortSet): string {
  if (isFullPortSet(set)) return 'all';
  const parts: string[] = [];
  for (const p of PROTOCOLS) {
    const ranges = set[p];
    if (ranges.length === 1 && ranges[0].from === MIN_PORT && ranges[0].to === MAX_PORT) parts.push(`all/${p}`);
    else for (const r of ranges) parts.push(r.from === r.to ? `${r.from}/${p}` : `${r.from}-${r.to}/${p}`);
  }
  return parts.length ? parts.join(', ') : 'none';
}

/** The ports of `a` that are not in `b`. */
export function subtractPortSets(a: PortSet, b: PortSet): PortSet {
  const out = emptyPortSet();
  for (const p of PROTOCOLS) {
    const res: PortRange[] = [];
    for (const r of a[p]) {
      let from = r.from;
      for (const cut of b[p]) {
        if (cut.to < from || cut.from > r.to) continue;
        if (cut.from > from) res.push({ from, to: cut.from - 1 });
        from = Math.max(from, cut.to + 1);
      }
      if (from <= r.to) res.push({ from, to: r.to });
    }
    out[p] = res;
  }
  return out;
}

/**
 * Port sets made canonical, so equal sets are one object and unions and intersections are computed
 * once per pair of sets; answers over thousands of classes then allocate almost nothing.
 */
export class PortSetInterner {
  private readonly byKey = new Map<string, PortSet>();
  private readonly ids = new WeakMap<PortSet, number>();
  private readonly unions = new Map<number, PortSet>();
  private readonly intersections = new Map<number, PortSet>();
  readonly full: PortSet;
  readonly empty: PortSet;

  constructor() {
    this.full = this.intern(fullPortSet());
    this.empty = this.intern(emptyPortSet());
  }

  /** The canonical object for a set equal to this one. */
  intern(set: PortSet): PortSet {
    if (this.ids.has(set)) return set;
    const key = PROTOCOLS.map((p) => set[p].map((r) => `${r.from}-${r.to}`).join(',')).join('|');
    const known = this.byKey.get(key);
    if (known) return known;
    this.byKey.set(key, set);
    this.ids.set(set, this.byKey.size);
    return set;
  }

  private pairKey(a: PortSet, b: PortSet): number {
    const x = this.ids.get(a)!;
    const y = this.ids.get(b)!;
    return x < y ? x * 1048576 + y : y * 1048576 + x;
  }

  /** Union of two interned sets (interned). */
  union(a: PortSet, b: PortSet): PortSet {
    if (a === b || b === this.empty || a === this.full) return a;
    if (a === this.empty || b === this.full) return b;
    const key = this.pairKey(a, b);
    let out = this.unions.get(key);
    if (!out) this.unions.set(key, (out = this.intern(unionPortSets(a, b))));
    return out;
  }

  /** Intersection of two interned sets (interned). */
  intersect(a: PortSet, b: PortSet): PortSet {
    if (a === b || b === this.full) return a;
    if (a === this.full) return b;
    if (a === this.empty || b === this.empty) return this.empty;
    const key = this.pairKey(a, b);
    let out = this.intersections.get(key);
    if (!out) this.intersections.set(key, (out = this.intern(intersectPortSets(a, b))));
    return out;
  }
}
