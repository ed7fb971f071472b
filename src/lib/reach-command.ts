/**
 * What who-can and reachable-from share: the flags of a reachability answer, the run (parse once,
 * load what the request needs, ask the engine, render), and the yes/no of a question (--from, --to)
 * with its exit codes: 0 yes, 1 no, 3 could not answer (docs/errors.md).
 */
import type { V1LabelSelector } from '@kubernetes/client-node';
import { Flags, type Interfaces } from '@oclif/core';

import { BaseCommand } from './base-command.js';
import { isStreamed, type Orientation, type ReachAnswer, type StreamedAnswer } from './engine/answer.js';
import { compileWorld } from './engine/compile.js';
import { shareDecisions } from './engine/whole-cluster.js';
import { parseSelector, SelectorSyntaxError } from './engine/selector.js';
import { asNoAnswer, DeniedResult, UsageError } from './errors.js';
import { GRAPH_FORMATS, isGraphFormat, renderGraph, type GraphFormat } from './output/graph.js';
import { writeReachDocument } from './output/reach-document.js';
import { writeGroupedDocument } from './output/who-can-groups.js';
import { formatAnswer, formatReachTable } from './output/reach-table.js';
import { isColorEnabled, OUTPUT_FORMATS, type OutputFormat } from './output/style.js';
import { parsePortText } from './peer-syntax.js';
import type { ReachReport } from './services/report.js';
import { answerReach, completeReach, scopeOf, type ReachOptions } from './services/reach.js';
import { parseSourceSpec, parseTargetSpec } from './target-spec.js';

/** The flags both reachability commands take, worded for the peers they list (sources or destinations). */
export function reachFlags(peers: 'sources' | 'destinations') {
  return {
    explain: Flags.boolean({
      description: `also list the ${peers} that are denied, and which policies and rules deny them`,
    }),
    'group-by': Flags.option({
      default: 'pod',
      description:
        'with -o json or yaml: one entry per pod pair (pod), or per pair of workloads whose pods share the answer (workload: the pods of each end listed, as the table groups them); tables and pictures always group by workload',
      options: ['pod', 'workload'] as const,
    })(),
    output: Flags.option({
      char: 'o',
      default: 'table',
      description: `Output format. One of: (table, wide, json, yaml, dot, mermaid); dot and mermaid draw the paths around the ${peers === 'sources' ? 'targets' : 'sources'}.`,
      options: [...OUTPUT_FORMATS, ...GRAPH_FORMATS] as const,
    })(),
    port: Flags.string({
      description:
        peers === 'sources'
          ? 'only this port: PORT[/PROTOCOL], a number or a port name, protocol TCP (default), UDP or SCTP; with service/NAME, a port of the Service'
          : 'only this port: PORT[/PROTOCOL], a number or a port name (it names a port of each destination pod), protocol TCP (default), UDP or SCTP; with --to service/NAME, a port of the Service',
    }),
  };
}

/** The flags a reachability command reads, as parsed. */
type ReachFlags = Interfaces.InferredFlags<
  Omit<typeof BaseCommand.baseFlags, 'output'> & ReturnType<typeof reachFlags>
> & { quiet: boolean };

/** One reachability command's question, as typed. */
interface ReachInput {
  orientation: Orientation;
  /** The subject argument as typed (who-can's TARGET, reachable-from's SOURCE). */
  subject?: string;
  /** The question's other side as typed (--from, --to). */
  other?: string;
  flags: ReachFlags;
}

/** How the answer is shown. */
interface ReachView {
  format: OutputFormat | GraphFormat;
  noHeaders: boolean;
  quiet: boolean;
}

/** The names a side of each orientation has in messages: its argument, and the question's flag. */
const NAMES = {
  inbound: { subject: 'TARGET', other: '--from' },
  outbound: { subject: 'SOURCE', other: '--to' },
} as const;

export abstract class ReachCommand extends BaseCommand {
  /** Whether the command answers yes or no (--from, --to): then a failure to answer exits 3, never 1 (no). */
  private isQuestion = false;

