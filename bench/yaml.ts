/**
 * A small block-style YAML writer for plain JSON data: fast enough for 50k-pod clusters and
 * deterministic. Strings are always double-quoted with JSON escapes (valid YAML), keys are plain
 * when they are safe, and `undefined` values are left out as JSON.stringify does.
 */

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

function key(k: string): string {
  return PLAIN_KEY.test(k) ? k : JSON.stringify(k);
}

function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`cannot write ${typeof value} as YAML`);
}

function isEmptyContainer(value: unknown): string | undefined {
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    if (Object.values(value).every((v) => v === undefined)) return '{}';
  }
  return undefined;
}

function write(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      const empty = isEmptyContainer(item);
      if (empty) out.push(`${indent}- ${empty}\n`);
      else if (typeof item === 'object' && item !== null) {
        // The first key goes on the dash line; the rest align under it.
        const lines: string[] = [];
        write(item, `${indent}  `, lines);
        const text = lines.join('');
        out.push(`${indent}- ${text.slice(indent.length + 2)}`);
      } else out.push(`${indent}- ${scalar(item)}\n`);
    }
    return;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const empty = isEmptyContainer(v);
    if (empty) out.push(`${indent}${key(k)}: ${empty}\n`);
    else if (Array.isArray(v)) {
      out.push(`${indent}${key(k)}:\n`);
      write(v, indent, out);
    } else if (typeof v === 'object' && v !== null) {
      out.push(`${indent}${key(k)}:\n`);
      write(v, `${indent}  `, out);
    } else out.push(`${indent}${key(k)}: ${scalar(v)}\n`);
  }
}

/** Writes objects as a multi-document YAML stream (`---` before each document). */
export function toYamlDocuments(docs: readonly unknown[]): string {
  const out: string[] = [];
  for (const doc of docs) {
    out.push('---\n');
    write(doc, '', out);
  }
  return out.join('');
}
