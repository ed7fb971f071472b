// What scripts/build.sh bundles in place of tinyglobby (esbuild --alias:tinyglobby=...). @oclif/core
// requires it when it loads, to find commands by globbing when a package has no oclif.manifest.json;
// ours always has one, so it was evaluated on every start and never called. It is loaded when called.
'use strict';

exports.glob = function glob(...args) {
  // By path: the package name would be aliased back to this file.
  return require('../../node_modules/tinyglobby/dist/index.cjs').glob(...args);
};
