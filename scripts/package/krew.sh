#!/usr/bin/env bash
# Prints the path of a krew binary (kubectl's plugin manager), building it from the Go module proxy
# the first time (about a minute) into ${KUBECTL_NETPOL_CACHE:-~/.cache/kubectl-netpol}/krew/.
# Used to check that `kubectl krew install --manifest=plugin.yaml --archive=...` accepts what
# build-sea.sh produces. KREW_VERSION picks the release (v0.4.3 is the newest the proxy serves).
set -euo pipefail
version=${KREW_VERSION:-v0.4.3}
dir=${KUBECTL_NETPOL_CACHE:-$HOME/.cache/kubectl-netpol}/krew/$version
if [ ! -x "$dir/krew" ]; then
  command -v go >/dev/null || { echo "krew.sh: go is needed to build krew $version" >&2; exit 1; }
  mkdir -p "$dir"
  echo "krew.sh: building sigs.k8s.io/krew/cmd/krew@$version" >&2
  GOBIN=$dir/.partial GOFLAGS=-mod=mod go install "sigs.k8s.io/krew/cmd/krew@$version" >&2
  mv "$dir/.partial/krew" "$dir/krew"
  rmdir "$dir/.partial"
fi
echo "$dir/krew"
