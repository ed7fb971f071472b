/**
 * jest's testResultsProcessor: makes the failure details of the results JSON-safe before `--json`
 * writes them. A failed test keeps the error it threw, and jest's serializer copes with errors but
 * not with the plain copy it keeps of one whose fields loop back to it (`execFileSync`'s ENOENT or
 * ETIMEDOUT error is its own `.error`): `JSON.stringify` then threw and no results file was written,
 * so .ci/run counted one failure instead of the run's tests.
 */
import { types } from 'node:util';

/** Returns `results` with each failed test's details and each suite's error free of cycles. */
export default function processResults(results) {
  for (const suite of results.testResults) {
    if (suite.testExecError) suite.testExecError = withoutCycles(suite.testExecError, []);
    for (const test of suite.testResults) {
      test.failureDetails = test.failureDetails.map((detail) => withoutCycles(detail, []));
    }
  }
  return results;
}

/** A copy of `value` in which a reference back to one of its own ancestors reads `[Circular]`. */
function withoutCycles(value, ancestors) {
  if (value === null || typeof value !== 'object') return value;
  if (ancestors.includes(value)) return '[Circular]';
  // Errors: jest's serializer keeps their message, name and stack; buffers write as they are.
  if (types.isNativeError(value) || ArrayBuffer.isView(value)) return value;
  const path = [...ancestors, value];
  if (Array.isArray(value)) return value.map((item) => withoutCycles(item, path));
  const copy = {};
  for (const key of Object.getOwnPropertyNames(value)) copy[key] = withoutCycles(value[key], path);
  return copy;
}
