#!/usr/bin/env node
// kubectl runs this as `kubectl netpol ...` (plugin discovery finds kubectl-netpol on PATH).
import module from 'node:module';

// Node >= 22.1 keeps V8's compiled code of dist/ between runs (in the OS temp directory); Node 20 has
// no compile cache and skips this. It must come before the import it speeds up.
module.enableCompileCache?.();
const { runCli } = await import('../dist/cli.js');
await runCli(process.argv.slice(2), import.meta.url);
