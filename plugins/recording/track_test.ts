import assert from "node:assert/strict";
import type { PayloadInfo } from "../../engine/calls/stream.ts";
import { decodeRtpHeader, RtpHeader } from "../../engine/rtp/rtp_header.ts";
import { ChunkedWavWriter, SyncFileSink } from "./chunked_wav_writer.ts";
import { G722Encoder } from "./codecs/g722_encoder.ts";
import { dominantFrequency } from "./tone_analysis.ts";
import {
  PUSH_AUDIO,
  PUSH_DROPPED,
  PUSH_SKIPPED,
  PUSH_UNDECODABLE,
  StreamTrack,
  type StreamTrackOptions,
  type TrackSummary,
} from "./track.ts";
import { WavReader } from "./wav_reader.ts";

const L16 = 96;
/** L16 at 8 kHz (exact samples), telephone-event, and what the static table knows. */
const PAYLOADS: ReadonlyMap<number, PayloadInfo> = new Map([
  [L16, { name: "L16", clockRate: 8000 }],
  [101, { name: "telephone-event", clockRate: 8000 }],
]);
const SOURCE = { payloads: PAYLOADS, telephoneEvent: 101 };

/** An RTP packet whose L16 payload is `frames` samples of `value` (or the given samples). */
function packet(
  seq: number,
  ts: number,
  value: number | Int16Array,
  pt = L16,
  frames = 160,
): Uint8Array {
  const samples = typeof value === "number" ? new Int16Array(frames).fill(value) : value;
  const bytes = new Uint8Array(12 + (pt === L16 ? 2 * samples.length : samples.length));
  bytes[0] = 0x80;
  bytes[1] = pt;
  new DataView(bytes.buffer).setUint16(2, seq & 0xffff);
  new DataView(bytes.buffer).setUint32(4, ts >>> 0);
  new DataView(bytes.buffer).setUint32(8, 0x1234);
  for (let i = 0; i < samples.length; i++) {
    if (pt === L16) new DataView(bytes.buffer).setInt16(12 + 2 * i, samples[i]!);
    else bytes[12 + i] = samples[i]! & 0xff;
  }
  return bytes;
}

class Harness {
  readonly path = Deno.makeTempFileSync({ suffix: ".wav" });
  readonly track: StreamTrack;
  readonly header = new RtpHeader();
  readonly undecodable: string[] = [];

  constructor(options: Partial<StreamTrackOptions> = {}) {
    this.track = new StreamTrack({
      path: this.path,
      source: SOURCE,
      onUndecodable: (_pt, name) => this.undecodable.push(name),
      ...options,
    });
  }

  push(bytes: Uint8Array, arrival: number): number {
    assert.ok(decodeRtpHeader(bytes, 0, bytes.length, this.header));
    return this.track.push(this.header, bytes, arrival);
  }

  /** Finishes and reads the file back. */
  samples(): Int16Array {
    const summary = this.track.finish();
    if (summary.path === null) return new Int16Array(0);
    const r = WavReader.open(summary.path);
    const out = new Int16Array(r.frames);
    r.read(0, r.frames, out);
    r.close();
    return out;
  }

  /** The value of each 160-sample slot (NaN when not constant). */
  slots(): number[] {
    const x = this.samples();
    const out = [];
    for (let i = 0; i < x.length; i += 160) {
      const v = x[i]!;
      out.push(x.subarray(i, i + 160).every((s) => s === v) ? v : NaN);
    }
    return out;
  }

  remove(): void {
    Deno.removeSync(this.path);
  }
}

Deno.test("track: packets in order are written back to back from the first packet's arrival", () => {
  const h = new Harness();
  for (let k = 0; k < 5; k++) {
    assert.equal(h.push(packet(100 + k, 5000 + 160 * k, k + 1), 10 + 0.02 * k), PUSH_AUDIO);
  }
  assert.deepEqual(h.slots(), [1, 2, 3, 4, 5]);
  const s = h.track.finish();
  assert.equal(s.sampleRate, 8000);
  assert.equal(s.frames, 800);
  assert.equal(s.firstArrival, 10);
  assert.deepEqual(s.coverage, [0, 800]);
  assert.deepEqual(s.codecs, ["L16"]);
  h.remove();
});

