// The esbuild step of scripts/build.sh (its comment says what is bundled and why), through esbuild's
// API for one plugin (scripts/build/command-order-plugin.mjs: oclif's sort of the commands without
// ICU's collation data).
// Usage: node scripts/build/bundle.mjs ENTRY...
import { build } from 'esbuild';

import { commandOrder } from './command-order-plugin.mjs';

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
