/**
 * kubectl lets global flags come before the subcommand (`kubectl -n x get pods`); oclif wants the
 * command id first. normalizeArgv moves leading flags, with their values, after the command id.
 */

/** Leading flags that take a value as the next argument (unless written `--flag=value` or `-nVALUE`). */
export const VALUE_FLAGS: ReadonlySet<string> = new Set([
  '-n',
  '--namespace',
  '--context',
  '--kubeconfig',
  '-o',
  '--output',
  '-f',
  '--filename',
  '-l',
  '--selector',
  '--request-timeout',
]);

/** Splits off the leading flags (and their values) that precede the first positional argument. */
function takeLeadingFlags(argv: readonly string[]): { flags: string[]; rest: string[] } {
  const flags: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const token = argv[i];
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    flags.push(token);
    i += 1;
    // `--namespace=x` and `-nx` carry their value; only the bare flag takes the next argument.
    if (VALUE_FLAGS.has(token) && i < argv.length) {
      flags.push(argv[i]);
      i += 1;
    }
  }
  return { flags, rest: argv.slice(i) };
}

/**
 * Moves flags written before the command id to just after it:
 * `-n x who-can web` becomes `who-can -n x web`. Without a command id (only flags, or `--help`)
 * the arguments are returned unchanged.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const { flags, rest } = takeLeadingFlags(argv);
  if (flags.length === 0 || rest.length === 0 || rest[0] === '--') return [...argv];
  const [commandId, ...commandArgs] = rest;
  return [commandId, ...flags, ...commandArgs];
}
