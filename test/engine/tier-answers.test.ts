/**
 * Cluster tiers through the engine's own query path (compileWorld, then whoCan / reachableFrom), not
 * the one-port evaluator: the shared tier conformance cases as check.py asks them (who-can over every
 * pod on one port, and with --from/--explain), then cases of our own with exact answers: v1alpha1 port
 * ranges, named ports on egress, nodes peers, same-priority policies, Pass, IPv6 networks,
 * host-network pods, rules that fail closed, and addresses outside the cluster.
 */
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';

import { loadManifests } from '../../src/lib/cluster/files.js';
import { compileWorld } from '../../src/lib/engine/compile.js';
import type { Decision, PortQuery, Protocol } from '../../src/lib/engine/model.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import type { World } from '../../src/lib/engine/world.js';
import { reachablePairs, whoCanPairs } from '../support/pairs.js';
import { tierCases, tierManifest, type TierProbe } from '../support/tier-cases.js';

const cases = tierCases();

const ref = (key: string) => {
  const [namespace, name] = key.split('/');
  return { namespace, name };
};
const keyOfPeer = (peer: { pod: { namespace: string; name: string } } | object) =>
  'pod' in peer ? `${peer.pod.namespace}/${peer.pod.name}` : JSON.stringify(peer);

async function worldOf(paths: string[], stdin?: string): Promise<World> {
  const loaded = await loadManifests(paths, stdin === undefined ? {} : { stdin });
  return compileWorld(loaded.snapshot);
}

/** `from->to` of every pod pair a who-can answer allows. */
function allowedPairs(world: World, query: Parameters<typeof whoCanPairs>[1]): Set<string> {
  return new Set(whoCanPairs(world, query).connections.map((c) => `${keyOfPeer(c.from)}->${keyOfPeer(c.to)}`));
}

describe('shared tier conformance cases through compileWorld and whoCan', () => {
  test('are all present', () => {
    expect(cases.length).toBe(71);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const world = await worldOf([tierManifest(c.name)]);
    expect(world.tiers?.set.policies.length).toBeGreaterThan(0);
    const targets = world.pods.map((p) => p.ref);
    const ports = [...new Set(c.probes.map((p) => `${p.port}/${p.protocol}`))];
    for (const text of ports) {
      const [port, protocol] = text.split('/');
      const query: PortQuery = { port: Number(port), protocol: protocol as Protocol };
      // As check.py asks: every pod a target, on one port.
      const all = allowedPairs(world, { targets, port: query });
      // As --from with --explain asks it: the probed sources only, denied ones listed too.
      const sources = [...new Set(c.probes.map((p) => p.from))].map(ref);
      const asked = whoCanPairs(world, { targets, sources, port: query, includeDenied: true });
      const viaSources = new Set(asked.connections.map((x) => `${keyOfPeer(x.from)}->${keyOfPeer(x.to)}`));
      const denied = new Set(asked.denied.map((x) => `${keyOfPeer(x.from)}->${keyOfPeer(x.to)}`));
      const probes = c.probes.filter((p) => `${p.port}/${p.protocol}` === text);
      const key = (p: TierProbe) => `${p.from}->${p.to}`;
      expect(probes.map((p) => ({ ...p, allowed: all.has(key(p)) }))).toEqual(probes);
      expect(probes.map((p) => ({ ...p, allowed: viaSources.has(key(p)) }))).toEqual(probes);
      expect(probes.filter((p) => p.from !== p.to).map((p) => ({ ...p, allowed: !denied.has(key(p)) }))).toEqual(
        probes.filter((p) => p.from !== p.to),
      );
    }
  });
});

/** Namespaces a and b, a client in a (IPv4 and IPv6), a server and another pod in b, a host-network pod in b. */
const WORLD = fileURLToPath(new URL('../fixtures/tiers/pods.yaml', import.meta.url));

const CLIENT = 'a/client';
const SERVER = 'b/server';
const OTHER = 'b/other';
const AGENT = 'b/node-agent';

async function worldWith(policies: string): Promise<World> {
  return worldOf([WORLD, '-'], policies);
}

/** The pods who-can lists as sources of `target` (on a port, or on any). */
function sourcesOf(world: World, target: string, port?: PortQuery): string[] {
  const answer = whoCanPairs(world, { targets: [ref(target)], ...(port ? { port } : {}) });
  return answer.connections.filter((c) => 'pod' in c.from).map((c) => keyOfPeer(c.from));
}

/** The pods reachable-from lists as destinations of `source`. */
function destinationsOf(world: World, source: string, port?: PortQuery): string[] {
  const answer = reachablePairs(world, { sources: [ref(source)], ...(port ? { port } : {}) });
  return answer.connections.filter((c) => 'pod' in c.to).map((c) => keyOfPeer(c.to));
}

