#!/usr/bin/env bash
# The whole test suite: build (with the oclif manifest), types, lint, then jest's unit, integration and e2e tiers
# (the e2e tier builds or reuses a real kube-apiserver + etcd and starts them on loopback).
# JEST_JSON=FILE writes jest's --json results there; STEPS_FILE=FILE records each non-jest step.
# TEST_TIERS=unit runs the unit tier alone (for quick local runs).
set -uo pipefail
cd "$(dirname "$0")/.."
steps_file=${STEPS_FILE:-/dev/null}
: >"$steps_file" 2>/dev/null || true
failed=0

step() {
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then
    echo "pass $name" >>"$steps_file"
  else
    echo "fail $name" >>"$steps_file"
    echo "!!! $name failed" >&2
    failed=1
  fi
}

step build npm run --silent build
step typecheck npx tsc --noEmit
step eslint npx eslint .
step prettier npx prettier --check --log-level warn .

projects=(--selectProjects unit)
[ "${TEST_TIERS:-all}" = unit ] || projects=(--selectProjects unit integration e2e)
json=()
[ -n "${JEST_JSON:-}" ] && json=(--json "--outputFile=$JEST_JSON")
echo "==> jest ${projects[*]}"
NODE_OPTIONS=--experimental-vm-modules npx jest "${projects[@]}" "${json[@]}" || failed=1
exit $failed
