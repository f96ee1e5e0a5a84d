/**
 * Measurements on 16-bit PCM, for tests that verify decoded audio and
 * recordings by what they contain rather than by their bytes: RMS level,
 * the dominant frequency (Welch-averaged FFT with interpolation), the
 * amplitude of one tone (Goertzel), zero-crossing rate, spectral flatness
 * (speech and tones are far from 1, white noise is near it), clipping runs,
 * and the SNR of a decoded signal against its reference after the best
 * delay and gain.
 *
 * All functions take mono samples; pass one channel of interleaved audio
 * with {@linkcode channelOf}.
 *
 * @module
 */

/** Samples as the functions here accept them. */
export type Samples = ArrayLike<number>;

/**
 * Root mean square of `samples[start .. end)`.
 *
 * @param samples PCM samples.
 * @param start First index (default 0).
 * @param end End index, exclusive (default the length).
 * @returns The RMS in sample units (0 for an empty range).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rms } from "./tone_analysis.ts";
 *
 * assert.equal(rms(Int16Array.from([3, -3, 3, -3])), 3);
 * ```
 */
export function rms(samples: Samples, start = 0, end = samples.length): number {
  const from = Math.max(0, start);
  const to = Math.min(samples.length, end);
  if (to <= from) return 0;
  let sum = 0;
  for (let i = from; i < to; i++) {
    const x = samples[i]!;
    sum += x * x;
  }
  return Math.sqrt(sum / (to - from));
}

/**
 * RMS level relative to 16-bit full scale.
 *
 * @param samples PCM samples.
 * @returns dBFS (a full-scale square wave is 0; a full-scale sine −3.01); −Infinity for silence.
 */
export function rmsDbfs(samples: Samples): number {
  return 20 * Math.log10(rms(samples) / 32768);
}

/**
 * One channel of interleaved samples.
 *
 * @param interleaved Interleaved PCM.
 * @param channel Channel index (0 = left).
 * @param channels Channel count.
 * @returns A new array with that channel's samples.
 */
export function channelOf(interleaved: Samples, channel: number, channels: number): Int16Array {
  const frames = Math.floor(interleaved.length / channels);
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) out[i] = interleaved[i * channels + channel]!;
  return out;
}

/**
 * Amplitude of the sinusoid at one frequency (Goertzel algorithm): a pure
 * tone of amplitude A at that frequency gives about A.
 *
 * @param samples PCM samples.
 * @param sampleRate Sample rate in Hz.
 * @param frequency Frequency to measure in Hz.
 * @returns Estimated amplitude in sample units.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toneAmplitude } from "./tone_analysis.ts";
 *
 * const tone = Int16Array.from({ length: 8000 }, (_, i) => 1000 * Math.sin(2 * Math.PI * 400 * i / 8000));
 * assert.ok(Math.abs(toneAmplitude(tone, 8000, 400) - 1000) < 5);
 * assert.ok(toneAmplitude(tone, 8000, 1000) < 5);
 * ```
 */
