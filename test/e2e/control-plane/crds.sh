#!/usr/bin/env bash
# Provides the CRDs of the SIG Network policy API (policy.networking.k8s.io) for the e2e tier, taken
# from the Go module sigs.k8s.io/network-policy-api on the module proxy and cached outside the repo,
# and prints the directory that holds them (one manifest per CRD):
#   $NPA_VERSION (default v0.3.0)           ClusterNetworkPolicy, v1alpha2 and v1beta1 (standard channel), and
#                                           in experimental/ the experimental channel's (nodes peers), which
#                                           tiers.test.ts installs over it for its nodes tests
#   $NPA_V1ALPHA1_VERSION (default v0.1.1)  AdminNetworkPolicy and BaselineAdminNetworkPolicy, v1alpha1
# Idempotent and safe to run concurrently (flock). Progress goes to stderr, the directory to stdout.
set -euo pipefail

NPA_VERSION="${NPA_VERSION:-v0.3.0}"
NPA_V1ALPHA1_VERSION="${NPA_V1ALPHA1_VERSION:-v0.1.1}"
CACHE_ROOT="${KUBECTL_NETPOL_CACHE:-$HOME/.cache/kubectl-netpol}"
DIR="$CACHE_ROOT/network-policy-api/$NPA_VERSION+$NPA_V1ALPHA1_VERSION"
PREFIX=policy.networking.k8s.io_
FILES=("${PREFIX}adminnetworkpolicies.yaml" "${PREFIX}baselineadminnetworkpolicies.yaml" "${PREFIX}clusternetworkpolicies.yaml"
  "experimental/${PREFIX}clusternetworkpolicies.yaml")

log() { echo "crds.sh: $*" >&2; }
all_ok() { for f in "${FILES[@]}"; do [ -s "$DIR/$f" ] || return 1; done; }

if all_ok; then echo "$DIR"; exit 0; fi
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock -n 9 || { log "another run holds $DIR/.lock, waiting"; flock 9; }
if all_ok; then echo "$DIR"; exit 0; fi

# module_dir VERSION: where `go mod download` put the module (the module cache, read-only).
module_dir() {
  local info dir
  log "downloading sigs.k8s.io/network-policy-api@$1 from the module proxy"
  # Outside any module; the JSON is flat enough for sed.
  info="$(cd / && GOFLAGS='' go mod download -json "sigs.k8s.io/network-policy-api@$1")"
  dir="$(sed -nE 's/^[[:space:]]*"Dir": "([^"]*)",?$/\1/p' <<<"$info" | head -1)"
  [ -d "$dir/config/crd" ] || { log "no config/crd in sigs.k8s.io/network-policy-api@$1 ($dir)"; exit 1; }
  echo "$dir"
}

current="$(module_dir "$NPA_VERSION")"
v1alpha1="$(module_dir "$NPA_V1ALPHA1_VERSION")"
install -m 0644 "$current/config/crd/standard/${PREFIX}clusternetworkpolicies.yaml" "$DIR/"
install -D -m 0644 "$current/config/crd/experimental/${PREFIX}clusternetworkpolicies.yaml" \
  "$DIR/experimental/${PREFIX}clusternetworkpolicies.yaml"
install -m 0644 "$v1alpha1/config/crd/${PREFIX}adminnetworkpolicies.yaml" \
  "$v1alpha1/config/crd/${PREFIX}baselineadminnetworkpolicies.yaml" "$DIR/"
all_ok || { log "the CRDs are not all in $DIR"; exit 1; }
log "CRDs in $DIR"
echo "$DIR"
