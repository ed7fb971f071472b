// The esbuild steps of scripts/build.sh (its comment says what is bundled and why), through esbuild's
// API for plugins (scripts/build/command-order-plugin.mjs: oclif's sort of the commands without ICU's
// collation data). First @oclif/core with its dependencies, and its help path (`@oclif/core/help`, a
// third of oclif: all that --help loads), each as one CommonJS file, dist/oclif.cjs and
// dist/oclif-help.cjs, which scripts/build/compiled.mjs loads with V8's compiled code kept between runs
// (Node 20 has no compile cache); then the ES modules, in which those two imports are
// scripts/build/oclif-core.mjs and oclif-help.mjs (the loaders).
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

/**
 * One CommonJS file of dist/ from `entry`, for compiled.mjs. V8 does not keep a script's dynamic
 * import() callback with its cached code, so the file's import() calls (oclif's of the commands and
 * of config files) go through a function the loader passes in, from an ES module. Returns its content
 * hash, which names its cache.
 */
async function commonJsFile(entry, outfile) {
  await build({ ...shared, entryPoints: [entry], format: 'cjs', outfile, plugins: [commandOrder] });
  const source = readFileSync(outfile, 'utf8').replaceAll('await import(', 'await __netpolImport(');
  const left = source.match(/(?<!["'`])\bimport\(/g);
  if (left) throw new Error(`${outfile}: ${left.length} import() left that compiled.mjs would not serve`);
  writeFileSync(outfile, source);
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

const oclifHash = await commonJsFile('scripts/build/oclif-entry.cjs', 'dist/oclif.cjs');
const helpHash = await commonJsFile('scripts/build/oclif-help-entry.cjs', 'dist/oclif-help.cjs');

/** `@oclif/core` and `@oclif/core/help` are the loaders of dist/oclif.cjs and dist/oclif-help.cjs. */
const oclifCore = {
  name: 'oclif-core',
  setup(b) {
    const stub = (name) => fileURLToPath(new URL(name, import.meta.url));
    b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: stub('./oclif-core.mjs') }));
    b.onResolve({ filter: /^@oclif\/core\/help$/ }, () => ({ path: stub('./oclif-help.mjs') }));
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
  define: { __OCLIF_CJS_HASH__: JSON.stringify(oclifHash), __OCLIF_HELP_CJS_HASH__: JSON.stringify(helpHash) },
  // The banner gives the CommonJS code inside (yaml, ...) a require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __netpolCreateRequire } from 'node:module'; const require = __netpolCreateRequire(import.meta.url);",
  },
  plugins: [oclifCore, commandOrder],
});
