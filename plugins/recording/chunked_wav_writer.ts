/**
 * Writes a 16-bit PCM WAV (the same bytes as `WavWriter` in wav_writer.ts)
 * in chunks handed whole to a {@linkcode WavSink}: a synchronous file
 * ({@linkcode SyncFileSink}) or a `BackgroundFile` (background_file.ts),
 * created off the packet path. The caller can decode straight into the
 * current chunk (`reserve`, `chunk`, `at`, `commit`), so no sample is
 * copied on its way to the file. Chunks come from a {@linkcode BufferPool}
 * when one is given, and go back to it once written and no longer kept.
 * They can be kept in memory ({@linkcode PcmChunks}, under a
 * {@linkcode RetainBudget}) for the call files mixed later; a writer whose
 * sink is created lazily writes no file at all as long as its audio stays
 * in memory.
 *
 * The header goes out with the first chunk (in room kept before its
 * samples, so both leave in one piece) with the sizes of that chunk, is
 * rewritten every `headerEveryBytes` of data (0: after every chunk, so the
 * file on disk is always a valid WAV up to its last chunk) and at
 * `close()`. A background file still holding the first piece patches it in
 * place, so a file of one chunk is written with a single write.
 *
 * @module
 */

import type { BufferPool } from "./buffer_pool.ts";
import { PcmChunks, type RetainBudget } from "./pcm_chunks.ts";
import {
  checkWavFormat,
  WAV_HEADER_BYTES,
  WAV_MAX_DATA_BYTES,
  type WavSummary,
} from "./wav_writer.ts";

/**
 * Where a {@linkcode ChunkedWavWriter} puts its bytes (`BackgroundFile` in
 * background_file.ts is one). A sink given bytes of a pooled buffer owns one
 * reference to it and lets it go once they are written.
 */
export interface WavSink {
  /** Appends bytes (owned by the sink from then on). */
  append(bytes: Uint8Array): void;
  /** Writes bytes at an offset, after what was handed over before. */
  writeAt(offset: number, bytes: Uint8Array): void;
  /** Closes once everything is written. */
  close(): void;
  /** Drops the file: closes and removes it. */
  discard(): void;
}

/** Options of a {@linkcode ChunkedWavWriter}. */
export interface ChunkedWavWriterOptions {
  /** Sample rate in Hz (a positive integer). */
  sampleRate: number;
  /** 1 (default) or 2 channels. */
  channels?: number;
  /** Frames per chunk, at least (default 32768; a pooled chunk may hold a few more). */
  chunkFrames?: number;
  /**
   * The sink, or a function making it when the first byte must go out (a
   * lazy sink: while the audio is kept in memory, no file is made).
   */
  sink: WavSink | (() => WavSink);
  /** Where chunks come from (default: fresh buffers). The sink releases what it is given. */
  pool?: BufferPool | null;
  /** Keep the chunks in memory under this budget (default: do not keep them). */
  retain?: RetainBudget | null;
  /** Data bytes between two header rewrites (0: after every chunk; default 1 MiB). */
  headerEveryBytes?: number;
  /** Cap on the data chunk in bytes (default and maximum {@linkcode WAV_MAX_DATA_BYTES}). */
  maxDataBytes?: number;
}

/** Default frames per chunk. */
export const DEFAULT_CHUNK_FRAMES = 32768;
/** Default data bytes between header rewrites. */
export const DEFAULT_HEADER_EVERY_BYTES = 1 << 20;

const PCM_FORMAT = 1;
/** Bytes kept before the first chunk's samples for the header. */
const HEADROOM = WAV_HEADER_BYTES;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The canonical 44-byte header of a 16-bit PCM WAV.
 *
 * @param sampleRate Sample rate in Hz.
 * @param channels Channels.
 * @param dataBytes Bytes in the data chunk.
 * @returns The header.
 */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Uint8Array {
  const header = new Uint8Array(WAV_HEADER_BYTES);
  putWavHeader(header, sampleRate, channels, dataBytes);
  return header;
}

/** Writes the 44-byte header at the start of `target`. */
function putWavHeader(
  target: Uint8Array,
  sampleRate: number,
  channels: number,
  dataBytes: number,
): void {
  const view = new DataView(target.buffer, target.byteOffset, WAV_HEADER_BYTES);
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) target[at + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, WAV_HEADER_BYTES - 8 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, PCM_FORMAT, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
}

