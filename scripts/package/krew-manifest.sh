#!/usr/bin/env bash
# Renders the krew manifest template (.krew.yaml, krew-release-bot syntax) for a built release
# archive: {{ .TagName }} becomes v<package.json version> and each
# {{addURIAndSha "URL" .TagName }} line becomes `uri: URL` and `sha256: <sha256 of ARCHIVE>`.
# Usage: krew-manifest.sh ARCHIVE [TEMPLATE] > plugin.yaml
set -euo pipefail
archive=${1:?usage: krew-manifest.sh ARCHIVE [TEMPLATE]}
root=$(cd "$(dirname "$0")/../.." && pwd)
template=${2:-$root/.krew.yaml}

tag=v$(node -p 'require(process.argv[1]).version' "$root/package.json")
sha=$(sha256sum "$archive" | cut -d' ' -f1)
grep -v '^#' "$template" |
  sed -E -e "s/\{\{ *\.TagName *\}\}/$tag/g" \
    -e "s/^( *)\{\{ *addURIAndSha \"([^\"]+)\" +\.TagName *\}\}$/\1uri: \2\n\1sha256: $sha/"
