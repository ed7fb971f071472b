/**
 * Named ports resolve on the destination (NetworkPolicyPort.port): rules listing the same ports share
 * their resolution per kind of destination, and it must still be each destination's own number.
 */
import { describe, expect, it } from '@jest/globals';

import { compileWorld } from '../../src/lib/engine/compile.js';
import { whoCan } from '../../src/lib/engine/who-can.js';
import { WorldBuilder } from './world-builder.js';

/** Sources in three namespaces, each egress-isolated by its own policy naming `http` (the same list twice, UDP once). */
function build() {
  const egressTo = (ports: Record<string, unknown>[]) => ({
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: {} }], ports }],
  });
  return new WorldBuilder()
    .namespace('dst')
    .namespace('one')
    .namespace('two')
    .namespace('udp')
    .pod('dst/a', { app: 'a' }, { ports: [{ name: 'http', containerPort: 80 }] })
    .pod('dst/b', { app: 'b' }, { ports: [{ name: 'http', containerPort: 8080 }] })
    .pod('one/s', { app: 's' })
    .pod('two/s', { app: 's' })
    .pod('udp/s', { app: 's' })
    .policy('one/out', egressTo([{ port: 'http' }]))
    .policy('two/out', egressTo([{ port: 'http' }]))
    .policy('udp/out', egressTo([{ port: 'http', protocol: 'UDP' }]))
    .build();
}

function sources(world: ReturnType<typeof compileWorld>, target: string, port: number): string[] {
  const [namespace, name] = target.split('/');
  const answer = whoCan(world, { targets: [{ namespace, name }], port: { port, protocol: 'TCP' } });
  return answer.groups.flatMap((g) => g.peers.map((p) => `${p.namespace}/${p.name}`)).sort();
}

describe('rules listing the same named ports', () => {
  it.each([
    ['a first', ['dst/a', 'dst/b']],
    ['b first', ['dst/b', 'dst/a']],
  ])('resolve on each destination (%s)', (_order, order) => {
    const world = compileWorld(build());
    const expected: Record<string, Record<number, string[]>> = {
      'dst/a': { 80: ['dst/b', 'one/s', 'two/s'], 8080: ['dst/b'] },
      'dst/b': { 80: ['dst/a'], 8080: ['dst/a', 'one/s', 'two/s'] },
    };
    for (const target of order)
      for (const port of [80, 8080]) expect(sources(world, target, port)).toEqual(expected[target][port]);
  });
});
