/**
 * kubectl lets global flags come before the subcommand (`kubectl -n x get pods`); oclif wants the
 * command id first. normalizeArgv moves leading flags, with their values, after the command id.
 * kubectl also lets the last of a repeated one-value flag win (`-n a -n b` is `-n b`); oclif refuses
 * the repeat, so normalizeArgv drops the earlier ones. Which flags take a value, and which repeat,
 * comes from the flag definitions themselves (oclif.manifest.json, or the command classes).
 */

/** A flag as its definition (or oclif's manifest of it) says: whether it takes a value, its letter, whether it repeats. */
interface FlagDefinition {
  type: string;
  char?: string;
  multiple?: boolean;
}

/** What normalizeArgv needs to know of the commands' flags. */
export interface FlagTable {
  /** Flags of any command that take a value (`--namespace`, `-n`): a leading one takes the next argument. */
  valueFlags: ReadonlySet<string>;
  /** Per command id: its one-value flags, by long name, and their letters (`n` -> `namespace`). */
  singleValue: ReadonlyMap<string, SingleValueFlags>;
}

/** One command's flags that take one value. */
interface SingleValueFlags {
  long: ReadonlySet<string>;
  short: ReadonlyMap<string, string>;
}

/** The table of a set of commands: command id -> its flags (oclif's manifest `commands`, or each class's flags and baseFlags). */
export function flagTableOf(commands: Record<string, { flags: Record<string, FlagDefinition> }>): FlagTable {
  const valueFlags = new Set<string>();
  const singleValue = new Map<string, SingleValueFlags>();
  for (const [id, command] of Object.entries(commands)) {
    const long = new Set<string>();
    const short = new Map<string, string>();
    for (const [name, flag] of Object.entries(command.flags)) {
      if (flag.type !== 'option') continue;
      valueFlags.add(`--${name}`);
      if (flag.char) valueFlags.add(`-${flag.char}`);
      if (flag.multiple) continue;
      long.add(name);
      if (flag.char) short.set(flag.char, name);
    }
    singleValue.set(id, { long, short });
  }
  return { valueFlags, singleValue };
}

/** Splits off the leading flags (and their values) that precede the first positional argument. */
function takeLeadingFlags(argv: readonly string[], table: FlagTable): { flags: string[]; rest: string[] } {
  const flags: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const token = argv[i];
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    flags.push(token);
    i += 1;
    // `--namespace=x` and `-nx` carry their value; only the bare flag takes the next argument.
    if (table.valueFlags.has(token) && i < argv.length) {
      flags.push(argv[i]);
      i += 1;
    }
  }
  return { flags, rest: argv.slice(i) };
}

/**
 * Moves flags written before the command id to just after it, `-n x who-can web` becoming
 * `who-can -n x web`, then keeps the last of each repeated one-value flag. Without a command id (only
 * flags, or `--help`) the arguments are returned unchanged.
 */
export function normalizeArgv(argv: readonly string[], table: FlagTable): string[] {
  const { flags, rest } = takeLeadingFlags(argv, table);
  if (flags.length === 0 || rest.length === 0 || rest[0] === '--') return keepLastValues(argv, table);
  const [commandId, ...commandArgs] = rest;
  return keepLastValues([commandId, ...flags, ...commandArgs], table);
}

/**
 * Which one-value flag of the command a token is, and how many tokens it spans: 2 for `-n x` and
 * `--namespace x`, 1 for `--namespace=x`, `-nx` and `-n=x`. Undefined for anything else.
 */
function singleValueFlagAt(token: string, flags: SingleValueFlags): { name: string; width: 1 | 2 } | undefined {
  if (token.startsWith('--')) {
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    if (!flags.long.has(name)) return undefined;
    return { name, width: eq < 0 ? 2 : 1 };
  }
  const name = token.length >= 2 && token[0] === '-' ? flags.short.get(token[1]) : undefined;
  if (name === undefined) return undefined;
  return { name, width: token.length === 2 ? 2 : 1 };
}

/**
 * Keeps only the last occurrence of each one-value flag of the command (as kubectl does), up to `--`;
 * argv starts with the command id. Flags the command takes repeatedly (allow's `--from`) are left alone.
 */
function keepLastValues(argv: readonly string[], table: FlagTable): string[] {
  const flags = table.singleValue.get(argv[0]);
  if (!flags) return [...argv];
  const spans: { name: string; start: number; width: number }[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i];
    if (token === '--') break;
    const flag = singleValueFlagAt(token, flags);
    if (!flag) continue;
    spans.push({ name: flag.name, start: i, width: flag.width });
    i += flag.width - 1;
  }
  const last = new Map(spans.map((span) => [span.name, span]));
  const dropped = new Set(
    spans.filter((span) => last.get(span.name) !== span).flatMap((span) => [span.start, span.start + span.width - 1]),
  );
  return argv.filter((_, i) => !dropped.has(i));
}

/** The table of command classes (the standalone executable has no manifest file): each class's flags and baseFlags. */
export function flagTableOfClasses(
  commands: Record<string, { flags?: Record<string, FlagDefinition>; baseFlags?: Record<string, FlagDefinition> }>,
): FlagTable {
  return flagTableOf(
    Object.fromEntries(
      Object.entries(commands).map(([id, command]) => [id, { flags: { ...command.baseFlags, ...command.flags } }]),
    ),
  );
}
