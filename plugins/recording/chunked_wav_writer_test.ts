import assert from "node:assert/strict";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { BackgroundWriter } from "./background_file.ts";
import { BufferPool } from "./buffer_pool.ts";
import { ChunkedWavWriter, SyncFileSink, type WavSink } from "./chunked_wav_writer.ts";
import { RetainBudget } from "./pcm_chunks.ts";
import { WavReader } from "./wav_reader.ts";
import { WavWriter } from "./wav_writer.ts";

function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

type Step =
  | { kind: "write"; samples: Int16Array }
  | { kind: "silence"; frames: number }
  | { kind: "direct"; samples: Int16Array };

function steps(seed: number, channels: number, count: number): Step[] {
  const rand = random(seed);
  const out: Step[] = [];
  for (let i = 0; i < count; i++) {
    const frames = Math.floor(rand() * 900);
    const r = rand();
    if (r < 0.2) {
      out.push({ kind: "silence", frames });
      continue;
    }
    const samples = Int16Array.from(
      { length: frames * channels },
      () => Math.floor(rand() * 65536) - 32768,
    );
    out.push({ kind: r < 0.6 ? "direct" : "write", samples });
  }
  return out;
}

function play(writer: ChunkedWavWriter | WavWriter, list: Step[]): void {
  for (const step of list) {
    if (step.kind === "silence") {
      writer.writeSilence(step.frames);
    } else if (step.kind === "write" || writer instanceof WavWriter) {
      writer.write(step.samples);
    } else {
      // Straight into the chunk, as the track decodes.
      const frames = step.samples.length / writer.channels;
      writer.reserve(frames);
      writer.chunk.set(step.samples, writer.at);
      writer.commit(frames);
    }
  }
}

Deno.test(
  "chunked WAV: the same bytes as WavWriter, for any chunk size, sync or in the background",
  withTempDir(async (dir) => {
    for (const channels of [1, 2]) {
      for (const [seed, chunkFrames] of [[1, 1], [2, 160], [3, 1000], [4, 32768]] as const) {
        const list = steps(seed, channels, 60);
        const ref = WavWriter.create(`${dir}/ref.wav`, { sampleRate: 16000, channels });
        play(ref, list);
        ref.close();
        const want = Deno.readFileSync(`${dir}/ref.wav`);

        const sync = new ChunkedWavWriter({
          sampleRate: 16000,
          channels,
          chunkFrames,
          sink: new SyncFileSink(`${dir}/sync.wav`),
        });
        play(sync, list);
        assert.deepEqual(sync.close(), ref.close());
        assert.deepEqual(Deno.readFileSync(`${dir}/sync.wav`), want);

        const pool = new BufferPool();
        const background = new BackgroundWriter({ pool, maxInFlightBytes: 4096 });
        const bg = new ChunkedWavWriter({
          sampleRate: 16000,
          channels,
          chunkFrames,
          pool,
          sink: background.open(`${dir}/bg.wav`),
          headerEveryBytes: 5000,
        });
        play(bg, list);
        bg.close();
        await background.settle();
        assert.deepEqual(Deno.readFileSync(`${dir}/bg.wav`), want);
        assert.equal(pool.liveBytes, 0);
      }
    }
  }),
);

Deno.test(
  "chunked WAV: with a header after every chunk, the file is valid up to its last chunk",
  withTempDir((dir) => {
    const path = `${dir}/a.wav`;
    const w = new ChunkedWavWriter({
      sampleRate: 8000,
      chunkFrames: 800,
      sink: new SyncFileSink(path),
      headerEveryBytes: 0,
    });
    for (let k = 0; k < 11; k++) w.write(new Int16Array(160).fill(k));
    // 1760 frames given: two chunks of 800 written.
    const r = WavReader.open(path);
    assert.equal(r.frames, 1600);
    const x = new Int16Array(1600);
    r.read(0, 1600, x);
    r.close();
    assert.equal(x[1599], 9);
    w.close();
    const after = WavReader.open(path);
    assert.equal(after.frames, 1760);
    after.close();
  }),
);