/** The ports allowed from one pod to another, as who-can's all-ports answer gives them ('none' when denied). */
function portsBetween(world: World, from: string, to: string): string {
  const answer = whoCanPairs(world, { targets: [ref(to)], sources: [ref(from)] });
  const found = answer.connections.find((c) => keyOfPeer(c.from) === from);
  return found?.ports ? formatPortSet(found.ports) : 'none';
}

/** The decision of who-can --from FROM --explain on one port. */
function decisionOf(world: World, from: string, to: string, port: PortQuery): Decision {
  const answer = whoCanPairs(world, { targets: [ref(to)], sources: [ref(from)], port, includeDenied: true });
  const found = [...answer.connections, ...answer.denied].find((c) => keyOfPeer(c.from) === from);
  if (!found) throw new Error(`no answer for ${from} -> ${to}`);
  return found.decision;
}

const codes = (world: World) => world.warnings.map((w) => w.code);
const tcp = (port: number | string): PortQuery => ({ port, protocol: 'TCP' });

/** A cluster-scoped policy of `kind` at `version` named `name`, with its spec (YAML, indented). */
function tierPolicy(kind: string, version: string, name: string, spec: string): string {
  return `
apiVersion: policy.networking.k8s.io/${version}
kind: ${kind}
metadata: {name: ${name}}
spec:
${spec}
---`;
}

/** A ClusterNetworkPolicy (v1beta1 unless said). */
const cnp = (name: string, spec: string, version = 'v1beta1') =>
  tierPolicy('ClusterNetworkPolicy', version, name, spec);

describe('v1alpha1 port ranges', () => {
  const anp = tierPolicy(
    'AdminNetworkPolicy',
    'v1alpha1',
    'ranges',
    `  priority: 10
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: allow-8080, action: Allow, to: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}
  - {name: deny-range, action: Deny, to: [{namespaces: {}}], ports: [{portRange: {start: 8000, end: 9000}}, {portRange: {protocol: UDP, start: 50, end: 60}}]}`,
  );
  test('all ports: the range is taken out, less the port an earlier Allow rule took', async () => {
    const world = await worldWith(anp);
    expect(portsBetween(world, CLIENT, SERVER)).toBe(
      '1-7999/TCP, 8080/TCP, 9001-65535/TCP, 1-49/UDP, 61-65535/UDP, all/SCTP',
    );
    // Only the subject's egress is touched: server -> client is every port.
    expect(portsBetween(world, SERVER, CLIENT)).toBe('all');
  });

  test('one port at a time, both ways of asking', async () => {
    const world = await worldWith(anp);
    const expected = {
      '7999/TCP': true,
      '8000/TCP': false,
      '8080/TCP': true,
      '9000/TCP': false,
      '9001/TCP': true,
      '55/UDP': false,
      '8500/SCTP': true,
    };
    const asked = Object.keys(expected).map((text) => {
      const [port, protocol] = text.split('/');
      const query = { port: Number(port), protocol: protocol as Protocol };
      const outbound = destinationsOf(world, CLIENT, query).includes(SERVER);
      expect(sourcesOf(world, SERVER, query).includes(CLIENT)).toBe(outbound);
      return [text, outbound];
    });
    expect(Object.fromEntries(asked)).toEqual(expected);
  });

  test('the decision names the rule, its tier, priority and action', async () => {
    const world = await worldWith(anp);
    const denied = decisionOf(world, CLIENT, SERVER, tcp(8500));
    expect(denied.allowed).toBe(false);
    expect(denied.egress).toMatchObject({ allowed: false, decidedBy: 'Admin', reason: 'denied-by-tier', passedBy: [] });
    expect(denied.egress.tierRules).toEqual([
      {
        policy: { kind: 'AdminNetworkPolicy', name: 'ranges' },
        tier: 'Admin',
        priority: 10,
        direction: 'egress',
        rule: { index: 1, name: 'deny-range' },
        action: 'Deny',
      },
    ]);
    const accepted = decisionOf(world, CLIENT, SERVER, tcp(8080));
    expect(accepted.egress).toMatchObject({ allowed: true, decidedBy: 'Admin' });
    expect(accepted.egress.tierRules?.map((r) => r.rule.name)).toEqual(['allow-8080']);
    // No tier rule touches the server's ingress: NetworkPolicy alone (not isolated), no layer named.
    expect(accepted.ingress).toMatchObject({ allowed: true, isolated: false });
    expect(accepted.ingress.decidedBy).toBeUndefined();
  });
});

