/**
 * The interactive flow of `allow`: asks for what the flags left out (namespace, subject pods, peers,
 * ports, name) with choices taken from the snapshot, and returns flag values, so answers go through the
 * same grammar as flags. The prompt functions are injected: inquirer on a terminal, scripts in tests.
 */
import type { V1Pod } from '@kubernetes/client-node';

import type { World } from '../engine/world.js';
import type { Direction } from '../engine/model.js';
import { podsAdmittedByPeer } from '../engine/peers.js';
import type { Choice, PromptFunctions } from './types.js';
import { parsePeer, parseSubject } from '../peer-syntax.js';
import { checkAddressBlock, checkNamespaceSelector, checkPodSelector, checkPorts } from './answer-checks.js';

/** What the flags already say; undefined or empty means "ask". */
interface AllowPromptInput {
  /** The world the choices come from (labels and ports the pods really carry). */
  world: World;
  direction: Direction;
  /** The namespace, and whether -n gave it (then it is not asked). */
  namespace: string;
  isNamespaceExplicit: boolean;
  subject?: string;
  peers: string[];
  /** Undefined: ask; an array (even empty, from --port or --import): keep. */
  ports?: string[];
  name?: string;
  /** Derives the default name from the answers. */
  deriveName(answers: AllowAnswers): string;
}

/** The answers, as the flags would have written them. */
export interface AllowAnswers {
  namespace: string;
  subject: string;
  peers: string[];
  ports: string[];
  name?: string;
}

/** Labels that tell pods of one workload apart but never make a good selector. */
const NOISY_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
]);
const TYPE_IT = '\u0000type';

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Pods of a namespace. */
function podsIn(world: World, namespace: string): V1Pod[] {
  return world.pods.filter((p) => p.ref.namespace === namespace).map((p) => p.pod);
}

