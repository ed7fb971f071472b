/**
 * Multi-document YAML to plain values, fast, without loading a YAML library: a stream that is one JSON
 * object is read by JSON.parse, and otherwise the stream is cut into documents at `---` lines and each
 * document of plain block YAML (the common case: `kubectl get -o yaml`, generated manifests) is read in
 * one pass by yaml-block.ts. The first document it leaves (anything else, errors included) and the rest
 * of the stream go to yaml-documents.ts (js-yaml and the `yaml` package), which files.ts loads only then:
 * a table from plain manifests starts without compiling either library.
 */
import { readJsonDocument } from './json-document.js';
import { readBlockDocument } from './yaml-block.js';

/** One non-empty document: its value, the 1-based line where it starts, and where a List's items start. */
export interface YamlDocument {
  value: unknown;
  line: number;
  /** Lines of the elements of a top-level `items` sequence, when there is one. */
  itemLines?: number[];
}

/** A slice of the stream holding one document (its `---` line included) and the line it starts on. */
export interface Chunk {
  text: string;
  /** Offset of the chunk in the stream. */
  start: number;
  startLine: number;
}

/** What the fast readers read: the documents up to the first they leave, and the chunks from there on. */
export interface FastReading {
  documents: YamlDocument[];
  /** The chunks left to read ([] when done); 'whole' when the stream must be read as one. */
  rest: Chunk[] | 'whole';
}

/** Text that makes documents depend on each other (directives, `...` ends, a byte order mark past the start). */
const NEEDS_WHOLE_STREAM = /^%|^\.\.\.(?:[ \t\r]|$)/m;

/** The documents JSON.parse and yaml-block.ts read, up to the first chunk they leave. */
export function readFastDocuments(text: string): FastReading {
  if (NEEDS_WHOLE_STREAM.test(text) || text.indexOf('\uFEFF', 1) >= 0) return { documents: [], rest: 'whole' };
  const json = readJsonDocument(text);
  if (json) return { documents: [toYamlDocument(json, 1)], rest: [] };
  const documents: YamlDocument[] = [];
  const chunks = splitDocuments(text);
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i];
    const block = readBlockDocument(text, chunk.start, chunk.start + chunk.text.length);
    if (!block) return { documents, rest: chunks.slice(i) };
    documents.push(toYamlDocument(block, chunk.startLine));
  }
  return { documents, rest: [] };
}

/** A document read by yaml-block.ts, its lines counted from `startLine` (1-based). */
export function toYamlDocument(
  read: NonNullable<ReturnType<typeof readJsonDocument>>,
  startLine: number,
): YamlDocument {
  const document: YamlDocument = { value: read.value, line: startLine + read.line };
  if (read.itemLines) document.itemLines = read.itemLines.map((l) => startLine + l);
  return document;
}

/** Cuts a stream before every `---` line (a document start marker at column 0 followed by a space or the end of line). */
function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  for (let pos = 0; pos < text.length; line++) {
    if (pos > start && isDocumentStart(text, pos)) {
      chunks.push({ text: text.slice(start, pos), start, startLine });
      start = pos;
      startLine = line;
    }
    const newline = text.indexOf('\n', pos);
    if (newline < 0) break;
    pos = newline + 1;
  }
  chunks.push({ text: text.slice(start), start, startLine });
  return chunks;
}

export function isDocumentStart(text: string, pos: number): boolean {
  if (!text.startsWith('---', pos)) return false;
  const next = text.charCodeAt(pos + 3);
  // End of text, space, tab, CR or LF.
  return Number.isNaN(next) || next === 32 || next === 9 || next === 13 || next === 10;
}
