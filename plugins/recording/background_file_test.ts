import assert from "node:assert/strict";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { BackgroundWriter } from "./background_file.ts";
import { BufferPool } from "./buffer_pool.ts";

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

/** Lets the event loop run a few turns (handles come, writes land). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test(
  "background file: bytes given before the handle came are in the file, in order",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter();
    const file = writer.open(`${dir}/a.bin`);
    // No turn of the event loop yet: the asynchronous open cannot have answered.
    const a = bytes(1000, 1);
    const b = bytes(3000, 2);
    file.append(a);
    file.append(b);
    file.writeAt(10, Uint8Array.of(255, 254));
    assert.equal(file.size, 4000);
    file.close();
    await writer.settle();
    const got = Deno.readFileSync(`${dir}/a.bin`);
    const want = new Uint8Array(4000);
    want.set(a);
    want.set(b, 1000);
    want.set([255, 254], 10);
    assert.deepEqual(got, want);
    assert.equal(await file.done, null);
  }),
);

Deno.test(
  "background file: close() with the open still pending finishes a complete file",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter();
    const files = Array.from({ length: 20 }, (_, i) => writer.open(`${dir}/f${i}.bin`));
    files.forEach((f) => f.close()); // empty files, closed before any handle came
    const later = writer.open(`${dir}/late.bin`);
    later.onOpen((ok) => {
      // Runs when the handle comes: the writing happens then.
      assert.ok(ok);
      later.append(bytes(5000, 3));
      later.close();
    });
    await writer.settle();
    for (let i = 0; i < 20; i++) assert.equal(Deno.statSync(`${dir}/f${i}.bin`).size, 0);
    assert.deepEqual(Deno.readFileSync(`${dir}/late.bin`), bytes(5000, 3));
  }),
);

Deno.test(
  "background file: writes go out one at a time in the background, the rest synchronously",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter({ maxInFlightBytes: 1 << 20 });
    const file = writer.open(`${dir}/a.bin`);
    let opened = false;
    file.onOpen((ok) => opened = ok);
    await turns();
    assert.ok(opened);
    const pieces = Array.from({ length: 12 }, (_, i) => bytes(700 + i, i));
    for (const p of pieces) file.append(p); // the first in flight, the others queued
    assert.ok(writer.pendingBytes > 0);
    await turns();
    file.writeAt(0, Uint8Array.of(9)); // after the first landed: a patch of the file
    file.close();
    await writer.settle();
    const want = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of pieces) {
      want.set(p, at);
      at += p.length;
    }
    want[0] = 9;
    assert.deepEqual(Deno.readFileSync(`${dir}/a.bin`), want);
    assert.equal(writer.pendingBytes, 0);
  }),
);

Deno.test(
  "background file: over the caps, bytes are written at once (the file opened for them)",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter({ maxPendingBytes: 0, maxInFlightBytes: 0 });
    assert.ok(writer.full);
    const file = writer.open(`${dir}/a.bin`);
    // No turn of the event loop: the bytes are on disk right away.
    file.append(bytes(100, 1));
    assert.deepEqual(Deno.readFileSync(`${dir}/a.bin`), bytes(100, 1));
    file.append(bytes(50, 2));
    assert.equal(Deno.statSync(`${dir}/a.bin`).size, 150);
    writer.writeFile(`${dir}/b.json`, new TextEncoder().encode("{}\n"));
    assert.equal(Deno.readTextFileSync(`${dir}/b.json`), "{}\n");
    file.close();
    await writer.settle();
    assert.equal(Deno.statSync(`${dir}/a.bin`).size, 150);
    assert.ok(writer.syncFallbacks >= 3);
  }),
);

Deno.test(
  "background file: an older, longer file of the same name is cut to the new length",
  withTempDir(async (dir) => {
    Deno.writeFileSync(`${dir}/a.bin`, new Uint8Array(10000).fill(7));
    const writer = new BackgroundWriter();
    const file = writer.open(`${dir}/a.bin`);
    file.append(bytes(10, 1)); // before the handle: opened synchronously, not truncated
    file.close();
    await writer.settle();
    assert.deepEqual(Deno.readFileSync(`${dir}/a.bin`), bytes(10, 1));
  }),
);

Deno.test(
  "background file: a failure is reported once, settles `done`, and drops later bytes",
  withTempDir(async (dir) => {
    const errors: string[] = [];
    const writer = new BackgroundWriter({
      onError: (path, e) => errors.push(`${path}: ${e.name}`),
    });
    const file = writer.open(`${dir}/missing/a.bin`);
    let opened: boolean | null = null;
    file.onOpen((ok) => opened = ok);
    file.append(bytes(100, 1));
    file.append(bytes(100, 2));
    file.close();
    await writer.settle();
    assert.equal(opened, false);
    assert.deepEqual(errors, [`${dir}/missing/a.bin: NotFound`]);
    assert.ok((await file.done) instanceof Error);
    assert.equal(writer.pendingBytes, 0);

    writer.writeFile(`${dir}/missing/b.json`, new Uint8Array(3));
    await writer.settle();
    assert.equal(errors.length, 2);
  }),
);

Deno.test(
  "background file: discard removes the file, whether written already or not",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter();
    const early = writer.open(`${dir}/early.bin`);
    early.append(bytes(100, 1));
    early.discard(); // handle maybe not even there
    const late = writer.open(`${dir}/late.bin`);
    late.append(bytes(100, 2));
    late.close();
    await writer.settle();
    assert.ok(Deno.statSync(`${dir}/late.bin`).isFile);
    late.discard();
    await writer.settle();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }),
);

Deno.test(
  "background file: pooled buffers go back to the pool once written or dropped",
  withTempDir(async (dir) => {
    const pool = new BufferPool();
    const writer = new BackgroundWriter({ pool });
    const file = writer.open(`${dir}/a.bin`);
    for (let i = 0; i < 5; i++) {
      const buffer = pool.take(4096);
      new Uint8Array(buffer).fill(i);
      file.append(new Uint8Array(buffer, 0, 4096));
    }
    const dropped = writer.open(`${dir}/b.bin`);
    dropped.append(new Uint8Array(pool.take(4096)));
    dropped.discard();
    file.close();
    await writer.settle();
    assert.equal(pool.liveBytes, 0);
    const got = Deno.readFileSync(`${dir}/a.bin`);
    assert.equal(got.length, 5 * 4096);
    for (let i = 0; i < 5; i++) assert.equal(got[i * 4096 + 100], i);
  }),
);

Deno.test(
  "background file: with a write in flight and no room for more, later pieces go beside it at once",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter({ maxInFlightBytes: 1000 });
    const file = writer.open(`${dir}/a.bin`);
    await turns(); // the handle is here
    const first = bytes(800, 1); // in flight until the next turn
    file.append(first);
    const later = [bytes(700, 2), bytes(900, 3)]; // no room in flight: written now, beside it
    for (const p of later) file.append(p);
    assert.equal(writer.pendingBytes, 800);
    assert.ok(Deno.statSync(`${dir}/a.bin`).size >= 800 + 700 + 900);
    file.writeAt(0, Uint8Array.of(42)); // over the write in flight: waits for it
    file.close();
    await writer.settle();
    const want = new Uint8Array(2400);
    want.set(first);
    want.set(later[0]!, 800);
    want.set(later[1]!, 1500);
    want[0] = 42;
    assert.deepEqual(Deno.readFileSync(`${dir}/a.bin`), want);
  }),
);

Deno.test(
  "background file: without background creation nor writes in flight, everything is done before any turn",
  withTempDir(async (dir) => {
    const writer = new BackgroundWriter({ createInBackground: false, maxInFlightBytes: 0 });
    const path = `${dir}/a.wav`;
    Deno.writeFileSync(path, bytes(100, 9)); // an older, longer file of the same name
    const file = writer.open(path);
    assert.ok(Deno.statSync(path).isFile, "created at once");
    let opened: boolean | null = null;
    file.onOpen((ok) => opened = ok);
    assert.equal(opened, true, "the handle is there at once");
    file.append(bytes(10, 1));
    file.writeAt(0, bytes(2, 5));
    writer.writeFile(`${dir}/a.json`, bytes(3, 2));
    file.close();
    // No await yet: the files are complete now.
    assert.equal(file.written, true);
    assert.deepEqual([...Deno.readFileSync(path)], [...bytes(2, 5), ...bytes(10, 1).subarray(2)]);
    assert.deepEqual([...Deno.readFileSync(`${dir}/a.json`)], [...bytes(3, 2)]);
    assert.equal(writer.pendingBytes, 0);
    const discarded = writer.open(`${dir}/b.wav`);
    discarded.append(bytes(4, 3));
    discarded.discard();
    assert.throws(() => Deno.statSync(`${dir}/b.wav`), Deno.errors.NotFound);
    assert.equal(await file.done, null);
    await writer.settle();
  }),
);
