/**
 * NetworkPolicy -> compiled matchers, once per snapshot; pods indexed and grouped into classes that no
 * policy can tell apart, so each question is answered once per class instead of once per pod.
 */
import type {
  V1Container,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1Pod,
} from '@kubernetes/client-node';

import type { CompiledIpBlock, Ip } from './ipblock.js';
import {
  addressesOfBlock,
  addressesOverlap,
  BlockIds,
  compileIpBlock,
  IpBlockIndex,
  parseIp,
  POD_ADDRESS_RANGES,
} from './ipblock.js';
import { layoutOf } from './layout.js';
import type { ClusterSnapshot, Direction, PolicyRef, Warning } from './model.js';
import { effectivePolicyTypes, keyOf, NAMESPACE_NAME_LABEL, refOf } from './model.js';
import { compilePorts, namedPortSignature, PortSetInterner, resolvePorts } from './ports.js';
import type { CompiledSelector, Labels } from './selector.js';
import { compileSelector } from './selector.js';
import {
  buildTierWorld,
  tierWarnings,
  tierPodKeys,
  tierPortNames,
  tierNetworks,
  tierNodesSignature,
} from './tier-world.js';
import { hostOf } from './tiers.js';
import { compileTierPolicies, snapshotNodes } from './tiers-compile.js';
import { ValidationMemo, validatePolicy } from './validate.js';
import { buildIndex } from './world-index.js';
import type { CompiledPeer, CompiledPolicy, CompiledRule, PodInfo, World } from './world.js';
import { Class, PodIndex } from './world.js';

type V1NetworkPolicyRule = V1NetworkPolicyIngressRule & V1NetworkPolicyEgressRule;

function selectorCache() {
  const byKey = new Map<string, CompiledSelector>();
  // Policies repeat the same selectors, written the same way: those are compiled once.
  const byText = new Map<string, CompiledSelector>();
  return (selector: object): CompiledSelector => {
    const text = JSON.stringify(selector);
    const seen = byText.get(text);
    if (seen) return seen;
    let compiled = compileSelector(selector);
    const known = byKey.get(compiled.key);
    if (known) compiled = known;
    else byKey.set(compiled.key, compiled);
    byText.set(text, compiled);
    return compiled;
  };
}

/** A rule's peers and ports, compiled: everything of a CompiledRule but which rule it is. */
type RuleShape = Omit<CompiledRule, 'ref'>;

/**
 * Compiles a rule's peers and ports once per text and direction: policies repeat the same rules
 * (30k rules, some 800 texts in the bench's clusters), and rules alike share one shape.
 */
function ruleShapes(
  select: (s: object) => CompiledSelector,
  ipBlock: (peer: V1NetworkPolicyPeer) => CompiledPeer,
  portSets: PortSetInterner,
  textOf: (rule: object) => string | undefined,
): (rule: V1NetworkPolicyRule, direction: Direction) => RuleShape {
  const byText = { ingress: new Map<string, RuleShape>(), egress: new Map<string, RuleShape>() };
  const compile = (rule: V1NetworkPolicyRule, direction: Direction): RuleShape => {
    const list = direction === 'ingress' ? rule._from : rule.to;
    // NetworkPolicyIngressRule.from / EgressRule.to: empty or missing matches every peer.
    const peers: CompiledPeer[] | 'all' =
      !list || list.length === 0
        ? 'all'
        : list.map((peer: V1NetworkPolicyPeer): CompiledPeer => {
            if (peer.ipBlock) return ipBlock(peer);
            return {
              kind: 'pods',
              namespaces: peer.namespaceSelector ? select(peer.namespaceSelector) : undefined,
              pods: peer.podSelector ? select(peer.podSelector) : undefined,
              source: peer,
            };
          });
    const ports = compilePorts(rule.ports);
    const isFixed = ports === 'all' || ports.every((p) => p.kind !== 'named');
    return { peers, ports, fixedPorts: isFixed ? portSets.intern(resolvePorts(ports, {})) : undefined };
  };
  return (rule, direction) => {
    const text = textOf(rule);
    if (text === undefined) return compile(rule, direction);
    const known = byText[direction];
    let shape = known.get(text);
    if (!shape) known.set(text, (shape = compile(rule, direction)));
    return shape;
  };
}

