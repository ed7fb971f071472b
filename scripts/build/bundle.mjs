// The esbuild step of scripts/build.sh (its comment says what is bundled and why), through esbuild's
// API for one plugin: @oclif/core's Plugin.load sorts the commands with localeCompare, whose first call
// in a process loads ICU's collation data (10-15 ms of every start); the sort is given
// scripts/build/command-order.cjs, which orders our ids exactly as localeCompare does. The build fails
// if oclif's code no longer has that sort (a new oclif: look again).
// Usage: node scripts/build/bundle.mjs ENTRY...
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const ORDER = fileURLToPath(new URL('./command-order.cjs', import.meta.url));
const SORT = '.sort((a, b) => a.id.localeCompare(b.id))';

/** Replaces oclif's localeCompare sort of the commands by command-order.cjs. */
const commandOrder = {
  name: 'command-order',
  setup(b) {
    b.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (source.split(SORT).length !== 2) {
        throw new Error(`${args.path}: expected one "${SORT}" (scripts/build/bundle.mjs patches it)`);
      }
      const compare = `(0, require(${JSON.stringify(ORDER)}).compareIds)(a.id, b.id)`;
      return { contents: source.replace(SORT, `.sort((a, b) => ${compare})`), loader: 'js' };
    });
  },
};

await build({
  entryPoints: process.argv.slice(2),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['@kubernetes/client-node', '@inquirer/prompts', 'typescript'],
  alias: { ejs: './scripts/build/ejs-verbatim.cjs', tinyglobby: './scripts/build/tinyglobby-lazy.cjs' },
  // The banner gives the CommonJS code inside (oclif, yaml, ...) a require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __netpolCreateRequire } from 'node:module'; const require = __netpolCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [commandOrder],
});