/**
 * A file written synchronously, for a {@linkcode ChunkedWavWriter} used on
 * its own (tests, tools); errors are thrown.
 */
export class SyncFileSink implements WavSink {
  /** The file's path. */
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #pool: BufferPool | null;
  #position = 0;
  #closed = false;

  /**
   * @param path Created or truncated now.
   * @param pool The pool of the buffers it is given (their references are let go once written).
   */
  constructor(path: string, pool: BufferPool | null = null) {
    this.path = path;
    this.#pool = pool;
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  /** Appends at the end of what was written. */
  append(bytes: Uint8Array): void {
    try {
      this.#write(bytes);
    } finally {
      this.#pool?.unref(bytes.buffer);
    }
  }

  /** Writes at an offset, then goes back to where it was. */
  writeAt(offset: number, bytes: Uint8Array): void {
    const back = this.#position;
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    this.#position = offset;
    this.#write(bytes);
    if (back > this.#position) {
      this.#file.seekSync(back, Deno.SeekMode.Start);
      this.#position = back;
    }
  }

  /** Closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  /** Closes and removes the file. */
  discard(): void {
    this.close();
    try {
      Deno.removeSync(this.path);
    } catch {
      // not there
    }
  }

  #write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
    this.#position += done;
  }
}

/**
 * Writes 16-bit PCM to a WAV through a sink, chunk by chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChunkedWavWriter, SyncFileSink } from "./chunked_wav_writer.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".wav" });
 * const w = new ChunkedWavWriter({ sampleRate: 8000, sink: new SyncFileSink(path), chunkFrames: 3 });
 * w.reserve(2);
 * w.chunk[w.at] = 7;
 * w.chunk[w.at + 1] = 8;
 * w.commit(2);
 * w.writeSilence(2);
 * assert.equal(w.close().frames, 4);
 * assert.deepEqual([...new Int16Array(Deno.readFileSync(path).buffer, 44)], [7, 8, 0, 0]);
 * Deno.removeSync(path);
 * ```
 */
export class ChunkedWavWriter {
  /** Sample rate in Hz. */
  readonly sampleRate: number;
  /** Channels. */
  readonly channels: number;
  readonly #chunkFrames: number;
  readonly #headerEvery: number;
  readonly #maxFrames: number;
  readonly #pool: BufferPool | null;
  #sink: WavSink | null;
  #makeSink: (() => WavSink) | null;
  #chunk: Int16Array;
  /** Value index of the next frame in the current chunk. */
  #at = 0;
  /** Frames accepted (handed over or in the current chunk). */
  #frames = 0;
  /** Data bytes handed to the sink. */
  #handed = 0;
  /** Data size the header handed over last says (-1: no header yet). */
  #headerAt = -1;
  #truncated = false;
  #summary: WavSummary | null = null;
  #pcm: PcmChunks | null = null;
  /** Chunks kept while the sink is not made yet (a lazy sink), each holding a reference. */
  #unsent: { chunk: Int16Array; frames: number }[] | null = null;

  /**
   * @param options Format, chunk size, sink, pool, memory budget, header interval and size cap.
   * @throws {RangeError} For an unsupported sample rate or channel count.
   */
  constructor(options: ChunkedWavWriterOptions) {
    const { sampleRate } = options;
    const channels = options.channels ?? 1;
    checkWavFormat(sampleRate, channels);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.#chunkFrames = Math.max(1, Math.floor(options.chunkFrames ?? DEFAULT_CHUNK_FRAMES));
    this.#headerEvery = Math.max(0, options.headerEveryBytes ?? DEFAULT_HEADER_EVERY_BYTES);
    const cap = Math.min(options.maxDataBytes ?? WAV_MAX_DATA_BYTES, WAV_MAX_DATA_BYTES);
    this.#maxFrames = Math.max(0, Math.floor(cap / (2 * channels)));
    this.#pool = options.pool ?? null;
    const retain = options.retain ?? null;
    if (retain !== null) {
      this.#pcm = new PcmChunks(sampleRate, channels, { pool: this.#pool, budget: retain });
    }
    if (typeof options.sink === "function") {
      this.#sink = null;
      this.#makeSink = options.sink;
      this.#unsent = [];
    } else {
      this.#sink = options.sink;
      this.#makeSink = null;
    }
    this.#chunk = this.#newChunk(this.#chunkFrames);
  }

