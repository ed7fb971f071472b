import { Args, Flags } from '@oclif/core';

import type { SnapshotScope } from '../lib/cluster/types.js';
import { BaseCommand, type BaseFlags } from '../lib/base-command.js';
import { compileWorld, type World } from '../lib/engine/compile.js';
import type { PodRef, PortQuery, Warning } from '../lib/engine/model.js';
import { parseSelector, SelectorSyntaxError } from '../lib/engine/selector.js';
import { resolveServicePort, resolveTargets, workloadOf, type TargetSpec } from '../lib/engine/targets.js';
import { whoCan, type Connection } from '../lib/engine/who-can.js';
import { DeniedResult, NetpolError, UsageError } from '../lib/errors.js';
import { parsePortFlag, toPortQuery } from '../lib/flags.js';
import { GRAPH_FORMATS, isGraphFormat, renderGraph, type GraphFormat } from '../lib/output/graph.js';
import { isColorEnabled, OUTPUT_FORMATS, type OutputFormat } from '../lib/output/render.js';
import {
  formatAnswer,
  formatWhoCanTable,
  iteratePairs,
  writeWhoCanDocument,
  type ReportWarning,
  type WhoCanReport,
  type WorkloadRef,
} from '../lib/output/who-can.js';
import { parseTargetSpec, type NamedTargetSpec } from '../lib/target-spec.js';

/** The flags of who-can as parsed. */
type WhoCanFlags = BaseFlags & { explain: boolean; from?: string; port?: string; quiet: boolean };

/** The query as the flags describe it, validated before anything is loaded. */
interface WhoCanOptions {
  allNamespaces: boolean;
  explain: boolean;
  format: OutputFormat | GraphFormat;
  from?: string;
  noHeaders: boolean;
  port?: ReturnType<typeof parsePortFlag>;
  quiet: boolean;
  selector?: ReturnType<typeof parseSelector>;
  target?: string;
}

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
        'only this source ([NAMESPACE/]KIND/NAME or NAME, in the target namespace unless given): answers yes or no, exit status 0 or 1',
    }),
    output: Flags.string({
      char: 'o',
      default: 'table',
      description:
        'Output format. One of: (table, wide, json, yaml, dot, mermaid); dot and mermaid draw the paths around the targets.',
      options: [...OUTPUT_FORMATS, ...GRAPH_FORMATS],
    }),
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

  async run(): Promise<WhoCanReport> {
    const { args, flags } = await this.parse(WhoCan);
    const options = validateOptions(args.target, flags);
    const context = await this.loadSnapshot(flags, (namespace) => scopeOf(options, namespace));
    const world = compileWorld(context.snapshot);
    const report = answer(world, options, context.namespace);
    report.warnings.unshift(...context.warnings.map((message) => ({ code: 'manifest', message })));
    if (!options.quiet) this.warnAll(report.warnings.map((warning) => warning.message));
    if (!options.quiet && (options.format === 'json' || options.format === 'yaml')) {
      await writeWhoCanDocument(report, options.format, process.stdout, { explain: options.explain });
    } else if (!options.quiet) this.print(render(report, options));
    if (isTableFormat(options) && report.targets.length > 0 && isEmpty(report)) {
      process.stderr.write('No connections found.\n');
    }
    if (report.allowed === false) throw new DeniedResult(`${options.from} cannot reach every target pod`);
    return report;
  }
}

/** Checks what can be checked before loading anything, so usage errors never wait for the cluster. */
function validateOptions(target: string | undefined, flags: WhoCanFlags): WhoCanOptions {
  if (target !== undefined && flags.selector !== undefined) {
    throw new UsageError('TARGET and --selector cannot be combined', 'name one target, or select targets by label');
  }
  if (target !== undefined && flags['all-namespaces']) {
    throw new UsageError(
      'a resource cannot be retrieved by name across all namespaces',
      'drop --all-namespaces, or name the namespace with --namespace',
    );
  }
  if (target !== undefined) parseTargetSpec(target, 'default', 'TARGET');
  if (flags.from !== undefined) parseTargetSpec(flags.from, 'default', '--from', true);
  return {
    allNamespaces: flags['all-namespaces'],
    explain: flags.explain,
    format: flags.output as OutputFormat | GraphFormat,
    from: flags.from,
    noHeaders: flags['no-headers'],
    port: flags.port === undefined ? undefined : parsePortFlag(flags.port),
    quiet: flags.quiet,
    selector: flags.selector === undefined ? undefined : parseSelectorFlag(flags.selector),
    target,
  };
}

function parseSelectorFlag(text: string): ReturnType<typeof parseSelector> {
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) {
      throw new UsageError(`invalid value "${text}" for --selector: ${error.message}`);
    }
    throw error;
  }
}

/** What the live loader must fetch: every namespace (sources are anywhere) plus the objects named. */
function scopeOf(options: WhoCanOptions, namespace: string): SnapshotScope {
  const named: NamedTargetSpec[] = [];
  if (options.target !== undefined) named.push(parseTargetSpec(options.target, namespace, 'TARGET'));
  if (options.from !== undefined) named.push(parseTargetSpec(options.from, namespace, '--from', true));
  const workloads = named.flatMap((spec) =>
    spec.kind === 'pod' || spec.kind === 'service'
      ? []
      : [{ kind: spec.kind, namespace: spec.namespace, name: spec.name }],
  );
  const services = named.flatMap((spec) =>
    spec.kind === 'service' ? [{ namespace: spec.namespace, name: spec.name }] : [],
  );
  // Services are read by name, never listed: only a named service/NAME target needs one.
  return { workloads, services, listServices: false };
}

