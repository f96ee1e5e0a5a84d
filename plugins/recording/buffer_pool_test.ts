import assert from "node:assert/strict";
import { BufferPool, MIN_POOLED_BYTES } from "./buffer_pool.ts";

Deno.test("buffer pool: sizes are powers of two from the minimum", () => {
  assert.equal(BufferPool.sizeFor(1), MIN_POOLED_BYTES);
  assert.equal(BufferPool.sizeFor(MIN_POOLED_BYTES + 1), 2 * MIN_POOLED_BYTES);
  assert.equal(BufferPool.sizeFor(65536), 65536);
  assert.equal(BufferPool.sizeFor(65537), 131072);
});

Deno.test("buffer pool: a buffer comes back only when its last holder lets go", () => {
  const pool = new BufferPool();
  const a = pool.take(10000);
  pool.ref(a);
  pool.ref(a);
  pool.unref(a);
  pool.unref(a);
  assert.equal(pool.liveBytes, 16384);
  assert.notEqual(pool.take(10000), a); // still held: a new one
  pool.unref(a);
  assert.equal(pool.freeBytes, 16384);
  assert.equal(pool.take(9000), a);
  pool.unref(a);
  pool.unref(a); // one too many: ignored
  assert.equal(pool.freeBytes, 16384);
});

Deno.test("buffer pool: a free bigger buffer (up to four times) serves a smaller request", () => {
  const pool = new BufferPool();
  const big = pool.take(32768);
  pool.unref(big);
  assert.equal(pool.take(8192), big);
  const huge = pool.take(65536);
  pool.unref(huge);
  const small = pool.take(4096); // 16 times smaller: a new one
  assert.notEqual(small, huge);
  assert.equal(small.byteLength, 4096);
});

Deno.test("buffer pool: past the free cap, buffers are left to the collector", () => {
  const pool = new BufferPool(8192);
  const bufs = [pool.take(4096), pool.take(4096), pool.take(4096)];
  for (const b of bufs) pool.unref(b);
  assert.equal(pool.freeBytes, 8192);
  assert.equal(pool.liveBytes, 0);
  assert.equal(pool.allocatedBytes, 3 * 4096);
});

Deno.test("buffer pool: buffers it did not make are ignored", () => {
  const pool = new BufferPool();
  const foreign = new ArrayBuffer(4096);
  pool.ref(foreign);
  pool.unref(foreign);
  assert.equal(pool.freeBytes, 0);
  assert.notEqual(pool.take(4096), foreign);
});
