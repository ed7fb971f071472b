/**
 * A seeded generator of realistic cluster manifests for the benchmark and the engine's equivalence
 * tests: namespaces per team and environment, Deployments (as Pods owned by a ReplicaSet
 * `<deployment>-<pod-template-hash>`) and StatefulSets, unique pod IPs, named container ports, and
 * NetworkPolicies with every feature of networking.k8s.io/v1, about one policy per 1.5 to 2 pods.
 * Same options, same objects, same bytes.
 *
 * CLI: `node .cache/bench/bench/generate.js --pods 10000 --seed 1 --out DIR`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type {
  V1ContainerPort,
  V1LabelSelector,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Pod,
} from '@kubernetes/client-node';

import { toTypedPolicy } from '../src/lib/cluster/policy-shape.js';
import type { ClusterTierPolicy } from '../src/lib/engine/tiers-compile.js';
import type { ClusterSnapshot } from '../src/lib/engine/model.js';
import { effectivePolicyTypes } from '../src/lib/engine/model.js';
import { toYamlDocuments } from './yaml.js';

/** What to generate. */
export interface GenerateOptions {
  /** Exact number of pods. */
  pods: number;
  /** PRNG seed; the same seed gives the same cluster. */
  seed: number;
  /**
   * Give StatefulSet pods their per-pod `statefulset.kubernetes.io/pod-name` label, as the controller
   * does. Off by default: netpol-analyzer v1.4.4 panics (nil podSelector in
   * xgressRulePeerContainsGapLabel) on pods of one owner whose labels differ when some rule has a
   * namespaceSelector-only peer, and the bench runs it on the same manifests.
   */
  podNameLabels?: boolean;
}

/** Figures about a generated cluster, for tests and reports. */
export interface GeneratedStats {
  pods: number;
  policies: number;
  namespaces: number;
  /** Application namespaces (all but kube-system and monitoring) and those with a default-deny policy. */
  appNamespaces: number;
  defaultDenyNamespaces: number;
  deployments: number;
  statefulSets: number;
}

/** A generated cluster: the snapshot the loaders would produce, and figures about it. */
export interface GeneratedCluster {
  snapshot: ClusterSnapshot;
  stats: GeneratedStats;
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random choices on top of mulberry32. */
export class Rng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [lo, hi], inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A string of `length` characters from `alphabet`. */
  chars(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** The alphabet Kubernetes uses for generated name suffixes and pod-template-hash. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const HEX = '0123456789abcdef';

type Tier = 'web' | 'backend' | 'worker' | 'data';

/** Application names with their tier. */
const APPS: readonly [string, Tier][] = [
  ['frontend', 'web'],
  ['web', 'web'],
  ['admin', 'web'],
  ['gateway', 'web'],
  ['api', 'backend'],
  ['auth', 'backend'],
  ['search', 'backend'],
  ['billing', 'backend'],
  ['reports', 'backend'],
  ['notifier', 'backend'],
  ['scheduler', 'backend'],
  ['config', 'backend'],
  ['worker', 'worker'],
  ['indexer', 'worker'],
  ['ingest', 'worker'],
  ['mailer', 'worker'],
  ['queue', 'worker'],
  ['cache', 'data'],
  ['db', 'data'],
  ['kafka', 'data'],
];

const TEAMS: readonly string[] = [
  'payments',
  'search',
  'checkout',
  'identity',
  'catalog',
  'ads',
  'media',
  'data',
  'platform',
  'growth',
  'risk',
  'mobile',
];

const ENVS: readonly string[] = ['prod', 'prod', 'prod', 'staging', 'staging', 'dev'];

/** Pod IPs come from 10.64.0.0/12 (one /24 per node); node IPs from 172.20.0.0/16. */
const POD_NETWORK = '10.64.0.0/12';
const PODS_PER_NODE = 60;

function uid(rng: Rng): string {
  return `${rng.chars(8, HEX)}-${rng.chars(4, HEX)}-${rng.chars(4, HEX)}-${rng.chars(4, HEX)}-${rng.chars(12, HEX)}`;
}

/** Container ports by tier; `http` is 80 or 8080 per workload. */
function portsOf(app: string, tier: Tier, httpPort: number): V1ContainerPort[] {
  switch (tier) {
    case 'web':
      return [
        { name: 'http', containerPort: httpPort, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      ];
    case 'backend':
      return [
        { name: 'http', containerPort: httpPort, protocol: 'TCP' },
        { name: 'grpc', containerPort: 50051, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090 },
      ];
    case 'worker':
      return [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }, { containerPort: 8081 }];
    case 'data':
      if (app.startsWith('db'))
        return [
          { containerPort: 5432, protocol: 'TCP' },
          { name: 'metrics', containerPort: 9187 },
        ];
      if (app.startsWith('kafka'))
        return [
          { name: 'kafka', containerPort: 9092 },
          { name: 'metrics', containerPort: 9308 },
        ];
      return [
        { name: 'redis', containerPort: 6379, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9121 },
      ];
  }
}

/** A deployment or statefulset in an application namespace. */
interface Workload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  app: string;
  tier: Tier;
  replicas: number;
}

/** Allocates unique pod IPs, one /24 per node, nodes picked at random. */
class Ipam {
  private readonly used: number[];

