/**
 * The examples of every command's help, as tests run them: test/commands/help-examples.test.ts runs
 * the offline ones in process, test/e2e/help-examples.test.ts the rest (against the real apiserver,
 * through a shell, or in a pseudo-terminal).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from '@oclif/core';

import { ROOT } from '../commands/run-command.js';

/** How an example can be run. */
export type ExampleKind =
  /** reads manifests (`--filename`; diff: `--base`, its -f being the change): runs anywhere, no cluster */
  | 'offline'
  /** reads or writes the cluster */
  | 'live'
  /** a shell line around the command (`source <(...)`, redirection) */
  | 'shell'
  /** asks its questions on a terminal (the description says "On a terminal") */
  | 'terminal';

/** One example of one command. */
export interface HelpExample {
  id: string;
  command: string;
  description: string;
  kind: ExampleKind;
  /** The words after `kubectl netpol` (for offline, live and terminal examples). */
  argv: string[];
}

/** Splits a command line as sh does for plain words and '…' / "…" quoting (no expansion). */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = undefined;
      else word = (word ?? '') + char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const SHELL_SYNTAX = /[<>|;&$`]/;

/** Sorts an example into the tier that can run it. */
export function classifyExample(command: string, description: string): { kind: ExampleKind; argv: string[] } {
  const words = splitWords(command);
  const isPlain =
    words[0] === 'kubectl' && words[1] === 'netpol' && !SHELL_SYNTAX.test(command.replace(/'[^']*'/g, ''));
  if (!isPlain) return { kind: 'shell', argv: [] };
  const argv = words.slice(2);
  if (/^on a terminal/i.test(description)) return { kind: 'terminal', argv };
  // diff's -f is the change: its before-world is the cluster unless --base names files.
  const isOffline =
    argv[0] === 'diff'
      ? argv.some((w) => w === '--base' || w.startsWith('--base='))
      : argv.some((w) => w === '--filename' || w === '-f' || w.startsWith('--filename='));
  return { kind: isOffline ? 'offline' : 'live', argv };
}

/** A command class as src/commands exports it. */
type CommandModule = { default: Command.Class };

/** The command classes of src/commands, by id (file name), hidden ones included. */
export async function loadCommands(): Promise<Map<string, Command.Class>> {
  const commands = new Map<string, Command.Class>();
  const files = readdirSync(join(ROOT, 'src', 'commands')).filter((f) => f.endsWith('.ts'));
  for (const file of files.sort()) {
    const id = file.replace(/\.ts$/, '');
    const module = (await import(`../../src/commands/${id}.js`)) as CommandModule;
    commands.set(id, module.default);
  }
  return commands;
}

/** Every example of every command, classified. */
export async function loadExamples(): Promise<HelpExample[]> {
  const examples: HelpExample[] = [];
  for (const [id, command] of await loadCommands()) {
    for (const example of command.examples ?? []) {
      const { command: line, description } =
        typeof example === 'string' ? { command: example, description: '' } : example;
      examples.push({ id, command: line, description, ...classifyExample(line, description) });
    }
  }
  return examples;
}

/** Whether an example's exit status means it worked: 0, or for diff also 1 ("the change opens or closes connections"). */
export function isSuccessStatus(id: string, code: number): boolean {
  return code === 0 || (id === 'diff' && code === 1);
}
