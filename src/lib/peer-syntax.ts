/**
 * The PEER and PORT grammar of `allow` (`--to`, `--from`, `--port`) -> NetworkPolicy peers and ports.
 *
 *   PEER  := '*' | SELECTOR | SELECTOR@NAMESPACES | @NAMESPACES | CIDR | CIDR!EXCEPT[,EXCEPT...]
 *   NAMESPACES := '*' | a namespace name | a label selector
 *   PORT  := NUMBER[/PROTOCOL] | FROM-TO[/PROTOCOL] | NAME[/PROTOCOL]      (protocol TCP by default)
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

import { NAMESPACE_NAME_LABEL } from './engine/model.js';
import { formatCidr, parseCidr, validateIpBlock } from './engine/ipblock.js';
import type { Protocol } from './engine/model.js';
import { PROTOCOLS } from './engine/model.js';
import { MAX_PORT, MIN_PORT, validatePortName } from './engine/ports.js';
import { formatSelector, parseSelector, SelectorSyntaxError } from './engine/selector.js';
import { UsageError } from './errors.js';

const PEER_HINT =
  "a PEER is SELECTOR ('segment=frontend', '*'), SELECTOR@NAMESPACE ('app=web@tenant-b'), @NAMESPACES ('@env=prod', '@*') or CIDR[!EXCEPT,...] ('10.0.0.0/8!10.1.0.0/16')";
const SUBJECT_HINT =
  "the pods the policy is written on: a label selector in --namespace, e.g. 'segment=backend' or '*'";
const PORT_HINT = 'a PORT is 80, 80/UDP, 8000-9000/TCP, http or 53/UDP';
const ONE_PORT_HINT = 'a PORT is 80, 80/TCP, http or 53/UDP: one port, TCP unless written';

/** A CIDR, optionally with exceptions: dotted digits or an address with ':', then `/prefix` (label keys have neither). */
const CIDR_LIKE = /^(\d[\d.]*|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)\/\d*(!.*)?$/;
/** A namespace name (DNS-1123 label): what a bare NAMESPACES means. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A malformed PEER, PORT or selector: the message names the flag and the value; `reason` says only
 * what is wrong, for where no flag was typed (the prompts).
 */
export class InvalidValueError extends UsageError {
  constructor(
    message: string,
    readonly reason: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}

/** A malformed value: one line naming the flag, the value and what is wrong, and the forms it takes. */
function invalid(flag: string, text: string, why: string, forms: string, reason = why): InvalidValueError {
  return new InvalidValueError(`invalid value "${text}" for ${flag}: ${why} (${forms})`, reason);
}

function selectorOf(text: string, flag: string, whole: string, hint: string): V1LabelSelector {
  if (text.trim() === '*') return {};
  if (text.trim() === '') throw invalid(flag, whole, 'empty selector (write * for every pod)', hint);
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) {
      // The selector's own message repeats the text; say it only when it is a part of the value.
      const why = text === whole ? error.message.replace(/^invalid label selector "[^]*?": /, '') : error.message;
      throw invalid(flag, whole, why, hint);
    }
    throw error;
  }
}

/** NAMESPACES: `*` (every namespace), a bare namespace name, or a label selector on namespaces. */
function namespaceSelectorOf(text: string, flag: string, whole: string): V1LabelSelector {
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(flag, whole, 'nothing after "@" (write @NAMESPACE, @SELECTOR or @*)', PEER_HINT);
  // A bare name means that one namespace, by the label the API server sets on every namespace.
  if (NAMESPACE_NAME.test(trimmed)) return { matchLabels: { [NAMESPACE_NAME_LABEL]: trimmed } };
  return selectorOf(trimmed, flag, whole, PEER_HINT);
}

/** Whether a PEER is written as an address block (CIDR[!EXCEPT,...]), valid or not, rather than a selector. */
export function isCidrText(text: string): boolean {
  return CIDR_LIKE.test(text.trim());
}