  constructor(
    private readonly rng: Rng,
    readonly nodes: number,
  ) {
    this.used = new Array<number>(nodes).fill(0);
  }

  next(): { podIP: string; hostIP: string; nodeName: string } {
    let node = this.rng.int(0, this.nodes - 1);
    while (this.used[node] >= 250) node = (node + 1) % this.nodes;
    const host = 2 + this.used[node]++;
    // 10.64.0.0/12 holds 4096 /24s: 10.(64 + node / 256).(node % 256).host
    return {
      podIP: `10.${64 + (node >> 8)}.${node & 255}.${host}`,
      hostIP: `172.20.${node >> 8}.${(node & 255) + 1}`,
      nodeName: `node-${String(node).padStart(4, '0')}`,
    };
  }
}

function labelsOf(sel: Record<string, string>): V1LabelSelector {
  return { matchLabels: sel };
}

/** Builds one NetworkPolicy in YAML shape (`from`, not `_from`). */
function policy(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

type Template = (ctx: TemplateContext) => Record<string, unknown>;

interface TemplateContext {
  ns: string;
  team: string;
  w: Workload;
  rng: Rng;
  /** Nodes in the cluster, to pick an except /24 inside the pod network. */
  nodes: number;
}

/** Per-workload policy templates, each exercising some features; weights pick how often. */
const TEMPLATES: readonly { name: string; weight: number; build: Template }[] = [
  {
    // pod selector peer, named port resolved on the destination
    name: 'allow-from-web',
    weight: 4,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app }),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: labelsOf({ tier: 'web' }) }], ports: [{ port: 'http' }] }],
    }),
  },
  {
    // namespace selector peer (other namespaces of the team), number and named port
    name: 'allow-same-team',
    weight: 3,
    build: ({ w, team }) => ({
      podSelector: labelsOf({ app: w.app }),
      ingress: [
        {
          from: [{ namespaceSelector: labelsOf({ team }) }],
          ports: [{ protocol: 'TCP', port: 8080 }, { port: 'grpc' }],
        },
      ],
    }),
  },
  {
    // combined selectors with In / NotIn, endPort range
    name: 'allow-envs',
    weight: 3,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app, tier: w.tier }),
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] },
              podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['data'] }] },
            },
          ],
          ports: [{ protocol: 'TCP', port: 8000, endPort: 8999 }],
        },
      ],
    }),
  },
  {
    // namespaceSelector {} with a pod selector: every namespace's gateways
    name: 'allow-gateway',
    weight: 3,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app }),
      ingress: [
        {
          from: [{ namespaceSelector: {}, podSelector: labelsOf({ app: 'gateway' }) }],
          ports: [{ port: 80 }, { port: 443 }, { port: 'http' }],
        },
      ],
    }),
  },
  {
    // ipBlocks with except: one over the pod network (so it matches pod IPs), external v4 and v6
    name: 'allow-lb',
    weight: 2,
    build: ({ w, rng, nodes }) => {
      const hole = rng.int(0, nodes - 1);
      return {
        podSelector: labelsOf({ app: w.app }),
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              { ipBlock: { cidr: POD_NETWORK, except: [`10.${64 + (hole >> 8)}.${hole & 255}.0/24`] } },
              { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.100.0/24'] } },
              { ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } },
            ],
            ports: [{ port: 80 }, { port: 'http' }, { port: 443 }],
          },
        ],
      };
    },
  },
  {
    // egress to the internet, v4 and v6, private ranges excepted
    name: 'egress-external',
    weight: 2,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app }),
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } },
            { ipBlock: { cidr: '::/0', except: ['fd00::/8'] } },
          ],
          ports: [{ protocol: 'TCP', port: 443 }],
        },
      ],
    }),
  },
  {
    // policyTypes absent with egress rules: Ingress and Egress both apply (and no ingress rule: isolated)
    name: 'egress-team-backends',
    weight: 1,
    build: ({ w, team }) => ({
      podSelector: labelsOf({ app: w.app }),
      egress: [
        { to: [{ podSelector: {} }] },
        {
          to: [
            {
              namespaceSelector: labelsOf({ team }),
              podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'data'] }] },
            },
          ],
          ports: [{ port: 'grpc' }, { port: 5432 }, { port: 'redis' }, { protocol: 'UDP', port: 53 }],
        },
      ],
    }),
  },
  {
    // Exists / DoesNotExist, no ports: every port
    name: 'allow-internal',
    weight: 2,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app }),
      ingress: [
        {
          from: [
            {
              podSelector: {
                matchExpressions: [
                  { key: 'team', operator: 'Exists' },
                  { key: 'track', operator: 'DoesNotExist' },
                ],
              },
            },
          ],
        },
      ],
    }),
  },
  {
    // a rule without `from`: every peer, on one port
    name: 'allow-public-http',
    weight: 1,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app }),
      ingress: [{ ports: [{ protocol: 'TCP', port: 80 }] }],
    }),
  },
  {
    // two peers (OR), one of them pod+namespace (AND); UDP and SCTP ranges
    name: 'allow-clients',
    weight: 2,
    build: ({ w, team }) => ({
      podSelector: labelsOf({ tier: w.tier }),
      ingress: [
        {
          from: [
            { podSelector: labelsOf({ tier: 'backend' }) },
            { namespaceSelector: labelsOf({ team }), podSelector: labelsOf({ tier: 'worker' }) },
          ],
          ports: [
            { port: 5432 },
            { port: 'redis' },
            { port: 'kafka' },
            { protocol: 'UDP', port: 8125 },
            { protocol: 'SCTP', port: 9000, endPort: 9010 },
          ],
        },
      ],
    }),
  },
  {
    // NotIn over namespaces, with a key some namespaces lack (NotIn matches them)
    name: 'allow-non-dev',
    weight: 1,
    build: ({ w }) => ({
      podSelector: labelsOf({ app: w.app }),
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
              podSelector: labelsOf({ tier: 'web' }),
            },
          ],
          ports: [{ port: 'http' }, { port: 9090 }],
        },
      ],
    }),
  },
  {
    // a policy without rules: isolates for ingress, admits nothing
    name: 'deny-ingress',
    weight: 1,
    build: ({ w }) => ({ podSelector: labelsOf({ app: w.app, track: 'canary' }), policyTypes: ['Ingress'] }),
  },
];