export function toneAmplitude(samples: Samples, sampleRate: number, frequency: number): number {
  const n = samples.length;
  if (n === 0) return 0;
  const w = 2 * Math.PI * frequency / sampleRate;
  const coefficient = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = samples[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  return 2 * Math.sqrt(re * re + im * im) / n;
}

/** In-place iterative radix-2 FFT; `re.length` must be a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; (j & bit) !== 0; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = -2 * Math.PI / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = Math.cos(step * k);
        const wi = Math.sin(step * k);
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** Largest segment length used by the spectral estimates. */
const MAX_SEGMENT = 8192;

/**
 * Welch power spectrum: Hann-windowed segments with 50 % overlap, averaged.
 *
 * @param samples PCM samples (at least 16).
 * @returns Power per bin 0…segment/2 and the segment length, or null when too short.
 */
function powerSpectrum(samples: Samples): { power: Float64Array; segment: number } | null {
  if (samples.length < 16) return null;
  let segment = 16;
  while (segment * 2 <= Math.min(samples.length, MAX_SEGMENT)) segment *= 2;
  const window = new Float64Array(segment);
  for (let i = 0; i < segment; i++) window[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / segment);
  const power = new Float64Array(segment / 2 + 1);
  const re = new Float64Array(segment);
  const im = new Float64Array(segment);
  const hop = segment / 2;
  let count = 0;
  for (let start = 0; start + segment <= samples.length; start += hop) {
    let mean = 0;
    for (let i = 0; i < segment; i++) mean += samples[start + i]!;
    mean /= segment;
    for (let i = 0; i < segment; i++) {
      re[i] = (samples[start + i]! - mean) * window[i]!;
      im[i] = 0;
    }
    fft(re, im);
    for (let k = 0; k <= segment / 2; k++) power[k] = power[k]! + re[k]! * re[k]! + im[k]! * im[k]!;
    count++;
  }
  for (let k = 0; k < power.length; k++) power[k] = power[k]! / count;
  return { power, segment };
}

/** Options of {@linkcode dominantFrequency}. */
export interface DominantFrequencyOptions {
  /** Ignore energy below this frequency (Hz, default 20). */
  minHz?: number;
  /** Ignore energy above this frequency (Hz, default the Nyquist frequency). */
  maxHz?: number;
}

/**
 * The frequency with the most energy: Welch-averaged Hann FFT (segments of
 * up to 8192 samples), refined by parabolic interpolation of the log power
 * around the peak. A clean tone is located to a small fraction of a bin
 * (a bin is 1 Hz at 8 kHz with 8192-sample segments).
 *
 * @param samples PCM samples (mono).
 * @param sampleRate Sample rate in Hz.
 * @param options Frequency range to search.
 * @returns Frequency in Hz, or NaN when the input is shorter than 16 samples or silent.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dominantFrequency } from "./tone_analysis.ts";
 *
 * const tone = Int16Array.from({ length: 16000 }, (_, i) => 8000 * Math.sin(2 * Math.PI * 1234 * i / 16000));
 * assert.ok(Math.abs(dominantFrequency(tone, 16000) - 1234) < 0.5);
 * ```
 */
export function dominantFrequency(
  samples: Samples,
  sampleRate: number,
  options: DominantFrequencyOptions = {},
): number {
  const spectrum = powerSpectrum(samples);
  if (spectrum === null) return NaN;
  const { power, segment } = spectrum;
  const binHz = sampleRate / segment;
  const first = Math.max(1, Math.ceil((options.minHz ?? 20) / binHz));
  const last = Math.min(power.length - 2, Math.floor((options.maxHz ?? sampleRate / 2) / binHz));
  let peak = -1;
  let peakPower = 0;
  for (let k = first; k <= last; k++) {
    if (power[k]! > peakPower) {
      peakPower = power[k]!;
      peak = k;
    }
  }
  if (peak < 0) return NaN;
  const a = Math.log(power[peak - 1]! + 1e-12);
  const b = Math.log(peakPower + 1e-12);
  const c = Math.log(power[peak + 1]! + 1e-12);
  const denominator = a - 2 * b + c;
  const offset = denominator < 0 ? 0.5 * (a - c) / denominator : 0;
  return (peak + offset) * binHz;
}

/**
 * Spectral flatness (Wiener entropy) of the Welch power spectrum between
 * `minHz` and `maxHz`: geometric over arithmetic mean. White noise is close
 * to 1; a tone is close to 0; speech is typically below 0.1.
 *
 * @param samples PCM samples (mono).
 * @param sampleRate Sample rate in Hz.
 * @param options Frequency range (default 100 Hz to the Nyquist frequency).
 * @returns Flatness in 0…1, or NaN when too short or silent.
 */
export function spectralFlatness(
  samples: Samples,
  sampleRate: number,
  options: DominantFrequencyOptions = {},
): number {
  const spectrum = powerSpectrum(samples);
  if (spectrum === null) return NaN;
  const { power, segment } = spectrum;
  const binHz = sampleRate / segment;
  const first = Math.max(1, Math.ceil((options.minHz ?? 100) / binHz));
  const last = Math.min(power.length - 1, Math.floor((options.maxHz ?? sampleRate / 2) / binHz));
  let logSum = 0;
  let sum = 0;
  let n = 0;
  for (let k = first; k <= last; k++) {
    logSum += Math.log(power[k]! + 1e-12);
    sum += power[k]!;
    n++;
  }
  if (n === 0 || sum === 0) return NaN;
  return Math.exp(logSum / n) / (sum / n);
}

/**
 * Zero crossings per sample (sign changes between neighbours; zeros take
 * the sign of the previous sample). A tone of frequency f gives 2f / rate.
 *
 * @param samples PCM samples.
 * @returns Crossings per sample, 0 for fewer than two samples.
 */
export function zeroCrossingRate(samples: Samples): number {
  if (samples.length < 2) return 0;
  let crossings = 0;
  let negative = samples[0]! < 0;
  for (let i = 1; i < samples.length; i++) {
    const x = samples[i]!;
    if (x === 0) continue;
    const now = x < 0;
    if (now !== negative) crossings++;
    negative = now;
  }
  return crossings / (samples.length - 1);
}

/**
 * Longest run of consecutive samples at or beyond `±limit`: long runs at
 * full scale mean clipping (or a decoder that ran off the rails).
 *
 * @param samples PCM samples.
 * @param limit Magnitude that counts as clipped (default 32767).
 * @returns Length of the longest run.
 */
export function longestClippedRun(samples: Samples, limit = 32767): number {
  let longest = 0;
  let run = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    if (x >= limit || x <= -limit - 1) {
      run++;
      if (run > longest) longest = run;
    } else {
      run = 0;
    }
  }
  return longest;
}

