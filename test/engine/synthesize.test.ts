/** Policy builders for `allow`: the object, its name, its meaning, the preview and its findings, imports. */
import { describe, expect, test } from '@jest/globals';

import { emptyPortSet, formatPortSet, fullPortSet } from '../../src/lib/engine/ports.js';
import { translatePolicy, TranslationError } from '../../src/lib/cluster/import-policy.js';
import { previewPolicy } from '../../src/lib/engine/preview.js';
import { buildAllowPolicy, deriveName, type AllowSpec } from '../../src/lib/engine/synthesize.js';
import { describeAllow, describePolicy } from '../../src/lib/output/describe.js';
import { validatePolicy } from '../../src/lib/engine/validate.js';
import { WorldBuilder } from './world-builder.js';

const backend = { matchLabels: { segment: 'backend' } };
const frontend = { matchLabels: { segment: 'frontend' } };
const byName = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

const pol1Spec: AllowSpec = {
  namespace: 'tenant-a',
  direction: 'ingress',
  subject: backend,
  peers: [{ podSelector: frontend }],
  ports: [{ protocol: 'TCP', port: 80 }],
};

/** The seed's pol1 in client-node's typed shape. */
const pol1 = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'pol1', namespace: 'tenant-a' },
  spec: {
    podSelector: backend,
    policyTypes: ['Ingress'],
    ingress: [{ _from: [{ podSelector: frontend }], ports: [{ protocol: 'TCP', port: 80 }] }],
  },
};

describe('buildAllowPolicy', () => {
  test('ingress: the seed pol1, policyTypes [Ingress], one rule', () => {
    expect(buildAllowPolicy(pol1Spec, 'pol1')).toEqual(pol1);
    expect(validatePolicy(buildAllowPolicy(pol1Spec, 'pol1'))).toEqual([]);
  });
  test('egress: the rule under egress with `to`, labels as given, no ports means every port', () => {
    const policy = buildAllowPolicy(
      { ...pol1Spec, direction: 'egress', subject: frontend, peers: [{ namespaceSelector: {} }], ports: [] },
      'x',
      { 'app.kubernetes.io/managed-by': 'kubectl-netpol' },
    );
    expect(policy.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'kubectl-netpol' });
    expect(policy.spec).toEqual({
      podSelector: frontend,
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: {} }] }],
    });
  });
  test('does not share objects with the spec', () => {
    const policy = buildAllowPolicy(pol1Spec, 'pol1');
    policy.spec!.podSelector!.matchLabels!.segment = 'changed';
    expect(pol1Spec.subject.matchLabels!.segment).toBe('backend');
  });
});

describe('deriveName', () => {
  const isLabel = (name: string) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63;
  test.each<[Partial<AllowSpec>, string]>([
    [{}, 'allow-frontend-to-backend-on-80-tcp'],
    [{ ports: [] }, 'allow-frontend-to-backend'],
    [{ peers: [{ podSelector: {} }] }, 'allow-all-to-backend-on-80-tcp'],
    [{ peers: [{ namespaceSelector: byName('tenant-b') }] }, 'allow-ns-tenant-b-to-backend-on-80-tcp'],
    [
      { peers: [{ podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: byName('b') }] },
      'allow-web-in-b-to-backend-on-80-tcp',
    ],
    [
      { peers: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] },
      'allow-ns-all-namespaces-to-backend-on-53-udp',
    ],
    [
      { peers: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] },
      'allow-10-0-0-0-8-to-backend-on-80-tcp',
    ],
    [
      {
        ports: [
          { protocol: 'TCP', port: 8000, endPort: 9000 },
          { protocol: 'TCP', port: 'http' },
        ],
      },
      'allow-frontend-to-backend-on-8000-9000-tcp-http-tcp',
    ],
    [
      { direction: 'egress', subject: frontend, peers: [{ podSelector: backend }] },
      'allow-frontend-to-backend-on-80-tcp-egress',
    ],
    [
      {
        peers: [{ podSelector: { matchExpressions: [{ key: 'example.com/tier', operator: 'NotIn', values: ['x'] }] } }],
      },
      'allow-not-x-to-backend-on-80-tcp',
    ],
  ])('%j -> %s', (change, expected) => {
    const name = deriveName({ ...pol1Spec, ...change });
    expect(name).toBe(expected);
    expect(isLabel(name)).toBe(true);
  });
  test('long names are cut to 63 with a hash, so different specs keep different names', () => {
    const long = (value: string): AllowSpec => ({
      ...pol1Spec,
      peers: [{ podSelector: { matchLabels: { app: value } } }],
      subject: { matchLabels: { app: 'a-rather-long-label-value-for-the-backend-pods' } },
    });
    const a = deriveName(long('an-equally-long-label-value-for-the-frontend-one'));
    const b = deriveName(long('an-equally-long-label-value-for-the-frontend-two'));
    expect(a.length).toBeLessThanOrEqual(63);
    expect(isLabel(a)).toBe(true);
    expect(a).not.toBe(b);
  });
});

