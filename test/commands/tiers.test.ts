/**
 * Cluster tiers through the commands, on examples/shop with examples/shop-tiers (the README's
 * example): the rule that decided is named in the table, --explain and JSON, and questions answer
 * with the tiers' verdict.
 */
import { describe, expect, it } from '@jest/globals';

import Diff from '../../src/commands/diff.js';
import Isolate from '../../src/commands/isolate.js';
import ReachableFrom from '../../src/commands/reachable-from.js';
import WhoCan from '../../src/commands/who-can.js';
import { runCommand } from './run-command.js';

const FILES = ['-f', 'examples/shop', '-f', 'examples/shop-tiers'];

/** The table's rows as cells (3+ spaces apart), header left out. */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/ {3,}/));
}

describe('cluster tiers in who-can and reachable-from', () => {
  it('names the Admin rule that denies, the one that accepts, and a Pass handed on to NetworkPolicy', async () => {
    const out = await runCommand(WhoCan, ['statefulset/postgres', '-n', 'db', ...FILES, '--explain']);
    expect(out.exitCode).toBe(0);
    const byFrom = new Map(rows(out.stdout).map((r) => [r[1], r]));
    expect(byFrom.get('api/deployment/api')?.slice(3, 5)).toEqual(['5432/TCP', 'allowed']);
    expect(byFrom.get('api/deployment/api')?.[5]).toContain(
      'ingress: allowed by db/postgres-ingress ingress[0] (passed to NetworkPolicy by ClusterNetworkPolicy/protect-db (Admin, priority 10) rule api-to-namespace-policy)',
    );
    // Without the tiers Prometheus is denied by db's NetworkPolicy; the Admin Accept decides first.
    expect(byFrom.get('monitoring/deployment/prometheus')?.slice(3)).toEqual([
      '9187/TCP',
      'allowed',
      'ingress: allowed by ClusterNetworkPolicy/protect-db (Admin, priority 10) rule prometheus-scrapes; egress: allowed by monitoring/prometheus-egress egress[0]',
    ]);
    expect(byFrom.get('web/deployment/frontend')?.slice(4)).toEqual([
      'denied',
      'ingress: denied by ClusterNetworkPolicy/protect-db (Admin, priority 10) rule nobody-else',
    ]);
  });

  it('an Admin Deny beats the NetworkPolicy that admits the traffic: yes without the tier files, no with them', async () => {
    const ask = (files: string[]) =>
      runCommand(WhoCan, [
        'statefulset/postgres',
        '-n',
        'db',
        ...files,
        '--from',
        'statefulset/postgres',
        '--port',
        '5432',
        '-q',
      ]);
    expect((await ask(['-f', 'examples/shop'])).exitCode).toBe(0);
    expect((await ask(FILES)).exitCode).toBe(1);
  });

  it('a networks Deny closes an outside address on egress (a question: no, exit 1), with the rule in JSON', async () => {
    const out = await runCommand(ReachableFrom, [
      'deployment/api',
      '-n',
      'api',
      '--to',
      '169.254.169.254',
      '--port',
      '80',
      ...FILES,
      '-o',
      'json',
    ]);
    expect(out.exitCode).toBe(1);
    const doc = JSON.parse(out.stdout) as { allowed: boolean; denied: { tierRules?: unknown; reasons: unknown[] }[] };
    expect(doc.allowed).toBe(false);
    expect(doc.denied[0].tierRules).toEqual([
      {
        kind: 'ClusterNetworkPolicy',
        name: 'no-cloud-metadata',
        tier: 'Admin',
        priority: 20,
        direction: 'egress',
        index: 0,
        rule: 'deny-metadata-service',
        action: 'Deny',
      },
    ]);
    expect(doc.denied[0].reasons).toEqual([expect.objectContaining({ direction: 'egress', code: 'denied-by-tier' })]);
    // Another outside address is still reached through api's own egress rules.
    const other = await runCommand(ReachableFrom, [
      'deployment/api',
      '-n',
      'api',
      '--to',
      '203.0.113.10',
      '--port',
      '443',
      ...FILES,
      '-q',
    ]);
    expect(other.exitCode).toBe(0);
  });

  it('the Baseline tier decides for pods no NetworkPolicy selects, and never for outside addresses', async () => {
    const out = await runCommand(WhoCan, ['web/toolbox', ...FILES]);
    expect(out.exitCode).toBe(0);
    const table = rows(out.stdout);
    expect(table.find((r) => r[1] === 'web/deployment/frontend')?.slice(3)).toEqual([
      '8080/TCP',
      'ClusterNetworkPolicy/namespaces-closed-by-default',
    ]);
    expect(table.find((r) => r[1] === '0.0.0.0/0')?.slice(3)).toEqual(['all', '(not isolated)']);
  });

  it('every target of the cluster at once gets its own ports (sets of port atoms are not reused across targets)', async () => {
    const out = await runCommand(WhoCan, ['-A', ...FILES]);
    const postgres = rows(out.stdout).filter((r) => r[0] === 'db/statefulset/postgres');
    expect(postgres.map((r) => [r[1], r[3]])).toEqual([
      ['api/deployment/api', '5432/TCP'],
      ['api/deployment/worker', '5432/TCP'],
      ['monitoring/deployment/prometheus', '9187/TCP'],
    ]);
  });

  it('diff of adding the tier policies: the objects created, and what they close', async () => {
    const out = await runCommand(Diff, ['--base', 'examples/shop', '-f', 'examples/shop-tiers', '-o', 'json']);
    expect(out.exitCode).toBe(1);
    const doc = JSON.parse(out.stdout) as {
      objects: { kind: string; name: string; action: string }[];
      added: unknown[];
      removed: { from: { namespace?: string; pod?: string; ipBlock?: { cidr: string } }; to: unknown }[];
    };
    expect(doc.objects.map((o) => `${o.kind}/${o.name} ${o.action}`)).toEqual([
      'ClusterNetworkPolicy/namespaces-closed-by-default created',
      'ClusterNetworkPolicy/no-cloud-metadata created',
      'ClusterNetworkPolicy/protect-db created',
    ]);
    expect(doc.added).toEqual([]);
    // The metadata address is closed to every pod whose egress no NetworkPolicy already limits.
    const toMetadata = doc.removed.filter((r) => JSON.stringify(r.to).includes('169.254.169.254'));
    expect(toMetadata.length).toBeGreaterThan(0);
    // api keeps postgres: the Admin Pass hands it to db's NetworkPolicy, which admits it.
    expect(doc.removed.filter((r) => r.from.namespace === 'api' && JSON.stringify(r.to).includes('postgres'))).toEqual(
      [],
    );
  });

  it('reads v0.1.x AdminNetworkPolicy peers (namespaces: {namespaceSelector}) as written, and fails closed on sameLabels', async () => {
    const out = await runCommand(WhoCan, ['-A', '-f', 'test/fixtures/tiers/legacy-peers-v0.1.yaml', '--explain']);
    // Read as a plain selector, {namespaceSelector: {...}} would be {}: every namespace, and b/q let in.
    expect(
      rows(out.stdout)
        .find((r) => r[0] === 'a/p' && r[1] === 'b/q')
        ?.slice(4),
    ).toEqual(['denied', 'ingress: denied by BaselineAdminNetworkPolicy/default (Baseline) rule deny-all']);
    expect(out.stderr).toContain(
      'AdminNetworkPolicy/old-shape spec.ingress[1].from[0] is a peer this version does not understand: the rule fails closed',
    );
  });

  it("isolate's preview names what an Admin Accept keeps whatever NetworkPolicy says, and --status the cluster policies", async () => {
    const out = await runCommand(Isolate, ['db', ...FILES, '--dry-run=client']);
    expect(out.exitCode).toBe(0);
    const all = out.stdout + out.stderr;
    expect(all).toContain(
      '2 connections stay allowed: ClusterNetworkPolicy/protect-db (Admin, priority 10) rule prometheus-scrapes accepts them before any NetworkPolicy is asked (monitoring/deployment/prometheus -> db/statefulset/postgres 9187/TCP)',
    );
    const status = await runCommand(Isolate, ['--status', 'db', ...FILES, '-o', 'json']);
    const doc = JSON.parse(status.stdout) as {
      namespaces: { ingress: { clusterPolicies?: { kind: string; name: string; tier: string }[] } }[];
    };
    expect(doc.namespaces[0].ingress.clusterPolicies).toEqual([
      { kind: 'ClusterNetworkPolicy', name: 'protect-db', tier: 'Admin' },
      { kind: 'ClusterNetworkPolicy', name: 'namespaces-closed-by-default', tier: 'Baseline' },
    ]);
  });

  it('--status says when the Baseline tier already closes a namespace to pods that no NetworkPolicy isolates', async () => {
    const out = await runCommand(Isolate, ['--status', '-A', '-f', 'test/fixtures/tiers/legacy-peers-v0.1.yaml']);
    expect(rows(out.stdout)).toEqual([
      ['a', 'pods (Baseline)', 'no', '0', '2'],
      ['b', 'pods (Baseline)', 'no', '0', '1'],
    ]);
    // A Baseline policy whose first rule accepts some traffic leaves the namespace open (as NetworkPolicy's all-pods).
    const shop = await runCommand(Isolate, ['--status', 'monitoring', ...FILES]);
    expect(rows(shop.stdout)).toEqual([['monitoring', 'no', '1/1 pods', '1', '2']]);
  });
});
