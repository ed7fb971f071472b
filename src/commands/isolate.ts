import { Args, Flags } from '@oclif/core';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import type { ClusterApi, ClusterObject, LoadedSnapshot } from '../lib/cluster/types.js';
import type { ReachabilityDiff } from '../lib/engine/diff.js';
import { NetpolError, UsageError } from '../lib/errors.js';
import { BASELINE_PRIORITY } from '../lib/engine/baseline.js';
import { formatPlanNotes, formatPreview, formatStatus, toStatusDocument } from '../lib/output/isolate.js';
import { formatBaselineNotes } from '../lib/output/isolate-baseline.js';
import { renderDocument } from '../lib/output/render.js';
import { formatClusterOutcomes, formatOutcomes, outcomeNotices } from '../lib/output/write.js';
import {
  isolationStatus,
  keptOutcomes,
  planIsolate,
  scopeOf,
  type IsolateOptions,
  type IsolateResult,
} from '../lib/services/isolate.js';
import { planBaseline } from '../lib/services/isolate-baseline.js';
import { clusterObjectStore, executeWrites, planObjectWrites, planWrites, type WriteOutcome } from '../lib/write.js';
import { parseWriteFlags, writeFlags, WRITE_OUTPUT_FORMATS } from '../lib/write-flags.js';

/** Values of -o with --status (and with -A and no namespace, which means --status). */
const STATUS_OUTPUTS = ['table', 'wide', 'json', 'yaml'] as const;
/** One of STATUS_OUTPUTS. */
type StatusOutput = (typeof STATUS_OUTPUTS)[number];

export default class Isolate extends BaseCommand {
  static override args = {
    namespaces: Args.string({
      description: 'namespaces to isolate (default: --namespace, else the context namespace)',
      // `-f -` reads manifests from stdin: oclif must not take piped stdin as this argument.
      ignoreStdin: true,
    }),
  };

  static override description =
    'isolate namespaces with a default-deny NetworkPolicy, after showing which of today’s connections it cuts';

  static override examples = [
    {
      command: 'kubectl netpol isolate tenant-a',
      description: 'Deny all ingress to the pods of tenant-a unless a policy allows it',
    },
    {
      command: 'kubectl netpol isolate tenant-a tenant-b --egress',
      description: 'Isolate both directions, keeping DNS to the cluster DNS pods',
    },
    {
      command: 'kubectl netpol isolate tenant-a --filename examples/seed --dry-run=client --output yaml',
      description: 'Preview from manifest files and print the policy for `kubectl apply -f -`',
    },
    { command: 'kubectl netpol isolate --status', description: 'Which namespaces are isolated, and by which policies' },
    { command: 'kubectl netpol isolate tenant-a --off', description: 'Remove the policy isolate created' },
    {
      command:
        'kubectl netpol isolate api db --baseline --egress --filename examples/shop --dry-run=client --output yaml',
      description:
        'Cluster admins: one Baseline-tier ClusterNetworkPolicy denying both directions (DNS kept) for pods no NetworkPolicy selects (on a cluster: without --filename; --off removes it)',
    },
  ];

  static override flags = {
    ...writeFlags,
    'all-namespaces': {
      ...BaseCommand.baseFlags['all-namespaces'],
      description: 'with --status (or alone, meaning --status): every namespace, whatever --namespace says',
    },
    'no-headers': {
      ...BaseCommand.baseFlags['no-headers'],
      description: "with --status: don't print the table's header row",
    },
    // Refused (isolate works on whole namespaces): parsed only to say so, and left out of the help.
    selector: { ...BaseCommand.baseFlags.selector, hidden: true },
    output: Flags.string({
      char: 'o',
      description:
        'Output format. One of: (json, yaml, name); default: one line per object changed. With --status: table (default), wide (the names of the policies), json or yaml.',
      options: [...new Set([...WRITE_OUTPUT_FORMATS, ...STATUS_OUTPUTS])],
    }),
    'allow-dns': Flags.boolean({
      allowNo: true,
      description:
        'with --egress, keep egress to the cluster DNS pods on 53/UDP and 53/TCP (default; --no-allow-dns drops it)',
    }),
    baseline: Flags.boolean({
      description:
        'write one ClusterNetworkPolicy (tier Baseline, policy.networking.k8s.io) for all the namespaces instead of a NetworkPolicy in each: it decides only for pods no NetworkPolicy selects, and cannot deny traffic from outside the cluster',
    }),
    egress: Flags.boolean({ description: 'isolate egress too, in the same policy' }),
    explain: Flags.boolean({
      description: 'list every connection the change cuts or opens, not only the largest groups',
    }),
    name: Flags.string({
      default: 'default-deny',
      description:
        'name of the NetworkPolicy to create or remove; with --baseline, of the ClusterNetworkPolicy (default netpol-baseline-NS1-NS2..., the namespaces sorted)',
    }),
    off: Flags.boolean({
      description: 'remove the policy kubectl-netpol created; other policies are left alone',
    }),
    priority: Flags.integer({
      description: `with --baseline: the ClusterNetworkPolicy's priority in the Baseline tier, 0-1000, lower first (default ${BASELINE_PRIORITY}: after every other Baseline policy)`,
      min: 0,
      max: 1000,
    }),
    status: Flags.boolean({
      description:
        'show per namespace whether ingress and egress are isolated, and by which policies (the namespaces named, else --namespace, else all)',
    }),
  };

