/**
 * `-f` must never load @kubernetes/client-node. The modules are compiled as the build compiles them
 * (type-only imports vanish) and run in a child node whose resolve hook fails on client-node.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const ROOT = process.cwd();
const MARKER = 'CLIENT-NODE-LOADED';

let outDir: string;

/** Compiles `entry` and every module it imports relatively into outDir; returns the entry's output path. */
function compileGraph(entry: string): string {
  const seen = new Set<string>();
  const queue = [resolve(ROOT, entry)];
  while (queue.length > 0) {
    const source = queue.pop()!;
    if (seen.has(source)) continue;
    seen.add(source);
    const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    const target = join(outDir, relative(ROOT, source)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    for (const [, specifier] of outputText.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      queue.push(resolve(dirname(source), specifier.replace(/\.js$/, '.ts')));
    }
  }
  return join(outDir, relative(ROOT, entry)).replace(/\.ts$/, '.js');
}

/** Imports a compiled module in a child node (with the guard hook) and runs `body` against it as `m`. */
async function runGuarded(modulePath: string, body: string): Promise<{ ok: boolean; output: string }> {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(modulePath).href)});\n${body}\nconsole.log('DONE');`;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', pathToFileURL(join(outDir, 'register.mjs')).href, '--input-type=module', '-e', script],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    return { ok: stdout.includes('DONE'), output: stdout + stderr };
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  }
}

beforeAll(() => {
  // Inside the repo (git-ignored .cache) so that bare imports such as 'yaml' resolve from node_modules.
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  outDir = mkdtempSync(join(ROOT, '.cache', 'import-guard-'));
  writeFileSync(
    join(outDir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/')) {
    throw new Error('${MARKER} by ' + context.parentURL);
  }
  return next(specifier, context);
}\n`,
  );
  writeFileSync(
    join(outDir, 'register.mjs'),
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  );
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('the -f path does not load @kubernetes/client-node', () => {
  it('imports files.ts and loads manifests without resolving client-node', async () => {
    const files = compileGraph('src/lib/cluster/files.ts');

    const result = await runGuarded(
      files,
      `const { snapshot } = await m.loadManifests(['test/fixtures/cluster/files/app.yaml', 'test/fixtures/cluster/files/workloads.yaml']);
if (snapshot.pods.length < 2) throw new Error('nothing loaded');`,
    );

    expect(result.output).not.toContain(MARKER);
    expect(result.ok).toBe(true);
  }, 20_000);

  it('the guard does catch a module that loads client-node (live.ts)', async () => {
    const live = compileGraph('src/lib/cluster/live.ts');

    const result = await runGuarded(live, '');

    expect(result.ok).toBe(false);
    expect(result.output).toContain(MARKER);
  }, 20_000);
});
