/** Machine-readable output: a whole document as JSON or YAML. */
import { yamlText } from './yaml.js';

/** Renders a document as JSON (2-space indent) or YAML (YAML_OPTIONS), ending with a newline. */
export function renderDocument(document: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(document, null, 2) + '\n';
  return yamlText(document);
}
