/** Jest globalTeardown of the e2e tier: stops the control plane that global-setup started. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function globalTeardown(_globalConfig: unknown, projectConfig: { rootDir: string }): void {
  const stateDir = process.env.E2E_STATE_DIR;
  if (!stateDir) return; // E2E_KUBECONFIG: not ours to stop
  const downScript = join(projectConfig.rootDir, 'test', 'e2e', 'control-plane', 'down.sh');
  const result = spawnSync('bash', [downScript, stateDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${downScript} exited ${result.status ?? result.signal}`);
  delete process.env.E2E_STATE_DIR;
}
