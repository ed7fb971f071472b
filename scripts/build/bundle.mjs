// The esbuild steps of scripts/build.sh (its comment says what is bundled and why), through esbuild's
// API for plugins (scripts/build/command-order-plugin.mjs: oclif's sort of the commands without ICU's
// collation data). First @oclif/core and its dependencies as one CommonJS file, dist/oclif.cjs, which
// scripts/build/compiled.mjs loads with V8's compiled code kept between runs (Node 20 has no compile
// cache); then the ES modules, in which `@oclif/core` is scripts/build/oclif-core.mjs (that loader)
// while `@oclif/core/help` (the help path, a third of oclif) is bundled as before.
// Usage: node scripts/build/bundle.mjs ENTRY...
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { commandOrder } from './command-order-plugin.mjs';

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['@kubernetes/client-node', '@inquirer/prompts', 'typescript'],
  alias: { ejs: './scripts/build/ejs-verbatim.cjs', tinyglobby: './scripts/build/tinyglobby-lazy.cjs' },
  legalComments: 'none',
  logLevel: 'warning',
};

await build({
  ...shared,
  entryPoints: ['scripts/build/oclif-entry.cjs'],
  format: 'cjs',
  outfile: 'dist/oclif.cjs',
  plugins: [commandOrder],
});
// V8 does not keep a script's dynamic import() callback with its cached code, so oclif's import() of
// the commands (and of config files) goes through a function the loader passes in, from an ES module.
const oclifSource = readFileSync('dist/oclif.cjs', 'utf8').replaceAll('await import(', 'await __netpolImport(');
const left = oclifSource.match(/(?<!["'`])\bimport\(/g);
if (left) throw new Error(`dist/oclif.cjs: ${left.length} import() left that compiled.mjs would not serve`);
writeFileSync('dist/oclif.cjs', oclifSource);
const oclifHash = createHash('sha256').update(oclifSource).digest('hex').slice(0, 16);

/** `@oclif/core` itself (not its subpaths) is the loader of dist/oclif.cjs. */
const oclifCore = {
  name: 'oclif-core',
  setup(b) {
    const stub = fileURLToPath(new URL('./oclif-core.mjs', import.meta.url));
    b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: stub }));
  },
};

await build({
  ...shared,
  entryPoints: process.argv.slice(2),
  splitting: true,
  format: 'esm',
  outdir: 'dist',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  define: { __OCLIF_CJS_HASH__: JSON.stringify(oclifHash) },
  // The banner gives the CommonJS code inside (yaml, ...) a require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __netpolCreateRequire } from 'node:module'; const require = __netpolCreateRequire(import.meta.url);",
  },
  plugins: [oclifCore, commandOrder],
});
