/** Runs a program as a user's shell would, with exactly the environment given (nothing inherited). */
import { spawn } from 'node:child_process';

/** What a run produced. */
export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in `cwd` with `env` as its whole environment; never throws on exit code. */
export function runProgram(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
}

/** The environment of this process as a user's shell has it, plus `extra`: without jest's
 * NODE_OPTIONS (--experimental-vm-modules makes every node child warn on stderr) and NODE_ENV=test
 * (which makes oclif look for TypeScript sources and warn when it finds no typescript). */
export function inheritedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  delete env.NODE_ENV;
  return env;
}
