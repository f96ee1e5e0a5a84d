/**
 * A growable read buffer over any byte reader: capture parsers read records
 * from `buffer[start..end)` synchronously and ask for more only when a
 * record is incomplete, so a file of any size is read in large chunks with
 * bounded memory.
 *
 * @module
 */

/** Anything with the `read` method of `Deno.FsFile` / `Deno.stdin`. */
export interface ByteReader {
  /** Reads into `p`; resolves with the count read, or `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Reads without a promise, where the reader can (a regular file): the
   * buffer then fills with no trip through the event loop.
   */
  readSync?(p: Uint8Array): number | null;
}

/** Size of one read from the underlying reader. */
export const DEFAULT_CHUNK_BYTES = 4 << 20;
/** Bytes read synchronously between two turns of the event loop. */
export const YIELD_BYTES = 16 << 20;

/** Largest single record the buffer grows to hold; a longer one is a corrupt length. */
export const MAX_RECORD_BYTES = 64 << 20;

/** Buffered input: holds the unread bytes of a reader in one reused buffer. */
export class ByteInput {
  /** The buffer; valid data lies in `[start, end)`. Replaced when it grows. */
  buffer: Uint8Array;
  /** A DataView over `buffer`, replaced with it. */
  view: DataView;
  /** First unread byte in `buffer`. */
  start = 0;
  /** One past the last valid byte in `buffer`. */
  end = 0;
  /** Input offset of `buffer[0]`. */
  base = 0;
  /** Whether the reader has reported end of input. */
  eof = false;
  readonly #reader: ByteReader;
  readonly #chunkBytes: number;
  readonly #sync: boolean;
  #sinceYield = 0;

  /**
   * @param reader Where the bytes come from.
   * @param chunkBytes Size of each read (default 4 MiB).
   */
  constructor(reader: ByteReader, chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.#reader = reader;
    this.#sync = typeof reader.readSync === "function";
    this.#chunkBytes = chunkBytes;
    this.buffer = new Uint8Array(chunkBytes * 2);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes available without reading. */
  get available(): number {
    return this.end - this.start;
  }

  /** Input offset of the first unread byte. */
  get position(): number {
    return this.base + this.start;
  }

  /**
   * Makes at least `count` unread bytes available, reading as needed.
   *
   * @param count Bytes wanted (at most {@link MAX_RECORD_BYTES}).
   * @returns `false` when input ended before `count` bytes were available.
   */
  async ensure(count: number): Promise<boolean> {
    while (this.end - this.start < count) {
      if (this.eof) return false;
      this.#makeRoom(count);
      const target = this.buffer.subarray(
        this.end,
        Math.min(this.buffer.length, this.end + this.#chunkBytes),
      );
      let n: number | null;
      if (this.#sync) {
        n = this.#reader.readSync!(target);
        // Synchronous reads never give the event loop a turn; one turn every few
        // MiB lets timers, signals and the file writes plugins started go on.
        this.#sinceYield += n ?? 0;
        if (this.#sinceYield >= YIELD_BYTES) {
          this.#sinceYield = 0;
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      } else {
        n = await this.#reader.read(target);
      }
      if (n === null || n === 0) {
        // Deno readers return null at end of input; a zero-length read is treated alike.
        this.eof = true;
        continue;
      }
      this.end += n;
    }
    return true;
  }

  /**
   * Skips `count` unread bytes (which may extend past what is buffered).
   *
   * @param count Bytes to skip.
   * @returns `false` when input ended first.
   */
  async skip(count: number): Promise<boolean> {
    while (count > 0) {
      if (this.end === this.start && !(await this.ensure(1))) return false;
      const step = Math.min(count, this.end - this.start);
      this.start += step;
      count -= step;
    }
    return true;
  }

  /** Ensures room for a full chunk after `end`: compacts, or grows when `count` would not fit. */
  #makeRoom(count: number): void {
    if (this.buffer.length - this.end >= this.#chunkBytes) return;
    const unread = this.end - this.start;
    const capacity = Math.max(count, unread) + this.#chunkBytes;
    if (this.buffer.length >= capacity) {
      this.buffer.copyWithin(0, this.start, this.end);
    } else {
      const grown = new Uint8Array(Math.max(capacity, this.buffer.length * 2));
      grown.set(this.buffer.subarray(this.start, this.end));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.base += this.start;
    this.start = 0;
    this.end = unread;
  }
}

/**
 * Wraps a `ReadableStream` of bytes (such as a decompression stream) as a {@link ByteReader}.
 *
 * @param stream The stream to read.
 * @returns A reader that copies stream chunks into the caller's buffer.
 */
export function streamReader(stream: ReadableStream<Uint8Array>): ByteReader {
  const reader = stream.getReader();
  let pending: Uint8Array | null = null;
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (pending === null || pending.length === 0) {
        const { value, done } = await reader.read();
        if (done) return null;
        pending = value;
      }
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}

/**
 * A {@link ByteReader} over bytes in memory, handing out at most `step` bytes
 * per read (small steps exercise record boundaries that straddle reads).
 *
 * @param bytes The whole input.
 * @param step Most bytes per read.
 * @returns The reader.
 */
export function bytesReader(bytes: Uint8Array, step = 1 << 20): ByteReader {
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (offset >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, step, bytes.length - offset);
      p.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}
