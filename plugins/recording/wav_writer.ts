/**
 * Streams 16-bit PCM into a WAV file (RIFF, `WAVE_FORMAT_PCM`, 44-byte
 * header), mono or stereo, at any sample rate. Samples are collected in a
 * bounded buffer and appended in chunks; at every flush the RIFF and data
 * sizes in the header are rewritten, so the file on disk is always a valid
 * WAV holding the audio up to the last flush — playable even if the
 * process dies or the input ends without a `close()`.
 *
 * Synchronous on purpose: the recorder runs inside the synchronous event
 * bus, on the RTP fast path.
 *
 * @module
 */

/** Bytes of the canonical PCM WAV header written here. */
export const WAV_HEADER_BYTES = 44;

/**
 * Largest data chunk a WAV can describe: the RIFF size field (data + 36)
 * must fit in 32 bits. {@linkcode WavWriter} stops at this size (rounded
 * down to whole frames) and reports the recording as truncated.
 */
export const WAV_MAX_DATA_BYTES = 0xffffffff - (WAV_HEADER_BYTES - 8);

/**
 * Checks that a WAV of this format can be written: 16-bit PCM, mono or
 * stereo, a whole sample rate whose byte rate fits the header.
 *
 * @throws {RangeError} For an unsupported sample rate or channel count.
 */
