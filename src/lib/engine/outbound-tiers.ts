/**
 * The cluster tiers in the outbound view (outbound.ts): for one source's tier class and one port,
 * full-width masks of the destinations an Admin rule accepts or denies, a Baseline rule denies, or no
 * NetworkPolicy isolates, for its egress and for their ingress; destination tier classes are taken by
 * group (the rules matching them, the policies selecting them, their port names), kept per world.
 */
import type { Bits, Layout, Point } from './layout.js';
import { segmentAt } from './tier-sides.js';
import { tierGroups, tierSideBetween } from './tier-world.js';
import type { PodClass, World } from './world.js';

/** Full-width masks of destinations by what the tiers say about the source's traffic to them at a point. */
interface TierMasks {
  acceptOut: Int32Array;
  denyOut: Int32Array;
  baselineDenyOut: Int32Array;
  acceptIn: Int32Array;
  denyIn: Int32Array;
  baselineDenyIn: Int32Array;
  /** Destinations no NetworkPolicy isolates for ingress (the Baseline tier decides for them). */
  ingressOpen: Int32Array;
  all: Int32Array;
  /** No tier rule says anything at this point. */
  silent: boolean;
}

const tierMasks = new WeakMap<World, Map<string, TierMasks>>();
const tierGroupBits = new WeakMap<World, Map<string, Bits>>();

/** The pods of a group of tier classes as bits (kept per world). */
function groupBits(world: World, layout: Layout, key: string, classes: number[]): Bits {
  let byKey = tierGroupBits.get(world);
  if (!byKey) tierGroupBits.set(world, (byKey = new Map()));
  let bits = byKey.get(key);
  if (!bits) byKey.set(key, (bits = layout.ofClasses(classes)));
  return bits;
}

/** What the tiers say about traffic from the source's tier class to every tier class, at a point (kept per world). */
export function tierMasksAt(
  world: World,
  layout: Layout,
  ingressOpen: Bits,
  sourceClass: PodClass,
  point: Point,
): TierMasks {
  const tw = world.tiers!;
  const source = tw.classOf[sourceClass.id];
  let byKey = tierMasks.get(world);
  if (!byKey) tierMasks.set(world, (byKey = new Map()));
  const key = `${source}|${point.key}`;
  let m = byKey.get(key);
  if (m) return m;
  const n = layout.nWords;
  const full = (bits: Bits) => {
    const out = new Int32Array(n);
    out.set(bits.words, bits.lo);
    return out;
  };
  m = {
    acceptOut: new Int32Array(n),
    denyOut: new Int32Array(n),
    baselineDenyOut: new Int32Array(n),
    acceptIn: new Int32Array(n),
    denyIn: new Int32Array(n),
    baselineDenyIn: new Int32Array(n),
    ingressOpen: full(ingressOpen),
    all: full(layout.all),
    silent: true,
  };
  // Destinations grouped by what the answer depends on: the rules matching them (egress), the policies
  // selecting them (ingress), and their port names.
  for (const direction of ['egress', 'ingress'] as const) {
    for (const group of tierGroups(tw, direction === 'egress' ? 'otherOut+ports' : 'subjectIn+ports')) {
      const side = tierSideBetween(tw, direction, source, group.rep);
      if (!side) continue;
      const admin = segmentAt(side.admin, point.protocol, point.port)?.hit.action;
      const isOut = direction === 'egress';
      let into: Int32Array | undefined;
      if (admin === 'Accept') into = isOut ? m.acceptOut : m.acceptIn;
      else if (admin === 'Deny') into = isOut ? m.denyOut : m.denyIn;
      else if (segmentAt(side.baseline, point.protocol, point.port)?.hit.action === 'Deny')
        into = isOut ? m.baselineDenyOut : m.baselineDenyIn;
      if (admin || into) m.silent = false;
      if (!into) continue;
      const bits = groupBits(world, layout, `${direction}/${group.rep}`, group.classes);
      for (let w = 0; w < bits.words.length; w++) into[bits.lo + w] |= bits.words[w];
    }
  }
  byKey.set(key, m);
  return m;
}
