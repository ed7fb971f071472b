import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { Args, Flags } from '@oclif/core';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import { readPolicyFile } from '../lib/cluster/import-policy.js';
import { contextNamespace } from '../lib/cluster/kubeconfig-files.js';
import { compileWorld } from '../lib/engine/compile.js';
import type { ClusterSnapshot } from '../lib/engine/model.js';
import { previewPolicy, type PolicyPreview } from '../lib/engine/preview.js';
import { deriveName } from '../lib/engine/synthesize.js';
import { NetpolError, UsageError } from '../lib/errors.js';
import { formatChangeTable, formatFinding, formatTierFinding, formatTrap } from '../lib/output/allow.js';
import { describePolicy } from '../lib/output/describe.js';
import { renderDocument } from '../lib/output/render.js';
import { formatOutcomes, outcomeNotices } from '../lib/output/write.js';
import { toManifest } from '../lib/cluster/policy-shape.js';
import { nonCanonicalCidrWarnings } from '../lib/peer-syntax.js';
import { promptAllow } from '../lib/prompts/allow.js';
import {
  allowPolicy,
  checkExisting,
  checkPolicyName,
  isComplete,
  missingSides,
  parseAllowFlags,
  requirePolicyNamespace,
  specOf,
  withAnswers,
  withIdentity,
  type AllowOptions,
} from '../lib/services/allow.js';
import { writePolicies, type WriteOutcome } from '../lib/write.js';
import { parseWriteFlags, writeFlags, type WriteSettings } from '../lib/write-flags.js';

