/** Parsers for flag values that need more than oclif's built-in types. */
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
  return parseDuration(text, '--request-timeout');
}

/** Parses a duration as --request-timeout takes it, for the flag or variable `name`; milliseconds. */
export function parseDuration(text: string, name: string): number {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value) {
    throw new UsageError(`invalid value "${text}" for ${name}: expected a duration such as 0, 5s, 1m or 30`);
  }
  return Math.round(parts.reduce((total, [, amount, unit]) => total + Number(amount) * DURATION_UNITS_MS[unit], 0));
}
