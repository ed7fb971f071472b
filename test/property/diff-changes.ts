/**
 * Generated changes for diff's differential tests, and the after-world they make, written here by name
 * (sharing no code with the engine's apply): policies added, changed and deleted, pods relabelled and
 * added, namespaces relabelled; with the cluster tiers, tier policies added or replaced (by kind and
 * name); with --prune, the pods and NetworkPolicies of the namespaces the change covers that it lacks
 * deleted. `firstDifference` holds diff's pairs and ports to two matrices of a reference evaluator.
 */
import fc from 'fast-check';
import type { V1Namespace, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';

import type { AddressChange, ReachabilityChange } from '../../src/lib/engine/diff.js';
import { changesOf } from '../../src/lib/engine/diff.js';
import type { ClusterSnapshot, PolicyRef, PortSet, Protocol } from '../../src/lib/engine/model.js';
import { portSetContains } from '../../src/lib/engine/ports.js';
import type { ClusterTierPolicy } from '../../src/lib/engine/tiers-compile.js';
import { planDiff } from '../../src/lib/services/diff.js';
import { cidrContains } from '../support/reference-evaluator.js';
import { addressesToCheck, TierReference } from '../support/tier-reference.js';
import { cidrsOf } from './tier-worlds.js';
import { NAMESPACES, NUMBER_PROBES, pod, policy, toSnapshot, type Reference } from './worlds.js';

/** A change: policies to add or replace (by index: an existing one's name, or a new one), to delete, pods to relabel or add, namespace labels. */
export const change = fc.record({
  policies: fc.array(fc.tuple(fc.nat(6), policy), { maxLength: 2 }),
  deletes: fc.array(fc.nat(6), { maxLength: 1 }),
  relabel: fc.array(fc.tuple(fc.nat(7), pod), { maxLength: 2 }),
  added: fc.array(pod, { maxLength: 2 }),
  namespaces: fc.array(
    fc.tuple(
      fc.constantFrom(...NAMESPACES),
      fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('prod', 'dev', 'a'), { maxKeys: 2 }),
    ),
    { maxLength: 2 },
  ),
});

/** A generated change; `tiers` (tier policies replacing one of the before-world's by index, or new) and `prune` only where asked. */
type GeneratedChange = (typeof change extends fc.Arbitrary<infer T> ? T : never) & {
  tiers?: [number, ClusterTierPolicy][];
  prune?: boolean;
};

