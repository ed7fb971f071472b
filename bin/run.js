#!/usr/bin/env node
// kubectl runs this as `kubectl netpol ...` (plugin discovery finds kubectl-netpol on PATH).
import { flush, run } from '@oclif/core';
import { normalizeArgv } from '../dist/lib/argv.js';

try {
  await run(normalizeArgv(process.argv.slice(2)), import.meta.url);
  await flush();
} catch (error) {
  const { reportError } = await import('../dist/lib/base-command.js');
  reportError(error);
}
