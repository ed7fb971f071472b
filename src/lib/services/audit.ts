/**
 * `audit` between the command and the engine: the world compiled once, its findings (engine/audit.ts),
 * the connectivity expectations checked against that same world through who-can's own query
 * (services/reach.ts), the ids the user ignores left out, and whether anything is at or above the
 * severity that fails the run.
 */
import type { Connection } from '../engine/answer.js';
import { connectionsOf } from '../engine/answer.js';
import type { Finding, FindingId, Severity } from '../engine/audit.js';
import { auditWorld, compareFindings, FINDING_IDS, SEVERITIES } from '../engine/audit.js';
import { compileWorld } from '../engine/compile.js';
import type { ClusterSnapshot, PodRef, Warning } from '../engine/model.js';
import { resolveTargets } from '../engine/targets.js';
import type { World } from '../engine/world.js';
import { NamespaceNotFoundError, NetpolError, NoAnswerError } from '../errors.js';
import type { Expectation, ExpectationSide } from '../expectations.js';
import type { AddressText, TargetText } from '../target-spec.js';
import { answerReach, completeReach, type ReachOptions } from './reach.js';

/** What to audit, every value parsed. */
interface AuditOptions {
  /** The namespace of the request (-n, else the context's): the one audited without -A, and where unqualified names are. */
  namespace: string;
  allNamespaces: boolean;
  failOn: Severity;
  ignore: ReadonlySet<FindingId>;
  /** Findings of one id about one object left out (`--ignore ID:NAMESPACE/NAME`, or `ID:NAME` cluster-scoped). */
  ignoreObjects?: readonly IgnoredObject[];
  expectations: Expectation[];
}

/** A finding id about one object: by its namespace (none for a cluster-scoped object) and name. */
export interface IgnoredObject {
  id: FindingId;
  namespace?: string;
  name: string;
}

/** The findings, what fails the run, and the compiler's warnings. */
export interface AuditResult {
  findings: Finding[];
  /** How many findings are at or above --fail-on (exit status 1 when any). */
  failing: number;
  /** Findings per severity. */
  counts: Record<Severity, number>;
  /** How many expectations were checked, and how many held. */
  expectations: { checked: number; held: number };
  warnings: Warning[];
}

/** Audits a snapshot: findings of the scope, expectations checked, ignored ids dropped. */
export function runAudit(snapshot: ClusterSnapshot, options: AuditOptions): AuditResult {
  const world = compileWorld(snapshot);
  const names = world.snapshot.namespaces.map((n) => n.metadata?.name ?? '');
  if (!options.allNamespaces && !names.includes(options.namespace)) {
    throw new NamespaceNotFoundError([options.namespace], names, { usage: 'use --namespace NAME or --all-namespaces' });
  }
  const scope = options.allNamespaces ? {} : { namespaces: [options.namespace] };
  const failed = checkExpectations(world, options.expectations, options.namespace);
  const findings = [...auditWorld(world, scope), ...failed]
    .filter((f) => !options.ignore.has(f.id) && !(options.ignoreObjects ?? []).some((o) => isAbout(f, o)))
    .sort(compareFindings);
  const threshold = SEVERITIES.indexOf(options.failOn);
  const counts = { info: 0, warning: 0, error: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    findings,
    failing: findings.filter((f) => SEVERITIES.indexOf(f.severity) >= threshold).length,
    counts,
    expectations: { checked: options.expectations.length, held: options.expectations.length - failed.length },
    // Invalid policies are findings of their own; the rest is said as who-can says it.
    warnings: world.warnings.filter((w) => w.code !== 'invalid-policy'),
  };
}

function isAbout(finding: Finding, object: IgnoredObject): boolean {
  return finding.id === object.id && finding.object.name === object.name && finding.namespace === object.namespace;
}

/** The expectations that do not hold in a world, as findings (unqualified names are in `namespace`). */
export function checkExpectations(world: World, expectations: readonly Expectation[], namespace: string): Finding[] {
  return expectations.flatMap((e) => {
    const failure = checkExpectation(world, e, namespace);
    return failure ? [failure] : [];
  });
}

/** A side with its namespace: the one it names, else the request's. */
function completeSide<T extends ExpectationSide>(side: T, namespace: string): T {
  return side.kind === 'address' || side.namespace !== undefined ? side : { ...side, namespace };
}

/** What one question of an expectation found: whether some pairs are allowed and some denied, with a connection of each. */
interface Asked {
  allowed?: Connection;
  denied?: Connection;
  /** An address block only part of which is admitted: some of it is allowed. */
  partly?: Connection;
}

/**
 * One expectation asked as who-can (or, when the destination is an address block or the source is a
 * selector, as reachable-from) asks it: `allowed: true` holds when every pod pair (every address of a
 * block) is allowed, `allowed: false` when none is (no address of a block). With a selector on both
 * sides, each pod of `from` is asked about (one per pod class: its pods are alike to every policy), and
 * the pairs of all of them count. A failed one is a finding with a connection of the answer that
 * contradicts it, which names the pair.
 */
