/** writePolicies and the manifest printers, against the in-memory cluster. */
import { describe, expect, test } from '@jest/globals';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { parse } from 'yaml';

import { ApiError } from '../src/lib/errors.js';
import { toManifest } from '../src/lib/cluster/policy-shape.js';
import { formatOutcomes } from '../src/lib/output/write.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, writePolicies } from '../src/lib/write.js';
import type { WriteSettings } from '../src/lib/write-flags.js';
import { WorldBuilder } from './engine/world-builder.js';
import { MemoryCluster } from './support/memory-cluster.js';

const ours = (namespace: string, name = 'default-deny'): V1NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
});

const settings = (over: Partial<WriteSettings> = {}) => ({
  dryRun: 'none' as const,
  fieldManager: 'kubectl-netpol',
  overwrite: false,
  ...over,
});

const cluster = () =>
  new MemoryCluster(
    new WorldBuilder()
      .namespace('a')
      .namespace('b')
      .namespace('c')
      .policy('c/default-deny', { podSelector: {}, policyTypes: ['Egress'] })
      .build(),
  );

describe('writePolicies', () => {
  test('server dry run of every write first, then the writes', async () => {
    const c = cluster();
    const out = await writePolicies(
      [
        { action: 'apply', policy: ours('a') },
        { action: 'apply', policy: ours('b') },
      ],
      { api: c.api, settings: settings() },
    );
    expect(out.map((o) => o.verb)).toEqual(['created', 'created']);
    expect(c.calls.filter((x) => x.verb === 'create').map((x) => `${x.namespace} ${x.dryRun}`)).toEqual([
      'a true',
      'b true',
      'a false',
      'b false',
    ]);
    expect(c.policyKeys()).toEqual(['a/default-deny', 'b/default-deny', 'c/default-deny']);
    expect(c.policy('a', 'default-deny')?.metadata?.managedFields?.[0].manager).toBe('kubectl-netpol');
  });

  test('--dry-run=server sends only dry runs; --dry-run=client sends nothing', async () => {
    const c = cluster();
    await writePolicies([{ action: 'apply', policy: ours('a') }], {
      api: c.api,
      settings: settings({ dryRun: 'server' }),
    });
    expect(c.calls.filter((x) => x.verb === 'create').map((x) => x.dryRun)).toEqual([true]);
    await writePolicies([{ action: 'apply', policy: ours('a') }], {
      api: c.api,
      settings: settings({ dryRun: 'client' }),
    });
    expect(c.calls.filter((x) => x.verb === 'create')).toHaveLength(1);
    expect(c.policyKeys()).toEqual(['c/default-deny']);
  });

  test('a foreign policy of that name is refused, and nothing is written for the others', async () => {
    const c = cluster();
    await expect(
      writePolicies(
        [
          { action: 'apply', policy: ours('a') },
          { action: 'apply', policy: ours('c') },
        ],
        { api: c.api, settings: settings() },
      ),
    ).rejects.toThrow(/networkpolicy c\/default-deny already exists and was not created by kubectl-netpol/);
    expect(c.calls.filter((x) => x.verb !== 'get')).toEqual([]);
  });

  test('--overwrite replaces a foreign policy and says so', async () => {
    const c = cluster();
    const out = await writePolicies([{ action: 'apply', policy: ours('c') }], {
      api: c.api,
      settings: settings({ overwrite: true }),
    });
    expect(out[0]).toMatchObject({ verb: 'configured', replacedForeign: true });
    expect(c.policy('c', 'default-deny')?.spec?.policyTypes).toEqual(['Ingress']);
  });

  test('an identical policy of ours is unchanged and not sent', async () => {
    const c = cluster();
    await writePolicies([{ action: 'apply', policy: ours('a') }], { api: c.api, settings: settings() });
    const before = c.calls.length;
    const out = await writePolicies([{ action: 'apply', policy: ours('a') }], { api: c.api, settings: settings() });
    expect(out[0].verb).toBe('unchanged');
    expect(c.calls.slice(before).map((x) => x.verb)).toEqual(['get']);
  });

  test('a failure half-way rolls back what was written and says so', async () => {
    const c = cluster().failOn(
      { verb: 'create', namespace: 'b', dryRun: false },
      () => new ApiError('the server is unavailable', 503),
    );
    await expect(
      writePolicies(
        [
          { action: 'apply', policy: ours('a') },
          { action: 'apply', policy: ours('b') },
        ],
        { api: c.api, settings: settings() },
      ),
    ).rejects.toThrow(
      'writing networkpolicy b/default-deny failed: the server is unavailable; rolled back a/default-deny',
    );
    expect(c.policyKeys()).toEqual(['c/default-deny']);
  });

  test('a refusal in the server dry run writes nothing', async () => {
    const c = cluster();
    c.forbid('create', 'networkpolicies');
    await expect(
      writePolicies([{ action: 'apply', policy: ours('a') }], { api: c.api, settings: settings() }),
    ).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining('cannot create resource "networkpolicies"'),
    });
    expect(c.policyKeys()).toEqual(['c/default-deny']);
  });

  test('delete removes ours; a rolled-back delete is re-created', async () => {
    const c = cluster();
    await writePolicies([{ action: 'apply', policy: ours('a') }], { api: c.api, settings: settings() });
    await writePolicies([{ action: 'apply', policy: ours('b') }], { api: c.api, settings: settings() });
    c.failOn({ verb: 'delete', namespace: 'b', dryRun: false }, () => new ApiError('boom', 500));
    await expect(
      writePolicies(
        [
          { action: 'delete', namespace: 'a', name: 'default-deny' },
          { action: 'delete', namespace: 'b', name: 'default-deny' },
        ],
        { api: c.api, settings: settings() },
      ),
    ).rejects.toThrow(/rolled back a\/default-deny/);
    expect(c.policyKeys()).toEqual(['a/default-deny', 'b/default-deny', 'c/default-deny']);
    expect(c.policy('a', 'default-deny')?.metadata?.labels).toEqual({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
  });
});

describe('printing', () => {
  test('manifests use `from`, carry no server fields, and several make a v1 List', () => {
    const typed = {
      ...ours('a'),
      metadata: { ...ours('a').metadata, uid: 'x', resourceVersion: '7', managedFields: [] },
      spec: { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }] },
      status: {},
    } as V1NetworkPolicy;
    expect(toManifest(typed)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: 'a', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
    });
    const outcome = (namespace: string) => ({
      namespace,
      name: 'default-deny',
      verb: 'created' as const,
      object: ours(namespace),
      replacedForeign: false,
    });
    expect(parse(formatOutcomes([outcome('a'), outcome('b')], 'yaml', 'none'))).toMatchObject({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ metadata: { namespace: 'a' } }, { metadata: { namespace: 'b' } }],
    });
    expect(formatOutcomes([outcome('a')], undefined, 'server')).toBe(
      'networkpolicy.networking.k8s.io/default-deny created (server dry run)\n',
    );
    expect(formatOutcomes([outcome('a'), outcome('b')], undefined, 'client')).toBe(
      'networkpolicy.networking.k8s.io/default-deny created in namespace a (dry run)\n' +
        'networkpolicy.networking.k8s.io/default-deny created in namespace b (dry run)\n',
    );
    expect(formatOutcomes([outcome('a')], 'name', 'none')).toBe('networkpolicy.networking.k8s.io/default-deny\n');
  });
});