describe('named ports on egress', () => {
  const policy = cnp(
    'no-web-out',
    `  tier: Admin
  priority: 3
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: deny-web, action: Deny, to: [{pods: {podSelector: {}}}], protocols: [{destinationNamedPort: web}]}`,
  );

  test('the name resolves on each destination pod: 8080 on server, 9090 on other', async () => {
    const world = await worldWith(policy);
    expect(portsBetween(world, CLIENT, SERVER)).toBe('1-8079/TCP, 8081-65535/TCP, all/UDP, all/SCTP');
    expect(portsBetween(world, CLIENT, OTHER)).toBe('1-9089/TCP, 9091-65535/TCP, all/UDP, all/SCTP');
    expect(destinationsOf(world, CLIENT, tcp(8080))).toEqual([OTHER, AGENT]);
    expect(destinationsOf(world, CLIENT, tcp(9090))).toEqual([SERVER, AGENT]);
    // Asked by name: it resolves on each destination, and the tier denies it on both; the host-network
    // pod has no port of that name.
    expect(destinationsOf(world, CLIENT, tcp('web'))).toEqual([]);
    // The pods of b are not the subject: their egress by name is untouched.
    expect(destinationsOf(world, OTHER, tcp('web'))).toEqual([SERVER]);
  });

  test('with the name asked, the decision names the rule', async () => {
    const world = await worldWith(policy);
    const d = decisionOf(world, CLIENT, SERVER, tcp('web'));
    expect(d.egress).toMatchObject({ allowed: false, decidedBy: 'Admin', reason: 'denied-by-tier' });
    expect(d.egress.tierRules?.map((r) => `${r.policy.name} ${r.rule.name} ${r.action}`)).toEqual([
      'no-web-out deny-web Deny',
    ]);
  });
});

/** A ClusterNetworkPolicy (priority 1) whose subject is namespace a, with egress rules (the first one inline, YAML flow). */
const egressOfTeamA = (name: string, rules: string, tier = 'Admin') =>
  cnp(
    name,
    `  tier: ${tier}
  priority: 1
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - ${rules}`,
  );

