import { readFile } from 'node:fs/promises';

import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { Args, Flags } from '@oclif/core';
import { parseAllDocuments } from 'yaml';

import { BaseCommand, type BaseFlags } from '../lib/base-command.js';
import type { ClusterConnection, LiveOptions } from '../lib/cluster/types.js';
import type { ClusterSnapshot, Direction } from '../lib/engine/model.js';
import {
  buildAllowPolicy,
  deriveName,
  describePolicy,
  previewPolicy,
  translatePolicy,
  TranslationError,
  type AllowSpec,
  type PolicyPreview,
} from '../lib/engine/synthesize.js';
import { validatePolicy } from '../lib/engine/validate.js';
import { ManifestError, NetpolError, UsageError } from '../lib/errors.js';
import { formatChangeTable, formatFinding } from '../lib/output/allow.js';
import { renderDocument } from '../lib/output/render.js';
import { nonCanonicalCidrWarnings, parsePeer, parsePort, parseSubject } from '../lib/peer-syntax.js';
import { isPolicyName, promptAllow, type AllowAnswers, type PromptFunctions } from '../lib/prompts/allow.js';
import {
  formatOutcomes,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  outcomeNotices,
  parseWriteFlags,
  toManifest,
  writeFlags,
  writePolicies,
  type WriteOutcome,
  type WriteSettings,
} from '../lib/write.js';

/** The flags of allow as parsed. */
type AllowFlags = Omit<BaseFlags, 'output'> & {
  'dry-run': string;
  egress: boolean;
  'field-manager': string;
  from?: string[];
  import?: string;
  output?: string;
  overwrite: boolean;
  port?: string[];
  to?: string[];
  yes: boolean;
};

/** What allow did (or, in a dry run, would do). */
export interface AllowResult {
  policy: V1NetworkPolicy;
  /** The policy's meaning, one line per rule. */
  meaning: string[];
  preview: PolicyPreview;
  outcomes: WriteOutcome[];
}

export default class Allow extends BaseCommand {
  static override args = {
    name: Args.string({
      description:
        'name of the NetworkPolicy; default: derived from the selectors and ports (or, with --import, the file)',
      // `-f -` reads manifests from stdin: oclif must not take piped stdin as this argument.
      ignoreStdin: true,
    }),
  };

  static override description =
    'create a NetworkPolicy that allows FROM to reach TO on PORT, showing which connections it opens and cuts first';

  static override examples = [
    {
      command: 'kubectl netpol allow --namespace tenant-a --from segment=frontend --to segment=backend --port 80/TCP',
      description: 'Let the frontend pods reach the backend pods on 80/TCP (an ingress policy on the backend)',
    },
    {
      command:
        "kubectl netpol allow --namespace shop --from 'app=web@tenant-b' --from 10.0.0.0/8 --to app=api --port http",
      description: 'Two peers (OR): web pods of namespace tenant-b, and an address block; port by name',
    },
    {
      command:
        'kubectl netpol allow --egress --namespace tenant-a --from segment=frontend --to @kube-system --port 53/UDP',
      description: 'An egress policy on the frontend pods: they may reach every pod of kube-system on 53/UDP',
    },
    {
      command:
        'kubectl netpol allow --namespace tenant-a --import examples/legacy/pol1.json --dry-run=client --output yaml',
      description: 'Translate a legacy policy (net.alpha v1alpha1, extensions/v1beta1) into networking.k8s.io/v1',
    },
    {
      command: 'kubectl netpol allow --filename examples/seed --dry-run=client',
      description: 'On a terminal: choose namespace, pods, peers and ports from what the pods really carry',
    },
  ];

  static override flags = {
    ...writeFlags,
    // Refused (a policy lives in one namespace, on the pods of --to) or meaningless (no table on
    // stdout): parsed only to say so, and left out of the help.
    'all-namespaces': { ...BaseCommand.baseFlags['all-namespaces'], hidden: true },
    'no-headers': { ...BaseCommand.baseFlags['no-headers'], hidden: true },
    selector: { ...BaseCommand.baseFlags.selector, hidden: true },
    egress: Flags.boolean({
      description: 'write an egress policy on the --from pods (default: an ingress policy on the --to pods)',
    }),
    from: Flags.string({
      description:
        "the source PEER: SELECTOR, '*', SELECTOR@NAMESPACES, @NAMESPACES, @*, CIDR[!EXCEPT,...]; repeatable (OR). With --egress, one pod selector",
      multiple: true,
      multipleNonGreedy: true,
    }),
    import: Flags.string({
      description:
        'read the policy from FILE (net.alpha.kubernetes.io/v1alpha1, extensions/v1beta1 or networking.k8s.io/v1) instead of --from/--to',
      exclusive: ['from', 'to', 'port', 'egress'],
    }),
    port: Flags.string({
      description:
        'PORT: 80, 80/UDP, 8000-9000/TCP, a port name (http), protocol TCP by default; repeatable; default: every port',
      multiple: true,
      multipleNonGreedy: true,
    }),
    to: Flags.string({
      description:
        'the destination: one pod selector in --namespace (the policy is written on them); with --egress, a PEER as for --from, repeatable',
      multiple: true,
      multipleNonGreedy: true,
    }),
  };

