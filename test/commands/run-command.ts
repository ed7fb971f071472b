/** Runs a command class in-process with stdout, stderr and the exit code captured. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';

import { Config, Help, type Command } from '@oclif/core';
import { expect, jest } from '@jest/globals';

/** The repository root (where package.json is). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a run produced. */
export interface RunOutput<T> {
  result: T | undefined;
  stdout: string;
  stderr: string;
  exitCode: number;
}

let config: Config | undefined;

/** A command class as oclif builds it. */
interface CommandClass<T> {
  new (argv: string[], config: Config): { run(): Promise<T> };
}

/** oclif's wrapper around run() (init, run, catch, finally), protected in its types. */
interface Runnable<T> {
  _run(): Promise<T | undefined>;
}

/**
 * Runs `new Command(argv, config)._run()` (what oclif's run does), capturing output and exit code.
 * With `onStdout`, stdout goes there chunk by chunk instead (for outputs too large to keep).
 */
export async function runCommand<T>(
  command: CommandClass<T>,
  argv: string[],
  onStdout?: (chunk: string) => void,
): Promise<RunOutput<T>> {
  config ??= await Config.load(ROOT);
  let stdout = '';
  let stderr = '';
  // A spy keeps every call's arguments: with onStdout (output too large to keep), a plain function instead.
  const write = process.stdout.write;
  const out = onStdout
    ? {
        mockRestore: () => {
          process.stdout.write = write;
        },
      }
    : jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stdout += chunk.toString();
        return true;
      });
  if (onStdout) {
    process.stdout.write = ((chunk: string | Uint8Array) => {
      onStdout(chunk.toString());
      return true;
    }) as typeof process.stdout.write;
  }
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  try {
    const result = await (new command(argv, config) as unknown as Runnable<T>)._run();
    return { result, stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = previousExitCode;
    out.mockRestore();
    err.mockRestore();
  }
}

/** Compares text with a golden file byte for byte; UPDATE_GOLDEN=1 rewrites the file instead. */
export function expectGolden(text: string, name: string): void {
  const path = join(ROOT, 'test', 'fixtures', 'who-can', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

/** oclif's help for a command id, as `kubectl netpol ID --help` prints it (without colour). */
export async function helpOf(id: string): Promise<string> {
  config ??= await Config.load(ROOT);
  class PlainHelp extends Help {
    format(command: Command.Loadable): string {
      return this.formatCommand(command);
    }
  }
  return new PlainHelp(config, { stripAnsi: true }).format(config.findCommand(id, { must: true }));
}

/** The USAGE lines of a command's help, each on one line again (oclif wraps them). */
export async function usageOf(id: string): Promise<string[]> {
  const help = await helpOf(id);
  const usage = help.slice(help.indexOf('USAGE'), help.indexOf('ARGUMENTS')).replace(/\n {4}/g, ' ');
  return usage.match(/^ {2}\$ .*$/gm) ?? [];
}