Deno.test("chunked WAV: frames placed ahead of `at` move along when a new chunk starts", () => {
  const sent: Uint8Array[] = [];
  const sink: WavSink = {
    append: (b) => void sent.push(b.slice()),
    writeAt: () => {},
    close: () => {},
    discard: () => {},
  };
  const w = new ChunkedWavWriter({ sampleRate: 8000, chunkFrames: 100, sink });
  w.writeSilence(90);
  // Two frames decoded ahead, at 90 + 5: they must survive the switch to a new chunk.
  w.chunk[w.at + 5] = 1234;
  w.chunk[w.at + 6] = -1234;
  w.reserve(20, 7);
  assert.equal(w.at, 0);
  assert.deepEqual([w.chunk[5], w.chunk[6]], [1234, -1234]);
  w.writeSilence(5);
  w.commit(2);
  assert.equal(w.frames, 97);
  w.close();
  const data = new Int16Array(sent.slice(1).reduce((n, b) => n + b.length, 0) / 2);
  let at = 0;
  for (const b of sent.slice(1)) {
    data.set(new Int16Array(b.buffer, b.byteOffset, b.length / 2), at);
    at += b.length / 2;
  }
  // The first piece holds the header and the first 90 frames.
  assert.equal(sent[0]!.length, 44 + 180);
  assert.deepEqual([...data.subarray(5, 7)], [1234, -1234]);
});

Deno.test(
  "chunked WAV: a lazy sink makes no file while the audio stays in memory",
  withTempDir((dir) => {
    let made = 0;
    const budget = new RetainBudget(1 << 20);
    const w = new ChunkedWavWriter({
      sampleRate: 8000,
      chunkFrames: 1000,
      sink: () => {
        made++;
        return new SyncFileSink(`${dir}/lazy.wav`);
      },
      retain: budget,
    });
    w.write(new Int16Array(2500).fill(3));
    const summary = w.close();
    assert.equal(summary.frames, 2500);
    assert.equal(made, 0);
    const out = new Int16Array(2500);
    w.pcm!.read(0, 2500, out);
    assert.ok(out.every((v) => v === 3));
    w.release();
    assert.equal(budget.used, 0);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }),
);

Deno.test(
  "chunked WAV: past the memory budget a lazy sink writes everything, from the first frame",
  withTempDir((dir) => {
    const budget = new RetainBudget(4000); // two chunks of 1000 frames (2 KB each, and the header's room)
    const w = new ChunkedWavWriter({
      sampleRate: 8000,
      chunkFrames: 1000,
      sink: () => new SyncFileSink(`${dir}/lazy.wav`),
      retain: budget,
    });
    for (let k = 0; k < 5; k++) w.write(new Int16Array(1000).fill(k));
    w.close();
    assert.equal(w.pcm, null);
    assert.equal(budget.used, 0);
    const r = WavReader.open(`${dir}/lazy.wav`);
    const x = new Int16Array(r.frames);
    r.read(0, r.frames, x);
    r.close();
    assert.equal(x.length, 5000);
    for (let k = 0; k < 5; k++) assert.equal(x[k * 1000 + 500], k);
  }),
);

Deno.test(
  "chunked WAV: the size cap truncates as WavWriter does",
  withTempDir((dir) => {
    const ref = WavWriter.create(`${dir}/ref.wav`, { sampleRate: 8000, maxDataBytes: 3001 });
    const w = new ChunkedWavWriter({
      sampleRate: 8000,
      chunkFrames: 700,
      sink: new SyncFileSink(`${dir}/c.wav`),
      maxDataBytes: 3001,
    });
    for (const x of [ref, w]) {
      x.write(new Int16Array(1000).fill(1));
      x.writeSilence(1000);
    }
    assert.deepEqual(w.close(), ref.close());
    assert.ok(w.truncated);
    assert.deepEqual(Deno.readFileSync(`${dir}/c.wav`), Deno.readFileSync(`${dir}/ref.wav`));
  }),
);