  private connection?: ClusterConnection;

  async run(): Promise<AllowResult> {
    const { args, flags } = await this.parse(Allow);
    const settings = parseWriteFlags(flags);
    const interactive = this.isInteractive(settings);
    checkFlags(args.name, flags as AllowFlags, settings, interactive);
    const imported = flags.import === undefined ? undefined : await readImport(flags.import);
    const context = await this.loadSnapshot(flags as unknown as BaseFlags, () => ({}));
    this.warnAll(context.warnings);
    const namespace = flags.namespace ?? imported?.metadata?.namespace ?? context.namespace;
    let policy: V1NetworkPolicy;
    if (imported) policy = withIdentity(imported, args.name ?? imported.metadata?.name, namespace, flags.import!);
    else {
      const answers = await this.complete(
        args.name,
        flags as AllowFlags,
        context.snapshot,
        namespace,
        interactive,
        context.isNamespaceExplicit,
      );
      const spec = toSpec(answers, flags.egress);
      policy = buildAllowPolicy(spec, answers.name ?? deriveName(spec), { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    }
    requireNamespace(context.snapshot, policy.metadata!.namespace!);
    const existing = checkExisting(policy, context.snapshot, settings);
    // Written as given (the user decides), but said: the API server only warns too.
    this.warnAll(nonCanonicalCidrWarnings(policy));
    const preview = previewPolicy(context.snapshot, policy);
    const meaning = describePolicy(policy);
    this.show(policy, meaning, preview, interactive);
    if (existing) return { policy: toManifest(policy), meaning, preview, outcomes: this.unchanged(existing, settings) };
    await this.confirm(policy, preview, settings, interactive);
    const outcomes = await this.write(policy, context.snapshot, settings, flags.filename !== undefined);
    this.warnAll(outcomeNotices(outcomes));
    this.print(formatOutcomes(outcomes, settings.output, settings.dryRun));
    return { policy: toManifest(policy), meaning, preview, outcomes };
  }

  /** Connects once; the snapshot and the write share the connection. */
  protected override async connect(options: LiveOptions): Promise<ClusterConnection> {
    this.connection ??= await this.openCluster(options);
    return this.connection;
  }

  /** The live cluster (client-node loaded lazily); tests return an in-memory one. */
  protected async openCluster(options: LiveOptions): Promise<ClusterConnection> {
    const { connectLive } = await import('../lib/cluster/live.js');
    return connectLive(options);
  }

  /** Whether to prompt: stdin and stdout are terminals and the output is for people. */
  protected isInteractive(settings: WriteSettings): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY) && settings.output === undefined;
  }

  /** The prompt functions: inquirer's, loaded only when prompting, drawn on stderr so stdout stays the result. */
  protected async prompter(): Promise<PromptFunctions> {
    const inquirer = await import('@inquirer/prompts');
    const context = { output: process.stderr };
    return {
      select: (config) => inquirer.select(config, context),
      input: (config) => inquirer.input(config, context),
      confirm: (config) => inquirer.confirm(config, context),
    };
  }

  /** The flags' answers, with what is missing asked on a terminal. */
  private async complete(
    name: string | undefined,
    flags: AllowFlags,
    snapshot: ClusterSnapshot,
    namespace: string,
    interactive: boolean,
    isNamespaceExplicit: boolean,
  ): Promise<AllowAnswers> {
    const direction: Direction = flags.egress ? 'egress' : 'ingress';
    const [subjects, peers] = direction === 'ingress' ? [flags.to, flags.from] : [flags.from, flags.to];
    const given: AllowAnswers = {
      namespace,
      subject: subjects?.[0] ?? '',
      peers: peers ?? [],
      ports: flags.port ?? [],
      name,
    };
    if (subjects?.length && peers?.length) return given;
    if (!interactive) throw missingFlag(flags);
    try {
      return await promptAllow(await this.prompter(), {
        snapshot,
        direction,
        namespace,
        isNamespaceExplicit,
        subject: subjects?.[0],
        peers: peers ?? [],
        ports: flags.port,
        name,
        deriveName: (answers) => deriveName(toSpec(answers, flags.egress)),
      });
    } catch (error) {
      throw cancelled(error);
    }
  }

