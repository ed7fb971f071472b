#!/usr/bin/env bash
# `npm run build`: dist/ as installed. tsc checks the types (it emits nothing); esbuild bundles src/ with
# its dependencies into ES modules, one entry per command (dist/commands/<id>.js, where oclif finds
# them through package.json and oclif.manifest.json) and dist/cli.js for bin/run.js and
# bin/kubectl_complete-netpol, with the code they share in dist/chunks/. Start-up then reads a handful
# of files instead of some three hundred (@oclif/core alone is 66 files and semver 47), which was most
# of its cost. Kept out of the bundle: @kubernetes/client-node and @inquirer/prompts (imported lazily,
# only on the live path and for prompts, from node_modules as before) and typescript (oclif asks for it
# only in development). ejs, which oclif runs every help text through, is replaced by
# scripts/build/ejs-verbatim.cjs (a text without a tag is its own rendering; ejs itself only for one
# with a tag). tinyglobby, which oclif requires as it loads but calls only for a package without
# oclif.manifest.json, is loaded when called (scripts/build/tinyglobby-lazy.cjs). oclif's sort of the
# commands by localeCompare (10-15 ms of ICU data on every start) is given scripts/build/command-order.cjs
# (scripts/build/bundle.mjs runs esbuild with that plugin). @oclif/core and its dependencies are one
# CommonJS file, dist/oclif.cjs, which the ES modules load through scripts/build/compiled.mjs with V8's
# compiled code kept between runs (Node 20 has no compile cache; `@oclif/core/help`, the help path,
# stays in the ES modules). Last, oclif writes oclif.manifest.json from the bundled commands.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin

rm -rf dist
"$bin/tsc" -p tsconfig.build.json --noEmit
node scripts/build/bundle.mjs src/cli.ts src/commands/*.ts
"$bin/oclif" manifest
