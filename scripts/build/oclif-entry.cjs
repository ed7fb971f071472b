// The entry of dist/oclif.cjs (scripts/build/bundle.mjs): @oclif/core with its dependencies, as one file.
module.exports = require('@oclif/core');
