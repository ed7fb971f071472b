// What scripts/build.sh bundles in place of ejs (esbuild --alias:ejs=...). @oclif/core asks ejs for one
// thing, render(template, data): its help renders every description, summary and example through it,
// and compiling each into a function was a fifth of `kubectl netpol --help`. A text with no ejs tag
// (no `<%`, no `%>`) renders as itself, so only a text with one goes to ejs, loaded then.
// test/build/ejs-verbatim.test.ts checks it against ejs on every text of the manifest.
'use strict';

let ejs;

exports.render = function render(template, data) {
  if (typeof template === 'string' && !template.includes('<%') && !template.includes('%>')) return template;
  // By path: the package name would be aliased back to this file.
  ejs ??= require('../../node_modules/ejs/lib/cjs/ejs.js');
  return ejs.render(template, data);
};
