/**
 * `-o yaml` through the real `kubectl apply -f -` (YAML 1.1, go-yaml v2): label keys and values, named
 * ports and namespaces that a YAML 1.1 reader would take for booleans, numbers or null if written plain
 * come back from the API server exactly as given, for one policy and for a List.
 */
import { randomBytes, randomInt } from 'node:crypto';

import { describe, expect, test } from '@jest/globals';

import { createNamespace, kubectl, runCli } from './helpers.js';

const TIMEOUT = 60_000;

type Policy = { metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: unknown };

async function policy(ns: string, name: string): Promise<Policy> {
  return JSON.parse((await kubectl(['get', 'networkpolicy', name, '-n', ns, '-o', 'json'])).stdout) as Policy;
}

describe('-o yaml piped into kubectl apply -f -', () => {
  test(
    'allow: selectors and a port name that read as booleans, numbers, null or dates in YAML 1.1 are stored as written',
    async () => {
      const ns = await createNamespace();
      const printed = await runCli([
        'allow',
        'yaml11',
        '-n',
        ns,
        '--to',
        'enabled=on,segment=y,tier=no,v=1e3,k=0x1F,Yes=NO,True=FALSE,null=NULL,Null=,0X1F=0o17,017=1_000,12=1.5,08=1e_3,date=2001-12-14',
        '--from',
        'v in (on,y,ON,Off,0b101,0B101),w notin (12,2001-12-14)',
        '--from',
        'app=web@env=off',
        '--port',
        '1e3',
        '--dry-run=client',
        '-o',
        'yaml',
      ]);
      expect(printed.code).toBe(0);
      const applied = await kubectl(['apply', '-f', '-'], { input: printed.stdout });
      expect(applied.stdout).toBe('networkpolicy.networking.k8s.io/yaml11 created\n');

      const stored = await policy(ns, 'yaml11');
      expect(stored.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'kubectl-netpol' });
      expect(stored.spec).toEqual({
        podSelector: {
          matchLabels: {
            enabled: 'on',
            segment: 'y',
            tier: 'no',
            v: '1e3',
            k: '0x1F',
            Yes: 'NO',
            True: 'FALSE',
            null: 'NULL',
            Null: '',
            '0X1F': '0o17',
            '017': '1_000',
            '12': '1.5',
            '08': '1e_3',
            date: '2001-12-14',
          },
        },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                podSelector: {
                  matchExpressions: [
                    { key: 'v', operator: 'In', values: ['on', 'y', 'ON', 'Off', '0b101', '0B101'] },
                    { key: 'w', operator: 'NotIn', values: ['12', '2001-12-14'] },
                  ],
                },
              },
              { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { env: 'off' } } },
            ],
            ports: [{ protocol: 'TCP', port: '1e3' }],
          },
        ],
      });
      // As kubectl itself writes such strings.
      expect(printed.stdout).toContain('\n      enabled: "on"\n');
    },
    TIMEOUT,
  );

  test(
    'isolate: a List for namespaces named like a binary (YAML 1.1) and a hex number applies in those namespaces',
    async () => {
      const binary = `0b1${randomInt(2 ** 30)
        .toString(2)
        .padStart(30, '0')}`;
      const hex = `0x${randomBytes(4).toString('hex')}`;
      for (const name of [binary, hex]) await kubectl(['create', 'namespace', name]);

      const printed = await runCli(['isolate', binary, hex, '--dry-run=client', '-o', 'yaml']);
      expect(printed.code).toBe(0);
      expect(printed.stdout).toMatch(/^apiVersion: v1\nkind: List\n/);
      const applied = await kubectl(['apply', '-f', '-'], { input: printed.stdout });
      expect(applied.stdout).toBe('networkpolicy.networking.k8s.io/default-deny created\n'.repeat(2));

      for (const ns of [binary, hex]) {
        const stored = await policy(ns, 'default-deny');
        expect(stored.metadata.namespace).toBe(ns);
        expect(stored.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
      }
      expect(printed.stdout).toContain(`\n      namespace: "${binary}"\n`);
    },
    TIMEOUT,
  );
});
