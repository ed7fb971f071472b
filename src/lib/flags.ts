/** Parsers for flag values that need more than oclif's built-in types. */
import type { PortQuery, Protocol } from './engine/model.js';
import { UsageError } from './errors.js';

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses `--request-timeout` as kubectl does: `0` (no timeout), a plain number of seconds, or a Go
 * duration such as `5s`, `1m30s`, `500ms`. Returns milliseconds.
 */
export function parseRequestTimeout(text: string): number {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value) {
    throw new UsageError(`invalid value "${text}" for --request-timeout: expected a duration such as 0, 5s, 1m or 30`);
  }
  return Math.round(parts.reduce((total, [, amount, unit]) => total + Number(amount) * DURATION_UNITS_MS[unit], 0));
}

/** A port name as Kubernetes allows it (IANA_SVC_NAME): 1-15 lowercase letters, digits and '-', one letter at least. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/**
 * Parses `PORT[/PROTOCOL]`: a number 1-65535 or a port name, then TCP, UDP or SCTP in any case.
 * The protocol is undefined when not written, so a Service port can be matched by name alone.
 */
export function parsePortFlag(text: string, flag = '--port'): { port: number | string; protocol?: Protocol } {
  const match = /^([^/]+)(?:\/([a-zA-Z]+))?$/.exec(text.trim());
  const invalid = (why: string): UsageError =>
    new UsageError(
      `invalid value "${text}" for ${flag}: ${why}`,
      'write PORT[/PROTOCOL], e.g. 80, 80/TCP, http or 53/UDP',
    );
  if (!match) throw invalid('expected PORT[/PROTOCOL]');
  const [, portText, protocolText] = match;
  let protocol: Protocol | undefined;
  if (protocolText !== undefined) {
    const upper = protocolText.toUpperCase();
    if (upper !== 'TCP' && upper !== 'UDP' && upper !== 'SCTP') throw invalid('protocol must be TCP, UDP or SCTP');
    protocol = upper;
  }
  if (/^\d+$/.test(portText)) {
    const port = Number(portText);
    if (port < 1 || port > 65535) throw invalid('port number must be between 1 and 65535');
    return { port, protocol };
  }
  if (!PORT_NAME.test(portText)) throw invalid('not a port number (1-65535) or a port name');
  return { port: portText, protocol };
}

/** A port flag with the protocol defaulted to TCP, as the engine takes it. */
export function toPortQuery(port: { port: number | string; protocol?: Protocol }): PortQuery {
  return { port: port.port, protocol: port.protocol ?? 'TCP' };
}
