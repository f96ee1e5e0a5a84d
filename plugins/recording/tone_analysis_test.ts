import assert from "node:assert/strict";
import {
  channelOf,
  compareSignals,
  dominantFrequency,
  longestClippedRun,
  rms,
  rmsDbfs,
  spectralFlatness,
  toneAmplitude,
  zeroCrossingRate,
} from "./tone_analysis.ts";

function sine(frequency: number, amplitude: number, sampleRate: number, samples: number) {
  return Int16Array.from(
    { length: samples },
    (_, i) => Math.round(amplitude * Math.sin(2 * Math.PI * frequency * i / sampleRate + 0.3)),
  );
}

/** Deterministic uniform noise in ±amplitude. */
function noise(amplitude: number, samples: number, seed = 1): Int16Array {
  return Int16Array.from({ length: samples }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.round((seed / 0x100000000 - 0.5) * 2 * amplitude);
  });
}

Deno.test("dominantFrequency finds tones to a fraction of a hertz at any rate", () => {
  for (const [rate, frequency] of [[8000, 440], [8000, 1004.7], [16000, 6789.3], [48000, 93.1]]) {
    const tone = sine(frequency!, 10000, rate!, rate!); // 1 s
    const measured = dominantFrequency(tone, rate!);
    assert.ok(Math.abs(measured - frequency!) < 0.3, `${frequency} Hz at ${rate}: ${measured}`);
  }
  // The loudest of two tones wins; a range excludes it.
  const loud = sine(1500, 9000, 8000, 8000);
  const two = sine(500, 3000, 8000, 8000).map((x, i) => x + loud[i]!);
  assert.ok(Math.abs(dominantFrequency(two, 8000) - 1500) < 0.5);
  assert.ok(Math.abs(dominantFrequency(two, 8000, { maxHz: 1000 }) - 500) < 0.5);
  // Short or silent input has no dominant frequency.
  assert.ok(Number.isNaN(dominantFrequency(new Int16Array(10), 8000)));
  assert.ok(Number.isNaN(dominantFrequency(new Int16Array(8000), 8000)));
});

Deno.test("rms and dBFS of known signals", () => {
  const tone = sine(1000, 10000, 8000, 8000);
  assert.ok(Math.abs(rms(tone) - 10000 / Math.SQRT2) < 2);
  assert.ok(Math.abs(rmsDbfs(tone) - 20 * Math.log10(10000 / Math.SQRT2 / 32768)) < 0.01);
  assert.equal(rms(new Int16Array(0)), 0);
  assert.equal(rmsDbfs(new Int16Array(5)), -Infinity);
  assert.equal(rms(Int16Array.from([0, 0, 4, 4, 0]), 2, 4), 4);
});

Deno.test("toneAmplitude measures one frequency and ignores others", () => {
  const high = sine(1209, 2000, 8000, 800);
  const mix = sine(697, 4000, 8000, 800).map((x, i) => x + high[i]!);
  assert.ok(Math.abs(toneAmplitude(mix, 8000, 697) - 4000) < 40);
  assert.ok(Math.abs(toneAmplitude(mix, 8000, 1209) - 2000) < 40);
  assert.ok(toneAmplitude(mix, 8000, 941) < 100);
});

Deno.test("zeroCrossingRate is 2f/rate for a tone and about 0.5 for white noise", () => {
  assert.ok(Math.abs(zeroCrossingRate(sine(1000, 8000, 8000, 8000)) - 0.25) < 0.001);
  assert.ok(Math.abs(zeroCrossingRate(noise(1000, 8000)) - 0.5) < 0.03);
  assert.equal(zeroCrossingRate(Int16Array.from([1])), 0);
});

Deno.test("spectralFlatness: white noise near 1, a tone near 0", () => {
  assert.ok(spectralFlatness(noise(8000, 32000), 8000) > 0.8);
  assert.ok(spectralFlatness(sine(700, 8000, 8000, 32000), 8000) < 0.01);
});

Deno.test("longestClippedRun counts consecutive full-scale samples", () => {
  assert.equal(longestClippedRun(Int16Array.from([0, 32767, 32767, -32768, 5, 32767])), 3);
  assert.equal(longestClippedRun(sine(100, 20000, 8000, 800)), 0);
  assert.equal(longestClippedRun(Int16Array.from([32000, 32001, 0]), 32000), 2);
});

Deno.test("compareSignals finds the delay and measures SNR of added noise", () => {
  const reference = noise(8000, 16000, 5);
  // Delay by 17 samples and add noise 20 dB below: uniform noise of
  // amplitude A has RMS A/√3, so A = rms(reference) · √3 / 10.
  const level = rms(reference) * Math.sqrt(3) / 10;
  const extra = noise(level, 16000, 9);
  const test = new Int16Array(16000);
  for (let i = 17; i < 16000; i++) test[i] = reference[i - 17]! + extra[i]!;
  const result = compareSignals(reference, test, 40);
  assert.equal(result.lag, 17);
  assert.ok(Math.abs(result.snrDb - 20) < 0.5, `${result.snrDb}`);
  assert.ok(Math.abs(result.gain - 1) < 0.02);
  // A negative lag: the test signal leads.
  assert.equal(compareSignals(test, reference, 40).lag, -17);
});

Deno.test("channelOf splits interleaved audio", () => {
  assert.deepEqual([...channelOf(Int16Array.from([1, 2, 3, 4, 5, 6, 7]), 1, 2)], [2, 4, 6]);
});
