/** diffReachability: the connections a policy change cuts and opens. */
import { describe, expect, test } from '@jest/globals';
import { compileWorld } from '../../src/lib/engine/compile.js';
import { diffReachability, podsSelectedBy } from '../../src/lib/engine/diff.js';
import { formatPortSet, portSetOf, subtractPortSets, unionPortSets } from '../../src/lib/engine/ports.js';
import { WorldBuilder } from './world-builder.js';

const world = () =>
  new WorldBuilder()
    .namespace('x')
    .namespace('y')
    .pod('x/a', { pod: 'a' })
    .pod('x/b', { pod: 'b' })
    .pod('y/a', { pod: 'a' });

describe('diffReachability', () => {
  test('an ingress default-deny in x cuts every connection into x and nothing else', () => {
    const before = compileWorld(world().build());
    const after = compileWorld(
      world()
        .policy('x/default-deny', { podSelector: {}, policyTypes: ['Ingress'] })
        .build(),
    );
    const diff = diffReachability(
      before,
      after,
      after.pods.filter((p) => p.ref.namespace === 'x').map((p) => p.ref),
    );
    expect(diff.opened).toEqual([]);
    expect(
      diff.cut.map(
        (c) => `${c.from.namespace}/${c.from.name}->${c.to.namespace}/${c.to.name} ${formatPortSet(c.lost)}`,
      ),
    ).toEqual(['x/b->x/a all', 'y/a->x/a all', 'x/a->x/b all', 'y/a->x/b all']);
  });
  test('an allow rule opens exactly its port', () => {
    const deny = world().policy('x/default-deny', { podSelector: {}, policyTypes: ['Ingress'] });
    const before = compileWorld(deny.build());
    const after = compileWorld(
      deny
        .policy('x/allow', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 80 }] }],
        })
        .build(),
    );
    const diff = diffReachability(before, after, [{ namespace: 'x', name: 'a' }]);
    expect(diff.cut).toEqual([]);
    expect(diff.opened.map((c) => [c.from.name, c.to.name, formatPortSet(c.gained)])).toEqual([['b', 'a', '80/TCP']]);
  });
});

test('subtractPortSets removes ranges, splitting where needed', () => {
  const a = unionPortSets(portSetOf('TCP', 1, 100), portSetOf('UDP', 53, 53));
  expect(formatPortSet(subtractPortSets(a, unionPortSets(portSetOf('TCP', 10, 20), portSetOf('TCP', 100, 200))))).toBe(
    '1-9/TCP, 21-99/TCP, 53/UDP',
  );
});

describe('podsSelectedBy', () => {
  test('the pods of its namespace that a named policy selects; none for a policy the world lacks', () => {
    const built = compileWorld(
      world()
        .policy('x/only-a', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] })
        .policy('x/all', { podSelector: {}, policyTypes: ['Egress'] })
        .build(),
    );
    const keys = (refs: { namespace: string; name: string }[]) => refs.map((r) => `${r.namespace}/${r.name}`);
    expect(keys(podsSelectedBy(built, [{ namespace: 'x', name: 'only-a' }]))).toEqual(['x/a']);
    expect(keys(podsSelectedBy(built, [{ namespace: 'x', name: 'all' }]))).toEqual(['x/a', 'x/b']);
    expect(keys(podsSelectedBy(built, [{ namespace: 'y', name: 'only-a' }]))).toEqual([]);
  });
});
