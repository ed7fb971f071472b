#!/usr/bin/env bash
# The main job: build, then answer who-can on the live cluster when a kubeconfig points at one that
# answers, else on the bundled example manifests (examples/seed and examples/shop).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
cli=(node bin/run.js)
if [ -n "${KUBECONFIG:-}" ] || [ -f "$HOME/.kube/config" ]; then
  if "${cli[@]}" who-can -A --request-timeout 5s >/tmp/kubectl-netpol-demo.$$ 2>&1; then
    echo "== live cluster: kubectl netpol who-can -A"
    cat /tmp/kubectl-netpol-demo.$$
    rm -f /tmp/kubectl-netpol-demo.$$
    exit 0
  fi
  echo "(the kubeconfig's cluster did not answer; using the bundled examples)"
  rm -f /tmp/kubectl-netpol-demo.$$
fi
run() {
  echo
  echo "== kubectl netpol $*"
  "${cli[@]}" "$@"
}
run who-can -n tenant-a -f examples/seed
run who-can service/api -n api --port http -f examples/shop --explain
run who-can -A --port 5432/TCP -f examples/shop
run reachable-from deployment/api -n api -f examples/shop
