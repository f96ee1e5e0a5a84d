/**
 * Reads 16-bit PCM WAV files back in chunks, by frame index, so recordings
 * on disk can be mixed into call files without loading them whole.
 *
 * @module
 */

/** A file that is not a 16-bit PCM WAV this reader understands. */
export class WavFormatError extends SyntaxError {
  /** The file. */
  readonly path: string;

  /**
   * @param path The file.
   * @param reason What is wrong.
   */
  constructor(path: string, reason: string) {
    super(`Cannot read WAV ${path}: ${reason}`);
    this.name = "WavFormatError";
    this.path = path;
  }
}

const SCRATCH_BYTES = 1 << 16;
const MAX_HEADER_BYTES = 1 << 16;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A 16-bit PCM WAV file open for reading by frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WavWriter } from "./wav_writer.ts";
 * import { WavReader } from "./wav_reader.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".wav" });
 * const w = WavWriter.create(path, { sampleRate: 8000 });
 * w.write(Int16Array.from([1, 2, 3]));
 * w.close();
 * const r = WavReader.open(path);
 * const out = new Int16Array(5);
 * r.read(-1, 5, out);
 * assert.deepEqual([...out], [0, 1, 2, 3, 0]);
 * r.close();
 * Deno.removeSync(path);
 * ```
 */
export class WavReader {
  /** Sample rate in Hz. */
  readonly sampleRate: number;
  /** Interleaved channels. */
  readonly channels: number;
  /** Frames in the data chunk (as far as the file really holds them). */
  readonly frames: number;
  readonly #file: Deno.FsFile;
  readonly #dataOffset: number;
  #scratch: Uint8Array | null = null;
  /** Where the file's offset is (-1: unknown), so sequential reads need no seek. */
  #position = -1;

  private constructor(
    file: Deno.FsFile,
    format: { sampleRate: number; channels: number; frames: number; dataOffset: number },
  ) {
    this.#file = file;
    this.sampleRate = format.sampleRate;
    this.channels = format.channels;
    this.frames = format.frames;
    this.#dataOffset = format.dataOffset;
  }

  /**
   * Opens a WAV file.
   *
   * @param path The file.
   * @returns The reader (close it).
   * @throws {WavFormatError} When the file is not 16-bit PCM WAV; file system errors pass through.
   */
  static open(path: string): WavReader {
    const file = Deno.openSync(path, { read: true });
    try {
      return new WavReader(file, parseHeader(file, path));
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Reads frames `[start, start + count)` into `out` (interleaved); frames
   * outside the file read as silence.
   *
   * @param start First frame (may be negative).
   * @param count Frames to read.
   * @param out Destination, at least `outOffset + count × channels` long.
   * @param outOffset Index in `out` of the first value.
   */
  read(start: number, count: number, out: Int16Array, outOffset = 0): void {
    const channels = this.channels;
    out.fill(0, outOffset, outOffset + count * channels);
    const from = Math.max(0, start);
    const to = Math.min(this.frames, start + count);
    if (to <= from) return;
    let at = outOffset + (from - start) * channels;
    let byte = this.#dataOffset + from * 2 * channels;
    let values = (to - from) * channels;
    if (this.#position !== byte) {
      this.#file.seekSync(byte, Deno.SeekMode.Start);
      this.#position = byte;
    }
    if (LITTLE_ENDIAN) {
      // The file's bytes are the samples: read them in place.
      const target = new Uint8Array(out.buffer, out.byteOffset + 2 * at, 2 * values);
      let got = 0;
      while (got < target.length) {
        const n = this.#file.readSync(target.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      this.#position += got;
      target.fill(0, got & ~1); // what the file did not hold (half a sample too) stays silent
      return;
    }
    const scratch = this.#scratch ??= new Uint8Array(SCRATCH_BYTES);
    while (values > 0) {
      const want = Math.min(values * 2, scratch.length);
      let got = 0;
      while (got < want) {
        const n = this.#file.readSync(scratch.subarray(got, want));
        if (n === null || n === 0) break;
        got += n;
      }
      this.#position += got;
      const n = got >> 1;
      for (let i = 0; i < n; i++) {
        const v = scratch[2 * i]! | (scratch[2 * i + 1]! << 8);
        out[at + i] = v >= 0x8000 ? v - 0x10000 : v;
      }
      if (got < want) {
        this.#position = -1;
        break;
      }
      at += n;
      byte += n * 2;
      values -= n;
    }
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

function parseHeader(
  file: Deno.FsFile,
  path: string,
): { sampleRate: number; channels: number; frames: number; dataOffset: number } {
  const size = file.statSync().size;
  const head = new Uint8Array(Math.min(size, MAX_HEADER_BYTES));
  let got = 0;
  while (got < head.length) {
    const n = file.readSync(head.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  const view = new DataView(head.buffer, 0, got);
  const ascii = (at: number) => String.fromCharCode(...head.subarray(at, at + 4));
  if (got < 12 || ascii(0) !== "RIFF" || ascii(8) !== "WAVE") {
    throw new WavFormatError(path, "no RIFF/WAVE header");
  }
  let at = 12;
  let format: { channels: number; sampleRate: number; bits: number; tag: number } | null = null;
  while (at + 8 <= got) {
    const id = ascii(at);
    const length = view.getUint32(at + 4, true);
    if (id === "fmt " && at + 8 + 16 <= got) {
      format = {
        tag: view.getUint16(at + 8, true),
        channels: view.getUint16(at + 10, true),
        sampleRate: view.getUint32(at + 12, true),
        bits: view.getUint16(at + 22, true),
      };
    } else if (id === "data") {
      if (format === null) throw new WavFormatError(path, "data before fmt");
      if (format.tag !== 1 && format.tag !== 0xfffe) {
        throw new WavFormatError(path, `format tag ${format.tag} is not PCM`);
      }
      if (format.bits !== 16 || format.channels < 1 || format.sampleRate < 1) {
        throw new WavFormatError(path, `${format.bits}-bit, ${format.channels} channels`);
      }
      const dataOffset = at + 8;
      const available = Math.max(0, size - dataOffset);
      const declared = length === 0 || length === 0xffffffff ? available : length;
      const frameBytes = 2 * format.channels;
      return {
        sampleRate: format.sampleRate,
        channels: format.channels,
        frames: Math.floor(Math.min(declared, available) / frameBytes),
        dataOffset,
      };
    }
    at += 8 + length + (length & 1);
  }
  throw new WavFormatError(path, "no data chunk");
}
