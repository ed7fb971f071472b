import type { V1LabelSelector } from '@kubernetes/client-node';
import { Args, Flags } from '@oclif/core';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import { compileWorld } from '../lib/engine/compile.js';
import { parseSelector, SelectorSyntaxError } from '../lib/engine/selector.js';
import { DeniedResult, NetpolError, NoAnswerError, UsageError } from '../lib/errors.js';
import { GRAPH_FORMATS, isGraphFormat, renderGraph, type GraphFormat } from '../lib/output/graph.js';
import { isColorEnabled, OUTPUT_FORMATS, type OutputFormat } from '../lib/output/render.js';
import { writeReachDocument } from '../lib/output/reach-document.js';
import { formatAnswer, formatReachTable } from '../lib/output/reach-table.js';
import { parsePortText } from '../lib/peer-syntax.js';
import {
  answerWhoCan,
  completeWhoCan,
  scopeOf,
  type WhoCanOptions,
  type WhoCanReport,
} from '../lib/services/who-can.js';
import { parseSourceSpec, parseTargetSpec } from '../lib/target-spec.js';

export default class WhoCan extends BaseCommand {
  static override args = {
    target: Args.string({
      description:
        'the destination: NAME or pod/NAME, a workload (deployment/NAME, statefulset/NAME, daemonset/NAME, ...), or service/NAME; default: every pod in the namespace',
      // `-f -` reads manifests from stdin: oclif must not take piped stdin as this argument.
      ignoreStdin: true,
    }),
  };

  static override description =
    'show which pods and address blocks can reach the target pods, on which ports, and which policies allow it';

  static override examples = [
    {
      command: 'kubectl netpol who-can deployment/backend --namespace tenant-a --port 80/TCP',
      description: 'Who can reach the backend pods on 80/TCP, and which policy lets them',
    },
    {
      command: 'kubectl netpol who-can service/api --namespace api --port http --filename examples/shop',
      description: 'Who can reach the pods behind a Service port, from manifest files instead of the cluster',
    },
    {
      command: 'kubectl netpol who-can --all-namespaces --port 80/TCP --output json',
      description: 'The whole reachability matrix for 80/TCP, as JSON',
    },
    {
      command:
        'kubectl netpol who-can statefulset/postgres --namespace db --from api/deployment/api --port 5432 --quiet',
      description: 'Can the api pods reach postgres? Exit status 0 for yes, 1 for no',
    },
    {
      command: 'kubectl netpol who-can --namespace db --selector app=postgres --port 5432 --explain',
      description: 'Also list the sources that are denied, and why',
    },
    {
      command: 'kubectl netpol who-can --namespace api --filename examples/shop --explain --output dot',
      description:
        'Draw the paths into a namespace, denied ones dashed: Graphviz DOT for `dot -Tpng` (or --output mermaid)',
    },
  ];

  static override flags = {
    explain: Flags.boolean({
      description: 'also list the sources that are denied, and which policies and rules deny them',
    }),
    from: Flags.string({
      description:
        'only this source: NAME or NAMESPACE/NAME (a pod), [NAMESPACE/]KIND/NAME, in the target namespace unless given. Answers yes or no: exit status 0 (yes), 1 (no), 3 (could not answer: nothing to check, not found, unreadable files, API errors)',
    }),
    output: Flags.option({
      char: 'o',
      default: 'table',
      description:
        'Output format. One of: (table, wide, json, yaml, dot, mermaid); dot and mermaid draw the paths around the targets.',
      options: [...OUTPUT_FORMATS, ...GRAPH_FORMATS] as const,
    })(),
    port: Flags.string({
      description:
        'only this port: PORT[/PROTOCOL], a number or a port name, protocol TCP (default), UDP or SCTP; with service/NAME, a port of the Service',
    }),
    quiet: Flags.boolean({
      char: 'q',
      dependsOn: ['from'],
      description: 'with --from: print nothing, only set the exit status',
    }),
  };

  /** Whether the command answers yes or no (--from): then a failure to answer exits 3, never 1 (no). */
  private isQuestion = false;

