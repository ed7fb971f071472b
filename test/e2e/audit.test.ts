/** audit against the real kube-apiserver: a live namespace gives the findings its manifests give with -f, and SARIF without file locations. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, test } from '@jest/globals';

import { applyWorld, runCli, uniqueNamespaceName } from './helpers.js';

const TIMEOUT = 90_000;

/**
 * One namespace (__NS__) with a finding of most kinds that stay inside it: a seed-era annotation, a pod
 * no policy isolates, a rule open to the internet, a policy selecting no pod, a peer and a port name
 * that match nothing (with their near misses), a rule another admits in full. No egress isolation and no namespaceSelector, so
 * other tests' namespaces and pods in the shared cluster cannot change the answer.
 */
const WORLD = `
apiVersion: v1
kind: Namespace
metadata:
  name: __NS__
  annotations: {net.beta.kubernetes.io/network-policy: '{"ingress": {"isolation": "DefaultDeny"}}'}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: __NS__, labels: {app: web}}
spec: {containers: [{name: main, image: example.invalid/web:1, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.250.7.10}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: __NS__, labels: {app: client}}
spec: {containers: [{name: main, image: example.invalid/client:1}]}
status: {podIP: 10.250.7.11}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: __NS__}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: 443}]
  - from: [{podSelector: {matchLabels: {app: client}}}, {podSelector: {matchLabels: {app: clinet}}}]
    ports: [{port: htpp}, {port: 8080}]
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: __NS__}
spec:
  podSelector: {matchLabels: {app: wbe}}
  policyTypes: [Ingress]
`;

interface Finding {
  id: string;
  severity: string;
  namespace?: string;
  object: { kind: string; name: string };
  message: string;
}

interface Sarif {
  runs: {
    tool: { driver: { rules: { id: string }[] } };
    results: { ruleId: string; locations: { physicalLocation?: unknown; logicalLocations: unknown[] }[] }[];
  }[];
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('audit on a real API server', () => {
  test(
    'a live namespace has the findings of the same objects read with -f; SARIF locates live objects only logically',
    async () => {
      const ns = uniqueNamespaceName();
      const yaml = WORLD.replaceAll('__NS__', ns);
      // Pod IPs are given, so the files and the cluster hold the same pods.
      await applyWorld({}, yaml);
      const dir = mkdtempSync(join(tmpdir(), 'netpol-audit-e2e-'));
      dirs.push(dir);
      const file = join(dir, 'world.yaml');
      writeFileSync(file, yaml);

      const args = ['audit', '-n', ns, '-o', 'json'];
      const [live, offline] = await Promise.all([runCli(args), runCli([...args, '-f', file])]);
      // Warnings are at or above --fail-on's default: exit status 1 both ways, nothing on stderr but warnings.
      expect([live.code, offline.code]).toEqual([1, 1]);
      expect(live.stderr).not.toMatch(/^error:/m);
      const findings = (run: typeof live) => (JSON.parse(run.stdout) as { findings: Finding[] }).findings;
      expect(findings(live)).toEqual(findings(offline));
      expect(findings(live).map((f) => `${f.severity} ${f.id} ${f.object.kind}/${f.object.name}`)).toEqual([
        'warning exposed-to-all-namespaces Pod/client',
        'warning exposed-to-internet Pod/client',
        'warning exposed-to-internet Pod/web',
        'warning legacy-annotation Namespace/' + ns,
        'warning named-port-unresolved NetworkPolicy/web-ingress',
        'warning namespace-not-isolated Namespace/' + ns,
        'warning peer-selects-nothing NetworkPolicy/web-ingress',
        'warning policy-selects-no-pods NetworkPolicy/typo',
        'info namespace-not-isolated Namespace/' + ns,
        'info rule-shadowed NetworkPolicy/web-ingress',
      ]);

      const sarif = ['audit', '-n', ns, '-o', 'sarif'];
      const [liveSarif, fileSarif] = await Promise.all([runCli(sarif), runCli([...sarif, '-f', file])]);
      const results = (run: typeof live) => (JSON.parse(run.stdout) as Sarif).runs[0].results;
      expect(results(liveSarif).map((r) => r.ruleId)).toEqual(findings(live).map((f) => f.id));
      expect(results(liveSarif).every((r) => r.locations.every((l) => l.physicalLocation === undefined))).toBe(true);
      expect(results(liveSarif).every((r) => r.locations[0].logicalLocations.length === 1)).toBe(true);
      // The same findings from the file are located in it.
      expect(results(fileSarif).every((r) => r.locations[0].physicalLocation !== undefined)).toBe(true);
    },
    TIMEOUT,
  );
});
