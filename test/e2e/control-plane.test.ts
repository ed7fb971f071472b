/** Smoke test of the e2e tier itself, independent of the CLI: the real apiserver answers, the
 * admin can build a world (pods get IPs through the status subresource) and RBAC denies the
 * restricted user what the CLI must cope with. */
import { describe, expect, test } from '@jest/globals';
import { applyWorld, createNamespace, kubectl } from './helpers.js';

const TIMEOUT = 60_000;

describe('e2e control plane', () => {
  test(
    'serves /version of the expected release',
    async () => {
      const { stdout } = await kubectl(['get', '--raw', '/version']);
      const version = JSON.parse(stdout) as { gitVersion: string };
      expect(version.gitVersion).toBe(process.env.E2E_K8S_VERSION ?? version.gitVersion);
      expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    },
    TIMEOUT,
  );

  test(
    'admin creates namespaces, pods with IPs and policies; viewer may read pods but not policies',
    async () => {
      const frontend = await createNamespace({ team: 'frontend' });
      const backend = await createNamespace();
      const world = await applyWorld(
        { frontend, backend },
        `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: frontend, labels: {app: web}}
status: {podIP: 10.244.200.7}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: backend, labels: {app: db}}
spec:
  containers: [{name: db, image: example.invalid/db:0, ports: [{name: sql, containerPort: 5432}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-frontend, namespace: backend}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}
    ports: [{port: sql}]
`,
      );

      expect(world.pods.map((p) => `${p.namespace}/${p.name}`)).toEqual([`${frontend}/web`, `${backend}/db`]);
      const web = JSON.parse((await kubectl(['get', 'pod', 'web', '-n', frontend, '-o', 'json'])).stdout);
      expect(web.status).toMatchObject({
        phase: 'Running',
        podIP: '10.244.200.7',
        podIPs: [{ ip: '10.244.200.7' }],
        hostIP: '192.0.2.1',
      });
      const db = JSON.parse((await kubectl(['get', 'pod', 'db', '-n', backend, '-o', 'json'])).stdout);
      expect(db.status.podIP).toBe(world.pods[1].podIP);
      expect(db.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
      const policy = JSON.parse(
        (await kubectl(['get', 'networkpolicy', 'db-from-frontend', '-n', backend, '-o', 'json'])).stdout,
      );
      expect(policy.spec.ingress[0].from[0].namespaceSelector.matchLabels).toEqual({
        'kubernetes.io/metadata.name': frontend,
      });

      const pods = await kubectl(['get', 'pods', '-n', frontend, '-o', 'name'], { context: 'e2e-viewer' });
      expect(pods.stdout.trim()).toBe('pod/web');
      const policies = await kubectl(['get', 'networkpolicies', '-n', backend], {
        context: 'e2e-viewer',
        allowFailure: true,
      });
      expect(policies.code).not.toBe(0);
      expect(policies.stderr).toContain('Forbidden');
      expect(policies.stderr).toContain('User "e2e-viewer" cannot list resource "networkpolicies"');
    },
    TIMEOUT,
  );
});
