#!/usr/bin/env bash
# The whole test suite: build (with the oclif manifest), types, lint, then jest's tiers one after the
# other, unit, integration and e2e, each timed on a line of its own ("unit tier: 83 s"). The e2e tier
# builds or reuses a real kube-apiserver + etcd and starts them on loopback.
# JEST_JSON=FILE writes the tiers' jest --json results there, merged into one (a tier that wrote none
# is one failed suite in it); STEPS_FILE=FILE records each non-jest step.
# TEST_TIERS picks tiers, e.g. TEST_TIERS=unit for quick local runs (default: unit integration e2e).
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
step knip npx knip

IFS=', ' read -ra tiers <<<"${TEST_TIERS:-unit integration e2e}"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for tier in "${tiers[@]}"; do
  json=()
  [ -n "${JEST_JSON:-}" ] && json=(--json "--outputFile=$results/$tier.json")
  echo "==> jest --selectProjects $tier"
  start=$SECONDS
  # jest's default is one worker less than the cores: one worker on a 2-core machine. The unit tier
  # is CPU-bound and independent, so it takes every core (121 s against 196 s, 2 cores, fresh cache).
  workers=()
  [ "$tier" = unit ] && workers=(--maxWorkers=100%)
  NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects "$tier" "${workers[@]}" "${json[@]}" || failed=1
  echo "$tier tier: $((SECONDS - start)) s"
done

[ -z "${JEST_JSON:-}" ] || node - "$JEST_JSON" "$results" "${tiers[@]}" <<'JS' || failed=1
// One jest --json document for all the tiers: counts added up, suites listed one after the other.
const fs = require('node:fs');
const path = require('node:path');
const [out, dir, ...tiers] = process.argv.slice(2);
const merged = { success: true, startTime: Date.now(), testResults: [] };
const add = (key, value) => (merged[key] = (merged[key] ?? 0) + value);
/** A tier that wrote no results, or ran no tests, counts as one suite that failed to run. */
function failedSuite(tier, message) {
  merged.success = false;
  ['numTotalTestSuites', 'numFailedTestSuites', 'numRuntimeErrorTestSuites'].forEach((key) => add(key, 1));
  merged.testResults.push({ name: `${tier} tier`, status: 'failed', message, assertionResults: [] });
}
for (const tier of tiers) {
  let r;
  try {
    r = JSON.parse(fs.readFileSync(path.join(dir, `${tier}.json`), 'utf8'));
  } catch {
    failedSuite(tier, `jest wrote no results for the ${tier} tier`);
    continue;
  }
  for (const [key, value] of Object.entries(r)) if (key.startsWith('num') && typeof value === 'number') add(key, value);
  merged.success &&= r.success;
  merged.startTime = Math.min(merged.startTime, r.startTime);
  merged.wasInterrupted = merged.wasInterrupted || r.wasInterrupted;
  merged.openHandles = [...(merged.openHandles ?? []), ...(r.openHandles ?? [])];
  merged.testResults.push(...r.testResults);
  if (r.numTotalTests === 0) failedSuite(tier, `the ${tier} tier ran no tests`);
}
fs.writeFileSync(out, `${JSON.stringify(merged)}\n`);
JS
exit $failed
