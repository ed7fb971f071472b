#!/usr/bin/env bash
# Provides the control-plane binaries of the e2e tier, built or fetched once per version and cached
# outside the repo, and prints the directory that holds them:
#   kube-apiserver  built from the Go module proxy (k8s.io/kubernetes@$K8S_VERSION) in a helper module
#   etcd            built from the Go module proxy (go.etcd.io/etcd/server/v3@$ETCD_VERSION), or with
#                   ETCD_FROM=debian Debian's etcd-server package, extracted (no postinst, no daemon)
#   kubectl         same-version kubectl, with WITH_KUBECTL=1 (default: only when none is on PATH)
# Idempotent and safe to run concurrently (flock). Progress goes to stderr, the bin dir to stdout.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
WITH_KUBECTL="${WITH_KUBECTL:-auto}"
if [ "$WITH_KUBECTL" = auto ]; then
  if command -v kubectl >/dev/null; then WITH_KUBECTL=0; else WITH_KUBECTL=1; fi
fi
# etcd 3.6 is what kubeadm pairs with 1.35. Debian's 3.4.23 runs the apiserver too, but lacks
# RequestWatchProgress, so watch-list requests (sendInitialEvents=true) fail with a 500 there.
ETCD_FROM="${ETCD_FROM:-proxy}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${KUBECTL_NETPOL_CACHE:-$HOME/.cache/kubectl-netpol}"
DIR="$CACHE_ROOT/$K8S_VERSION"
BIN="$DIR/bin"

log() { echo "build.sh: $*" >&2; }
json_field() { sed -nE 's/^[[:space:]]*"'"$1"'": "([^"]*)",?$/\1/p' | head -1; }

# version_of BINARY ARGS...: the binary's version output ("" if it is missing or fails). Captured
# whole, not piped into grep -q, which would make the writer die of SIGPIPE under pipefail.
version_of() { if [ -x "$1" ]; then "$@" 2>/dev/null || true; fi; }
apiserver_ok() { [ "$(version_of "$BIN/kube-apiserver" --version)" = "Kubernetes $K8S_VERSION" ]; }
kubectl_ok() { [ "$WITH_KUBECTL" != 1 ] || [[ "$(version_of "$BIN/kubectl" version --client)" == *"Client Version: $K8S_VERSION"* ]]; }
etcd_ok() {
  local want="etcd Version: ${ETCD_VERSION#v}"
  [ "$ETCD_FROM" = proxy ] || want="etcd Version: 3.4."
  [[ "$(version_of "$BIN/etcd" --version)" == *"$want"* ]]
}
all_ok() { apiserver_ok && kubectl_ok && etcd_ok; }

if all_ok; then echo "$BIN"; exit 0; fi

mkdir -p "$BIN"
exec 9>"$DIR/.lock"
flock -n 9 || { log "another build holds $DIR/.lock, waiting"; flock 9; }
if all_ok; then echo "$BIN"; exit 0; fi # another caller built it while we waited

# --- etcd ------------------------------------------------------------------------------------
# go install refuses go.etcd.io/etcd/server/v3 (its go.mod has replace directives), so it is built
# as a dependency of a helper module; the package is etcd's main.
build_etcd() {
  local mod="$DIR/etcd-build" timer=()
  rm -rf "$mod" && mkdir -p "$mod"
  printf 'module kubectl-netpol.e2e/etcd-build\n\ngo 1.24.0\n' >"$mod/go.mod"
  log "building etcd $ETCD_VERSION from the module proxy (log in $DIR/build.log)"
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -f 'build.sh: go build etcd: %e s wall, %M KiB peak RSS of the largest process')
  if ! (cd "$mod" && export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" &&
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
    "${timer[@]}" go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3) \
    2>&1 | tee -a "$DIR/build.log" | { grep -v '^go: ' >&2 || true; }; then
    log "etcd build failed, see $DIR/build.log"
    exit 1
  fi
  local version
  version="$(version_of "$BIN/etcd" --version)"
  log "etcd: ${version%%$'\n'*}"
}

# Debian's etcd-server package, extracted.
fetch_debian_etcd() {
  local work="$DIR/etcd-deb"
  rm -rf "$work" && mkdir -p "$work"
  log "fetching etcd-server from Debian"
  # apt-get download writes into the current directory; as root it warns about the _apt sandbox.
  (cd "$work" && { apt-get download etcd-server >&2 2>/dev/null || { apt-get update -qq >&2 && apt-get download etcd-server >&2; }; })
  dpkg-deb -x "$work"/etcd-server_*.deb "$work/root"
  install -m 0755 "$work/root/usr/bin/etcd" "$BIN/etcd"
  rm -rf "$work"
  local version
  version="$(version_of "$BIN/etcd" --version)"
  log "etcd: ${version%%$'\n'*}"
}

