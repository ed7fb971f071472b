/**
 * What a person may type at allow's prompts, and what is wrong with it in the prompt's words. The
 * answers go through the flags' grammar (peer-syntax.ts), whose messages name flags (--from) and
 * syntax (@NAMESPACES) nobody typed here: each check says what the prompt asked for instead, and
 * keeps only the grammar's reason.
 */
import { InvalidValueError, isCidrText, parsePeer, parsePort, parseSubject } from '../peer-syntax.js';

/** A prompt's verdict on a typed answer: true, or what is wrong. */
type Verdict = true | string;

/** The grammar's verdict: true, or its reason without the flag. */
function verdictOf(parse: () => unknown, wrap: (reason: string) => string = (reason) => reason): Verdict {
  try {
    parse();
    return true;
  } catch (error) {
    if (error instanceof InvalidValueError) return wrap(error.reason);
    throw error;
  }
}

/** A selector's reason as the prompts say it (the grammar repeats the selector when it was part of a PEER). */
function notASelector(reason: string): string {
  return `not a label selector: ${reason.replace(/^invalid label selector "[^]*?": /, '')}`;
}

/** A label selector of pods (kubectl -l syntax) or `*`; the namespace is chosen apart. */
export function checkPodSelector(text: string): Verdict {
  const value = text.trim();
  if (value === '') return 'type a label selector, such as app=web, or * for every pod';
  if (value.includes('@')) return 'type only the labels, such as app=web: the namespace is chosen apart';
  if (isCidrText(value)) return 'an address block is not a label selector: type labels, such as app=web';
  return verdictOf(() => parseSubject(value, '--to'), notASelector);
}

/** A label selector of namespaces. */
export function checkNamespaceSelector(text: string): Verdict {
  const value = text.trim();
  if (value === '') return 'type a label selector of namespaces, such as env=prod';
  if (value.includes('@')) return 'type only the labels, such as env=prod';
  return verdictOf(() => parsePeer(`@${value}`, '--from'), notASelector);
}

/** An address block, with exceptions after `!`. */
export function checkAddressBlock(text: string): Verdict {
  const value = text.trim();
  if (value === '') return 'type an address block, such as 10.0.0.0/8';
  if (!isCidrText(value)) return `"${value}" is not an address block: type one such as 10.0.0.0/8 or fd00::/8`;
  return verdictOf(() => parsePeer(value, '--from'));
}

/** Ports separated by commas: numbers, ranges or names, each with its protocol if not TCP. */
export function checkPorts(text: string): Verdict {
  const ports = text.split(',').map((port) => port.trim());
  for (const port of ports) {
    if (port === '') return 'type ports separated by commas, such as 80, 53/UDP or 8000-9000';
    const verdict = verdictOf(
      () => parsePort(port),
      (reason) => (ports.length > 1 ? `${port}: ${reason}` : reason),
    );
    if (verdict !== true) return verdict;
  }
  return true;
}
