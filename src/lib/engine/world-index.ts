/**
 * The world's index, built once with it (compile.ts): classes by namespace and by address signature,
 * the classes each egress policy selects and those no egress policy does, label classes by namespace
 * and by `key=value`, and egress rules by what their peers can reach (every pod, a destination
 * namespace, an ipBlock): what who-can, reachable-from and the matrices look candidates up by.
 */
import type { BlockIds } from './ipblock.js';
import type { CompiledSelector, Labels } from './selector.js';
import type { CompiledPolicy, PodClass, WorldIndex } from './world.js';

/** Indexes the compiled classes and policies (one pass over each). */
export function buildIndex(
  policies: CompiledPolicy[],
  classes: PodClass[],
  namespaceLabels: Map<string, Labels>,
  signatures: BlockIds[],
  podKeys: readonly string[],
): WorldIndex {
  const classesByNamespace = new Map<string, PodClass[]>();
  const bySignature: number[][] = signatures.map(() => []);
  const egressClasses = new Map<CompiledPolicy, number[]>();
  const open: number[] = [];
  // One lookup per class and policy; a map entry is set only when its list is new.
  for (const cls of classes) {
    const list = classesByNamespace.get(cls.namespace);
    if (list) list.push(cls);
    else classesByNamespace.set(cls.namespace, [cls]);
    bySignature[cls.ipSignature].push(cls.id);
    if (cls.egressPolicies.length === 0) open.push(cls.id);
    for (const p of cls.egressPolicies) {
      const ids = egressClasses.get(p);
      if (ids) ids.push(cls.id);
      else egressClasses.set(p, [cls.id]);
    }
  }
  const index: WorldIndex = {
    classesByNamespace,
    egressOpenClasses: Int32Array.from(open),
    egressClassesByPolicy: new Map([...egressClasses].map(([p, ids]) => [p, Int32Array.from(ids)])),
    classesBySignature: bySignature,
    memberRefs: classes.map((c) => c.memberRefs),
    signatures,
    egressToAll: [],
    egressByDestinationNamespace: new Map(),
    egressByIpBlock: new Map(),
    namespacesBySelector: new Map(),
    labelClassesByNamespace: new Map(),
    labelClassesByLabel: new Map(),
  };
  for (const [ns, list] of classesByNamespace)
    index.labelClassesByNamespace.set(ns, [...new Set(list.map((c) => c.labelClass))]);
  const seen = new Set<number>();
  for (const cls of classes) {
    if (seen.has(cls.labelClass)) continue;
    seen.add(cls.labelClass);
    for (const key of podKeys) {
      const value = cls.labels[key];
      if (value === undefined || !Object.prototype.hasOwnProperty.call(cls.labels, key)) continue;
      const k = `${key}=${value}`;
      const list = index.labelClassesByLabel.get(k);
      if (list) list.push(cls.labelClass);
      else index.labelClassesByLabel.set(k, [cls.labelClass]);
    }
  }
  const namespacesOf = new Map<CompiledSelector, string[]>();
  for (const policy of policies) {
    // A policy that selects no pod for egress constrains no traffic.
    if (!egressClasses.has(policy)) continue;
    for (const rule of policy.egress ?? []) {
      if (rule.peers === 'all') {
        index.egressToAll.push({ policy, rule });
        continue;
      }
      for (const peer of rule.peers) {
        if (peer.kind === 'ipBlock') {
          const list = index.egressByIpBlock.get(peer.id) ?? [];
          list.push({ policy, rule });
          index.egressByIpBlock.set(peer.id, list);
          continue;
        }
        let namespaces: string[];
        if (!peer.namespaces) namespaces = [policy.ref.namespace];
        else {
          const sel = peer.namespaces;
          namespaces = namespacesOf.get(sel) ?? [...namespaceLabels].filter(([, l]) => sel.matches(l)).map(([n]) => n);
          namespacesOf.set(sel, namespaces);
        }
        // One entry for every namespace the peer reaches (a `namespaceSelector: {}` reaches them all).
        const entry = { policy, rule, peer };
        for (const ns of namespaces) {
          const list = index.egressByDestinationNamespace.get(ns);
          if (list) list.push(entry);
          else index.egressByDestinationNamespace.set(ns, [entry]);
        }
      }
    }
  }
  return index;
}
