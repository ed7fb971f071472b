// The esbuild step of scripts/package/build-sea.sh: the standalone executable's one CommonJS file, with
// the same patch of oclif's sort of the commands as dist/ (scripts/build/command-order-plugin.mjs).
// tr46 (client-node -> node-fetch -> whatwg-url) requires the built-in punycode, which Node 22 warns
// about (DEP0040) outside node_modules, as a bundle is: the npm package is the same code, silently.
// Usage: node scripts/package/bundle-sea.mjs ENTRY OUTFILE NODE_MAJOR
import { build } from 'esbuild';

import { commandOrder } from '../build/command-order-plugin.mjs';

const [entry, outfile, major] = process.argv.slice(2);
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${major}`,
  alias: { punycode: 'punycode/' },
  outfile,
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [commandOrder],
});
