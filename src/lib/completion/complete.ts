/**
 * Shell completion: the words of a command line (after `kubectl netpol` or `kubectl-netpol`, the last
 * one being completed, possibly '') -> candidates and a directive, in cobra's `__complete` format,
 * which kubectl (1.26+) reads from `kubectl_complete-netpol` and our own bash/zsh scripts read too.
 * Subcommands, flags and fixed flag values come from the command metadata; namespaces, pods,
 * workloads, Services, label keys and port names from the cluster (or -f files), within deadlines.
 * Anything that fails or is late completes nothing, silently.
 */
import type { V1Pod } from '@kubernetes/client-node';

import { workloadOf } from '../engine/targets.js';
import { parseTargetSpec } from '../target-spec.js';
import type { CompletionData, NamespaceObjects } from './data.js';
import type { ArgSpec, CommandSpec, FlagSpec } from './spec.js';

/** cobra's ShellCompDirective bits, which kubectl passes on to the shell. */
export const DIRECTIVE = {
  /** Fall back to file names when there is no candidate. */
  default: 0,
  error: 1,
  noSpace: 2,
  noFileComp: 4,
  filterFileExt: 8,
  filterDirs: 16,
  keepOrder: 32,
} as const;

/** One candidate, with an optional description shown by shells that can. */
export interface Candidate {
  value: string;
  description?: string;
}

/** The answer to one completion request. */
export interface Completion {
  candidates: Candidate[];
  directive: number;
}

/** Where the names come from, chosen from the flags on the line. */
export interface DataOptions {
  filenames: string[];
  kubeconfig?: string;
  context?: string;
  /** -n on the line: where -f objects that name no namespace go. */
  namespace?: string;
}

/** How to complete. */
interface CompleteOptions {
  /** Builds the data source for the flags on the line (-f files, or the cluster of --kubeconfig/--context). */
  data: (options: DataOptions) => CompletionData;
  /**
   * A last guard for the whole answer, in milliseconds (default 5000): the cluster's own deadline is
   * clusterData's; this one also covers loading the client, the kubeconfig and -f files.
   */
  deadlineMs?: number;
}

/** Flag values that do not complete, but must not fall back to file names either. */
const NOTHING: Completion = { candidates: [], directive: DIRECTIVE.noFileComp };
/** What an error or a late answer completes: nothing, and the shell's default. */
const SILENT: Completion = { candidates: [], directive: DIRECTIVE.default };

/** The command line as far as typed: the command, its positionals, the flags given and what is being completed. */
interface ParsedLine {
  command?: CommandSpec;
  /** The first positional when it names no command. */
  unknownCommand?: string;
  positionals: string[];
  /** Values given per flag name (booleans as 'true'). */
  values: Map<string, string[]>;
  /** The flag whose value is being completed (`-n <TAB>`). */
  pendingFlag?: FlagSpec;
  /** After `--`, every word is positional. */
  isAfterDoubleDash: boolean;
  current: string;
}

/**
 * kubectl's flags (-n, --context, -f, ...), the ones allowed before the subcommand: those every
 * command with flags has (`completion` has none), as one definition (a flag of the same name that
 * means something of its own in each command, as --explain does, is not shared).
 */
function sharedFlags(specs: CommandSpec[]): FlagSpec[] {
  const withFlags = specs.filter((spec) => spec.flags.length > 0);
  if (withFlags.length === 0) return [];
  return withFlags[0].flags.filter((flag) =>
    withFlags.every((spec) =>
      spec.flags.some(
        (other) =>
          other.name === flag.name && other.takesValue === flag.takesValue && other.description === flag.description,
      ),
    ),
  );
}

function findFlag(flags: FlagSpec[], name: string): { flag?: FlagSpec; value?: string } {
  const byName = flags.find((flag) => flag.name === name);
  if (byName) return { flag: byName };
  if (name.startsWith('no-')) {
    const negated = flags.find((flag) => flag.allowsNo && flag.name === name.slice(3));
    if (negated) return { flag: negated, value: 'false' };
  }
  return {};
}