Deno.test("track: a lost packet is silence in its place; a long gap splits the coverage", () => {
  const h = new Harness();
  const sent = [0, 1, 3, 4, 50, 51]; // 2 lost; 5..49 (0.9 s) not sent
  for (const k of sent) h.push(packet(k, 160 * k, k + 1), 0.02 * k);
  const slots = h.slots();
  assert.equal(slots.length, 52);
  assert.deepEqual(slots.slice(0, 5), [1, 2, 0, 4, 5]);
  assert.ok(slots.slice(5, 50).every((v) => v === 0));
  assert.deepEqual(slots.slice(50), [51, 52]);
  assert.deepEqual(h.track.finish().coverage, [0, 800, 8000, 8320]);
  h.remove();
});

Deno.test("track: reordering within the window is undone, duplicates are dropped", () => {
  const h = new Harness({ jitterMs: 100 });
  const order = [0, 2, 1, 3, 3, 5, 4, 6, 0];
  const results = order.map((k, i) => h.push(packet(k, 160 * k, k + 1), 0.02 * i));
  assert.deepEqual(results.map((r) => r === PUSH_AUDIO), [
    true,
    true,
    true,
    true,
    false, // duplicate of 3, still in the window
    true,
    true,
    true,
    false, // duplicate of 0, already written
  ]);
  assert.deepEqual(h.slots(), [1, 2, 3, 4, 5, 6, 7]);
  const counts = h.track.finish().counts;
  assert.equal(counts.duplicates, 1);
  assert.equal(counts.late, 1);
  h.remove();
});

Deno.test("track: a packet later than the window is dropped, not written over the past", () => {
  const h = new Harness({ jitterMs: 40 });
  for (let k = 0; k < 10; k++) if (k !== 2) h.push(packet(k, 160 * k, k + 1), 0.02 * k);
  assert.equal(h.push(packet(2, 320, 3), 0.2), PUSH_DROPPED);
  assert.deepEqual(h.slots(), [1, 2, 0, 4, 5, 6, 7, 8, 9, 10]);
  h.remove();
});

Deno.test("track: sequence and timestamp wrap-around", () => {
  const h = new Harness();
  const ts0 = 2 ** 32 - 320;
  for (let k = 0; k < 5; k++) h.push(packet(65534 + k, ts0 + 160 * k, k + 1), 0.02 * k);
  assert.deepEqual(h.slots(), [1, 2, 3, 4, 5]);
  h.remove();
});

Deno.test("track: a hold (timestamps jump with the time) is silence of the right length", () => {
  const h = new Harness();
  h.push(packet(0, 0, 1), 0);
  h.push(packet(1, 160, 2), 0.02);
  // 5 s of hold: the sender's timestamps follow its clock.
  h.push(packet(2, 160 * 252, 3), 5.04);
  const slots = h.slots();
  assert.equal(slots.length, 253);
  assert.deepEqual([slots[0], slots[1], slots[252]], [1, 2, 3]);
  assert.ok(slots.slice(2, 252).every((v) => v === 0));
  assert.equal(h.track.finish().counts.reanchored, 0);
  h.remove();
});

Deno.test("track: an implausible timestamp jump is re-anchored to the arrival time", () => {
  const h = new Harness({ reanchorSeconds: 3 });
  h.push(packet(0, 1000, 1), 100);
  h.push(packet(1, 1160, 2), 100.02);
  // A new timestamp base an hour ahead, 20 ms later.
  h.push(packet(2, 1160 + 8000 * 3600, 3), 100.04);
  h.push(packet(3, 1320 + 8000 * 3600, 4), 100.06);
  // A sender whose clock stood still through 10 s of silence.
  h.push(packet(4, 1480 + 8000 * 3600, 5), 110.06);
  assert.deepEqual(h.slots().filter((v) => v !== 0), [1, 2, 3, 4, 5]);
  const s = h.track.finish();
  assert.equal(s.counts.reanchored, 2);
  // Placed by arrival: the last packet at 10.06 s.
  assert.equal(s.frames, Math.round(10.06 * 8000) + 160);
  h.remove();
});

