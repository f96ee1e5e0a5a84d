import assert from "node:assert/strict";
import { ChunkedWavWriter, SyncFileSink } from "./chunked_wav_writer.ts";
import { type MixSource, mixToWav, mixWith, plannedMixSummary } from "./mixer.ts";
import { PcmChunks } from "./pcm_chunks.ts";
import { channelOf, dominantFrequency, toneAmplitude } from "./tone_analysis.ts";
import { WavReader } from "./wav_reader.ts";
import { WavWriter } from "./wav_writer.ts";

function withDir(fn: (dir: string) => void): () => void {
  return () => {
    const dir = Deno.makeTempDirSync();
    try {
      fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

function source(
  path: string,
  samples: Int16Array,
  sampleRate: number,
  offset: number,
  coverage?: number[],
): MixSource {
  const w = WavWriter.create(path, { sampleRate });
  w.write(samples);
  w.close();
  return { path, sampleRate, frames: samples.length, offset, coverage };
}

function read(path: string): { rate: number; channels: Int16Array[] } {
  const r = WavReader.open(path);
  const all = new Int16Array(r.frames * r.channels);
  r.read(0, r.frames, all);
  r.close();
  const channels = [];
  for (let c = 0; c < r.channels; c++) channels.push(channelOf(all, c, r.channels));
  return { rate: r.sampleRate, channels };
}

function tone(hz: number, rate: number, seconds: number, amplitude = 8000): Int16Array {
  return Int16Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => Math.round(amplitude * Math.sin(2 * Math.PI * hz * i / rate)),
  );
}

Deno.test(
  "mixer: stereo places each source at its offset, silence elsewhere",
  withDir((dir) => {
    const a = source(`${dir}/a.wav`, new Int16Array(800).fill(100), 8000, 0);
    const b = source(`${dir}/b.wav`, new Int16Array(800).fill(-200), 8000, 0.25);
    const summary = mixToWav({
      path: `${dir}/out.wav`,
      channels: [[{ sources: [a] }], [{ sources: [b] }]],
    });
    assert.equal(summary.frames, 2800);
    const { channels: [left, right] } = read(`${dir}/out.wav`);
    assert.ok(left!.subarray(0, 800).every((v) => v === 100));
    assert.ok(left!.subarray(800).every((v) => v === 0));
    assert.ok(right!.subarray(0, 2000).every((v) => v === 0));
    assert.ok(right!.subarray(2000).every((v) => v === -200));
  }),
);

Deno.test(
  "mixer: within a group the first source wins and the next only fills its gaps",
  withDir((dir) => {
    // Same party on two streams: the first has a hole at [400, 800).
    const first = source(`${dir}/1.wav`, new Int16Array(1200).fill(1000), 8000, 0, [
      0,
      400,
      800,
      1200,
    ]);
    const second = source(`${dir}/2.wav`, new Int16Array(1200).fill(7), 8000, 0);
    // Another party in the same channel is added.
    const other = source(`${dir}/3.wav`, new Int16Array(1200).fill(30000), 8000, 0);
    mixToWav({
      path: `${dir}/out.wav`,
      channels: [[{ sources: [first, second] }, { sources: [other] }]],
    });
    const { channels: [x] } = read(`${dir}/out.wav`);
    assert.deepEqual(
      [x![0], x![399], x![400], x![799], x![800], x![1199]],
      [
        31000,
        31000,
        30007,
        30007,
        31000,
        31000,
      ].map((v) => Math.min(v, 32767)),
    );
  }),
);

Deno.test(
  "mixer: a source at a lower rate is resampled to the highest rate, keeping its pitch and time",
  withDir((dir) => {
    const narrow = source(`${dir}/n.wav`, tone(440, 8000, 1), 8000, 0.5);
    const wide = source(`${dir}/w.wav`, tone(1000, 16000, 2), 16000, 0);
    const summary = mixToWav({
      path: `${dir}/out.wav`,
      channels: [[{ sources: [narrow] }], [{ sources: [wide] }]],
    });
    assert.equal(summary.frames, 32000);
    const { rate, channels: [left, right] } = read(`${dir}/out.wav`);
    assert.equal(rate, 16000);
    assert.ok(left!.subarray(0, 8000).every((v) => v === 0));
    const voiced = left!.subarray(8000, 24000);
    assert.ok(Math.abs(dominantFrequency(voiced, 16000) - 440) < 1);
    assert.ok(toneAmplitude(voiced, 16000, 440) > 7800);
    assert.ok(left!.subarray(24001).every((v) => v === 0));
    assert.ok(Math.abs(dominantFrequency(right!, 16000) - 1000) < 1);
  }),
);

Deno.test(
  "mixer: a source that began before the output is cut; durationSeconds bounds the file",
  withDir((dir) => {
    const ramp = Int16Array.from({ length: 8000 }, (_, i) => i);
    const s = source(`${dir}/r.wav`, ramp, 8000, -0.5);
    const summary = mixToWav({
      path: `${dir}/out.wav`,
      channels: [[{ sources: [s] }]],
      durationSeconds: 0.75,
    });
    assert.equal(summary.frames, 6000);
    const { channels: [x] } = read(`${dir}/out.wav`);
    assert.equal(x![0], 4000);
    assert.equal(x![3999], 7999);
    assert.ok(x!.subarray(4000).every((v) => v === 0));
  }),
);

Deno.test(
  "mixer: three channels are refused",
  withDir((dir) => {
    assert.throws(() => mixToWav({ path: `${dir}/x.wav`, channels: [[], [], []] }), RangeError);
  }),
);

Deno.test(
  "mixer: mixing from audio in memory writes the same file as mixing from the stream files",
  withDir((dir) => {
    const rand = (() => {
      let x = 99;
      return () => (x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    })();
    const made: MixSource[] = [];
    for (let i = 0; i < 5; i++) {
      const rate = i === 2 ? 16000 : 8000;
      const frames = 4000 + Math.floor(rand() * 9000);
      const samples = Int16Array.from({ length: frames }, () => Math.floor(rand() * 60000) - 30000);
      const cut = Math.floor(rand() * frames);
      made.push(
        source(`${dir}/s${i}.wav`, samples, rate, rand() * 0.7 - 0.1, [0, cut, cut + 500, frames]),
      );
    }
    const memory = made.map((s) => {
      const pcm = new PcmChunks(s.sampleRate, 1);
      const r = WavReader.open(s.path);
      const all = new Int16Array(r.frames);
      r.read(0, r.frames, all);
      r.close();
      // In uneven chunks, as a stream fills them.
      for (let at = 0; at < all.length; at += 777) {
        const piece = all.slice(at, at + 777);
        pcm.push(piece, piece.length);
      }
      return { ...s, path: `${dir}/not-there.wav`, pcm };
    });
    const layouts = (x: MixSource[]) => [
      [[{ sources: [x[0]!] }], [{ sources: [x[1]!] }]], // a leg: one party per side
      [[{ sources: [x[0]!, x[3]!] }], [{ sources: [x[1]!] }, { sources: [x[2]!, x[4]!] }]],
      [[{ sources: [x[2]!] }, { sources: [x[0]!] }, { sources: [x[4]!] }]], // a conference mix
    ];
    const a = layouts(made);
    const b = layouts(memory);
    for (let n = 0; n < a.length; n++) {
      const fromFiles = mixToWav({
        path: `${dir}/f${n}.wav`,
        channels: a[n]!,
        durationSeconds: 1.7,
      });
      const summary = plannedMixSummary({ path: "", channels: b[n]!, durationSeconds: 1.7 });
      const fromMemory = mixWith(
        { path: "", channels: b[n]!, durationSeconds: 1.7, blockSeconds: 0.3 },
        (format) =>
          new ChunkedWavWriter({
            ...format,
            chunkFrames: 1000,
            sink: new SyncFileSink(`${dir}/m${n}.wav`),
          }),
      );
      assert.deepEqual(fromMemory, fromFiles);
      assert.deepEqual(summary, fromFiles);
      assert.deepEqual(
        Deno.readFileSync(`${dir}/m${n}.wav`),
        Deno.readFileSync(`${dir}/f${n}.wav`),
      );
    }
  }),
);