  /** The policy and what it changes, on stderr (stdout is the result, as for isolate): the YAML on a terminal, the meaning, the change table, warnings. */
  private show(policy: V1NetworkPolicy, meaning: string[], preview: PolicyPreview, interactive: boolean): void {
    const yaml = interactive ? renderDocument(toManifest(policy), 'yaml') + '\n' : '';
    const table = formatChangeTable(preview) || 'No connection between pods changes.\n';
    process.stderr.write(yaml + meaning.join('\n') + '\n' + table);
    this.warnAll(preview.findings.map(formatFinding));
  }

  /** Asks before writing on a terminal; without one, cutting connections needs --yes. */
  private async confirm(
    policy: V1NetworkPolicy,
    preview: PolicyPreview,
    settings: WriteSettings,
    interactive: boolean,
  ): Promise<void> {
    if (settings.dryRun !== 'none' || settings.yes) return;
    const what = `networkpolicy ${policy.metadata?.namespace}/${policy.metadata?.name}`;
    if (interactive) {
      let isConfirmed: boolean;
      try {
        const prompts = await this.prompter();
        isConfirmed = await prompts.confirm({ message: `Create ${what}?`, default: preview.diff.cut.length === 0 });
      } catch (error) {
        throw cancelled(error);
      }
      if (!isConfirmed) throw new NetpolError('cancelled: nothing was written', 1);
      return;
    }
    if (preview.diff.cut.length > 0) {
      throw new UsageError(
        `${what} would cut ${preview.diff.cut.length} connection(s) allowed today; pass --yes to write it anyway`,
        'see which ones with --dry-run=client',
      );
    }
  }

  /** Writes the policy (replacing one of that name only with --overwrite, checked before). */
  private async write(
    policy: V1NetworkPolicy,
    snapshot: ClusterSnapshot,
    settings: WriteSettings,
    isOffline: boolean,
  ): Promise<WriteOutcome[]> {
    const target = isOffline ? { existing: snapshot.policies, settings } : { api: this.connection!.api, settings };
    return writePolicies([{ action: 'apply', policy }], target);
  }

  /** The policy is there as asked: nothing to write, and another tool's policy is left as it is. */
  private unchanged(outcome: WriteOutcome, settings: WriteSettings): WriteOutcome[] {
    this.print(formatOutcomes([outcome], settings.output, settings.dryRun));
    return [outcome];
  }
}

/**
 * A policy of that name already there: the same rules are "unchanged" (returned, nothing to write);
 * other rules are an error unless --overwrite.
 */
function checkExisting(
  policy: V1NetworkPolicy,
  snapshot: ClusterSnapshot,
  settings: WriteSettings,
): WriteOutcome | undefined {
  const namespace = policy.metadata!.namespace!;
  const name = policy.metadata!.name!;
  const existing = snapshot.policies.find(
    (p) => (p.metadata?.namespace ?? 'default') === namespace && p.metadata?.name === name,
  );
  if (!existing) return undefined;
  if (sameSpec(existing, policy)) {
    const previous = toManifest(existing);
    return { namespace, name, verb: 'unchanged', object: toManifest(policy), previous, replacedForeign: false };
  }
  if (settings.overwrite) return undefined;
  const owner = existing.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE ? 'kubectl-netpol' : 'another tool';
  throw new NetpolError(
    `networkpolicy ${namespace}/${name} already exists (created by ${owner}) with other rules; nothing was written`,
    1,
    'choose another NAME, or pass --overwrite to replace it',
  );
}

/** Usage errors that need nothing loaded: flag combinations, and every PEER, PORT and NAME parsed once. */
function checkFlags(name: string | undefined, flags: AllowFlags, settings: WriteSettings, interactive: boolean): void {
  if (name !== undefined && !isPolicyName(name)) {
    throw new UsageError(
      `invalid NAME "${name}": a lowercase DNS subdomain (a-z, 0-9, '-', '.'), at most 253 characters`,
    );
  }
  if (flags['all-namespaces'])
    throw new UsageError('--all-namespaces does not apply to allow', 'name the namespace with --namespace');
  if (flags.selector !== undefined)
    throw new UsageError('--selector does not apply to allow', 'name the pods with --to (or --from with --egress)');
  if (flags.filename && settings.dryRun !== 'client') {
    throw new UsageError(
      'with --filename there is no cluster to write to',
      'add --dry-run=client to see the policy, or drop --filename',
    );
  }
  if (flags.import !== undefined) return;
  const [subjectFlag, peerFlag] = flags.egress ? (['--from', '--to'] as const) : (['--to', '--from'] as const);
  const subjects = (flags.egress ? flags.from : flags.to) ?? [];
  const peers = (flags.egress ? flags.to : flags.from) ?? [];
  if (subjects.length > 1) {
    throw new UsageError(
      `${subjectFlag} takes one pod selector: the policy is written on those pods`,
      flags.egress
        ? 'drop --egress to write an ingress policy on the --to pods instead'
        : 'use --egress to write an egress policy on the --from pods instead',
    );
  }
  for (const s of subjects) parseSubject(s, subjectFlag);
  for (const p of peers) parsePeer(p, peerFlag);
  for (const p of flags.port ?? []) parsePort(p);
  if (!interactive && (subjects.length === 0 || peers.length === 0)) throw missingFlag(flags);
}

