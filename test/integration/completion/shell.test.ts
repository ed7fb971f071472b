/**
 * Completion in a real shell: bash under tmux with `kubectl-netpol completion bash` sourced, keys
 * typed and the screen read, as a person would. Names come from -f manifests, or from a fake API
 * server behind a kubeconfig. Needs the built CLI (`npm run build`), bash, zsh and tmux (.ci/run
 * installs them; elsewhere a missing one skips its part, saying so); no cluster.
 * (`kubectl netpol <TAB>`, through kubectl and bin/kubectl_complete-netpol, is in test/e2e/completion.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';

import { ok, startFakeApiServer, type FakeApiServer } from '../../cluster/fake-api-server.js';
import { buildKubeconfig } from '../../cluster/kubeconfig-builder.js';
import { ROOT } from '../../commands/run-command.js';
import { requirePrograms } from '../../support/programs.js';

const TIMEOUT = 900_000;
let dir: string;
let server: FakeApiServer;
let kubeconfig: string;
let session: string | undefined;
const socket = `netpol-completion-${randomBytes(4).toString('hex')}`;

/** The environment of the shell: our bin directory first, no user settings, no jest NODE_OPTIONS. */
function shellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  return {
    ...env,
    PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
    HOME: dir,
    INPUTRC: '/dev/null',
    KUBECONFIG: kubeconfig,
    NO_COLOR: '1',
    PS1: '$ ',
    // The fake API server shares this busy process: give it more than a TAB's usual second.
    KUBECTL_NETPOL_COMPLETION_TIMEOUT: '10000',
  };
}

/** tmux on a server of its own (-L), started with the shell's environment. */
function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: shellEnv(), stdio: 'pipe' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-t', session!);
}

/**
 * Waits until the screen shows `text`; fails with the screen when it does not within 2 minutes: each
 * TAB starts node, which takes seconds, and over 20 s was seen while the other test files ran.
 */
async function waitFor(text: string | RegExp): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const shown = screen();
    if (typeof text === 'string' ? shown.includes(text) : text.test(shown)) return shown;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; screen:\n${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Types text literally. */
function type(text: string): void {
  tmux('send-keys', '-t', session!, '-l', text);
}

/** Presses keys by tmux name (Tab, Enter, C-c). */
function press(...keys: string[]): void {
  tmux('send-keys', '-t', session!, ...keys);
}

/** Clears the screen and waits until it shows nothing but a fresh prompt. */
async function fresh(): Promise<void> {
  press('C-c');
  type('clear');
  press('Enter');
  await waitFor(/^\$ *\n*$/);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-completion-'));
  execFileSync('mkdir', [join(dir, 'bin')]);
  symlinkSync(join(ROOT, 'bin', 'run.js'), join(dir, 'bin', 'kubectl-netpol'));
  server = await startFakeApiServer({ 'GET /api/v1/namespaces': ok('namespaces') });
  kubeconfig = buildKubeconfig()
    .withCluster('fake', server.url)
    .withTokenUser('tester', 'not-a-secret')
    .withContext('fake', 'fake', 'tester')
    .withCurrentContext('fake')
    .write(join(dir, 'kubeconfig'));
}, TIMEOUT);

afterAll(async () => {
  await server?.close();
  try {
    tmux('kill-server');
  } catch {
    // Already gone with its last session.
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `shell` in a new tmux session with the test's environment and waits for its first prompt. */
async function startShell(shell: string): Promise<void> {
  session = `netpol-completion-${randomBytes(4).toString('hex')}`;
  // The variables go on the command line too: a tmux server passes only some of its client's environment.
  const env = shellEnv();
  const assignments = [
    'PATH',
    'HOME',
    'INPUTRC',
    'KUBECONFIG',
    'NO_COLOR',
    'PS1',
    'KUBECTL_NETPOL_COMPLETION_TIMEOUT',
  ].map((name) => `${name}='${env[name] ?? ''}'`);
  const command = `env ${assignments.join(' ')} ${shell}`;
  tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', '-c', ROOT, command);
  await waitFor(/[$#%] $/m);
}

afterEach(() => {
  if (session) tmux('kill-session', '-t', session);
  session = undefined;
});

requirePrograms('tmux', 'bash').describe('bash completion of kubectl-netpol', () => {
  beforeEach(() => startShell('bash --norc --noprofile'), TIMEOUT);

  test(
    'subcommands, flags, flag values, -f names and label values, then namespaces from the API server',
    async () => {
      // One TAB lists the candidates when there are several (instead of ringing the bell first).
      type(
        "bind 'set show-all-if-ambiguous on'; source <(kubectl-netpol completion bash) && complete -p kubectl-netpol",
      );
      press('Enter');
      await waitFor('complete -o default -F _kubectl_netpol kubectl-netpol');
      await fresh();

      type('kubectl-netpol who-');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can ');
      await fresh();

      type('kubectl-netpol who-can --expl');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can --explain ');
      await fresh();

      type('kubectl-netpol who-can -o m');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can -o mermaid ');
      await fresh();

      type('kubectl-netpol who-can --output=y');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can --output=yaml ');
      await fresh();

      // The workloads, the pods they stand for (replicas: 3) and Services of web in the manifests.
      type('kubectl-netpol who-can -f examples/shop -n web ');
      press('Tab');
      const listed = await waitFor('service/frontend');
      expect(listed).toMatch(
        /deployment\/frontend\s+frontend-0\s+frontend-1\s+frontend-2\s+service\/frontend\s+toolbox/,
      );
      await fresh();

      type('kubectl-netpol who-can -f examples/shop -n api -l app=w');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can -f examples/shop -n api -l app=worker ');
      await fresh();

      // Namespaces from the API server of the kubeconfig (the fake one: default, kube-system, shop).
      type('kubectl-netpol isolate ');
      press('Tab');
      const namespaces = await waitFor('kube-system');
      expect(namespaces).toMatch(/default\s+kube-system\s+shop/);
      expect(server.requests.some((request) => request.path === '/api/v1/namespaces')).toBe(true);
      await fresh();

      type('kubectl-netpol isolate sh');
      press('Tab');
      await waitFor('$ kubectl-netpol isolate shop ');
    },
    TIMEOUT,
  );
});

requirePrograms('tmux', 'zsh').describe('zsh completion of kubectl-netpol', () => {
  beforeEach(() => startShell('zsh -f'), TIMEOUT);

  test(
    'subcommands, candidates with their descriptions, and --flag=value',
    async () => {
      type("PROMPT='$ '; autoload -U compinit && compinit -u && source <(kubectl-netpol completion zsh) && echo ready");
      press('Enter');
      await waitFor(/^ready$/m);
      await fresh();

      type('kubectl-netpol who-');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can ');
      await fresh();

      type('kubectl-netpol who-can -f examples/shop -n web ');
      press('Tab');
      const listed = await waitFor('service/frontend');
      expect(listed).toMatch(/deployment\/frontend +-- 3 pods/);
      expect(listed).toMatch(/toolbox +-- pod/);
      await fresh();

      type('kubectl-netpol who-can --output=m');
      press('Tab');
      await waitFor('$ kubectl-netpol who-can --output=mermaid');
    },
    TIMEOUT,
  );
});