const TEMPLATE_WEIGHT = TEMPLATES.reduce((sum, t) => sum + t.weight, 0);

function pickTemplate(rng: Rng): (typeof TEMPLATES)[number] {
  let r = rng.float() * TEMPLATE_WEIGHT;
  for (const t of TEMPLATES) {
    r -= t.weight;
    if (r < 0) return t;
  }
  return TEMPLATES[TEMPLATES.length - 1];
}

function replicasOf(rng: Rng): number {
  const r = rng.float();
  if (r < 0.15) return 1;
  if (r < 0.4) return 2;
  if (r < 0.65) return 3;
  if (r < 0.9) return rng.int(4, 6);
  return rng.int(7, 12);
}

/** Generates a cluster with exactly `pods` pods (at least 10). */
export function generateCluster(options: GenerateOptions): GeneratedCluster {
  const total = Math.max(10, Math.floor(options.pods));
  const rng = new Rng(options.seed);
  const appNamespaceCount = Math.max(2, Math.round(total / 100));
  const nodes = Math.max(3, Math.ceil(total / PODS_PER_NODE));
  const ipam = new Ipam(rng, nodes);
  const namespaces: V1Namespace[] = [];
  const pods: V1Pod[] = [];
  const policies: Record<string, unknown>[] = [];
  let deployments = 0;
  let statefulSets = 0;

  const addNamespace = (name: string, labels: Record<string, string>) =>
    namespaces.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, uid: uid(rng), labels: { ...labels, 'kubernetes.io/metadata.name': name } },
    });

  /** Materialises a workload's pods, as the controllers would have created them. */
  const addPods = (ns: string, team: string | undefined, w: Workload, extraLabels: Record<string, string> = {}) => {
    const httpPort = rng.chance(0.5) ? 80 : 8080;
    const containerPorts = portsOf(w.app, w.tier, httpPort);
    const base: Record<string, string> = { app: w.app, tier: w.tier, ...(team ? { team } : {}), ...extraLabels };
    const hash = rng.chars(10, NAME_ALPHABET);
    const owner =
      w.kind === 'Deployment'
        ? { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${w.name}-${hash}` }
        : { apiVersion: 'apps/v1', kind: 'StatefulSet', name: w.name };
    const ownerUid = uid(rng);
    for (let i = 0; i < w.replicas; i++) {
      const name = w.kind === 'Deployment' ? `${w.name}-${hash}-${rng.chars(5, NAME_ALPHABET)}` : `${w.name}-${i}`;
      const labels =
        w.kind === 'Deployment'
          ? { ...base, 'pod-template-hash': hash }
          : {
              ...base,
              'controller-revision-hash': `${w.name}-${hash}`,
              ...(options.podNameLabels ? { 'statefulset.kubernetes.io/pod-name': name } : {}),
            };
      const ip = ipam.next();
      pods.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: ns,
          uid: uid(rng),
          labels,
          ownerReferences: [{ ...owner, uid: ownerUid, controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          nodeName: ip.nodeName,
          containers: [
            { name: w.app, image: `registry.example.com/${w.app}:1.${rng.int(0, 30)}`, ports: containerPorts },
          ],
        },
        status: { phase: 'Running', hostIP: ip.hostIP, podIP: ip.podIP, podIPs: [{ ip: ip.podIP }] },
      });
    }
  };

  // Cluster services: DNS in kube-system, Prometheus in monitoring.
  addNamespace('kube-system', {});
  addNamespace('monitoring', { purpose: 'monitoring', team: 'platform' });
  const coredns: Workload = { kind: 'Deployment', name: 'coredns', app: 'coredns', tier: 'backend', replicas: 2 };
  addPods('kube-system', undefined, coredns, { 'k8s-app': 'kube-dns' });
  // coredns listens on 53/UDP and 53/TCP.
  for (const pod of pods) {
    pod.spec!.containers[0].ports = [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
    ];
  }
  addPods('monitoring', 'platform', {
    kind: 'StatefulSet',
    name: 'prometheus',
    app: 'prometheus',
    tier: 'backend',
    replicas: 2,
  });
  deployments += 1;
  statefulSets += 1;

  // Application namespaces: exactly half get a default-deny policy.
  const teamCount = Math.min(TEAMS.length, Math.max(2, Math.round(appNamespaceCount / 6)));
  const denyFlags = rng.shuffle(
    Array.from({ length: appNamespaceCount }, (_, i) => i < Math.round(appNamespaceCount / 2)),
  );
  let podsLeft = total - pods.length;
  for (let n = 0; n < appNamespaceCount; n++) {
    const team = TEAMS[n % teamCount];
    const env = rng.pick(ENVS);
    const ns = `${team}-${env}-${String(n).padStart(3, '0')}`;
    const labels: Record<string, string> = { team, env };
    if (rng.chance(0.3)) labels['istio-injection'] = 'enabled';
    // Some namespaces carry no env label: NotIn must still match them, In must not.
    if (rng.chance(0.1)) delete labels.env;
    addNamespace(ns, labels);
    const nsPods = Math.floor(podsLeft / (appNamespaceCount - n));
    podsLeft -= nsPods;

    const workloads: Workload[] = [];
    const taken = new Map<string, number>();
    for (let left = nsPods; left > 0;) {
      const [app0, tier] = rng.pick(APPS);
      const seen = taken.get(app0) ?? 0;
      taken.set(app0, seen + 1);
      const app = seen === 0 ? app0 : `${app0}-${seen + 1}`;
      const isStateful = tier === 'data' ? rng.chance(0.7) : rng.chance(0.05);
      const replicas = Math.min(left, isStateful ? rng.int(1, 3) : replicasOf(rng));
      const w: Workload = { kind: isStateful ? 'StatefulSet' : 'Deployment', name: app, app, tier, replicas };
      workloads.push(w);
      addPods(ns, team, w, rng.chance(0.05) ? { track: 'canary' } : {});
      if (isStateful) statefulSets++;
      else deployments++;
      left -= replicas;
    }

    // Namespace-wide policies.
    const nsPolicies: Record<string, unknown>[] = [];
    if (denyFlags[n]) {
      const denyEgress = rng.chance(0.7);
      nsPolicies.push(
        policy(ns, 'default-deny', {
          podSelector: {},
          policyTypes: denyEgress ? ['Ingress', 'Egress'] : ['Ingress'],
        }),
      );
      if (denyEgress) {
        nsPolicies.push(
          policy(ns, 'allow-dns', {
            podSelector: {},
            policyTypes: ['Egress'],
            egress: [
              {
                to: [
                  {
                    namespaceSelector: labelsOf({ 'kubernetes.io/metadata.name': 'kube-system' }),
                    podSelector: labelsOf({ 'k8s-app': 'kube-dns' }),
                  },
                ],
                ports: [
                  { protocol: 'UDP', port: 53 },
                  { protocol: 'TCP', port: 53 },
                ],
              },
            ],
          }),
        );
      }
    }
    if (rng.chance(0.7)) {
      nsPolicies.push(
        policy(ns, 'allow-monitoring', {
          podSelector: {},
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [
                {
                  namespaceSelector: labelsOf({ purpose: 'monitoring' }),
                  podSelector: labelsOf({ app: 'prometheus' }),
                },
              ],
              ports: [{ port: 'metrics' }],
            },
          ],
        }),
      );
    }
    // Per-workload policies until the namespace holds nsPods / ratio policies, ratio in [1.4, 2.0].
    const target = Math.max(nsPolicies.length + 1, Math.round(nsPods / (1.4 + rng.float() * 0.6)));
    const names = new Set<string>();
    for (let i = 0; nsPolicies.length < target && i < target * 20; i++) {
      const w = workloads[i % workloads.length];
      const t = pickTemplate(rng);
      const name = `${w.name}-${t.name}`;
      if (names.has(name)) continue;
      names.add(name);
      nsPolicies.push(policy(ns, name, t.build({ ns, team, w, rng, nodes })));
    }
    policies.push(...nsPolicies);
  }

  const snapshot: ClusterSnapshot = {
    namespaces,
    pods,
    policies: policies.map((p) => toTypedPolicy(p)),
    services: [],
    workloads: [],
  };
  return {
    snapshot,
    stats: {
      pods: pods.length,
      policies: policies.length,
      namespaces: namespaces.length,
      appNamespaces: appNamespaceCount,
      defaultDenyNamespaces: denyFlags.filter(Boolean).length,
      deployments,
      statefulSets,
    },
  };
}

/** How many policies changeCluster rewrites, and how many it deletes; the share of pods it relabels. */
export const CHANGE = { configured: 3, deleted: 3, relabelled: 0.01 } as const;

/**
 * The same cluster after a realistic pull request (for diff): CHANGE.configured policies given one
 * more ingress rule (web pods on 9443/TCP), CHANGE.deleted policies removed, and 1% of the pods
 * relabelled (every other one `track: canary` toggled, which DoesNotExist selectors and the canary
 * policies read; the rest moved to another `tier`), all picked by the seed. Neither input is changed.
 * With `relabel` false, the same policy changes and no pod relabelled.
 */
export function changeCluster(snapshot: ClusterSnapshot, seed: number, relabel = true): ClusterSnapshot {
  const rng = new Rng(seed ^ 0xd1ff);
  const policies = [...snapshot.policies];
  const picked = rng.shuffle(policies.map((_, i) => i)).slice(0, CHANGE.configured + CHANGE.deleted);
  for (const i of picked.slice(0, CHANGE.configured)) {
    const p = policies[i];
    const rule = { _from: [{ podSelector: labelsOf({ tier: 'web' }) }], ports: [{ protocol: 'TCP', port: 9443 }] };
    // Written out, so the added rule keeps the policy's egress isolation as it was.
    const policyTypes = ['Ingress', ...(effectivePolicyTypes(p).egress ? ['Egress'] : [])];
    policies[i] = { ...p, spec: { ...p.spec!, policyTypes, ingress: [...(p.spec?.ingress ?? []), rule] } };
  }
  const deleted = new Set(picked.slice(CHANGE.configured));
  const tiers: Tier[] = ['web', 'backend', 'worker', 'data'];
  const pods = [...snapshot.pods];
  const relabelled = rng
    .shuffle(pods.map((_, i) => i))
    .slice(0, relabel ? Math.max(1, Math.round(pods.length * CHANGE.relabelled)) : 0);
  relabelled.forEach((i, n) => {
    const pod = pods[i];
    const labels = { ...pod.metadata?.labels };
    if (n % 2 === 0) {
      if (labels.track === 'canary') delete labels.track;
      else labels.track = 'canary';
    } else labels.tier = tiers[(tiers.indexOf(labels.tier as Tier) + 1 + rng.int(0, 2)) % tiers.length];
    pods[i] = { ...pod, metadata: { ...pod.metadata, labels } };
  });
  return { ...snapshot, pods, policies: policies.filter((_, i) => !deleted.has(i)) };
}

/**
 * Cluster-scoped tier policies over a generated cluster, as a platform team writes them: Admin-tier
 * ClusterNetworkPolicies protecting data namespaces (a Pass for their own callers, an Accept for
 * monitoring, a Deny for the rest), a cloud-metadata egress Deny for every pod, per-tier Deny rules by
 * pod labels across namespaces, and Baseline defaults for a share of the namespaces. `count` of them.
 */
export function tierPolicies(snapshot: ClusterSnapshot, count: number, seed: number): ClusterTierPolicy[] {
  const rng = new Rng(seed ^ 0x7e25);
  const names = snapshot.namespaces.map((n) => n.metadata!.name!).filter((n) => n !== 'kube-system');
  const out: ClusterTierPolicy[] = [];
  const cnp = (name: string, spec: Record<string, unknown>): ClusterTierPolicy => ({
    apiVersion: 'policy.networking.k8s.io/v1beta1',
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec,
  });
  out.push(
    cnp('no-cloud-metadata', {
      tier: 'Admin',
      priority: 1,
      subject: { namespaces: {} },
      egress: [{ name: 'deny-metadata', action: 'Deny', to: [{ networks: ['169.254.169.254/32'] }] }],
    }),
  );
  for (let i = 1; out.length < count; i++) {
    const ns = names[rng.int(0, names.length - 1)];
    const caller = names[rng.int(0, names.length - 1)];
    const kind = i % 4;
    if (kind === 0) {
      out.push(
        cnp(`protect-${ns}-${i}`, {
          tier: 'Admin',
          priority: 10 + i,
          subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
          ingress: [
            {
              name: 'own-callers',
              action: 'Pass',
              from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': caller } } }],
            },
            {
              name: 'monitoring',
              action: 'Accept',
              from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
              protocols: [{ destinationNamedPort: 'metrics' }],
            },
            { name: 'nobody-else', action: 'Deny', from: [{ namespaces: {} }] },
          ],
        }),
      );
    } else if (kind === 1) {
      out.push(
        cnp(`web-not-to-data-${i}`, {
          tier: 'Admin',
          priority: 10 + i,
          subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { tier: 'web' } } } },
          egress: [
            {
              name: 'no-data',
              action: 'Deny',
              to: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { tier: 'data' } } } }],
              protocols: [{ tcp: { destinationPort: { range: { start: 5000, end: 6000 } } } }],
            },
          ],
        }),
      );
    } else {
      out.push(
        cnp(`baseline-${ns}-${i}`, {
          tier: 'Baseline',
          priority: 10 + i,
          subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
          ingress: [
            {
              name: 'http',
              action: 'Accept',
              from: [{ namespaces: {} }],
              protocols: [{ tcp: { destinationPort: { number: 8080 } } }],
            },
            { name: 'deny-pods', action: 'Deny', from: [{ namespaces: {} }] },
          ],
        }),
      );
    }
  }
  return out;
}

/** A policy in YAML shape: client-node's `_from` written back as `from`. */
export function toManifestPolicy(p: V1NetworkPolicy): Record<string, unknown> {
  const spec = p.spec;
  if (!spec?.ingress) return p as unknown as Record<string, unknown>;
  const ingress = spec.ingress.map((rule) => {
    const { _from, ...rest } = rule;
    return _from === undefined ? rest : { from: _from, ...rest };
  });
  return { ...p, spec: { ...spec, ingress } };
}

/** Files written, in the order a directory listing returns them. */
export const MANIFEST_FILES = ['00-namespaces.yaml', '10-pods-a.yaml', '11-pods-b.yaml', '20-policies.yaml'];

/** The file of the cluster tier policies, written only when the snapshot holds some. */
const TIER_FILE = '30-cluster-policies.yaml';

/**
 * Writes a snapshot as multi-document YAML into `dir`: namespaces, pods in two files, policies.
 * Returns the paths and the bytes written.
 */
export async function writeManifests(
  snapshot: ClusterSnapshot,
  dir: string,
): Promise<{ files: string[]; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const half = Math.ceil(snapshot.pods.length / 2);
  const parts: unknown[][] = [
    snapshot.namespaces,
    snapshot.pods.slice(0, half),
    snapshot.pods.slice(half),
    snapshot.policies.map(toManifestPolicy),
    ...(snapshot.clusterPolicies?.length ? [snapshot.clusterPolicies] : []),
  ];
  let bytes = 0;
  const files: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const path = join(dir, MANIFEST_FILES[i] ?? TIER_FILE);
    const text = toYamlDocuments(parts[i]);
    bytes += Buffer.byteLength(text);
    await writeFile(path, text);
    files.push(path);
  }
  return { files, bytes };
}

/** The peers a generated cluster's ingress rules name, for tests that look for features. */
export function peersOf(p: V1NetworkPolicy): V1NetworkPolicyPeer[] {
  return [
    ...(p.spec?.ingress ?? []).flatMap((r) => r._from ?? []),
    ...(p.spec?.egress ?? []).flatMap((r) => r.to ?? []),
  ];
}

/** The ports a policy's rules name. */
export function portsOfPolicy(p: V1NetworkPolicy): V1NetworkPolicyPort[] {
  return [...(p.spec?.ingress ?? []), ...(p.spec?.egress ?? [])].flatMap((r) => r.ports ?? []);
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const pods = Number(arg('pods', '1000'));
  const seed = Number(arg('seed', '1'));
  const out = arg('out', '');
  if (!out || !Number.isFinite(pods) || !Number.isFinite(seed)) {
    process.stderr.write('usage: generate --pods N --seed S --out DIR\n');
    process.exitCode = 2;
    return;
  }
  const { snapshot, stats } = generateCluster({ pods, seed });
  const tiers = Number(arg('tiers', '0'));
  if (tiers > 0) snapshot.clusterPolicies = tierPolicies(snapshot, tiers, seed);
  const { bytes } = await writeManifests(snapshot, out);
  process.stdout.write(`${JSON.stringify({ ...stats, bytes, dir: out })}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