describe('describeAllow and describePolicy', () => {
  test('the seed sentence', () => {
    expect(describeAllow(pol1Spec)).toBe(
      'pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP',
    );
  });
  test.each<[Partial<AllowSpec>, string]>([
    [
      { peers: [{ podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: byName('tenant-b') }], ports: [] },
      'pods app=web in tenant-b may reach pods segment=backend in tenant-a on any port',
    ],
    [
      { peers: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }, { namespaceSelector: {} }] },
      'every pod in namespaces env=prod or every pod in every namespace may reach pods segment=backend in tenant-a on 80/TCP',
    ],
    [
      { peers: [{ ipBlock: { cidr: 'fd00::/8', except: ['fd00:1::/32'] } }], subject: {} },
      'addresses fd00::/8 except fd00:1::/32 may reach every pod in tenant-a on 80/TCP',
    ],
    [
      {
        direction: 'egress',
        subject: frontend,
        peers: [{ namespaceSelector: byName('kube-system') }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 8000, endPort: 9000 },
        ],
      },
      'pods segment=frontend in tenant-a may reach every pod in kube-system on 53/UDP, 8000-9000/TCP',
    ],
  ])('%j', (change, expected) => {
    expect(describeAllow({ ...pol1Spec, ...change })).toBe(expected);
  });
  test('describePolicy reads typed and plain rules, and rule-less directions', () => {
    expect(describePolicy(pol1 as never)).toEqual([
      'pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP',
    ]);
    expect(
      describePolicy({
        metadata: { namespace: 'x' },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{}] },
      }),
    ).toEqual(['nothing may reach every pod in x', 'every pod in x may reach anything on any port']);
  });
});

/** Pod pairs as `from->to ports`. */
const pairs = (
  list: { from: { namespace: string; name: string }; to: { namespace: string; name: string }; ports: never }[],
) => list.map((c) => `${c.from.namespace}/${c.from.name}->${c.to.namespace}/${c.to.name} ${formatPortSet(c.ports)}`);

const seedWorld = () =>
  new WorldBuilder()
    .namespace('tenant-a')
    .namespace('tenant-b')
    .pod('tenant-a/frontend', { segment: 'frontend' })
    .pod('tenant-a/backend', { segment: 'backend' }, { ports: [{ name: 'http', containerPort: 80 }] })
    .pod('tenant-a/batch', { segment: 'batch' })
    .pod('tenant-b/web', { app: 'web' });

