import { Command } from '@oclif/core';

import { reportError } from '../lib/base-command.js';
import { contextNamespace } from '../lib/cluster/kubeconfig-files.js';
import type { LiveOptions } from '../lib/cluster/types.js';
import { complete, formatCompletion, type Completion } from '../lib/completion/complete.js';
import { clusterData, fileData } from '../lib/completion/data.js';
import { commandSpecsOf } from '../lib/completion/spec.js';

/**
 * How long a completion waits for the cluster: long enough for a nearby API server, short enough for
 * a TAB. KUBECTL_NETPOL_COMPLETION_TIMEOUT (milliseconds) changes it, for a cluster far away.
 */
function timeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.KUBECTL_NETPOL_COMPLETION_TIMEOUT);
  return Number.isInteger(value) && value > 0 ? value : 1000;
}

/**
 * The engine of shell completion, hidden: `kubectl-netpol __complete -- WORDS...` prints the
 * candidates for the last word and `:<directive>` (cobra's format). bin/kubectl_complete-netpol and
 * the scripts of `kubectl netpol completion` call it. It never fails: errors complete nothing.
 */
export default class Complete extends Command {
  static override description = 'print the completions of a command line (used by completion scripts and kubectl)';

  static override hidden = true;

  static override strict = false;

  async run(): Promise<Completion> {
    // The words are not flags of this command: they are read as they are, never parsed.
    this.parsed = true;
    const words = this.argv[0] === '--' ? this.argv.slice(1) : this.argv;
    const ms = timeoutMs();
    const completion = await complete(words, commandSpecsOf(this.config.commands), {
      data: ({ filenames, kubeconfig, context, namespace }) =>
        filenames.length > 0
          ? fileData(filenames, async () => namespace ?? (await contextNamespace({ kubeconfig, context }, process.env)))
          : clusterData(() => connect({ kubeconfig, context, requestTimeoutMs: ms }), ms),
      // Loading client-node and the kubeconfig comes on top of the cluster's time.
      deadlineMs: 5 * ms,
    });
    process.stdout.write(formatCompletion(completion));
    return completion;
  }

  override async catch(error: Error): Promise<void> {
    reportError(error);
  }
}

/** client-node is loaded only when a name is needed from the cluster. */
async function connect(options: LiveOptions) {
  const { connectLive } = await import('../lib/cluster/live.js');
  return connectLive(options);
}
