/** Jest globalSetup of the e2e tier: builds (once, cached) and starts a real kube-apiserver + etcd
 * on loopback, or uses the cluster of E2E_KUBECONFIG, fetches (once, cached) the cluster tiers' CRDs,
 * and hands it all to the tests through the environment (KUBECONFIG, E2E_*), which test workers inherit. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  // stdout carries the script's answer; progress and errors go straight to the terminal.
  const result = spawnSync('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${result.status ?? result.signal}`);
  return result.stdout.trim();
}

async function serverVersion(kubeconfigPath: string): Promise<{ gitVersion: string; server: string }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const info = await kc.makeApiClient(VersionApi).getCode();
  return { gitVersion: info.gitVersion, server: kc.getCurrentCluster()?.server ?? '?' };
}

export default async function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const root = projectConfig.rootDir;
  const controlPlane = join(root, 'test', 'e2e', 'control-plane');
  process.env.E2E_REPO_ROOT = root;
  // The cluster tiers' CRDs (network-policy-api), fetched once and cached; tiers.test.ts installs them.
  process.env.E2E_TIER_CRDS_DIR = runScript(join(controlPlane, 'crds.sh'), []);

  if (process.env.E2E_KUBECONFIG) {
    process.env.KUBECONFIG = process.env.E2E_KUBECONFIG;
    process.env.E2E_KUBECTL ??= 'kubectl';
  } else {
    const binDir = process.env.E2E_BIN_DIR || runScript(join(controlPlane, 'build.sh'), []);
    const stateRoot = join(root, 'test', 'e2e', '.state');
    mkdirSync(stateRoot, { recursive: true });
    const stateDir = mkdtempSync(join(stateRoot, 'run-'));
    process.env.E2E_STATE_DIR = stateDir;
    try {
      runScript(join(controlPlane, 'up.sh'), [stateDir], {
        ...process.env,
        E2E_BIN_DIR: binDir,
        E2E_OWNER_PID: String(process.pid),
      });
    } catch (error) {
      runScript(join(controlPlane, 'down.sh'), [stateDir, '--keep-logs']);
      throw error;
    }
    process.env.KUBECONFIG = join(stateDir, 'kubeconfig');
    process.env.E2E_K8S_VERSION = process.env.K8S_VERSION ?? 'v1.35.4';
    const sameVersionKubectl = join(binDir, 'kubectl');
    process.env.E2E_KUBECTL ??= existsSync(sameVersionKubectl) ? sameVersionKubectl : 'kubectl';
  }

  const { gitVersion, server } = await serverVersion(process.env.KUBECONFIG);
  process.env.E2E_APISERVER_URL = server;
  process.stderr.write(`\nkube-apiserver ${gitVersion} at ${server}\n`);
}
