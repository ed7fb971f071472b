/**
 * `allow` between the command and the engine: the request as the flags give it (every PEER, PORT and
 * subject parsed once), the policy it makes once the namespace and any prompted answers are known,
 * an imported policy given its identity, and what a policy of the same name already there means.
 */
import { isDeepStrictEqual } from 'node:util';

import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

import { toManifest } from '../cluster/policy-shape.js';
import type { ClusterSnapshot, Direction } from '../engine/model.js';
import { isObjectAt, refOf } from '../engine/model.js';
import type { AllowSpec } from '../engine/synthesize.js';
import { buildAllowPolicy, deriveName } from '../engine/synthesize.js';
import { validatePolicy } from '../engine/validate.js';
import { ManifestError, NamespaceNotFoundError, NetpolError, UsageError } from '../errors.js';
import { parsePeer, parsePort, parseSubject } from '../peer-syntax.js';
import type { AllowAnswers } from '../prompts/allow.js';
import { isPolicyName } from '../prompts/allow.js';
import type { WriteOutcome } from '../write.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../write.js';
import type { WriteSettings } from '../write-flags.js';

/** A value as the user wrote it and as it parses. */
export interface Parsed<T> {
  text: string;
  value: T;
}

/** What the flags say, every value parsed once; the namespace and what prompts add come later. */
export interface AllowOptions {
  name?: string;
  /** `ingress`: a policy on the --to pods; `egress`: on the --from pods. */
  direction: Direction;
  /** The pods the policy is written on (--to, or --from with --egress). */
  subject?: Parsed<V1LabelSelector>;
  /** The other side, one NetworkPolicyPeer each. */
  peers: Parsed<V1NetworkPolicyPeer>[];
  /** Undefined when --port is not given (prompts may ask); empty never. */
  ports?: Parsed<V1NetworkPolicyPort>[];
  /** --import FILE. */
  importFile?: string;
}

/** The flag names of each side, by direction: the subject's and the peers'. */
function sideFlags(direction: Direction): { subject: '--to' | '--from'; peer: '--to' | '--from' } {
  return direction === 'ingress' ? { subject: '--to', peer: '--from' } : { subject: '--from', peer: '--to' };
}

/** NAME must be a valid NetworkPolicy name (checked first: it is the first thing on the line). */
export function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && !isPolicyName(name)) {
    throw new UsageError(
      `invalid NAME "${name}": a lowercase DNS subdomain (a-z, 0-9, '-', '.'), at most 253 characters`,
    );
  }
}

/** Parses the flags' values (PEER, PORT, subject) once; malformed ones are usage errors. */
export function parseAllowFlags(flags: {
  name?: string;
  egress: boolean;
  to?: string[];
  from?: string[];
  port?: string[];
  import?: string;
}): AllowOptions {
  const direction: Direction = flags.egress ? 'egress' : 'ingress';
  if (flags.import !== undefined) return { name: flags.name, direction, peers: [], importFile: flags.import };
  const names = sideFlags(direction);
  const subjects = (flags.egress ? flags.from : flags.to) ?? [];
  const peers = (flags.egress ? flags.to : flags.from) ?? [];
  if (subjects.length > 1) {
    throw new UsageError(
      `${names.subject} takes one pod selector: the policy is written on those pods`,
      flags.egress
        ? 'drop --egress to write an ingress policy on the --to pods instead'
        : 'use --egress to write an egress policy on the --from pods instead',
    );
  }
  return {
    name: flags.name,
    direction,
    subject: subjects.length ? { text: subjects[0], value: parseSubject(subjects[0], names.subject) } : undefined,
    peers: peers.map((text) => ({ text, value: parsePeer(text, names.peer) })),
    ports: flags.port?.map((text) => ({ text, value: parsePort(text) })),
  };
}

/** Whether the flags name both sides, so nothing needs to be asked. */
export function isComplete(options: AllowOptions): boolean {
  return options.subject !== undefined && options.peers.length > 0;
}

/** The usage error for a side left out where nothing can be asked. */
export function missingSides(options: AllowOptions): UsageError {
  const hasSubject = options.subject !== undefined;
  const hasPeers = options.peers.length > 0;
  const given =
    options.direction === 'ingress' ? { from: hasPeers, to: hasSubject } : { from: hasSubject, to: hasPeers };
  const missing = (['from', 'to'] as const).filter((side) => !given[side]).map((side) => `--${side}`);
  return new UsageError(
    `missing ${missing.join(' and ')}: allow FROM to reach TO needs both`,
    'e.g. --from segment=frontend --to segment=backend; prompts ask for them on a terminal',
  );
}

/** The AllowSpec of complete options in a namespace: nothing parsed again. */
export function specOf(options: AllowOptions, namespace: string): AllowSpec {
  return {
    namespace,
    direction: options.direction,
    subject: options.subject!.value,
    peers: options.peers.map((p) => p.value),
    ports: (options.ports ?? []).map((p) => p.value),
  };
}

/** Options completed by the prompts' answers: what the flags gave is kept as parsed, only new answers are parsed. */
export function withAnswers(options: AllowOptions, answers: AllowAnswers): AllowOptions {
  const names = sideFlags(options.direction);
  const same = <T>(given: Parsed<T>[] | undefined, texts: string[]) =>
    given !== undefined && given.length === texts.length && given.every((g, i) => g.text === texts[i]);
  return {
    ...options,
    name: answers.name,
    subject:
      options.subject?.text === answers.subject
        ? options.subject
        : { text: answers.subject, value: parseSubject(answers.subject, names.subject) },
    peers: same(options.peers, answers.peers)
      ? options.peers
      : answers.peers.map((text) => ({ text, value: parsePeer(text, names.peer) })),
    ports: same(options.ports, answers.ports)
      ? options.ports
      : answers.ports.map((text) => ({ text, value: parsePort(text) })),
  };
}

/** The NetworkPolicy `allow` writes: the spec's, named (given or derived) and labelled as ours. */
export function allowPolicy(spec: AllowSpec, name: string | undefined): V1NetworkPolicy {
  return buildAllowPolicy(spec, name ?? deriveName(spec), { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
}

/** An imported policy with its name and namespace, labelled as ours; invalid content is an error naming the file. */
export function withIdentity(
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

/** The policy's namespace must exist. */
export function requirePolicyNamespace(snapshot: ClusterSnapshot, namespace: string): void {
  const names = snapshot.namespaces.map((n) => n.metadata?.name ?? '');
  if (!names.includes(namespace))
    throw new NamespaceNotFoundError([namespace], names, { usage: 'use --namespace NAME' });
}

/**
 * A policy of that name already there: the same rules are "unchanged" (returned, nothing to write);
 * other rules are an error unless --overwrite.
 */
export function checkExisting(
  policy: V1NetworkPolicy,
  snapshot: ClusterSnapshot,
  settings: WriteSettings,
): WriteOutcome | undefined {
  const ref = refOf(policy);
  const existing = snapshot.policies.find((p) => isObjectAt(p, ref));
  if (!existing) return undefined;
  if (isDeepStrictEqual(toManifest(existing).spec, toManifest(policy).spec)) {
    const previous = toManifest(existing);
    return { ...ref, verb: 'unchanged', object: toManifest(policy), previous, replacedForeign: false };
  }
  if (settings.overwrite) return undefined;
  const owner = existing.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE ? 'kubectl-netpol' : 'another tool';
  throw new NetpolError(
    `networkpolicy ${ref.namespace}/${ref.name} already exists (created by ${owner}) with other rules; nothing was written`,
    1,
    'choose another NAME, or pass --overwrite to replace it',
  );
}
