/** validatePolicy with a memo shared across a snapshot's policies gives exactly the answers it gives alone. */
import { describe, expect, test } from '@jest/globals';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import fc from 'fast-check';

import { ValidationMemo, validatePolicy } from '../../src/lib/engine/validate.js';
import { labelKey, labelValue, runs, selector } from './arbitraries.js';

// Valid selectors, and selectors broken in each way the validator checks, over a few shared texts.
const badText = fc.constantFrom('-bad', 'a/b/c', '', 'x'.repeat(64), 'Ünï');
const brokenSelector = fc.oneof(
  fc.record({ matchLabels: fc.dictionary(fc.oneof(labelKey, badText), fc.oneof(labelValue, badText), { maxKeys: 2 }) }),
  fc.record({ matchLabels: fc.dictionary(labelKey, fc.constantFrom<unknown>(1, null, true), { maxKeys: 1 }) }),
  fc.record({
    matchExpressions: fc.array(
      fc.record({
        key: fc.oneof(labelKey, badText, fc.constant(7 as unknown as string)),
        operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'Equals'),
        values: fc.oneof(
          fc.array(fc.oneof(labelValue, badText), { maxLength: 2 }),
          fc.constant('a' as unknown as string[]),
        ),
      }),
      { maxLength: 2 },
    ),
  }),
  fc.constantFrom<unknown>(
    'app=web',
    [],
    null,
    { matchLabels: 'x' },
    { matchExpressions: {} },
    { matchExpressions: [3] },
  ),
);
const anySelector = fc.oneof(selector as fc.Arbitrary<unknown>, brokenSelector);
const cidrText = fc.constantFrom('10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16', '10.1.0.0/16,10.2.0.0/16', '::/0', 'x');
const ipBlock = fc.record({ cidr: cidrText, except: fc.array(cidrText, { maxLength: 2 }) });
const peer = fc.oneof(
  fc.record({ podSelector: anySelector }, { requiredKeys: [] }),
  fc.record({ podSelector: anySelector, namespaceSelector: anySelector }),
  fc.record({ ipBlock }),
);
// Peers as snapshots hold them (an ingress rule's `from` under `_from`), odd shapes included.
const anyPeer = fc.oneof(
  peer as fc.Arbitrary<unknown>,
  fc.record({ ipBlock, podSelector: selector }),
  fc.constantFrom<unknown>({}, null, 'x', { ipBlock: null, podSelector: {} }),
);
const port = fc.oneof(
  fc.record(
    {
      protocol: fc.constantFrom<unknown>('TCP', 'UDP', 'SCTP', 'ICMP', undefined),
      port: fc.constantFrom<unknown>(80, 0, 70000, 8.5, 'http', 'Bad_Name', 'x'.repeat(16), true, undefined),
      endPort: fc.constantFrom<unknown>(undefined, null, 90, 70, 70000),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom<unknown>(null, 3, []),
);
const peers = fc.oneof(fc.array(anyPeer, { maxLength: 3 }), fc.constantFrom<unknown>(null, {}, 'x'));
const ports = fc.oneof(fc.array(port, { maxLength: 2 }), fc.constantFrom<unknown>(null, {}));
const ingressRule = fc.oneof(
  fc.record({ _from: peers, ports }, { requiredKeys: [] }) as fc.Arbitrary<unknown>,
  fc.constantFrom<unknown>(null, 'x'),
);
const egressRule = fc.oneof(
  fc.record({ to: peers, ports }, { requiredKeys: [] }) as fc.Arbitrary<unknown>,
  fc.constantFrom<unknown>(null, 7),
);
const rules = (rule: fc.Arbitrary<unknown>) =>
  fc.oneof(fc.array(rule, { maxLength: 2 }) as fc.Arbitrary<unknown>, fc.constantFrom<unknown>(null, {}));
const policyTypes = fc.oneof(
  fc.array(fc.constantFrom<unknown>('Ingress', 'Egress', 'ingress', null), { maxLength: 3 }) as fc.Arbitrary<unknown>,
  fc.constantFrom<unknown>('Ingress', null, undefined),
);
const policy = fc
  .record(
    {
      name: fc.constantFrom<unknown>('p', 'web.v2', 'Bad_Name', '', undefined, 7),
      spec: fc.oneof(
        fc.record(
          { podSelector: anySelector, ingress: rules(ingressRule), egress: rules(egressRule), policyTypes },
          { requiredKeys: ['ingress'] },
        ) as fc.Arbitrary<unknown>,
        fc.constantFrom<unknown>(null, undefined, 'x'),
      ),
    },
    { requiredKeys: [] },
  )
  .map(
    ({ name, spec }): V1NetworkPolicy => ({ metadata: { name, namespace: 'ns' }, spec }) as unknown as V1NetworkPolicy,
  );

describe('ValidationMemo', () => {
  test('policies validated in turn with one memo: each answer equals validating it alone', () => {
    fc.assert(
      fc.property(fc.array(policy, { minLength: 1, maxLength: 6 }), (policies) => {
        const memo = new ValidationMemo();
        for (const p of policies) expect(validatePolicy(p, memo)).toEqual(validatePolicy(p));
      }),
      runs(400),
    );
  });

  test('ipBlocks whose texts join alike are told apart: two excepts, and one except holding a comma', () => {
    const withExcept = (except: string[]): V1NetworkPolicy => ({
      metadata: { name: 'p', namespace: 'ns' },
      spec: { podSelector: {}, ingress: [{ _from: [{ ipBlock: { cidr: '10.0.0.0/8', except } }] }] },
    });
    const two = withExcept(['10.1.0.0/16', '10.2.0.0/16']);
    const comma = withExcept(['10.1.0.0/16,10.2.0.0/16']);
    expect(validatePolicy(two)).toEqual([]);
    expect(validatePolicy(comma)).not.toEqual([]);
    for (const order of [
      [two, comma],
      [comma, two],
    ]) {
      const memo = new ValidationMemo();
      for (const p of order) expect(validatePolicy(p, memo)).toEqual(validatePolicy(p));
    }
  });
});
