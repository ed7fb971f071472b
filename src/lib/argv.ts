/**
 * kubectl lets global flags come before the subcommand (`kubectl -n x get pods`); oclif wants the
 * command id first. normalizeArgv moves leading flags, with their values, after the command id.
 * kubectl also lets the last of a repeated one-value flag win (`-n a -n b` is `-n b`); oclif refuses
 * the repeat, so normalizeArgv drops the earlier ones.
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
  if (flags.length === 0 || rest.length === 0 || rest[0] === '--') return keepLastValues(argv);
  const [commandId, ...commandArgs] = rest;
  return keepLastValues([commandId, ...flags, ...commandArgs]);
}

/**
 * The flags of any command that take one value (not repeatable), by long name, with their short
 * letter. test/argv.test.ts checks this against every command's flags.
 */
export const SINGLE_VALUE_FLAGS: ReadonlyMap<string, string | undefined> = new Map([
  ['context', undefined],
  ['dry-run', undefined],
  ['field-manager', undefined],
  ['from', undefined],
  ['import', undefined],
  ['kubeconfig', undefined],
  ['name', undefined],
  ['namespace', 'n'],
  ['output', 'o'],
  ['port', undefined],
  ['request-timeout', undefined],
  ['selector', 'l'],
]);

/** Flags of SINGLE_VALUE_FLAGS that a command takes repeatedly instead (allow's peers and ports). */
export const REPEATABLE_BY_COMMAND: Readonly<Record<string, readonly string[]>> = {
  allow: ['from', 'port'],
};

const LONG_OF_SHORT = new Map([...SINGLE_VALUE_FLAGS].flatMap(([long, short]) => (short ? [[short, long]] : [])));

/**
 * Which one-value flag a token is, and how many tokens it spans: 2 for `-n x` and `--namespace x`,
 * 1 for `--namespace=x`, `-nx` and `-n=x`. Undefined for anything else.
 */
function singleValueFlagAt(token: string): { name: string; width: 1 | 2 } | undefined {
  if (token.startsWith('--')) {
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    if (!SINGLE_VALUE_FLAGS.has(name)) return undefined;
    return { name, width: eq < 0 ? 2 : 1 };
  }
  const name = token.length >= 2 && token[0] === '-' ? LONG_OF_SHORT.get(token[1]) : undefined;
  if (name === undefined) return undefined;
  return { name, width: token.length === 2 ? 2 : 1 };
}

/**
 * Keeps only the last occurrence of each one-value flag (as kubectl does), up to `--`; argv starts
 * with the command id. A flag one command repeats (`--from` in allow) is left alone there.
 */
export function keepLastValues(argv: readonly string[]): string[] {
  const repeatable = REPEATABLE_BY_COMMAND[argv[0]] ?? [];
  const spans: { name: string; start: number; width: number }[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i];
    if (token === '--') break;
    const flag = singleValueFlagAt(token);
    if (!flag || repeatable.includes(flag.name)) continue;
    spans.push({ name: flag.name, start: i, width: flag.width });
    i += flag.width - 1;
  }
  const last = new Map(spans.map((span) => [span.name, span]));
  const dropped = new Set(
    spans.filter((span) => last.get(span.name) !== span).flatMap((span) => [span.start, span.start + span.width - 1]),
  );
  return argv.filter((_, i) => !dropped.has(i));
}
