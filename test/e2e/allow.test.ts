/** allow against the real kube-apiserver: create then who-can, server dry run, conflicts, apply -f -, RBAC. */
import { describe, expect, test } from '@jest/globals';

import { applyWorld, createNamespace, kubectl, runCli } from './helpers.js';

const TIMEOUT = 60_000;
const MANAGED = { 'app.kubernetes.io/managed-by': 'kubectl-netpol' };

/** A namespace with a frontend and a backend pod (http on 80), under an ingress default deny. */
async function seedNamespace(): Promise<string> {
  const ns = await createNamespace();
  await applyWorld(
    { 'tenant-a': ns },
    `
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: tenant-a, labels: {segment: frontend}}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: tenant-a, labels: {segment: backend}}
spec:
  containers: [{name: api, image: example.invalid/none:0, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: tenant-a}
spec: {podSelector: {}, policyTypes: [Ingress]}
`,
  );
  return ns;
}

type Policy = { metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> };

async function policy(ns: string, name: string): Promise<Policy | undefined> {
  const got = await kubectl(['get', 'networkpolicy', name, '-n', ns, '-o', 'json'], { allowFailure: true });
  return got.code === 0 ? (JSON.parse(got.stdout) as Policy) : undefined;
}

const POL1_SPEC = {
  podSelector: { matchLabels: { segment: 'backend' } },
  policyTypes: ['Ingress'],
  ingress: [
    { from: [{ podSelector: { matchLabels: { segment: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
  ],
};

const pol1Flags = (ns: string) => [
  'allow',
  'pol1',
  '-n',
  ns,
  '--from',
  'segment=frontend',
  '--to',
  'segment=backend',
  '--port',
  '80/TCP',
];

describe('allow on a real API server', () => {
  test(
    'creates the policy labelled managed-by, and who-can then shows the new path',
    async () => {
      const ns = await seedNamespace();
      const before = await runCli(['who-can', 'pod/backend', '-n', ns, '--port', '80/TCP']);
      expect(before.stdout).not.toContain(`${ns}/frontend`);

      const created = await runCli(pol1Flags(ns));
      expect(created).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/pol1 created\n' });
      expect(created.stderr).toMatch(new RegExp(`opens {4}1 +${ns}/frontend +${ns}/backend +80/TCP`));
      const stored = await policy(ns, 'pol1');
      expect(stored?.metadata.labels).toEqual(MANAGED);
      expect(stored?.spec).toEqual(POL1_SPEC);

      const after = await runCli(['who-can', 'pod/backend', '-n', ns, '--port', '80/TCP']);
      expect(after.code).toBe(0);
      expect(after.stdout).toMatch(new RegExp(`${ns}/frontend\\s.*80/TCP\\s.*pol1`));

      // The same again is unchanged; by name it reaches the backend's named port too.
      const again = await runCli(pol1Flags(ns));
      expect(again).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/pol1 unchanged\n' });
      const named = await runCli(['who-can', 'pod/backend', '-n', ns, '--port', 'http']);
      expect(named.stdout).toContain(`${ns}/frontend`);
    },
    TIMEOUT,
  );

  test(
    '--dry-run=server asks the server and stores nothing; -o json pipes into kubectl apply -f -',
    async () => {
      const ns = await seedNamespace();
      const dry = await runCli([...pol1Flags(ns), '--dry-run=server']);
      expect(dry).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/pol1 created (server dry run)\n' });
      expect(await policy(ns, 'pol1')).toBeUndefined();

      const printed = await runCli([...pol1Flags(ns), '--dry-run=client', '-o', 'json']);
      expect(printed.code).toBe(0);
      const applied = await kubectl(['apply', '-f', '-'], { input: printed.stdout });
      expect(applied.stdout).toBe('networkpolicy.networking.k8s.io/pol1 created\n');
      const stored = await policy(ns, 'pol1');
      expect(stored?.spec).toEqual(POL1_SPEC);
      expect(stored?.metadata.labels).toEqual(MANAGED);
    },
    TIMEOUT,
  );

  test(
    'a policy of that name from another tool: refused, then replaced with --overwrite, which says so',
    async () => {
      const ns = await seedNamespace();
      await kubectl(['apply', '-n', ns, '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'pol1' },
          spec: { podSelector: { matchLabels: { segment: 'backend' } }, ingress: [{}] },
        }),
      });
      const refused = await runCli(pol1Flags(ns));
      expect(refused).toMatchObject({ code: 1, stdout: '' });
      expect(refused.stderr).toContain(
        `error: networkpolicy ${ns}/pol1 already exists (created by another tool) with other rules; nothing was written`,
      );
      expect((await policy(ns, 'pol1'))?.metadata.labels).toBeUndefined();

      // Replacing an allow-all rule by a narrower one cuts connections: --yes, as without a terminal.
      const replaced = await runCli([...pol1Flags(ns), '--overwrite', '--yes']);
      expect(replaced).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/pol1 configured\n' });
      expect(replaced.stderr).toContain(
        `--overwrite: replacing networkpolicy ${ns}/pol1, which kubectl-netpol did not create`,
      );
      const stored = await policy(ns, 'pol1');
      expect(stored?.spec).toEqual(POL1_SPEC);
      expect(stored?.metadata.labels).toEqual(MANAGED);
    },
    TIMEOUT,
  );

  test(
    'the restricted user (e2e-viewer) is refused while reading: one error line and a hint, nothing written or printed',
    async () => {
      const ns = await seedNamespace();
      const run = await runCli([...pol1Flags(ns), '--context', 'e2e-viewer']);
      expect(run).toMatchObject({ code: 1, stdout: '' });
      // Refused at the first list the snapshot needs (services or networkpolicies), before any write.
      expect(run.stderr).toMatch(
        /^error: forbidden: user "e2e-viewer" cannot list resource "\w+"[^\n]*\nhint: [^\n]*\n$/,
      );
      expect(await policy(ns, 'pol1')).toBeUndefined();
    },
    TIMEOUT,
  );

  test(
    'cross-namespace peer: the source namespace denies egress, and the printed --egress allow opens it',
    async () => {
      const ns = await seedNamespace();
      const other = await createNamespace();
      await applyWorld(
        { 'tenant-b': other },
        `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: tenant-b, labels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: tenant-b}
spec: {podSelector: {}, policyTypes: [Egress]}
`,
      );
      const run = await runCli([
        'allow',
        '-n',
        ns,
        '--from',
        `app=web@${other}`,
        '--to',
        'segment=backend',
        '--port',
        '80',
      ]);
      expect(run.code).toBe(0);
      const fix = `kubectl netpol allow --egress -n ${other} --from app=web --to segment=backend@${ns} --port 80/TCP`;
      expect(run.stderr).toContain(
        `stays blocked on 80/TCP by the egress policies of the source (${other}/web -> ${ns}/backend 80/TCP); to open it: ${fix}`,
      );
      const blocked = await runCli(['who-can', 'pod/backend', '-n', ns, '--from', `${other}/pod/web`, '--port', '80']);
      expect(blocked.code).toBe(1);

      const opened = await runCli(fix.split(' ').slice(2));
      expect(opened.code).toBe(0);
      const allowed = await runCli(['who-can', 'pod/backend', '-n', ns, '--from', `${other}/pod/web`, '--port', '80']);
      expect(allowed).toMatchObject({ code: 0, stdout: 'yes\n' });
    },
    TIMEOUT,
  );

  test(
    "the API server's warnings (a CIDR that is not canonical) on stderr, once each, as kubectl shows them",
    async () => {
      const ns = await seedNamespace();
      const flags = ['-n', ns, '--from', '10.0.0.1/8', '--to', 'segment=backend', '--port', '80', '--yes'];
      const run = await runCli(['allow', 'wide', ...flags]);
      expect(run).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/wide created\n' });
      // What the server says of that policy, as kubectl prints it (its server dry run of a copy).
      const { spec } = (await policy(ns, 'wide'))!;
      const copy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'wide-copy' }, spec };
      const dry = await kubectl(['create', '-n', ns, '--dry-run=server', '-f', '-'], { input: JSON.stringify(copy) });
      const serverWarnings = dry.stderr.split('\n').filter((line) => line.startsWith('Warning: spec.'));
      expect(serverWarnings).toEqual([expect.stringContaining('"10.0.0.1/8"')]);
      // Sent for the server dry run and the create alike, and printed once.
      const ours = run.stderr.split('\n').filter((line) => line.startsWith('Warning: '));
      expect(ours.filter((line) => serverWarnings.includes(line))).toEqual(serverWarnings);
      expect(run.stdout).not.toContain('Warning');
    },
    TIMEOUT,
  );
});
