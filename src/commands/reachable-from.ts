import { Args, Flags } from '@oclif/core';

import { ReachCommand, reachFlags } from '../lib/reach-command.js';
import type { ReachAnswer, StreamedAnswer } from '../lib/engine/answer.js';
import type { ReachReport } from '../lib/services/report.js';

export default class ReachableFrom extends ReachCommand {
  static override args = {
    source: Args.string({
      description:
        'the pods asked about: NAME or pod/NAME, a workload (deployment/NAME, statefulset/NAME, daemonset/NAME, ...), or service/NAME (its pods); default: every pod in the namespace',
      // `-f -` reads manifests from stdin: oclif must not take piped stdin as this argument.
      ignoreStdin: true,
    }),
  };

  static override description =
    'show which pods and address blocks the source pods can reach, on which ports, and which policies allow it (the egress of the source and the ingress of each destination)';

  static override examples = [
    {
      command: 'kubectl netpol reachable-from deployment/api --namespace api --filename examples/shop',
      description: 'Everything the api pods can reach, and which policies let them',
    },
    {
      command: 'kubectl netpol reachable-from deployment/api --namespace api --to db/statefulset/postgres --quiet',
      description: 'Can the api pods reach postgres? Exit status 0 for yes, 1 for no, 3 if it could not be answered',
    },
    {
      command: 'kubectl netpol reachable-from deployment/frontend --namespace web --to api/service/api --explain',
      description: 'Can the frontend pods reach the api Service, on each of its ports, and which rules decide it',
    },
    {
      command: 'kubectl netpol reachable-from --namespace api --to 203.0.113.0/24 --port 443',
      description: 'Can every pod of the namespace reach every address of a block on 443/TCP',
    },
    {
      command: 'kubectl netpol reachable-from deployment/api --namespace api --explain --output dot',
      description: 'Draw the paths out of the api pods, denied ones dashed: Graphviz DOT (or --output mermaid)',
    },
  ];

  static override flags = {
    ...reachFlags('destinations'),
    to: Flags.string({
      description:
        'only this destination: NAME or NAMESPACE/NAME (a pod), [NAMESPACE/]KIND/NAME (service/NAME: through its ports), in the source namespace unless given, or an address block (CIDR: yes only if every address of it is reachable). Answers yes or no: exit status 0 (yes), 1 (no), 3 (could not answer: nothing to check, not found, unreadable files, API errors)',
    }),
    quiet: Flags.boolean({
      char: 'q',
      dependsOn: ['to'],
      description: 'with --to: print nothing, only set the exit status',
    }),
  };

  async run(): Promise<ReachReport<ReachAnswer | StreamedAnswer>> {
    const { args, flags } = await this.parse(ReachableFrom);
    return this.answer({ orientation: 'outbound', subject: args.source, other: flags.to, flags });
  }
}
