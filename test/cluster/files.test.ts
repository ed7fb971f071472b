import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { describe, expect, it } from '@jest/globals';

import { loadManifests } from '../../src/lib/cluster/files.js';
import { NAMESPACE_NAME_LABEL } from '../../src/lib/engine/model.js';
import { ManifestError, UsageError } from '../../src/lib/errors.js';

const FIXTURES = 'test/fixtures/cluster/files';
const fixture = (name: string): string => join(FIXTURES, name);

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

const names = (objects: { metadata?: { name?: string; namespace?: string } }[]): string[] =>
  objects.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);

describe('loadManifests: kinds', () => {
  it('reads namespaces, pods (keeping their IPs), services and policies from multi-document YAML', async () => {
    const { snapshot } = await loadManifests([fixture('app.yaml')]);

    expect(names(snapshot.namespaces)).toEqual(['/shop']);
    expect(snapshot.namespaces[0].metadata?.labels).toEqual({ team: 'payments', [NAMESPACE_NAME_LABEL]: 'shop' });
    expect(names(snapshot.pods)).toEqual(['shop/db-0']);
    expect(snapshot.pods[0].status?.podIP).toBe('10.0.1.5');
    expect(snapshot.pods[0].spec?.containers[0].ports).toEqual([{ name: 'pg', containerPort: 5432 }]);
    expect(names(snapshot.services)).toEqual(['shop/db']);
    expect(names(snapshot.policies)).toEqual(['shop/db-from-api']);
    expect(snapshot.policies[0].spec?.ingress?.[0]._from?.[0].podSelector?.matchLabels).toEqual({ app: 'api' });
    expect(snapshot.policies[0].spec?.ingress?.[0]).not.toHaveProperty('from');
    expect(snapshot.workloads).toEqual([]);
  });

  it('warns once per unknown kind per file, naming the file and kind', async () => {
    const { warnings } = await loadManifests([fixture('app.yaml')]);

    expect(warnings).toEqual([`${fixture('app.yaml')}: skipped kind ConfigMap (not used by network policy)`]);
  });

  it('skips a NetworkPolicy of another API group (Calico) with a warning naming its apiVersion', async () => {
    const { snapshot, warnings } = await loadManifests([fixture('calico.yaml')]);

    expect(snapshot.policies).toEqual([]);
    expect(warnings).toEqual([
      `${fixture('calico.yaml')}: skipped kind NetworkPolicy (crd.projectcalico.org/v1) (not used by network policy)`,
    ]);
  });

  it('turns a Deployment into a workload and spec.replicas pods with the template labels, ports and hostNetwork', async () => {
    const { snapshot } = await loadManifests([fixture('workloads.yaml')]);

    expect(snapshot.workloads).toContainEqual({
      kind: 'Deployment',
      namespace: 'shop',
      name: 'api',
      selector: { matchLabels: { app: 'api' } },
      templateLabels: { app: 'api', tier: 'backend' },
    });
    expect(snapshot.pods.filter((p) => p.metadata?.namespace === 'shop').map((p) => p.metadata?.name)).toEqual([
      'api-0',
      'api-1',
      'api-2',
    ]);
    const pod = snapshot.pods.find((p) => p.metadata?.name === 'api-1');
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'api-1',
        namespace: 'shop',
        labels: { app: 'api', tier: 'backend' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: '', controller: true }],
      },
      spec: {
        hostNetwork: true,
        containers: [{ name: 'api', image: 'example/api:1', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    });
    expect(pod?.status).toBeUndefined();
  });

  it('drops the representative pod of a workload whose own pods were loaded too (a deploy,pods dump)', async () => {
    const { snapshot } = await loadManifests([fixture('deployment-with-pods.yaml')]);
    expect(snapshot.pods.map((p) => p.metadata?.name)).toEqual(['web-7f9-a', 'web-7f9-b']);
    expect(snapshot.workloads.map((w) => `${w.kind}/${w.name}`)).toEqual(['Deployment/web']);
  });

  it('takes a CronJob pod template from spec.jobTemplate.spec.template', async () => {
    const { snapshot } = await loadManifests([fixture('workloads.yaml')]);

    expect(snapshot.workloads).toContainEqual({
      kind: 'CronJob',
      namespace: 'default',
      name: 'nightly-report',
      templateLabels: { app: 'report' },
    });
    const pod = snapshot.pods.find((p) => p.metadata?.name === 'nightly-report-0');
    expect(pod?.metadata?.labels).toEqual({ app: 'report' });
    expect(pod?.metadata?.ownerReferences?.[0].kind).toBe('CronJob');
    expect(pod?.spec?.containers.map((c) => c.name)).toEqual(['report']);
    expect(pod?.spec?.hostNetwork).toBeUndefined();
  });

  it('names StatefulSet pods and labels them as the controller does, and counts each kind its own way', async () => {
    const { snapshot, warnings } = await loadManifests(['-'], {
      stdin: [
        'apiVersion: apps/v1',
        'kind: StatefulSet',
        'metadata: {name: db, namespace: s}',
        'spec: {replicas: 2, selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}}}',
        '---',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: off, namespace: s}',
        'spec: {replicas: 0, selector: {matchLabels: {app: off}}, template: {metadata: {labels: {app: off}}}}',
        '---',
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata: {name: batch, namespace: s}',
        'spec: {parallelism: 3, template: {metadata: {labels: {app: batch}}}}',
        '---',
        'apiVersion: apps/v1',
        'kind: DaemonSet',
        'metadata: {name: agent, namespace: s}',
        'spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}}}',
        '---',
        'apiVersion: apps/v1',
        'kind: ReplicaSet',
        'metadata: {name: big, namespace: s}',
        'spec: {replicas: 5000, selector: {matchLabels: {app: big}}, template: {metadata: {labels: {app: big}}}}',
        '',
      ].join('\n'),
    });
    const names = snapshot.pods.map((p) => p.metadata?.name ?? '');
    expect(names.filter((n) => !n.startsWith('big-'))).toEqual([
      'db-0',
      'db-1',
      'batch-0',
      'batch-1',
      'batch-2',
      'agent-0',
    ]);
    expect(names.filter((n) => n.startsWith('big-'))).toHaveLength(1000);
    expect(snapshot.pods[1].metadata?.labels).toEqual({
      app: 'db',
      'statefulset.kubernetes.io/pod-name': 'db-1',
      'apps.kubernetes.io/pod-index': '1',
    });
    expect(warnings).toEqual([
      '<stdin>:21: ReplicaSet s/big has 5000 replicas; modelled as 1000 (pods of one workload share their answers)',
      '1 DaemonSet(s) (s/agent) run one pod per node; each is modelled as one pod, so traffic between its pods is not shown',
    ]);
  });

  it('refuses replicas that are not a whole number, naming the file and line', async () => {
    const bad = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: "3"}\n';
    await expect(loadManifests(['-'], { stdin: bad })).rejects.toThrow(
      '<stdin>:1: Deployment default/web: spec.replicas must be a whole number',
    );
  });

  it("converts a ReplicationController's map selector to matchLabels", async () => {
    const { snapshot } = await loadManifests([fixture('workloads.yaml')]);

    expect(snapshot.workloads).toContainEqual({
      kind: 'ReplicationController',
      namespace: 'old',
      name: 'legacy',
      selector: { matchLabels: { app: 'legacy' } },
      templateLabels: { app: 'legacy' },
    });
  });

  it('reads a JSON List, accepting extensions/v1beta1 NetworkPolicy and keeping pod IPs', async () => {
    const { snapshot, warnings } = await loadManifests([fixture('list.json')]);

    expect(warnings).toEqual([]);
    expect(names(snapshot.policies)).toEqual(['old/legacy-deny']);
    expect(snapshot.policies[0].apiVersion).toBe('networking.k8s.io/v1');
    expect(snapshot.policies[0].spec?.podSelector).toEqual({});
    expect(names(snapshot.pods)).toEqual(['default/client']);
    expect(snapshot.pods[0].status?.podIPs).toEqual([{ ip: '10.0.2.7' }, { ip: 'fd00::7' }]);
  });

  it('reads a typed *List whose items carry no kind or apiVersion', async () => {
    const { snapshot, warnings } = await loadManifests([fixture('podlist.yaml')]);

    expect(warnings).toEqual([]);
    expect(names(snapshot.pods)).toEqual(['shop/cache-0', 'shop/cache-1']);
    expect(snapshot.pods[0]).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
  });
});

