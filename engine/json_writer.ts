/**
 * Writes a large JSON object piece by piece: plain fields are serialized as
 * they are, list fields are walked one record at a time, so a report with
 * many thousands of calls never exists as one string. The text is the same
 * as `JSON.stringify(object, null, indent)` of the materialized object.
 *
 * @module
 */

/**
 * One field of the object: a value, a list walked record by record, or such a
 * list already serialized (each record's JSON text as `JSON.stringify(record,
 * null, indent)` gives it, with the writer's indent).
 */
export type JsonField =
  | { key: string; value: unknown }
  | { key: string; items: Iterable<unknown> }
  | { key: string; texts: Iterable<string> };

/**
 * The JSON text of an object, in pieces.
 *
 * @param fields The fields, in order.
 * @param indent Spaces per level (0: one line).
 * @returns The pieces; joined, they equal `JSON.stringify` of the object.
 */
export function* jsonObjectPieces(fields: JsonField[], indent = 2): Generator<string> {
  const nl = indent > 0 ? "\n" : "";
  const pad1 = " ".repeat(indent);
  const pad2 = " ".repeat(indent * 2);
  const colon = indent > 0 ? ": " : ":";
  const padded = (text: string, pad: string) =>
    indent > 0 ? text.replaceAll("\n", "\n" + pad) : text;
  const nested = (value: unknown, pad: string) =>
    padded(JSON.stringify(value, null, indent) ?? "null", pad);
  if (fields.length === 0) {
    yield "{}";
    return;
  }
  yield "{" + nl;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    yield pad1 + JSON.stringify(field.key) + colon;
    if ("items" in field || "texts" in field) {
      const texts = "texts" in field ? field.texts : serialized(field.items, indent);
      let first = true;
      for (const text of texts) {
        yield (first ? "[" + nl : "," + nl) + pad2 + padded(text, pad2);
        first = false;
      }
      yield first ? "[]" : nl + pad1 + "]";
    } else {
      yield nested(field.value, pad1);
    }
    yield (i < fields.length - 1 ? "," : "") + nl;
  }
  yield "}";
}

/** The JSON text of each item, one at a time. */
function* serialized(items: Iterable<unknown>, indent: number): Generator<string> {
  for (const item of items) yield JSON.stringify(item, null, indent) ?? "null";
}

/** Something bytes can be written to synchronously (a file, stdout). */
export interface SyncWriter {
  /** Writes some of the bytes; returns how many. */
  writeSync(bytes: Uint8Array): number;
}

/**
 * Writes pieces of text to a synchronous writer in blocks of about 64 KiB.
 *
 * @param pieces The text.
 * @param out Where it goes.
 */
export function writePieces(pieces: Iterable<string>, out: SyncWriter): void {
  const encoder = new TextEncoder();
  let block: string[] = [];
  let size = 0;
  const flush = () => {
    const bytes = encoder.encode(block.join(""));
    let written = 0;
    while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
    block = [];
    size = 0;
  };
  for (const piece of pieces) {
    block.push(piece);
    size += piece.length;
    if (size >= 1 << 16) flush();
  }
  if (size > 0) flush();
}
