#!/usr/bin/env bash
# Installs the system tools the e2e control plane needs when they are missing (Debian, as root),
# then builds or fetches the binaries (build.sh, cached). CI runs this before `npm run test:e2e`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

packages=()
command -v openssl >/dev/null || packages+=(openssl)
command -v curl >/dev/null || packages+=(curl)
command -v flock >/dev/null || packages+=(util-linux)
command -v dpkg-deb >/dev/null || packages+=(dpkg)
[ -e /etc/ssl/certs/ca-certificates.crt ] || packages+=(ca-certificates)
if [ ${#packages[@]} -gt 0 ]; then
  echo "deps.sh: installing ${packages[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

command -v go >/dev/null || { echo "deps.sh: no go on PATH (the kube-apiserver is built from source; needs Go >= 1.25)" >&2; exit 1; }
command -v node >/dev/null || { echo "deps.sh: no node on PATH" >&2; exit 1; }

"$HERE/build.sh"
