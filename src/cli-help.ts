/**
 * `kubectl netpol --help`, `<command> --help` and `--version` without loading all of @oclif/core:
 * oclif's own Help class (`@oclif/core/help`, a third of oclif's code) renders them, given the few
 * fields of oclif's Config it reads, built here from package.json and oclif.manifest.json as oclif's
 * Config.load would build them. Loading the rest of oclif (config loading, plugin discovery, the
 * parser, the command runner) was most of the cost of `--help`. Whenever the package could make
 * oclif's answer differ from this one's (a theme, a help class, plugins, hooks, dynamic help,
 * Windows...), `renderHelpFast` declines and the caller runs oclif as usual.
 */
import { existsSync } from 'node:fs';
import { arch, homedir, platform, tmpdir } from 'node:os';
import { join } from 'node:path';

/** package.json as oclif reads it; `oclif` holds its settings. */
export interface PackageJson {
  name: string;
  version: string;
  description?: string;
  oclif: Record<string, unknown>;
}

/** One command of oclif.manifest.json (oclif's cached command: what Help reads of it). */
export interface ManifestCommand {
  id: string;
  summary?: string;
  description?: string;
  hidden?: boolean;
  aliases?: string[];
  hasDynamicHelp?: boolean;
  pluginName?: string;
}

/**
 * The `oclif` settings this path renders exactly as oclif would; any other (helpClass, theme,
 * plugins, hooks, topics, state, flexibleTaxonomy, a single-command CLI...) sends help to oclif.
 */
const UNDERSTOOD_SETTINGS = new Set([
  'bin',
  'dirname',
  'commands',
  'topicSeparator',
  'description',
  'helpOptions',
  'additionalHelpFlags',
  'additionalVersionFlags',
]);

/** oclif's `main.run`: a --help before `--` (or no argument at all) asks for help. */
function asksForHelp(argv: readonly string[], pjson: PackageJson): boolean {
  if (argv.length === 0) return true;
  const helpFlags = new Set(['--help', ...((pjson.oclif.additionalHelpFlags as string[] | undefined) ?? [])]);
  for (const arg of argv) {
    if (helpFlags.has(arg)) return true;
    if (arg === '--') return false;
  }
  return false;
}

/** oclif's `main.run`: the first argument is --version (or one of the additional version flags). */
function asksForVersion(argv: readonly string[], pjson: PackageJson): boolean {
  const versionFlags = ['--version', ...((pjson.oclif.additionalVersionFlags as string[] | undefined) ?? [])];
  return argv.length > 0 && versionFlags.includes(argv[0]);
}

/** oclif's Config: `<BIN>_<KEY>` with the bin's `@` dropped and `/` and `-` as `_`. */
function scopedEnv(bin: string, key: string): string | undefined {
  return process.env[`${bin.replaceAll('@', '').replaceAll(/[/-]/g, '_')}_${key}`.toUpperCase()];
}

/** Whether oclif's Config would load a theme: the package's own, or the user's theme.json. */
function hasTheme(pjson: PackageJson, bin: string): boolean {
  const disabled = scopedEnv(bin, 'DISABLE_THEME');
  if (disabled === '1' || disabled === 'true') return false;
  if (pjson.oclif.theme !== undefined) return true;
  // oclif's Config.dir('config') (not Windows: this path declines there).
  const home = process.env.HOME || homedir() || tmpdir();
  const configDir =
    scopedEnv(bin, 'CONFIG_DIR') ||
    join(
      process.env.XDG_CONFIG_HOME || join(home, '.config'),
      (pjson.oclif.dirname as string | undefined) ?? pjson.name,
    );
  return existsSync(join(configDir, 'theme.json'));
}

/** oclif's userAgent: `name/version platform-arch node-vX`, `wsl` for Linux under Windows. */
async function userAgentOf(pjson: PackageJson): Promise<string> {
  const { isWsl } = await import('wsl-utils');
  const os = isWsl ? 'wsl' : platform();
  const cpu = arch() === 'ia32' ? 'x86' : arch();
  return `${pjson.name}/${pjson.version || '0.0.0'} ${os}-${cpu} node-${process.version}`;
}

/**
 * Answers `argv` (already normalised, as oclif's run would get it) when it asks for help or the
 * version and oclif would answer it from the manifest alone; returns false, having written nothing,
 * otherwise. Errors (`--help` of an unknown command) are thrown as oclif's Help throws them.
 * `maxWidth` is for tests (oclif's own default: OCLIF_COLUMNS or the terminal's width).
 */
export async function renderHelpFast(
  argv: readonly string[],
  pjson: PackageJson,
  manifestCommands: Record<string, ManifestCommand>,
  options: { maxWidth?: number } = {},
): Promise<boolean> {
  if (platform() === 'win32') return false;
  if (Object.keys(pjson.oclif).some((key) => !UNDERSTOOD_SETTINGS.has(key))) return false;
  if (typeof pjson.oclif.commands !== 'string') return false;
  const commands = Object.values(manifestCommands);
  if (commands.some((c) => c.hasDynamicHelp || (c.aliases ?? []).length > 0)) return false;
  const bin = (pjson.oclif.bin as string | undefined) ?? pjson.name;
  const version = asksForVersion(argv, pjson);
  if (!version && !asksForHelp(argv, pjson)) return false;
  if (hasTheme(pjson, bin)) return false;
  const userAgent = await userAgentOf(pjson);
  if (version) {
    process.stdout.write(`${userAgent}\n`);
    return true;
  }
  // oclif's Config.loadTopics: every prefix of a visible command's id is a topic.
  const topics = new Map<string, { name: string; description?: string }>();
  for (const c of commands.filter((c) => !c.hidden)) {
    const parts = c.id.split(':');
    for (; parts.length > 0; parts.pop()) {
      const name = parts.join(':');
      if (!topics.has(name)) topics.set(name, { description: c.summary || c.description, name });
    }
  }
  const byId = new Map(commands.map((c) => [c.id, c]));
  const config = {
    bin,
    commandIDs: [...byId.keys()],
    commands,
    findCommand: (id: string) => byId.get(id),
    findTopic: (name: string) => topics.get(name),
    flexibleTaxonomy: false,
    isSingleCommandCLI: false,
    name: pjson.name,
    pjson,
    platform: platform(),
    plugins: new Map([[pjson.name, { name: pjson.name, pjson }]]),
    root: undefined,
    theme: undefined,
    topics: [...topics.values()],
    topicSeparator: (pjson.oclif.topicSeparator as string | undefined) ?? ':',
    userAgent,
    version: pjson.version,
  };
  // CommonJS: module.exports is the default export (see loadOclif in cli.ts).
  const { Help } = (await import('@oclif/core/help')).default;
  const helpOptions = (pjson.oclif.helpOptions ?? {}) as Record<string, unknown>;
  // Only a given width: oclif's Help takes an undefined maxWidth as no width at all.
  const help = new Help(config as never, options.maxWidth === undefined ? helpOptions : { ...helpOptions, ...options });
  await help.showHelp([...argv]);
  return true;
}
