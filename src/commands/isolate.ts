import { confirm } from '@inquirer/prompts';
import { Args, Flags } from '@oclif/core';

import { BaseCommand, type BaseFlags } from '../lib/base-command.js';
import type { ClusterConnection, LiveOptions, SnapshotScope } from '../lib/cluster/types.js';
import { compileWorld, keyOf, type World } from '../lib/engine/compile.js';
import { diffReachability, type ReachabilityChange } from '../lib/engine/diff.js';
import {
  DIRECTIONS,
  DNS_NAMESPACE,
  DNS_SERVICE,
  findDnsPeer,
  groupChanges,
  namespaceIsolation,
  planIsolation,
  withPolicies,
  type DirectionIsolation,
  type DnsPeer,
  type NamespaceIsolation,
  type NamespacePlan,
} from '../lib/engine/isolation.js';
import type { ClusterSnapshot, Direction, PolicyRef } from '../lib/engine/model.js';
import { formatPortSet } from '../lib/engine/ports.js';
import { NetpolError, UsageError } from '../lib/errors.js';
import { renderDocument } from '../lib/output/render.js';
import { formatWorkloadRef } from '../lib/output/names.js';
import { formatTable } from '../lib/output/table.js';
import {
  formatOutcomes,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  outcomeNotices,
  parseWriteFlags,
  writeFlags,
  executeWrites,
  isManagedByUs,
  planWrites,
  toManifest,
  type PolicyChange,
  type WriteFlags,
  type WriteOutcome,
  type WriteSettings,
  WRITE_OUTPUT_FORMATS,
} from '../lib/write.js';

type IsolateFlags = Omit<BaseFlags, 'output'> &
  WriteFlags & {
    'allow-dns'?: boolean;
    egress: boolean;
    explain: boolean;
    name: string;
    off: boolean;
    status: boolean;
  };

/** The request as the flags describe it, validated before anything is loaded. */
interface IsolateOptions {
  mode: 'isolate' | 'off' | 'status';
  /** Namespaces named as arguments; empty: -n or the context's (all with -A for --status). */
  namespaces: string[];
  allNamespaces: boolean;
  directions: Direction[];
  allowDns: boolean;
  explain: boolean;
  name: string;
  noHeaders: boolean;
  isOffline: boolean;
  write: WriteSettings;
}

/** What `isolate` did, as data: the plan per namespace, the reachability it changes, what was written. */
export interface IsolateResult {
  mode: IsolateOptions['mode'];
  namespaces: string[];
  plans: NamespacePlan[];
  dns?: DnsPeer;
  /** Pod-to-pod connections the change denies (isolating) or allows (--off) that were allowed/denied before. */
  cut: ReachabilityChange[];
  opened: ReachabilityChange[];
  outcomes: WriteOutcome[];
  status: NamespaceIsolation[];
}