  static override strict = false;

  static override usage = [
    '[NAMESPACES...] [--egress [--no-allow-dns]] [--name NAME] [--explain] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
    '[NAMESPACES...] --baseline [--egress [--no-allow-dns]] [--priority N] [--name NAME] [--off] [--explain] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-f PATH...]',
    '[NAMESPACES...] --off [--name NAME] [--explain] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
    '--status [NAMESPACES... | -A] [-o table|wide|json|yaml] [--no-headers] [-n NAMESPACE] [-f PATH...]',
  ];

  async run(): Promise<IsolateResult> {
    const { argv, flags, metadata } = await this.parse(Isolate).catch((error: unknown) => {
      throw outputValueError(error, this.argv) ?? error;
    });
    const given = (name: string) => name in flags && !metadata.flags[name]?.setFromDefault;
    const { options, statusOutput } = validateOptions(argv as string[], flags, given);
    const source = await this.openSource(flags);
    const loaded = await source.load(scopeOf(options));
    this.warnAll(loaded.warnings);
    if (options.mode === 'status') {
      return this.showStatus(isolationStatus(loaded.snapshot, options), options, statusOutput);
    }
    const namespaces = options.namespaces.length > 0 ? options.namespaces : [source.namespace];
    if (options.baseline) return this.runBaseline(loaded, namespaces, options, source.cluster?.api);
    const { result, changes } = planIsolate(loaded.snapshot, namespaces, options);
    const target = { api: source.cluster?.api, existing: loaded.snapshot.policies, settings: options.write };
    const writes = await planWrites(changes, target);
    this.report(formatPlanNotes(result, options));
    this.report(formatPreview(result, options));
    // With -o, a namespace already isolated still prints the policies that isolate it, so
    // `isolate -o yaml --dry-run=client | kubectl apply -f -` always has something to apply.
    const kept = options.write.output === undefined ? [] : keptOutcomes(loaded.snapshot, result.plans, options);
    if (changes.length === 0) {
      result.outcomes = kept;
      this.print(formatOutcomes(kept, options.write.output, options.write.dryRun));
      return result;
    }
    await this.confirmCut(result.diff, result.namespaces, options);
    const order = (o: WriteOutcome) => namespaces.indexOf(o.namespace);
    result.outcomes = [...(await executeWrites(writes, target)), ...kept].sort((a, b) => order(a) - order(b));
    this.warnAll(outcomeNotices(result.outcomes));
    this.print(formatOutcomes(result.outcomes, options.write.output, options.write.dryRun));
    return result;
  }

