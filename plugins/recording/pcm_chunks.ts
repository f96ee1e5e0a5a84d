/**
 * 16-bit PCM kept in memory as a list of chunks, readable by frame like a
 * WAV file on disk ({@linkcode PcmReader}), so a call file can be mixed from
 * the audio its streams just recorded instead of reading their files back.
 * A {@linkcode RetainBudget} caps what all such stores hold together; a
 * store counts its holders (the stream's writer, a call file waiting to be
 * mixed) and gives its chunks back (to the budget and the
 * {@linkcode BufferPool}) when the last one lets go.
 *
 * @module
 */

import type { BufferPool } from "./buffer_pool.ts";

/** Frames of 16-bit PCM readable by index: a WAV file on disk or chunks in memory. */
export interface PcmReader {
  /** Sample rate in Hz. */
  readonly sampleRate: number;
  /** Interleaved channels. */
  readonly channels: number;
  /** Frames held. */
  readonly frames: number;
  /**
   * Reads frames `[start, start + count)` into `out` (interleaved); frames
   * outside the data read as silence.
   *
   * @param start First frame (may be negative).
   * @param count Frames to read.
   * @param out Destination, at least `outOffset + count × channels` long.
   * @param outOffset Index in `out` of the first value.
   */
  read(start: number, count: number, out: Int16Array, outOffset?: number): void;
  /** Releases what the reader holds (a file handle). */
  close(): void;
}

/**
 * Counts the bytes of PCM kept in memory by all {@linkcode PcmChunks} of a
 * recorder, and refuses more past its cap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RetainBudget } from "./pcm_chunks.ts";
 *
 * const budget = new RetainBudget(100);
 * assert.ok(budget.take(60));
 * assert.ok(!budget.take(60));
 * budget.give(60);
 * assert.equal(budget.used, 0);
 * ```
 */
export class RetainBudget {
  /** Most bytes held at once. */
  readonly max: number;
  #used = 0;
  #peak = 0;

  /** @param max Most bytes held at once. */
  constructor(max: number) {
    this.max = Math.max(0, max);
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Most bytes ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /**
   * Takes bytes if they fit under the cap.
   *
   * @param bytes How many.
   * @returns Whether they were taken.
   */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.max) return false;
    this.#used += bytes;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return true;
  }

  /**
   * Gives bytes back.
   *
   * @param bytes How many.
   */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** Options of a {@linkcode PcmChunks}. */
export interface PcmChunksOptions {
  /** The pool the chunks' buffers come from (each chunk kept holds a reference). */
  pool?: BufferPool | null;
  /** The budget the chunks count against. */
  budget?: RetainBudget | null;
}

/**
 * PCM in memory: chunks appended in order, read back by frame. It starts
 * with one holder; `hold()` adds one, `drop()` lets one go, and the last
 * `drop()` empties it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcmChunks } from "./pcm_chunks.ts";
 *
 * const pcm = new PcmChunks(8000, 1);
 * pcm.push(Int16Array.from([1, 2, 3, 0]), 3);
 * pcm.push(Int16Array.from([4, 5]), 2);
 * const out = new Int16Array(7);
 * pcm.read(-1, 7, out);
 * assert.deepEqual([...out], [0, 1, 2, 3, 4, 5, 0]);
 * pcm.drop();
 * assert.equal(pcm.frames, 0);
 * ```
 */
export class PcmChunks implements PcmReader {
  /** Sample rate in Hz. */
  readonly sampleRate: number;
  /** Interleaved channels. */
  readonly channels: number;
  readonly #pool: BufferPool | null;
  readonly #budget: RetainBudget | null;
  #chunks: Int16Array[] = [];
  /** First frame of each chunk. */
  #starts: number[] = [];
  #frames = 0;
  #bytes = 0;
  #cursor = 0;
  #holders = 1;

  /**
   * @param sampleRate Sample rate in Hz.
   * @param channels Interleaved channels.
   * @param options The pool of the chunks' buffers and the budget they count against.
   */
  constructor(sampleRate: number, channels: number, options: PcmChunksOptions = {}) {
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.#pool = options.pool ?? null;
    this.#budget = options.budget ?? null;
  }

  /** Whether it still has a holder (once dropped by all, it holds nothing). */
  get held(): boolean {
    return this.#holders > 0;
  }

  /** Adds a holder (a call file to be mixed from it later). */
  hold(): void {
    if (this.#holders > 0) this.#holders++;
  }

  /** Lets a holder go; the last one gives the chunks back to the pool and the budget. */
  drop(): void {
    if (this.#holders <= 0) return;
    if (--this.#holders > 0) return;
    for (const chunk of this.#chunks) this.#pool?.unref(chunk.buffer);
    this.#budget?.give(this.#bytes);
    this.#chunks = [];
    this.#starts = [];
    this.#frames = 0;
    this.#bytes = 0;
    this.#cursor = 0;
  }

  /**
   * Keeps a chunk if the budget allows it (taking a reference on its buffer).
   *
   * @param chunk Interleaved samples (not copied: do not change them afterwards).
   * @param frames Frames of `chunk` that hold audio (from its start).
   * @returns False when the budget refused it (nothing was kept).
   */
  tryPush(chunk: Int16Array, frames: number): boolean {
    if (this.#holders <= 0) return false;
    if (this.#budget !== null && !this.#budget.take(chunk.byteLength)) return false;
    this.#pool?.ref(chunk.buffer);
    this.push(chunk, frames);
    return true;
  }

  /** Frames held. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes of the chunks (their whole length, used or not). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends a chunk (kept, not copied: do not change it afterwards), outside
   * any budget or pool.
   *
   * @param chunk Interleaved samples.
   * @param frames Frames of `chunk` that hold audio (from its start).
   */
  push(chunk: Int16Array, frames: number): void {
    if (frames <= 0) return;
    this.#chunks.push(chunk.subarray(0, frames * this.channels));
    this.#starts.push(this.#frames);
    this.#frames += frames;
    this.#bytes += chunk.byteLength;
  }

  /**
   * Reads frames `[start, start + count)` into `out`; frames outside read as silence.
   *
   * @param start First frame (may be negative).
   * @param count Frames to read.
   * @param out Destination.
   * @param outOffset Index in `out` of the first value.
   */
  read(start: number, count: number, out: Int16Array, outOffset = 0): void {
    const channels = this.channels;
    const from = Math.max(0, start);
    const to = Math.min(this.#frames, start + count);
    if (to <= from) {
      out.fill(0, outOffset, outOffset + count * channels);
      return;
    }
    if (from > start) out.fill(0, outOffset, outOffset + (from - start) * channels);
    if (to < start + count) {
      out.fill(0, outOffset + (to - start) * channels, outOffset + count * channels);
    }
    let i = this.#find(from);
    let frame = from;
    while (frame < to) {
      const chunk = this.#chunks[i]!;
      const first = this.#starts[i]!;
      const end = Math.min(to, first + chunk.length / channels);
      out.set(
        chunk.subarray((frame - first) * channels, (end - first) * channels),
        outOffset + (frame - start) * channels,
      );
      frame = end;
      i++;
    }
    this.#cursor = Math.max(0, i - 1);
  }

  /** Nothing to release: the chunks go with the object. */
  close(): void {}

  /** Index of the chunk holding a frame (reads are mostly sequential: a cursor first). */
  #find(frame: number): number {
    const starts = this.#starts;
    let i = this.#cursor;
    if (i >= starts.length || starts[i]! > frame) {
      // Backwards: a binary search.
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= frame) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    }
    while (i + 1 < starts.length && starts[i + 1]! <= frame) i++;
    return i;
  }
}
