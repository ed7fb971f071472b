import { Flags } from '@oclif/core';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import { loadManifests } from '../lib/cluster/files.js';
import { asNoAnswer, DeniedResult, UsageError } from '../lib/errors.js';
import { formatDiff, toDiffDocument } from '../lib/output/diff.js';
import { renderDocument } from '../lib/output/render.js';
import { DIFF_SCOPE, planDiff, type DiffResult } from '../lib/services/diff.js';

/** The -o values diff prints. */
const DIFF_OUTPUTS = ['table', 'json', 'yaml'] as const;

/** How --delete may name a NetworkPolicy, as kubectl takes it. */
const POLICY_RESOURCE = /^(networkpolicy|networkpolicies|netpol|networkpolicy\.networking\.k8s\.io)\/(.+)$/i;

/** The request as the flags describe it, checked before anything is read. */
interface DiffOptions {
  files: string[];
  base: string[];
  /** Names of the policies --delete removes, in the namespace. */
  deletes: string[];
  output: (typeof DIFF_OUTPUTS)[number];
}

export default class Diff extends BaseCommand {
  static override description =
    'show which connections a change of NetworkPolicies would open and close, before it is applied (exit status 1 when some do)';

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
  ];

  static override flags = {
    filename: Flags.string({
      char: 'f',
      description:
        'Filename, directory, or - (stdin) of the NetworkPolicies to apply: each replaces the policy of the same namespace and name, or is added; repeatable.',
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
    output: Flags.option({
      char: 'o',
      default: 'table',
      description: 'Output format. One of: (table, json, yaml).',
      options: DIFF_OUTPUTS,
    })(),
    // Filters as who-can's come later: refused rather than ignored, and left out of the help.
    'all-namespaces': { ...BaseCommand.baseFlags['all-namespaces'], hidden: true },
    'no-headers': { ...BaseCommand.baseFlags['no-headers'], hidden: true },
    selector: { ...BaseCommand.baseFlags.selector, hidden: true },
  };

  static override usage = [
    '-f PATH... [--base PATH...] [--delete networkpolicy/NAME]... [-n NAMESPACE] [-o table|json|yaml]',
  ];

  /** Set once the flags are understood: from then on a failure exits 3, never 1 (which means "changes"). */
  private isParsed = false;

  async run(): Promise<DiffResult> {
    const { flags } = await this.parse(Diff);
    const options = optionsOf(flags);
    this.isParsed = true;
    const source = await this.openSource({ ...flags, filename: options.base });
    const change =
      options.files.length > 0
        ? await loadManifests(options.files, { defaultNamespace: source.namespace })
        : { snapshot: { namespaces: [], pods: [], policies: [], services: [], workloads: [] }, warnings: [] };
    const before = await source.load(DIFF_SCOPE);
    this.warnAll([...before.warnings, ...change.warnings]);
    const deletes = options.deletes.map((name) => ({ namespace: source.namespace, name }));
    const result = planDiff(before.snapshot, change.snapshot, deletes);
    this.warnAll(result.warnings.map((w) => w.message));
    this.print(
      options.output === 'table' ? formatDiff(result) : renderDocument(toDiffDocument(result), options.output),
    );
    if (result.hasChanges) throw new DeniedResult('the change opens or closes connections');
    return result;
  }

  /** Exit 1 means "changes": a failure to compare exits 3 (usage errors stay 2): docs/errors.md. */
  override async catch(error: Error): Promise<void> {
    return super.catch(this.isParsed ? asNoAnswer(error) : error);
  }
}

/** Every flag checked before anything is read: usage errors never wait for the cluster. */
function optionsOf(flags: FlagsOf<typeof Diff>): DiffOptions {
  for (const name of ['all-namespaces', 'selector', 'no-headers'] as const) {
    if (flags[name]) throw new UsageError(`--${name} does not apply to diff (yet): it compares every connection`);
  }
  const files = flags.filename ?? [];
  const base = flags.base ?? [];
  const deletes = (flags.delete ?? []).map(parseDelete);
  if (files.length === 0 && deletes.length === 0) {
    throw new UsageError('diff needs the change: -f PATH, or --delete networkpolicy/NAME', 'see --help for usage');
  }
  if (files.includes('-') && base.includes('-')) {
    throw new UsageError('-f - and --base - cannot both read stdin', 'save one of them to a file');
  }
  return { files, base, deletes, output: flags.output };
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