export function checkWavFormat(sampleRate: number, channels: number): void {
  if (channels !== 1 && channels !== 2) {
    throw new RangeError(`Cannot write WAV: ${channels} channels (1 or 2 supported)`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate * 4 > 0xffffffff) {
    throw new RangeError(`Cannot write WAV: sample rate ${sampleRate}`);
  }
}

/** Default seconds of audio buffered between flushes (each flush also updates the header). */
export const DEFAULT_FLUSH_SECONDS = 1;

const PCM_FORMAT = 1;
const BYTES_PER_SAMPLE = 2;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MIN_BUFFER_FRAMES = 256;
const MAX_BUFFER_BYTES = 1 << 22;

/** Options of {@linkcode WavWriter}. */
export interface WavWriterOptions {
  /** Sample rate in Hz (a positive integer). */
  sampleRate: number;
  /** 1 (mono, default) or 2 (stereo, interleaved left/right). */
  channels?: number;
  /**
   * Seconds of audio buffered before the data is written and the header
   * sizes are updated (default 1). The buffer never exceeds 4 MiB.
   */
  flushSeconds?: number;
  /**
   * Cap on the data chunk in bytes (default and maximum
   * {@linkcode WAV_MAX_DATA_BYTES}); rounded down to whole frames.
   */
  maxDataBytes?: number;
}

/** What a closed {@linkcode WavWriter} wrote. */
export interface WavSummary {
  /** Frames (samples per channel) in the file. */
  frames: number;
  /** Bytes in the data chunk. */
  dataBytes: number;
  /** Duration in seconds. */
  durationSeconds: number;
  /** True when audio was dropped because the size cap was reached. */
  truncated: boolean;
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/**
 * Streams 16-bit PCM to a WAV file. The writer owns the file: `close()`
 * finalizes the header and closes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WavWriter } from "./wav_writer.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".wav" });
 * const wav = WavWriter.create(path, { sampleRate: 8000 });
 * wav.write(new Int16Array(4000));
 * wav.writeSilence(4000);
 * const summary = wav.close();
 * assert.equal(summary.durationSeconds, 1);
 * assert.equal(Deno.statSync(path).size, 44 + 16000);
 * Deno.removeSync(path);
 * ```
 */
export class WavWriter {
  /** Sample rate in Hz. */
  readonly sampleRate: number;
  /** Channels (1 or 2). */
  readonly channels: number;
  readonly #file: Deno.FsFile;
  readonly #frameBytes: number;
  readonly #maxDataBytes: number;
  readonly #buffer: Uint8Array;
  readonly #samples: Int16Array;
  readonly #view: DataView;
  #buffered = 0; // bytes in #buffer
  #flushedBytes = 0; // data bytes on disk
  #truncated = false;
  #closed = false;
  #summary: WavSummary | null = null;
  readonly #sizeBytes = new Uint8Array(4);

  /**
   * Starts a WAV file on an open, writable, empty file: writes the header
   * at offset 0 with sizes of zero.
   *
   * @param file The file; the writer takes it over and closes it in `close()`.
   * @param options Format, flush interval and size cap.
   * @throws {RangeError} When the sample rate, channel count or size cap is not supported.
   */
  constructor(file: Deno.FsFile, options: WavWriterOptions) {
    const { sampleRate } = options;
    const channels = options.channels ?? 1;
    checkWavFormat(sampleRate, channels);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.#file = file;
    this.#frameBytes = channels * BYTES_PER_SAMPLE;
    const requested = options.maxDataBytes ?? WAV_MAX_DATA_BYTES;
    if (!(requested >= 0)) {
      throw new RangeError(`Cannot write WAV: size cap ${requested}`);
    }
    const cap = Math.min(requested, WAV_MAX_DATA_BYTES);
    this.#maxDataBytes = Math.max(0, Math.floor(cap / this.#frameBytes) * this.#frameBytes);
    const flushSeconds = options.flushSeconds ?? DEFAULT_FLUSH_SECONDS;
    let frames = Math.round(flushSeconds * sampleRate);
    if (!(frames >= MIN_BUFFER_FRAMES)) frames = MIN_BUFFER_FRAMES;
    frames = Math.min(frames, Math.floor(MAX_BUFFER_BYTES / this.#frameBytes));
    this.#buffer = new Uint8Array(frames * this.#frameBytes);
    this.#samples = new Int16Array(this.#buffer.buffer);
    this.#view = new DataView(this.#buffer.buffer);
    this.#file.seekSync(0, Deno.SeekMode.Start);
    writeAll(this.#file, this.#header());
  }

  /**
   * Creates (or truncates) a file and starts a WAV in it.
   *
   * @param path Where to write.
   * @param options Format, flush interval and size cap.
   * @returns The writer, owning the file.
   * @throws {RangeError} When the sample rate, channel count or size cap is not supported.
   */
  static create(path: string | URL, options: WavWriterOptions): WavWriter {
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    try {
      return new WavWriter(file, options);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Frames (samples per channel) accepted so far, buffered or on disk. */
  get frames(): number {
    return (this.#flushedBytes + this.#buffered) / this.#frameBytes;
  }

  /** Seconds of audio accepted so far. */
  get durationSeconds(): number {
    return this.frames / this.sampleRate;
  }

  /** True once audio has been dropped at the size cap. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Frames the cap still allows. */
  #roomFrames(): number {
    return (this.#maxDataBytes - this.#flushedBytes - this.#buffered) / this.#frameBytes;
  }

  #accept(frames: number): number {
    this.#assertOpen();
    const room = this.#roomFrames();
    if (frames > room) {
      this.#truncated = true;
      return room;
    }
    return frames;
  }

  /**
   * Appends interleaved samples (left, right, left, … for stereo). Only
   * whole frames are taken; past the size cap the rest is dropped and
   * {@linkcode WavWriter.truncated} becomes true.
   *
   * @param samples PCM samples.
   * @param length How many values of `samples` to take (default all).
   * @returns Frames accepted.
   * @throws {TypeError} After `close()`; file system errors of a flush pass through.
   */
  write(samples: Int16Array, length: number = samples.length): number {
    const values = Math.max(0, Math.min(length, samples.length));
    const frames = this.#accept(Math.floor(values / this.channels));
    let remaining = frames * this.channels;
    let from = 0;
    while (remaining > 0) {
      const free = (this.#buffer.length - this.#buffered) / BYTES_PER_SAMPLE;
      const n = Math.min(free, remaining);
      const at = this.#buffered / BYTES_PER_SAMPLE;
      if (LITTLE_ENDIAN) {
        const buffer = this.#samples;
        for (let i = 0; i < n; i++) buffer[at + i] = samples[from + i]!;
      } else {
        for (let i = 0; i < n; i++) {
          this.#view.setInt16(this.#buffered + 2 * i, samples[from + i]!, true);
        }
      }
      this.#buffered += n * BYTES_PER_SAMPLE;
      from += n;
      remaining -= n;
      if (this.#buffered === this.#buffer.length) this.flush();
    }
    return frames;
  }

  /**
   * Appends silence (to fill gaps, hold, or align streams in time).
   *
   * @param frames Samples per channel of silence.
   * @returns Frames accepted (fewer at the size cap).
   * @throws {TypeError} After `close()`.
   */
  writeSilence(frames: number): number {
    const accepted = this.#accept(Math.max(0, Math.floor(frames)));
    let remaining = accepted * this.#frameBytes;
    while (remaining > 0) {
      const n = Math.min(this.#buffer.length - this.#buffered, remaining);
      this.#buffer.fill(0, this.#buffered, this.#buffered + n);
      this.#buffered += n;
      remaining -= n;
      if (this.#buffered === this.#buffer.length) this.flush();
    }
    return accepted;
  }

  /**
   * Writes the buffered samples to the file and updates the header sizes,
   * leaving a complete, valid WAV on disk.
   *
   * @throws {TypeError} After `close()`.
   */
  flush(): void {
    this.#assertOpen();
    if (this.#buffered === 0) return;
    this.#file.seekSync(WAV_HEADER_BYTES + this.#flushedBytes, Deno.SeekMode.Start);
    writeAll(this.#file, this.#buffer.subarray(0, this.#buffered));
    this.#flushedBytes += this.#buffered;
    this.#buffered = 0;
    this.#writeSizes();
  }

  /**
   * Flushes, writes the final sizes and closes the file. Calling it again
   * returns the same summary.
   *
   * @returns What the file holds.
   */
  close(): WavSummary {
    if (this.#summary !== null) return this.#summary;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      this.#file.close();
    }
    this.#summary = {
      frames: this.#flushedBytes / this.#frameBytes,
      dataBytes: this.#flushedBytes,
      durationSeconds: this.#flushedBytes / this.#frameBytes / this.sampleRate,
      truncated: this.#truncated,
    };
    return this.#summary;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TypeError("Cannot write WAV: the writer is closed");
  }

  #writeSizes(): void {
    const sizes = this.#sizeBytes;
    const view = new DataView(sizes.buffer);
    view.setUint32(0, WAV_HEADER_BYTES - 8 + this.#flushedBytes, true);
    this.#file.seekSync(4, Deno.SeekMode.Start);
    writeAll(this.#file, sizes);
    view.setUint32(0, this.#flushedBytes, true);
    this.#file.seekSync(WAV_HEADER_BYTES - 4, Deno.SeekMode.Start);
    writeAll(this.#file, sizes);
  }

  #header(): Uint8Array {
    const header = new Uint8Array(WAV_HEADER_BYTES);
    const view = new DataView(header.buffer);
    const ascii = (at: number, text: string) => {
      for (let i = 0; i < text.length; i++) header[at + i] = text.charCodeAt(i);
    };
    ascii(0, "RIFF");
    view.setUint32(4, WAV_HEADER_BYTES - 8, true); // no data yet
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    view.setUint32(16, 16, true);
    view.setUint16(20, PCM_FORMAT, true);
    view.setUint16(22, this.channels, true);
    view.setUint32(24, this.sampleRate, true);
    view.setUint32(28, this.sampleRate * this.#frameBytes, true);
    view.setUint16(32, this.#frameBytes, true);
    view.setUint16(34, 8 * BYTES_PER_SAMPLE, true);
    ascii(36, "data");
    view.setUint32(40, 0, true);
    return header;
  }
}
