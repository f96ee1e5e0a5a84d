import assert from "node:assert/strict";
import { FlowTable } from "./flow_table.ts";

Deno.test("flow table: agrees with a Map through random inserts, updates and deletes", () => {
  const table = new FlowTable<number>(16);
  const reference = new Map<string, number>();
  let state = 7;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 50000; i++) {
    // A small key space, so keys collide, repeat and get deleted often.
    const a = 0xc0a80000 + (next() % 40);
    const b = next() % 3;
    const c = ((next() % 5) << 16) | 5060;
    const d = 4;
    const key = `${a}/${b}/${c}/${d}`;
    const op = next() % 3;
    if (op === 0) {
      table.set(a, b, c, d, i);
      reference.set(key, i);
    } else if (op === 1) {
      assert.equal(table.delete(a, b, c, d), reference.delete(key));
    } else {
      assert.equal(table.get(a, b, c, d), reference.get(key));
    }
    assert.equal(table.size, reference.size);
  }
  assert.deepEqual(
    [...table.values()].sort((x, y) => x - y),
    [...reference.values()].sort((x, y) => x - y),
  );
});
