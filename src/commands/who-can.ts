import { Args, Flags } from '@oclif/core';

import { ReachCommand, reachFlags } from '../lib/reach-command.js';
import type { ReachAnswer, StreamedAnswer } from '../lib/engine/answer.js';
import type { ReachReport } from '../lib/services/report.js';

export default class WhoCan extends ReachCommand {
  static override args = {
    target: Args.string({
      description:
        'the destination: NAME or pod/NAME, a workload (deployment/NAME, statefulset/NAME, daemonset/NAME, ...), or service/NAME; default: every pod in the namespace',
      // `-f -` reads manifests from stdin: oclif must not take piped stdin as this argument.
      ignoreStdin: true,
    }),
  };

  static override description =
    'show which pods and address blocks can reach the target pods, on which ports, and which policies allow it';

  static override examples = [
    {
      command: 'kubectl netpol who-can deployment/backend --namespace tenant-a --port 80/TCP',
      description: 'Who can reach the backend pods on 80/TCP, and which policy lets them',
    },
    {
      command: 'kubectl netpol who-can service/api --namespace api --port http --filename examples/shop',
      description: 'Who can reach the pods behind a Service port, from manifest files instead of the cluster',
    },
    {
      command: 'kubectl netpol who-can --all-namespaces --port 80/TCP --output json',
      description: 'The whole reachability matrix for 80/TCP, as JSON',
    },
    {
      command:
        'kubectl netpol who-can statefulset/postgres --namespace db --from api/deployment/api --port 5432 --quiet',
      description: 'Can the api pods reach postgres? Exit status 0 for yes, 1 for no',
    },
    {
      command: 'kubectl netpol who-can --namespace db --selector app=postgres --port 5432 --explain',
      description: 'Also list the sources that are denied, and why',
    },
    {
      command: 'kubectl netpol who-can --namespace api --filename examples/shop --explain --output dot',
      description:
        'Draw the paths into a namespace, denied ones dashed: Graphviz DOT for `dot -Tpng` (or --output mermaid)',
    },
  ];

  static override flags = {
    ...reachFlags('sources'),
    from: Flags.string({
      description:
        'only this source: NAME or NAMESPACE/NAME (a pod), [NAMESPACE/]KIND/NAME, in the target namespace unless given, or an address block (CIDR: yes only if every address of it is admitted). Answers yes or no: exit status 0 (yes), 1 (no), 3 (could not answer: nothing to check, not found, unreadable files, API errors)',
    }),
    quiet: Flags.boolean({
      char: 'q',
      dependsOn: ['from'],
      description: 'with --from: print nothing, only set the exit status',
    }),
  };

  async run(): Promise<ReachReport<ReachAnswer | StreamedAnswer>> {
    const { args, flags } = await this.parse(WhoCan);
    return this.answer({ orientation: 'inbound', subject: args.target, other: flags.from, flags });
  }
}
