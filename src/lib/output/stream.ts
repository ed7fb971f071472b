/**
 * JSON and YAML documents written piece by piece: a list field is written item by item from an
 * iterable, so a document of millions of entries never becomes one string (V8 caps strings at ~512 MB).
 * The bytes are those of renderDocument on the whole document.
 */

/** A top-level field: a plain value, or a list given as an iterable of items (written one by one). */
export type DocumentField = { key: string; value: unknown } | { key: string; items: Iterable<unknown> };

/** Where the document goes: process.stdout, or anything with its write/drain contract. Chunks are UTF-8, never splitting a character. */
export interface DocumentSink {
  write(chunk: Uint8Array): boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

/** Where an item writer puts a list item: UTF-8 bytes as they are, or text (encoded as it is added). */
export interface ItemOut {
  bytes(chunk: Uint8Array): void;
  text(chunk: string): void;
}

/** Bytes are handed to the sink in chunks of about this size. */
const CHUNK = 1 << 16;

/**
 * Gathers the document in chunk-sized buffers (text encoded straight into them, bytes copied), and
 * hands full ones to the sink, waiting for 'drain' when the sink asks to.
 */
class ChunkWriter implements ItemOut {
  private buffer = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  /** Full chunks not yet handed to the sink. */
  private ready: Uint8Array[] = [];
  constructor(private readonly sink: DocumentSink) {}

  /** True when a chunk is full: flush (awaited) before more is added. */
  get isFull(): boolean {
    return this.ready.length > 0;
  }

  bytes(chunk: Uint8Array): void {
    if (chunk.length > CHUNK - this.used) {
      this.close();
      if (chunk.length > CHUNK) {
        this.ready.push(chunk);
        return;
      }
    }
    this.buffer.set(chunk, this.used);
    this.used += chunk.length;
  }

  text(chunk: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (chunk.length * 3 > CHUNK - this.used) {
      this.close();
      if (chunk.length * 3 > CHUNK) {
        this.ready.push(Buffer.from(chunk));
        return;
      }
    }
    this.used += this.buffer.write(chunk, this.used);
  }

  async add(text: string): Promise<void> {
    this.text(text);
    if (this.isFull) await this.flush();
  }

  /** Hands the full chunks to the sink; with `isLast`, what is left too. */
  async flush(isLast = false): Promise<void> {
    if (isLast) this.close();
    const chunks = this.ready;
    this.ready = [];
    const { once } = this.sink;
    for (const chunk of chunks)
      if (!this.sink.write(chunk) && once) await new Promise<void>((resolve) => once.call(this.sink, 'drain', resolve));
  }

  /** Ends the current chunk (the sink may keep it: a new buffer is taken). */
  private close(): void {
    if (this.used === 0) return;
    this.ready.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(CHUNK);
    this.used = 0;
  }
}

/** What comes before the first item of a JSON list, and before each later one. */
const FIRST_ITEM = Buffer.from('[\n    ');
const NEXT_ITEM = Buffer.from(',\n    ');

/** `text` with every line after the first indented by `spaces`. */
function indentRest(text: string, spaces: number): string {
  return text.replace(/\n/g, '\n' + ' '.repeat(spaces));
}

/** JSON of a value as it sits `depth` levels deep in a 2-space pretty document. */
export function jsonAt(value: unknown, depth: number): string {
  return indentRest(JSON.stringify(value, null, 2), depth * 2);
}

/**
 * Writes a document as JSON (2-space indent) or YAML, ending with a newline. `writeItem` may write a
 * JSON list item itself (at depth 2, i.e. indented by 4 after its first line), for speed.
 */
export async function writeDocument(
  fields: DocumentField[],
  format: 'json' | 'yaml',
  sink: DocumentSink,
  writeItem?: (item: unknown, out: ItemOut) => void,
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
        out.bytes(isFirstItem ? FIRST_ITEM : NEXT_ITEM);
        if (writeItem) writeItem(item, out);
        else out.text(jsonAt(item, 2));
        // Only a full chunk waits: an await per entry costs more than the entry's text.
        if (out.isFull) await out.flush();
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
  await out.flush(true);
}
