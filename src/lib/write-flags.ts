/**
 * The flags of every mutating command, with kubectl's names and wording (--dry-run, --field-manager,
 * --overwrite, -y, -o yaml|json|name), and the settings a write takes from them.
 */
import { Flags, type Interfaces } from '@oclif/core';

import { UsageError } from './errors.js';
import { MANAGED_BY_VALUE } from './write.js';

/** Values of --dry-run. */
export const DRY_RUN_MODES = ['none', 'client', 'server'] as const;
/** One of DRY_RUN_MODES. */
export type DryRunMode = (typeof DRY_RUN_MODES)[number];
/** Values of -o for mutating commands; absent means one kubectl-style line per object. */
export const WRITE_OUTPUT_FORMATS = ['yaml', 'json', 'name'] as const;
/** One of WRITE_OUTPUT_FORMATS. */
export type WriteOutputFormat = (typeof WRITE_OUTPUT_FORMATS)[number];

/** The flags of every mutating command, with kubectl's names and wording. `output` replaces the base -o. */
export const writeFlags = {
  'dry-run': Flags.option({
    default: 'none',
    description:
      'Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.',
    options: DRY_RUN_MODES,
  })(),
  'field-manager': Flags.string({
    default: MANAGED_BY_VALUE,
    description: 'Name of the manager used to track field ownership.',
  }),
  output: Flags.string({
    char: 'o',
    description: 'Output format. One of: (json, yaml, name). Default: one line per object changed.',
    options: [...WRITE_OUTPUT_FORMATS],
  }),
  overwrite: Flags.boolean({
    description: 'replace an existing NetworkPolicy of the same name that kubectl-netpol did not create',
  }),
  yes: Flags.boolean({
    char: 'y',
    description: 'do not ask for confirmation (needed without a terminal when connections would be cut)',
  }),
};

/** The write flags as a service takes them. */
export interface WriteSettings {
  dryRun: DryRunMode;
  fieldManager: string;
  /** Undefined: one kubectl-style line per object. */
  output?: WriteOutputFormat;
  overwrite: boolean;
  yes: boolean;
}

/** Reads the write flags; an empty --field-manager is a usage error. */
export function parseWriteFlags(flags: Interfaces.InferredFlags<typeof writeFlags>): WriteSettings {
  if (flags['field-manager'].trim() === '') {
    throw new UsageError('--field-manager must not be empty', `the default is ${MANAGED_BY_VALUE}`);
  }
  return {
    dryRun: flags['dry-run'],
    fieldManager: flags['field-manager'],
    // isolate's -o also takes `table` (for --status), which it checks itself: no object is printed then.
    output: WRITE_OUTPUT_FORMATS.find((format) => format === flags.output),
    overwrite: flags.overwrite,
    yes: flags.yes,
  };
}