/** Reads the words before the one being completed, as oclif (and kubectl's argv normalisation) would. */
export function parseLine(words: readonly string[], specs: CommandSpec[]): ParsedLine {
  const line: ParsedLine = {
    positionals: [],
    values: new Map(),
    isAfterDoubleDash: false,
    current: words.length === 0 ? '' : words[words.length - 1],
  };
  const record = (flag: FlagSpec, value: string) =>
    line.values.set(flag.name, [...(line.values.get(flag.name) ?? []), value]);
  const flags = () => line.command?.flags ?? sharedFlags(specs);
  const before = words.slice(0, -1);
  for (let i = 0; i < before.length; i++) {
    const word = before[i];
    if (line.isAfterDoubleDash || word === '-' || !word.startsWith('-')) {
      if (line.command || line.unknownCommand !== undefined) line.positionals.push(word);
      else {
        line.command = specs.find((spec) => spec.id === word);
        if (!line.command) line.unknownCommand = word;
      }
      continue;
    }
    if (word === '--') {
      line.isAfterDoubleDash = true;
      continue;
    }
    let flag: FlagSpec | undefined;
    let value: string | undefined;
    if (word.startsWith('--')) {
      const equals = word.indexOf('=');
      const found = findFlag(flags(), word.slice(2, equals === -1 ? undefined : equals));
      flag = found.flag;
      value = equals === -1 ? found.value : word.slice(equals + 1);
    } else {
      flag = flags().find((candidate) => candidate.char === word[1]);
      // -nVALUE and -n=VALUE carry their value; -Aq are two booleans, of which only the first is noted.
      if (flag?.takesValue && word.length > 2) value = word.slice(2).replace(/^=/, '');
    }
    if (!flag) continue;
    if (!flag.takesValue) record(flag, value ?? 'true');
    else if (value !== undefined) record(flag, value);
    else if (i + 1 < before.length) record(flag, before[++i]);
    else line.pendingFlag = flag;
  }
  return line;
}