describe('nodes peers', () => {
  const toNodes = (name: string, action: string, nodes: string, then = '', tier = 'Admin') =>
    egressOfTeamA(name, `{name: to-nodes, action: ${action}, to: [{nodes: ${nodes}}]}${then}`, tier);
  // Nodes n1 (worker, the address of b/node-agent), n2 (control, an internal and an external address)
  // and n3 (no labels, no address); b/agent-2 is a host-network pod on n2 with node-agent's labels
  // (found by its name and its IP), b/agent-3 one on n3 with no IP (found by its node's name).
  const NODES = `
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {role: worker}}
status: {addresses: [{type: InternalIP, address: 192.168.5.5}, {type: Hostname, address: n1}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {role: control}}
status: {addresses: [{type: InternalIP, address: 192.168.6.6}, {type: ExternalIP, address: 203.0.113.6}]}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
---
apiVersion: v1
kind: Pod
metadata: {namespace: b, name: agent-2, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n2, containers: [{name: c}]}
status: {podIP: 192.168.6.6, hostIP: 192.168.6.6}
---
apiVersion: v1
kind: Pod
metadata: {namespace: b, name: agent-3, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n3, containers: [{name: c}]}
---`;
  const AGENT2 = 'b/agent-2';
  const AGENT3 = 'b/agent-3';
  const withNodes = (policies: string) => worldWith(NODES + policies);
  const reachesAddress = (world: World, cidr: string) =>
    reachablePairs(world, { sources: [ref(CLIENT)], destinationBlock: { cidr, except: [] }, port: tcp(443) }).external
      .length === 1;

  test('Deny: the host-network pods on the selected nodes and their addresses, no other pod', async () => {
    const world = await withNodes(toNodes('deny-workers', 'Deny', '{matchLabels: {role: worker}}'));
    // node-agent is on n1 (its IP is n1's); agent-2 has its labels but is on n2: told apart.
    expect(destinationsOf(world, CLIENT)).toEqual([SERVER, OTHER, AGENT2, AGENT3]);
    const d = decisionOf(world, CLIENT, AGENT, tcp(443));
    expect(d.egress).toMatchObject({ allowed: false, decidedBy: 'Admin', reason: 'denied-by-tier' });
    expect(d.egress.tierRules?.map((r) => `${r.policy.name} ${r.rule.name} ${r.action}`)).toEqual([
      'deny-workers to-nodes Deny',
    ]);
    // n1's address, as an address outside the pod network: denied; n2's are not selected.
    expect(reachesAddress(world, '192.168.5.5/32')).toBe(false);
    expect(reachesAddress(world, '192.168.6.6/32')).toBe(true);
    expect(reachesAddress(world, '203.0.113.6/32')).toBe(true);
    // Nodes are in the snapshot: nothing fails closed.
    expect(codes(world)).not.toContain('tier-fail-closed');
  });

  test('every address of a selected node (InternalIP and ExternalIP), and the pods on it by name or IP', async () => {
    const world = await withNodes(toNodes('deny-control', 'Deny', '{matchLabels: {role: control}}'));
    expect(destinationsOf(world, CLIENT)).toEqual([SERVER, OTHER, AGENT, AGENT3]);
    expect(reachesAddress(world, '192.168.6.6/32')).toBe(false);
    expect(reachesAddress(world, '203.0.113.6/32')).toBe(false);
    expect(reachesAddress(world, '192.168.5.5/32')).toBe(true);
    // The blocks reachable-from lists leave out exactly n2's two addresses.
    const listed = reachablePairs(world, { sources: [ref(CLIENT)], port: tcp(443) }).external.map(
      (c) => (c.to as { ipBlock: { cidr: string; except: string[] } }).ipBlock,
    );
    expect(listed).toEqual([
      { cidr: '0.0.0.0/0', except: ['192.168.6.6/32', '203.0.113.6/32'] },
      { cidr: '::/0', except: [] },
    ]);
  });

  test('a node with no labels: selected by an empty selector and by DoesNotExist, not by a label', async () => {
    const none = '{matchExpressions: [{key: role, operator: DoesNotExist}]}';
    const byAbsence = await withNodes(toNodes('deny-unlabelled', 'Deny', none));
    expect(destinationsOf(byAbsence, CLIENT)).toEqual([SERVER, OTHER, AGENT, AGENT2]);
    const all = await withNodes(toNodes('deny-all-nodes', 'Deny', '{}'));
    expect(destinationsOf(all, CLIENT)).toEqual([SERVER, OTHER]);
    // Host-network pods are never the subject: their own egress is untouched.
    expect(destinationsOf(all, AGENT)).toEqual([CLIENT, SERVER, OTHER, AGENT2, AGENT3]);
  });

  const denyRest = `
  - {name: deny-hosts, action: Deny, to: [{networks: [192.168.0.0/16]}]}`;

  test('Accept: final, before a later Deny of the same addresses', async () => {
    const world = await withNodes(toNodes('accept-workers', 'Accept', '{matchLabels: {role: worker}}', denyRest));
    // node-agent accepted; agent-2 denied by the networks rule; agent-3 has no IP: neither matches.
    expect(destinationsOf(world, CLIENT)).toEqual([SERVER, OTHER, AGENT, AGENT3]);
    expect(decisionOf(world, CLIENT, AGENT, tcp(443)).egress.tierRules?.map((r) => r.action)).toEqual(['Accept']);
    expect(reachesAddress(world, '192.168.5.5/32')).toBe(true);
    expect(reachesAddress(world, '192.168.6.6/32')).toBe(false);
  });

  test('Pass: skips the rest of the Admin tier; a Baseline Deny of the nodes then decides', async () => {
    const baseline = toNodes('baseline-nodes', 'Deny', '{}', '', 'Baseline');
    const world = await withNodes(toNodes('pass-workers', 'Pass', '{matchLabels: {role: worker}}', denyRest));
    // Passed, nothing below decides: allowed; agent-2 is denied by the Admin networks rule.
    expect(destinationsOf(world, CLIENT)).toEqual([SERVER, OTHER, AGENT, AGENT3]);
    expect(decisionOf(world, CLIENT, AGENT, tcp(443)).egress.passedBy?.map((r) => r.policy.name)).toEqual([
      'pass-workers',
    ]);
    const withBaseline = await withNodes(
      toNodes('pass-workers', 'Pass', '{matchLabels: {role: worker}}', denyRest) + baseline,
    );
    // The Baseline Deny selects every node: node-agent (passed) and agent-3 (nothing above matched it).
    expect(destinationsOf(withBaseline, CLIENT)).toEqual([SERVER, OTHER]);
    expect(reachesAddress(withBaseline, '192.168.5.5/32')).toBe(false);
  });

  test('a cluster listed with no nodes: a nodes peer selects nothing, without a warning', async () => {
    const loaded = await loadManifests([WORLD, '-'], { stdin: NODES + toNodes('deny-nodes', 'Deny', '{}') });
    const listed = compileWorld({ ...loaded.snapshot, nodes: [] });
    expect(destinationsOf(listed, CLIENT)).toEqual([SERVER, OTHER, AGENT, AGENT2, AGENT3]);
    expect(codes(listed)).not.toContain('tier-fail-closed');
    expect(reachesAddress(listed, '192.168.5.5/32')).toBe(true);
  });

  test.each([
    ['Accept', [SERVER, OTHER, AGENT, AGENT2, AGENT3]],
    ['Deny', []],
    ['Pass', []],
  ])('Node objects unreadable or not in the files: a %s rule fails closed', async (action, expected) => {
    const policy = toNodes('to-nodes', action, '{matchLabels: {role: worker}}');
    const loaded = await loadManifests([WORLD, '-'], { stdin: NODES + policy });
    const unreadable = compileWorld({ ...loaded.snapshot, nodes: undefined, nodesUnreadable: true });
    // The same pods without their Node objects: which nodes the peer selects is as unknown.
    const absent = compileWorld({ ...loaded.snapshot, nodes: undefined });
    for (const [world, why] of [
      [unreadable, 'the Node objects could not be read'],
      [absent, 'the snapshot holds no Node objects (give them with -f, e.g. kubectl get nodes -o yaml)'],
    ] as const) {
      expect(destinationsOf(world, CLIENT)).toEqual(expected);
      expect(world.warnings.filter((w) => w.code === 'tier-fail-closed').map((w) => w.message)).toEqual([
        `ClusterNetworkPolicy/to-nodes spec.egress[0].to[0] is a nodes peer and ${why}: the rule fails closed (an Accept rule matches nothing, a Deny or Pass rule denies everything), as the API says for a peer it cannot evaluate`,
      ]);
      expect(reachesAddress(world, '198.51.100.1/32')).toBe(action === 'Accept');
    }
  });
});