/** Result of {@linkcode compareSignals}. */
export interface SignalComparison {
  /** Delay of `test` behind `reference` in samples (positive: `test` lags). */
  lag: number;
  /** Normalized cross-correlation at that lag. */
  correlation: number;
  /** Least-squares gain that maps `test` onto `reference`. */
  gain: number;
  /** SNR in dB of `reference` against `reference − gain × test` over the overlap. */
  snrDb: number;
}

/**
 * Compares a decoded signal with its reference: finds the delay within
 * `±maxLag` with the highest correlation, fits a gain, and measures the
 * remaining error as an SNR.
 *
 * @param reference The original signal.
 * @param test The signal to judge (e.g. decoded audio).
 * @param maxLag Largest delay to try either way (default 0).
 * @returns Lag, correlation, gain and SNR.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareSignals } from "./tone_analysis.ts";
 *
 * const reference = Int16Array.from({ length: 800 }, (_, i) => 1000 * Math.sin(i / 7));
 * const delayed = new Int16Array(800);
 * delayed.set(reference.subarray(0, 797), 3);
 * const result = compareSignals(reference, delayed, 10);
 * assert.equal(result.lag, 3);
 * assert.ok(result.snrDb > 60);
 * ```
 */
export function compareSignals(reference: Samples, test: Samples, maxLag = 0): SignalComparison {
  let best: SignalComparison = { lag: 0, correlation: -Infinity, gain: 0, snrDb: -Infinity };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const from = Math.max(0, -lag);
    const to = Math.min(reference.length, test.length - lag);
    let rt = 0;
    let rr = 0;
    let tt = 0;
    for (let i = from; i < to; i++) {
      const r = reference[i]!;
      const t = test[i + lag]!;
      rt += r * t;
      rr += r * r;
      tt += t * t;
    }
    const correlation = rr > 0 && tt > 0 ? rt / Math.sqrt(rr * tt) : 0;
    if (correlation > best.correlation) {
      const gain = tt > 0 ? rt / tt : 0;
      // Σ(r − g·t)² = rr − 2g·rt + g²·tt = rr − rt²/tt at the optimal gain.
      const error = Math.max(0, rr - gain * rt);
      const snrDb = error === 0 ? Infinity : 10 * Math.log10(rr / error);
      best = { lag, correlation, gain, snrDb };
    }
  }
  return best;
}