describe('loadManifests: namespaces', () => {
  it('adds namespaces that objects mention but no manifest defines, labelled with their name', async () => {
    const { snapshot } = await loadManifests([fixture('workloads.yaml')]);

    expect(snapshot.namespaces).toEqual([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { [NAMESPACE_NAME_LABEL]: 'shop' } } },
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'default', labels: { [NAMESPACE_NAME_LABEL]: 'default' } },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old', labels: { [NAMESPACE_NAME_LABEL]: 'old' } } },
    ]);
  });

  it('sets the name label on a defined namespace even when the manifest sets it to something else', async () => {
    const text =
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: real\n  labels:\n    kubernetes.io/metadata.name: fake\n';
    const { snapshot } = await loadManifests(['-'], { stdin: text });

    expect(snapshot.namespaces[0].metadata?.labels).toEqual({ [NAMESPACE_NAME_LABEL]: 'real' });
  });

  it('puts objects without a namespace into defaultNamespace', async () => {
    const { snapshot } = await loadManifests([fixture('list.json'), fixture('workloads.yaml')], {
      defaultNamespace: 'team-a',
    });

    expect(names(snapshot.pods)).toContain('team-a/client');
    expect(snapshot.workloads.find((w) => w.kind === 'CronJob')?.namespace).toBe('team-a');
    expect(names(snapshot.namespaces)).toContain('/team-a');
    expect(names(snapshot.namespaces)).not.toContain('/default');
  });
});