  /** `--baseline`: plans the ClusterNetworkPolicy, shows what it cuts (or --off opens), confirms and writes. */
  private async runBaseline(
    loaded: LoadedSnapshot,
    namespaces: string[],
    options: IsolateOptions,
    api: ClusterApi | undefined,
  ): Promise<IsolateResult> {
    const { result, changes } = planBaseline(loaded.snapshot, loaded.apiGroups, namespaces, options);
    const kind = 'ClusterNetworkPolicy';
    const existing = (loaded.snapshot.clusterPolicies ?? []).filter((p) => p.kind === kind) as ClusterObject[];
    const target = { api, existing, settings: options.write };
    const store = clusterObjectStore(result.resource, kind, target);
    const writes = await planObjectWrites(store, changes, target);
    this.report(formatBaselineNotes(result, options));
    if (!result.off) await this.confirmCut(result.diff, result.namespaces, options);
    result.outcomes = await executeWrites(writes, target);
    this.warnAll(outcomeNotices(result.outcomes));
    const resource = `${kind.toLowerCase()}.${result.resource.group}`;
    this.print(formatClusterOutcomes(result.outcomes, options.write.output, options.write.dryRun, resource));
    const { diff, preview } = result;
    return {
      mode: options.mode,
      namespaces: result.namespaces,
      plans: [],
      diff,
      preview,
      outcomes: [],
      status: [],
      baseline: result,
    };
  }

  /** Asks before a real write that cuts connections; without a terminal, --yes must say so. */
  private async confirmCut(diff: ReachabilityDiff, namespaces: string[], options: IsolateOptions): Promise<void> {
    const cuts = diff.cut.length + diff.cutAddresses.length;
    if (cuts === 0 || options.write.yes || options.write.dryRun !== 'none') return;
    const count = plural(cuts, 'connection');
    if (!this.isInteractive() || options.write.output !== undefined) {
      throw new UsageError(
        `isolating would cut ${count} allowed today, and there is no terminal to confirm it`,
        'pass --yes to go ahead, or --dry-run=client to preview',
      );
    }
    const prompts = await this.prompter();
    const message = `Cut ${count} and isolate ${namespaces.join(', ')}?`;
    if (!(await prompts.confirm({ message, default: false }))) {
      throw new NetpolError('aborted: nothing was written', 1);
    }
  }

