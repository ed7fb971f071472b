/**
 * JSON and YAML documents written piece by piece: a list field is written item by item from an
 * iterable, so a document of millions of entries never becomes one string (V8 caps strings at ~512 MB).
 * The bytes are those of renderDocument on the whole document.
 */
import { yamlText } from './yaml.js';

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
  private text = '';
  constructor(private readonly sink: DocumentSink) {}

  /** Adds text; true when a chunk is full and should be flushed (awaited) before more is added. */
  push(text: string): boolean {
    this.text += text;
    return this.text.length >= CHUNK;
  }

  async add(text: string): Promise<void> {
    if (this.push(text)) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.text.length === 0) return;
    const chunk = this.text;
    this.text = '';
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
        // Only a full chunk waits: an await per entry costs more than the entry's text.
        if (out.push(`${isFirstItem ? '[' : ','}\n    ${itemText ? itemText(item) : jsonAt(item, 2)}`))
          await out.flush();
        isFirstItem = false;
      }
      await out.add(isFirstItem ? '[]' : '\n  ]');
    }
    await out.add(isFirstField ? '}\n' : '\n}\n');
  } else {
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
