/**
 * Mixes per-stream recordings into call files (a stereo file per call, a
 * conference's mixed file and per-participant tracks), from the audio the
 * recorder still holds in memory or from the stream files on disk, read
 * back in blocks of a second. A channel holding one party gets its samples
 * as they are; only channels summing several parties go through a 32-bit
 * sum and clipping. {@linkcode mixToWav} writes the file synchronously;
 * {@linkcode mixWith} hands the audio to a writer of the caller's (the
 * recorder's writes in the background).
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

import { ChunkedWavWriter, SyncFileSink } from "./chunked_wav_writer.ts";
import type { PcmReader } from "./pcm_chunks.ts";
import { WavReader } from "./wav_reader.ts";
import { WAV_MAX_DATA_BYTES, type WavSummary } from "./wav_writer.ts";

/** One per-stream recording placed on the output's time line. */
export interface MixSource {
  /** The mono 16-bit WAV file (read when `pcm` is not given). */
  path: string;
  /** Its audio in memory (the file's data), read instead of the file. */
  pcm?: PcmReader | null;
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
  /** Seconds of audio per block read and mixed (default 1). */
  blockSeconds?: number;
}

/** The format of a mix's output, for the function making its writer. */
export interface MixFormat {
  /** Sample rate in Hz. */
  sampleRate: number;
  /** 1 or 2. */
  channels: number;
  /** Frames the output will have (before the WAV size cap). */
  frames: number;
}

interface OpenSource {
  spec: MixSource;
  reader: PcmReader;
  /** Output frame of the source's frame 0. */
  startOut: number;
  /** Source frames per output frame. */
  step: number;
  /** Covered output intervals, flattened. */
  covered: number[];
  /** Whether covered intervals overlap (then the source is summed, never copied). */
  overlaps: boolean;
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
  return mixWith(spec, (format) =>
    new ChunkedWavWriter({
      sampleRate: format.sampleRate,
      channels: format.channels,
      chunkFrames: Math.max(1, Math.min(format.frames, Math.floor(MAX_OUT_CHUNK_BYTES / 4))),
      sink: new SyncFileSink(spec.path),
    }));
}

/**
 * What {@linkcode mixWith} will report for a spec whose length is given
 * (`durationSeconds`), known before any source is opened.
 *
 * @param spec The mix, with `durationSeconds`.
 * @returns The summary the mix will have (its frames capped as a WAV caps them).
 */
export function plannedMixSummary(spec: MixSpec): WavSummary {
  const rate = mixRate(spec);
  const channels = spec.channels.length;
  const total = Math.max(0, Math.round((spec.durationSeconds ?? 0) * rate));
  const cap = Math.floor(WAV_MAX_DATA_BYTES / (2 * channels));
  const frames = Math.min(total, cap);
  return {
    frames,
    dataBytes: frames * 2 * channels,
    durationSeconds: frames / rate,
    truncated: total > cap,
  };
}

/** Largest output chunk {@linkcode mixToWav} writes at once, in bytes. */
const MAX_OUT_CHUNK_BYTES = 1 << 20;

/**
 * Mixes into a writer made for the output's format (`spec.path` is not
 * used): the recorder's way of writing call files in the background.
 *
 * @param spec Channels, rate and length.
 * @param makeWriter Makes the writer, once the sources are open.
 * @returns The summary of what the writer was given.
 * @throws {RangeError} With no channel or more than two; errors reading the sources pass through
 *   (the writer is then not made, or closed with what it had).
 */
export function mixWith(
  spec: MixSpec,
  makeWriter: (format: MixFormat) => ChunkedWavWriter,
): WavSummary {
  const channels = spec.channels.length;
  if (channels < 1 || channels > 2) {
    throw new RangeError(`Cannot mix: ${channels} channels (1 or 2 supported)`);
  }
  const rate = mixRate(spec);
  const opened = new Map<MixSource, OpenSource>();
  let writer: ChunkedWavWriter | null = null;
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
    writer = makeWriter({ sampleRate: rate, channels, frames: total });
    const block = Math.max(1, Math.round((spec.blockSeconds ?? 1) * rate));
    const work = scratch(block);
    const single = spec.channels.map((groups) =>
      groups.length === 1 && !groups[0]!.sources.some((s) => opened.get(s)!.overlaps)
    );
    for (let k0 = 0; k0 < total; k0 += block) {
      const n = Math.min(block, total - k0);
      for (const source of opened.values()) loadBlock(source, k0, n);
      writer.reserve(n);
      const out = writer.chunk;
      const at = writer.at;
      if (channels === 1) {
        const mono = renderChannel(spec.channels[0]!, single[0]!, opened, k0, n, work, 0);
        out.set(mono.subarray(0, n), at);
      } else {
        const left = renderChannel(spec.channels[0]!, single[0]!, opened, k0, n, work, 0);
        const right = renderChannel(spec.channels[1]!, single[1]!, opened, k0, n, work, 1);
        interleave(left, right, n, out, at);
      }
      writer.commit(n);
    }
  } catch (error) {
    writer?.close();
    throw error;
  } finally {
    for (const source of opened.values()) source.reader.close();
  }
  return writer.close();
}

