/** Objects without a namespace are in `default` (issue 2), so -n never changes what a set of files means. */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';

const FILE = 'test/fixtures/namespaceless/world.yaml';

function pairs(...args: string[]): string[] {
  const out = execFileSync('node', ['bin/run.js', 'who-can', '-f', FILE, '--port', '80', '-o', 'json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
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
  it('isolates default, not the namespace given with -n', () => {
    expect(pairs('-n', 's')).toEqual(['s/cli -> s/srv', 's/srv -> s/cli']);
    expect(pairs('-A')).toEqual(['s/cli -> s/srv', 's/srv -> s/cli']);
  });
});
