/**
 * The one way tests reach `../shared`, the folder beside the repository that holds the shared
 * conformance cases (`conformance/cases/*.json`, `conformance/manifests/`, `conformance/check.py`).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `../shared` beside the repository root (this file is in test/support/). */
const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared');

/**
 * The path of `parts` inside `../shared` (`sharedPath('conformance', 'cases')`). Throws when the
 * top folder (`../shared/conformance`) is missing, as in a clone without its sibling, so a test
 * fails saying where it looked rather than with a bare ENOENT or an empty list of cases.
 */
export function sharedPath(...parts: [string, ...string[]]): string {
  const top = join(SHARED, parts[0]);
  if (!existsSync(top)) {
    throw new Error(
      `../shared/${parts[0]} not found at ${top}: these tests need the shared conformance cases next to the repository`,
    );
  }
  return join(SHARED, ...parts);
}