  /** Parses the question once, loads what it needs, answers and renders it; "no" throws DeniedResult (exit 1). */
  protected async answer(input: ReachInput): Promise<ReachReport<ReachAnswer | StreamedAnswer>> {
    const { flags, orientation } = input;
    this.isQuestion = input.other !== undefined;
    const view: ReachView = { format: flags.output, noHeaders: flags['no-headers'], quiet: flags.quiet };
    const options = optionsOf(input);
    const source = await this.openSource(flags);
    if (
      options.subject?.namespace !== undefined &&
      source.isNamespaceExplicit &&
      options.subject.namespace !== source.namespace
    ) {
      throw new UsageError(
        `${NAMES[orientation].subject} "${input.subject}" is in namespace "${options.subject.namespace}", but --namespace says "${source.namespace}"`,
        'drop one of them',
      );
    }
    const request = completeReach(options, source.namespace);
    const loaded = await source.load(scopeOf(request));
    // A document is written as its answer is computed, share by share: never all pairs, nor all groups.
    const isDocument = view.format === 'json' || view.format === 'yaml';
    const world = compileWorld(loaded.snapshot);
    const report = answerReach(world, request, { streamed: isDocument });
    // Pairs alike share a decision, so a document renders each distinct entry once.
    if (isStreamed(report.answer)) report.answer = shareDecisions(world, report.answer);
    // What the loader said: about the files (-f), or about reading the cluster.
    const loaderCode = (flags.filename ?? []).length > 0 ? 'manifest' : 'cluster';
    report.warnings.unshift(...loaded.warnings.map((message) => ({ code: loaderCode, message })));
    if (!view.quiet) {
      this.warnAll(report.warnings.map((warning) => warning.message));
      this.report(report.notes.map((note) => `${note}\n`).join(''));
      if (view.format === 'json' || view.format === 'yaml') {
        // A question's "no" says which pairs are denied, as --explain does.
        const explain = options.explain || this.isQuestion;
        const write = flags['group-by'] === 'workload' ? writeGroupedDocument : writeReachDocument;
        await write(report, view.format, process.stdout, { explain });
      } else if (!isStreamed(report.answer)) {
        const eager = { ...report, answer: report.answer };
        this.print(render(eager, view, options.explain));
        const isPlainTable =
          (view.format === 'table' || view.format === 'wide') && !options.explain && !this.isQuestion;
        if (isPlainTable && eager.answer.subjects.length > 0 && isEmpty(eager)) this.report('No connections found.\n');
      }
    }
    if (report.allowed === false) {
      const what = orientation === 'inbound' ? 'every target pod' : `every destination of ${NAMES.outbound.other}`;
      throw new DeniedResult(`the ${orientation === 'inbound' ? 'sources' : 'source pods'} cannot reach ${what}`);
    }
    return report;
  }

  /** A question that could not be answered exits 3 (usage errors stay 2, and "no" is 1): docs/errors.md. */
  override async catch(error: Error): Promise<void> {
    return super.catch(this.isQuestion ? asNoAnswer(error) : error);
  }
}

/** Every value the flags give, parsed once and checked before anything is loaded: usage errors never wait for the cluster. */
function optionsOf(input: ReachInput): ReachOptions {
  const { flags, orientation } = input;
  const names = NAMES[orientation];
  if (input.subject !== undefined && flags.selector !== undefined) {
    throw new UsageError(
      `${names.subject} and --selector cannot be combined`,
      `name one ${orientation === 'inbound' ? 'target' : 'source'}, or select pods by label`,
    );
  }
  if (input.subject !== undefined && flags['all-namespaces']) {
    throw new UsageError(
      'a resource cannot be retrieved by name across all namespaces',
      'drop --all-namespaces, or name the namespace with --namespace',
    );
  }
  const other = input.other === undefined ? undefined : parseSourceSpec(input.other, names.other);
  const port = flags.port === undefined ? undefined : parsePortText(flags.port, { isRangeAllowed: false });
  if (orientation === 'outbound' && other?.kind === 'address' && typeof port?.port === 'string') {
    throw new UsageError(
      `--port "${flags.port}" names a port, and an address block has no port names: a name resolves on a destination pod`,
      'give the port number',
    );
  }
  return {
    orientation,
    subject: input.subject === undefined ? undefined : parseTargetSpec(input.subject, names.subject),
    other,
    port,
    selector: flags.selector === undefined ? undefined : parseSelectorFlag(flags.selector),
    allNamespaces: flags['all-namespaces'],
    explain: flags.explain,
  };
}

/** -l as the engine takes it; a syntax error is a usage error naming the flag. */
export function parseSelectorFlag(text: string): V1LabelSelector {
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) {
      throw new UsageError(`invalid value "${text}" for --selector: ${error.message}`);
    }
    throw error;
  }
}

function isEmpty(report: ReachReport): boolean {
  return report.answer.groups.length === 0 && report.answer.external.length === 0;
}

/** The table and picture views (JSON and YAML are streamed by writeReachDocument). */
function render(report: ReachReport, view: ReachView, explain: boolean): string {
  if (isGraphFormat(view.format)) return renderGraph(report, view.format, { explain });
  const color = isColorEnabled(process.stdout);
  const table = formatReachTable(report, { color, explain, noHeaders: view.noHeaders, wide: view.format === 'wide' });
  if (report.allowed !== undefined) {
    const details = explain || view.format === 'wide' ? table : '';
    return formatAnswer(report.allowed, color) + details;
  }
  return table;
}