describe('previewPolicy', () => {
  test('the first ingress policy on the backend: opens nothing new, cuts the others, and says how to keep them', () => {
    const preview = previewPolicy(seedWorld().build(), buildAllowPolicy(pol1Spec, 'pol1'));
    expect(preview.subjects).toEqual([{ namespace: 'tenant-a', name: 'backend' }]);
    expect(preview.replaces).toBe(false);
    expect(preview.diff.opened).toEqual([]);
    const cut = preview.diff.cut.map((c) => `${c.from.name}->${c.to.name} ${formatPortSet(c.lost)}`);
    expect(cut).toEqual([
      'batch->backend all',
      'frontend->backend 1-79/TCP, 81-65535/TCP, all/UDP, all/SCTP',
      'web->backend all',
    ]);
    expect(preview.findings).toHaveLength(1);
    const [finding] = preview.findings;
    expect(finding.code).toBe('first-policy');
    if (finding.code !== 'first-policy') return;
    expect(finding.direction).toBe('ingress');
    expect(finding.newlyIsolated).toEqual([{ namespace: 'tenant-a', name: 'backend' }]);
    expect(finding.cut).toHaveLength(3);
    // The backend took traffic from every address outside the cluster too: cut, and kept by the fix.
    expect(preview.diff.cutAddresses).toEqual([
      {
        pod: { namespace: 'tenant-a', name: 'backend' },
        direction: 'ingress',
        blocks: [
          { cidr: '0.0.0.0/0', except: [] },
          { cidr: '::/0', except: [] },
        ],
        ports: fullPortSet(),
        before: fullPortSet(),
        after: emptyPortSet(),
        // Allowed before because nothing isolated the backend's ingress.
        decisionBefore: expect.objectContaining({
          allowed: true,
          ingress: expect.objectContaining({ isolated: false }),
        }),
      },
    ]);
    expect(finding.connections).toBe(4);
    expect(finding.fixes).toEqual([
      {
        namespace: 'tenant-a',
        direction: 'ingress',
        subject: backend,
        peers: [
          { podSelector: {} },
          { namespaceSelector: byName('tenant-b') },
          { ipBlock: { cidr: '0.0.0.0/0' } },
          { ipBlock: { cidr: '::/0' } },
        ],
        ports: [],
      },
    ]);
  });

  test('under a default deny: no first-policy warning, and it opens exactly frontend -> backend on 80/TCP', () => {
    const world = seedWorld().policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] });
    const preview = previewPolicy(world.build(), buildAllowPolicy(pol1Spec, 'pol1'));
    expect(preview.findings).toEqual([]);
    expect(preview.diff.cut).toEqual([]);
    expect(preview.diff.opened.map((c) => `${c.from.name}->${c.to.name} ${formatPortSet(c.gained)}`)).toEqual([
      'frontend->backend 80/TCP',
    ]);
  });

  test('replacing a policy of the same name compares against the world without it', () => {
    const world = seedWorld()
      .policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] })
      .policy('tenant-a/pol1', { podSelector: backend, ingress: [{ from: [{ podSelector: frontend }] }] });
    const preview = previewPolicy(world.build(), buildAllowPolicy(pol1Spec, 'pol1'));
    expect(preview.replaces).toBe(true);
    expect(preview.diff.opened).toEqual([]);
    expect(preview.diff.cut.map((c) => `${c.from.name}->${c.to.name}`)).toEqual(['frontend->backend']);
  });

  test('the source namespace denies egress: the intended connection stays blocked, and the egress allow opens it', () => {
    const world = seedWorld()
      .policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] })
      .policy('tenant-b/deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
    const spec: AllowSpec = {
      ...pol1Spec,
      peers: [{ podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: byName('tenant-b') }],
    };
    const preview = previewPolicy(world.build(), buildAllowPolicy(spec, 'web'));
    expect(preview.diff.opened).toEqual([]);
    expect(preview.findings).toHaveLength(1);
    const [finding] = preview.findings;
    expect(finding.code).toBe('blocked-by-other-side');
    if (finding.code !== 'blocked-by-other-side') return;
    expect(finding.direction).toBe('egress');
    expect(pairs(finding.blocked as never)).toEqual(['tenant-b/web->tenant-a/backend 80/TCP']);
    expect(finding.fixes).toEqual([
      {
        namespace: 'tenant-b',
        direction: 'egress',
        subject: { matchLabels: { app: 'web' } },
        peers: [{ podSelector: backend, namespaceSelector: byName('tenant-a') }],
        ports: [{ protocol: 'TCP', port: 80 }],
      },
    ]);
    // Applying the fix opens the connection.
    const fixed = world.policy('tenant-b/web', buildAllowPolicy(finding.fixes[0], 'fix').spec as never).build();
    const after = previewPolicy(fixed, buildAllowPolicy(spec, 'web'));
    expect(after.diff.opened.map((c) => `${c.from.name}->${c.to.name} ${formatPortSet(c.gained)}`)).toEqual([
      'web->backend 80/TCP',
    ]);
    expect(after.findings).toEqual([]);
  });

  test('an egress policy whose destination is isolated for ingress: blocked, fixed by an ingress allow there', () => {
    const world = seedWorld()
      .policy('tenant-a/deny-out', { podSelector: {}, policyTypes: ['Egress'] })
      .policy('tenant-b/deny-in', { podSelector: {}, policyTypes: ['Ingress'] });
    const spec: AllowSpec = {
      namespace: 'tenant-a',
      direction: 'egress',
      subject: frontend,
      peers: [{ namespaceSelector: byName('tenant-b') }],
      ports: [],
    };
    const preview = previewPolicy(world.build(), buildAllowPolicy(spec, 'out'));
    const [finding] = preview.findings;
    expect(finding.code).toBe('blocked-by-other-side');
    if (finding.code !== 'blocked-by-other-side') return;
    expect(finding.direction).toBe('ingress');
    expect(pairs(finding.blocked as never)).toEqual(['tenant-a/frontend->tenant-b/web all']);
    expect(finding.fixes).toEqual([
      {
        namespace: 'tenant-b',
        direction: 'ingress',
        subject: {},
        peers: [{ podSelector: frontend, namespaceSelector: byName('tenant-a') }],
        ports: [],
      },
    ]);
  });

  test('the first egress policy on the frontend cuts what it reached, DNS included, and the fix names each namespace', () => {
    const world = seedWorld().namespace('kube-system').pod('kube-system/coredns', { 'k8s-app': 'kube-dns' });
    const spec: AllowSpec = {
      namespace: 'tenant-a',
      direction: 'egress',
      subject: frontend,
      peers: [{ podSelector: backend }],
      ports: [{ protocol: 'TCP', port: 80 }],
    };
    const preview = previewPolicy(world.build(), buildAllowPolicy(spec, 'out'));
    const [finding] = preview.findings;
    expect(finding.code).toBe('first-policy');
    if (finding.code !== 'first-policy') return;
    expect(finding.direction).toBe('egress');
    expect(finding.cut.map((c) => `${c.to.namespace}/${c.to.name}`)).toEqual([
      'kube-system/coredns',
      'tenant-a/backend',
      'tenant-a/batch',
      'tenant-b/web',
    ]);
    // Addresses outside the cluster were reachable too: the fix keeps them with ipBlock peers.
    expect(finding.connections).toBe(5);
    expect(finding.fixes[0].peers).toEqual([
      { podSelector: {} },
      { namespaceSelector: byName('kube-system') },
      { namespaceSelector: byName('tenant-b') },
      { ipBlock: { cidr: '0.0.0.0/0' } },
      { ipBlock: { cidr: '::/0' } },
    ]);
  });

  test('a named port that only some destinations carry: blocked only where the other side denies', () => {
    const world = seedWorld()
      .policy('tenant-a/deny', { podSelector: {}, policyTypes: ['Ingress'] })
      .policy('tenant-a/frontend-out', {
        podSelector: frontend,
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      });
    const spec: AllowSpec = { ...pol1Spec, ports: [{ protocol: 'TCP', port: 'http' }] };
    const preview = previewPolicy(world.build(), buildAllowPolicy(spec, 'named'));
    const [finding] = preview.findings;
    expect(finding.code).toBe('blocked-by-other-side');
    if (finding.code !== 'blocked-by-other-side') return;
    expect(pairs(finding.blocked as never)).toEqual(['tenant-a/frontend->tenant-a/backend 80/TCP']);
    expect(finding.fixes[0]).toEqual({
      namespace: 'tenant-a',
      direction: 'egress',
      subject: frontend,
      peers: [{ podSelector: backend }],
      ports: [{ protocol: 'TCP', port: 'http' }],
    });
  });
});

