import { readFile } from 'node:fs/promises';

import { Flags } from '@oclif/core';
import { parse as parseYaml } from 'yaml';

import { BaseCommand, type FlagsOf } from '../lib/base-command.js';
import type { FindingId, Severity } from '../lib/engine/audit.js';
import { FINDING_IDS, SEVERITIES } from '../lib/engine/audit.js';
import { asNoAnswer, DeniedResult, ManifestError, UsageError } from '../lib/errors.js';
import { parseExpectations, type Expectation } from '../lib/expectations.js';
import { formatAuditMarkdown, formatAuditSummary, formatAuditTable, toAuditDocument } from '../lib/output/audit.js';
import { renderDocument } from '../lib/output/render.js';
import { toSarifDocument } from '../lib/output/sarif.js';
import { runAudit, type AuditResult, type IgnoredObject } from '../lib/services/audit.js';

/** The -o values audit prints. */
const AUDIT_OUTPUTS = ['table', 'json', 'yaml', 'sarif', 'markdown'] as const;

export default class Audit extends BaseCommand {
  static override description =
    'find what the policies expose, what they leave dead and what is ambiguous, with stable ids for CI (exit status 1 when a finding is at or above --fail-on)';

  static override examples = [
    {
      command: 'kubectl netpol audit --all-namespaces --filename examples/shop --fail-on error',
      description: 'Audit every namespace of a set of manifests; exit status 1 only for errors',
    },
    {
      command: 'kubectl netpol audit --namespace api --fail-on error --output sarif',
      description: 'Audit one namespace of the cluster for a code-scanning dashboard; fail only on errors',
    },
    {
      command:
        'kubectl netpol audit --namespace api --filename examples/shop --expect docs/shop-expectations.yaml --ignore rule-shadowed --output markdown',
      description:
        'Check connectivity expectations in CI (each one that fails is an error), leaving one kind of finding out, as Markdown for a pull request',
    },
  ];

  static override flags = {
    'all-namespaces': BaseCommand.baseFlags['all-namespaces'],
    expect: Flags.string({
      description:
        'YAML or JSON file of connectivity expectations, a list of {from, to, port, allowed} in who-can forms; each one that does not hold is a finding (expectation-violated); repeatable.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'fail-on': Flags.option({
      default: 'warning',
      description: 'Exit with status 1 when a finding is of this severity or above. One of: (info, warning, error).',
      options: SEVERITIES,
    })(),
    ignore: Flags.string({
      description: `Leave out findings of this id, or with ID:NAMESPACE/NAME (ID:NAME for a cluster-scoped object) only those about one object; repeatable. Ids: (${Object.keys(FINDING_IDS).join(', ')}).`,
      multiple: true,
      multipleNonGreedy: true,
    }),
    output: Flags.option({
      char: 'o',
      default: 'table',
      description: 'Output format. One of: (table, json, yaml, sarif, markdown).',
      options: AUDIT_OUTPUTS,
    })(),
    selector: { ...BaseCommand.baseFlags.selector, hidden: true },
  };

  static override usage = [
    '[-n NAMESPACE | -A] [-f PATH]... [--expect FILE]... [--fail-on info|warning|error] [--ignore ID[:NAMESPACE/NAME]]... [-o table|json|yaml|sarif|markdown]',
  ];

  /** Set once the flags are understood: from then on a failure exits 3, never 1 (which means "findings"). */
  private isParsed = false;

  async run(): Promise<AuditResult> {
    const { flags } = await this.parse(Audit);
    const { ids: ignore, objects: ignoreObjects } = ignored(flags);
    this.isParsed = true;
    const expectations = await readExpectations(flags.expect ?? []);
    const source = await this.openSource(flags);
    const loaded = await source.load({});
    this.warnAll(loaded.warnings);
    const result = runAudit(loaded.snapshot, {
      namespace: source.namespace,
      allNamespaces: flags['all-namespaces'],
      failOn: flags['fail-on'] as Severity,
      ignore,
      ignoreObjects,
      expectations,
    });
    this.warnAll(result.warnings.map((w) => w.message));
    const output = flags.output;
    if (output === 'table') {
      this.print(formatAuditTable(result, { noHeaders: flags['no-headers'] }));
      this.report(formatAuditSummary(result));
    } else if (output === 'markdown') this.print(formatAuditMarkdown(result));
    else if (output === 'sarif') {
      const sarif = toSarifDocument(result, { origins: loaded.origins, version: this.config.version });
      this.print(`${JSON.stringify(sarif, null, 2)}\n`);
    } else this.print(renderDocument(toAuditDocument(result), output));
    if (result.failing > 0) {
      throw new DeniedResult(`${result.failing} finding(s) at or above ${flags['fail-on']}`);
    }
    return result;
  }

  /** Exit 1 means "findings": a failure to audit exits 3 (usage errors stay 2), as diff does: docs/errors.md. */
  override async catch(error: Error): Promise<void> {
    return super.catch(this.isParsed ? asNoAnswer(error) : error);
  }
}

/**
 * --ignore's values: an id the catalogue holds (every finding of it), or `ID:NAMESPACE/NAME` (`ID:NAME`
 * for a cluster-scoped object) for its findings about one object; --selector is refused (audit reads
 * whole namespaces).
 */
function ignored(flags: FlagsOf<typeof Audit>): { ids: Set<FindingId>; objects: IgnoredObject[] } {
  if (flags.selector !== undefined)
    throw new UsageError('--selector does not apply to audit: it audits whole namespaces');
  if (flags['all-namespaces'] && flags.namespace !== undefined) {
    throw new UsageError('--namespace and --all-namespaces cannot be combined', 'audit one namespace, or all of them');
  }
  const known = Object.keys(FINDING_IDS);
  const ids = new Set<FindingId>();
  const objects: IgnoredObject[] = [];
  for (const value of flags.ignore ?? []) {
    const colon = value.indexOf(':');
    const id = colon < 0 ? value : value.slice(0, colon);
    if (!known.includes(id)) {
      throw new UsageError(
        `invalid value "${value}" for --ignore: no finding has this id`,
        `the ids are ${known.join(', ')}`,
      );
    }
    if (colon < 0) {
      ids.add(id as FindingId);
      continue;
    }
    const parts = value.slice(colon + 1).split('/');
    if (parts.length > 2 || parts.some((part) => part === '')) {
      throw new UsageError(
        `invalid value "${value}" for --ignore: name the object as NAMESPACE/NAME, or NAME when it is cluster-scoped`,
        `for example --ignore ${id}:web/frontend`,
      );
    }
    const [namespace, name] = parts.length === 2 ? parts : [undefined, parts[0]];
    objects.push({ id: id as FindingId, ...(namespace === undefined ? {} : { namespace }), name });
  }
  return { ids, objects };
}

/** Reads and parses every --expect file (their syntax errors are usage errors, naming the file). */
async function readExpectations(files: string[]): Promise<Expectation[]> {
  const all: Expectation[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ManifestError(
        error.code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${error.message}`,
        file,
        undefined,
        'check the path given to --expect',
      );
    });
    let document: unknown;
    try {
      document = parseYaml(text);
    } catch (error) {
      throw new UsageError(`${file}: invalid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    all.push(...parseExpectations(document, file));
  }
  return all;
}