function requireNamespace(world: World, namespace: string): void {
  const names = world.snapshot.namespaces.map((item) => item.metadata?.name ?? '');
  if (!names.includes(namespace)) {
    throw new NetpolError(
      `namespace "${namespace}" not found`,
      1,
      `use --namespace NAME or --all-namespaces${names.length > 0 ? `; namespaces: ${names.join(', ')}` : ''}`,
    );
  }
}

/** Resolves a named TARGET or --from to pods; naming something that does not exist is an error. */
function resolveNamed(world: World, spec: NamedTargetSpec): { pods: PodRef[]; warnings: Warning[] } {
  requireNamespace(world, spec.namespace);
  const resolved = resolveTargets(world, spec);
  if (resolved.pods.length === 0) {
    const why = resolved.warnings.map((warning) => warning.message).join('; ');
    throw new NetpolError(
      why || `${spec.kind.toLowerCase()} "${spec.name}" not found in namespace "${spec.namespace}"`,
      1,
    );
  }
  return resolved;
}

/** Runs the query: resolve targets, sources and port, ask the engine, and collect what the views need. */
function answer(world: World, options: WhoCanOptions, namespace: string): WhoCanReport {
  const warnings: Warning[] = [...world.warnings];
  let targetSpec: NamedTargetSpec | undefined;
  let targets: PodRef[];
  if (options.target !== undefined) {
    targetSpec = parseTargetSpec(options.target, namespace, 'TARGET');
    const resolved = resolveNamed(world, targetSpec);
    targets = resolved.pods;
    warnings.push(...resolved.warnings);
  } else {
    if (!options.allNamespaces) requireNamespace(world, namespace);
    const spec: TargetSpec = {
      kind: 'selector',
      namespaces: options.allNamespaces ? undefined : [namespace],
      selector: options.selector ?? {},
    };
    const resolved = resolveTargets(world, spec);
    targets = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  let sources: PodRef[] | undefined;
  if (options.from !== undefined) {
    const resolved = resolveNamed(world, parseTargetSpec(options.from, namespace, '--from', true));
    sources = resolved.pods;
    warnings.push(...resolved.warnings);
  }
  const port = portOf(world, options, targetSpec);
  const result = whoCan(world, {
    targets,
    sources,
    port,
    includeDenied: options.explain || sources !== undefined,
  });
  warnings.push(...result.warnings);
  const reported = new Map<string, ReportWarning>();
  for (const warning of warnings) reported.set(`${warning.code}\u0000${warning.message}`, warning);
  let connections: Connection[] | undefined;
  let denied: Connection[] | undefined;
  const report: WhoCanReport = {
    targets,
    port,
    // A denied pair exists exactly when a denied group does (the engine drops groups of a pod to itself only).
    allowed: sources === undefined ? undefined : result.deniedGroups.length === 0,
    warnings: [...reported.values()],
    groups: result.groups,
    deniedGroups: result.deniedGroups,
    external: result.external,
    workloads: workloadsOf(world),
    // Pod pairs can be millions: expanded only when asked for, from the groups (the views never ask).
    get connections() {
      connections ??= [...iteratePairs(report, 'connections')];
      return connections;
    },
    get denied() {
      denied ??= [...iteratePairs(report, 'denied')];
      return denied;
    },
  };
  return report;
}

function isEmpty(report: WhoCanReport): boolean {
  return (report.groups ?? []).length === 0 && (report.external ?? []).length === 0;
}

/** --port as the engine takes it; with service/NAME, the Service port resolved to its targetPort. */
function portOf(world: World, options: WhoCanOptions, target: NamedTargetSpec | undefined): PortQuery | undefined {
  if (!options.port) return undefined;
  if (target?.kind !== 'service') return toPortQuery(options.port);
  try {
    return resolveServicePort(world, target, options.port.port, options.port.protocol);
  } catch (error) {
    if (error instanceof NetpolError) throw error;
    throw new NetpolError(error instanceof Error ? error.message : String(error), 1);
  }
}

/** The owner of every pod: any of them may be a source, and this costs pods, not pairs. */
function workloadsOf(world: World): Map<string, WorkloadRef> {
  const workloads = new Map<string, WorkloadRef>();
  for (const pod of world.snapshot.pods) {
    workloads.set(`${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`, workloadOf(pod));
  }
  return workloads;
}

/** Whether the "nothing found" note applies: a plain table that came out empty. */
function isTableFormat(options: WhoCanOptions): boolean {
  const isTable = options.format === 'table' || options.format === 'wide';
  return isTable && !options.quiet && !options.explain && options.from === undefined;
}

/** The table and picture views (JSON and YAML are streamed by writeWhoCanDocument). */
function render(report: WhoCanReport, options: WhoCanOptions): string {
  if (isGraphFormat(options.format)) return renderGraph(report, options.format, { explain: options.explain });
  const color = isColorEnabled(process.stdout);
  const table = formatWhoCanTable(report, {
    color,
    explain: options.explain,
    noHeaders: options.noHeaders,
    wide: options.format === 'wide',
  });
  if (report.allowed !== undefined) {
    const details = options.explain || options.format === 'wide' ? table : '';
    return formatAnswer(report.allowed, color) + details;
  }
  return table;
}
