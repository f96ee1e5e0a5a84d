/**
 * Mixes per-stream recordings on disk into call files (a stereo file per
 * call, a conference's mixed file and per-participant tracks), reading the
 * sources back in chunks: the output never holds more than a second of
 * audio per source in memory.
 *
 * Each output channel is a sum of *groups*; a group is the audio of one
 * party, which may have come in several streams (a party heard on two legs
 * of a B2BUA, early media followed by the answer's stream). Within a group
 * the first source that holds received audio at a moment is used, the
 * others only fill its gaps, so one voice is never added to itself. Sources
 * at another sample rate are resampled linearly to the output rate (the
 * highest rate of all sources unless given).
 *
 * @module
 */

import { WavReader } from "./wav_reader.ts";
import { type WavSummary, WavWriter } from "./wav_writer.ts";

/** One per-stream recording placed on the output's time line. */
export interface MixSource {
  /** The mono 16-bit WAV file. */
  path: string;
  /** Its sample rate. */
  sampleRate: number;
  /** Frames in it. */
  frames: number;
  /** Seconds from the output's start to the source's frame 0 (negative: it began earlier). */
  offset: number;
  /**
   * Frame intervals holding received audio, as `[start, end)` pairs flattened in order;
   * omitted: the whole file.
   */
  coverage?: readonly number[];
}

/** The audio of one party: sources in order of preference. */
export interface MixGroup {
  /** Sources; the first one with audio at a moment wins. */
  sources: MixSource[];
}

/** What to write. */
export interface MixSpec {
  /** Output path. */
  path: string;
  /** Groups summed into each output channel (one entry: mono; two: stereo left, right). */
  channels: MixGroup[][];
  /** Output sample rate (default: the highest source rate, 8000 without sources). */
  sampleRate?: number;
  /** Output length in seconds (default: up to the end of the last source). */
  durationSeconds?: number;
  /** Seconds of audio per block read and written (default 1). */
  blockSeconds?: number;
}

interface OpenSource {
  spec: MixSource;
  reader: WavReader;
  /** Output frame of the source's frame 0. */
  startOut: number;
  /** Source frames per output frame. */
  step: number;
  /** Covered output intervals, flattened. */
  covered: number[];
  cursor: number;
  /** Source frames of the current block, from frame `first`. */
  buffer: Int16Array;
  first: number;
  /** Whether the source has audio in the current block. */
  active: boolean;
}

/**
 * The output rate a spec gets: its own, or the highest of its sources.
 *
 * @param spec The mix.
 * @returns Sample rate in Hz.
 */
export function mixRate(spec: MixSpec): number {
  if (spec.sampleRate) return spec.sampleRate;
  let rate = 0;
  for (const channel of spec.channels) {
    for (const group of channel) for (const s of group.sources) rate = Math.max(rate, s.sampleRate);
  }
  return rate || 8000;
}