function missingFlag(flags: AllowFlags): UsageError {
  const missing = ['--from', '--to'].filter((f) => !(f === '--from' ? flags.from : flags.to)?.length);
  return new UsageError(
    `missing ${missing.join(' and ')}: allow FROM to reach TO needs both`,
    'e.g. --from segment=frontend --to segment=backend; prompts ask for them on a terminal',
  );
}

/** An AllowSpec from answers (flag values), parsed by the PEER and PORT grammar. */
function toSpec(answers: AllowAnswers, egress: boolean): AllowSpec {
  const direction: Direction = egress ? 'egress' : 'ingress';
  const [subjectFlag, peerFlag] = egress ? ['--from', '--to'] : ['--to', '--from'];
  return {
    namespace: answers.namespace,
    direction,
    subject: parseSubject(answers.subject, subjectFlag),
    peers: answers.peers.map((p) => parsePeer(p, peerFlag)),
    ports: answers.ports.map((p) => parsePort(p)),
  };
}

/** Reads and translates an --import file: one NetworkPolicy, YAML or JSON. */
async function readImport(file: string): Promise<V1NetworkPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ManifestError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, file);
  }
  const documents = parseAllDocuments(text).filter((d) => d.contents !== null);
  const broken = documents.find((d) => d.errors.length > 0);
  if (broken) throw new ManifestError(broken.errors[0].message.split('\n')[0], file);
  if (documents.length !== 1)
    throw new ManifestError(`holds ${documents.length} documents; --import reads one NetworkPolicy`, file);
  try {
    return translatePolicy(documents[0].toJS());
  } catch (error) {
    if (error instanceof TranslationError) {
      throw new ManifestError(
        error.message,
        file,
        undefined,
        'write the policy in networking.k8s.io/v1, or drop those fields',
      );
    }
    throw error;
  }
}

/** An imported policy with its name and namespace, labelled as ours; invalid content is an error naming the file. */
function withIdentity(
  policy: V1NetworkPolicy,
  name: string | undefined,
  namespace: string,
  file: string,
): V1NetworkPolicy {
  if (!name) throw new UsageError(`${file} names no policy (metadata.name)`, 'give the name as NAME');
  if (!isPolicyName(name))
    throw new UsageError(`invalid NAME "${name}": a lowercase DNS subdomain, at most 253 characters`);
  const out: V1NetworkPolicy = {
    ...policy,
    metadata: {
      ...policy.metadata,
      name,
      namespace,
      labels: { ...policy.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    },
  };
  const problems = validatePolicy(out);
  if (problems.length > 0) throw new ManifestError(`the API server would reject it: ${problems.join('; ')}`, file);
  return out;
}

function requireNamespace(snapshot: ClusterSnapshot, namespace: string): void {
  if (snapshot.namespaces.some((n) => n.metadata?.name === namespace)) return;
  const names = snapshot.namespaces.map((n) => n.metadata?.name).join(', ');
  throw new NetpolError(
    `namespace "${namespace}" not found`,
    1,
    `use --namespace NAME${names ? `; namespaces: ${names}` : ''}`,
  );
}

/** Whether two policies say the same (spec only: labels and server fields aside). */
function sameSpec(a: V1NetworkPolicy, b: V1NetworkPolicy): boolean {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([x], [y]) => (x < y ? -1 : 1))
              .map(([k, v]) => [k, canonical(v)]),
          )
        : value;
  return JSON.stringify(canonical(toManifest(a).spec)) === JSON.stringify(canonical(toManifest(b).spec));
}

/** Ctrl-C in a prompt: nothing written, exit 1. */
function cancelled(error: unknown): unknown {
  if (error instanceof Error && error.name === 'ExitPromptError')
    return new NetpolError('cancelled: nothing was written', 1);
  return error;
}
