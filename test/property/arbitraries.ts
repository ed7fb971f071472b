/** fast-check arbitraries shared by the property suites: label keys and values, selectors, addresses. */
import fc from 'fast-check';
import type { V1LabelSelector, V1LabelSelectorRequirement } from '@kubernetes/client-node';

/** Seed of every property suite: replay a failure with FC_SEED=<seed> (and the path fast-check prints). */
export const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20250611;

/** Options for fc.assert: seeded, bounded. */
export function runs(numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns, endOnFailure: false };
}

const alnum = fc.constantFrom(...'abcxyz019'.split(''));
const middle = fc.constantFrom(...'abz09-_.'.split(''));

/** A valid label name part: alphanumeric at both ends, `-_.` inside, at most 63 characters. */
const labelName = fc
  .tuple(alnum, fc.array(middle, { maxLength: 6 }), alnum)
  .map(([a, m, z]) => a + m.join('') + z)
  .chain((long) => fc.constantFrom(long, long[0]));

/** A valid label key, with or without a DNS prefix. */
export const labelKey = fc.oneof(
  labelName,
  fc.tuple(fc.constantFrom('example.com', 'k8s.io', 'a-b.c'), labelName).map(([p, n]) => `${p}/${n}`),
);

/** A valid label value (may be empty). */
export const labelValue = fc.oneof(labelName, fc.constant(''));

/** A valid LabelSelector requirement. */
const requirement: fc.Arbitrary<V1LabelSelectorRequirement> = fc.oneof(
  fc.record({
    key: labelKey,
    operator: fc.constantFrom('In', 'NotIn'),
    values: fc.uniqueArray(labelValue, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ key: labelKey, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);

/** A valid LabelSelector (matchLabels and/or matchExpressions, possibly `{}`). */
export const selector: fc.Arbitrary<V1LabelSelector> = fc
  .record(
    {
      matchLabels: fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 3 }),
      matchExpressions: fc.array(requirement, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  .map((s) => s as V1LabelSelector);

/** Label sets over a small key space, so selectors and labels meet. */
export const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 4 });

/** Text made of the selector grammar's own characters plus some noise, for "never crashes" properties. */
export const selectorish = fc
  .array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom('a', 'b', 'x', '1', '=', '==', '!=', '!', ',', ' ', '(', ')', 'in', 'notin'),
      },
      { weight: 2, arbitrary: fc.constantFrom('.', '-', '_', '/', '<', '>', '@', '*', '\t', 'é', '\u0000', 'k8s.io/') },
      { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
    ),
    { maxLength: 14 },
  )
  .map((parts) => parts.join(''));
