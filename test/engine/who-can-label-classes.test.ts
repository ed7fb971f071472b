/**
 * who-can folds the allowed source classes of one label class into one group when the target's
 * answer cannot tell them apart (only ipBlock peers of its ingress rules can: peers.ts), and the
 * pairs with their decisions stay those of one group per class (the streamed answer).
 */
import { describe, expect, it } from '@jest/globals';

import { connectionsOf } from '../../src/lib/engine/answer.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { PortQuery } from '../../src/lib/engine/model.js';
import { whoCan, whoCanStreamed } from '../../src/lib/engine/who-can.js';
import { WorldBuilder } from './world-builder.js';

/** Three replicas of one workload whose IPs fall in different ipBlocks: one label class, three classes. */
function build() {
  const fromEverywhere = { from: [{ namespaceSelector: {} }], ports: [{ port: 80 }] };
  return (
    new WorldBuilder()
      .namespace('dst')
      .namespace('src')
      .namespace('other')
      .pod('dst/open', { app: 'open' })
      .pod('dst/picky', { app: 'picky' })
      .pod('src/s1', { app: 's' }, { ips: ['10.0.0.1'] })
      .pod('src/s2', { app: 's' }, { ips: ['10.0.1.1'] })
      .pod('src/s3', { app: 's' }, { ips: ['10.0.2.1'] })
      .pod('other/o', { app: 'o' })
      .policy('dst/open', { podSelector: { matchLabels: { app: 'open' } }, ingress: [fromEverywhere] })
      .policy('dst/picky', {
        podSelector: { matchLabels: { app: 'picky' } },
        ingress: [fromEverywhere, { from: [{ ipBlock: { cidr: '10.0.0.0/24' } }] }],
      })
      // Only here to split s2 from s3: an egress ipBlock holding s2's address.
      .policy('other/out', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.1.0/24' } }] }],
      })
      .build()
  );
}

const world = compileWorld(build());
const names = (pods: { namespace: string; name: string }[]) => pods.map((p) => `${p.namespace}/${p.name}`);

/** Every pair of an answer with its ports and decision, as the pair document lists them. */
function pairs(answer: Parameters<typeof connectionsOf>[0]) {
  return [...connectionsOf(answer, 'allowed')].map((c) => JSON.stringify(c));
}

describe('who-can groups over label classes', () => {
  it('has three classes of one label class to fold', () => {
    const classes = ['s1', 's2', 's3'].map((name) => world.podsByKey.get(`src/${name}`)!.classId);
    expect(new Set(classes).size).toBe(3);
    expect(new Set(classes.map((id) => world.classes[id].labelClass)).size).toBe(1);
  });

  it('is one group for the replicas a target admits alike', () => {
    const answer = whoCan(world, {
      targets: [{ namespace: 'dst', name: 'open' }],
      port: { port: 80, protocol: 'TCP' },
    });
    const groups = answer.groups.map((g) => names(g.peers));
    expect(groups).toContainEqual(['src/s1', 'src/s2', 'src/s3']);
    // other/o's egress admits only 10.0.1.0/24.
    expect(groups.flat().sort()).toEqual(['dst/picky', 'src/s1', 'src/s2', 'src/s3']);
  });

  it('keeps apart the replicas an ipBlock of the target tells apart', () => {
    const answer = whoCan(world, {
      targets: [{ namespace: 'dst', name: 'picky' }],
      port: { port: 80, protocol: 'TCP' },
    });
    const groups = answer.groups.map((g) => names(g.peers)).filter((g) => g[0].startsWith('src/'));
    expect(groups).toEqual([['src/s1'], ['src/s2', 'src/s3']]);
    const [s1, rest] = answer.groups.filter((g) => g.peers[0].namespace === 'src').map((g) => answer.decide(g));
    expect(s1.ingress.allowedBy).toHaveLength(2);
    expect(rest.ingress.allowedBy).toHaveLength(1);
  });

  it.each<[string, PortQuery | undefined]>([
    ['80/TCP', { port: 80, protocol: 'TCP' }],
    ['all ports', undefined],
  ])('answers the pairs of one group per class (%s)', (_name, port) => {
    for (const name of ['open', 'picky']) {
      const query = { targets: [{ namespace: 'dst', name }], port };
      const held = whoCan(world, query);
      expect(pairs(held)).toEqual(pairs(whoCanStreamed(world, query)));
      expect(pairs(held).length).toBeGreaterThan(3);
    }
  });
});