describe('same priority', () => {
  const pair = (first: string, second: string) =>
    cnp(
      first,
      `  tier: Admin
  priority: 7
  subject: {namespaces: {matchLabels: {team: b}}}
  ingress:
  - {name: deny-a, action: Deny, from: [{namespaces: {matchLabels: {team: a}}}]}`,
    ) +
    cnp(
      second,
      `  tier: Admin
  priority: 7
  subject: {pods: {podSelector: {matchLabels: {app: server}}}}
  ingress:
  - {name: accept-all, action: Accept, from: [{namespaces: {}}]}`,
    );

  test('the first by name decides, and a warning names both and the one assumed', async () => {
    const world = await worldWith(pair('a-deny', 'b-accept'));
    // The host-network pod is no namespaces peer: the Deny does not match it, the Accept does not either.
    expect(sourcesOf(world, SERVER, tcp(80))).toEqual([OTHER, AGENT]);
    const d = decisionOf(world, CLIENT, SERVER, tcp(80));
    expect(d.ingress).toMatchObject({ allowed: false, decidedBy: 'Admin' });
    expect(d.ingress.tierRules?.map((r) => r.policy.name)).toEqual(['a-deny']);
    expect(world.warnings.filter((w) => w.code === 'tier-ambiguous').map((w) => w.message)).toEqual([
      'ClusterNetworkPolicy/a-deny and ClusterNetworkPolicy/b-accept have the same priority 7 in the Admin tier and both apply to ingress of pods such as b/server: the API leaves their order to the network plugin; answers assume ClusterNetworkPolicy/a-deny first (name order)',
    ]);
  });

  test('the names swapped, the Accept is assumed first', async () => {
    const world = await worldWith(pair('b-deny', 'a-accept'));
    expect(sourcesOf(world, SERVER, tcp(80))).toEqual([CLIENT, OTHER, AGENT]);
    expect(decisionOf(world, CLIENT, SERVER, tcp(80)).ingress.tierRules?.map((r) => r.policy.name)).toEqual([
      'a-accept',
    ]);
    expect(codes(world)).toContain('tier-ambiguous');
  });

  test('subjects that share no pod are not ambiguous', async () => {
    const world = await worldWith(pair('a-deny', 'b-accept').replace('app: server', 'app: nobody'));
    expect(codes(world)).not.toContain('tier-ambiguous');
  });
});

describe('Pass', () => {
  // ClusterNetworkPolicy of both tiers (tiers.test.ts asks the same of AdminNetworkPolicy and
  // BaselineAdminNetworkPolicy, one port at a time).
  const world =
    cnp(
      'pass-b',
      `  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: b}}}
  ingress:
  - {name: pass-all, action: Pass, from: [{namespaces: {}}]}
  - {name: never, action: Deny, from: [{pods: {podSelector: {}}}]}`,
    ) +
    cnp(
      'baseline',
      `  tier: Baseline
  priority: 0
  subject: {namespaces: {}}
  ingress:
  - {name: baseline-deny, action: Deny, from: [{namespaces: {}}]}`,
      'v1alpha2',
    ) +
    `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: b, name: server-from-a}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]
`;

  test('into a pod a NetworkPolicy selects: the NetworkPolicy decides', async () => {
    const w = await worldWith(world);
    expect(sourcesOf(w, SERVER, tcp(80))).toEqual([CLIENT]);
    expect(portsBetween(w, CLIENT, SERVER)).toBe('all');
    expect(portsBetween(w, OTHER, SERVER)).toBe('none');
    const d = decisionOf(w, CLIENT, SERVER, tcp(80));
    expect(d.ingress).toMatchObject({ allowed: true, decidedBy: 'NetworkPolicy', isolated: true });
    expect(d.ingress.allowedBy).toEqual([
      { policy: { namespace: 'b', name: 'server-from-a' }, direction: 'ingress', index: 0 },
    ]);
    expect(d.ingress.passedBy?.map((r) => `${r.policy.kind}/${r.policy.name} ${r.rule.name} ${r.action}`)).toEqual([
      'ClusterNetworkPolicy/pass-b pass-all Pass',
    ]);
    const denied = decisionOf(w, OTHER, SERVER, tcp(80));
    expect(denied.ingress).toMatchObject({ allowed: false, decidedBy: 'NetworkPolicy', reason: 'no-rule-admits-peer' });
  });

  test('into a pod no NetworkPolicy selects: the Baseline tier decides', async () => {
    const w = await worldWith(world);
    expect(sourcesOf(w, OTHER, tcp(80))).toEqual([AGENT]);
    const d = decisionOf(w, CLIENT, OTHER, tcp(80));
    expect(d.ingress).toMatchObject({ allowed: false, decidedBy: 'Baseline', reason: 'denied-by-tier' });
    expect(d.ingress.tierRules?.map((r) => `${r.policy.kind}/${r.policy.name} ${r.rule.name}`)).toEqual([
      'ClusterNetworkPolicy/baseline baseline-deny',
    ]);
    expect(d.ingress.passedBy?.map((r) => r.rule.name)).toEqual(['pass-all']);
  });
});

