/** Typed errors: each maps to an exit code and one line on stderr (plus an optional hint). */

/** Base class: a message for the user, a hint on how to fix it, and the exit code. */
export class NetpolError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Wrong flags, arguments or values: exit 2. */
export class UsageError extends NetpolError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** Unreadable or unparsable manifests: exit 1, naming the file and line. */
export class ManifestError extends NetpolError {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    hint?: string,
  ) {
    super(file ? `${file}${line ? `:${line}` : ''}: ${message}` : message, 1, hint);
  }
}

/** No usable kubeconfig, context or credentials: exit 1. */
export class KubeconfigError extends NetpolError {
  constructor(message: string, hint?: string) {
    super(message, 1, hint);
  }
}

/** The API server refused or failed a request: exit 1, keeping the HTTP status and server message. */
export class ApiError extends NetpolError {
  constructor(
    message: string,
    readonly status?: number,
    readonly serverMessage?: string,
    hint?: string,
  ) {
    super(message, 1, hint);
  }
}

/** A yes/no query answered "no" (`who-can --from`; `diff`: reachability changes): exit 1 without an error line. */
export class DeniedResult extends NetpolError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** Namespaces a request names that the cluster (or the files) does not hold: exit 1, listing those there are. */
export class NamespaceNotFoundError extends NetpolError {
  constructor(
    readonly missing: readonly string[],
    known: readonly string[],
    opts: { isWrite?: boolean; usage?: string } = {},
  ) {
    const what =
      missing.length === 1 ? `namespace "${missing[0]}"` : `namespaces ${missing.map((ns) => `"${ns}"`).join(', ')}`;
    const list = `namespaces: ${[...known].sort().join(', ') || 'none'}`;
    super(
      `${what} not found${opts.isWrite ? '; nothing was written' : ''}`,
      1,
      opts.usage ? `${opts.usage}; ${list}` : list,
    );
  }
}

/** The exit status of a yes/no question (`who-can --from`) that could not be answered: neither 0 (yes) nor 1 (no). */
export const EXIT_NO_ANSWER = 3;

/**
 * A yes/no question that could not be answered (nothing to check, not found, unreadable files, API
 * errors): exit 3, so that a script's `if who-can ... --from X -q` never takes a failure for "no".
 */
export class NoAnswerError extends NetpolError {
  constructor(message: string, hint?: string) {
    super(message, EXIT_NO_ANSWER, hint);
  }
}

/**
 * An error that kept a command whose exit 1 means an answer (a question's "no", diff's "changes")
 * from answering, as exit 3 with the same lines; usage errors stay 2.
 */
export function asNoAnswer(error: Error): Error {
  if (error instanceof DeniedResult || error instanceof UsageError || error instanceof NoAnswerError) return error;
  if (error instanceof NetpolError) return new NoAnswerError(error.message, error.hint);
  return new NoAnswerError(error.message || 'unexpected failure');
}
