import assert from "node:assert/strict";
import { compareSignals, dominantFrequency, rms, spectralFlatness } from "../tone_analysis.ts";
import { G722Decoder } from "./g722.ts";
import { ILB, scaleFactor } from "./g722_core.ts";
import { G722Encoder } from "./g722_encoder.ts";
import {
  G722_REFERENCE_FILE,
  G722_STREAM,
  type G722Reference,
  littleEndianBytes,
  sha256Hex,
  SYNTHETIC_SAMPLES,
  syntheticSignal,
} from "./testing_g722.ts";
import {
  capturesPresent,
  decodeAll,
  int16FromLittleEndian,
  rtpPayloads,
  run,
  toolWorks,
} from "./testing_rtp.ts";

const hasFfmpeg = toolWorks("ffmpeg", ["-version"]);
const hasCaptures = capturesPresent();
if (!hasFfmpeg) {
  console.warn("g722_test: ffmpeg not found, checking against its committed digests only");
}
if (!hasCaptures) console.warn("g722_test: ../shared/captures missing, skipping capture tests");

const REFERENCE: G722Reference = JSON.parse(Deno.readTextFileSync(G722_REFERENCE_FILE));
/** Encoder QMF + decoder QMF delay, in 16 kHz samples. */
const CODEC_DELAY = 22;

function encode(samples: Int16Array): Uint8Array {
  const octets = new Uint8Array(samples.length >> 1);
  const encoder = new G722Encoder();
  // In 20 ms packets, as RTP would carry them.
  for (let i = 0; i < samples.length; i += 320) {
    encoder.encode(samples.subarray(i, i + 320), octets.subarray(i >> 1));
  }
  return octets;
}

function decode(octets: Uint8Array, decoder = new G722Decoder()): Int16Array {
  const out = new Int16Array(octets.length * 2);
  for (let i = 0; i < octets.length; i += 160) {
    decoder.decode(octets.subarray(i, i + 160), out, 2 * i);
  }
  return out;
}

function sine(frequency: number, amplitude: number, samples = 16000): Int16Array {
  return Int16Array.from(
    { length: samples },
    (_, i) => Math.round(amplitude * Math.sin(2 * Math.PI * frequency * i / 16000)),
  );
}

/** A 100 Hz → 7300 Hz linear chirp over 3 s with a little noise: not periodic. */
function chirp(samples: number): Int16Array {
  let seed = 99;
  return Int16Array.from({ length: samples }, (_, n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const t = n / 16000;
    const tone = 12000 * Math.sin(2 * Math.PI * (100 * t + 1200 * t * t));
    return Math.round(tone + (((seed >>> 16) & 0x3ff) - 0x200));
  });
}

Deno.test("G.722 scale factor tables: ILB is 2048·2^(i/32), DETL/DETH reset values", () => {
  ILB.forEach((v, i) => assert.ok(Math.abs(v - 2048 * 2 ** (i / 32)) <= 0.5, `ILB[${i}]`));
  assert.equal(scaleFactor(0, 8), 32); // DETL at NBL = 0
  assert.equal(scaleFactor(0, 10), 8); // DETH at NBH = 0
  assert.equal(scaleFactor(18432, 8), 16384); // DETL at its ceiling
  assert.equal(scaleFactor(22528, 10), 16384); // DETH at its ceiling
});

Deno.test("G.722 round trip of tones across both sub-bands: right frequency, SNR > 20 dB", () => {
  for (const frequency of [300, 1000, 3400, 5000, 7000]) {
    for (const amplitude of [16000, 1000]) {
      const input = sine(frequency, amplitude);
      const output = decode(encode(input));
      const settled = 1600; // skip the first 100 ms while the adaptation settles
      const label = `${frequency} Hz at ${amplitude}`;
      const measured = dominantFrequency(output.subarray(settled), 16000);
      assert.ok(Math.abs(measured - frequency) < 0.5, `${label}: ${measured} Hz`);
      const result = compareSignals(
        input.subarray(settled, input.length - CODEC_DELAY),
        output.subarray(settled + CODEC_DELAY),
      );
      assert.ok(result.snrDb > 20, `${label}: ${result.snrDb.toFixed(1)} dB`);
      assert.ok(Math.abs(result.gain - 1) < 0.02, `${label}: gain ${result.gain}`);
    }
  }
});

