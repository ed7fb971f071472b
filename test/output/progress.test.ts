/**
 * The progress line: drawn on a (fake) terminal only after half a second, redrawn in place with the
 * pages counted so far, erased when done; never on a pipe or a dumb terminal. And the live loader
 * reports each page of a paginated list to it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { connectLive } from '../../src/lib/cluster/live.js';
import { formatProgress, startProgress, type ProgressStream } from '../../src/lib/output/progress.js';
import { ok, startFakeApiServer, type FakeApiServer, type Routes } from '../cluster/fake-api-server.js';
import { buildKubeconfig } from '../cluster/kubeconfig-builder.js';

const ERASE = '\r\u001b[2K';

/** A terminal that records what is written to it. */
function fakeTerminal(opts: { isTTY?: boolean; columns?: number } = {}): ProgressStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY: opts.isTTY ?? true,
    columns: opts.columns ?? 80,
    written,
    write: (text: string) => written.push(text),
  };
}

describe('the progress line', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits half a second, then draws and redraws the counts in place, and erases itself when done', () => {
    const terminal = fakeTerminal();
    const progress = startProgress(terminal, { env: {} });
    expect(progress.isActive).toBe(true);
    progress.onListPage('namespaces', 3);
    progress.onListPage('pods', 500);
    jest.advanceTimersByTime(499);
    expect(terminal.written).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(terminal.written).toEqual([`${ERASE}- listing namespaces 3, pods 500...`]);
    progress.onListPage('pods', 500);
    progress.onListPage('services', 12);
    jest.advanceTimersByTime(100);
    expect(terminal.written.at(-1)).toBe(`${ERASE}\\ listing namespaces 3, pods 1000, services 12...`);
    progress.done();
    expect(terminal.written.at(-1)).toBe(ERASE);
    const count = terminal.written.length;
    progress.onListPage('pods', 500);
    jest.advanceTimersByTime(1000);
    progress.done();
    expect(terminal.written).toHaveLength(count);
  });

  it('writes nothing at all when the load ends within half a second', () => {
    const terminal = fakeTerminal();
    const progress = startProgress(terminal, { env: {} });
    progress.onListPage('pods', 20);
    jest.advanceTimersByTime(300);
    progress.done();
    jest.advanceTimersByTime(2000);
    expect(terminal.written).toEqual([]);
  });

  it('is never drawn on a pipe or a file, nor on a dumb terminal', () => {
    for (const [terminal, env] of [
      [fakeTerminal({ isTTY: false }), {}],
      [fakeTerminal(), { TERM: 'dumb' }],
    ] as const) {
      const progress = startProgress(terminal, { env });
      expect(progress.isActive).toBe(false);
      progress.onListPage('pods', 500);
      jest.advanceTimersByTime(5000);
      progress.done();
      expect(terminal.written).toEqual([]);
    }
  });

  it('keeps the line narrower than the terminal, so one carriage return erases it', () => {
    const terminal = fakeTerminal({ columns: 20 });
    const progress = startProgress(terminal, { env: {} });
    progress.onListPage('networkpolicies', 1234);
    jest.advanceTimersByTime(500);
    expect(terminal.written[0]).toBe(`${ERASE}- listing networkpo`);
    progress.done();
  });

  it('says "listing..." before the first page arrives', () => {
    expect(formatProgress(new Map(), 2)).toBe('| listing...');
  });
});

describe('the live loader reports each page', () => {
  let server: FakeApiServer | undefined;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'netpol-progress-'));
  });
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls onListPage with the resource and the size of every page, three pages of pods included', async () => {
    const continueOf = (name: string) =>
      (ok(name) as { body: { metadata: { continue: string } } }).body.metadata.continue;
    const pages: Record<string, string> = {
      '': 'pods-page-1',
      [continueOf('pods-page-1')]: 'pods-page-2',
      [continueOf('pods-page-2')]: 'pods-page-3',
    };
    const routes: Routes = {
      'GET /api/v1/namespaces': ok('namespaces'),
      'GET /api/v1/pods': (req) => ok(pages[req.query.get('continue') ?? '']),
      'GET /apis/networking.k8s.io/v1/networkpolicies': ok('networkpolicies'),
      'GET /api/v1/services': ok('services'),
    };
    server = await startFakeApiServer(routes);
    const kubeconfig = buildKubeconfig()
      .withCluster('fake', server.url)
      .withTokenUser('tester', 'not-a-secret')
      .withContext('fake', 'fake', 'tester')
      .withCurrentContext('fake')
      .write(join(dir, 'config'));
    const pagesSeen: [string, number][] = [];
    const live = await connectLive(
      { kubeconfig, onListPage: (resource, count) => pagesSeen.push([resource, count]) },
      {},
    );
    const { snapshot } = await live.loadSnapshot({});
    const podPages = pagesSeen.filter(([resource]) => resource === 'pods');
    expect(podPages).toHaveLength(3);
    expect(podPages.reduce((sum, [, count]) => sum + count, 0)).toBe(snapshot.pods.length);
    expect(pagesSeen.find(([resource]) => resource === 'namespaces')).toEqual([
      'namespaces',
      snapshot.namespaces.length,
    ]);
    expect(pagesSeen.map(([resource]) => resource).sort()).toEqual([
      'namespaces',
      'networkpolicies',
      'pods',
      'pods',
      'pods',
      'services',
    ]);
  });
});
