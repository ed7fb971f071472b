/**
 * who-can on one large workload: the table is one row per workload (never one per replica), and the
 * JSON document is streamed entry by entry (2000 replicas reach each other: ~4 million entries, more
 * than V8 can hold as one string), so the test reads it as a stream too and keeps only counts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import WhoCan from '../../src/commands/who-can.js';
import { expectGolden, runCommand } from './run-command.js';

const REPLICAS = 2000;
let dir: string;
let file: string;

/** A namespace `big` with one Deployment's pods (`web-<hash>-<i>`), no policies. */
function bigWorld(replicas: number): string {
  const documents = [
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: big\n  labels:\n    kubernetes.io/metadata.name: big\n',
  ];
  for (let i = 0; i < replicas; i++) {
    const ip = `10.${Math.floor(i / 250)}.${i % 250}.${10 + (i % 7)}`;
    documents.push(
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        `  name: web-5d4f8-${i}`,
        '  namespace: big',
        '  labels: {app: web, pod-template-hash: 5d4f8}',
        '  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f8, uid: u1, controller: true}]',
        'spec:',
        '  containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 80}]}]',
        'status:',
        `  podIP: ${ip}`,
        `  podIPs: [{ip: ${ip}}]`,
      ].join('\n') + '\n',
    );
  }
  return documents.join('---\n');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-scale-'));
  file = join(dir, 'big.yaml');
  writeFileSync(file, bigWorld(REPLICAS));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Reads a streamed JSON document chunk by chunk: each entry of `connections` is cut out by counting
 * brackets outside strings and parsed on its own (counted, the first kept); the rest of the document
 * is parsed at the end with the list left empty.
 */
class StreamedDocument {
  count = 0;
  first: unknown;
  private outside = '';
  private entry = '';
  private isInList = false;
  private depth = 0;
  private isInString = false;

  add(chunk: string): void {
    let at = 0;
    if (!this.isInList) {
      const start = chunk.indexOf('"connections": [');
      if (start === -1 || this.count > 0) {
        this.outside += chunk;
        return;
      }
      this.outside += chunk.slice(0, start + 16);
      this.isInList = true;
      at = start + 16;
    }
    const special = /[{}[\]"\\]/g;
    special.lastIndex = at;
    let entryStart = this.depth > 0 ? at : -1;
    for (let match = special.exec(chunk); match; match = special.exec(chunk)) {
      const char = match[0];
      if (this.isInString) {
        if (char === '\\') special.lastIndex++;
        else if (char === '"') this.isInString = false;
      } else if (char === '"') this.isInString = true;
      else if (char === '{' || char === '[') {
        if (this.depth++ === 0) entryStart = match.index;
      } else if (this.depth === 0) {
        // The `]` closing the list: the rest of the chunk is outside it.
        this.isInList = false;
        this.outside += chunk.slice(match.index);
        return;
      } else if (--this.depth === 0) {
        this.finish(this.entry + chunk.slice(entryStart, match.index + 1));
        this.entry = '';
        entryStart = -1;
      }
    }
    if (this.depth > 0) this.entry += chunk.slice(entryStart);
  }

  /** The first entry and one in every 1,000 are parsed (all 4 million would be most of the test's time). */
  private finish(text: string): void {
    if (this.count % 1000 === 0) {
      const parsed: unknown = JSON.parse(text);
      if (this.count === 0) this.first = parsed;
    }
    this.count++;
  }

  /** The document without its connections. */
  rest(): unknown {
    return JSON.parse(this.outside);
  }
}

describe(`who-can on a ${REPLICAS}-replica deployment`, () => {
  it('prints one row for the workload reaching itself', async () => {
    const run = await runCommand(WhoCan, ['-n', 'big', '-f', file]);
    expect(run.exitCode).toBe(0);
    expectGolden(run.stdout, 'big-deployment.txt');
  });

  it('streams every pair to JSON, entry by entry', async () => {
    const document = new StreamedDocument();
    const argv = ['-n', 'big', '-f', file, '--port', 'http', '-o', 'json'];
    const run = await runCommand(WhoCan, argv, (chunk) => document.add(chunk));
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' });
    // Each replica from each other one, and from anywhere outside the cluster (0.0.0.0/0 and ::/0).
    expect(document.count).toBe(REPLICAS * (REPLICAS - 1) + 2 * REPLICAS);
    expect(document.first).toEqual({
      from: { namespace: 'big', pod: 'web-5d4f8-1' },
      to: { namespace: 'big', pod: 'web-5d4f8-0' },
      port: 80,
      portName: 'http',
      protocol: 'TCP',
      ingress: [],
      egress: [],
      rules: [],
    });
    expect(document.rest()).toEqual({ connections: [], warnings: [] });
  }, 300_000);
});
