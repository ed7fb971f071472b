#!/usr/bin/env node
// kubectl runs this as `kubectl netpol ...` (plugin discovery finds kubectl-netpol on PATH).
import { readFileSync } from 'node:fs';

import { flush, run } from '@oclif/core';
import { flagTableOf, normalizeArgv } from '../dist/lib/argv.js';

try {
  // Which flags take a value comes from the flag definitions, as `npm run build` wrote them for oclif.
  const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8'));
  await run(normalizeArgv(process.argv.slice(2), flagTableOf(manifest.commands)), import.meta.url);
  await flush();
} catch (error) {
  const { reportError } = await import('../dist/lib/base-command.js');
  reportError(error);
}
