/** YAML-shaped trees for the YAML readers' property tests: scalars as written, mappings and sequences. */
import fc from 'fast-check';

/** A scalar as written (plain, quoted or a block scalar), a mapping of written keys, or a sequence. */
export type YamlTree = string | { map: [string, YamlTree][] } | { seq: YamlTree[] };

/** Trees of small depth over the given written scalars and keys. */
export function yamlTrees(scalar: fc.Arbitrary<string>, key: fc.Arbitrary<string>): fc.Arbitrary<YamlTree> {
  return fc.letrec<{ node: YamlTree }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.record({ map: fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }) }),
      fc.record({ seq: fc.array(tie('node'), { maxLength: 4 }) }),
    ),
  })).node;
}