  /** The chunk being filled: write frames at {@linkcode ChunkedWavWriter.at}, then `commit`. */
  get chunk(): Int16Array {
    return this.#chunk;
  }

  /** Index in {@linkcode ChunkedWavWriter.chunk} of the next frame's first value. */
  get at(): number {
    return this.#at;
  }

  /** Frames accepted so far. */
  get frames(): number {
    return this.#frames;
  }

  /** True once audio has been dropped at the size cap. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** The audio kept in memory, or `null` (not kept, over the budget, or released). */
  get pcm(): PcmChunks | null {
    return this.#pcm;
  }

  /**
   * Makes room for `frames` frames from {@linkcode ChunkedWavWriter.at} in
   * the current chunk, starting a new one if needed. Frames already placed
   * beyond `at` (written ahead of their turn, not committed) move along to
   * the new chunk when `carry` says how many there are.
   *
   * @param frames Frames about to be written from {@linkcode ChunkedWavWriter.at}.
   * @param carry Frames beyond `at` that hold data to keep (at most `frames`).
   */
  reserve(frames: number, carry = 0): void {
    const channels = this.channels;
    if (this.#at + frames * channels <= this.#chunk.length) return;
    const old = this.#chunk;
    const from = this.#at;
    this.#seal(false, frames);
    if (carry > 0) this.#chunk.set(old.subarray(from, from + carry * channels), 0);
  }

  /**
   * Takes frames written at {@linkcode ChunkedWavWriter.at} (after `reserve`).
   *
   * @param frames Frames written.
   * @returns Frames accepted (fewer at the size cap).
   */
  commit(frames: number): number {
    this.#assertOpen();
    let n = Math.max(0, Math.floor(frames));
    const room = this.#maxFrames - this.#frames;
    if (n > room) {
      n = room;
      this.#truncated = true;
    }
    this.#at += n * this.channels;
    this.#frames += n;
    return n;
  }

  /**
   * Appends interleaved samples (copied).
   *
   * @param samples PCM samples.
   * @param length Values of `samples` to take (default all).
   * @returns Frames accepted.
   */
  write(samples: Int16Array, length: number = samples.length): number {
    const channels = this.channels;
    let frames = Math.floor(Math.max(0, Math.min(length, samples.length)) / channels);
    let from = 0;
    let accepted = 0;
    while (frames > 0) {
      this.#assertOpen();
      if (this.#at === this.#chunk.length) this.#seal();
      const n = Math.min(frames, (this.#chunk.length - this.#at) / channels);
      this.#chunk.set(samples.subarray(from, from + n * channels), this.#at);
      const taken = this.commit(n);
      accepted += taken;
      if (taken < n) break;
      from += n * channels;
      frames -= n;
    }
    return accepted;
  }

  /**
   * Appends silence.
   *
   * @param frames Frames of silence.
   * @returns Frames accepted.
   */
  writeSilence(frames: number): number {
    let remaining = Math.max(0, Math.floor(frames));
    let accepted = 0;
    while (remaining > 0) {
      this.#assertOpen();
      if (this.#at === this.#chunk.length) this.#seal();
      const n = Math.min(remaining, (this.#chunk.length - this.#at) / this.channels);
      this.#chunk.fill(0, this.#at, this.#at + n * this.channels);
      const taken = this.commit(n);
      accepted += taken;
      if (taken < n) break;
      remaining -= n;
    }
    return accepted;
  }

  /**
   * Hands the last chunk over, writes the final header and closes the sink.
   * Later calls return the same summary.
   *
   * @returns What the file holds (once the sink has written it).
   */
  close(): WavSummary {
    if (this.#summary !== null) return this.#summary;
    const frameBytes = 2 * this.channels;
    this.#summary = {
      frames: this.#frames,
      dataBytes: this.#frames * frameBytes,
      durationSeconds: this.#frames / this.sampleRate,
      truncated: this.#truncated,
    };
    this.#seal(true);
    if (this.#sink === null && this.#pcm === null) this.#openSink(); // no other home
    if (this.#sink !== null) {
      if (this.#headerAt !== this.#handed) {
        this.#sink.writeAt(0, wavHeader(this.sampleRate, this.channels, this.#handed));
        this.#headerAt = this.#handed;
      }
      this.#sink.close();
    }
    return this.#summary;
  }

  /** Drops the file (if one was made) and the audio kept in memory. */
  discard(): void {
    this.close();
    this.release();
    this.#dropUnsent();
    this.#sink?.discard();
  }

  /**
   * Lets go of the audio kept in memory (a holder of {@linkcode ChunkedWavWriter.pcm}
   * keeps it alive for itself). After `close()` with a lazy sink never made,
   * the audio had no other home: it is gone.
   */
  release(): void {
    this.#pcm?.drop();
    this.#pcm = null;
    if (this.#summary !== null && this.#sink === null) this.#dropUnsent();
  }

  #assertOpen(): void {
    if (this.#summary !== null) throw new TypeError("Cannot write WAV: the writer is closed");
  }

  /** A new chunk of at least `frames` frames, with room for the header before its samples. */
  #newChunk(frames: number): Int16Array {
    const bytes = HEADROOM + 2 * frames * this.channels;
    if (this.#pool === null) {
      return new Int16Array(new ArrayBuffer(bytes), HEADROOM, frames * this.channels);
    }
    const buffer = this.#pool.take(bytes);
    const values = Math.floor((buffer.byteLength - HEADROOM) / (2 * this.channels)) * this.channels;
    return new Int16Array(buffer, HEADROOM, values);
  }

  /**
   * Hands the current chunk over (to memory, the sink, or both) and starts
   * a new one of at least `minFrames` (none after the last).
   */
  #seal(last = false, minFrames = 0): void {
    const frames = this.#at / this.channels;
    let chunk = this.#chunk;
    this.#at = 0;
    this.#chunk = last ? new Int16Array(0) : this.#newChunk(Math.max(this.#chunkFrames, minFrames));
    if (frames === 0) {
      this.#pool?.unref(chunk.buffer);
      return;
    }
    if (last && 2 * frames * this.channels < chunk.length) {
      // A mostly empty last chunk: keep only what it holds (and the header's room).
      const small = this.#newChunk(frames);
      small.set(chunk.subarray(0, frames * this.channels));
      this.#pool?.unref(chunk.buffer);
      chunk = small;
    }
    // Memory takes its own reference; the writer's goes to the sink (or the list for it).
    if (this.#pcm !== null && !this.#pcm.tryPush(chunk, frames)) this.release();
    if (this.#sink === null && this.#pcm !== null && this.#unsent !== null) {
      // A lazy sink: the audio is in memory, no file yet.
      this.#unsent.push({ chunk, frames });
    } else {
      this.#openSink();
      this.#send(chunk, frames);
    }
  }

  #openSink(): void {
    if (this.#sink !== null) return;
    const sink = this.#makeSink!();
    this.#sink = sink;
    this.#makeSink = null;
    const unsent = this.#unsent ?? [];
    this.#unsent = null;
    for (const u of unsent) this.#send(u.chunk, u.frames);
  }

  #dropUnsent(): void {
    for (const u of this.#unsent ?? []) this.#pool?.unref(u.chunk.buffer);
    if (this.#unsent !== null) this.#unsent = [];
  }

  /** Gives a chunk to the sink (with one reference to its buffer). */
  #send(chunk: Int16Array, frames: number): void {
    const sink = this.#sink!;
    const length = frames * this.channels * 2;
    const handed = this.#handed + length;
    if (!LITTLE_ENDIAN) {
      const bytes = new Uint8Array(HEADROOM + length);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < frames * this.channels; i++) {
        view.setInt16(HEADROOM + 2 * i, chunk[i]!, true);
      }
      this.#pool?.unref(chunk.buffer);
      chunk = new Int16Array(bytes.buffer, HEADROOM, frames * this.channels);
    }
    if (this.#headerAt < 0) {
      // The first chunk: the header (with this chunk's size) and the samples in one piece.
      this.#headerAt = handed;
      const piece = new Uint8Array(chunk.buffer, chunk.byteOffset - HEADROOM, HEADROOM + length);
      putWavHeader(piece, this.sampleRate, this.channels, handed);
      sink.append(piece);
      this.#handed = handed;
      return;
    }
    sink.append(new Uint8Array(chunk.buffer, chunk.byteOffset, length));
    this.#handed = handed;
    if (this.#handed - this.#headerAt >= this.#headerEvery) {
      this.#headerAt = this.#handed;
      sink.writeAt(0, wavHeader(this.sampleRate, this.channels, this.#handed));
    }
  }
}