/** The change as manifests, and as --delete refs. */
export function changeOf(
  before: ClusterSnapshot,
  c: GeneratedChange,
): { change: ClusterSnapshot; deletes: PolicyRef[] } {
  const generated = toSnapshot({
    namespaceLabels: [{}, {}, {}],
    pods: [...c.relabel.map(([, p]) => p), ...c.added],
    policies: c.policies.map(([, p]) => p),
  });
  const pods: V1Pod[] = [];
  c.relabel.forEach(([index], i) => {
    const old = before.pods[index % before.pods.length];
    // The same pod (name, namespace, ports, addresses) with other labels.
    pods.push({ ...old, metadata: { ...old.metadata, labels: { ...generated.pods[i].metadata!.labels } } });
  });
  c.added.forEach((_, i) => {
    const added = generated.pods[c.relabel.length + i];
    pods.push({ ...added, metadata: { ...added.metadata, name: `new${i}` } });
  });
  const policies: V1NetworkPolicy[] = c.policies.map(([index], i) => {
    const written = generated.policies[i];
    const replaced = before.policies.length > 0 && index < before.policies.length ? before.policies[index] : undefined;
    const metadata = replaced
      ? { name: replaced.metadata!.name, namespace: replaced.metadata!.namespace }
      : { name: `added${i}`, namespace: written.metadata!.namespace };
    return { ...written, metadata };
  });
  const named = new Set(policies.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`));
  const deletes = c.deletes
    .filter((index) => index < before.policies.length)
    .map((index) => ({
      namespace: before.policies[index].metadata!.namespace!,
      name: before.policies[index].metadata!.name!,
    }))
    .filter((ref) => !named.has(`${ref.namespace}/${ref.name}`));
  const namespaces: V1Namespace[] = c.namespaces.map(([name, labels]) => ({
    metadata: { name, labels: { ...labels } },
  }));
  const clusterPolicies = tierChanges(before.clusterPolicies ?? [], c.tiers ?? []);
  return {
    change: {
      namespaces,
      pods,
      policies,
      services: [],
      workloads: [],
      ...(clusterPolicies.length > 0 ? { clusterPolicies } : {}),
    },
    deletes: [...new Map(deletes.map((d) => [`${d.namespace}/${d.name}`, d])).values()],
  };
}

/** Tier policies replacing the before-world's at an index (its name, the generated kind), or new; the one BaselineAdminNetworkPolicy is `default`. */
function tierChanges(before: ClusterTierPolicy[], tiers: [number, ClusterTierPolicy][]): ClusterTierPolicy[] {
  const byKey = new Map<string, ClusterTierPolicy>();
  tiers.forEach(([index, generated], i) => {
    const replaced = index < before.length ? before[index] : undefined;
    const name =
      generated.kind === 'BaselineAdminNetworkPolicy' ? 'default' : (replaced?.metadata.name ?? `added-tier${i}`);
    byKey.set(`${generated.kind}/${name}`, { ...generated, metadata: { name } });
  });
  return [...byKey.values()];
}

/** The after-world as `kubectl apply [--prune]` leaves it, by name: written here, not by the engine. */
function applied(
  before: ClusterSnapshot,
  change: ClusterSnapshot,
  deletes: PolicyRef[],
  prune = false,
): ClusterSnapshot {
  const byKey = <T extends { metadata?: { namespace?: string; name?: string } }>(items: T[]) =>
    new Map(items.map((i) => [`${i.metadata?.namespace ?? ''}/${i.metadata?.name}`, i]));
  // --prune: the namespaces of the namespaced objects applied lose what the change lacks there.
  const covered = new Set([...change.pods, ...change.policies].map((o) => o.metadata?.namespace));
  const pruned = <T extends { metadata?: { namespace?: string } }>(items: Map<string, T>) => {
    if (prune) for (const [key, item] of items) if (covered.has(item.metadata?.namespace)) items.delete(key);
    return items;
  };
  const namespaces = byKey(before.namespaces);
  for (const n of change.namespaces) namespaces.set(`/${n.metadata?.name}`, n);
  const pods = pruned(byKey(before.pods));
  for (const p of change.pods) pods.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  const policies = pruned(byKey(before.policies));
  for (const p of change.policies) policies.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  for (const d of deletes) policies.delete(`${d.namespace}/${d.name}`);
  // Cluster-scoped tier policies: replaced by kind and name, never pruned.
  const tiers = new Map((before.clusterPolicies ?? []).map((p) => [`${p.kind}/${p.metadata.name}`, p]));
  for (const p of change.clusterPolicies ?? []) tiers.set(`${p.kind}/${p.metadata.name}`, p);
  return {
    ...before,
    namespaces: [...namespaces.values()],
    pods: [...pods.values()],
    policies: [...policies.values()],
    services: [],
    workloads: [],
    ...(tiers.size > 0 ? { clusterPolicies: [...tiers.values()] } : {}),
  };
}

/** Where diff's row (or its absence) disagrees with the reference allowing `b` before and `a` after. */
function wrongSide(
  label: string,
  row: { before: PortSet; after: PortSet } | undefined,
  probe: { port: number; protocol: Protocol },
  b: boolean,
  a: boolean,
): string | undefined {
  if (!row && b !== a)
    return `${label}: reference ${b ? 'allows' : 'denies'} before, ${a ? 'allows' : 'denies'} after; diff says nothing`;
  if (row && portSetContains(row.before, probe.protocol, probe.port) !== b) return `${label}: diff's before is wrong`;
  if (row && portSetContains(row.after, probe.protocol, probe.port) !== a) return `${label}: diff's after is wrong`;
  return undefined;
}

/** The first pair and probe where diff and the two reference matrices disagree. */
export function firstDifference(
  before: ClusterSnapshot,
  generated: GeneratedChange,
  referenceOf: (snapshot: ClusterSnapshot) => Reference,
): string | undefined {
  const { change: c, deletes } = changeOf(before, generated);
  const prune = generated.prune ?? false;
  const after = applied(before, c, deletes, prune);
  const result = planDiff(before, c, { deletes, prune, impliedNamespaces: [] });
  const changes = new Map<string, ReachabilityChange>();
  for (const change of changesOf(result.diff.blocks))
    changes.set(`${change.from.namespace}/${change.from.name}->${change.to.namespace}/${change.to.name}`, change);
  const [was, now] = [referenceOf(before), referenceOf(after)];
  const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;
  const find = (reference: Reference, k: string) => reference.pods.find((p) => key(p) === k);
  const keys = [...new Set([...was.pods, ...now.pods].map(key))];
  let differing = 0;
  for (const src of keys) {
    for (const dst of keys) {
      if (src === dst) continue;
      const change = changes.get(`${src}->${dst}`);
      let differs = false;
      for (const probe of NUMBER_PROBES) {
        const allows = (reference: Reference) => {
          const [s, d] = [find(reference, src), find(reference, dst)];
          return s !== undefined && d !== undefined && reference.allows(s, d, probe.port, probe.protocol);
        };
        const [b, a] = [allows(was), allows(now)];
        if (b !== a) differs = true;
        const label = `${src} -> ${dst} on ${probe.port}/${probe.protocol}`;
        const wrong = wrongSide(label, change, probe, b, a);
        if (wrong) return wrong;
      }
      if (differs) differing++;
    }
  }
  // Every pair diff reports is one of the pods of either world.
  for (const k of changes.keys()) {
    const [src, dst] = k.split('->');
    if (!keys.includes(src) || !keys.includes(dst)) return `diff reports ${k}, a pair of no world`;
  }
  if (changes.size < differing) return `diff reports ${changes.size} pairs, the reference ${differing} at least`;
  return addressDifference(before, after, [...result.diff.cutAddresses, ...result.diff.openedAddresses]);
}

/**
 * diff's address rows against the tier reference (NetworkPolicy v1 alone where there are no tiers) in
 * both worlds: for every pod of either world, direction, probe port and address that stands for the
 * others (the edges of every CIDR of either world and of the blocks diff lists), the address is in a
 * row of that pod and direction exactly when its answer differs, and the row's ports before and after
 * hold the port exactly when each world admits it.
 */
function addressDifference(before: ClusterSnapshot, after: ClusterSnapshot, rows: AddressChange[]): string | undefined {
  const [was, now] = [new TierReference(before), new TierReference(after)];
  const edges = rows.flatMap((r) => r.blocks.flatMap((b) => [b.cidr, ...b.except]));
  const cidrs = [...cidrsOf(before), ...cidrsOf(after), ...edges];
  const addresses = ['0.0.0.0/0', '::/0'].flatMap((all) => addressesToCheck(all, cidrs));
  const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;
  const keys = [...new Set([...was.pods, ...now.pods].map(key))];
  for (const podKey of keys) {
    for (const direction of ['ingress', 'egress'] as const) {
      const mine = rows.filter((r) => key(r.pod) === podKey && r.direction === direction);
      for (const address of addresses) {
        const holding = mine.filter((r) =>
          r.blocks.some((b) => cidrContains(b.cidr, address) && !b.except.some((e) => cidrContains(e, address))),
        );
        // A row is in the cuts, the openings or both: the same ports each time.
        const sides = new Set(holding.map((r) => JSON.stringify([r.before, r.after])));
        const label = `${podKey} ${direction} ${address}`;
        if (sides.size > 1) return `${label}: in rows with different ports`;
        const row = holding[0];
        for (const probe of NUMBER_PROBES) {
          const admits = (reference: TierReference) => {
            const pod = reference.pods.find((p) => key(p) === podKey);
            if (!pod) return false;
            const { port, protocol } = probe;
            return direction === 'ingress'
              ? reference.decide('ingress', { address }, { pod }, port, protocol).allowed
              : reference.decide('egress', { pod }, { address }, port, protocol).allowed;
          };
          const [b, a] = [admits(was), admits(now)];
          const on = `${label} on ${probe.port}/${probe.protocol}`;
          const wrong = wrongSide(on, row, probe, b, a);
          if (wrong) return wrong;
        }
      }
    }
  }
  return undefined;
}
