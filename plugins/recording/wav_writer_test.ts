import { toolWorks } from "../../tests/support/tools.ts";
import assert from "node:assert/strict";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { channelOf, dominantFrequency } from "./tone_analysis.ts";
import { WAV_HEADER_BYTES, WAV_MAX_DATA_BYTES, WavWriter } from "./wav_writer.ts";

const hasSox = toolWorks("sox", ["--version"]);
if (!hasSox) console.warn("wav_writer_test: sox not found, skipping the sox reading tests");

/** What `sox --i` says about a file. */
function soxInfo(
  path: string,
): { rate: number; channels: number; samples: number; seconds: number } {
  const ask = (flag: string) => {
    const result = new Deno.Command("sox", {
      args: ["--i", flag, path],
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
    if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
    return Number(new TextDecoder().decode(result.stdout).trim());
  };
  return { rate: ask("-r"), channels: ask("-c"), samples: ask("-s"), seconds: ask("-D") };
}

/** Samples as sox reads them back (interleaved, s16le). */
function soxSamples(path: string): Int16Array {
  const result = new Deno.Command("sox", {
    args: [path, "-t", "s16", "-L", "-"],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  const bytes = result.stdout;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int16Array.from({ length: bytes.length / 2 }, (_, i) => view.getInt16(2 * i, true));
}

function tone(frequency: number, sampleRate: number, frames: number, channels = 1, second = 0) {
  const out = new Int16Array(frames * channels);
  for (let i = 0; i < frames; i++) {
    out[i * channels] = Math.round(9000 * Math.sin(2 * Math.PI * frequency * i / sampleRate));
    if (channels === 2) {
      out[i * channels + 1] = Math.round(9000 * Math.sin(2 * Math.PI * second * i / sampleRate));
    }
  }
  return out;
}

/** Header sizes as stored: RIFF size, data size. */
function headerSizes(path: string): { riff: number; data: number } {
  const bytes = Deno.readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { riff: view.getUint32(4, true), data: view.getUint32(40, true) };
}

Deno.test(
  "WavWriter: a mono file holds exactly what was written, header sizes final",
  withTempDir((dir) => {
    const path = `${dir}/mono.wav`;
    const writer = WavWriter.create(path, { sampleRate: 8000, flushSeconds: 0.5 });
    const audio = tone(440, 8000, 20000);
    // Odd-sized chunks, as packets of mixed sizes arrive.
    for (let at = 0; at < audio.length; at += 333) {
      writer.write(audio.subarray(at, Math.min(at + 333, audio.length)));
    }
    assert.equal(writer.writeSilence(4000), 4000);
    assert.equal(writer.frames, 24000);
    const summary = writer.close();
    assert.deepEqual(summary, {
      frames: 24000,
      dataBytes: 48000,
      durationSeconds: 3,
      truncated: false,
    });
    assert.equal(Deno.statSync(path).size, WAV_HEADER_BYTES + 48000);
    assert.deepEqual(headerSizes(path), { riff: 36 + 48000, data: 48000 });
    const bytes = Deno.readFileSync(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < audio.length; i += 997) {
      assert.equal(view.getInt16(WAV_HEADER_BYTES + 2 * i, true), audio[i]);
    }
    assert.equal(view.getInt16(WAV_HEADER_BYTES + 2 * 23999, true), 0);
    assert.deepEqual(writer.close(), summary); // idempotent
    assert.throws(() => writer.write(audio), TypeError);
  }),
);

Deno.test({
  name: "WavWriter: sox reads mono and stereo files with the expected rate, channels, duration",
  ignore: !hasSox,
  fn: withTempDir((dir) => {
    const mono = `${dir}/mono.wav`;
    const m = WavWriter.create(mono, { sampleRate: 8000 });
    const audio = tone(1000, 8000, 12000);
    m.write(audio);
    m.writeSilence(8000);
    m.close();
    assert.deepEqual(soxInfo(mono), { rate: 8000, channels: 1, samples: 20000, seconds: 2.5 });
    const back = soxSamples(mono);
    assert.deepEqual(back.subarray(0, 12000), audio);
    assert.ok(back.subarray(12000).every((x) => x === 0));

    const stereo = `${dir}/stereo.wav`;
    const s = WavWriter.create(stereo, { sampleRate: 16000, channels: 2, flushSeconds: 0.25 });
    s.writeSilence(1600); // 0.1 s of silence first, as a late-starting leg
    s.write(tone(600, 16000, 16000, 2, 2400));
    s.close();
    assert.deepEqual(soxInfo(stereo), { rate: 16000, channels: 2, samples: 17600, seconds: 1.1 });
    const both = soxSamples(stereo);
    const left = channelOf(both, 0, 2).subarray(1600);
    const right = channelOf(both, 1, 2).subarray(1600);
    assert.ok(Math.abs(dominantFrequency(left, 16000) - 600) < 0.5);
    assert.ok(Math.abs(dominantFrequency(right, 16000) - 2400) < 0.5);
  }),
});

Deno.test(
  "WavWriter keeps the header valid while writing: sizes follow each flush",
  withTempDir((dir) => {
    const path = `${dir}/open.wav`;
    const writer = WavWriter.create(path, { sampleRate: 8000, flushSeconds: 1 });
    assert.deepEqual(headerSizes(path), { riff: 36, data: 0 });
    writer.write(tone(500, 8000, 20000)); // 2.5 s: two flushes, 0.5 s buffered
    assert.deepEqual(headerSizes(path), { riff: 36 + 32000, data: 32000 });
    assert.equal(Deno.statSync(path).size, WAV_HEADER_BYTES + 32000);
    writer.flush();
    assert.deepEqual(headerSizes(path), { riff: 36 + 40000, data: 40000 });
    writer.close();
  }),
);

Deno.test({
  name: "WavWriter: a file whose writer died without close() is still read by sox",
  ignore: !hasSox,
  fn: withTempDir(async (dir) => {
    const path = `${dir}/killed.wav`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-write",
        new URL("./testdata/wav_writer_crash_child.ts", import.meta.url).pathname,
        ...[path, "8000", "3.5", "1"],
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    let said = "";
    while (!said.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      said += new TextDecoder().decode(value);
    }
    child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel();
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    assert.ok(said.includes("ready"), "the child did not get to write");
    // 3.5 s were written, three whole seconds were flushed before the kill.
    assert.deepEqual(soxInfo(path), { rate: 8000, channels: 1, samples: 24000, seconds: 3 });
    assert.ok(Math.abs(dominantFrequency(soxSamples(path), 8000) - 440) < 0.5);
  }),
});

Deno.test(
  "WavWriter stops at the size cap and says so",
  withTempDir((dir) => {
    const path = `${dir}/capped.wav`;
    const writer = WavWriter.create(path, { sampleRate: 8000, channels: 2, maxDataBytes: 1003 });
    // 1003 bytes round down to 250 stereo frames (1000 bytes).
    assert.equal(writer.write(new Int16Array(400).fill(1)), 200);
    assert.equal(writer.truncated, false);
    assert.equal(writer.write(new Int16Array(400).fill(2)), 50);
    assert.equal(writer.truncated, true);
    assert.equal(writer.writeSilence(10), 0);
    const summary = writer.close();
    assert.deepEqual(summary, {
      frames: 250,
      dataBytes: 1000,
      durationSeconds: 250 / 8000,
      truncated: true,
    });
    assert.deepEqual(headerSizes(path), { riff: 1036, data: 1000 });
    // The default cap keeps the RIFF size (data + 36) within 32 bits.
    assert.equal(WAV_MAX_DATA_BYTES + 36, 0xffffffff);
  }),
);

Deno.test(
  "WavWriter: long silence streams through a bounded buffer; torn stereo frames are not taken",
  withTempDir((dir) => {
    const path = `${dir}/long.wav`;
    const writer = WavWriter.create(path, { sampleRate: 48000, channels: 2 });
    assert.equal(writer.writeSilence(48000 * 30), 48000 * 30); // 30 s, 5.5 MB
    assert.ok(Deno.statSync(path).size >= WAV_HEADER_BYTES + 29 * 48000 * 4);
    assert.equal(writer.write(new Int16Array(5)), 2); // 2 whole frames of 5 values
    assert.equal(writer.write(new Int16Array(8), 3), 1);
    assert.equal(writer.close().frames, 48000 * 30 + 3);
  }),
);

Deno.test("WavWriter rejects formats it cannot write", () => {
  const path = Deno.makeTempFileSync({ suffix: ".wav" });
  try {
    assert.throws(() => WavWriter.create(path, { sampleRate: 8000, channels: 3 }), RangeError);
    assert.throws(() => WavWriter.create(path, { sampleRate: 0 }), RangeError);
    assert.throws(() => WavWriter.create(path, { sampleRate: 8000.5 }), RangeError);
    assert.throws(
      () => WavWriter.create(path, { sampleRate: 8000, maxDataBytes: NaN }),
      RangeError,
    );
    assert.throws(() => WavWriter.create(path, { sampleRate: 8000, maxDataBytes: -2 }), RangeError);
  } finally {
    Deno.removeSync(path);
  }
});
