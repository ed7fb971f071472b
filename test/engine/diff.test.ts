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

describe('diffReachability: a relabelled source', () => {
  // x/src moves from app=old to app=new; its egress policy is the same in both worlds, so only the
  // destinations whose ingress rules admit it in one world alone can change: x/old-only and x/new-only.
  const cluster = (app: string) =>
    new WorldBuilder()
      .namespace('x')
      .pod('x/src', { app }, { ips: ['10.0.0.1'] })
      .pod('x/old-only', { role: 'old-only' }, { ips: ['10.0.0.2'] })
      .pod('x/new-only', { role: 'new-only' }, { ips: ['10.0.0.3'] })
      .pod('x/open', { role: 'open' }, { ips: ['10.0.0.4'] })
      .pod('x/by-address', { role: 'by-address' }, { ips: ['10.0.0.5'] })
      .policy('x/egress', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, egress: [{}] })
      .policy('x/old-only', {
        podSelector: { matchLabels: { role: 'old-only' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'old' } } }], ports: [{ port: 80 }] }],
      })
      .policy('x/new-only', {
        podSelector: { matchLabels: { role: 'new-only' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'new' } } }], ports: [{ port: 443 }] }],
      })
      .policy('x/by-address', {
        podSelector: { matchLabels: { role: 'by-address' } },
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/32' } }] }],
      })
      .build();

  test('loses the destinations that admitted its old labels and gains those that admit its new ones, nothing else', () => {
    const [before, after] = [compileWorld(cluster('old')), compileWorld(cluster('new'))];
    const diff = diffReachability(before, after, [{ namespace: 'x', name: 'src' }]);
    const show = (changes: typeof diff.cut) =>
      changes.map((c) => `${c.from.name}->${c.to.name} ${formatPortSet(c.before)} => ${formatPortSet(c.after)}`);
    expect(show(diff.cut)).toEqual(['src->old-only 80/TCP => none']);
    expect(show(diff.opened)).toEqual(['src->new-only none => 443/TCP']);
  });
});
