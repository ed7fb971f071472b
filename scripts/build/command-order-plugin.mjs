// esbuild plugin of both builds (scripts/build/bundle.mjs for dist/, scripts/package/bundle-sea.mjs for
// the standalone executable): @oclif/core's Plugin.load sorts the commands with localeCompare, whose
// first call in a process loads ICU's collation data (10-15 ms of every start); the sort is given
// scripts/build/command-order.cjs, which orders our ids exactly as localeCompare does. The build fails
// if oclif's code no longer has that sort (a new oclif: look again).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const ORDER = fileURLToPath(new URL('./command-order.cjs', import.meta.url));
const SORT = '.sort((a, b) => a.id.localeCompare(b.id))';

/** Replaces oclif's localeCompare sort of the commands by command-order.cjs. */
export const commandOrder = {
  name: 'command-order',
  setup(b) {
    b.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (source.split(SORT).length !== 2) {
        throw new Error(`${args.path}: expected one "${SORT}" (scripts/build/command-order-plugin.mjs patches it)`);
      }
      const compare = `(0, require(${JSON.stringify(ORDER)}).compareIds)(a.id, b.id)`;
      return { contents: source.replace(SORT, `.sort((a, b) => ${compare})`), loader: 'js' };
    });
  },
};