/** Parses one PEER value of --from or --to into one NetworkPolicyPeer. */
export function parsePeer(text: string, flag: string): V1NetworkPolicyPeer {
  const value = text.trim();
  if (value === '') throw invalid(flag, text, 'empty peer', PEER_HINT);
  if (isCidrText(value)) {
    const [cidr, exceptText] = value.split('!', 2);
    const except = exceptText === undefined ? [] : exceptText.split(',').map((e) => e.trim());
    const errors = validateIpBlock({ cidr, except }, 'ipBlock');
    // The reason without the field path (ipBlock.cidr: ...), which nobody typed.
    if (errors.length > 0) throw invalid(flag, text, errors[0], PEER_HINT, errors[0].replace(/^ipBlock\.[^:]*: /, ''));
    return { ipBlock: except.length > 0 ? { cidr, except } : { cidr } };
  }
  const at = value.indexOf('@');
  if (at < 0) return { podSelector: selectorOf(value, flag, text, PEER_HINT) };
  if (value.indexOf('@', at + 1) >= 0) throw invalid(flag, text, 'more than one "@"', PEER_HINT);
  const namespaceSelector = namespaceSelectorOf(value.slice(at + 1), flag, text);
  if (at === 0) return { namespaceSelector };
  // SELECTOR@NAMESPACES is ONE peer: pods matching SELECTOR in namespaces matching NAMESPACES (AND).
  return { podSelector: selectorOf(value.slice(0, at), flag, text, PEER_HINT), namespaceSelector };
}

/** Parses the subject side: a plain pod selector (or `*`) in the policy's namespace. */
export function parseSubject(text: string, flag: string): V1LabelSelector {
  const value = text.trim();
  if (value.includes('@')) {
    throw invalid(flag, text, 'the policy is written on pods of --namespace, so no @NAMESPACES here', SUBJECT_HINT);
  }
  if (isCidrText(value)) {
    throw invalid(flag, text, 'the policy is written on pods, not on an address block', SUBJECT_HINT);
  }
  return selectorOf(value, flag, text, SUBJECT_HINT);
}

/** PORT as written: a number, a range (`8000-9000`) or a port name, and the protocol when it is written. */
export interface PortText {
  port: number | string;
  endPort?: number;
  /** Undefined when not written: TCP for a policy, and a Service port may match by name alone. */
  protocol?: Protocol;
}

/**
 * The one PORT grammar, of `allow --port` and `who-can --port`: `NUMBER`, `FROM-TO` (where ranges are
 * allowed) or a port name (IANA_SVC_NAME, as validation.IsValidPortName), then `/TCP`, `/UDP` or
 * `/SCTP` in any case. A malformed value is a usage error naming the flag, the value and the forms.
 */
export function parsePortText(text: string, opts: { flag?: string; isRangeAllowed?: boolean } = {}): PortText {
  const { flag = '--port', isRangeAllowed = true } = opts;
  const invalid = (why: string): UsageError =>
    new InvalidValueError(
      `invalid value "${text}" for ${flag}: ${why}`,
      why,
      isRangeAllowed ? PORT_HINT : ONE_PORT_HINT,
    );
  const match = /^([^/]+)(?:\/(.*))?$/.exec(text.trim());
  if (!match) throw invalid('expected PORT[/PROTOCOL]');
  const [, portText, protocolText] = match;
  let protocol: Protocol | undefined;
  if (protocolText !== undefined) {
    const upper = protocolText.toUpperCase();
    if (!(PROTOCOLS as readonly string[]).includes(upper)) throw invalid('protocol must be TCP, UDP or SCTP');
    protocol = upper as Protocol;
  }
  const isPortNumber = (n: number) => Number.isInteger(n) && n >= MIN_PORT && n <= MAX_PORT;
  const range = /^(\d+)-(\d+)$/.exec(portText);
  if (range) {
    if (!isRangeAllowed) throw invalid('a range is not one port: ask about one port at a time');
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (!isPortNumber(from) || !isPortNumber(to)) throw invalid('port numbers must be between 1 and 65535');
    if (to < from) throw invalid('the end port must be >= the start port');
    return withProtocol({ port: from, endPort: to }, protocol);
  }
  if (/^\d+$/.test(portText)) {
    const port = Number(portText);
    if (!isPortNumber(port)) throw invalid('port number must be between 1 and 65535');
    return withProtocol({ port }, protocol);
  }
  const problems = validatePortName(portText);
  if (problems.length > 0) throw invalid(problems[0]);
  return withProtocol({ port: portText }, protocol);
}

