#!/usr/bin/env bash
# Stops the control plane that up.sh started in STATE_DIR and removes its files.
#   down.sh STATE_DIR [--keep-logs]
# Safe to call more than once and on a half-started state. Only the pids recorded in STATE_DIR/env
# are signalled, and only while they still run the expected program. With --keep-logs (or
# E2E_KEEP_STATE=1) the logs stay in STATE_DIR; keys, kubeconfig and etcd data always go.
set -uo pipefail

STATE="${1:?usage: down.sh STATE_DIR [--keep-logs]}"
KEEP_LOGS=0
[ "${2:-}" = --keep-logs ] || [ "${E2E_KEEP_STATE:-0}" = 1 ] && KEEP_LOGS=1
[ -f "$STATE/env" ] || exit 0

APISERVER_PID="" ETCD_PID="" WATCHDOG_PID="" ETCD_DATA_DIR=""
# shellcheck disable=SC1091
source "$STATE/env"

# stop PID PATTERN: TERM, up to 15 s, then KILL; PATTERN must occur in the process's command line
stop() {
  local pid="$1" pattern="$2"
  [ -n "$pid" ] && [ "$pid" != $$ ] || return 0
  [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" == *"$pattern"* ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 75); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "down.sh: pid $pid ($pattern) ignored TERM, killing" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

stop "$APISERVER_PID" kube-apiserver
stop "$ETCD_PID" etcd
stop "$WATCHDOG_PID" "$STATE"

case "$ETCD_DATA_DIR" in
/dev/shm/kubectl-netpol-e2e-etcd.* | "$STATE"/*) rm -rf "$ETCD_DATA_DIR" ;;
esac
if [ "$KEEP_LOGS" = 1 ]; then
  rm -rf "$STATE/pki" "$STATE/apiserver-certs" "$STATE/kubeconfig" "$STATE/env"
else
  rm -rf "$STATE"
fi
