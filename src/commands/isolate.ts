import { Args, Flags } from '@oclif/core';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import { NetpolError, UsageError } from '../lib/errors.js';
import { formatPlanNotes, formatPreview, formatStatus, toStatusDocument } from '../lib/output/isolate.js';
import { renderDocument } from '../lib/output/render.js';
import { formatOutcomes, outcomeNotices } from '../lib/output/write.js';
import {
  isolationStatus,
  keptOutcomes,
  planIsolate,
  scopeOf,
  type IsolateOptions,
  type IsolateResult,
} from '../lib/services/isolate.js';
import { executeWrites, planWrites, type WriteOutcome } from '../lib/write.js';
import { parseWriteFlags, writeFlags, WRITE_OUTPUT_FORMATS } from '../lib/write-flags.js';

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
  ];

  static override flags = {
    ...writeFlags,
    'all-namespaces': {
      ...BaseCommand.baseFlags['all-namespaces'],
      description: 'with --status (or alone, meaning --status): every namespace, whatever --namespace says',
    },
    // Refused (isolate works on whole namespaces): parsed only to say so, and left out of the help.
    selector: { ...BaseCommand.baseFlags.selector, hidden: true },
    output: Flags.string({
      char: 'o',
      description:
        'Output format. One of: (json, yaml, name); default: one line per object changed. With --status: table (default), json or yaml.',
      options: [...WRITE_OUTPUT_FORMATS, 'table'],
    }),
    'allow-dns': Flags.boolean({
      allowNo: true,
      description:
        'with --egress, keep egress to the cluster DNS pods on 53/UDP and 53/TCP (default; --no-allow-dns drops it)',
    }),
    egress: Flags.boolean({ description: 'isolate egress too, in the same policy' }),
    explain: Flags.boolean({
      description: 'list every connection the change cuts or opens, not only the largest groups',
    }),
    name: Flags.string({ default: 'default-deny', description: 'name of the NetworkPolicy to create or remove' }),
    off: Flags.boolean({
      description: 'remove the policy kubectl-netpol created; other policies are left alone',
      exclusive: ['status', 'egress'],
    }),
    status: Flags.boolean({
      description:
        'show per namespace whether ingress and egress are isolated, and by which policies (the namespaces named, else --namespace, else all)',
    }),
  };

  static override strict = false;

  async run(): Promise<IsolateResult> {
    const { argv, flags } = await this.parse(Isolate).catch((error: unknown) => {
      throw outputValueError(error, this.argv) ?? error;
    });
    const options = validateOptions(argv as string[], flags);
    const source = await this.openSource(flags);
    const loaded = await source.load(scopeOf(options));
    this.warnAll(loaded.warnings);
    if (options.mode === 'status') return this.showStatus(isolationStatus(loaded.snapshot, options), options);
    const namespaces = options.namespaces.length > 0 ? options.namespaces : [source.namespace];
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
    await this.confirmCut(result, options);
    const order = (o: WriteOutcome) => namespaces.indexOf(o.namespace);
    result.outcomes = [...(await executeWrites(writes, target)), ...kept].sort((a, b) => order(a) - order(b));
    this.warnAll(outcomeNotices(result.outcomes));
    this.print(formatOutcomes(result.outcomes, options.write.output, options.write.dryRun));
    return result;
  }

  /** Asks before a real write that cuts connections; without a terminal, --yes must say so. */
  private async confirmCut(result: IsolateResult, options: IsolateOptions): Promise<void> {
    const cuts = result.diff.cut.length + result.diff.cutAddresses.length;
    if (cuts === 0 || options.write.yes || options.write.dryRun !== 'none') return;
    const count = plural(cuts, 'connection');
    if (!this.isInteractive() || options.write.output !== undefined) {
      throw new UsageError(
        `isolating would cut ${count} allowed today, and there is no terminal to confirm it`,
        'pass --yes to go ahead, or --dry-run=client to preview',
      );
    }
    const prompts = await this.prompter();
    const message = `Cut ${count} and isolate ${result.namespaces.join(', ')}?`;
    if (!(await prompts.confirm({ message, default: false }))) {
      throw new NetpolError('aborted: nothing was written', 1);
    }
  }

  private showStatus(result: IsolateResult, options: IsolateOptions): IsolateResult {
    if (options.write.output === 'json' || options.write.output === 'yaml') {
      this.print(renderDocument(toStatusDocument(result.status, options.name), options.write.output));
    } else {
      this.print(formatStatus(result.status, options));
    }
    return result;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Checks flag combinations before anything is loaded, so usage errors never wait for the cluster. */
function validateOptions(args: string[], flags: FlagsOf<typeof Isolate>): IsolateOptions {
  const write = parseWriteFlags(flags);
  const isOffline = (flags.filename ?? []).length > 0;
  const isStatus = flags.status || (flags['all-namespaces'] && args.length === 0 && !flags.off);
  if (flags['all-namespaces'] && args.length > 0) {
    throw new UsageError(
      'NAMESPACE arguments and --all-namespaces cannot be combined',
      'name the namespaces, or use --status -A',
    );
  }
  if (flags['all-namespaces'] && flags.off) {
    throw new UsageError('--off cannot be combined with --all-namespaces', 'name the namespaces to un-isolate');
  }
  if (flags.selector !== undefined)
    throw new UsageError('--selector does not apply to isolate: it isolates whole namespaces');
  const output = flags.output as string | undefined;
  if (output !== undefined && !(isStatus ? STATUS_OUTPUTS : WRITE_OUTPUT_FORMATS).includes(output)) {
    throw badOutput(output, isStatus);
  }
  if (isOffline && !isStatus && write.dryRun !== 'client') {
    throw new UsageError(
      '-f needs --dry-run=client: manifest files cannot be written to',
      'add --dry-run=client to preview the policy, or drop -f to write to the cluster',
    );
  }
  const allowDns = flags['allow-dns'] !== false;
  if (!allowDns && !flags.egress) throw new UsageError('--no-allow-dns only applies with --egress');
  // --status looks at the namespaces named, else -n's, else (or with -A) every namespace.
  const named = isStatus && args.length === 0 && !flags['all-namespaces'] && flags.namespace ? [flags.namespace] : args;
  return {
    mode: isStatus ? 'status' : flags.off ? 'off' : 'isolate',
    namespaces: [...new Set(named)],
    allNamespaces: flags['all-namespaces'],
    directions: flags.egress ? ['ingress', 'egress'] : ['ingress'],
    allowDns,
    explain: flags.explain,
    name: flags.name,
    noHeaders: flags['no-headers'],
    isOffline,
    write,
  };
}

/** Values of -o with --status (and with -A and no namespace, which means --status). */
const STATUS_OUTPUTS: readonly string[] = ['table', 'json', 'yaml'];

/** An -o value the mode does not print: one line naming the values it does. */
function badOutput(value: string, isStatus: boolean): UsageError {
  return isStatus
    ? new UsageError(`-o ${value} does not apply to isolate --status (or -A): use -o table (the default), json or yaml`)
    : new UsageError(
        `-o ${value} does not apply to isolate: use -o json, yaml or name (default: one line per policy changed)`,
      );
}

/** oclif's "Expected --output=X to be one of" as badOutput, the mode read from the raw arguments. */
function outputValueError(error: unknown, argv: readonly string[]): UsageError | undefined {
  const match = error instanceof Error ? /Expected --output=(.*?) to be one of/.exec(error.message) : null;
  if (!match) return undefined;
  const flagsOnly = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined);
  const isStatus =
    flagsOnly.includes('--status') ||
    (flagsOnly.some((a) => a === '-A' || a === '--all-namespaces') && !flagsOnly.includes('--off'));
  return badOutput(match[1], isStatus);
}
