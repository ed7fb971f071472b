// Loads a CommonJS file of dist/ with V8's compiled code kept between runs (Node 20 has no compile
// cache; Node 22's does not reach code compiled by vm): the file is compiled with vm.Script, given
// the code V8 made for it the last time (cachedData), and after the run the code compiled by then
// (the functions the run called included) is written for the next. V8 does not keep a dynamic
// import() callback with cached code, so the file's `await import(` calls were renamed by the build
// to `__netpolImport`, a parameter of its wrapper served by this module's own import(). The cache is one file per Node version, architecture and content hash of the file, in a
// directory of the user's own under the OS temp directory (as Node's cache is); NODE_COMPILE_CACHE
// moves it and NODE_DISABLE_COMPILE_CACHE=1 turns it off, as they do Node's. Anything wrong with the
// cache (absent, unreadable, rejected by V8, a directory not the user's) only means compiling anew.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** dist/, where bundle.mjs writes the CommonJS files (this code itself lands in dist/ or dist/chunks/). */
function distDir() {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith('chunks') ? dirname(here) : here;
}

function cacheDir() {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return process.env.NODE_COMPILE_CACHE || join(tmpdir(), `kubectl-netpol-compile-cache-${uid}`);
}

/** The cache directory when it exists and is the user's own (another user's could hold anything). */
function ownDirectory(dir) {
  try {
    const stat = statSync(dir);
    return stat.isDirectory() && (typeof process.getuid !== 'function' || stat.uid === process.getuid());
  } catch {
    return false;
  }
}

/** Cache files unused for this long (those of older builds and Node versions) go when a new one is written. */
const STALE_MS = 14 * 24 * 3600 * 1000;

/**
 * Removes the cache files of `dir` not read for STALE_MS (by access time; on a file system mounted
 * noatime, the time it was written) and the partial writes of runs that died an hour ago or more: a
 * file is written once per build and Node version, and nothing else removes those of old ones.
 */
function pruneStale(dir, now) {
  for (const name of readdirSync(dir)) {
    if (!/\.bin(\.\d+)?$/.test(name)) continue;
    const path = join(dir, name);
    try {
      const stat = statSync(path);
      const used = Math.max(stat.atimeMs, stat.mtimeMs);
      if (now - used > (name.endsWith('.bin') ? STALE_MS : 3600 * 1000)) rmSync(path, { force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** Runs the CommonJS file `name` of dist/ (its content hash given by the build) and returns its module.exports. */
export function loadCompiled(name, hash) {
  const file = join(distDir(), name);
  const require = createRequire(file);
  const useCache = process.env.NODE_DISABLE_COMPILE_CACHE !== '1';
  const dir = cacheDir();
  const cacheFile = join(dir, `${process.version}-${process.arch}-${hash}.bin`);
  let cachedData;
  if (useCache && ownDirectory(dir)) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  // esbuild writes ASCII (it escapes the rest), so latin1 reads it exactly, and fast.
  const source = readFileSync(file, 'latin1');
  const wrapped = `(function (exports, require, module, __filename, __dirname, __netpolImport) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  if (useCache && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        if (!ownDirectory(dir)) return;
        const partial = `${cacheFile}.${process.pid}`;
        writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
        renameSync(partial, cacheFile);
        pruneStale(dir, Date.now());
      } catch {
        // No cache this time.
      }
    });
  }
  const exports = {};
  const mod = { exports, id: file, filename: file, loaded: false };
  const dynamicImport = (specifier) => import(specifier);
  script.runInThisContext().call(exports, exports, require, mod, file, dirname(file), dynamicImport);
  mod.loaded = true;
  return mod.exports;
}