/**
 * Writes a mix to a WAV file.
 *
 * @param spec Output path, channels, rate and length.
 * @returns The written file's summary.
 * @throws {RangeError} With no channel or more than two; file system errors pass through.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WavWriter } from "./wav_writer.ts";
 * import { WavReader } from "./wav_reader.ts";
 * import { mixToWav } from "./mixer.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const a = WavWriter.create(`${dir}/a.wav`, { sampleRate: 8000 });
 * a.write(new Int16Array(800).fill(1000));
 * a.close();
 * const source = { path: `${dir}/a.wav`, sampleRate: 8000, frames: 800, offset: 0.5 };
 * const summary = mixToWav({ path: `${dir}/out.wav`, channels: [[], [{ sources: [source] }]] });
 * assert.equal(summary.frames, 4800);
 * const r = WavReader.open(`${dir}/out.wav`);
 * const out = new Int16Array(4);
 * r.read(4000, 2, out);
 * assert.deepEqual([...out], [0, 1000, 0, 1000]);
 * r.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function mixToWav(spec: MixSpec): WavSummary {
  const channels = spec.channels.length;
  if (channels < 1 || channels > 2) {
    throw new RangeError(`Cannot mix: ${channels} channels (1 or 2 supported)`);
  }
  const rate = mixRate(spec);
  const opened = new Map<MixSource, OpenSource>();
  const writer = WavWriter.create(spec.path, { sampleRate: rate, channels });
  try {
    let total = 0;
    for (const channel of spec.channels) {
      for (const group of channel) {
        for (const s of group.sources) {
          if (opened.has(s)) continue;
          const source = openSource(s, rate);
          opened.set(s, source);
          total = Math.max(total, source.startOut + Math.ceil(s.frames / source.step));
        }
      }
    }
    if (spec.durationSeconds !== undefined) total = Math.round(spec.durationSeconds * rate);
    total = Math.max(0, total);
    const block = Math.max(1, Math.round((spec.blockSeconds ?? 1) * rate));
    const mixed = new Int32Array(block * channels);
    const filled = new Uint8Array(block);
    const out = new Int16Array(block * channels);
    for (let k0 = 0; k0 < total; k0 += block) {
      const n = Math.min(block, total - k0);
      mixed.fill(0);
      for (const source of opened.values()) loadBlock(source, k0, n);
      for (let c = 0; c < channels; c++) {
        for (const group of spec.channels[c]!) {
          const several = group.sources.length > 1;
          if (several) filled.fill(0, 0, n);
          for (const s of group.sources) {
            addSource(opened.get(s)!, k0, n, mixed, c, channels, several ? filled : null);
          }
        }
      }
      for (let i = 0; i < n * channels; i++) {
        const v = mixed[i]!;
        out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
      writer.write(out, n * channels);
    }
  } catch (error) {
    writer.close();
    throw error;
  } finally {
    for (const source of opened.values()) source.reader.close();
  }
  return writer.close();
}

function openSource(spec: MixSource, rate: number): OpenSource {
  const reader = WavReader.open(spec.path);
  const sourceRate = reader.sampleRate;
  const step = sourceRate / rate;
  const startOut = Math.round(spec.offset * rate);
  const frames = Math.min(spec.frames, reader.frames);
  const coverage = spec.coverage ?? [0, frames];
  const covered: number[] = [];
  for (let i = 0; i + 1 < coverage.length; i += 2) {
    const a = Math.max(0, coverage[i]!);
    const b = Math.min(frames, coverage[i + 1]!);
    if (b <= a) continue;
    covered.push(startOut + Math.ceil(a / step), startOut + Math.ceil(b / step));
  }
  return {
    spec: { ...spec, frames },
    reader,
    startOut,
    step,
    covered,
    cursor: 0,
    buffer: new Int16Array(0),
    first: 0,
    active: false,
  };
}

/**
 * Reads the source frames output frames `[k0, k0 + n)` need (mono: channel 0
 * of the file); nothing when the source has no audio there.
 */
function loadBlock(source: OpenSource, k0: number, n: number): void {
  const covered = source.covered;
  // Intervals ending before this block are done with.
  while (source.cursor < covered.length && covered[source.cursor + 1]! <= k0) source.cursor += 2;
  source.active = source.cursor < covered.length && covered[source.cursor]! < k0 + n;
  if (!source.active) return;
  const first = Math.floor((k0 - source.startOut) * source.step);
  const last = Math.floor((k0 + n - 1 - source.startOut) * source.step) + 1;
  const count = last - first + 1;
  const channels = source.reader.channels;
  if (source.buffer.length < count * channels) source.buffer = new Int16Array(count * channels);
  source.reader.read(first, count, source.buffer);
  if (channels > 1) {
    for (let i = 0; i < count; i++) source.buffer[i] = source.buffer[i * channels]!;
  }
  source.first = first;
}

/**
 * Adds a source's covered frames of the block to one channel of `mixed`;
 * with `filled` (a group of several sources), only frames no earlier source
 * of the group has filled.
 */
function addSource(
  source: OpenSource,
  k0: number,
  n: number,
  mixed: Int32Array,
  channel: number,
  channels: number,
  filled: Uint8Array | null,
): void {
  if (!source.active) return;
  const covered = source.covered;
  const k1 = k0 + n;
  const buffer = source.buffer;
  const step = source.step;
  for (let i = source.cursor; i < covered.length; i += 2) {
    const a = covered[i]!;
    if (a >= k1) break;
    const from = Math.max(a, k0);
    const to = Math.min(covered[i + 1]!, k1);
    let m = (from - k0) * channels + channel;
    if (step === 1) {
      // Same rate: a plain copy.
      let b = from - source.startOut - source.first;
      if (filled === null) {
        for (let k = from; k < to; k++, m += channels, b++) mixed[m] = mixed[m]! + buffer[b]!;
      } else {
        for (let j = from - k0; j < to - k0; j++, m += channels, b++) {
          if (filled[j] === 1) continue;
          filled[j] = 1;
          mixed[m] = mixed[m]! + buffer[b]!;
        }
      }
      continue;
    }
    for (let k = from; k < to; k++, m += channels) {
      if (filled !== null) {
        if (filled[k - k0] === 1) continue;
        filled[k - k0] = 1;
      }
      const s = (k - source.startOut) * step;
      const s0 = Math.floor(s);
      const b = s0 - source.first;
      const x0 = buffer[b]!;
      mixed[m] = mixed[m]! + Math.round(x0 + (buffer[b + 1]! - x0) * (s - s0));
    }
  }
}
