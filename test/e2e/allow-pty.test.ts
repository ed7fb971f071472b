/**
 * allow's prompts in a real pseudo-terminal: tmux runs the built CLI (`npm run build` first) against
 * examples/seed; the test presses keys and reads the screen, as a person would.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, describe, expect, test } from '@jest/globals';

import { childEnv, repoRoot } from './helpers.js';

const TIMEOUT = 60_000;
let session: string | undefined;

/** A tmux server of this run's own (-L): other tmux users on the machine (and their kill-server) never meet it. */
const TMUX_SOCKET = `netpol-e2e-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8', env: childEnv() });
}

/** The visible screen and scrollback of the session's pane. */
function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session!);
}

/** Waits until the screen shows `text`; fails with the screen when it does not within 15 s. */
async function waitFor(text: string | RegExp): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const shown = screen();
    if (typeof text === 'string' ? shown.includes(text) : text.test(shown)) return shown;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; screen:\n${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Presses keys (tmux key names: Enter, Down, ...) or types text. */
function press(...keys: string[]): void {
  tmux('send-keys', '-t', session!, ...keys);
}

/**
 * Starts `kubectl-netpol allow ARGS --dry-run=client` on the seed in a new tmux session; the shell
 * then prints the exit code and waits, so the screen can be read after the CLI ends.
 */
function startAllow(args: string): void {
  session = `netpol-allow-${randomBytes(4).toString('hex')}`;
  const cli = join(repoRoot, 'bin', 'run.js');
  const command = `NO_COLOR=1 node ${cli} allow -f examples/seed ${args} --dry-run=client; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '220', '-y', '60', '-c', repoRoot, command);
}

/** Answers "Who may reach them?" with the frontend pods of tenant-a and no other peer, up to the ports. */
async function chooseFrontendPeer(): Promise<void> {
  await waitFor('Who may reach them?');
  press('Enter'); // pods in tenant-a
  await waitFor('Which pods in tenant-a?');
  press('Down', 'Enter'); // segment=frontend
  await waitFor('Add another peer?');
  press('Enter'); // no
  await waitFor('On which ports?');
}

afterEach(() => {
  if (session) tmux('kill-session', '-t', session);
  session = undefined;
});

describe('allow prompts in a pseudo-terminal', () => {
  test(
    'walks the seed world with arrow keys and Enter, then prints the policy it would create',
    async () => {
      session = `netpol-allow-${randomBytes(4).toString('hex')}`;
      const cli = join(repoRoot, 'bin', 'run.js');
      // The shell prints the exit code and waits, so the screen can be read after the CLI ends.
      const command = `NO_COLOR=1 node ${cli} allow -f examples/seed --dry-run=client; echo "EXIT=$?"; sleep 600`;
      tmux('new-session', '-d', '-s', session, '-x', '220', '-y', '60', '-c', repoRoot, command);

      await waitFor('Namespace of the policy:');
      expect(screen()).toContain('tenant-a  (2 pods)');
      press('Enter');
      await waitFor('Which pods in tenant-a may be reached?');
      expect(screen()).toMatch(/segment=backend {2}\(1 pod\)[\s\S]*segment=frontend {2}\(1 pod\)/);
      press('Enter'); // segment=backend, the first label
      await chooseFrontendPeer();
      expect(screen()).toContain('port 80 of container api (named http)');
      press('Down', 'Enter'); // port 80, from the backend's container port
      await waitFor('Name of the policy:');
      press('Enter'); // the derived name
      const shown = await waitFor(/EXIT=\d+/);

      expect(shown).toContain('EXIT=0');
      expect(shown).toContain('pods segment=frontend in tenant-a may reach pods segment=backend in tenant-a on 80/TCP');
      expect(shown).toMatch(/podSelector:\s+matchLabels:\s+segment: backend/);
      expect(shown).toContain('networkpolicy.networking.k8s.io/allow-frontend-to-backend-on-80-tcp created (dry run)');
    },
    TIMEOUT,
  );

  test(
    "a typed answer that is wrong is refused in the prompt's words, and asked again",
    async () => {
      startAllow('-n tenant-a --to segment=backend');
      await chooseFrontendPeer();
      press('Down', 'Down', 'Down', 'Enter'); // type ports…
      await waitFor('Ports, comma-separated:');
      press('-l', '9000-8000'); // -l: literal text, so Enter is a press of its own
      press('Enter');
      const refused = await waitFor('the end port must be >= the start port');
      expect(refused).not.toMatch(/--port|invalid value/);
      press(...Array<string>(9).fill('BSpace'));
      press('-l', '80');
      press('Enter');
      await waitFor('Name of the policy:');
      press('Enter');
      const shown = await waitFor(/EXIT=\d+/);
      expect(shown).toContain('EXIT=0');
      expect(shown).toContain('networkpolicy.networking.k8s.io/allow-frontend-to-backend-on-80-tcp created (dry run)');
    },
    TIMEOUT,
  );

  test(
    'Ctrl-C in a prompt cancels: nothing written, exit 1',
    async () => {
      startAllow('-n tenant-a --to segment=backend');
      await waitFor('Who may reach them?');
      press('C-c');
      const shown = await waitFor(/EXIT=\d+/);
      expect(shown).toContain('error: cancelled: nothing was written');
      expect(shown).toContain('EXIT=1');
      expect(shown).not.toContain('created');
    },
    TIMEOUT,
  );

  test(
    'stdout not a terminal: no prompts, the missing flag is a usage error and stdout stays empty',
    async () => {
      session = `netpol-allow-${randomBytes(4).toString('hex')}`;
      const cli = join(repoRoot, 'bin', 'run.js');
      const out = `/tmp/${session}.stdout`;
      const command = `NO_COLOR=1 node ${cli} allow -f examples/seed -n tenant-a --to segment=backend --dry-run=client > ${out}; echo "EXIT=$? STDOUT_BYTES=$(wc -c < ${out})"; rm -f ${out}; sleep 600`;
      tmux('new-session', '-d', '-s', session, '-x', '220', '-y', '60', '-c', repoRoot, command);
      const shown = await waitFor(/EXIT=\d+ STDOUT_BYTES=\d+/);
      expect(shown).toContain('error: missing --from: allow FROM to reach TO needs both');
      expect(shown).toContain('EXIT=2 STDOUT_BYTES=0');
    },
    TIMEOUT,
  );
});
