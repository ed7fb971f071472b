/** The layering is a lint rule: an engine file that reaches outside the engine, or does I/O, fails `npm run lint`. */
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

import { ROOT } from './commands/run-command.js';

/** The rules eslint reports for `code` as if it were the file at `path`. */
async function lintAs(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${path}` });
  return result.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

describe('the engine imports only the engine, and types', () => {
  it.each([
    ["import { paint } from '../output/style.js';\nexport const x = paint;\n", 'nothing outside the engine'],
    ["import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", 'no module but types'],
    ["import { stringify } from 'yaml';\nexport const x = stringify;\n", 'no module but types'],
    ["import { KubeConfig } from '@kubernetes/client-node';\nexport const x = KubeConfig;\n", 'no module but types'],
  ])('refuses %j', async (code, why) => {
    const messages = await lintAs('src/lib/engine/probe.ts', code);
    expect(messages.some((m) => m.startsWith('no-restricted-imports') && m.includes(why))).toBe(true);
  });

  it('accepts type imports and the engine itself', async () => {
    const code = [
      "import type { V1Pod } from '@kubernetes/client-node';",
      "import type { SnapshotScope } from '../cluster/types.js';",
      "import { keyOf } from './model.js';",
      'export const x = (pod: V1Pod, scope: SnapshotScope) => [keyOf, pod, scope];',
      '',
    ].join('\n');
    expect(await lintAs('src/lib/engine/probe.ts', code)).toEqual([]);
  });

  it('leaves the other layers free to import the engine and node:', async () => {
    const code =
      "import { readFileSync } from 'node:fs';\nimport { keyOf } from '../engine/model.js';\nexport const x = [readFileSync, keyOf];\n";
    expect(await lintAs('src/lib/output/probe.ts', code)).toEqual([]);
  });
});
