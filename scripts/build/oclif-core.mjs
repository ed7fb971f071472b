// What `@oclif/core` resolves to in dist/ (scripts/build/bundle.mjs points it here): oclif and its
// dependencies are one CommonJS file, dist/oclif.cjs (scripts/build/oclif-entry.cjs), loaded through
// scripts/build/compiled.mjs so that V8's compiled code of it is kept between runs (Node 20 has no
// compile cache of its own). Its module.exports is the default export, as for the package itself.
/* global __OCLIF_CJS_HASH__ -- defined by the build: the content hash of dist/oclif.cjs */
import { loadCompiled } from './compiled.mjs';

const core = loadCompiled('oclif.cjs', __OCLIF_CJS_HASH__);
export default core;
export const { Args, Command, Config, Errors, Flags, Plugin, flush, run } = core;