Deno.test("G.722 round trip of a chirp: delay of 22 samples found by correlation, SNR > 20 dB", () => {
  const input = chirp(48000);
  const output = decode(encode(input));
  const result = compareSignals(input, output, 64);
  assert.equal(result.lag, CODEC_DELAY);
  assert.ok(result.snrDb > 20, `${result.snrDb.toFixed(1)} dB`);
  // The synthetic vector (sawtooth, noise, full-scale bursts) is much harder
  // but still comes back at the same delay.
  const hard = syntheticSignal(SYNTHETIC_SAMPLES);
  assert.equal(compareSignals(hard, decode(encode(hard)), 64).lag, CODEC_DELAY);
});

Deno.test("G.722 encoder and decoder reproduce ffmpeg's bits on the synthetic signal", async () => {
  const input = syntheticSignal(REFERENCE.synthetic.samples);
  const encoded = encode(input);
  assert.equal(await sha256Hex(encoded), REFERENCE.synthetic.encodedSha256, "encoded");
  const decoded = decode(encoded);
  assert.equal(
    await sha256Hex(littleEndianBytes(decoded)),
    REFERENCE.synthetic.decodedSha256,
    "decoded",
  );
});

Deno.test({
  name: "G.722 capture: decoding matches ffmpeg's decoding of the same stream bit for bit",
  ignore: !hasCaptures,
  async fn() {
    const packets = rtpPayloads(G722_STREAM.capture, G722_STREAM);
    assert.equal(packets.length, REFERENCE.capture.packets);
    const decoded = decodeAll(new G722Decoder(), packets);
    assert.equal(decoded.length, REFERENCE.capture.samples);
    assert.equal(await sha256Hex(littleEndianBytes(decoded)), REFERENCE.capture.decodedSha256);
    // And it is a signal, not noise: a harmonic spectrum at a sane level.
    assert.ok(rms(decoded) > 500, `RMS ${rms(decoded)}`);
    assert.ok(spectralFlatness(decoded, 16000) < 0.2);
  },
});

Deno.test({
  name: "G.722 against a live ffmpeg: same encoding and decoding sample for sample",
  ignore: !hasFfmpeg,
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      // Different from the committed vector: a chirp with noise, 3 s.
      const input = chirp(48000);
      Deno.writeFileSync(`${dir}/in.s16`, littleEndianBytes(input));
      const quiet = ["-hide_banner", "-loglevel", "error", "-y"];
      run("ffmpeg", [
        ...quiet,
        ...["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", `${dir}/in.s16`],
        ...["-c:a", "g722", "-f", "g722", `${dir}/in.g722`],
      ]);
      run("ffmpeg", [
        ...quiet,
        "-f",
        "g722",
        "-i",
        `${dir}/in.g722`,
        "-f",
        "s16le",
        `${dir}/out.s16`,
      ]);
      const theirsEncoded = Deno.readFileSync(`${dir}/in.g722`);
      const theirsDecoded = int16FromLittleEndian(Deno.readFileSync(`${dir}/out.s16`));
      assert.deepEqual(encode(input), theirsEncoded);
      assert.deepEqual(decode(theirsEncoded), theirsDecoded);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("G.722 decoder: reset() restarts from the initial state; odd room leaves one slot", () => {
  const octets = encode(sine(1000, 8000, 3200));
  const fresh = decode(octets);
  const reused = new G722Decoder();
  decode(encode(sine(440, 12000, 3200)), reused);
  reused.reset();
  assert.deepEqual(decode(octets, reused), fresh);

  const out = new Int16Array(5);
  const decoder = new G722Decoder();
  assert.equal(decoder.decode(octets.subarray(0, 10), out), 4);
  assert.equal(decoder.decode(octets.subarray(0, 10), out, 5), 0);
  assert.equal(decoder.samplesFor(160), 320);
});

Deno.test("G.722 decoder survives random octets: no throw, state stays in range", () => {
  let seed = 7;
  const junk = Uint8Array.from({ length: 16000 }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  });
  const out = decode(junk);
  assert.equal(out.length, 32000);
  assert.ok(out.every((x) => Number.isInteger(x)));
  // After junk, a real signal decodes as well as from a fresh start once adapted.
  const decoder = new G722Decoder();
  decoder.decode(junk, new Int16Array(32000));
  const tone = sine(1000, 8000, 16000);
  const after = decode(encode(tone), decoder);
  assert.ok(Math.abs(dominantFrequency(after.subarray(4000), 16000) - 1000) < 0.5);
});
