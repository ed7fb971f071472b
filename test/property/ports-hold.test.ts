/** portsHold answers what portSetContains(resolvePorts(...)) answers, on any rule ports and destination pod. */
import { describe, expect, test } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import type { CompiledPort } from '../../src/lib/engine/ports.js';
import { portSetContains, portsHold, resolvePorts } from '../../src/lib/engine/ports.js';
import type { Protocol } from '../../src/lib/engine/model.js';

const protocols: Protocol[] = ['TCP', 'UDP', 'SCTP'];
const protocol = fc.constantFrom(...protocols);
const port = fc.integer({ min: 1, max: 40 });
const name = fc.constantFrom('http', 'grpc', 'dns');

const compiledPort: fc.Arbitrary<CompiledPort> = fc.oneof(
  protocol.map((p): CompiledPort => ({ protocol: p, kind: 'all' })),
  fc
    .tuple(protocol, port, fc.integer({ min: 0, max: 5 }))
    .map(([p, from, extra]): CompiledPort => ({ protocol: p, kind: 'range', from, to: from + extra })),
  fc.tuple(protocol, name).map(([p, n]): CompiledPort => ({ protocol: p, kind: 'named', name: n })),
);

const pod: fc.Arbitrary<V1Pod> = fc
  .array(fc.record({ name, containerPort: port, protocol: fc.option(protocol, { nil: undefined }) }), { maxLength: 4 })
  .map((ports) => ({ spec: { containers: [{ name: 'c', ports }] } }));

describe('portsHold', () => {
  test('equals the resolved port set on every port and protocol', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant<'all'>('all'), fc.array(compiledPort, { maxLength: 4 })),
        pod,
        protocol,
        port,
        (ports, destination, asked, number) => {
          const expected = portSetContains(resolvePorts(ports, destination), asked, number);
          expect(portsHold(ports, destination, asked, number)).toBe(expected);
        },
      ),
      { seed: 19, numRuns: 2000 },
    );
  });
});
