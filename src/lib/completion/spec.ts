/**
 * What completion knows about the commands: ids, flags and arguments, read from oclif's cached
 * command metadata (oclif.manifest.json), so a new flag is completed without touching this code.
 */
import type { Command } from '@oclif/core';

/** One flag as completion sees it. */
export interface FlagSpec {
  name: string;
  char?: string;
  /** An option flag: the next word (or `=VALUE`) is its value. */
  takesValue: boolean;
  /** The values it accepts, when they are a fixed list. */
  options?: string[];
  /** Repeatable: still offered after it was given. */
  isMultiple: boolean;
  /** A boolean with a `--no-` form. */
  allowsNo: boolean;
  description: string;
}

/** One positional argument. */
export interface ArgSpec {
  name: string;
  options?: string[];
  description: string;
}

/** One command. */
export interface CommandSpec {
  id: string;
  description: string;
  flags: FlagSpec[];
  args: ArgSpec[];
  /** Takes more arguments than it declares (oclif `strict = false`): the last one repeats. */
  isVariadic: boolean;
}

/** The visible commands, sorted by id, from oclif's cached metadata. */
export function commandSpecsOf(commands: readonly Command.Cached[]): CommandSpec[] {
  return commands
    .filter((command) => !command.hidden)
    .map((command) => ({
      id: command.id,
      description: shortDescription(command.summary ?? command.description ?? ''),
      flags: Object.values(command.flags)
        .filter((flag) => !flag.hidden)
        .map((flag) => ({
          name: flag.name,
          char: flag.char,
          takesValue: flag.type === 'option',
          options: flag.type === 'option' && flag.options ? [...flag.options] : undefined,
          isMultiple: flag.type === 'option' && Boolean(flag.multiple),
          allowsNo: flag.type === 'boolean' && Boolean(flag.allowNo),
          description: shortDescription(flag.summary ?? flag.description ?? ''),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : 1)),
      args: Object.values(command.args).map((arg) => ({
        name: arg.name,
        options: arg.options ? [...arg.options] : undefined,
        description: shortDescription(arg.description ?? ''),
      })),
      isVariadic: command.strict === false,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The first sentence (up to `.` or `;`) of a description, on one line, for a completion menu. */
export function shortDescription(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const end = line.search(/[.;](\s|$)/);
  const sentence = end === -1 ? line : line.slice(0, end);
  return sentence.length > 80 ? `${sentence.slice(0, 77)}...` : sentence;
}