function compileRules(
  rules: V1NetworkPolicyRule[],
  policy: PolicyRef,
  direction: Direction,
  shapeOf: (rule: V1NetworkPolicyRule, direction: Direction) => RuleShape,
): CompiledRule[] {
  // A null rule in a list decodes to the zero rule `{}`, which admits every peer on every port.
  return rules.map((given, index) => {
    const { peers, ports, fixedPorts } = shapeOf(given ?? {}, direction);
    return { ref: { policy, direction, index }, peers, ports, fixedPorts };
  });
}

/** The block ids of a pod without an IP: one array, so its identity keys the signature too. */
const NO_BLOCK_IDS: readonly number[] = Object.freeze([]);

function podIps(pod: V1Pod): Ip[] {
  const status = pod.status;
  if (!status) return [];
  const list = status.podIPs;
  const primary = status.podIP;
  // Nearly every pod: podIPs absent or [podIP]: one address, parsed once.
  if (!list || list.length === 0 || (list.length === 1 && (!primary || list[0]?.ip === primary))) {
    const text = primary || list?.[0]?.ip;
    const ip = text ? parseIp(text) : undefined;
    return ip ? [ip] : [];
  }
  const texts = new Set<string>();
  for (const p of pod.status?.podIPs ?? []) if (p?.ip) texts.add(p.ip);
  if (pod.status?.podIP) texts.add(pod.status.podIP);
  return [...texts].map(parseIp).filter((ip): ip is Ip => ip !== undefined);
}

/**
 * Pods' named-port ids (equal namedPortSignature, equal id). Replicas of a workload come one after
 * another and declare the same ports: a pod whose containers list exactly the previous pod's ports
 * takes its id without making the signature's text.
 */
class NamedPortIds {
  private readonly ids = new Map<string, number>();
  private last: V1Container[] | undefined;
  private lastId = 0;

  constructor(private readonly names: ReadonlySet<string>) {}

  idOf(pod: V1Pod): number {
    if (this.names.size === 0) return this.known('');
    const containers = pod.spec?.containers;
    if (containers && this.last && sameContainerPorts(containers, this.last)) return this.lastId;
    this.last = containers;
    return (this.lastId = this.known(namedPortSignature(pod, this.names)));
  }

  private known(signature: string): number {
    let id = this.ids.get(signature);
    if (id === undefined) this.ids.set(signature, (id = this.ids.size));
    return id;
  }
}

/** Whether two pods' containers declare the same ports (names, protocols and numbers as written), in the same order. */
function sameContainerPorts(a: V1Container[], b: V1Container[]): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]?.ports;
    const y = b[i]?.ports;
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) {
      const p = x[j];
      const q = y[j];
      if (!p || !q || p.name !== q.name || p.protocol !== q.protocol || p.containerPort !== q.containerPort)
        return false;
    }
  }
  return true;
}

/**
 * Objects as the API server lists them: by namespace, then name, as etcd orders its keys
 * (`.../NAMESPACE/NAME`, byte by byte: names are ASCII, so UTF-16 order is the same).
 */
function inApiOrder<T extends { metadata?: { namespace?: string; name?: string } }>(objects: readonly T[]): T[] {
  // Most snapshots come in that order already (the API's lists, files written from them): checked
  // first, in one pass, so they are neither keyed nor sorted.
  for (let i = 1; i < objects.length; i++)
    if (compareApiKeys(objects[i - 1], objects[i]) > 0) return [...objects].sort(compareApiKeys);
  return [...objects];
}

