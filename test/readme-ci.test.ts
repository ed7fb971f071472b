/**
 * The README's CI recipe, as far as it can run here: the `kubectl netpol diff` step's exact `run:`
 * line, parsed out of the workflow in the README, run as GitHub Actions runs it (`bash -e`) in a
 * checkout laid out as the workflow leaves it (base branch in `base/`, the pull request at the top)
 * with examples/shop as the base and examples/shop with examples/shop-change as the pull request.
 * `kubectl` is a shim that runs this repository's CLI as the plugin.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';

const ROOT = process.cwd();

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}

/** The workflow of the README's CI section. */
function workflow(): { on: string; jobs: Record<string, { steps: Step[] }> } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### In CI: the diff as a pull-request comment'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('no yaml block in the README CI section');
  return parse(block[1]) as ReturnType<typeof workflow>;
}

function steps(): Step[] {
  return Object.values(workflow().jobs).flatMap((job) => job.steps);
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A checkout as the workflow lays it out: the pull request's k8s/ at the top, the base branch's in base/. */
function checkout(pr: (k8s: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-ci-'));
  dirs.push(dir);
  cpSync(join(ROOT, 'examples', 'shop'), join(dir, 'base', 'k8s'), { recursive: true });
  cpSync(join(ROOT, 'examples', 'shop'), join(dir, 'k8s'), { recursive: true });
  pr(join(dir, 'k8s'));
  // `kubectl netpol ARGS` runs this repository's CLI, as kubectl runs an installed plugin.
  writeFileSync(
    join(dir, 'kubectl'),
    `#!/bin/sh\n[ "$1" = netpol ] || exit 127\nshift\nexec "${process.execPath}" "${join(ROOT, 'bin', 'run.js')}" "$@"\n`,
  );
  chmodSync(join(dir, 'kubectl'), 0o755);
  return dir;
}

/** Runs a step's `run:` as GitHub Actions does (`bash -e {0}`), in the checkout. */
function runStep(step: Step, dir: string): { code: number | null; stderr: string } {
  const result = spawnSync('bash', ['-e', '-c', step.run!], {
    cwd: dir,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  return { code: result.status, stderr: result.stderr };
}

/** examples/shop-change, its objects placed in namespace api (the README example's -n api), written into k8s/. */
function applyShopChange(k8s: string): void {
  const text = readFileSync(join(ROOT, 'examples', 'shop-change', 'metrics.yaml'), 'utf8');
  // A later file's object replaces the one of the same name, as -f reads a directory in order.
  writeFileSync(join(k8s, 'metrics.yaml'), text.replace(/^( {2}name: .*)$/gm, '$1\n  namespace: api'));
}

describe('the README CI recipe', () => {
  test('compares the base branch with the pull request and posts the markdown file the diff step wrote', () => {
    const all = steps();
    const diff = all.filter((s) => s.run?.includes('kubectl netpol diff'));
    expect(diff).toHaveLength(1);
    expect(all.find((s) => s.with?.path === 'base')?.with?.ref).toBe('${{ github.base_ref }}');
    expect(all.find((s) => s.run?.includes('gh pr comment'))?.run).toContain('--body-file diff.md');
    expect(workflow().on).toBe('pull_request');
  });

  test('the diff step succeeds on a change (diff exits 1) and writes the markdown comment', () => {
    const step = steps().find((s) => s.run?.includes('kubectl netpol diff'))!;
    const dir = checkout(applyShopChange);
    expect(runStep(step, dir).code).toBe(0);
    const markdown = readFileSync(join(dir, 'diff.md'), 'utf8');
    expect(markdown).toContain('### kubectl netpol diff\n\n**12 connections opened, 2 closed in 3 namespaces**\n');
    expect(markdown).toContain('| NetworkPolicy | `api/allow-metrics` | configured |');
    expect(markdown).toContain(
      '| opens | 12 | `web/deployment/frontend` | `api/deployment/api` | 9090/TCP (keeps 8080/TCP) |',
    );
  });

  test('the diff step succeeds without a change, and fails when diff cannot compare', () => {
    const step = steps().find((s) => s.run?.includes('kubectl netpol diff'))!;
    const same = checkout(() => undefined);
    expect(runStep(step, same).code).toBe(0);
    expect(readFileSync(join(same, 'diff.md'), 'utf8')).toContain('**No connection opened or closed.**');
    // A base branch without k8s/: diff exits 3, `[ 3 -eq 1 ]` fails, and so does the step.
    const broken = checkout(() => undefined);
    rmSync(join(broken, 'base', 'k8s'), { recursive: true });
    const run = runStep(step, broken);
    expect({ failed: run.code !== 0, error: /^error: /m.test(run.stderr) }).toEqual({ failed: true, error: true });
  });
});
