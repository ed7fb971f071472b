/** audit --expect with a label selector on both sides: every pod pair between them, and the pair that breaks it. */
import { describe, expect, it } from '@jest/globals';

import { compileWorld } from '../../src/lib/engine/compile.js';
import { NetpolError } from '../../src/lib/errors.js';
import { parseExpectations } from '../../src/lib/expectations.js';
import { formatMessage } from '../../src/lib/output/audit.js';
import { checkExpectations } from '../../src/lib/services/audit.js';
import { WorldBuilder } from './world-builder.js';

/**
 * Namespace `a`: web-0 and web-1 (app=web), which admit on 8080 only clients of team x; namespace `b`:
 * client-0 and client-1 (team x) and client-2 (team y).
 */
function world() {
  return compileWorld(
    new WorldBuilder()
      .namespace('a')
      .namespace('b')
      .pod('a/web-0', { app: 'web' }, { ips: ['10.0.0.1'] })
      .pod('a/web-1', { app: 'web' }, { ips: ['10.0.0.2'] })
      .pod('b/client-0', { app: 'client', team: 'x' }, { ips: ['10.0.1.1'] })
      .pod('b/client-1', { app: 'client', team: 'x' }, { ips: ['10.0.1.2'] })
      .pod('b/client-2', { app: 'client', team: 'y' }, { ips: ['10.0.1.3'] })
      .policy('a/web-from-x', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            from: [{ namespaceSelector: {}, podSelector: { matchLabels: { team: 'x' } } }],
            ports: [{ port: 8080 }],
          },
        ],
      })
      .build(),
  );
}

/** The findings of one expectation, as `actual: message`. */
function check(item: Record<string, unknown>): string[] {
  const expectations = parseExpectations([item], 'e.yaml');
  return checkExpectations(world(), expectations, 'a').map(
    (f) => `${f.details.id === 'expectation-violated' ? f.details.actual : ''}: ${formatMessage(f)}`,
  );
}

const clients = (selector: string) => ({ namespace: 'b', selector });
const web = { namespace: 'a', selector: 'app=web' };

describe('expectations with a selector on both sides', () => {
  it('holds allowed: true when every pair is allowed, and allowed: false when none is', () => {
    expect(check({ from: clients('team=x'), to: web, port: 8080, allowed: true })).toEqual([]);
    expect(check({ from: clients('team=y'), to: web, port: 8080, allowed: false })).toEqual([]);
    expect(check({ from: clients('team=x'), to: web, port: 9090, allowed: false })).toEqual([]);
  });

  it('names a pair that breaks allowed: true (some allowed, some denied)', () => {
    expect(check({ from: clients('app=client'), to: web, port: 8080, allowed: true })).toEqual([
      'some: expected b -l app=client -> a -l app=web on 8080 to be allowed, but some connections are allowed and some denied: b/client-2 -> a/web-0: ingress: a/web-0 is isolated by [web-from-x] and no ingress rule admits b/client-2',
    ]);
  });

  it('names a pair that breaks allowed: false', () => {
    expect(check({ from: clients('app=client'), to: web, port: 8080, allowed: false })).toEqual([
      'some: expected b -l app=client -> a -l app=web on 8080 to be denied, but some connections are allowed and some denied: b/client-0 -> a/web-0: ingress: allowed by a/web-from-x ingress[0]; egress: not isolated',
    ]);
  });

  it('counts every pair between pods of one selector, leaving each pod and itself out', () => {
    expect(check({ from: clients('app=client'), to: clients('app=client'), allowed: true })).toEqual([]);
    expect(check({ from: web, to: web, port: 8080, allowed: false })).toEqual([]);
  });

  it('cannot check a selector that matches no pod (nothing to check, exit 3)', () => {
    expect(() => check({ from: clients('team=z'), to: web, allowed: false })).toThrow(
      new NetpolError(
        'expectation 1 (b -l team=z -> a -l app=web): nothing to check: no pods in namespace b match the selector team=z',
        3,
      ),
    );
  });
});
