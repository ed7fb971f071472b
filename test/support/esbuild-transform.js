/** Jest's transformer for the tests: esbuild strips the types of one file at a time (tsconfig.json has
 * isolatedModules, and `tsc --noEmit` is where types are checked), as ts-jest did, at a fraction of
 * its cost per file; a fresh clone's first run transpiles every file, so that cost is the tier's. */
import { createHash } from 'node:crypto';
import { transformSync } from 'esbuild';

const OPTIONS = { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'external', sourcesContent: false };

export default {
  process(source, filename) {
    // The map makes failures point at the test's own lines.
    const { code, map } = transformSync(source, { ...OPTIONS, sourcefile: filename });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256')
      .update(JSON.stringify(OPTIONS))
      .update(filename)
      .update('\0')
      .update(source)
      .digest('hex');
  },
};
