import { describe, expect, it } from '@jest/globals';

import type { Decision, DirectionDecision, PortSet } from '../../src/lib/engine/model.js';
import { formatPortSet } from '../../src/lib/engine/ports.js';
import type { Connection } from '../../src/lib/engine/answer.js';
import { formatIpBlock } from '../../src/lib/output/names.js';
import { portSetDocument, toReachDocument } from '../../src/lib/output/reach-document.js';
import { formatReachTable } from '../../src/lib/output/reach-table.js';
import type { ReachReport as WhoCanReport } from '../../src/lib/services/report.js';
import { resultOfPairs } from '../support/pairs.js';

const EMPTY: PortSet = { TCP: [], UDP: [], SCTP: [] };
const ALL: PortSet = { TCP: [{ from: 1, to: 65535 }], UDP: [{ from: 1, to: 65535 }], SCTP: [{ from: 1, to: 65535 }] };

function side(overrides: Partial<DirectionDecision> = {}): DirectionDecision {
  return {
    allowed: true,
    isolated: false,
    selectedBy: [],
    allowedBy: [],
    peerAdmittedBy: [],
    applies: true,
    ...overrides,
  };
}

const ALLOW_WEB = { policy: { namespace: 'x', name: 'allow-web' }, direction: 'ingress' as const, index: 0 };
const ISOLATED: Decision = {
  allowed: true,
  ingress: side({ isolated: true, selectedBy: [ALLOW_WEB.policy], allowedBy: [ALLOW_WEB] }),
  egress: side(),
};

/** A 3-replica deployment `web` in y reaching 2 of the 3 pods of deployment `api` in x. */
function replicaReport(): WhoCanReport {
  const workloads = new Map<string, { kind: string; name: string }>([
    ...['api-1', 'api-2', 'api-3'].map(
      (name) => [`x/${name}`, { kind: 'Deployment', name: 'api' }] as [string, { kind: string; name: string }],
    ),
    ...['web-1', 'web-2', 'web-3'].map(
      (name) => [`y/${name}`, { kind: 'Deployment', name: 'web' }] as [string, { kind: string; name: string }],
    ),
  ]);
  const connections: Connection[] = [];
  for (const target of ['api-1', 'api-2']) {
    for (const source of ['web-1', 'web-2', 'web-3']) {
      connections.push({
        from: { pod: { namespace: 'y', name: source } },
        to: { pod: { namespace: 'x', name: target } },
        port: 80,
        protocol: 'TCP',
        decision: ISOLATED,
      });
    }
  }
  return {
    answer: resultOfPairs(
      ['api-1', 'api-2', 'api-3'].map((name) => ({ namespace: 'x', name })),
      connections,
    ),
    warnings: [],
    workloads,
    notes: [],
  };
}

describe('port sets', () => {
  it('renders ranges per protocol, "all" and "none"', () => {
    const ports: PortSet = {
      TCP: [
        { from: 80, to: 80 },
        { from: 8000, to: 9000 },
      ],
      UDP: [{ from: 53, to: 53 }],
      SCTP: [],
    };
    expect(formatPortSet(ports)).toBe('80/TCP, 8000-9000/TCP, 53/UDP');
    expect(formatPortSet(ALL)).toBe('all');
    expect(formatPortSet(EMPTY)).toBe('none');
    expect(formatPortSet({ ...EMPTY, TCP: [{ from: 1, to: 65535 }] })).toBe('all/TCP');
    expect(portSetDocument(ports)).toEqual([
      { protocol: 'TCP', port: 80 },
      { protocol: 'TCP', port: 8000, endPort: 9000 },
      { protocol: 'UDP', port: 53 },
    ]);
    expect(portSetDocument(ALL)).toBe('all');
  });

  it('renders address blocks with their exceptions', () => {
    expect(formatIpBlock({ cidr: '10.0.0.0/8', except: [] })).toBe('10.0.0.0/8');
    expect(formatIpBlock({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] })).toBe(
      '10.0.0.0/8 except 10.1.0.0/16, 10.2.0.0/16',
    );
  });
});

describe('formatReachTable', () => {
  it('folds replicas into one row and says when a row covers only some target pods', () => {
    expect(formatReachTable(replicaReport())).toBe(
      [
        'TARGET                           FROM               PODS   PORTS    ALLOWED BY',
        'x/deployment/api (2 of 3 pods)   y/deployment/web   3      80/TCP   x/allow-web',
        '',
      ].join('\n'),
    );
  });

  it('keeps replicas apart when their answers differ', () => {
    const report = replicaReport();
    report.answer.groups[0] = { ...report.answer.groups[0], port: 81 };
    const rows = formatReachTable(report, { noHeaders: true }).trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^x\/deployment\/api \(1 of 3 pods\) +y\/deployment\/web +1 +81\/TCP/);
  });

  it('names the pods of a partial row with -o wide', () => {
    const [, row] = formatReachTable(replicaReport(), { wide: true }).split('\n');
    expect(row).toMatch(/^x\/deployment\/api \(2 of 3 pods: api-1, api-2\) +y\/deployment\/web +3 /);
  });

  it('folds replicas that reach each other into one row, from the groups, never counting a pod as its own source', () => {
    const web = ['web-0', 'web-1', 'web-2'].map((name) => ({ namespace: 'y', name }));
    const workloads = new Map(web.map((pod) => [`y/${pod.name}`, { kind: 'Deployment', name: 'web' }]));
    const group = { subjects: web, peers: web, port: 80, protocol: 'TCP' as const, decisionId: 0 };
    const decide = () => ISOLATED;
    const report: WhoCanReport = {
      answer: {
        orientation: 'inbound',
        subjects: web,
        groups: [group],
        deniedGroups: [],
        external: [],
        deniedExternal: [],
        warnings: [],
        decide,
      },
      warnings: [],
      workloads,
      notes: [],
    };
    expect(formatReachTable(report, { noHeaders: true })).toBe(
      'y/deployment/web   y/deployment/web   3   80/TCP   x/allow-web\n',
    );
    // One replica asked about: it is reached by the two others.
    const one = {
      ...report,
      answer: { ...report.answer, subjects: [web[0]], groups: [{ ...group, subjects: [web[0]] }] },
    };
    expect(formatReachTable(one, { noHeaders: true, wide: true })).toMatch(
      /^y\/deployment\/web +y\/deployment\/web +2 +80\/TCP +x\/allow-web /,
    );
  });

  it('colours verdicts only when asked', () => {
    const report = replicaReport();
    expect(formatReachTable(report, { explain: true, color: true })).toContain('\u001b[32mallowed\u001b[39m');
    expect(formatReachTable(report, { explain: true })).not.toContain('\u001b[');
  });
});

describe('toReachDocument', () => {
  it('leaves out "denied" unless explaining and "allowed" unless answering --from', () => {
    const report = replicaReport();
    expect(Object.keys(toReachDocument(report))).toEqual(['connections', 'warnings']);
    expect(Object.keys(toReachDocument({ ...report, allowed: true }, { explain: true }))).toEqual([
      'allowed',
      'connections',
      'denied',
      'warnings',
    ]);
  });
});
