/**
 * JSON and YAML documents written piece by piece: a list field is written item by item from an
 * iterable, so a document of millions of entries never becomes one string (V8 caps strings at ~512 MB).
 * The bytes are those of renderDocument on the whole document.
 */

/** A top-level field: a plain value, or a list given as an iterable of items (written one by one). */
export type DocumentField = { key: string; value: unknown } | { key: string; items: Iterable<unknown> };

/** Where the document goes: process.stdout, or anything with its write/drain contract. */
export interface DocumentSink {
  write(chunk: string): boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

/** Text is handed to the sink in chunks of about this many characters. */
const CHUNK = 1 << 16;

/** Buffers text and flushes it in chunks, waiting for 'drain' when the sink asks to. */
class ChunkWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly sink: DocumentSink) {}

  async add(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    const { once } = this.sink;
    if (!this.sink.write(chunk) && once) await new Promise<void>((resolve) => once.call(this.sink, 'drain', resolve));
  }
}

/** `text` with every line after the first indented by `spaces`. */
function indentRest(text: string, spaces: number): string {
  return text.replace(/\n/g, '\n' + ' '.repeat(spaces));
}

/** JSON of a value as it sits `depth` levels deep in a 2-space pretty document. */
export function jsonAt(value: unknown, depth: number): string {
  return indentRest(JSON.stringify(value, null, 2), depth * 2);
}

/**
 * Writes a document as JSON (2-space indent) or YAML, ending with a newline. `itemText` may render a
 * list item itself (JSON at depth 2, i.e. indented by 4 after its first line), for speed.
 */
export async function writeDocument(
  fields: DocumentField[],
  format: 'json' | 'yaml',
  sink: DocumentSink,
  itemText?: (item: unknown) => string,
): Promise<void> {
  const out = new ChunkWriter(sink);
  if (format === 'json') {
    await out.add('{');
    let isFirstField = true;
    for (const field of fields) {
      await out.add(`${isFirstField ? '' : ','}\n  ${JSON.stringify(field.key)}: `);
      isFirstField = false;
      if (!('items' in field)) {
        await out.add(jsonAt(field.value, 1));
        continue;
      }
      let isFirstItem = true;
      for (const item of field.items) {
        await out.add(`${isFirstItem ? '[' : ','}\n    ${itemText ? itemText(item) : jsonAt(item, 2)}`);
        isFirstItem = false;
      }
      await out.add(isFirstItem ? '[]' : '\n  ]');
    }
    await out.add(isFirstField ? '}\n' : '\n}\n');
  } else {
    // The YAML writer (and the `yaml` package it asks about strings) is loaded only for YAML.
    const { yamlText } = await import('./yaml.js');
    for (const field of fields) {
      if (!('items' in field)) {
        await out.add(yamlText({ [field.key]: field.value }));
        continue;
      }
      let isFirstItem = true;
      for (const item of field.items) {
        if (isFirstItem) await out.add(`${field.key}:\n`);
        isFirstItem = false;
        await out.add('  ' + yamlText([item], '  '));
      }
      if (isFirstItem) await out.add(yamlText({ [field.key]: [] }));
    }
    if (fields.length === 0) await out.add('{}\n');
  }
  await out.flush();
}