/** How many groups the preview shows without --explain. */
const PREVIEW_GROUPS = 5;

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

  private connection?: ClusterConnection;

  async run(): Promise<IsolateResult> {
    const { argv, flags } = await this.parse(Isolate).catch((error: unknown) => {
      throw outputValueError(error, this.argv) ?? error;
    });
    const options = validateOptions(argv as string[], flags as IsolateFlags);
    const context = await this.loadSnapshot({ ...flags, output: 'table' }, () => scopeOf(options));
    this.warnAll(context.warnings);
    if (options.mode === 'status') return this.showStatus(context.snapshot, options);
    const namespaces = options.namespaces.length > 0 ? options.namespaces : [context.namespace];
    const { result, changes, world } = planChange(context.snapshot, namespaces, options);
    const target = { api: this.connection?.api, existing: context.snapshot.policies, settings: options.write };
    const writes = await planWrites(changes, target);
    this.report(formatPlanNotes(result, options));
    this.report(formatPreview(world, result, options));
    // With -o, a namespace already isolated still prints the policies that isolate it, so
    // `isolate -o yaml --dry-run=client | kubectl apply -f -` always has something to apply.
    const kept = options.write.output === undefined ? [] : keptOutcomes(context.snapshot, result.plans, options);
    if (changes.length === 0) {
      result.outcomes = kept;
      this.print(formatOutcomes(kept, options.write.output, options.write.dryRun));
      return result;
    }
    await this.confirmCut(result, options);
    const order = (o: WriteOutcome) => namespaces.indexOf(o.namespace);
    result.outcomes = [...(await executeWrites(writes, target)), ...kept].sort((a, b) => order(a) - order(b));
    this.report(
      outcomeNotices(result.outcomes)
        .map((line) => `Warning: ${line}\n`)
        .join(''),
    );
    this.print(formatOutcomes(result.outcomes, options.write.output, options.write.dryRun));
    return result;
  }

  /** Connects once and keeps the connection, so the snapshot and the writes use the same cluster. */
  protected override async connect(options: LiveOptions): Promise<ClusterConnection> {
    this.connection ??= await this.connectCluster(options);
    return this.connection;
  }

  /** Opens the live cluster; client-node is imported lazily, so -f runs never load it. */
  protected async connectCluster(options: LiveOptions): Promise<ClusterConnection> {
    const { connectLive } = await import('../lib/cluster/live.js');
    return connectLive(options);
  }

  /** Whether a person can answer a prompt: stdin and stdout are terminals. */
  protected isInteractive(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY);
  }

  /** Asks yes or no (default no). */
  protected async ask(message: string): Promise<boolean> {
    return confirm({ message, default: false }, { output: process.stderr });
  }

  /** Asks before a real write that cuts connections; without a terminal, --yes must say so. */
  private async confirmCut(result: IsolateResult, options: IsolateOptions): Promise<void> {
    if (result.cut.length === 0 || options.write.yes || options.write.dryRun !== 'none') return;
    const count = plural(result.cut.length, 'connection');
    if (!this.isInteractive() || options.write.output !== undefined) {
      throw new UsageError(
        `isolating would cut ${count} allowed today, and there is no terminal to confirm it`,
        'pass --yes to go ahead, or --dry-run=client to preview',
      );
    }
    if (!(await this.ask(`Cut ${count} and isolate ${result.namespaces.join(', ')}?`))) {
      throw new NetpolError('aborted: nothing was written', 1);
    }
  }

  private showStatus(snapshot: ClusterSnapshot, options: IsolateOptions): IsolateResult {
    const world = compileWorld(snapshot);
    const all = snapshot.namespaces.map((n) => n.metadata?.name ?? '').sort();
    const namespaces = options.namespaces.length > 0 ? options.namespaces : all;
    requireNamespaces(world, namespaces);
    const status = namespaces.map((ns) => namespaceIsolation(world, ns));
    if (options.write.output === 'json' || options.write.output === 'yaml') {
      this.print(renderDocument(toStatusDocument(status, options.name), options.write.output));
    } else {
      this.print(formatStatus(status, options));
    }
    return { mode: 'status', namespaces, plans: [], cut: [], opened: [], outcomes: [], status };
  }

  private report(text: string): void {
    if (text !== '') process.stderr.write(text);
  }
}