/** Buffers reused from mix to mix (mixing is synchronous: one mix at a time). */
interface Scratch {
  /** Sums of a channel of several parties. */
  mixed: Int32Array;
  /** Frames filled by an earlier source of a group. */
  filled: Uint8Array;
  /** A channel's samples, per channel. */
  mono: [Int16Array, Int16Array];
  /** Block buffers of the sources. */
  sources: Int16Array[];
  /** Next free one of `sources`. */
  next: number;
}

const SCRATCH: Scratch = {
  mixed: new Int32Array(0),
  filled: new Uint8Array(0),
  mono: [new Int16Array(0), new Int16Array(0)],
  sources: [],
  next: 0,
};

function scratch(block: number): Scratch {
  if (SCRATCH.mixed.length < block) {
    SCRATCH.mixed = new Int32Array(block);
    SCRATCH.filled = new Uint8Array(block);
    SCRATCH.mono = [new Int16Array(block), new Int16Array(block)];
  }
  SCRATCH.next = 0;
  return SCRATCH;
}

/**
 * The samples of one output channel for the block `[k0, k0 + n)`: a view
 * of a source's block when one source covers it all, else the channel's
 * scratch, filled from the groups (copied for one party, summed and
 * clipped for several).
 */
function renderChannel(
  groups: MixGroup[],
  single: boolean,
  opened: Map<MixSource, OpenSource>,
  k0: number,
  n: number,
  work: Scratch,
  channel: number,
): Int16Array {
  const target = work.mono[channel]!;
  if (single) {
    const sources = groups[0]!.sources;
    if (sources.length === 1) {
      const source = opened.get(sources[0]!)!;
      const c = source.cursor;
      if (
        source.active && source.step === 1 && source.covered[c]! <= k0 &&
        source.covered[c + 1]! >= k0 + n
      ) {
        // Covered all through: the source's own samples.
        const b = k0 - source.startOut - source.first;
        return source.buffer.subarray(b, b + n);
      }
    }
    target.fill(0, 0, n);
    const several = sources.length > 1;
    if (several) work.filled.fill(0, 0, n);
    for (const s of sources) {
      copySource(opened.get(s)!, k0, n, target, 0, 1, several ? work.filled : null);
    }
    return target;
  }
  target.fill(0, 0, n);
  if (groups.length === 0) return target;
  const mixed = work.mixed;
  mixed.fill(0, 0, n);
  for (const group of groups) {
    const several = group.sources.length > 1;
    if (several) work.filled.fill(0, 0, n);
    for (const s of group.sources) {
      addSource(opened.get(s)!, k0, n, mixed, several ? work.filled : null);
    }
  }
  for (let i = 0; i < n; i++) {
    const v = mixed[i]!;
    target[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return target;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let pairBuffer: ArrayBufferLike | null = null;
let pairView: Int32Array<ArrayBufferLike> = new Int32Array(0);

/** Writes `n` stereo frames into `out` from `at`: one 32-bit store per frame when aligned. */
function interleave(left: Int16Array, right: Int16Array, n: number, out: Int16Array, at: number) {
  const byte = out.byteOffset + 2 * at;
  if (LITTLE_ENDIAN && (byte & 3) === 0) {
    if (out.buffer !== pairBuffer) {
      pairBuffer = out.buffer;
      pairView = new Int32Array(out.buffer, 0, out.buffer.byteLength >> 2);
    }
    const pairs = pairView;
    const d = byte >> 2;
    for (let k = 0; k < n; k++) pairs[d + k] = (left[k]! & 0xffff) | (right[k]! << 16);
    return;
  }
  for (let k = 0, m = at; k < n; k++, m += 2) {
    out[m] = left[k]!;
    out[m + 1] = right[k]!;
  }
}

/** A source's block buffer: one of the reused ones while they last. */
function sourceBuffer(values: number): Int16Array {
  const i = SCRATCH.next++;
  if (i >= 16) return new Int16Array(values);
  const have = SCRATCH.sources[i];
  if (have !== undefined && have.length >= values) return have;
  const made = new Int16Array(values);
  SCRATCH.sources[i] = made;
  return made;
}

function openSource(spec: MixSource, rate: number): OpenSource {
  const reader = spec.pcm ?? WavReader.open(spec.path);
  const sourceRate = reader.sampleRate;
  const step = sourceRate / rate;
  const startOut = Math.round(spec.offset * rate);
  const frames = Math.min(spec.frames, reader.frames);
  const coverage = spec.coverage ?? [0, frames];
  const covered: number[] = [];
  let overlaps = false;
  for (let i = 0; i + 1 < coverage.length; i += 2) {
    const a = Math.max(0, coverage[i]!);
    const b = Math.min(frames, coverage[i + 1]!);
    if (b <= a) continue;
    const from = startOut + Math.ceil(a / step);
    const to = startOut + Math.ceil(b / step);
    if (covered.length > 0 && from < covered[covered.length - 1]!) overlaps = true;
    covered.push(from, to);
  }
  return {
    spec: { ...spec, frames },
    reader,
    startOut,
    step,
    covered,
    overlaps,
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
  if (source.buffer.length < count * channels) source.buffer = sourceBuffer(count * channels);
  source.reader.read(first, count, source.buffer);
  if (channels > 1) {
    for (let i = 0; i < count; i++) source.buffer[i] = source.buffer[i * channels]!;
  }
  source.first = first;
}

/**
 * Writes a source's covered frames of the block into one channel of the
 * interleaved `out` (from index `base`, every `stride` values), for a
 * channel holding one party; with `filled` (a group of several sources),
 * only frames no earlier source of the group has filled.
 */
function copySource(
  source: OpenSource,
  k0: number,
  n: number,
  out: Int16Array,
  base: number,
  stride: number,
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
    let m = base + (from - k0) * stride;
    if (step === 1) {
      let b = from - source.startOut - source.first;
      if (filled === null) {
        if (stride === 1) {
          out.set(buffer.subarray(b, b + to - from), m);
          continue;
        }
        for (let k = from; k < to; k++, m += stride, b++) out[m] = buffer[b]!;
      } else {
        for (let j = from - k0; j < to - k0; j++, m += stride, b++) {
          if (filled[j] === 1) continue;
          filled[j] = 1;
          out[m] = buffer[b]!;
        }
      }
      continue;
    }
    for (let k = from; k < to; k++, m += stride) {
      if (filled !== null) {
        if (filled[k - k0] === 1) continue;
        filled[k - k0] = 1;
      }
      const s = (k - source.startOut) * step;
      const s0 = Math.floor(s);
      const b = s0 - source.first;
      const x0 = buffer[b]!;
      out[m] = Math.round(x0 + (buffer[b + 1]! - x0) * (s - s0));
    }
  }
}

/**
 * Adds a source's covered frames of the block to `mixed` (one channel);
 * with `filled` (a group of several sources), only frames no earlier
 * source of the group has filled.
 */
function addSource(
  source: OpenSource,
  k0: number,
  n: number,
  mixed: Int32Array,
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
    if (step === 1) {
      let b = from - source.startOut - source.first;
      if (filled === null) {
        for (let j = from - k0; j < to - k0; j++, b++) mixed[j] = mixed[j]! + buffer[b]!;
      } else {
        for (let j = from - k0; j < to - k0; j++, b++) {
          if (filled[j] === 1) continue;
          filled[j] = 1;
          mixed[j] = mixed[j]! + buffer[b]!;
        }
      }
      continue;
    }
    for (let k = from; k < to; k++) {
      const j = k - k0;
      if (filled !== null) {
        if (filled[j] === 1) continue;
        filled[j] = 1;
      }
      const s = (k - source.startOut) * step;
      const s0 = Math.floor(s);
      const b = s0 - source.first;
      const x0 = buffer[b]!;
      mixed[j] = mixed[j]! + Math.round(x0 + (buffer[b + 1]! - x0) * (s - s0));
    }
  }
}
