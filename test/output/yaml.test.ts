/**
 * `-o yaml` means the same to every YAML reader: a string a YAML 1.1 reader (kubectl reads manifests
 * with go-yaml v2) or a YAML 1.2 one would take for something else is double-quoted, keys included,
 * as kubectl's own `-o yaml` does; every other string stays plain.
 */
import { describe, expect, it } from '@jest/globals';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { parse } from 'yaml';

import { renderDocument } from '../../src/lib/output/render.js';
import type { DocumentSink } from '../../src/lib/output/stream.js';
import { writeDocument } from '../../src/lib/output/stream.js';
import { formatOutcomes } from '../../src/lib/output/write.js';

/** Strings that, written plain, some reader takes for a boolean, null, number, timestamp or merge key. */
const AMBIGUOUS = [
  // YAML 1.1 booleans (YAML 1.2 keeps only true/false)
  ...['y', 'Y', 'n', 'N', 'yes', 'Yes', 'YES', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF'],
  ...['true', 'True', 'TRUE', 'false', 'False', 'FALSE'],
  // null, in both
  ...['~', 'null', 'Null', 'NULL', ''],
  // integers: decimal, 1.1 and 1.2 octal, hex, binary, underscores, sexagesimal
  ...['12', '-3', '+5', '0', '08', '017', '0o17', '0x1F', '0b101', '1_000', '1:20'],
  // floats: plain, exponent, infinity, not-a-number, sexagesimal
  ...['1.5', '1.', '.5', '1e3', '-1.5e-3', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '190:20:30.15'],
  // numbers only go-yaml reads (Go's strconv syntax, after it drops every `_`); the `yaml` package reads
  // them as strings, so for these the quotes are what the test checks
  ...['0X1F', '0O17', '-0o17', '0B101', '1e_3', '1e3_', '-_1'],
  // what the `yaml` package's YAML 1.1 reader takes for a float (NaN): an exponent without digits before it
  ...['e3', 'E-3'],
  // YAML 1.1 timestamps
  ...['2001-12-14', '2001-1-2', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '2001-12-15T02:59:43.1Z'],
  // the YAML 1.1 merge key
  '<<',
];

/** Strings no reader takes for anything but a string, some of them close to one of the above. */
const ORDINARY = [
  ...['web', 'segment', 'app.kubernetes.io/managed-by', 'kubectl-netpol', 'tenant-a', 'TCP', '10.0.0.0/8'],
  ...['y2k', 'nothing', 'online', 'yes-please', 'True-ish', '1a', 'x3', '0x', '1e', '1.2.3', '2001-12', 'v1.5'],
];

/** A NetworkPolicy carrying `text` as a label key and value, an annotation value and a selector value. */
function policyWith(text: string, namespace = 'tenant-a'): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'pol1', namespace, labels: { [text]: text }, annotations: { note: text } },
    spec: {
      podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: [text] }] },
      policyTypes: ['Ingress'],
    },
  };
}

/** The document as a YAML 1.1 and a YAML 1.2 (core schema) reader of the `yaml` package read it. */
function readBoth(text: string): { yaml11: unknown; yaml12: unknown } {
  return { yaml11: parse(text, { version: '1.1' }), yaml12: parse(text, { version: '1.2', schema: 'core' }) };
}

describe('-o yaml', () => {
  it.each(AMBIGUOUS.map((text) => [text]))(
    'double-quotes %j as a key and a value, and reads back as written',
    (text) => {
      const policy = policyWith(text);
      const rendered = renderDocument(policy, 'yaml');
      const quoted = JSON.stringify(text);
      expect(rendered).toContain(`\n    ${quoted}: ${quoted}\n`);
      expect(rendered).toContain(`\n    note: ${quoted}\n`);
      expect(rendered).toContain(`\n          - ${quoted}\n`);
      expect(readBoth(rendered)).toEqual({ yaml11: policy, yaml12: policy });
    },
  );

  it.each(ORDINARY.map((text) => [text]))('leaves %j plain', (text) => {
    const policy = policyWith(text);
    const rendered = renderDocument(policy, 'yaml');
    expect(rendered).toContain(`\n    ${text}: ${text}\n`);
    expect(rendered).toContain(`\n    note: ${text}\n`);
    expect(rendered).toContain(`\n          - ${text}\n`);
    expect(readBoth(rendered)).toEqual({ yaml11: policy, yaml12: policy });
  });

  it('writes a policy as kubectl would: only the ambiguous strings in double quotes', () => {
    const policy: V1NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'pol1', namespace: 'tenant-a', labels: { 'app.kubernetes.io/managed-by': 'kubectl-netpol' } },
      spec: {
        podSelector: { matchLabels: { enabled: 'on', segment: 'y', tier: 'no', v: '1e3', '0x1F': 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: '1e3' }] }],
      },
    };
    expect(renderDocument(policy, 'yaml')).toBe(
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata:',
        '  name: pol1',
        '  namespace: tenant-a',
        '  labels:',
        '    app.kubernetes.io/managed-by: kubectl-netpol',
        'spec:',
        '  podSelector:',
        '    matchLabels:',
        '      enabled: "on"',
        '      segment: "y"',
        '      tier: "no"',
        '      v: "1e3"',
        '      "0x1F": web',
        '  policyTypes:',
        '    - Ingress',
        '  ingress:',
        '    - ports:',
        '        - protocol: TCP',
        '          port: "1e3"',
        '',
      ].join('\n'),
    );
  });

  it('prints a List of several policies that reads back item by item', () => {
    const policies = [policyWith('on', 'yes'), policyWith('2001-12-14', '0x1f'), policyWith('web', '1e3')];
    const outcomes = policies.map((object) => ({
      namespace: object.metadata!.namespace!,
      name: object.metadata!.name!,
      verb: 'created' as const,
      object,
      replacedForeign: false,
    }));
    const rendered = formatOutcomes(outcomes, 'yaml', 'client');
    expect(rendered).toMatch(/^apiVersion: v1\nkind: List\nitems:\n {2}- apiVersion: networking.k8s.io\/v1\n/);
    expect(rendered).toContain('\n      namespace: "yes"\n');
    expect(rendered).toContain('\n      namespace: "0x1f"\n');
    const list = { apiVersion: 'v1', kind: 'List', items: policies };
    expect(readBoth(rendered)).toEqual({ yaml11: list, yaml12: list });
  });

  it('is the same text when streamed field by field and item by item', async () => {
    const items = AMBIGUOUS.map((text) => ({ [text]: text }));
    const labels = Object.fromEntries(AMBIGUOUS.map((text) => [text, text]));
    let streamed = '';
    const sink: DocumentSink = { write: (chunk) => ((streamed += chunk), true) };
    await writeDocument(
      [
        { key: 'labels', value: labels },
        { key: 'items', items },
      ],
      'yaml',
      sink,
    );
    expect(streamed).toBe(renderDocument({ labels, items }, 'yaml'));
    expect(readBoth(streamed)).toEqual({ yaml11: { labels, items }, yaml12: { labels, items } });
  });
});
