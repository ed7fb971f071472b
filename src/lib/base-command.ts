/**
 * What every kubectl-netpol command shares: kubectl's flags with kubectl's wording, where snapshots
 * come from (-f files or the live cluster, opened by one injectable factory), whether a person can
 * be asked, warnings on stderr, and errors mapped to one line and an exit code.
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';

import { loadManifests } from './cluster/files.js';
import { contextNamespace } from './cluster/kubeconfig-files.js';
import type { ClusterConnection, LiveOptions, LoadedSnapshot, SnapshotScope } from './cluster/types.js';
import { NetpolError, DeniedResult } from './errors.js';
import { parseRequestTimeout } from './flags.js';
import { startProgress, type Progress } from './output/progress.js';
import { isColorEnabled, OUTPUT_FORMATS, paint } from './output/style.js';
import type { PromptFunctions } from './prompts/types.js';

/** The flags a command parses, typed from its definitions: its own, and the shared ones it does not redefine. */
export type FlagsOf<T extends { flags: Interfaces.FlagInput; baseFlags: Interfaces.FlagInput }> =
  Interfaces.InferredFlags<Omit<T['baseFlags'], keyof T['flags']> & T['flags']>;

/** The shared flags that say where the snapshot comes from. */
type SourceFlags = Pick<
  Interfaces.InferredFlags<typeof baseFlags>,
  'context' | 'filename' | 'insecure-skip-tls-verify' | 'kubeconfig' | 'namespace' | 'request-timeout'
>;

/**
 * Where a command's snapshot comes from, opened before the request is completed: it knows the
 * namespace the request runs in (kubectl's Complete step needs it), then loads what the scope asks.
 */
interface SnapshotSource {
  /** -n, else the context's namespace (live), else `default`. */
  namespace: string;
  /** Whether the namespace was given with -n. */
  isNamespaceExplicit: boolean;
  /** The live cluster (for writes); undefined with -f. */
  cluster?: ClusterConnection;
  /** Lists what the scope needs (live) or reads the files (-f: the scope does not narrow them). */
  load(scope: SnapshotScope): Promise<LoadedSnapshot>;
}

/** An error as the user sees it: the lines for stderr and the exit code. */
interface ErrorReport {
  exitCode: number;
  lines: string[];
}

/** Collapses a message to one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** oclif's parse messages without their boilerplate ("The following error occurred:", "See more help with --help"). */
function parseErrorMessage(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) => line !== '' && !/^The following errors? occurred:$/.test(line) && !/^See more help with/.test(line),
    );
  return lines.join('; ');
}

/** Writes an error's lines to stderr and sets the exit code; never exits the process. */
export function reportError(error: unknown): void {
  const report = describeError(error);
  const color = isColorEnabled(process.stderr);
  for (const line of report.lines) {
    process.stderr.write(line.replace(/^error:/, paint('error:', 'red', color)) + '\n');
  }
  process.exitCode = report.exitCode;
}

/**
 * Maps any error to what the user sees: NetpolErrors keep their exit code and hint, oclif's parse
 * errors (unknown flag, bad option value, missing or extra argument) are usage errors (exit 2), and
 * anything else is exit 1 with its stack only when DEBUG is set.
 */