/** What allow did (or, in a dry run, would do). */
export interface AllowResult {
  policy: V1NetworkPolicy;
  /** The policy's meaning, one line per rule. */
  meaning: string[];
  /** Undefined for a conversion without a cluster (`--import FILE --dry-run=client` without -f). */
  preview?: PolicyPreview;
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
    explain: Flags.boolean({
      description: 'list every group of connections the policy opens or cuts (default: the largest few)',
    }),
    from: Flags.string({
      description:
        "the source PEER: SELECTOR, '*', SELECTOR@NAMESPACES, @NAMESPACES, @*, CIDR[!EXCEPT,...]; repeatable (OR). With --egress, one pod selector",
      multiple: true,
      multipleNonGreedy: true,
    }),
    import: Flags.string({
      description:
        'read the policy from FILE (net.alpha.kubernetes.io/v1alpha1, also without apiVersion as the 2016 request body; extensions/v1beta1 or networking.k8s.io/v1) instead of --from/--to; with --dry-run=client and no --filename, a conversion that needs no cluster',
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

  static override usage = [
    '[NAME] --from PEER... --to PEER... [--port PORT...] [--egress] [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
    '[NAME] --import FILE [--dry-run=none|client|server] [-o json|yaml|name] [-y] [--overwrite] [--field-manager NAME] [-n NAMESPACE] [-f PATH...]',
  ];

  async run(): Promise<AllowResult> {
    const { args, flags } = await this.parse(Allow);
    const settings = parseWriteFlags(flags);
    const interactive = this.isInteractive() && settings.output === undefined;
    const options = optionsOf(args.name, flags, settings, interactive);
    const imported = options.importFile === undefined ? undefined : await readPolicyFile(options.importFile);
    if (imported && settings.dryRun === 'client' && flags.filename === undefined) {
      return this.convert(imported, args.name, flags, settings);
    }
    const source = await this.openSource(flags);
    const loaded = await source.load({});
    this.warnAll(loaded.warnings);
    const { snapshot } = loaded;
    const namespace = flags.namespace ?? imported?.metadata?.namespace ?? source.namespace;
    let policy: V1NetworkPolicy;
    if (imported) policy = withIdentity(imported, args.name ?? imported.metadata?.name, namespace, options.importFile!);
    else if (isComplete(options)) policy = allowPolicy(specOf(options, namespace), options.name);
    else {
      const asked = await this.ask(options, snapshot, namespace, source.isNamespaceExplicit);
      policy = allowPolicy(specOf(asked.options, asked.namespace), asked.options.name);
    }
    requirePolicyNamespace(snapshot, policy.metadata!.namespace!);
    const existing = checkExisting(policy, snapshot, settings);
    // Written as given (the user decides), but said: the API server only warns too.
    this.warnAll(nonCanonicalCidrWarnings(policy));
    const preview = previewPolicy(snapshot, policy);
    const meaning = describePolicy(policy);
    this.show(policy, meaning, preview, interactive, flags.explain);
    if (existing) {
      this.print(formatOutcomes([existing], settings.output, settings.dryRun));
      return { policy: toManifest(policy), meaning, preview, outcomes: [existing] };
    }
    await this.confirm(policy, preview, settings, interactive);
    const target = source.cluster ? { api: source.cluster.api, settings } : { existing: snapshot.policies, settings };
    const outcomes = await writePolicies([{ action: 'apply', policy }], target);
    this.warnAll(outcomeNotices(outcomes));
    this.print(formatOutcomes(outcomes, settings.output, settings.dryRun));
    return { policy: toManifest(policy), meaning, preview, outcomes };
  }

  /**
   * `--import FILE --dry-run=client` without -f: the file's policy as v1, and nothing else. No cluster
   * is asked, so nothing is previewed and no kubeconfig is needed; the namespace is -n, else the
   * file's, else the kubeconfig context's when one is readable, else `default`.
   */
  private async convert(
    imported: V1NetworkPolicy,
    name: string | undefined,
    flags: FlagsOf<typeof Allow>,
    settings: WriteSettings,
  ): Promise<AllowResult> {
    const file = flags.import!;
    const namespace =
      flags.namespace ?? imported.metadata?.namespace ?? (await contextNamespace(flags, process.env)) ?? 'default';
    const policy = withIdentity(imported, name ?? imported.metadata?.name, namespace, file);
    this.warnAll(nonCanonicalCidrWarnings(policy));
    const meaning = describePolicy(policy);
    this.report(meaning.join('\n') + '\n');
    this.report(
      'Not previewed: converted without a cluster (add --filename PATH, or use --dry-run=server, to see which connections it opens and cuts).\n',
    );
    const outcomes = await writePolicies([{ action: 'apply', policy }], { existing: [], settings });
    this.print(formatOutcomes(outcomes, settings.output, settings.dryRun));
    return { policy: toManifest(policy), meaning, outcomes };
  }

  /** Asks on a terminal for what the flags left out, with choices from the pods there are. */
  private async ask(
    options: AllowOptions,
    snapshot: ClusterSnapshot,
    namespace: string,
    isNamespaceExplicit: boolean,
  ): Promise<{ options: AllowOptions; namespace: string }> {
    try {
      const answers = await promptAllow(await this.prompter(), {
        world: compileWorld(snapshot),
        direction: options.direction,
        namespace,
        isNamespaceExplicit,
        subject: options.subject?.text,
        peers: options.peers.map((p) => p.text),
        ports: options.ports?.map((p) => p.text),
        name: options.name,
        deriveName: (answers) => deriveName(specOf(withAnswers(options, answers), answers.namespace)),
      });
      return { options: withAnswers(options, answers), namespace: answers.namespace };
    } catch (error) {
      throw cancelled(error);
    }
  }

  /** The policy and what it changes, on stderr (stdout is the result, as for isolate): the YAML on a terminal, the meaning, the change table, warnings. */
  private show(
    policy: V1NetworkPolicy,
    meaning: string[],
    preview: PolicyPreview,
    interactive: boolean,
    explain: boolean,
  ): void {
    const yaml = interactive ? renderDocument(toManifest(policy), 'yaml') + '\n' : '';
    this.report(yaml + meaning.join('\n') + '\n' + formatChangeTable(preview, { explain }));
    this.warnAll([
      ...preview.traps.map(formatTrap),
      ...preview.findings.map(formatFinding),
      ...preview.tierFindings.flatMap(formatTierFinding),
    ]);
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
    const cuts = preview.diff.cut.length + preview.diff.cutAddresses.length;
    if (interactive) {
      let isConfirmed: boolean;
      try {
        const prompts = await this.prompter();
        isConfirmed = await prompts.confirm({ message: `Create ${what}?`, default: cuts === 0 });
      } catch (error) {
        throw cancelled(error);
      }
      if (!isConfirmed) throw new NetpolError('cancelled: nothing was written', 1);
      return;
    }
    if (cuts > 0) {
      throw new UsageError(
        `${what} would cut ${cuts} connection(s) allowed today; pass --yes to write it anyway`,
        'see which ones with --dry-run=client',
      );
    }
  }
}

/** The flags, checked and parsed once before anything is loaded: usage errors never wait for the cluster. */
function optionsOf(
  name: string | undefined,
  flags: FlagsOf<typeof Allow>,
  settings: WriteSettings,
  interactive: boolean,
): AllowOptions {
  checkPolicyName(name);
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
  const withImport = (['from', 'to', 'port', 'egress'] as const).filter(
    (flag) => flags[flag] !== undefined && flags[flag] !== false,
  );
  if (flags.import !== undefined && withImport.length > 0) {
    const names = withImport.map((flag) => `--${flag}`);
    throw new UsageError(
      `--import reads the whole policy from ${flags.import} and cannot be combined with ${names.join(' or ')}`,
      'build the policy from the file (--import FILE) or from --from, --to and --port, not both',
    );
  }
  const options = parseAllowFlags({ ...flags, name });
  if (options.importFile === undefined && !interactive && !isComplete(options)) throw missingSides(options);
  return options;
}

/** Ctrl-C in a prompt: nothing written, exit 1. */
function cancelled(error: unknown): unknown {
  if (error instanceof Error && error.name === 'ExitPromptError')
    return new NetpolError('cancelled: nothing was written', 1);
  return error;
}