  async run(): Promise<WhoCanReport> {
    const { args, flags } = await this.parse(WhoCan);
    this.isQuestion = flags.from !== undefined;
    const view = viewOf(flags);
    const options = optionsOf(args.target, flags);
    const source = await this.openSource(flags);
    if (
      options.target?.namespace !== undefined &&
      source.isNamespaceExplicit &&
      options.target.namespace !== source.namespace
    ) {
      throw new UsageError(
        `TARGET "${args.target}" is in namespace "${options.target.namespace}", but --namespace says "${source.namespace}"`,
        'drop one of them',
      );
    }
    const request = completeWhoCan(options, source.namespace);
    const loaded = await source.load(scopeOf(request));
    const report = answerWhoCan(compileWorld(loaded.snapshot), request);
    report.warnings.unshift(...loaded.warnings.map((message) => ({ code: 'manifest', message })));
    if (!view.quiet) this.warnAll(report.warnings.map((warning) => warning.message));
    if (!view.quiet) this.report(report.notes.map((note) => `${note}\n`).join(''));
    if (!view.quiet && (view.format === 'json' || view.format === 'yaml')) {
      await writeReachDocument(report, view.format, process.stdout, { explain: options.explain });
    } else if (!view.quiet) this.print(render(report, view, options.explain));
    if (isTableFormat(view, options) && report.answer.subjects.length > 0 && isEmpty(report)) {
      this.report('No connections found.\n');
    }
    if (report.allowed === false) throw new DeniedResult(`${flags.from} cannot reach every target pod`);
    return report;
  }

  /** A question that could not be answered exits 3 (usage errors stay 2, and "no" is 1): docs/errors.md. */
  override async catch(error: Error): Promise<void> {
    return super.catch(this.isQuestion ? asNoAnswer(error) : error);
  }
}

/** An error that kept a --from question from being answered, as exit 3 with the same lines. */
function asNoAnswer(error: Error): Error {
  if (error instanceof DeniedResult || error instanceof UsageError || error instanceof NoAnswerError) return error;
  if (error instanceof NetpolError) return new NoAnswerError(error.message, error.hint);
  return new NoAnswerError(error.message || 'unexpected failure');
}

/** The flags of who-can as parsed. */
type WhoCanFlags = FlagsOf<typeof WhoCan>;

/** How the answer is shown. */
interface WhoCanView {
  format: OutputFormat | GraphFormat;
  noHeaders: boolean;
  quiet: boolean;
}

function viewOf(flags: WhoCanFlags): WhoCanView {
  return { format: flags.output, noHeaders: flags['no-headers'], quiet: flags.quiet };
}

/** Every value the flags give, parsed once and checked before anything is loaded: usage errors never wait for the cluster. */
function optionsOf(target: string | undefined, flags: WhoCanFlags): WhoCanOptions {
  if (target !== undefined && flags.selector !== undefined) {
    throw new UsageError('TARGET and --selector cannot be combined', 'name one target, or select targets by label');
  }
  if (target !== undefined && flags['all-namespaces']) {
    throw new UsageError(
      'a resource cannot be retrieved by name across all namespaces',
      'drop --all-namespaces, or name the namespace with --namespace',
    );
  }
  return {
    target: target === undefined ? undefined : parseTargetSpec(target, 'TARGET'),
    from: flags.from === undefined ? undefined : parseSourceSpec(flags.from, '--from'),
    port: flags.port === undefined ? undefined : parsePortText(flags.port, { isRangeAllowed: false }),
    selector: flags.selector === undefined ? undefined : parseSelectorFlag(flags.selector),
    allNamespaces: flags['all-namespaces'],
    explain: flags.explain,
  };
}

function parseSelectorFlag(text: string): V1LabelSelector {
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) {
      throw new UsageError(`invalid value "${text}" for --selector: ${error.message}`);
    }
    throw error;
  }
}

function isEmpty(report: WhoCanReport): boolean {
  return report.answer.groups.length === 0 && report.answer.external.length === 0;
}

/** Whether the "nothing found" note applies: a plain table that came out empty. */
function isTableFormat(view: WhoCanView, options: WhoCanOptions): boolean {
  const isTable = view.format === 'table' || view.format === 'wide';
  return isTable && !view.quiet && !options.explain && options.from === undefined;
}

/** The table and picture views (JSON and YAML are streamed by writeReachDocument). */
function render(report: WhoCanReport, view: WhoCanView, explain: boolean): string {
  if (isGraphFormat(view.format)) return renderGraph(report, view.format, { explain });
  const color = isColorEnabled(process.stdout);
  const table = formatReachTable(report, { color, explain, noHeaders: view.noHeaders, wide: view.format === 'wide' });
  if (report.allowed !== undefined) {
    const details = explain || view.format === 'wide' ? table : '';
    return formatAnswer(report.allowed, color) + details;
  }
  return table;
}
