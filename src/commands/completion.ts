import { Args, Command } from '@oclif/core';

import { reportError } from '../lib/base-command.js';
import { completionScript, SHELLS, type Shell } from '../lib/completion/scripts.js';

export default class Completion extends Command {
  static override args = {
    shell: Args.string({
      description: 'the shell to write the script for',
      options: [...SHELLS],
      required: true,
    }),
  };

  static override description =
    'print a completion script for kubectl-netpol (bash or zsh); `kubectl netpol` completes through kubectl_complete-netpol';

  static override examples = [
    { command: 'source <(kubectl netpol completion bash)', description: 'Complete kubectl-netpol in this bash shell' },
    {
      command: 'kubectl netpol completion zsh',
      description:
        'Print the zsh script: source it after compinit, or save it as _kubectl-netpol in a directory of $fpath',
    },
  ];

  async run(): Promise<string> {
    const { args } = await this.parse(Completion);
    const script = completionScript(args.shell as Shell);
    process.stdout.write(script);
    return script;
  }

  override async catch(error: Error): Promise<void> {
    this.parsed = true;
    reportError(error);
  }
}
