import assert from "node:assert/strict";
import { LinkTypeCounter } from "./summary.ts";

Deno.test("LinkTypeCounter counts runs and switches of link type", () => {
  const counter = new LinkTypeCounter();
  const sequence = [1, 1, 1, 113, 113, 1, 276, 276, 276, 276, 1];
  for (const t of sequence) counter.add(t);
  assert.equal(counter.total(), sequence.length);
  assert.deepEqual(
    new Map(counter.entries()),
    new Map([[1, 5], [113, 2], [276, 4]]),
  );
  // Counting goes on after a read.
  counter.add(1);
  assert.equal(counter.total(), sequence.length + 1);
  assert.equal(new Map(counter.entries()).get(1), 6);
});