describe('loadManifests: sources', () => {
  it('reads a directory recursively, only .yaml/.yml/.json files, in sorted order', async () => {
    const { snapshot, warnings } = await loadManifests([fixture('tree')]);

    expect(snapshot.pods.map((p) => p.metadata?.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(warnings).toEqual([]);
  });

  it('reads stdin from a string for -', async () => {
    const { snapshot } = await loadManifests(['-'], {
      stdin: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-stdin\n  namespace: piped\n',
    });

    expect(names(snapshot.pods)).toEqual(['piped/from-stdin']);
  });

  it('reads stdin from a stream for -, JSON included, alongside files', async () => {
    const stream = Readable.from([Buffer.from('{"apiVersion":"v1","kind":"Pod",'), '"metadata":{"name":"streamed"}}']);
    const { snapshot } = await loadManifests([fixture('tree/a.yml'), '-'], { stdin: stream });

    expect(snapshot.pods.map((p) => p.metadata?.name)).toEqual(['a', 'streamed']);
  });

  it('refuses - twice', async () => {
    const err = await rejectionOf(loadManifests(['-', '-'], { stdin: '' }));

    expect(err).toBeInstanceOf(UsageError);
  });

  it('ignores empty documents and null', async () => {
    const { snapshot, warnings } = await loadManifests(['-'], {
      stdin: '---\n---\n# only a comment\n---\nnull\n---\n',
    });

    expect(snapshot.pods).toEqual([]);
    expect(snapshot.namespaces).toEqual([]);
    // An empty world would answer "nothing reaches anything": the files being empty is said.
    expect(warnings).toEqual(['<stdin>: no Kubernetes objects found']);
  });

  it('keeps the later of two definitions of an object, with a warning naming both places', async () => {
    const { snapshot, warnings } = await loadManifests([fixture('duplicate.yaml')]);

    expect(snapshot.pods).toHaveLength(1);
    expect(snapshot.pods[0].metadata?.labels).toEqual({ app: 'web-new' });
    expect(warnings).toEqual([
      `${fixture('duplicate.yaml')}:8: Pod default/web is also defined at ${fixture('duplicate.yaml')}:1; using the later one`,
    ]);
  });

  it('warns once when a workload is redefined (not again for its representative pod)', async () => {
    const { snapshot, warnings } = await loadManifests([fixture('workloads.yaml'), fixture('workloads.yaml')]);

    expect(snapshot.workloads).toHaveLength(3);
    expect(warnings.filter((w) => w.includes('Deployment shop/api'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('Pod shop/api'))).toHaveLength(0);
  });
});

describe('loadManifests: errors', () => {
  it('reports a YAML syntax error with the file and the exact line', async () => {
    const err = await rejectionOf(loadManifests([fixture('broken.yaml')]));

    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({ file: fixture('broken.yaml'), line: 9 });
    expect(err.message).toMatch(new RegExp(`^${fixture('broken.yaml')}:9: invalid YAML: `));
    expect(err.message).not.toContain('\n');
  });

  it('reports a JSON syntax error with the file and line', async () => {
    const err = await rejectionOf(loadManifests([fixture('broken.json')]));

    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({ file: fixture('broken.json'), line: 6 });
    expect(err.message).toMatch(/invalid JSON/);
  });

  it('names the file and the line of a document without metadata.name', async () => {
    const err = await rejectionOf(loadManifests([fixture('no-name.yaml')]));

    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message).toBe(`${fixture('no-name.yaml')}:7: Service has no metadata.name`);
  });

  it('names the line of the List item at fault', async () => {
    const err = await rejectionOf(loadManifests([fixture('list-bad-item.yaml')]));

    expect(err.message).toBe(`${fixture('list-bad-item.yaml')}:8: Pod has no metadata.name`);
  });

  it('rejects a document that is not an object', async () => {
    const err = await rejectionOf(loadManifests([fixture('not-object.yaml')]));

    expect(err.message).toBe(`${fixture('not-object.yaml')}:6: expected a Kubernetes object, found a list`);
  });

  it.each([
    ['kind', 'apiVersion: v1\nmetadata:\n  name: x\n'],
    ['apiVersion', 'kind: Pod\nmetadata:\n  name: x\n'],
  ])('rejects an object without %s', async (field, text) => {
    const err = await rejectionOf(loadManifests(['-'], { stdin: text }));

    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message).toBe(`<stdin>:1: object has no ${field}`);
  });

  it('rejects a label value that is not a string', async () => {
    const err = await rejectionOf(loadManifests([fixture('numeric-label.yaml')]));

    expect(err.message).toMatch(/metadata\.labels\.version must be a string/);
  });

  it('reports a missing path as a ManifestError with a hint', async () => {
    const err = await rejectionOf(loadManifests([fixture('nope.yaml')]));

    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message).toBe(`${fixture('nope.yaml')}: no such file or directory`);
    expect((err as ManifestError).hint).toMatch(/-f/);
  });

  // Root reads a file whatever its mode, so there the test cannot fail: skipped, saying why.
  const runsAsRoot = process.getuid?.() === 0;
  const unreadable = 'reports an unreadable file as permission denied';
  (runsAsRoot ? it.skip : it)(runsAsRoot ? `${unreadable} [skipped: root reads any file]` : unreadable, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netpol-files-'));
    const path = join(dir, 'secret.yaml');
    try {
      await writeFile(path, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n');
      await chmod(path, 0o000);
      const err = await rejectionOf(loadManifests([path]));

      expect(err).toBeInstanceOf(ManifestError);
      expect(err.message).toBe(`${path}: permission denied`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loadManifests: wrong types the engine reads (regressions found by test/property/manifests.test.ts)', () => {
  const pod = (extra: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n${extra}`;

  it.each([
    ['an alias without its anchor', '<<: *a\n', '<stdin>:1: invalid YAML: Unresolved alias'],
    [
      'containers that are not a list',
      pod('spec:\n  containers: 5\n'),
      '<stdin>:1: Pod p: spec.containers must be a list',
    ],
    [
      'a containerPort that is not a number',
      pod('spec:\n  containers: [{name: c, ports: [{containerPort: "80"}]}]\n'),
      '<stdin>:1: Pod p: spec.containers[0].ports[0].containerPort must be a port number (1-65535)',
    ],
    [
      'podIPs that are not a list',
      pod('status:\n  podIPs: 10.0.0.1\n'),
      '<stdin>:1: Pod p: status.podIPs must be a list',
    ],
    [
      'a nodeName that is not a string',
      pod('spec:\n  nodeName: 3\n'),
      '<stdin>:1: Pod p: spec.nodeName must be a string',
    ],
    [
      'hostIPs that are not a list',
      pod('status:\n  hostIPs: 10.0.0.1\n'),
      '<stdin>:1: Pod p: status.hostIPs must be a list',
    ],
    [
      'Node addresses that are not a list',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {addresses: 10.0.0.1}\n',
      '<stdin>:1: Node n: status.addresses must be a list',
    ],
    [
      'a Node address without a type',
      '---\napiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n  addresses: [{address: 10.0.0.1}]\n',
      '<stdin>:2: Node n: status.addresses[0] must be an object with a string type and address',
    ],
    [
      'a Node InternalIP that is not an IP',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {addresses: [{type: InternalIP, address: node-1}]}\n',
      '<stdin>:1: Node n: status.addresses[0].address must be an IP address (type InternalIP), found "node-1"',
    ],
    [
      'a Deployment selector that is not a selector',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchExpressions: 3}\n',
      '<stdin>:1: Deployment d: spec.selector.matchExpressions must be a list',
    ],
  ])('refuses %s with one line naming the field', async (_what, text, message) => {
    const err = await rejectionOf(loadManifests(['-'], { stdin: text }));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message.startsWith(message)).toBe(true);
  });
});

describe("loadManifests: Node objects (what cluster policies' nodes peers select)", () => {
  it('reads name, labels and the InternalIP/ExternalIP addresses; a namespace on one is ignored', async () => {
    const loaded = await loadManifests(['-'], {
      stdin: `apiVersion: v1
kind: Node
metadata: {name: n1, namespace: x, labels: {role: worker}}
status:
  addresses:
  - {type: Hostname, address: n1}
  - {type: InternalIP, address: 10.0.0.1}
  - {type: ExternalIP, address: "2001:db8::1"}
  - {type: InternalDNS, address: n1.internal}
---
apiVersion: v1
kind: NodeList
items:
- metadata: {name: n2}
`,
    });
    expect(loaded.snapshot.nodes).toEqual([
      { name: 'n1', labels: { role: 'worker' }, addresses: ['10.0.0.1', '2001:db8::1'] },
      { name: 'n2', labels: {}, addresses: [] },
    ]);
    expect(loaded.warnings).toEqual([]);
    // Cluster-scoped: no namespace is implied by it.
    expect(loaded.snapshot.namespaces).toEqual([]);
    expect(loaded.origins?.get('Node/n1')).toEqual({ file: '<stdin>', line: 1 });
  });

  it('a snapshot without Node manifests has none', async () => {
    const loaded = await loadManifests(['-'], { stdin: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n' });
    expect(loaded.snapshot.nodes).toBeUndefined();
  });
});