Deno.test("track: telephone-event and comfort noise are not audio; G.729 is reported once", () => {
  const h = new Harness();
  assert.equal(h.push(packet(0, 0, 1), 0), PUSH_AUDIO);
  assert.equal(h.push(packet(1, 160, new Int16Array(4), 101), 0.02), PUSH_SKIPPED);
  assert.equal(h.push(packet(2, 160, new Int16Array(1), 13), 0.02), PUSH_SKIPPED);
  assert.equal(h.push(packet(3, 320, new Int16Array(20), 18), 0.04), PUSH_UNDECODABLE);
  assert.equal(h.push(packet(4, 480, new Int16Array(20), 18), 0.06), PUSH_UNDECODABLE);
  assert.equal(h.push(packet(5, 640, 6), 0.08), PUSH_AUDIO);
  assert.deepEqual(h.undecodable, ["G729"]);
  assert.deepEqual(h.slots(), [1, 0, 0, 0, 6]);
  const s = h.track.finish();
  assert.deepEqual(s.undecodable, ["G729"]);
  assert.equal(s.counts.undecodable, 2);
  assert.equal(s.counts.skipped, 2);
  h.remove();
});

Deno.test("track: a stream with nothing decodable leaves no file", () => {
  const h = new Harness();
  Deno.removeSync(h.path);
  assert.equal(h.push(packet(0, 0, new Int16Array(20), 18), 0), PUSH_UNDECODABLE);
  const s = h.track.finish();
  assert.equal(s.path, null);
  assert.throws(() => Deno.statSync(h.path), Deno.errors.NotFound);
});

Deno.test("track: G.722 (RTP clock 8 kHz, audio 16 kHz) is placed at twice the timestamp rate", () => {
  const h = new Harness({
    source: { payloads: new Map([[9, { name: "G722", clockRate: 8000 }]]), telephoneEvent: -1 },
  });
  const encoder = new G722Encoder();
  const tone = Int16Array.from(
    { length: 320 * 50 },
    (_, i) => 6000 * Math.sin(i * 2 * Math.PI / 16),
  );
  for (let k = 0; k < 50; k++) {
    if (k === 10) continue; // lost
    const payload = new Uint8Array(160);
    encoder.encode(tone.subarray(320 * k, 320 * k + 320), payload);
    const bytes = new Uint8Array(12 + 160);
    bytes.set(packet(k, 160 * k, new Int16Array(0), 9).subarray(0, 12));
    bytes.set(payload, 12);
    h.push(bytes, 0.02 * k);
  }
  const x = h.samples();
  assert.equal(h.track.finish().sampleRate, 16000);
  assert.equal(x.length, 320 * 50);
  assert.ok(x.subarray(3200, 3520).every((v) => v === 0));
  assert.ok(Math.abs(dominantFrequency(x.subarray(0, 3200), 16000) - 1000) < 2);
  h.remove();
});

Deno.test("track: the file on disk is a valid WAV before finish (header flushed as it goes)", () => {
  const h = new Harness({ flushSeconds: 0.1, jitterMs: 0 });
  for (let k = 0; k < 50; k++) h.push(packet(k, 160 * k, 7), 0.02 * k);
  const r = WavReader.open(h.path);
  assert.ok(r.frames >= 6400, `${r.frames} frames on disk`);
  const x = new Int16Array(r.frames);
  r.read(0, r.frames, x);
  r.close();
  assert.ok(x.every((v) => v === 7));
  h.track.finish();
  h.remove();
});