/** Checks flag combinations before anything is loaded, so usage errors never wait for the cluster. */
function validateOptions(args: string[], flags: IsolateFlags): IsolateOptions {
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

/** What the live loader must fetch: everything but Services, of which only kube-dns (when DNS is kept). */
function scopeOf(options: IsolateOptions): SnapshotScope {
  // Reading kube-dns is best effort: without it, findDnsPeer falls back to the k8s-app=kube-dns label.
  const services = wantsDns(options) ? [{ namespace: DNS_NAMESPACE, name: DNS_SERVICE, optional: true }] : [];
  return { listServices: false, services };
}

function wantsDns(options: IsolateOptions): boolean {
  return options.mode === 'isolate' && options.directions.includes('egress') && options.allowDns;
}

function requireNamespaces(world: World, namespaces: string[]): void {
  const known = new Set(world.snapshot.namespaces.map((n) => n.metadata?.name ?? ''));
  const missing = namespaces.filter((ns) => !known.has(ns));
  if (missing.length > 0) {
    throw new NetpolError(
      `namespace${missing.length > 1 ? 's' : ''} ${missing.map((ns) => `"${ns}"`).join(', ')} not found; nothing was written`,
      1,
      `namespaces: ${[...known].sort().join(', ') || 'none'}`,
    );
  }
}

/** Plans each namespace, the writes that makes, and the pod-to-pod reachability it cuts and opens. */
function planChange(
  snapshot: ClusterSnapshot,
  namespaces: string[],
  options: IsolateOptions,
): { result: IsolateResult; changes: PolicyChange[]; world: World } {
  const world = compileWorld(snapshot);
  requireNamespaces(world, namespaces);
  const dns = wantsDns(options) ? findDnsPeer(world) : undefined;
  const plans = planIsolation(world, {
    namespaces,
    name: options.name,
    directions: options.directions,
    dns,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    off: options.mode === 'off',
  });
  const { changes, after } = applyPlans(world, plans);
  const affected = after.pods.filter((p) => namespaces.includes(p.ref.namespace)).map((p) => p.ref);
  const diff = diffReachability(world, after, affected);
  const result: IsolateResult = { mode: options.mode, namespaces, plans, dns, ...diff, outcomes: [], status: [] };
  return { result, changes, world };
}

/** The writes a plan makes and the world after them. */
function applyPlans(world: World, plans: NamespacePlan[]): { changes: PolicyChange[]; after: World } {
  const changes: PolicyChange[] = [];
  const add = [];
  const remove: PolicyRef[] = [];
  for (const plan of plans) {
    if (plan.action === 'write') {
      changes.push({ action: 'apply', policy: plan.policy });
      add.push(plan.policy);
    } else if (plan.action === 'delete') {
      const ref = { namespace: plan.namespace, name: plan.policy.metadata?.name ?? '' };
      changes.push({ action: 'delete', ...ref });
      remove.push(ref);
    }
  }
  return { changes, after: compileWorld(withPolicies(world.snapshot, { add, remove })) };
}

/**
 * The policies that already isolate the skipped namespaces, as `unchanged` outcomes: the one named
 * --name when it isolates every direction asked, else each policy that denies a direction asked.
 */
function keptOutcomes(snapshot: ClusterSnapshot, plans: NamespacePlan[], options: IsolateOptions): WriteOutcome[] {
  const outcomes: WriteOutcome[] = [];
  for (const plan of plans) {
    if (plan.action !== 'skip') continue;
    const byDirection = options.directions.map((d) => plan.isolatedBy[d].map((r) => r.name));
    const isOwnEnough = byDirection.every((refs) => refs.includes(options.name));
    const wanted = isOwnEnough ? [options.name] : [...new Set(byDirection.flat())];
    for (const name of wanted) {
      const policy = snapshot.policies.find(
        (p) => (p.metadata?.namespace ?? 'default') === plan.namespace && p.metadata?.name === name,
      );
      if (!policy) continue;
      const object = toManifest(policy);
      outcomes.push({
        namespace: plan.namespace,
        name,
        verb: 'unchanged',
        object,
        previous: object,
        replacedForeign: false,
      });
    }
  }
  return outcomes;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function names(refs: PolicyRef[]): string {
  return refs.map((r) => r.name).join(', ');
}

function directionWords(directions: readonly Direction[]): string {
  return directions.join(' and ');
}

/** What each namespace's plan means, one line each, for stderr. */
function formatPlanNotes(result: IsolateResult, options: IsolateOptions): string {
  const lines: string[] = [];
  for (const plan of result.plans) {
    const ns = plan.namespace;
    if (plan.action === 'skip') {
      const by = DIRECTIONS.filter((d) => options.directions.includes(d)).map(
        (d) => `${d} by ${names(plan.isolatedBy[d])}`,
      );
      lines.push(`namespace ${ns} is already isolated (${by.join('; ')}); nothing to do`);
    } else if (plan.action === 'write' && isManagedByUs(plan.existing)) {
      lines.push(
        `namespace ${ns}: updating ${options.name} to isolate ${directionWords(plan.policy.spec?.policyTypes?.map((t) => t.toLowerCase() as Direction) ?? [])}`,
      );
    } else if (plan.action === 'none') {
      lines.push(
        plan.foreign
          ? `namespace ${ns}: networkpolicy ${options.name} was not created by kubectl-netpol; left alone (delete it with kubectl if you mean to)`
          : `namespace ${ns}: no networkpolicy ${options.name} created by kubectl-netpol; nothing to remove`,
      );
    }
    if (plan.action === 'delete' || plan.action === 'none') {
      for (const d of DIRECTIONS) {
        if (plan.keptBy[d].length > 0) {
          lines.push(
            `namespace ${ns} stays isolated for ${d} by ${names(plan.keptBy[d])} (not created by kubectl-netpol; left alone)`,
          );
        }
      }
    }
  }
  if (result.dns && result.plans.some((p) => p.action === 'write')) {
    lines.push(`DNS: egress stays allowed to ${describeDns(result.dns)} on 53/UDP and 53/TCP`);
  } else if (
    options.mode === 'isolate' &&
    options.directions.includes('egress') &&
    !options.allowDns &&
    result.plans.some((p) => p.action === 'write')
  ) {
    lines.push('DNS: not allowed (--no-allow-dns); pods in these namespaces will not resolve names');
  }
  return lines.map((line) => line + '\n').join('');
}

function describeDns(dns: DnsPeer): string {
  const labels = Object.entries(dns.podLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const how =
    dns.foundBy === 'service'
      ? `the pods behind service ${dns.namespace}/kube-dns`
      : dns.foundBy === 'pod-label'
        ? `${plural(dns.pods.length, 'pod')} labelled ${labels}`
        : 'no DNS pods found, assuming the usual labels';
  return `pods ${labels} in namespace ${dns.namespace} (${how})`;
}

/** The preview for stderr: how many connections the change cuts (or opens), the largest groups, or all with --explain. */
function formatPreview(world: World, result: IsolateResult, options: IsolateOptions): string {
  if (!result.plans.some((p) => p.action === 'write' || p.action === 'delete')) return '';
  const isOff = options.mode === 'off';
  const changes = isOff ? result.opened : result.cut;
  const what = isOff ? 'denied today would be allowed' : 'allowed today would be denied';
  if (changes.length === 0) return `Preview: no pod-to-pod connection ${what}.\n`;
  let text = `Preview: ${plural(changes.length, 'pod-to-pod connection')} ${what}:\n`;
  if (options.explain) {
    const rows = changes.map((c) => [keyOf(c.from), keyOf(c.to), formatPortSet(isOff ? c.gained : c.lost)]);
    return text + indent(formatTable(['FROM', 'TO', 'PORTS'], rows));
  }
  const groups = groupChanges(world, changes);
  const rows = groups
    .slice(0, PREVIEW_GROUPS)
    .map((g) => [String(g.count), formatWorkloadRef(g.from), formatWorkloadRef(g.to)]);
  text += indent(formatTable(['CONNECTIONS', 'FROM', 'TO'], rows));
  if (groups.length > PREVIEW_GROUPS) text += `  ... and ${plural(groups.length - PREVIEW_GROUPS, 'more group')}\n`;
  return text + '  (--explain lists every connection)\n';
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

function stateText(d: DirectionIsolation): string {
  if (d.state === 'isolated') return 'isolated';
  if (d.state === 'open') return 'no';
  return `${d.selectedPods}/${d.pods} pods`;
}

/** The --status table, then namespaces that still carry seed-era annotations with the equivalent command. */
function formatStatus(status: NamespaceIsolation[], options: IsolateOptions): string {
  const rows = status.map((s) => {
    const policies = [...new Set([...s.ingress.policies, ...s.egress.policies].map((p) => p.name))].sort();
    return [s.namespace, stateText(s.ingress), stateText(s.egress), policies.join(',') || '<none>'];
  });
  let text = formatTable(['NAMESPACE', 'INGRESS', 'EGRESS', 'POLICIES'], rows, { noHeaders: options.noHeaders });
  const legacy = status.filter((s) => s.legacy);
  if (legacy.length > 0) {
    text += '\nSeed-era isolation annotations, ignored by current Kubernetes:\n';
    const legacyRows = legacy.map((s) => [
      s.namespace,
      `${s.legacy!.annotation}=${s.legacy!.value}`,
      equivalentCommand(s, options.name),
    ]);
    text += indent(formatTable(['NAMESPACE', 'ANNOTATION', 'EQUIVALENT'], legacyRows));
  }
  return text;
}

/** The isolate command with the same effect as a seed-era annotation (or a note that nothing is needed). */
function equivalentCommand(status: NamespaceIsolation, name: string): string {
  const nameFlag = name === 'default-deny' ? '' : ` --name ${name}`;
  if (status.legacy?.isolatesIngress) {
    return status.ingress.state === 'isolated'
      ? `(already isolated by ${names(status.ingress.denyAll)})`
      : `kubectl netpol isolate ${status.namespace}${nameFlag}`;
  }
  return status.ingress.state === 'isolated'
    ? `kubectl netpol isolate ${status.namespace} --off${nameFlag}`
    : '(not isolated; nothing to do)';
}

function toStatusDocument(status: NamespaceIsolation[], name: string): unknown {
  const direction = (d: DirectionIsolation) => ({
    state: d.state,
    denyAll: d.denyAll.map((p) => p.name),
    policies: d.policies.map((p) => p.name),
    selectedPods: d.selectedPods,
    pods: d.pods,
  });
  return {
    namespaces: status.map((s) => ({
      namespace: s.namespace,
      ingress: direction(s.ingress),
      egress: direction(s.egress),
      ...(s.legacy
        ? { legacy: { annotation: s.legacy.annotation, value: s.legacy.value, equivalent: equivalentCommand(s, name) } }
        : {}),
    })),
  };
}