describe('IPv6 networks', () => {
  const policy = cnp(
    'v6-out',
    `  tier: Admin
  priority: 2
  subject: {pods: {podSelector: {matchLabels: {app: client}}}}
  egress:
  - {name: deny-v6-server, action: Deny, to: [{networks: ["fd00:2::/64"]}]}
  - {name: accept-v6, action: Accept, to: [{networks: ["fd00::/16"]}]}`,
    'v1alpha2',
  );

  test('a pod is matched by any of its addresses: server by its IPv6 one, other by its only one', async () => {
    const world = await worldWith(
      policy +
        `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: a, name: client-egress-none}
spec: {podSelector: {}, policyTypes: [Egress]}`,
    );
    // The v1 policy isolates the client's egress with no rule: the Admin Accept is what lets other through.
    expect(destinationsOf(world, CLIENT, tcp(80))).toEqual([OTHER]);
    const toServer = decisionOf(world, CLIENT, SERVER, tcp(80));
    expect(toServer.egress.tierRules?.map((r) => r.rule.name)).toEqual(['deny-v6-server']);
    const toOther = decisionOf(world, CLIENT, OTHER, tcp(80));
    expect(toOther.egress).toMatchObject({ allowed: true, decidedBy: 'Admin' });
    expect(toOther.egress.tierRules?.map((r) => r.rule.name)).toEqual(['accept-v6']);
    // The host-network pod's IPv4 address is in neither: the NetworkPolicy alone denies it.
    expect(decisionOf(world, CLIENT, AGENT, tcp(80)).egress).toMatchObject({
      allowed: false,
      isolated: true,
      reason: 'no-rule-admits-peer',
    });
  });

  test('addresses: reachable-from --to an IPv6 block, whole, partly and not covered', async () => {
    const world = await worldWith(policy);
    const to = (cidr: string) =>
      reachablePairs(world, { sources: [ref(CLIENT)], destinationBlock: { cidr, except: [] }, port: tcp(443) });
    // Inside the Deny: denied, naming the rule.
    const denied = to('fd00:2::/80');
    expect(denied.external).toEqual([]);
    expect(denied.deniedExternal[0]?.decision.egress).toMatchObject({ allowed: false, reason: 'denied-by-tier' });
    expect(denied.deniedExternal[0]?.decision.egress.tierRules?.map((r) => r.rule.name)).toEqual(['deny-v6-server']);
    // Partly in the Deny (fd00::/16 holds fd00:2::/64): not every address is reachable.
    expect(to('fd00::/16').external).toEqual([]);
    // Outside the Deny, inside the Accept: reachable, by the Accept.
    const accepted = to('fd00:3::/64');
    expect(accepted.external.map((c) => c.decision.egress.tierRules?.map((r) => r.rule.name))).toEqual([['accept-v6']]);
    // No rule matches: nothing isolates the client's egress, every address is reachable.
    expect(to('2001:db8::/32').external.length).toBe(1);
  });
});

describe('host-network pods', () => {
  const policy = cnp(
    'deny-everyone',
    `  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  ingress:
  - {name: deny-pods, action: Deny, from: [{pods: {podSelector: {}}}]}
  egress:
  - {name: deny-namespaces, action: Deny, to: [{namespaces: {}}]}`,
  );

  test('are never the subject nor matched by pods or namespaces peers', async () => {
    const world = await worldWith(policy);
    // The client's egress to pods is denied, but the host-network pod is no namespaces peer.
    expect(destinationsOf(world, CLIENT)).toEqual([AGENT]);
    // The host-network pod is no subject (its egress is untouched) and no pods peer (ingress lets it in).
    expect(destinationsOf(world, AGENT)).toEqual([CLIENT, SERVER, OTHER]);
    expect(sourcesOf(world, AGENT)).toEqual([CLIENT, SERVER, OTHER]);
    const fromAgent = decisionOf(world, AGENT, SERVER, tcp(80));
    expect(fromAgent).toMatchObject({ allowed: true, egress: { allowed: true }, ingress: { allowed: true } });
    expect([fromAgent.egress.tierRules, fromAgent.ingress.tierRules]).toEqual([undefined, undefined]);
    const fromClient = decisionOf(world, CLIENT, SERVER, tcp(80));
    expect(fromClient.egress.tierRules?.map((r) => r.rule.name)).toEqual(['deny-namespaces']);
    expect(fromClient.ingress.tierRules?.map((r) => r.rule.name)).toEqual(['deny-pods']);
  });
});