/** A deterministic pseudo-random sequence. */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** A hostile stream: reordering, duplicates, loss, overlaps, odd sizes, hold and jumps. */
function messyStream(seed: number, pts: number[]): { bytes: Uint8Array; arrival: number }[] {
  const rand = random(seed);
  const out: { bytes: Uint8Array; arrival: number }[] = [];
  let ts = Math.floor(rand() * 2 ** 32);
  let arrival = 100;
  for (let k = 0; k < 400; k++) {
    const pt = pts[Math.floor(rand() * pts.length)]!;
    const frames = rand() < 0.8 ? 160 : 1 + Math.floor(rand() * 400);
    const samples = Int16Array.from({ length: frames }, (_, i) => ((k * 37 + i) % 200) - 100);
    const r = rand();
    if (r < 0.05) ts += 8000 * 2; // hold: two seconds of silence
    else if (r < 0.07) ts += 8000 * 60; // a jump far from the arrival time: re-anchored
    else if (r < 0.1) ts -= 80; // overlaps the previous packet
    else if (r < 0.13) ts += 37; // odd gap
    out.push({ bytes: packet(k, ts, samples, pt, frames), arrival });
    if (rand() < 0.05) out.push({ bytes: packet(k, ts, samples, pt, frames), arrival }); // duplicate
    if (rand() < 0.05) out.pop(); // lost
    ts += frames;
    arrival += frames / 8000 + (rand() - 0.5) * 0.01;
  }
  // Reordering within a few packets, and a few very late ones.
  for (let i = 0; i + 3 < out.length; i++) {
    if (rand() < 0.15) {
      const j = i + 1 + Math.floor(rand() * 3);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
  }
  for (let n = 0; n < 5; n++) {
    const i = Math.floor(rand() * (out.length - 40));
    const [late] = out.splice(i, 1);
    out.splice(i + 20 + Math.floor(rand() * 20), 0, late!);
  }
  return out;
}

Deno.test(
  "track: decoding on arrival writes exactly what decoding in order writes (reorder, loss, overlaps, jumps)",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "pw-track-" });
    try {
      const payloads = new Map<number, PayloadInfo>([...PAYLOADS, [0, {
        name: "PCMU",
        clockRate: 8000,
      }]]);
      for (let seed = 1; seed <= 12; seed++) {
        const pts = seed % 3 === 0 ? [0] : seed % 3 === 1 ? [L16] : [0, L16];
        const list = messyStream(seed, pts);
        const results: { summary: Omit<TrackSummary, "path">; bytes: Uint8Array }[] = [];
        for (const onArrival of [false, true]) {
          for (const chunkFrames of [97, 4096]) {
            const path = `${dir}/${seed}-${onArrival}-${chunkFrames}.wav`;
            const track = new StreamTrack({
              path,
              source: { payloads, telephoneEvent: 101 },
              jitterMs: seed % 2 === 0 ? 0 : 60,
              decodeOnArrival: onArrival,
              writer: (sampleRate) =>
                new ChunkedWavWriter({ sampleRate, chunkFrames, sink: new SyncFileSink(path) }),
            });
            const header = new RtpHeader();
            for (const p of list) {
              assert.ok(decodeRtpHeader(p.bytes, 0, p.bytes.length, header));
              track.push(header, p.bytes, p.arrival);
            }
            const summary = track.finish();
            const { path: _, ...rest } = summary;
            results.push({ summary: rest, bytes: Deno.readFileSync(path) });
          }
        }
        for (const r of results.slice(1)) {
          assert.deepEqual(r.summary, results[0]!.summary, `seed ${seed}`);
          const want: Uint8Array = results[0]!.bytes;
          const differ = r.bytes.length !== want.length
            ? Math.min(r.bytes.length, want.length)
            : r.bytes.findIndex((b, i) => b !== want[i]);
          assert.equal(differ, -1, `seed ${seed}: files differ from byte ${differ}`);
        }
        assert.ok(results[0]!.summary.frames > 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
