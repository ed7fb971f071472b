/** How every command names what it shows, so who-can, isolate and allow read alike. */

/** A workload, or a bare pod (kind `Pod`), in its namespace. */
export interface NamespacedWorkload {
  namespace: string;
  kind: string;
  name: string;
}

/** `namespace/name` for a bare pod, `namespace/kind/name` (kind in lower case) for a workload: `web/deployment/frontend`. */
export function formatWorkloadRef(workload: NamespacedWorkload): string {
  if (workload.kind === 'Pod') return `${workload.namespace}/${workload.name}`;
  return `${workload.namespace}/${workload.kind.toLowerCase()}/${workload.name}`;
}