describe('translatePolicy (--import)', () => {
  const seedAlpha = {
    kind: 'NetworkPolicy',
    apiVersion: 'net.alpha.kubernetes.io/v1alpha1',
    metadata: { name: 'pol1' },
    spec: {
      podSelector: { segment: 'backend' },
      allowIncoming: { from: [{ pods: { segment: 'frontend' } }], toPorts: [{ port: 80, protocol: 'TCP' }] },
    },
  };

  test("the seed's v1alpha1 JSON becomes pol1", () => {
    expect(translatePolicy(seedAlpha)).toEqual({ ...pol1, metadata: { name: 'pol1' } });
  });

  test("the seed's request body, without apiVersion (the URL named v1alpha1), becomes pol1 too", () => {
    const body: Record<string, unknown> = { ...seedAlpha };
    delete body.apiVersion;
    expect(translatePolicy(body)).toEqual({ ...pol1, metadata: { name: 'pol1' } });
    expect(translatePolicy({ kind: 'NetworkPolicy', metadata: { name: 'deny' }, spec: { podSelector: {} } })).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [] },
    });
  });

  test.each([
    [{ podSelector: backend, ingress: [{ from: [{ podSelector: frontend }] }] }],
    [{ podSelector: { segment: 'backend' }, egress: [] }],
    [{ podSelector: { matchLabels: { segment: 'backend' } } }],
  ])('without apiVersion, a spec not in the v1alpha1 shape is an error naming apiVersion: %j', (spec) => {
    const run = () => translatePolicy({ kind: 'NetworkPolicy', metadata: { name: 'x' }, spec });
    expect(run).toThrow(TranslationError);
    expect(run).toThrow(/^no apiVersion, and the spec is not the 2016 net\.alpha\.kubernetes\.io\/v1alpha1 shape/);
  });

  test('v1alpha1: namespaces peers, no toPorts (every port), no allowIncoming (nothing admitted)', () => {
    const policy = translatePolicy({
      ...seedAlpha,
      spec: { podSelector: {}, allowIncoming: { from: [{ namespaces: { team: 'a' } }] } },
    });
    expect(policy.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }],
    });
    expect(translatePolicy({ ...seedAlpha, spec: { podSelector: { a: 'b' } } }).spec).toEqual({
      podSelector: { matchLabels: { a: 'b' } },
      policyTypes: ['Ingress'],
      ingress: [],
    });
  });

  test('extensions/v1beta1 and networking.k8s.io/v1: carried over, server fields dropped', () => {
    const v1beta1 = {
      apiVersion: 'extensions/v1beta1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'pol1',
        namespace: 'tenant-a',
        uid: 'x',
        resourceVersion: '5',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
      spec: {
        podSelector: backend,
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: frontend }], ports: [{ protocol: 'TCP', port: 80 }] }],
      },
    };
    expect(translatePolicy(v1beta1)).toEqual(pol1);
    expect(translatePolicy({ ...v1beta1, apiVersion: 'networking.k8s.io/v1' })).toEqual(pol1);
  });

  test.each([
    [{ spec: { ...seedAlpha.spec, allowOutgoing: {} } }, ['spec.allowOutgoing']],
    [
      {
        spec: {
          podSelector: {},
          allowIncoming: { from: [{ pods: { a: 'b' }, services: {} }], toPorts: [{ port: 80, ttl: 3 }] },
        },
      },
      ['spec.allowIncoming.from[0].services', 'spec.allowIncoming.toPorts[0].ttl'],
    ],
    [{ spec: { podSelector: { a: { b: 'c' } } } }, ['spec.podSelector (expected a map of label strings)']],
    [{ metadata: { name: 'x', finalizers: ['f'] } }, ['metadata.finalizers']],
  ])('names what it cannot translate: %j', (change, fields) => {
    const run = () => translatePolicy({ ...seedAlpha, ...change });
    expect(run).toThrow(TranslationError);
    try {
      run();
    } catch (error) {
      expect((error as TranslationError).fields).toEqual(fields);
      expect((error as Error).message).toContain(fields[0]);
    }
  });

  test('v1 fields it does not know, other kinds and versions are errors', () => {
    expect(() =>
      translatePolicy({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'x' },
        spec: { podSelector: {}, ingress: [{ from: [{ serviceAccount: 'a' }] }] },
      }),
    ).toThrow('spec.ingress[0].from[0].serviceAccount');
    expect(() => translatePolicy({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toThrow(
      'not a NetworkPolicy',
    );
    expect(() => translatePolicy({ ...seedAlpha, apiVersion: 'policy.networking.k8s.io/v1alpha1' })).toThrow(
      'apiVersion',
    );
  });
});
