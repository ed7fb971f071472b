/** The shared tier conformance cases (`../shared/conformance-tiers`, README there): each world's manifest and its probes. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Protocol } from '../../src/lib/engine/model.js';
import { sharedPath } from './shared.js';

/** One point assertion: whether `from` reaches `to` on port/protocol. */
export interface TierProbe {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
}

/** A case: its name (also its manifest folder) and probes. */
interface TierCase {
  name: string;
  probes: TierProbe[];
}

/** Every case, by name. */
export function tierCases(): TierCase[] {
  const dir = sharedPath('conformance-tiers', 'cases');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TierCase);
}

/** The path of a case's world as Kubernetes YAML. */
export function tierManifest(name: string): string {
  return sharedPath('conformance-tiers', 'manifests', name, 'cluster.yaml');
}
