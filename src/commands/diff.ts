import type { V1LabelSelector } from '@kubernetes/client-node';
import { Args, Flags } from '@oclif/core';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import { loadManifests } from '../lib/cluster/files.js';
import { asNoAnswer, DeniedResult, UsageError } from '../lib/errors.js';
import { DIFF_FORMATS, renderDiff, type DiffFormat } from '../lib/output/diff.js';
import { parsePortText, type PortText } from '../lib/peer-syntax.js';
import { parseSelectorFlag } from '../lib/reach-command.js';
import { diffScope, planDiff, type DiffResult } from '../lib/services/diff.js';
import type { AddressText, TargetText } from '../lib/target-spec.js';
import { completeTarget, parseSourceSpec, parseTargetSpec } from '../lib/target-spec.js';

/** How --delete may name a NetworkPolicy, as kubectl takes it. */
const POLICY_RESOURCE = /^(networkpolicy|networkpolicies|netpol|networkpolicy\.networking\.k8s\.io)\/(.+)$/i;

/** The request as the flags describe it, checked before anything is read. */
interface DiffOptions {
  files: string[];
  base: string[];
  /** Names of the policies --delete removes, in the namespace. */
  deletes: string[];
  prune: boolean;
  target?: TargetText;
  selector?: V1LabelSelector;
  allNamespaces: boolean;
  from?: TargetText | AddressText;
  port?: PortText;
  output: DiffFormat;
  noHeaders: boolean;
}

export default class Diff extends BaseCommand {
  static override args = {
    target: Args.string({
      description:
        'only connections to these pods: NAME or pod/NAME, a workload (deployment/NAME, ...), or service/NAME, in --namespace; default: every pod, and addresses outside the cluster',
      // `-f -` reads manifests from stdin: oclif must not take piped stdin as this argument.
      ignoreStdin: true,
    }),
  };

  static override description =
    'show which connections applying manifests would open and close, before they are applied (exit status 1 when some do)';

  static override examples = [
    {
      command: 'kubectl netpol diff --filename examples/shop-change --namespace api',
      description:
        'What `kubectl apply --filename examples/shop-change --namespace api` would open and close in the cluster',
    },
    {
      command: 'kubectl netpol diff --base examples/shop --filename examples/shop-change --namespace api',
      description: 'Offline, for CI on a repository: the before-world from files too',
    },
    {
      command:
        'kubectl netpol diff --base examples/shop --delete networkpolicy/default-deny --namespace api --output json',
      description:
        'What removing a policy would change, as JSON (nothing here: other policies isolate every api pod, exit status 0)',
    },
    {
      command: 'kubectl netpol diff --base examples/shop --filename examples/shop --prune --output markdown',
      description:
        'A directory that is the whole after-world of the namespaces it covers (what it lacks is deleted, as `kubectl apply --prune`), as a pull-request comment',
    },
    {
      command:
        'kubectl netpol diff deployment/api --namespace api --from web/deployment/frontend --port 9090 --base examples/shop --filename examples/shop-change',
      description: 'Only what changes for the frontend reaching the api pods on 9090/TCP',
    },
  ];

  static override flags = {
    filename: Flags.string({
      char: 'f',
      description:
        'Filename, directory, or - (stdin) of the manifests to apply: each object (NetworkPolicy, Pod, workload, Namespace) replaces the one of the same kind, namespace and name, or is added; repeatable.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    base: Flags.string({
      description:
        'Filename, directory, or - (stdin) of manifests to take the before-world from instead of the live cluster; repeatable.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    delete: Flags.string({
      description: 'networkpolicy/NAME (in --namespace) to remove in the after-world; repeatable.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    from: Flags.string({
      description:
        'only connections from this source: NAME or NAMESPACE/NAME (a pod), [NAMESPACE/]KIND/NAME, in the target namespace unless given, or an address block (CIDR)',
    }),
    output: Flags.option({
      char: 'o',
      default: 'table',
      description:
        'Output format. One of: (table, json, yaml, markdown, dot, mermaid); markdown is for a pull-request comment, dot and mermaid draw what opens (green) and closes (red, dashed).',
      options: DIFF_FORMATS,
    })(),
    port: Flags.string({
      description:
        'only this port: PORT[/PROTOCOL], a number or a port name (it names a port of each destination pod), protocol TCP (default), UDP or SCTP',
    }),
    prune: Flags.boolean({
      dependsOn: ['filename'],
      description:
        'The -f files are the whole after-world of the namespaces they cover: their pods, workloads and NetworkPolicies that the files lack are deleted, as `kubectl apply --prune`.',
    }),
  };