describe('rules that fail closed (a peer of no field this version knows)', () => {
  const rule = (action: string, from = '[{namespaces: {matchLabels: {team: a}}}, {futurePeer: {}}]') =>
    cnp(
      'future',
      `  tier: Admin
  priority: 4
  subject: {pods: {podSelector: {matchLabels: {app: server}}}}
  ingress:
  - {name: r, action: ${action}, from: ${from}}`,
    );

  test('an Accept rule matches nothing, its known peer included', async () => {
    const world = await worldWith(
      rule('Accept') +
        `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: b, name: server-none}
spec: {podSelector: {matchLabels: {app: server}}}`,
    );
    // Without the Accept, the v1 policy (no rules) denies everyone.
    expect(sourcesOf(world, SERVER)).toEqual([]);
    expect(codes(world)).toContain('tier-fail-closed');
    expect(decisionOf(world, CLIENT, SERVER, tcp(80)).ingress).toMatchObject({
      allowed: false,
      reason: 'no-rule-admits-peer',
      selectedBy: [{ namespace: 'b', name: 'server-none' }],
    });
  });

  test.each(['Deny', 'Pass'])('a %s rule denies everything, every port, also addresses', async (action) => {
    const world = await worldWith(rule(action));
    expect(sourcesOf(world, SERVER)).toEqual([]);
    const d = decisionOf(world, OTHER, SERVER, tcp(80));
    expect(d.ingress).toMatchObject({ allowed: false, decidedBy: 'Admin', reason: 'denied-by-tier' });
    expect(d.ingress.tierRules?.map((r) => `${r.rule.name} ${r.action}`)).toEqual(['r Deny']);
    expect(d.ingress.passedBy).toEqual([]);
    expect(world.warnings.find((w) => w.code === 'tier-fail-closed')?.message).toBe(
      'ClusterNetworkPolicy/future spec.ingress[0].from[1] is a peer this version does not understand: the rule fails closed (an Accept rule matches nothing, a Deny or Pass rule denies everything), as the API says',
    );
    // who-can --from CIDR: addresses outside the cluster are denied by it too.
    const fromOutside = whoCanPairs(world, {
      targets: [ref(SERVER)],
      sourceBlock: { cidr: '203.0.113.0/24', except: [] },
      port: tcp(8080),
    });
    expect(fromOutside.external).toEqual([]);
    expect(fromOutside.deniedExternal[0]?.decision.ingress).toMatchObject({ reason: 'denied-by-tier' });
    expect(fromOutside.deniedExternal[0]?.decision.ingress.tierRules?.map((r) => r.rule.name)).toEqual(['r']);
    // And the blocks listed as sources: none.
    expect(whoCanPairs(world, { targets: [ref(SERVER)] }).external).toEqual([]);
  });

  test('ingress peers are pods and namespaces only: an Accept does not admit addresses, a NetworkPolicy ipBlock does', async () => {
    const world = await worldWith(
      rule('Accept', '[{namespaces: {}}]') +
        `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: b, name: server-from-doc}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{ipBlock: {cidr: 203.0.113.0/24}}]}]`,
    );
    const from = (cidr: string) =>
      whoCanPairs(world, { targets: [ref(SERVER)], sourceBlock: { cidr, except: [] }, port: tcp(8080) });
    expect(from('203.0.113.0/25').external.length).toBe(1);
    expect(from('203.0.113.0/25').external[0]?.decision.ingress).toMatchObject({
      allowed: true,
      allowedBy: [{ policy: { namespace: 'b', name: 'server-from-doc' }, direction: 'ingress', index: 0 }],
    });
    // Partly outside the ipBlock: not every address is admitted.
    const partly = from('203.0.112.0/23');
    expect(partly.external).toEqual([]);
    expect(partly.deniedExternal[0]?.decision.ingress).toMatchObject({
      reason: 'partly-admitted',
      notAdmitted: ['203.0.112.0/24'],
    });
    // Pods: the Accept lets every pod in, over the v1 policy.
    expect(sourcesOf(world, SERVER)).toEqual([CLIENT, OTHER]);
  });
});

/** A NetworkPolicy isolating the egress of namespace a's pods, admitting one address block. */
const clientEgressTo = (name: string, cidr: string) => `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: a, name: ${name}}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: ${cidr}}}]}]`;