function checkExpectation(world: World, expectation: Expectation, namespace: string): Finding | undefined {
  const from = completeSide(expectation.from, namespace);
  const to = completeSide(expectation.to, namespace);
  const { text } = expectation;
  const asked: Asked[] = [];
  try {
    if (from.kind === 'selector' && to.kind === 'selector') {
      for (const pod of selectorSources(world, from, namespace)) {
        const one = askPairs(
          world,
          { kind: 'pod', namespace: pod.namespace, name: pod.name },
          to,
          expectation,
          namespace,
        );
        if (one) asked.push(one);
      }
      if (asked.length === 0) askPairs(world, from, to, expectation, namespace, true);
    } else asked.push(askPairs(world, from, to, expectation, namespace, true)!);
  } catch (error) {
    if (error instanceof NetpolError) {
      throw new NetpolError(
        `expectation ${expectation.index + 1} (${text.from} -> ${text.to}${text.port ? ` on ${text.port}` : ''}): ${error.message}`,
        error.exitCode,
        error.hint,
      );
    }
    throw error;
  }
  const allowed = asked.find((a) => a.allowed)?.allowed;
  const denied = asked.find((a) => a.denied)?.denied;
  const partly = asked.find((a) => a.partly)?.partly;
  const actual = !denied ? 'all' : allowed || partly ? 'some' : 'none';
  const holds = expectation.allowed ? actual === 'all' : actual === 'none';
  if (holds) return undefined;
  const connection: Connection | undefined = expectation.allowed ? denied : (allowed ?? partly);
  return {
    id: 'expectation-violated',
    severity: FINDING_IDS['expectation-violated'],
    object: { kind: 'Expectation', name: `${text.from} -> ${text.to}${text.port ? ` on ${text.port}` : ''}` },
    details: {
      id: 'expectation-violated',
      index: expectation.index,
      from: text.from,
      to: text.to,
      ...(text.port ? { port: text.port } : {}),
      expected: expectation.allowed,
      actual,
      ...(connection ? { connection } : {}),
    },
  };
}

/** The pods of a `from` selector, one per pod class; none is "nothing to check", as who-can says it. */
function selectorSources(world: World, side: ExpectationSide & { kind: 'selector' }, namespace: string): PodRef[] {
  const resolved = resolveTargets(world, {
    kind: 'selector',
    namespaces: [side.namespace ?? namespace],
    selector: side.selector,
  });
  if (resolved.pods.length === 0) {
    throw new NoAnswerError(
      `nothing to check: ${resolved.warnings.map((w) => w.message).join('; ')}`,
      'name a source and a destination with at least one pod pair between them',
    );
  }
  const classOf = new Map<string, number>();
  for (const cls of world.index.classesByNamespace.get(side.namespace ?? namespace) ?? [])
    for (const member of cls.members) classOf.set(member.ref.name, cls.id);
  const seen = new Set<number>();
  return resolved.pods.filter((pod) => {
    const id = classOf.get(pod.name);
    if (id === undefined) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * The pairs between two sides with at most one selector, asked as who-can (or reachable-from) asks
 * them. Unless `strict`, a question with nothing to check (a pod whose only partner is itself) is
 * undefined rather than an error.
 */
function askPairs(
  world: World,
  from: ExpectationSide,
  to: ExpectationSide,
  expectation: Expectation,
  namespace: string,
  strict = false,
): Asked | undefined {
  const outbound = to.kind === 'address' || (from.kind === 'selector' && to.kind !== 'selector');
  const [subject, other] = outbound ? [from, to] : [to, from];
  if (other.kind === 'selector') throw new Error('a question has at most one selector side');
  const options: ReachOptions = {
    orientation: outbound ? 'outbound' : 'inbound',
    subject: subject.kind === 'selector' || subject.kind === 'address' ? undefined : subject,
    other: other as TargetText | AddressText,
    selector: subject.kind === 'selector' ? subject.selector : undefined,
    port: expectation.port,
    allNamespaces: false,
    explain: true,
  };
  const subjectNamespace = subject.kind === 'address' ? namespace : (subject.namespace ?? namespace);
  let report;
  try {
    report = answerReach(world, completeReach(options, subjectNamespace));
  } catch (error) {
    if (!strict && error instanceof NoAnswerError) return undefined;
    throw error;
  }
  const { answer } = report;
  return {
    allowed: first(connectionsOf(answer, 'allowed')),
    denied: first(connectionsOf(answer, 'denied')),
    partly: answer.deniedExternal.find((c) =>
      [c.decision.ingress, c.decision.egress].some((side) => side.reason === 'partly-admitted'),
    ),
  };
}

function first<T>(items: Iterator<T>): T | undefined {
  const next = items.next();
  return next.done ? undefined : next.value;
}
