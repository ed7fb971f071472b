/** isolate against the real kube-apiserver: writes, status, server dry run, idempotency, --off, RBAC. */
import { describe, expect, test } from '@jest/globals';

import { applyWorld, createNamespace, kubectl, runCli } from './helpers.js';

const TIMEOUT = 60_000;

/** A namespace with a frontend and a backend pod, and pol1 (backend admits frontend on 80/TCP). */
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
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pol1, namespace: tenant-a}
spec:
  podSelector: {matchLabels: {segment: backend}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {segment: frontend}}}]
    ports: [{protocol: TCP, port: 80}]
`,
  );
  return ns;
}

async function policies(
  ns: string,
): Promise<{ metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> }[]> {
  return JSON.parse((await kubectl(['get', 'networkpolicies', '-n', ns, '-o', 'json'])).stdout).items;
}

describe('isolate on a real API server', () => {
  test(
    'isolates, is idempotent, shows status, adds egress in the same policy, and --off removes only its own',
    async () => {
      const ns = await seedNamespace();
      const first = await runCli(['isolate', ns, '--yes', '--explain']);
      expect(first).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/default-deny created\n' });
      expect(first.stderr).toMatch(
        /Preview: \d+ pod-to-pod connections? allowed today would be denied; 1 pod would lose traffic with addresses outside the cluster:/,
      );
      // Pods of other tests share this cluster and may reach the namespace too; inside it, the one
      // connection allowed today (backend -> frontend; pol1 guards backend) is what gets cut.
      // --explain lists every group: CONNECTIONS FROM TO PORTS; addresses outside the cluster too.
      expect(first.stderr).toMatch(new RegExp(`^\\s*1\\s+${ns}/backend\\s+${ns}/frontend\\s+all$`, 'm'));
      expect(first.stderr).not.toMatch(new RegExp(`^\\s*\\d+\\s+${ns}/frontend\\s+${ns}/backend\\s`, 'm'));
      expect(first.stderr).toMatch(new RegExp(`^\\s*1\\s+0\\.0\\.0\\.0/0, ::/0\\s+${ns}/frontend\\s+all$`, 'm'));
      const created = (await policies(ns)).find((p) => p.metadata.name === 'default-deny');
      expect(created?.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'kubectl-netpol' });
      expect(created?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });

      const again = await runCli(['isolate', ns, '--yes']);
      expect(again).toMatchObject({
        code: 0,
        stdout: '',
        stderr: `namespace ${ns} is already isolated (ingress by default-deny); nothing to do\n`,
      });
      expect((await policies(ns)).map((p) => p.metadata.name).sort()).toEqual(['default-deny', 'pol1']);

      const status = await runCli(['isolate', '--status', ns, '--no-headers']);
      expect(status).toMatchObject({ code: 0, stdout: `${ns}   isolated   no   2\n` });
      const wide = await runCli(['isolate', '--status', ns, '--no-headers', '-o', 'wide']);
      expect(wide).toMatchObject({ code: 0, stdout: `${ns}   isolated   no   2   default-deny,pol1\n` });

      const egress = await runCli(['isolate', ns, '--egress', '--yes']);
      expect(egress).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/default-deny configured\n' });
      const updated = (await policies(ns)).find((p) => p.metadata.name === 'default-deny');
      expect(updated?.spec).toMatchObject({
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      });

      await kubectl(['apply', '-n', ns, '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'team-deny' },
          spec: { podSelector: {}, policyTypes: ['Ingress'] },
        }),
      });
      const off = await runCli(['isolate', ns, '--off']);
      expect(off).toMatchObject({ code: 0, stdout: 'networkpolicy.networking.k8s.io/default-deny deleted\n' });
      expect(off.stderr).toContain(`namespace ${ns} stays isolated for ingress by team-deny`);
      expect((await policies(ns)).map((p) => p.metadata.name).sort()).toEqual(['pol1', 'team-deny']);
    },
    TIMEOUT,
  );

  test(
    '--dry-run=server sends the request and persists nothing',
    async () => {
      const ns = await seedNamespace();
      const run = await runCli(['isolate', ns, '--dry-run=server', '-o', 'json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        kind: 'NetworkPolicy',
        metadata: { name: 'default-deny', namespace: ns },
      });
      expect((await policies(ns)).map((p) => p.metadata.name)).toEqual(['pol1']);
    },
    TIMEOUT,
  );

  test(
    'refuses a policy of that name it did not create, and an unknown namespace',
    async () => {
      const ns = await seedNamespace();
      await kubectl(['apply', '-n', ns, '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'default-deny' },
          spec: { podSelector: { matchLabels: { segment: 'frontend' } }, policyTypes: ['Ingress'] },
        }),
      });
      const run = await runCli(['isolate', ns, '--yes']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `error: networkpolicy ${ns}/default-deny already exists and was not created by kubectl-netpol`,
      );
      const missing = await runCli(['isolate', `${ns}-missing`, '--yes']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`error: namespace "${ns}-missing" not found`);
    },
    TIMEOUT,
  );

  test(
    'the restricted user gets exit 1 and a message naming the verb and resource',
    async () => {
      const ns = await seedNamespace();
      const run = await runCli(['isolate', ns, '--yes', '--context', 'e2e-viewer']);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^error: forbidden: user "e2e-viewer" cannot (list|get|create) resource "[a-z]+"/m);
      expect(run.stderr).toMatch(/^hint: ask for \w+ on \S+/m);
      expect((await policies(ns)).map((p) => p.metadata.name)).toEqual(['pol1']);
    },
    TIMEOUT,
  );
});
