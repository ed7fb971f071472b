/** The one test for "a JSON object" (not null, not a list) that decoded manifests and API bodies are read with. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