function withProtocol(port: PortText, protocol: Protocol | undefined): PortText {
  return protocol === undefined ? port : { ...port, protocol };
}

/** Parses one PORT value of `allow` into a NetworkPolicyPort, protocol written out (TCP by default). */
export function parsePort(text: string, flag = '--port'): V1NetworkPolicyPort {
  const { port, endPort, protocol = 'TCP' } = parsePortText(text, { flag });
  return endPort === undefined ? { protocol, port } : { protocol, port, endPort };
}

/** A selector written back in PEER syntax (`*` for everything). */
function selectorText(selector: V1LabelSelector): string {
  return formatSelector(selector) || '*';
}

/** A peer written back in PEER syntax, so a printed command can be pasted. */
export function formatPeer(peer: V1NetworkPolicyPeer): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except ?? [];
    return except.length > 0 ? `${peer.ipBlock.cidr}!${except.join(',')}` : peer.ipBlock.cidr;
  }
  const pods = peer.podSelector ? selectorText(peer.podSelector) : '';
  if (!peer.namespaceSelector) return pods || '*';
  const labels = peer.namespaceSelector.matchLabels ?? {};
  const names = Object.keys(labels);
  const isByName =
    names.length === 1 && names[0] === NAMESPACE_NAME_LABEL && !peer.namespaceSelector.matchExpressions?.length;
  const namespaces = isByName ? labels[NAMESPACE_NAME_LABEL] : selectorText(peer.namespaceSelector);
  return `${pods}@${namespaces}`;
}

/** A port written back in PORT syntax (`80/TCP`, `8000-9000/TCP`, `http/TCP`). */
export function formatPort(port: V1NetworkPolicyPort): string {
  const protocol = port.protocol ?? 'TCP';
  if (port.port === undefined) return `all/${protocol}`;
  const number = port.endPort !== undefined && port.endPort !== port.port ? `${port.port}-${port.endPort}` : port.port;
  return `${number}/${protocol}`;
}

/** Quotes a word for a POSIX shell when it holds anything but plain characters. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The canonical form of a valid CIDR (host bits cleared, addresses written as Go writes them), or
 * undefined when it does not parse: `10.0.0.1/8` is `10.0.0.0/8`, `FD00::1/8` is `fd00::/8`.
 */
export function canonicalCidr(text: string): string | undefined {
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  return formatCidr(cidr.family, cidr.base, cidr.prefix);
}

/**
 * One line per CIDR of the policy's ipBlocks (cidr and except) not written canonically: the API
 * server accepts it with a warning, and the policy keeps what the user wrote.
 */
export function nonCanonicalCidrWarnings(policy: V1NetworkPolicy): string[] {
  const peers = [
    ...(policy.spec?.ingress ?? []).flatMap((rule) => rule._from ?? []),
    ...(policy.spec?.egress ?? []).flatMap((rule) => rule.to ?? []),
  ];
  const cidrs = peers.flatMap((peer) => (peer.ipBlock ? [peer.ipBlock.cidr, ...(peer.ipBlock.except ?? [])] : []));
  return [...new Set(cidrs)].flatMap((text) => {
    const canonical = canonicalCidr(text);
    return canonical === undefined || canonical === text
      ? []
      : [`${text} is not a canonical CIDR; did you mean ${canonical}?`];
  });
}
