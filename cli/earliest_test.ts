import assert from "node:assert/strict";
import { Earliest } from "./earliest.ts";

Deno.test("earliest: the first n of any order, as a full sort gives them, ties in arrival order", () => {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const [count, limit] of [[0, 3], [5, 10], [1000, 1], [1000, 50], [3000, 1000]] as const) {
    // Keys with many ties (a tenth of a second resolution), tagged with their arrival.
    const items = Array.from(
      { length: count },
      (_, i) => ({ ts: Math.floor(next() * 200) / 10, i }),
    );
    const first = new Earliest<{ ts: number; i: number }>(limit, (r) => r.ts);
    for (const item of items) first.push(item);
    const expected = [...items].sort((a, b) => a.ts - b.ts || a.i - b.i).slice(0, limit);
    assert.deepEqual(first.sorted(), expected, `${count} items, limit ${limit}`);
    assert.equal(first.seen, count);
    assert.equal(first.truncated, count > limit);
  }
});

Deno.test("earliest: Infinity keeps everything; 0 keeps nothing but counts", () => {
  const all = new Earliest<number>(Infinity, (v) => v);
  const none = new Earliest<number>(0, (v) => v);
  for (const v of [3, 1, 2]) {
    all.push(v);
    none.push(v);
  }
  assert.deepEqual(all.sorted(), [1, 2, 3]);
  assert.equal(all.truncated, false);
  assert.deepEqual(none.sorted(), []);
  assert.equal(none.seen, 3);
  assert.equal(none.truncated, true);
});
