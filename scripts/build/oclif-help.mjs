// What `@oclif/core/help` resolves to in dist/ (scripts/build/bundle.mjs points it here): oclif's help
// path as one CommonJS file, dist/oclif-help.cjs (scripts/build/oclif-help-entry.cjs), loaded through
// scripts/build/compiled.mjs (V8's compiled code kept between runs). Its module.exports is the
// default export, as for the package's subpath.
/* global __OCLIF_HELP_CJS_HASH__ -- defined by the build: the content hash of dist/oclif-help.cjs */
import { loadCompiled } from './compiled.mjs';

export default loadCompiled('oclif-help.cjs', __OCLIF_HELP_CJS_HASH__);