describe('addresses through networks peers (egress)', () => {
  const policy = tierPolicy(
    'BaselineAdminNetworkPolicy',
    'v1alpha1',
    'default',
    `  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: deny-docs, action: Deny, to: [{networks: [198.51.100.0/24]}], ports: [{portNumber: {protocol: TCP, port: 443}}]}`,
  );
  const to = (world: World, cidr: string, port?: PortQuery) =>
    reachablePairs(world, {
      sources: [ref(CLIENT)],
      destinationBlock: { cidr, except: [] },
      ...(port ? { port } : {}),
    });

  test('reachable-from --to CIDR: inside, across and outside the networks CIDR', async () => {
    const world = await worldWith(policy);
    expect(to(world, '198.51.100.128/25', tcp(443)).external).toEqual([]);
    const inside = to(world, '198.51.100.128/25', tcp(443)).deniedExternal[0]?.decision.egress;
    expect(inside).toMatchObject({ allowed: false, reason: 'denied-by-tier' });
    expect(inside?.tierRules?.map((r) => `${r.policy.kind}/${r.policy.name} ${r.rule.name} ${r.tier}`)).toEqual([
      'BaselineAdminNetworkPolicy/default deny-docs Baseline',
    ]);
    // The asked block overlaps the CIDR in part: some addresses are denied, so the block is not reachable.
    expect(to(world, '198.51.100.0/23', tcp(443)).external).toEqual([]);
    expect(to(world, '198.51.101.0/24', tcp(443)).external.length).toBe(1);
    // Other ports: the rule does not match.
    expect(to(world, '198.51.100.0/24', tcp(80)).external.length).toBe(1);
    // All ports: every port but 443/TCP.
    expect(formatPortSet(to(world, '198.51.100.0/23').external[0]!.ports!)).toBe(
      '1-442/TCP, 444-65535/TCP, all/UDP, all/SCTP',
    );
  });

  test('a NetworkPolicy that selects the pod decides instead of the Baseline tier', async () => {
    const world = await worldWith(policy + clientEgressTo('client-to-docs', '198.51.100.0/24'));
    expect(to(world, '198.51.100.0/24', tcp(443)).external.length).toBe(1);
    // The Baseline Deny is never reached: not named.
    const partly = to(world, '198.51.100.0/23', tcp(443)).deniedExternal[0]?.decision.egress;
    expect(partly).toMatchObject({ reason: 'partly-admitted', notAdmitted: ['198.51.101.0/24'] });
    expect(partly?.tierRules ?? []).toEqual([]);
  });

  test('a Deny rule a Pass before it shadows is not named; the NetworkPolicy decides', async () => {
    const world = await worldWith(
      cnp(
        'pass-docs',
        `  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: pass-docs, action: Pass, to: [{networks: [198.51.100.0/24]}]}
  - {name: deny-wide, action: Deny, to: [{networks: [198.51.0.0/16]}]}`,
      ) + clientEgressTo('client-to-ten', '10.0.0.0/8'),
    );
    const denied = to(world, '198.51.100.0/25', tcp(443)).deniedExternal[0]?.decision.egress;
    expect(denied).toMatchObject({ allowed: false, reason: 'no-rule-admits-peer' });
    expect(denied?.tierRules ?? []).toEqual([]);
    // Outside the Pass, the Deny decides.
    const wide = to(world, '198.51.7.0/24', tcp(443)).deniedExternal[0]?.decision.egress;
    expect(wide).toMatchObject({ allowed: false, reason: 'denied-by-tier' });
    expect(wide?.tierRules?.map((r) => r.rule.name)).toEqual(['deny-wide']);
  });

  test('a pod without an IP: the warning says networks peers never match it (and ipBlocks, when there are some)', async () => {
    const pending = `
apiVersion: v1
kind: Pod
metadata: {namespace: a, name: pending}
---`;
    const warning = (world: World) => world.warnings.find((w) => w.code === 'pod-without-ip')?.message;
    const inPods = egressOfTeamA('deny-pods-net', '{name: deny-net, action: Deny, to: [{networks: [10.0.0.0/8]}]}');
    expect(warning(await worldWith(pending + inPods))).toBe(
      '1 pod(s) have no IP address (pending, or workloads read from manifests), so networks peers of cluster policies never match them',
    );
    expect(warning(await worldWith(pending + inPods + clientEgressTo('client-to-ten', '10.0.0.0/8')))).toBe(
      '1 pod(s) have no IP address (pending, or workloads read from manifests), so ipBlock rules and networks peers of cluster policies never match them',
    );
  });

  test('the blocks listed: every address but the CIDR on 443/TCP', async () => {
    const world = await worldWith(policy);
    const listed = reachablePairs(world, { sources: [ref(CLIENT)], port: tcp(443) }).external.map(
      (c) => (c.to as { ipBlock: { cidr: string; except: string[] } }).ipBlock,
    );
    expect(listed).toEqual([
      { cidr: '0.0.0.0/0', except: ['198.51.100.0/24'] },
      { cidr: '::/0', except: [] },
    ]);
  });
});
