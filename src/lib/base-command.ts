/**
 * What every kubectl-netpol command shares: kubectl's flags with kubectl's wording, loading the
 * snapshot (-f files or the live cluster), warnings on stderr, and errors mapped to one line and an exit code.
 */
import { Command, Errors, Flags } from '@oclif/core';

import { loadManifests } from './cluster/files.js';
import type { ClusterConnection, LiveOptions, LoadedSnapshot, SnapshotScope } from './cluster/types.js';
import type { ClusterSnapshot } from './engine/model.js';
import { NetpolError, DeniedResult } from './errors.js';
import { parseRequestTimeout } from './flags.js';
import { startProgress } from './output/progress.js';
import { isColorEnabled, OUTPUT_FORMATS, paint } from './output/render.js';

/** The shared flags as parsed. */
export interface BaseFlags {
  'all-namespaces': boolean;
  context?: string;
  filename?: string[];
  'insecure-skip-tls-verify'?: boolean;
  kubeconfig?: string;
  namespace?: string;
  'no-headers': boolean;
  output: string;
  'request-timeout': string;
  selector?: string;
}

/** A snapshot ready for a query, with the namespace the query runs in. */
export interface SnapshotContext {
  snapshot: ClusterSnapshot;
  /** -n, else the context's namespace (live), else `default`. */
  namespace: string;
  /** Whether the namespace was given with -n. */
  isNamespaceExplicit: boolean;
  /** What the loader wants the user to know, one line each. */
  warnings: string[];
}

/** An error as the user sees it: the lines for stderr and the exit code. */
export interface ErrorReport {
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

export abstract class BaseCommand extends Command {
  static override baseFlags = {
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
      description:
        "When using the default or custom-column output format, don't print headers (default print headers).",
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
        "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.",
      helpGroup: 'GLOBAL',
    }),
    selector: Flags.string({
      char: 'l',
      description:
        "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.",
    }),
  };

  /** Maps the error to one stderr line (plus a hint) and an exit code; never a stack trace unless DEBUG. */
  override async catch(error: Error): Promise<void> {
    // A flag that failed to parse is not a forgotten this.parse(): keep oclif's dev-mode warning quiet.
    this.parsed = true;
    reportError(error);
  }

  /**
   * Loads the snapshot a query needs: from -f manifests (never touching client-node), else from the
   * live cluster. The scope is computed once the namespace is known.
   */
  protected async loadSnapshot(
    flags: BaseFlags,
    scopeFor: (namespace: string) => SnapshotScope,
  ): Promise<SnapshotContext> {
    const isNamespaceExplicit = flags.namespace !== undefined;
    const requestTimeoutMs = parseRequestTimeout(flags['request-timeout']);
    let loaded: LoadedSnapshot;
    let namespace: string;
    if (flags.filename && flags.filename.length > 0) {
      namespace = flags.namespace ?? 'default';
      // Objects without a namespace are in `default` whatever -n says, so one set of files always
      // means one world (-n only chooses where the query looks).
      loaded = await loadManifests(flags.filename, { defaultNamespace: 'default' });
    } else {
      // A spinner on stderr when the load is slow, only on a terminal; erased before anything is printed.
      const progress = startProgress(process.stderr);
      try {
        const live = await this.connect({
          context: flags.context,
          kubeconfig: flags.kubeconfig,
          requestTimeoutMs,
          // Only when asked for: certificates are checked otherwise (the kubeconfig may also say so).
          ...(flags['insecure-skip-tls-verify'] ? { insecureSkipTlsVerify: true } : {}),
          ...(progress.isActive ? { onListPage: progress.onListPage } : {}),
        });
        namespace = flags.namespace ?? live.defaultNamespace ?? 'default';
        loaded = await live.loadSnapshot(scopeFor(namespace));
      } finally {
        progress.done();
      }
    }
    return { snapshot: loaded.snapshot, namespace, isNamespaceExplicit, warnings: loaded.warnings };
  }

  /** Connects to the live cluster; client-node is imported here, lazily, and nowhere else. */
  protected async connect(options: LiveOptions): Promise<ClusterConnection> {
    const { connectLive } = await import('./cluster/live.js');
    return connectLive(options);
  }

  /** Writes to stdout as is. */
  protected print(text: string): void {
    if (text !== '') process.stdout.write(text);
  }

  /** Writes each message to stderr as a kubectl-style `Warning: ...` line, once each. */
  protected warnAll(messages: readonly string[]): void {
    const color = isColorEnabled(process.stderr);
    for (const message of new Set(messages)) {
      process.stderr.write(`${paint('Warning:', 'yellow', color)} ${message}\n`);
    }
  }
}