/** Selector choices from the labels pods really carry: each label, each whole label set, with pod counts. */
function labelChoices(pods: V1Pod[]): Choice<string>[] {
  const counts = new Map<string, number>();
  for (const pod of pods) {
    const labels = Object.entries(pod.metadata?.labels ?? {})
      .filter(([k]) => !NOISY_LABELS.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const selectors = labels.map(([k, v]) => `${k}=${v}`);
    if (selectors.length > 1) selectors.push(selectors.join(','));
    for (const s of new Set(selectors)) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const sorted = [...counts.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  return [
    ...sorted.map(([selector, n]) => ({ name: `${selector}  (${plural(n, 'pod')})`, value: selector })),
    { name: `*  every pod (${plural(pods.length, 'pod')})`, value: '*' },
    { name: 'type a label selector…', value: TYPE_IT },
  ];
}

/** `container a` or `containers a, b`. */
function containerWords(names: Set<string>): string {
  return `container${names.size === 1 ? '' : 's'} ${[...names].join(', ')}`;
}

/**
 * Ports the given pods' containers declare, in words (`port 80 of container api`), each by number
 * and, when it has a name, by name; the values are PORT text (`80/TCP`, `http/TCP`).
 */
function portChoices(pods: V1Pod[]): Choice<string>[] {
  const numbers = new Map<string, { port: string; containers: Set<string>; names: Set<string> }>();
  const named = new Map<string, { name: string; ports: Set<string> }>();
  for (const pod of pods) {
    for (const c of pod.spec?.containers ?? []) {
      for (const p of c.ports ?? []) {
        const protocol = p.protocol ?? 'TCP';
        const suffix = protocol === 'TCP' ? '' : `/${protocol}`;
        const byNumber = numbers.get(`${p.containerPort}/${protocol}`) ?? {
          port: `${p.containerPort}${suffix}`,
          containers: new Set<string>(),
          names: new Set<string>(),
        };
        numbers.set(`${p.containerPort}/${protocol}`, byNumber);
        byNumber.containers.add(c.name);
        if (!p.name) continue;
        byNumber.names.add(p.name);
        const byName = named.get(`${p.name}/${protocol}`) ?? { name: `${p.name}${suffix}`, ports: new Set<string>() };
        named.set(`${p.name}/${protocol}`, byName);
        byName.ports.add(`port ${p.containerPort}${suffix} of container ${c.name}`);
      }
    }
  }
  const described = new Map<string, string>();
  for (const [value, n] of numbers) {
    const names = n.names.size > 0 ? ` (named ${[...n.names].join(', ')})` : '';
    described.set(value, `port ${n.port} of ${containerWords(n.containers)}${names}`);
  }
  for (const [value, n] of named) {
    described.set(value, `the port named ${n.name}, whatever its number (${[...n.ports].join(', ')})`);
  }
  return [
    { name: 'any port', value: '' },
    ...[...described.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([value, name]) => ({ name, value })),
    { name: 'type ports (e.g. 80, 53/UDP, 8000-9000/TCP)…', value: TYPE_IT },
  ];
}

async function askSelector(p: PromptFunctions, message: string, pods: V1Pod[]): Promise<string> {
  const picked = await p.select({ message, choices: labelChoices(pods), pageSize: 12 });
  if (picked !== TYPE_IT) return picked;
  return p.input({ message: 'Label selector (kubectl -l syntax, * for every pod):', validate: checkPodSelector });
}

async function askNamespace(p: PromptFunctions, message: string, names: string[], exclude?: string): Promise<string> {
  const choices = names.filter((n) => n !== exclude).map((n) => ({ name: n, value: n }));
  return p.select({ message, choices, pageSize: 12 });
}

async function askPeer(
  p: PromptFunctions,
  input: AllowPromptInput,
  namespace: string,
  names: string[],
): Promise<string> {
  const others = names.filter((n) => n !== namespace);
  const kinds: Choice<string>[] = [
    { name: `pods in ${namespace}`, value: 'here' },
    ...(others.length ? [{ name: 'pods in another namespace', value: 'there' }] : []),
    { name: 'every pod of a namespace, or of namespaces with a label', value: 'namespace' },
    { name: 'an address block (CIDR)', value: 'cidr' },
  ];
  const kind = await p.select({
    message: input.direction === 'ingress' ? 'Who may reach them?' : 'What may they reach?',
    choices: kinds,
  });
  if (kind === 'here') return askSelector(p, `Which pods in ${namespace}?`, podsIn(input.world, namespace));
  if (kind === 'there') {
    const other = await askNamespace(p, 'Which namespace?', others);
    const selector = await askSelector(p, `Which pods in ${other}?`, podsIn(input.world, other));
    return `${selector}@${other}`;
  }
  if (kind === 'namespace') {
    const choices: Choice<string>[] = [
      ...names.map((n) => ({ name: n, value: n })),
      { name: '*  every namespace', value: '*' },
      { name: 'type a namespace label selector…', value: TYPE_IT },
    ];
    const picked = await p.select({ message: 'Which namespaces?', choices, pageSize: 12 });
    if (picked !== TYPE_IT) return `@${picked}`;
    const typed = await p.input({ message: 'Namespace label selector:', validate: checkNamespaceSelector });
    return `@${typed}`;
  }
  return p.input({
    message: 'Address block (CIDR[!EXCEPT,...], e.g. 10.0.0.0/8!10.1.0.0/16):',
    validate: checkAddressBlock,
  });
}

/** Pods the peers select (for the ports to offer when the policy is an egress policy); address blocks offer none. */
function podsOfPeers(world: World, namespace: string, peers: string[]): V1Pod[] {
  const selected = new Set(
    peers
      .map((t) => parsePeer(t, '--to'))
      .filter((peer) => !peer.ipBlock)
      .flatMap((peer) => podsAdmittedByPeer(world, peer, namespace)),
  );
  return world.pods.filter((p) => selected.has(p)).map((p) => p.pod);
}

/** Asks for what is missing, in the order of the sentence: namespace, subject, peers, ports, name. */
export async function promptAllow(p: PromptFunctions, input: AllowPromptInput): Promise<AllowAnswers> {
  const names = input.world.snapshot.namespaces
    .map((n) => n.metadata?.name ?? '')
    .filter(Boolean)
    .sort();
  let namespace = input.namespace;
  if (!input.isNamespaceExplicit && input.subject === undefined) {
    const choices = names.map((n) => ({
      name: `${n}  (${plural(podsIn(input.world, n).length, 'pod')})`,
      value: n,
    }));
    namespace = await p.select({
      message: 'Namespace of the policy:',
      choices,
      default: names.includes(namespace) ? namespace : undefined,
      pageSize: 12,
    });
  }
  const subjectFlag = input.direction === 'ingress' ? '--to' : '--from';
  const subject =
    input.subject ??
    (await askSelector(
      p,
      input.direction === 'ingress'
        ? `Which pods in ${namespace} may be reached? (the policy is written on them)`
        : `Which pods in ${namespace} may connect out? (the policy is written on them)`,
      podsIn(input.world, namespace),
    ));
  const peers = [...input.peers];
  if (peers.length === 0) {
    do peers.push(await askPeer(p, input, namespace, names));
    while (await p.confirm({ message: 'Add another peer?', default: false }));
  }
  let ports = input.ports;
  if (ports === undefined) {
    const destinations =
      input.direction === 'ingress'
        ? podsAdmittedByPeer(input.world, { podSelector: parseSubject(subject, subjectFlag) }, namespace).map(
            (p) => p.pod,
          )
        : podsOfPeers(input.world, namespace, peers);
    const picked = await p.select({ message: 'On which ports?', choices: portChoices(destinations), pageSize: 12 });
    if (picked === TYPE_IT) {
      const typed = await p.input({ message: 'Ports, comma-separated:', validate: checkPorts });
      ports = typed.split(',').map((x) => x.trim());
    } else ports = picked === '' ? [] : [picked];
  }
  const answers: AllowAnswers = { namespace, subject, peers, ports, name: input.name };
  if (answers.name === undefined) {
    answers.name = await p.input({
      message: 'Name of the policy:',
      default: input.deriveName(answers),
      validate: (t) => isPolicyName(t) || 'a lowercase DNS subdomain: a-z, 0-9, "-" and ".", at most 253 characters',
    });
  }
  return answers;
}

/** Whether a text is a valid NetworkPolicy name (a DNS-1123 subdomain). */
export function isPolicyName(text: string): boolean {
  return text.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(text);
}
