import assert from "node:assert/strict";
import { BufferPool } from "./buffer_pool.ts";
import { PcmChunks, RetainBudget } from "./pcm_chunks.ts";

/** A deterministic pseudo-random sequence. */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

Deno.test("pcm chunks: reads across chunks match the audio they hold, silence outside", () => {
  const rand = random(7);
  for (const channels of [1, 2]) {
    const pcm = new PcmChunks(8000, channels);
    const all: number[] = [];
    for (let c = 0; c < 20; c++) {
      const frames = 1 + Math.floor(rand() * 300);
      const chunk = new Int16Array((frames + 5) * channels); // room past the audio
      for (let i = 0; i < frames * channels; i++) {
        chunk[i] = Math.floor(rand() * 65536) - 32768;
        all.push(chunk[i]!);
      }
      chunk.fill(12345, frames * channels); // must never be read
      pcm.push(chunk, frames);
    }
    const frames = all.length / channels;
    assert.equal(pcm.frames, frames);
    for (let n = 0; n < 300; n++) {
      const start = Math.floor(rand() * (frames + 400)) - 200;
      const count = Math.floor(rand() * 700);
      const out = new Int16Array(count * channels + 3).fill(-1);
      pcm.read(start, count, out, 3);
      for (let f = 0; f < count; f++) {
        for (let c = 0; c < channels; c++) {
          const frame = start + f;
          const want = frame >= 0 && frame < frames ? all[frame * channels + c]! : 0;
          assert.equal(out[3 + f * channels + c], want, `frame ${frame}`);
        }
      }
      assert.deepEqual([...out.subarray(0, 3)], [-1, -1, -1]);
    }
  }
});

Deno.test("pcm chunks: the budget refuses what does not fit; the last holder gives it all back", () => {
  const pool = new BufferPool();
  const budget = new RetainBudget(10000);
  const pcm = new PcmChunks(8000, 1, { pool, budget });
  const a = new Int16Array(pool.take(8192), 0, 4096); // 8192 bytes
  assert.ok(pcm.tryPush(a, 4096));
  const b = new Int16Array(pool.take(4096), 0, 2048);
  assert.ok(!pcm.tryPush(b, 2048)); // 8192 + 4096 > 10000
  assert.equal(budget.used, 8192);
  pool.unref(a.buffer); // the writer's own references
  pool.unref(b.buffer);
  pcm.hold(); // a call file waiting to be mixed
  pcm.drop(); // the stream's writer lets go
  assert.ok(pcm.held);
  assert.equal(pcm.frames, 4096);
  pcm.drop(); // the mix is done
  assert.ok(!pcm.held);
  assert.equal(pcm.frames, 0);
  assert.equal(budget.used, 0);
  assert.equal(pool.liveBytes, 0);
  assert.ok(!pcm.tryPush(new Int16Array(10), 10)); // nothing is kept once dropped
});
