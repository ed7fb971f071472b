/**
 * The fast path for a stream that is one JSON object (`kubectl get -o json | kubectl netpol ... -f -`):
 * JSON.parse, with the line of each element of its root `items` found by one scan of the text.
 */
import { BACKSLASH, COLON, DOUBLE_QUOTE, NEWLINE, SPACE, type BlockDocument } from './yaml-block.js';

/**
 * A stream that is one JSON object (`kubectl get -o json`), read by JSON.parse, which reads JSON as the
 * `yaml` package does (JSON's escapes and numbers mean the same in YAML 1.2). Undefined when the text is
 * not JSON alone, or holds what the `yaml` package may read otherwise or refuse: `__proto__`, tabs, CR,
 * a key longer than YAML's implicit keys may be, a second root `items`.
 */
export function readJsonDocument(text: string): BlockDocument | undefined {
  const start = text.search(/\S/);
  if (start < 0 || text.charCodeAt(start) !== 123 || /[\t\r]|__proto__/.test(text)) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const items = scanJsonItems(text, start);
  if (items === undefined) return undefined;
  const line = lineCount(text, 0, start);
  const document: BlockDocument = { value, line };
  if (Array.isArray(value.items)) {
    let at = start;
    let itemLine = line;
    document.itemLines = items.map((offset) => {
      itemLine += lineCount(text, at, offset);
      at = offset;
      return itemLine;
    });
  }
  return document;
}

/** Newlines in text[from, to). */
function lineCount(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('\n', from); at >= 0 && at < to; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/**
 * Offsets of the elements of the root object's `items` array in valid JSON (empty when there is none);
 * undefined when a key is too long for YAML or `items` is a root key twice.
 */
function scanJsonItems(text: string, start: number): number[] | undefined {
  const offsets: number[] = [];
  let depth = 0;
  let isItemsSeen = false;
  let isInItems = false;
  let isValueNext = false;
  for (let at = start; at < text.length; at++) {
    const c = text.charCodeAt(at);
    if (c === DOUBLE_QUOTE) {
      const open = at;
      for (at++; text.charCodeAt(at) !== DOUBLE_QUOTE; at++) if (text.charCodeAt(at) === BACKSLASH) at++;
      let next = at + 1;
      while (text.charCodeAt(next) === SPACE || text.charCodeAt(next) === NEWLINE) next++;
      const isKey = text.charCodeAt(next) === COLON;
      if (isInItems && depth === 2) offsets.push(open);
      if (isKey && at - open > 1000) return undefined;
      if (isKey && depth === 1 && text.slice(open, at + 1) === '"items"') {
        if (isItemsSeen) return undefined;
        isItemsSeen = true;
        isValueNext = true;
        at = next;
        continue;
      }
      isValueNext = false;
      continue;
    }
    if (c === SPACE || c === NEWLINE || c === COLON || c === 44) continue;
    if (c === 123 || c === 91) {
      if (isInItems && depth === 2) offsets.push(at);
      depth++;
      if (isValueNext && c === 91 && depth === 2) isInItems = true;
      isValueNext = false;
      continue;
    }
    if (c === 125 || c === 93) {
      depth--;
      if (depth === 1) isInItems = false;
      continue;
    }
    // A number, true, false or null.
    if (isInItems && depth === 2) offsets.push(at);
    isValueNext = false;
    while (at + 1 < text.length && !' \n,]}'.includes(text[at + 1])) at++;
  }
  return offsets;
}