export function describeError(error: unknown, env: NodeJS.ProcessEnv = process.env): ErrorReport {
  if (error instanceof DeniedResult) return { exitCode: error.exitCode, lines: [] };
  if (error instanceof NetpolError) {
    const lines = [`error: ${oneLine(error.message)}`];
    if (error.hint) lines.push(`hint: ${oneLine(error.hint)}`);
    return { exitCode: error.exitCode, lines };
  }
  if (error instanceof Errors.ExitError) return { exitCode: error.oclif.exit ?? 0, lines: [] };
  if (error instanceof Errors.CLIError && 'parse' in error) {
    return { exitCode: 2, lines: [`error: ${parseErrorMessage(error.message)}`, 'hint: see --help for usage'] };
  }
  if (error instanceof Errors.CLIError) {
    const lines = [`error: ${oneLine(error.message)}`];
    if (/^command .* not found$/.test(error.message)) lines.push("hint: see 'kubectl netpol --help' for the commands");
    return { exitCode: error.oclif.exit ?? 1, lines };
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = [`error: ${oneLine(message) || 'unexpected failure'}`];
  if (env.DEBUG && error instanceof Error && error.stack) lines.push(error.stack);
  return { exitCode: 1, lines };
}

/** kubectl's shared flags, with kubectl's names and wording. */
const baseFlags = {
  'all-namespaces': Flags.boolean({
    char: 'A',
    description:
      'If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.',
  }),
  context: Flags.string({
    description: 'The name of the kubeconfig context to use',
    helpGroup: 'GLOBAL',
  }),
  filename: Flags.string({
    char: 'f',
    description:
      'Filename, directory, or - (stdin) of manifests to analyse instead of the live cluster; repeatable, directories are read recursively.',
    multiple: true,
    multipleNonGreedy: true,
  }),
  'insecure-skip-tls-verify': Flags.boolean({
    description:
      "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure",
    helpGroup: 'GLOBAL',
  }),
  kubeconfig: Flags.string({
    description: 'Path to the kubeconfig file to use for CLI requests.',
    helpGroup: 'GLOBAL',
  }),
  namespace: Flags.string({
    char: 'n',
    description: 'If present, the namespace scope for this CLI request',
  }),
  'no-headers': Flags.boolean({
    description: "When using the default or custom-column output format, don't print headers (default print headers).",
  }),
  output: Flags.string({
    char: 'o',
    default: 'table',
    description: 'Output format. One of: (table, wide, json, yaml).',
    options: [...OUTPUT_FORMATS],
  }),
  'request-timeout': Flags.string({
    default: '0',
    description:
      "The length of time to wait for the server before giving up, all of the command's requests together. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests (connecting and the TLS handshake still time out after 30s and 10s).",
    helpGroup: 'GLOBAL',
  }),
  selector: Flags.string({
    char: 'l',
    description:
      "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.",
  }),
};

export abstract class BaseCommand extends Command {
  static override baseFlags = baseFlags;

  /** The live cluster, opened once: the snapshot and the writes go to the same one. */
  private cluster?: Promise<ClusterConnection>;

  /** Maps the error to one stderr line (plus a hint) and an exit code; never a stack trace unless DEBUG. */
  override async catch(error: Error): Promise<void> {
    // A flag that failed to parse is not a forgotten this.parse(): keep oclif's dev-mode warning quiet.
    this.parsed = true;
    reportError(error);
  }

  /**
   * Opens where the snapshot comes from: -f manifests (never touching client-node), else the live
   * cluster. Nothing is read yet; `load` reads what the completed request's scope asks for.
   */
  protected async openSource(flags: SourceFlags): Promise<SnapshotSource> {
    const isNamespaceExplicit = flags.namespace !== undefined;
    const requestTimeoutMs = parseRequestTimeout(flags['request-timeout']);
    const files = flags.filename ?? [];
    if (files.length > 0) {
      // Objects that name no namespace go to -n, else the context's namespace, as `kubectl apply -f`
      // puts them (the kubeconfig is only read for that: no cluster is asked).
      const namespace = flags.namespace ?? (await contextNamespace(flags, process.env)) ?? 'default';
      return {
        namespace,
        isNamespaceExplicit,
        load: () => loadManifests(files, { defaultNamespace: namespace }),
      };
    }
    let progress: Progress | undefined;
    // The server's warnings, held while a progress line is drawn and printed once it is erased.
    let heldWarnings: string[] | undefined;
    const cluster = await this.connect({
      context: flags.context,
      kubeconfig: flags.kubeconfig,
      requestTimeoutMs,
      // Only when asked for: certificates are checked otherwise (the kubeconfig may also say so).
      ...(flags['insecure-skip-tls-verify'] ? { insecureSkipTlsVerify: true } : {}),
      onListPage: (resource, count) => progress?.onListPage(resource, count),
      onWarning: (message) => (heldWarnings ? heldWarnings.push(message) : this.warnAll([message])),
    });
    return {
      namespace: flags.namespace ?? cluster.defaultNamespace ?? 'default',
      isNamespaceExplicit,
      cluster,
      load: async (scope) => {
        // A spinner on stderr when the load is slow, only on a terminal; erased before anything is printed.
        progress = startProgress(process.stderr);
        heldWarnings = progress.isActive ? [] : undefined;
        try {
          return await cluster.loadSnapshot(scope);
        } finally {
          progress.done();
          this.warnAll(heldWarnings ?? []);
          heldWarnings = undefined;
        }
      },
    };
  }

  /** The live cluster, opened once per command through openCluster. */
  private connect(options: LiveOptions): Promise<ClusterConnection> {
    this.cluster ??= this.openCluster(options);
    return this.cluster;
  }

  /**
   * The cluster factory: the live API, with client-node imported here, lazily, and nowhere else.
   * Tests return an in-memory cluster behind the same interface.
   */
  protected async openCluster(options: LiveOptions): Promise<ClusterConnection> {
    const { connectLive } = await import('./cluster/live.js');
    return connectLive(options);
  }

  /** Whether a person can answer a prompt: stdin and stdout are terminals. */
  protected isInteractive(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY);
  }

  /** The prompt functions: @inquirer/prompts, loaded only when a prompt is shown, drawn on stderr so stdout stays the result. */
  protected async prompter(): Promise<PromptFunctions> {
    const inquirer = await import('@inquirer/prompts');
    const context = { output: process.stderr };
    return {
      select: (config) => inquirer.select(config, context),
      input: (config) => inquirer.input(config, context),
      confirm: (config) => inquirer.confirm(config, context),
    };
  }

  /** Writes to stdout as is. */
  protected print(text: string): void {
    if (text !== '') process.stdout.write(text);
  }

  /** Writes to stderr as is (what a command says about what it does, beside its result). */
  protected report(text: string): void {
    if (text !== '') process.stderr.write(text);
  }

  /** Writes each message to stderr as a kubectl-style `Warning: ...` line, once each. */
  protected warnAll(messages: readonly string[]): void {
    const color = isColorEnabled(process.stderr);
    for (const message of new Set(messages)) {
      process.stderr.write(`${paint('Warning:', 'yellow', color)} ${message}\n`);
    }
  }
}
