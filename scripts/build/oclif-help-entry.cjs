// The entry of dist/oclif-help.cjs (scripts/build/bundle.mjs): @oclif/core/help, what --help loads.
module.exports = require('@oclif/core/help');
