/** Objects without a namespace in -f files go to -n, else the context's namespace, else `default`: where `kubectl apply -f FILE` puts them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

import { afterAll, describe, expect, it } from '@jest/globals';

const FILE = 'test/fixtures/namespaceless/world.yaml';
const dir = mkdtempSync(join(tmpdir(), 'netpol-namespaceless-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig whose current context has this namespace (nothing else is read with -f). */
function kubeconfigIn(namespace: string): string {
  const file = join(dir, `${namespace}.yaml`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: here',
      'contexts:',
      `- name: here`,
      `  context: {cluster: nowhere, user: nobody, namespace: ${namespace}}`,
      'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: nobody, user: {}}]',
      '',
    ].join('\n'),
  );
  return file;
}

function pairs(env: NodeJS.ProcessEnv, ...args: string[]): string[] {
  const out = execFileSync('node', ['bin/run.js', 'who-can', '-f', FILE, '--port', '80', '-o', 'json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', HOME: dir, KUBECONFIG: '', ...env },
  });
  const doc = JSON.parse(out) as {
    connections: { from: { namespace?: string; pod?: string }; to: { namespace: string; pod: string } }[];
  };
  return doc.connections
    .filter((c) => c.from.pod !== undefined)
    .map((c) => `${c.from.namespace}/${c.from.pod} -> ${c.to.namespace}/${c.to.pod}`)
    .sort();
}

describe('a policy without a namespace', () => {
  it('isolates the namespace given with -n', () => {
    // The egress default-deny lands in s: nothing in s reaches anything.
    expect(pairs({}, '-n', 's')).toEqual([]);
  });

  it('isolates the context namespace without -n, and -n wins over it', () => {
    expect(pairs({ KUBECONFIG: kubeconfigIn('s') }, '-A')).toEqual([]);
    expect(pairs({ KUBECONFIG: kubeconfigIn('s') }, '-n', 'elsewhere', '-A')).toEqual([
      's/cli -> s/srv',
      's/srv -> s/cli',
    ]);
  });

  it('isolates default without -n and without a kubeconfig', () => {
    expect(pairs({}, '-A')).toEqual(['s/cli -> s/srv', 's/srv -> s/cli']);
  });
});
