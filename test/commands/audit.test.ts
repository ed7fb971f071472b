/** audit: exit codes, --fail-on, --ignore, --expect, and the SARIF document validated against the SARIF 2.1.0 schema. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import Audit from '../../src/commands/audit.js';
import type { AuditResult } from '../../src/lib/services/audit.js';
import { ROOT, runCommand } from './run-command.js';

const SHOP = ['-A', '-f', 'examples/shop'];
const TRAPS = ['-A', '-f', 'test/fixtures/audit/traps.yaml'];
const FIXTURES = 'test/fixtures/audit';

function audit(...argv: string[]) {
  return runCommand<AuditResult>(Audit, argv);
}

interface Document {
  findings: {
    id: string;
    severity: string;
    namespace?: string;
    object: { kind: string; name: string };
    message: string;
    fix: string;
  }[];
}

const ids = (stdout: string) =>
  (JSON.parse(stdout) as Document).findings.map(
    (f) => `${f.severity} ${f.id} ${f.namespace ?? '-'} ${f.object.kind}/${f.object.name}`,
  );

describe('findings and exit codes', () => {
  it('lists the findings of files, errors first, and exits 1 at or above warning', async () => {
    const run = await audit(...TRAPS, '-o', 'json');
    expect(run.exitCode).toBe(1);
    expect(ids(run.stdout)).toEqual([
      'error invalid-policy app NetworkPolicy/bad-cidr',
      'warning legacy-annotation app Namespace/app',
      'warning policy-selects-no-pods app NetworkPolicy/web-typo',
    ]);
    const first = (JSON.parse(run.stdout) as Document).findings[2];
    expect(first.message).toBe(
      'podSelector {app=webb} selects no pod of namespace app (did you mean app=web for app=webb?)',
    );
    expect(first.fix).toBe(
      'correct the podSelector to the labels the pods carry, or delete the policy if its pods are gone',
    );
  });

  it('exits 0 when nothing is at or above --fail-on, and leaves out --ignore ids', async () => {
    expect((await audit(...SHOP, '--fail-on', 'error')).exitCode).toBe(0);
    const ignored = await audit(
      ...SHOP,
      '--ignore',
      'namespace-not-isolated',
      '--ignore',
      'exposed-to-internet',
      '--ignore',
      'exposed-to-all-namespaces',
      '-o',
      'json',
    );
    expect(ignored.exitCode).toBe(0);
    // Every finding of the shop is of those three ids.
    expect(ids(ignored.stdout)).toEqual([]);
    expect((await audit(...SHOP, '--fail-on', 'info', '--ignore', 'exposed-to-internet')).exitCode).toBe(1);
  });

  it('audits one namespace with -n: a fully isolated one has nothing to say (exit 0, "No findings.")', async () => {
    const run = await audit('-n', 'api', '-f', 'examples/shop');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('No findings.\n');
  });

  it('leaves out the findings of one id about one object with --ignore ID:NAMESPACE/NAME', async () => {
    const all = ids((await audit(...SHOP, '-o', 'json')).stdout);
    const run = await audit(
      ...SHOP,
      '--ignore',
      'exposed-to-internet:web/frontend',
      '--ignore',
      'namespace-not-isolated:kube-system/kube-system',
      '-o',
      'json',
    );
    const left = (JSON.parse(run.stdout) as Document).findings.map(
      (f) => `${f.id} ${f.namespace ?? '-'}/${f.object.name}${f.severity === 'info' ? ' (info)' : ''}`,
    );
    expect(left.length).toBe(all.length - 3);
    expect(left).not.toContain('exposed-to-internet web/frontend');
    // Both directions of kube-system are left out; the other namespaces' are kept.
    expect(left.filter((f) => f.startsWith('namespace-not-isolated'))).toEqual([
      'namespace-not-isolated monitoring/monitoring',
      'namespace-not-isolated web/web',
      'namespace-not-isolated db/db (info)',
      'namespace-not-isolated web/web (info)',
    ]);
    expect(left).toContain('exposed-to-internet web/toolbox');
    const bad = await audit(...SHOP, '--ignore', 'exposed-to-internet:web/');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(
      /^error: invalid value "exposed-to-internet:web\/" for --ignore: name the object as NAMESPACE\/NAME, or NAME when it is cluster-scoped\n/,
    );
  });

  it('is a usage error (2) for an unknown --ignore id, -n with -A, or a bad --fail-on', async () => {
    const bogus = await audit(...SHOP, '--ignore', 'bogus');
    expect(bogus.exitCode).toBe(2);
    expect(bogus.stderr).toMatch(
      /^error: invalid value "bogus" for --ignore: no finding has this id\nhint: the ids are invalid-policy, /,
    );
    expect((await audit('-A', '-n', 'api', '-f', 'examples/shop')).exitCode).toBe(2);
    expect((await audit(...SHOP, '--fail-on', 'never')).exitCode).toBe(2);
  });

  it('exits 3 when it cannot audit (a namespace not found, files missing)', async () => {
    const missing = await audit('-n', 'nope', '-f', 'examples/shop');
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/^error: namespace "nope" not found\n/);
    expect((await audit('-A', '-f', 'no/such/dir')).exitCode).toBe(3);
  });
});

describe('--expect', () => {
  it('passes (exit 0) when every expectation holds', async () => {
    const run = await audit('-n', 'api', '-f', 'examples/shop', '--expect', join(FIXTURES, 'shop-expectations.yaml'));
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain('No findings; 3 of 3 expectations hold.\n');
  });

  it("reports each expectation that does not hold as an error, with who-can's reason", async () => {
    const run = await audit(
      '-n',
      'api',
      '-f',
      'examples/shop',
      '--expect',
      join(FIXTURES, 'shop-broken-expectations.json'),
      '-o',
      'json',
    );
    expect(run.exitCode).toBe(1);
    const { findings } = JSON.parse(run.stdout) as Document;
    expect(findings.map((f) => [f.id, f.object.name])).toEqual([
      ['expectation-violated', 'api/deployment/api -> 0.0.0.0/0 on 443'],
      ['expectation-violated', 'monitoring/deployment/prometheus -> api/deployment/api on 8080/TCP'],
    ]);
    expect(findings[0].message).toBe(
      'expected api/deployment/api -> 0.0.0.0/0 on 443 to be denied, but some connections are allowed and some denied: api/api-0 -> 0.0.0.0/0: egress: rule backend-egress egress[1] admits only part of 0.0.0.0/0 on 443/TCP (not 0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/5 and 21 more)',
    );
    expect(findings[1].message).toBe(
      'expected monitoring/deployment/prometheus -> api/deployment/api on 8080/TCP to be allowed, but every pair is denied: monitoring/prometheus-0 -> api/api-0: ingress: rule allow-metrics ingress[0] admits monitoring/prometheus-0 but not on 8080/TCP; egress: rule prometheus-egress egress[0] admits api/api-0 but not on 8080/TCP',
    );
  });

  it('refuses a malformed expectation (2) and one naming what does not exist (3)', async () => {
    const bad = await audit('-n', 'api', '-f', 'examples/shop', '--expect', join(FIXTURES, 'bad-expectations.yaml'));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe(
      'error: test/fixtures/audit/bad-expectations.yaml: expectation 1: allowed must be true or false\n',
    );
    const missing = await audit(
      '-n',
      'api',
      '-f',
      'examples/shop',
      '--expect',
      join(FIXTURES, 'missing-expectations.yaml'),
    );
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(
      /^error: expectation 1 \(web\/deployment\/nope -> api\/deployment\/api on 8080\): deployment web\/nope not found\n/,
    );
  });
});

describe('-o sarif', () => {
  it('is valid SARIF 2.1.0, one result per finding, located at the file and line of the object', async () => {
    const run = await audit(...TRAPS, '-o', 'sarif');
    expect(run.exitCode).toBe(1);
    const sarif = JSON.parse(run.stdout) as {
      runs: { tool: { driver: { rules: { id: string }[] } }; results: Record<string, unknown>[] }[];
    };
    const require = createRequire(import.meta.url);
    const Ajv = require('ajv') as new (opts: object) => {
      addMetaSchema(schema: object): void;
      validate(schema: object, data: unknown): boolean;
      errorsText(): string;
    };
    const ajv = new Ajv({ schemaId: 'id', allErrors: true });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json') as object);
    const schema = JSON.parse(readFileSync(join(ROOT, FIXTURES, 'sarif-schema-2.1.0.json'), 'utf8')) as object;
    const valid = ajv.validate(schema, sarif);
    expect(valid ? '' : ajv.errorsText()).toBe('');
    // And a document the schema rejects, so this test can fail.
    expect(ajv.validate(schema, { ...sarif, version: '2.0.0' })).toBe(false);
    const [only] = sarif.runs;
    expect(only.tool.driver.rules.map((r) => r.id)).toContain('rule-shadowed');
    expect(
      only.results.map((r) => [
        r.ruleId,
        r.level,
        (
          r.locations as { physicalLocation?: { artifactLocation: { uri: string }; region: { startLine: number } } }[]
        )[0].physicalLocation,
      ]),
    ).toEqual([
      ['invalid-policy', 'error', { artifactLocation: { uri: `${FIXTURES}/traps.yaml` }, region: { startLine: 33 } }],
      [
        'legacy-annotation',
        'warning',
        { artifactLocation: { uri: `${FIXTURES}/traps.yaml` }, region: { startLine: 1 } },
      ],
      [
        'policy-selects-no-pods',
        'warning',
        { artifactLocation: { uri: `${FIXTURES}/traps.yaml` }, region: { startLine: 26 } },
      ],
    ]);
  });
});

describe('-o markdown', () => {
  it('writes the counts and one row per finding, with its fix', async () => {
    const run = await audit(...TRAPS, '-o', 'markdown');
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '## kubectl netpol audit',
      '',
      '3 findings: 1 error, 2 warning',
      '',
      '| Severity | ID | Namespace | Object | Finding | Fix |',
    ]);
    expect(lines[7]).toMatch(
      /^\| warning \| `legacy-annotation` \| app \| namespace\/app \| annotation net\.beta.*\| kubectl annotate namespace app net\.beta\.kubernetes\.io\/network-policy- \(isolated already by app\/default-deny\) \|$/,
    );
  });
});

describe('with cluster tiers', () => {
  it('says which tier policy closes a namespace to pods, and that outside addresses still reach it', async () => {
    const run = await audit('-n', 'monitoring', '-f', 'examples/shop', '-f', 'examples/shop-tiers', '-o', 'json');
    expect(run.exitCode).toBe(1);
    const findings = (JSON.parse(run.stdout) as { findings: { id: string; details: Record<string, unknown> }[] })
      .findings;
    const baseline = 'ClusterNetworkPolicy/namespaces-closed-by-default (Baseline, priority 10) rule';
    expect(findings.map((f) => [f.id, f.details.tierRules])).toEqual([
      [
        'exposed-to-all-namespaces',
        { accepting: [`${baseline} http-from-any-pod`], denying: [`${baseline} deny-other-pods`] },
      ],
      ['exposed-to-internet', { accepting: [], denying: [`${baseline} deny-other-pods`] }],
      [
        'namespace-not-isolated',
        { denying: [`${baseline} deny-other-pods`], openPorts: [{ protocol: 'TCP', port: 8080 }] },
      ],
    ]);
  });
});
