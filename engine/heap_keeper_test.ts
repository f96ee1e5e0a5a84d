import assert from "node:assert/strict";
import { HeapKeeper } from "./heap_keeper.ts";

/** A fake heap: grows by what is allocated, shrinks to the live size when collected. */
function fakeHeap(live: number) {
  const heap = { used: live, live, collections: 0 };
  return {
    heap,
    keeper: new HeapKeeper({
      minIntervalMs: 1000,
      slackBytes: 100,
      gc: () => {
        heap.collections++;
        heap.used = heap.live;
      },
      heapUsed: () => heap.used,
    }),
  };
}

Deno.test("HeapKeeper collects once garbage passes the slack, then measures the live size", () => {
  const { heap, keeper } = fakeHeap(1000);
  // Just after a collection nothing is known: live counts as 0, so 100 bytes of slack.
  heap.used = 1050;
  keeper.check(0);
  assert.equal(keeper.collections, 1, "the first check sees 1050 > 0 * 1.5 + 100");
  assert.equal(heap.used, 1000);
  // Now live is 1000: garbage up to 1.5 x 1000 + 100 = 1600 is tolerated.
  heap.used = 1590;
  keeper.check(2000);
  assert.equal(keeper.collections, 1);
  heap.used = 1700;
  keeper.check(4000);
  assert.equal(keeper.collections, 2);
});

Deno.test("HeapKeeper looks at the heap at most once per interval", () => {
  const { heap, keeper } = fakeHeap(1000);
  heap.used = 5000;
  keeper.check(0);
  heap.used = 5000;
  keeper.check(500);
  keeper.check(999);
  assert.equal(heap.collections, 1);
  keeper.check(1000);
  assert.equal(heap.collections, 2);
});

Deno.test("HeapKeeper does nothing without a collector", () => {
  const keeper = new HeapKeeper({ gc: null, heapUsed: () => 1e12 });
  assert.equal(keeper.enabled, false);
  keeper.check(0);
  assert.equal(keeper.collections, 0);
});

Deno.test("HeapKeeper waits after a slow collection so that collecting stays a small share", () => {
  const heap = { used: 1e9 };
  const keeper = new HeapKeeper({
    minIntervalMs: 10,
    slackBytes: 0,
    maxShare: 0.05,
    gc: () => {
      const until = performance.now() + 20; // a 20 ms collection
      while (performance.now() < until) { /* busy */ }
      heap.used = 1;
    },
    heapUsed: () => heap.used,
  });
  keeper.check(0);
  assert.equal(keeper.collections, 1);
  heap.used = 1e9; // garbage again at once
  // 20 ms may be at most 5% of the time: no new collection before 400 ms.
  keeper.check(100);
  keeper.check(350);
  assert.equal(keeper.collections, 1);
  keeper.check(1500); // leaves room for a collection that ran a little long on a busy machine
  assert.equal(keeper.collections, 2);
});
