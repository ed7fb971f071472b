/** What a reachability command returns from run() and its views read: the engine's answer and how to name it. */
import type { ReachAnswer, StreamedAnswer } from '../engine/answer.js';
import type { PortQuery } from '../engine/model.js';

/** The workload that owns a pod, as the engine's workloadOf names it (kind 'Pod' for a bare pod). */
export interface WorkloadRef {
  kind: string;
  name: string;
}

/** A warning as reported: engine warnings keep their code; the loader's have code 'manifest' (-f) or 'cluster' (live). */
export interface ReportWarning {
  code: string;
  message: string;
}

/**
 * An answer of who-can or reachable-from, with what the views need to name it; a document's answer
 * may be streamed (its groups computed as it is written).
 */
export interface ReachReport<Answer extends ReachAnswer | StreamedAnswer = ReachAnswer> {
  /** The engine's answer: subject pods, peer pods as groups, address blocks; pairs via connectionsOf. */
  answer: Answer;
  /** The port asked about, after a Service port was resolved to its targetPort. */
  port?: PortQuery;
  /** With a question (--from, --to): whether every pair is allowed. */
  allowed?: boolean;
  warnings: ReportWarning[];
  /** Owner of each pod, keyed `namespace/name`. */
  workloads: ReadonlyMap<string, WorkloadRef>;
  /** What the answer is about when it is not plain (a Service's ports), one line each, for people. */
  notes: string[];
}
