/** What a kubelet reports for a running pod, for objects created straight in an apiserver (no nodes). */

/** Pod status of a running pod. Sending podIP+podIPs and hostIP+hostIPs together is what the API
 * validates (and what kwok does). */
export function runningStatus(podIP: string, hostIP: string): Record<string, unknown> {
  return {
    phase: 'Running',
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    conditions: [{ type: 'Ready', status: 'True' }],
  };
}