/** Completes the last word of `words`. Never throws: failures complete nothing. */
export async function complete(
  words: readonly string[],
  specs: CommandSpec[],
  options: CompleteOptions,
): Promise<Completion> {
  const line = parseLine(words.length === 0 ? [''] : words, specs);
  if (line.unknownCommand !== undefined) return NOTHING;
  const last = (name: string) => line.values.get(name)?.at(-1);
  const data = options.data({
    // diff's -f is the change: its world is --base's files, else the cluster.
    filenames: line.values.get(line.command?.id === 'diff' ? 'base' : 'filename') ?? [],
    kubeconfig: last('kubeconfig'),
    context: last('context'),
    namespace: last('namespace'),
  });
  const lookup: Lookup = {
    data,
    namespace: async () => last('namespace') ?? (await data.defaultNamespace()),
    isAllNamespaces: last('all-namespaces') === 'true',
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Completion>((resolve) => {
    timer = setTimeout(() => resolve(SILENT), options.deadlineMs ?? 5000);
    timer.unref();
  });
  try {
    return await Promise.race([completeLine(line, specs, lookup), deadline]);
  } catch {
    return SILENT;
  } finally {
    clearTimeout(timer);
  }
}

interface Lookup {
  data: CompletionData;
  namespace(): Promise<string>;
  isAllNamespaces: boolean;
}

async function completeLine(line: ParsedLine, specs: CommandSpec[], lookup: Lookup): Promise<Completion> {
  const { current } = line;
  if (line.pendingFlag) return completeFlagValue(line, line.pendingFlag, current, lookup);
  if (!line.isAfterDoubleDash && current.startsWith('--') && current.includes('=')) {
    const equals = current.indexOf('=');
    const { flag } = findFlag(line.command?.flags ?? sharedFlags(specs), current.slice(2, equals));
    // cobra's convention: values without the `--flag=` prefix, which the shell scripts strip from the word.
    return flag?.takesValue ? completeFlagValue(line, flag, current.slice(equals + 1), lookup) : NOTHING;
  }
  if (!line.isAfterDoubleDash && current.startsWith('-')) return completeFlagNames(line, specs, current);
  if (!line.command) {
    return done(
      specs.map((spec) => ({ value: spec.id, description: spec.description })),
      current,
    );
  }
  const args = line.command.args;
  const index = line.positionals.length;
  const arg = index < args.length ? args[index] : line.command.isVariadic ? args.at(-1) : undefined;
  if (!arg) return NOTHING;
  return completeArg(line, line.command, arg, current, lookup);
}

/** Keeps the candidates that start with what is typed, sorted, without duplicates. */
function done(candidates: Candidate[], prefix: string, directive: number = DIRECTIVE.noFileComp): Completion {
  const seen = new Set<string>();
  const kept = candidates
    .filter(
      (candidate) => candidate.value.startsWith(prefix) && !seen.has(candidate.value) && seen.add(candidate.value),
    )
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return { candidates: kept, directive };
}

function completeFlagNames(line: ParsedLine, specs: CommandSpec[], current: string): Completion {
  const flags = line.command?.flags ?? sharedFlags(specs);
  const candidates: Candidate[] = [];
  for (const flag of flags) {
    // A flag already given is offered again only when it is repeatable, as cobra does.
    if (line.values.has(flag.name) && !flag.isMultiple) continue;
    const description = flag.description || undefined;
    candidates.push({ value: `--${flag.name}`, description });
    if (flag.allowsNo) candidates.push({ value: `--no-${flag.name}`, description });
    if (flag.char && current.length <= 2 && !current.startsWith('--'))
      candidates.push({ value: `-${flag.char}`, description });
  }
  return done(candidates, current);
}

async function completeFlagValue(
  line: ParsedLine,
  flag: FlagSpec,
  current: string,
  lookup: Lookup,
): Promise<Completion> {
  if (flag.options)
    return done(
      flag.options.map((value) => ({ value })),
      current,
    );
  const command = line.command?.id;
  switch (flag.name) {
    case 'namespace':
      return done(await namespaceCandidates(lookup), current);
    case 'base':
    case 'filename':
    case 'kubeconfig':
    case 'import':
      return { candidates: [], directive: DIRECTIVE.default };
    case 'selector':
      return done(labelCandidates(await objectsFor(lookup), current), current);
    case 'from':
      if (command === 'who-can') return targetCandidates(current, lookup, subjectNamespace(line));
      return done(labelCandidates(await objectsFor(lookup), current), current);
    case 'to':
      if (command === 'reachable-from') return targetCandidates(current, lookup, subjectNamespace(line));
      return done(labelCandidates(await objectsFor(lookup), current), current);
    case 'port':
      return done(portCandidates((await objectsFor(lookup)).pods), current);
    default:
      return NOTHING;
  }
}

async function completeArg(
  line: ParsedLine,
  command: CommandSpec,
  arg: ArgSpec,
  current: string,
  lookup: Lookup,
): Promise<Completion> {
  if (arg.options)
    return done(
      arg.options.map((value) => ({ value })),
      current,
    );
  if (command.id === 'who-can' && arg.name === 'target') return targetCandidates(current, lookup);
  if (command.id === 'reachable-from' && arg.name === 'source') return targetCandidates(current, lookup);
  if (arg.name === 'namespaces' || arg.name === 'namespace') {
    const given = new Set(line.positionals);
    return done(
      (await namespaceCandidates(lookup)).filter((candidate) => !given.has(candidate.value)),
      current,
    );
  }
  return NOTHING;
}

async function namespaceCandidates(lookup: Lookup): Promise<Candidate[]> {
  return (await lookup.data.namespaces()).map((value) => ({ value }));
}

/** Pods and Services of the namespace asked about (every namespace with -A). */
async function objectsFor(lookup: Lookup): Promise<NamespaceObjects> {
  return lookup.data.objects(lookup.isAllNamespaces ? undefined : await lookup.namespace());
}

/**
 * who-can's TARGET and --from, reachable-from's SOURCE and --to: workloads (`deployment/api`, with their pod count), pods by name, and
 * `service/NAME`, in the namespace (--from and --to: the subject's, when it names one). `NAMESPACE/...`
 * completes in that namespace (--from and --to accept it).
 */
async function targetCandidates(current: string, lookup: Lookup, near?: string): Promise<Completion> {
  const slash = current.indexOf('/');
  const first = slash === -1 ? '' : current.slice(0, slash);
  const namespaces = slash === -1 || TARGET_KINDS.has(first.toLowerCase()) ? [] : await lookup.data.namespaces();
  if (namespaces.includes(first)) {
    const candidates = targetsIn(await lookup.data.objects(first)).map((candidate) => ({
      ...candidate,
      value: `${first}/${candidate.value}`,
    }));
    return done(candidates, current);
  }
  return done(targetsIn(await lookup.data.objects(near ?? (await lookup.namespace()))), current);
}

/** The namespace the subject argument names (`x/b`, `x/deployment/b`): --from and --to default to it. */
function subjectNamespace(line: ParsedLine): string | undefined {
  const [subject] = line.positionals;
  if (subject === undefined) return undefined;
  try {
    return parseTargetSpec(subject, 'TARGET').namespace;
  } catch {
    return undefined;
  }
}

/** Kinds TARGET may start with (target-spec.ts accepts these and their short and plural names). */
const TARGET_KINDS = new Set([
  'po',
  'pod',
  'pods',
  'svc',
  'service',
  'services',
  'deploy',
  'deployment',
  'deployments',
  'sts',
  'statefulset',
  'statefulsets',
  'ds',
  'daemonset',
  'daemonsets',
  'rs',
  'replicaset',
  'replicasets',
  'rc',
  'replicationcontroller',
  'replicationcontrollers',
  'job',
  'jobs',
  'cj',
  'cronjob',
  'cronjobs',
]);

function targetsIn(objects: NamespaceObjects): Candidate[] {
  const workloads = new Map<string, number>();
  const candidates: Candidate[] = [];
  for (const pod of objects.pods) {
    const name = pod.metadata?.name ?? '';
    const owner = workloadOf(pod);
    if (owner.kind === 'Pod') {
      candidates.push({ value: name, description: 'pod' });
      continue;
    }
    const workload = `${owner.kind.toLowerCase()}/${owner.name}`;
    workloads.set(workload, (workloads.get(workload) ?? 0) + 1);
    candidates.push({ value: name, description: `pod of ${workload}` });
  }
  for (const [workload, pods] of workloads) {
    candidates.push({ value: workload, description: `${pods} ${pods === 1 ? 'pod' : 'pods'}` });
  }
  for (const service of objects.services) {
    candidates.push({ value: `service/${service.metadata?.name ?? ''}`, description: 'service' });
  }
  return candidates.filter((candidate) => !candidate.value.endsWith('/') && candidate.value !== '');
}

/**
 * -l and allow's PEER selectors: label keys of the pods; after `key=`, that key's values. A selector
 * is a comma-separated list, so only the last requirement is completed and the rest is kept.
 */
function labelCandidates(objects: NamespaceObjects, current: string): Candidate[] {
  const comma = current.lastIndexOf(',');
  const head = current.slice(0, comma + 1);
  const requirement = current.slice(comma + 1);
  const equals = requirement.indexOf('=');
  const labels = objects.pods.map((pod) => pod.metadata?.labels ?? {});
  if (equals === -1) {
    const keys = new Set(labels.flatMap((set) => Object.keys(set)));
    return [...keys].map((key) => ({ value: `${head}${key}` }));
  }
  const key = requirement.slice(0, equals);
  const operator = requirement.slice(equals).startsWith('==') ? '==' : '=';
  const values = new Set(labels.flatMap((set) => (key in set ? [set[key]] : [])));
  return [...values].map((value) => ({ value: `${head}${key}${operator}${value}` }));
}

/** --port: container port names and numbers of the pods. */
function portCandidates(pods: V1Pod[]): Candidate[] {
  const candidates: Candidate[] = [];
  for (const pod of pods) {
    for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      for (const port of container.ports ?? []) {
        const number = `${port.containerPort}/${port.protocol ?? 'TCP'}`;
        candidates.push({ value: number, description: port.name });
        if (port.name) candidates.push({ value: port.name, description: number });
      }
    }
  }
  return candidates;
}

/** The `__complete` output: one candidate per line (`value<TAB>description`), then `:<directive>`. */
export function formatCompletion(completion: Completion): string {
  const lines = completion.candidates.map((candidate) =>
    candidate.description ? `${candidate.value}\t${candidate.description.replace(/[\t\n]+/g, ' ')}` : candidate.value,
  );
  return [...lines, `:${completion.directive}`].join('\n') + '\n';
}