  private showStatus(result: IsolateResult, options: IsolateOptions, output: StatusOutput): IsolateResult {
    if (output === 'json' || output === 'yaml') {
      this.print(renderDocument(toStatusDocument(result.status, options.name), output));
    } else {
      this.print(formatStatus(result.status, options, { wide: output === 'wide' }));
    }
    return result;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The flags only a write reads (isolating or --off): none applies to --status, which changes nothing. */
const WRITE_ONLY_FLAGS = [
  'baseline',
  'priority',
  'egress',
  'allow-dns',
  'off',
  'name',
  'explain',
  'dry-run',
  'field-manager',
  'overwrite',
  'yes',
] as const;

/** The flags that shape or guard the policy isolate writes: --off removes its own policy whole, so none applies. */
const NOT_WITH_OFF = ['egress', 'allow-dns', 'overwrite'] as const;

/** Checks flag combinations before anything is loaded, so usage errors never wait for the cluster. */
function validateOptions(
  args: string[],
  flags: FlagsOf<typeof Isolate>,
  given: (name: string) => boolean,
): { options: IsolateOptions; statusOutput: StatusOutput } {
  const write = parseWriteFlags(flags);
  const isOffline = (flags.filename ?? []).length > 0;
  // -A with no namespace named means --status: there is nothing to change in "every namespace".
  const isStatus = flags.status || (flags['all-namespaces'] && args.length === 0);
  const flagName = (name: string) =>
    name === 'allow-dns' && flags['allow-dns'] === false ? '--no-allow-dns' : `--${name}`;
  if (flags['all-namespaces'] && args.length > 0) {
    throw new UsageError(
      'NAMESPACE arguments and --all-namespaces cannot be combined',
      'name the namespaces, or use --status -A',
    );
  }
  if (flags.selector !== undefined)
    throw new UsageError('--selector does not apply to isolate: it isolates whole namespaces');
  const writing = WRITE_ONLY_FLAGS.filter(given);
  if (isStatus && writing.length > 0) {
    const typed = writing.map((name) => {
      const value = flags[name];
      return typeof value === 'string' ? `${flagName(name)}${name === 'dry-run' ? '=' : ' '}${value}` : flagName(name);
    });
    throw statusConflict(flags, writing.map(flagName), typed);
  }
  const notWithOff = NOT_WITH_OFF.filter(given);
  if (flags.off && notWithOff.length > 0) throw offConflict(notWithOff[0], flagName(notWithOff[0]));
  const output = flags.output as string | undefined;
  if (
    output !== undefined &&
    !(isStatus ? (STATUS_OUTPUTS as readonly string[]) : WRITE_OUTPUT_FORMATS).includes(output)
  ) {
    throw badOutput(output, isStatus);
  }
  if (!isStatus && flags['no-headers']) {
    throw new UsageError(
      '--no-headers only applies to the table of --status',
      'isolate prints one line per policy changed, without a header',
    );
  }
  if (isOffline && !isStatus && write.dryRun !== 'client') {
    throw new UsageError(
      '-f needs --dry-run=client: manifest files cannot be written to',
      'add --dry-run=client to preview the policy, or drop -f to write to the cluster',
    );
  }
  if (given('allow-dns') && !flags.egress) throw new UsageError(`${flagName('allow-dns')} only applies with --egress`);
  if (given('priority') && !flags.baseline) {
    throw new UsageError('--priority only applies with --baseline', 'a NetworkPolicy has no priority');
  }
  // --status looks at the namespaces named, else -n's, else (or with -A) every namespace.
  const named = isStatus && args.length === 0 && !flags['all-namespaces'] && flags.namespace ? [flags.namespace] : args;
  const options: IsolateOptions = {
    mode: isStatus ? 'status' : flags.off ? 'off' : 'isolate',
    namespaces: [...new Set(named)],
    allNamespaces: flags['all-namespaces'],
    directions: flags.egress ? ['ingress', 'egress'] : ['ingress'],
    allowDns: flags['allow-dns'] !== false,
    explain: flags.explain,
    name: flags.name,
    noHeaders: flags['no-headers'],
    isOffline,
    write,
    ...(flags.baseline
      ? { baseline: { priority: flags.priority ?? BASELINE_PRIORITY, ...(given('name') ? { name: flags.name } : {}) } }
      : {}),
  };
  return { options, statusOutput: (output as StatusOutput | undefined) ?? 'table' };
}

/**
 * Writing flags with --status (or -A alone, which means it): one line naming them and what to do
 * instead, and the command that writes as a hint (`typed`: each flag with its value).
 */
function statusConflict(
  flags: { status: boolean; 'all-namespaces': boolean },
  names: string[],
  typed: string[],
): UsageError {
  const what = listWords(names);
  const hint = `kubectl netpol isolate NAMESPACE... ${typed.join(' ')}`;
  if (!flags.status) {
    return new UsageError(
      `-A (--all-namespaces) shows the status of every namespace and cannot be combined with ${what}: name the namespaces to change`,
      hint,
    );
  }
  const drop = flags['all-namespaces']
    ? 'drop --status and -A, and name the namespaces to change'
    : 'drop --status to change the namespaces';
  return new UsageError(`--status only shows isolation and cannot be combined with ${what}: ${drop}`, hint);
}

/** A flag that shapes the policy written, with --off (which removes it): one line, and what to do instead. */
function offConflict(name: (typeof NOT_WITH_OFF)[number], flag: string): UsageError {
  if (name === 'overwrite') {
    return new UsageError(
      '--off removes only the policy kubectl-netpol created and cannot be combined with --overwrite',
      'to remove a policy kubectl-netpol did not create, use kubectl delete networkpolicy NAME -n NAMESPACE',
    );
  }
  return new UsageError(
    `--off removes the whole policy kubectl-netpol created and cannot be combined with ${flag}`,
    'to keep only ingress isolated, run isolate NAMESPACE --off, then isolate NAMESPACE without --egress',
  );
}

/** `a`, `a and b`, `a, b and c`. */
function listWords(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** An -o value the mode does not print: one line naming the values it does. */
function badOutput(value: string, isStatus: boolean): UsageError {
  return isStatus
    ? new UsageError(
        `-o ${value} does not apply to isolate --status (or -A): use -o table (the default), wide, json or yaml`,
      )
    : new UsageError(
        `-o ${value} does not apply to isolate: use -o json, yaml or name (default: one line per policy changed)`,
      );
}

/** oclif's "Expected --output=X to be one of" as badOutput, the mode read from the raw arguments. */
function outputValueError(error: unknown, argv: readonly string[]): UsageError | undefined {
  const match = error instanceof Error ? /Expected --output=(.*?) to be one of/.exec(error.message) : null;
  if (!match) return undefined;
  const flagsOnly = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined);
  const isStatus = flagsOnly.includes('--status') || flagsOnly.some((a) => a === '-A' || a === '--all-namespaces');
  return badOutput(match[1], isStatus);
}