/** The order of `namespace/name` texts, building the text only when the namespaces differ. */
function compareApiKeys(
  a: { metadata?: { namespace?: string; name?: string } },
  b: { metadata?: { namespace?: string; name?: string } },
): number {
  const namespace = a.metadata?.namespace ?? '';
  const other = b.metadata?.namespace ?? '';
  // One namespace: the texts share `namespace/`, so the names order them.
  const x = namespace === other ? (a.metadata?.name ?? '') : `${namespace}/${a.metadata?.name ?? ''}`;
  const y = namespace === other ? (b.metadata?.name ?? '') : `${other}/${b.metadata?.name ?? ''}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compiles a snapshot into a World: validates and compiles policies, indexes pods, groups them into classes. */
export function compileWorld(snapshot: ClusterSnapshot): World {
  const warnings: Warning[] = [];
  const portSets = new PortSetInterner();
  const select = selectorCache();
  const ipBlocks: CompiledIpBlock[] = [];
  const ipBlockIds = new Map<string, number>();
  const ipBlockByText = new Map<string, number>();
  const ipBlock = (peer: V1NetworkPolicyPeer): CompiledPeer => {
    // Blocks written alike are compiled once (policies often repeat the same block).
    const written = `${peer.ipBlock!.cidr}!${(peer.ipBlock!.except ?? []).join(',')}`;
    let id = ipBlockByText.get(written);
    if (id === undefined) {
      const block = compileIpBlock({ cidr: peer.ipBlock!.cidr, except: peer.ipBlock!.except ?? [] });
      const key = `${block.cidr.text}!${block.except.map((e) => e.text).join(',')}`;
      id = ipBlockIds.get(key);
      if (id === undefined) {
        id = ipBlocks.length;
        ipBlocks.push(block);
        ipBlockIds.set(key, id);
      }
      ipBlockByText.set(written, id);
    }
    return { kind: 'ipBlock', block: ipBlocks[id], id, source: peer };
  };

  const policies: CompiledPolicy[] = [];
  const memo = new ValidationMemo();
  // A rule's text is made once, when its policy is validated (validate.ts), and keys its shape too.
  const shapeOf = ruleShapes(select, ipBlock, portSets, (rule) => memo.ruleText(rule));
  // In the API server's order (namespace, then name), whatever order files hold them in: every list
  // of policies in an answer comes out the same from files and from the cluster.
  for (const source of inApiOrder(snapshot.policies)) {
    const ref = refOf(source);
    const problems = validatePolicy(source, memo);
    if (problems.length > 0) {
      // Policies the API server would reject are left out of every answer, and said so.
      warnings.push({
        code: 'invalid-policy',
        message: `policy ${keyOf(ref)} is invalid and left out: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`,
      });
      continue;
    }
    const types = effectivePolicyTypes(source);
    const spec = source.spec ?? {};
    policies.push({
      ref,
      podSelector: select(spec.podSelector ?? {}),
      ingress: types.ingress ? compileRules(spec.ingress ?? [], ref, 'ingress', shapeOf) : undefined,
      egress: types.egress ? compileRules(spec.egress ?? [], ref, 'egress', shapeOf) : undefined,
      source,
    });
  }

  // Label keys that any pod selector reads, and port names that any rule names: nothing else tells pods apart.
  const podKeys = new Set<string>();
  const portNames = new Set<string>();
  for (const p of policies) {
    for (const k of p.podSelector.keys) podKeys.add(k);
    for (const rule of [...(p.ingress ?? []), ...(p.egress ?? [])]) {
      if (rule.peers !== 'all')
        for (const peer of rule.peers) if (peer.kind === 'pods') peer.pods?.keys.forEach((k) => podKeys.add(k));
      if (rule.ports !== 'all') for (const port of rule.ports) if (port.kind === 'named') portNames.add(port.name);
    }
  }

  // Cluster-scoped tier policies: their selectors, port names and networks tell pods apart too.
  const tiers = snapshot.clusterPolicies?.length
    ? compileTierPolicies(snapshot.clusterPolicies, snapshotNodes(snapshot))
    : undefined;
  // ipBlocks[0, v1Blocks) are NetworkPolicy's; those after, the tiers' networks.
  const v1Blocks = ipBlocks.length;
  if (tiers) {
    for (const k of tierPodKeys(tiers)) podKeys.add(k);
    for (const n of tierPortNames(tiers)) portNames.add(n);
    for (const cidr of tierNetworks(tiers)) {
      // A networks CIDR as an address block of its own: pods in it and pods outside are told apart.
      const key = `${cidr}!`;
      if (ipBlockIds.has(key)) continue;
      const block = compileIpBlock({ cidr, except: [] });
      const canonical = `${block.cidr.text}!`;
      if (ipBlockIds.has(canonical)) continue;
      ipBlockIds.set(canonical, ipBlocks.length);
      ipBlocks.push(block);
    }
  }

  const namespaceLabels = new Map<string, Labels>();
  for (const ns of snapshot.namespaces) {
    const name = ns.metadata?.name;
    // The API server sets kubernetes.io/metadata.name on every namespace; it cannot be changed.
    if (name) namespaceLabels.set(name, { ...(ns.metadata?.labels ?? {}), [NAMESPACE_NAME_LABEL]: name });
  }
  const labelsOfNamespace = (name: string): Labels => {
    let labels = namespaceLabels.get(name);
    if (!labels) {
      labels = { [NAMESPACE_NAME_LABEL]: name };
      namespaceLabels.set(name, labels);
    }
    return labels;
  };

  // Per namespace, its policies indexed by one `In` requirement of their podSelector (key=value), so
  // a pod's candidates are found from its labels; the policies without one are always candidates.
  const policiesByNamespace = new Map<
    string,
    { all: CompiledPolicy[]; byLabel: Map<string, number[]>; keys: string[]; rest: number[]; scratch?: Int32Array }
  >();
  for (const p of policies) {
    let entry = policiesByNamespace.get(p.ref.namespace);
    if (!entry) policiesByNamespace.set(p.ref.namespace, (entry = { all: [], byLabel: new Map(), keys: [], rest: [] }));
    const position = entry.all.length;
    entry.all.push(p);
    const narrowing = p.podSelector.requirements.find((r) => r.operator === 'In');
    if (!narrowing) entry.rest.push(position);
    else {
      if (!entry.keys.includes(narrowing.key)) entry.keys.push(narrowing.key);
      for (const value of new Set(narrowing.values)) {
        const k = `${narrowing.key}=${value}`;
        const list = entry.byLabel.get(k);
        if (list) list.push(position);
        else entry.byLabel.set(k, [position]);
      }
    }
  }
  const policiesSelecting = (namespace: string, labels: Labels): CompiledPolicy[] => {
    const entry = policiesByNamespace.get(namespace);
    if (!entry) return [];
    // A policy is indexed under one key, and a pod has one value per key: no candidate comes twice.
    const candidates = (entry.scratch ??= new Int32Array(entry.all.length));
    let n = 0;
    for (const position of entry.rest) candidates[n++] = position;
    let lists = entry.rest.length > 0 ? 1 : 0;
    for (const key of entry.keys) {
      if (!Object.prototype.hasOwnProperty.call(labels, key)) continue;
      const list = entry.byLabel.get(`${key}=${labels[key]}`);
      if (!list) continue;
      for (const position of list) candidates[n++] = position;
      lists++;
    }
    // In the policies' order (each list is in order already).
    if (lists > 1) candidates.subarray(0, n).sort();
    const out: CompiledPolicy[] = [];
    for (let i = 0; i < n; i++) {
      const policy = entry.all[candidates[i]];
      if (policy.podSelector.matches(labels)) out.push(policy);
    }
    return out;
  };

  const pods: PodInfo[] = [];
  const podsByKey = new PodIndex();
  const classes: Class[] = [];
  const classesBySignature: (Map<number, Class> | undefined)[] = [];
  const labelClasses: Class[][] = [];
  const labelClassByKey = new Map<string, number>();
  const namedPortIds = new NamedPortIds(portNames);
  const sortedKeys = [...podKeys].sort();
  // A label class is keyed by ids rather than by its texts: a short string of two UTF-16 units per
  // id (namespace, each read key's value or 0 for its absence, named ports, host-network nodes), so a
  // pod costs a few lookups of strings whose hashes are cached instead of one long string built,
  // flattened and hashed per pod.
  const namespaceIds = new Map<string, number>();
  const valueIds = sortedKeys.map(() => new Map<string, number>());
  const nodesIds = new Map<string, number>();
  const keyUnits: number[] = new Array<number>(2 * (sortedKeys.length + 3)).fill(0);
  const putId = (at: number, id: number): void => {
    keyUnits[at] = id >>> 16;
    keyUnits[at + 1] = id & 0xffff;
  };
  const idOf = (ids: Map<string, number>, text: string): number => {
    let id = ids.get(text);
    if (id === undefined) ids.set(text, (id = ids.size + 1));
    return id;
  };
  let podsWithoutIp = 0;
  // Pods in one address interval share one array of block ids; each distinct array becomes a signature.
  const signatures: BlockIds[] = [];
  const signatureByArray = new Map<readonly number[], number>();
  const signatureByText = new Map<string, number>();
  // `shared`: an array the index hands out for every address of its interval, so its identity is a key.
  const signatureOf = (ids: readonly number[], shared = true): number => {
    let id = shared ? signatureByArray.get(ids) : undefined;
    if (id !== undefined) return id;
    const text = ids.join(',');
    id = signatureByText.get(text);
    if (id === undefined) {
      id = signatures.length;
      signatures.push(new BlockIds(ids));
      signatureByText.set(text, id);
    }
    if (shared) signatureByArray.set(ids, id);
    return id;
  };
  const ipIndex = new IpBlockIndex(ipBlocks);
  for (const pod of snapshot.pods) {
    const phase = pod.status?.phase;
    // Completed pods (phase Succeeded or Failed) hold no IP and take no traffic: left out (docs/semantics.md).
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const ref = refOf(pod);
    const labels: Labels = pod.metadata?.labels ?? {};
    const ips = podIps(pod);
    if (ips.length === 0) podsWithoutIp++;
    // An ipBlock matches a pod when it contains one of the pod's IPs; a pod without an IP never matches.
    const signature =
      ips.length <= 1
        ? signatureOf(ips.length === 0 ? NO_BLOCK_IDS : ipIndex.blocksContaining(ips[0]))
        : signatureOf(
            [...new Set(ips.flatMap((ip) => ipIndex.blocksContaining(ip)))].sort((a, b) => a - b),
            false,
          );
    // Namespace, then per label key some selector reads its value or absence, then the named ports.
    putId(0, idOf(namespaceIds, ref.namespace));
    for (let i = 0; i < sortedKeys.length; i++) {
      const k = sortedKeys[i];
      // A value is told apart by its text (as a selector compares it).
      const isSet = Object.prototype.hasOwnProperty.call(labels, k);
      putId(2 + 2 * i, isSet ? idOf(valueIds[i], String(labels[k])) : 0);
    }
    const portId = namedPortIds.idOf(pod);
    putId(2 + 2 * sortedKeys.length, portId);
    // Tier subjects and pod/namespace peers never match host-network pods; nodes peers match them by their node.
    putId(
      4 + 2 * sortedKeys.length,
      tiers && pod.spec?.hostNetwork === true
        ? idOf(nodesIds, tierNodesSignature(tiers, { isHostNetwork: true, ips, ...hostOf(pod) }))
        : 0,
    );
    const labelKey = String.fromCharCode.apply(null, keyUnits);
    let labelClass = labelClassByKey.get(labelKey);
    // A class is a label class and an address signature.
    let cls: Class | undefined;
    if (labelClass !== undefined) {
      const bySignature = classesBySignature[labelClass];
      if (bySignature) cls = bySignature.get(signature);
      else for (const c of labelClasses[labelClass]) if (c.ipSignature === signature) cls = c;
    }
    const info: PodInfo = {
      ref,
      pod,
      ips,
      classId: cls ? cls.id : classes.length,
      isHostNetwork: pod.spec?.hostNetwork === true,
      isTerminating: Boolean(pod.metadata?.deletionTimestamp),
    };
    if (!cls) {
      const nsLabels = labelsOfNamespace(ref.namespace);
      let ingressPolicies: CompiledPolicy[];
      let egressPolicies: CompiledPolicy[];
      if (labelClass === undefined) {
        labelClass = labelClasses.length;
        labelClasses.push([]);
        classesBySignature.push(undefined);
        labelClassByKey.set(labelKey, labelClass);
        // A policy's podSelector selects pods in the policy's own namespace only.
        const selecting = policiesSelecting(ref.namespace, labels);
        ingressPolicies = selecting.filter((p) => p.ingress !== undefined);
        egressPolicies = selecting.filter((p) => p.egress !== undefined);
      } else {
        // The same labels where selectors look: the same policies select it.
        ({ ingressPolicies, egressPolicies } = labelClasses[labelClass][0]);
      }
      cls = new Class(
        classes.length,
        labelClass,
        portId,
        ref.namespace,
        info,
        labels,
        nsLabels,
        signatures[signature],
        signature,
        ingressPolicies,
        egressPolicies,
      );
      classes.push(cls);
      const siblings = labelClasses[labelClass];
      siblings.push(cls);
      // Most label classes have a few classes, searched in a line; a map once they have many.
      const bySignature = classesBySignature[labelClass];
      if (bySignature) bySignature.set(signature, cls);
      else if (siblings.length > 8) classesBySignature[labelClass] = new Map(siblings.map((c) => [c.ipSignature, c]));
    } else cls.add(info);
    pods.push(info);
    podsByKey.add(info);
  }
  // Said only when it could matter: some ipBlock could hold a pod's address (it holds one of the
  // snapshot's pod IPs, or overlaps the private ranges pods are given).
  const couldHoldPods = () =>
    signatures.some((sig) => sig.ids.length > 0) ||
    ipBlocks.some((block) => addressesOverlap(addressesOfBlock(block), POD_ADDRESS_RANGES));
  if (podsWithoutIp > 0 && ipBlocks.length > 0 && couldHoldPods()) {
    // What reads pod IPs: NetworkPolicy's ipBlocks, the tiers' networks peers, or both.
    const readers = [
      ...(v1Blocks > 0 ? ['ipBlock rules'] : []),
      ...(tiers && tierNetworks(tiers).length > 0 ? ['networks peers of cluster policies'] : []),
    ];
    warnings.push({
      code: 'pod-without-ip',
      message: `${podsWithoutIp} pod(s) have no IP address (pending, or workloads read from manifests), so ${readers.join(' and ')} never match them`,
    });
  }
  if (tiers) warnings.push(...tierWarnings(tiers, classes));
  const index = buildIndex(policies, classes, namespaceLabels, signatures, sortedKeys);
  const world: World = {
    snapshot,
    warnings,
    policies,
    pods,
    classes,
    labelClasses,
    podsByKey,
    namespaceLabels,
    index,
    portSets,
    cache: new Map(),
  };
  if (tiers && tiers.policies.length > 0) world.tiers = buildTierWorld(tiers, classes);
  // The bit layout of the pods, built with the world rather than on its first query.
  layoutOf(world);
  return world;
}
