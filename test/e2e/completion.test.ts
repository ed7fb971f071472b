/**
 * `kubectl netpol <TAB>` as kubectl (1.26+) does it: kubectl's hidden `__complete` finds
 * kubectl_complete-netpol on PATH and runs it with the words after `netpol`; the names come from the
 * real API server of the e2e tier.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

import { createNamespace, kubectl, pluginPathDir, repoRoot } from './helpers.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubectl-netpol-complete-'));
  symlinkSync(join(repoRoot, 'bin', 'kubectl_complete-netpol'), join(dir, 'kubectl_complete-netpol'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** kubectl's completion of `kubectl netpol WORDS...`: the candidates (descriptions dropped) and the directive. */
async function kubectlComplete(...words: string[]): Promise<{ values: string[]; directive: string }> {
  const path = `${dir}:${pluginPathDir()}:${process.env.PATH ?? ''}`;
  const result = await kubectl(['__complete', 'netpol', ...words], { env: { PATH: path } });
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  return { values: lines.slice(0, -1).map((line) => line.split('\t')[0]), directive: lines.at(-1) ?? '' };
}

describe('kubectl netpol <TAB> against the real API server', () => {
  test('completes subcommands, then namespaces of the cluster for isolate', async () => {
    const namespace = await createNamespace();
    const commands = await kubectlComplete('');
    expect(commands.values).toEqual(['allow', 'audit', 'completion', 'diff', 'isolate', 'reachable-from', 'who-can']);
    const namespaces = await kubectlComplete('isolate', namespace.slice(0, 6));
    expect(namespaces.values).toContain(namespace);
    expect(namespaces.directive).toBe(':4');
    const all = await kubectlComplete('who-can', '--namespace', '');
    expect(all.values).toEqual(expect.arrayContaining(['default', 'kube-system', namespace]));
  }, 60_000);
});
