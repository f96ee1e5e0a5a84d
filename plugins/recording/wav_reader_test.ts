import assert from "node:assert/strict";
import { WavFormatError, WavReader } from "./wav_reader.ts";
import { WavWriter } from "./wav_writer.ts";

Deno.test("wav reader: reads back what the writer wrote, stereo, in chunks, past the ends", () => {
  const path = Deno.makeTempFileSync({ suffix: ".wav" });
  try {
    const w = WavWriter.create(path, { sampleRate: 16000, channels: 2 });
    const frames = 100000;
    const data = Int16Array.from({ length: 2 * frames }, (_, i) => (i * 37) % 65536 - 32768);
    w.write(data);
    w.close();
    const r = WavReader.open(path);
    assert.deepEqual([r.sampleRate, r.channels, r.frames], [16000, 2, frames]);
    const out = new Int16Array(2 * (frames + 20));
    r.read(-10, frames + 20, out);
    r.close();
    assert.ok(out.subarray(0, 20).every((v) => v === 0));
    assert.deepEqual(out.subarray(20, 20 + 2 * frames), data);
    assert.ok(out.subarray(20 + 2 * frames).every((v) => v === 0));
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("wav reader: a header whose data size was never updated reads what the file holds", () => {
  const path = Deno.makeTempFileSync({ suffix: ".wav" });
  try {
    const w = WavWriter.create(path, { sampleRate: 8000 });
    w.write(new Int16Array(10).fill(5));
    w.close();
    const bytes = Deno.readFileSync(path);
    new DataView(bytes.buffer).setUint32(40, 0, true); // as if killed before the first update
    Deno.writeFileSync(path, bytes);
    const r = WavReader.open(path);
    assert.equal(r.frames, 10);
    r.close();
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("wav reader: anything else is a WavFormatError", () => {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, "not a wav file at all, just text");
    assert.throws(() => WavReader.open(path), WavFormatError);
    const header = new Uint8Array(44);
    header.set(new TextEncoder().encode("RIFF"), 0);
    header.set(new TextEncoder().encode("WAVEfmt "), 8);
    new DataView(header.buffer).setUint32(16, 16, true);
    new DataView(header.buffer).setUint16(20, 3, true); // IEEE float
    new DataView(header.buffer).setUint16(22, 1, true);
    new DataView(header.buffer).setUint32(24, 8000, true);
    new DataView(header.buffer).setUint16(34, 32, true);
    header.set(new TextEncoder().encode("data"), 36);
    Deno.writeFileSync(path, header);
    assert.throws(() => WavReader.open(path), /not PCM/);
  } finally {
    Deno.removeSync(path);
  }
});
