/**
 * Tests that need a program besides node (tmux, zsh, python3, dot, openssl, go, kubectl, npm) say so
 * here, before they run, so that a missing program never lets a test pass. Off CI such a test is
 * skipped with the reason in its name; on CI (`CI` set, as .ci/run does) it fails saying what is
 * missing, since .ci/run installs these programs and Go is on CI machines.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { describe, test } from '@jest/globals';

type TestFn = Parameters<typeof test>[1];

/** Registers a test as jest's `test(name, fn, timeout)` does. */
type TestRegistrar = (name: string, fn: TestFn, timeout?: number) => void;

/** Registers a block of tests as jest's `describe(name, fn)` does. */
type DescribeRegistrar = (name: string, fn: () => void) => void;

/** What `requirePrograms` gives: where each program is, and `test`/`describe` that honour the need. */
interface ProgramRequirement {
  /** The missing programs as a sentence (`zsh is not on PATH`), or undefined when all are there. */
  missing: string | undefined;
  /** The absolute path of each program found on PATH. */
  paths: Record<string, string>;
  test: TestRegistrar;
  describe: DescribeRegistrar;
}

/** Whether this run is on CI, where a missing program is a failure rather than a skip. */
function isOnCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/** The first executable file called `name` in the directories of PATH, as a shell would find it. */
function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * Looks up `programs` on PATH once, when the test file is loaded. With all of them there, `test` and
 * `describe` are jest's own. Without one: off CI they register skipped tests whose names end with
 * the reason; on CI a test that fails with it (a describe becomes that one failing test, so its
 * hooks, which would need the program too, never run).
 */
export function requirePrograms(...programs: string[]): ProgramRequirement {
  const paths: Record<string, string> = {};
  const absent: string[] = [];
  for (const name of programs) {
    const path = findProgram(name);
    if (path) paths[name] = path;
    else absent.push(name);
  }
  if (absent.length === 0) return { missing: undefined, paths, test, describe };

  const missing = `${absent.join(' and ')} ${absent.length === 1 ? 'is' : 'are'} not on PATH`;
  if (isOnCi()) {
    const fail = () => {
      throw new Error(
        `${missing}: CI provides it (.ci/run installs the test tools), so this test fails instead of skipping`,
      );
    };
    return {
      missing,
      paths,
      test: (name, _fn, timeout) => test(name, fail, timeout),
      describe: (name) => describe(name, () => test(`needs ${programs.join(', ')}`, fail)),
    };
  }
  return {
    missing,
    paths,
    test: (name, fn, timeout) => test.skip(`${name} [skipped: ${missing}]`, fn, timeout),
    describe: (name, fn) => describe.skip(`${name} [skipped: ${missing}]`, fn),
  };
}