# --- kube-apiserver (and kubectl): helper module against the release ---------------------------
# k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them to ./staging/...;
# a dependency's replace directives are ignored, so the helper module replaces each of them with
# the matching published v0.<minor>.<patch>. The list is generated from the release's own go.mod.
write_helper_module() {
  local mod="$DIR/kube-build" info gomod staging_version
  staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$mod"
  log "resolving k8s.io/kubernetes@$K8S_VERSION from the module proxy"
  # Run outside any module; the JSON is flat enough for sed.
  info="$(cd / && GOFLAGS='' go mod download -json "k8s.io/kubernetes@$K8S_VERSION")"
  gomod="$(json_field GoMod <<<"$info")"
  # The proxy's .info carries the release time but no commit hash.
  RELEASE_TIME="$(sed -nE 's/.*"Time":"([^"]*)".*/\1/p' "$(json_field Info <<<"$info")")"
  {
    echo "// Generated by test/e2e/control-plane/build.sh from k8s.io/kubernetes@$K8S_VERSION's go.mod."
    echo "module kubectl-netpol.e2e/kube-build"
    echo
    # The release's own go and godebug lines (godebug may be a single line or a block).
    awk '/^go [0-9]/ {print; print ""} /^godebug \(/ {b=1} b {print} b && /^\)/ {b=0; print ""} /^godebug [^(]/ {print; print ""}' "$gomod"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -nE 's#^[[:space:]]*(k8s\.io/[A-Za-z0-9._/-]+)[[:space:]]+=>[[:space:]]+\./staging/src/k8s\.io/.*$#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } >"$mod/go.mod.new"
  if ! grep -q "=> k8s.io/api $staging_version" "$mod/go.mod.new"; then
    log "found no staging replace lines in $gomod"
    exit 1
  fi
  # Keep go.sum and the resolved requires of an earlier run when the generated head is unchanged.
  if [ -f "$mod/go.mod.head" ] && cmp -s "$mod/go.mod.new" "$mod/go.mod.head"; then
    rm "$mod/go.mod.new"
  else
    cp "$mod/go.mod.new" "$mod/go.mod.head"
    mv "$mod/go.mod.new" "$mod/go.mod"
    rm -f "$mod/go.sum"
  fi
  log "helper module $mod: $(grep -c '=> k8s.io/' "$mod/go.mod.head") staging replaces, $(grep -E '^(go|godebug) ' "$mod/go.mod.head" | tr '\n' ' ')"
}

build_kube() {
  local mod="$DIR/kube-build" major minor pkgs=() pkg ldflags="-s -w" start end
  write_helper_module
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=clean" # commit unknown: empty, not "$Format:%H$"
    ldflags+=" -X $pkg.buildDate=${RELEASE_TIME:-1970-01-01T00:00:00Z}"
  done
  apiserver_ok || pkgs+=(k8s.io/kubernetes/cmd/kube-apiserver)
  kubectl_ok || pkgs+=(k8s.io/kubernetes/cmd/kubectl)
  log "go build ${pkgs[*]} (cold: many minutes and a few GiB of RAM; log in $DIR/build.log)"
  start=$(date +%s)
  # -mod=mod lets go build add the requires and go.sum lines it needs (cheaper than go mod tidy,
  # which would also fetch every other platform's and test's dependencies).
  local timer=()
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -f 'build.sh: go build: %e s wall, %M KiB peak RSS of the largest process')
  if ! (cd "$mod" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
    "${timer[@]}" go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}") \
    2>&1 | tee -a "$DIR/build.log" | { grep -v '^go: downloading ' >&2 || true; }; then
    log "go build failed, see $DIR/build.log"
    exit 1
  fi
  end=$(date +%s)
  log "built ${pkgs[*]} in $((end - start)) s"
}

if ! etcd_ok; then
  if [ "$ETCD_FROM" = proxy ]; then build_etcd; else fetch_debian_etcd; fi
fi
{ apiserver_ok && kubectl_ok; } || build_kube
all_ok || { log "binaries in $BIN do not report the expected versions"; exit 1; }
log "kube-apiserver: $("$BIN/kube-apiserver" --version), $(du -h "$BIN/kube-apiserver" | cut -f1)"
echo "$BIN"