  static override usage = [
    'diff [TARGET] -f PATH... [--base PATH...] [--prune] [--delete networkpolicy/NAME]... [-n NAMESPACE | -A] [-l SELECTOR] [--from SOURCE] [--port PORT] [-o table|json|yaml|markdown|dot|mermaid]',
  ];

  /** Set once the flags are understood: from then on a failure exits 3, never 1 (which means "changes"). */
  private isParsed = false;

  async run(): Promise<DiffResult> {
    const { args, flags } = await this.parse(Diff);
    const options = optionsOf(args.target, flags);
    this.isParsed = true;
    const source = await this.openSource({ ...flags, filename: options.base });
    const target = options.target && completeTarget(options.target, source.namespace);
    const near = target?.namespace ?? source.namespace;
    const change =
      options.files.length > 0
        ? await loadManifests(options.files, { defaultNamespace: source.namespace })
        : { snapshot: { namespaces: [], pods: [], policies: [], services: [], workloads: [] }, warnings: [] };
    const before = await source.load(diffScope(change.snapshot));
    this.warnAll([...before.warnings, ...change.warnings]);
    const result = planDiff(before.snapshot, change.snapshot, {
      deletes: options.deletes.map((name) => ({ namespace: source.namespace, name })),
      prune: options.prune,
      impliedNamespaces: change.impliedNamespaces,
      target,
      selector: options.selector,
      namespaces: options.allNamespaces ? undefined : [source.namespace],
      from: options.from && (options.from.kind === 'address' ? options.from : completeTarget(options.from, near)),
      port: options.port,
    });
    this.warnAll(result.warnings.map((w) => w.message));
    this.print(renderDiff(result, options.output, { noHeaders: options.noHeaders }));
    if (result.hasChanges) throw new DeniedResult('the change opens or closes connections');
    return result;
  }

  /** Exit 1 means "changes": a failure to compare exits 3 (usage errors stay 2): docs/errors.md. */
  override async catch(error: Error): Promise<void> {
    return super.catch(this.isParsed ? asNoAnswer(error) : error);
  }
}

/** Every flag checked before anything is read: usage errors never wait for the cluster. */
function optionsOf(targetText: string | undefined, flags: FlagsOf<typeof Diff>): DiffOptions {
  const files = flags.filename ?? [];
  const base = flags.base ?? [];
  const deletes = (flags.delete ?? []).map(parseDelete);
  if (files.length === 0 && deletes.length === 0) {
    throw new UsageError('diff needs the change: -f PATH, or --delete networkpolicy/NAME', 'see --help for usage');
  }
  if (files.includes('-') && base.includes('-')) {
    throw new UsageError('-f - and --base - cannot both read stdin', 'save one of them to a file');
  }
  if (targetText !== undefined && flags.selector !== undefined) {
    throw new UsageError('TARGET and --selector cannot be combined', 'name one target, or select pods by label');
  }
  if (targetText !== undefined && flags['all-namespaces']) {
    throw new UsageError(
      'a resource cannot be retrieved by name across all namespaces',
      'drop --all-namespaces, or name the namespace with --namespace',
    );
  }
  return {
    files,
    base,
    deletes,
    prune: flags.prune,
    target: targetText === undefined ? undefined : parseTargetSpec(targetText, 'TARGET'),
    selector: flags.selector === undefined ? undefined : parseSelectorFlag(flags.selector),
    allNamespaces: flags['all-namespaces'],
    from: flags.from === undefined ? undefined : parseSourceSpec(flags.from, '--from'),
    port: flags.port === undefined ? undefined : parsePortText(flags.port, { isRangeAllowed: false }),
    output: flags.output,
    noHeaders: flags['no-headers'],
  };
}

function parseDelete(text: string): string {
  const match = POLICY_RESOURCE.exec(text);
  if (!match || match[2].includes('/')) {
    throw new UsageError(
      `invalid value "${text}" for --delete: name a NetworkPolicy as networkpolicy/NAME`,
      'its namespace is --namespace',
    );
  }
  return match[2];
}
