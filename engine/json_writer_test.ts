import assert from "node:assert/strict";
import { type JsonField, jsonObjectPieces, writePieces } from "./json_writer.ts";

const sample = {
  summary: { a: 1, nested: { list: [1, 2, { x: "a\nb" }] } },
  calls: [{ id: "c1", tags: ["x", "y"] }, { id: "c2", tags: [] }, { id: '"q"' }],
  empty: [] as unknown[],
  plugins: [],
};

function* once<T>(items: T[]): Generator<T> {
  yield* items;
}

for (const indent of [0, 2, 4]) {
  for (const form of ["items", "texts"] as const) {
    Deno.test(`json pieces equal JSON.stringify with indent ${indent}, lists as ${form}`, () => {
      // A list goes to the writer as records, or as their JSON text at the writer's indent.
      const list = (key: string, items: unknown[]): JsonField =>
        form === "items"
          ? { key, items: once(items) }
          : { key, texts: once(items.map((i) => JSON.stringify(i, null, indent))) };
      const text = [
        ...jsonObjectPieces([
          { key: "summary", value: sample.summary },
          list("calls", sample.calls),
          list("empty", sample.empty),
          { key: "plugins", value: sample.plugins },
        ], indent),
      ].join("");
      assert.deepEqual(text, JSON.stringify(sample, null, indent));
    });
  }
}

Deno.test("an object without fields is {}", () => {
  assert.deepEqual([...jsonObjectPieces([])].join(""), "{}");
});

Deno.test("writePieces writes every byte even when the writer takes a few at a time", () => {
  const chunks: Uint8Array[] = [];
  const slowWriter = {
    writeSync(bytes: Uint8Array): number {
      const n = Math.min(3, bytes.length);
      chunks.push(bytes.slice(0, n));
      return n;
    },
  };
  const pieces = Array.from({ length: 2000 }, (_, i) => `piece ${i} ü;`);
  writePieces(pieces, slowWriter);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.length;
  }
  assert.deepEqual(new TextDecoder().decode(all), pieces.join(""));
});
