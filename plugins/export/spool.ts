/**
 * Frame spools for the per-call pcap export: each call leg's frames go to a
 * temporary file while the capture is read (bounded memory: a small buffer
 * per leg, within an overall budget, and a capped number of open files),
 * and are read back and merged by time when the call is written.
 *
 * A spool file is a sequence of records, little-endian:
 * `ts f64 | seq f64 | linkType u16 | reserved u16 | origLen u32 | capLen u32 | reserved u32 | data`,
 * where `seq` is the order the frame was seen in (to break ties in time).
 *
 * @module
 */

import { join } from "../paths.ts";

/** Bytes of a spool record header. */
export const SPOOL_RECORD_HEADER_BYTES = 32;
/** Overall budget of spool buffers; each leg's share shrinks as more legs are active. */
export const SPOOL_BUFFER_BUDGET_BYTES = 16 * 1024 * 1024;
/** Smallest and largest buffer of one leg. */
export const SPOOL_BUFFER_MIN_BYTES = 4 * 1024;
/** Largest buffer of one leg. */
export const SPOOL_BUFFER_MAX_BYTES = 64 * 1024;
/** Spool files kept open at once; the least recently written is closed past it. */
export const SPOOL_OPEN_FILES = 64;

/** One frame read back from a spool. The data is a view valid until the next read. */
export interface SpoolRecord {
  /** Capture time. */
  ts: number;
  /** Order the frame was seen in. */
  seq: number;
  /** LINKTYPE_* of the frame. */
  linkType: number;
  /** Length on the wire. */
  origLen: number;
  /** Captured bytes. */
  data: Uint8Array;
}

/** The spools of one export: a directory of files, the open-file cap and the buffer budget. */
export class SpoolStore {
  /** Directory the spool files are in. */
  readonly dir: string;
  /** Spools with a buffer, for the budget. */
  #active = 0;
  #next = 0;
  /** Open files, least recently used first. */
  readonly #open = new Map<FrameSpool, Deno.FsFile>();

  /** @param dir An existing, private directory for the spool files. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Makes a new, empty spool.
   *
   * @returns The spool (its file is created at the first flush).
   */
  create(): FrameSpool {
    return new FrameSpool(this, join(this.dir, `${++this.#next}.spool`));
  }

  /** Spools holding a buffer now. */
  get activeSpools(): number {
    return this.#active;
  }

  /** The buffer size a new active spool gets. */
  bufferSize(): number {
    const share = Math.floor(SPOOL_BUFFER_BUDGET_BYTES / (this.#active + 1));
    return Math.max(SPOOL_BUFFER_MIN_BYTES, Math.min(SPOOL_BUFFER_MAX_BYTES, share));
  }

  /** @internal A spool took a buffer. */
  acquired(): void {
    this.#active++;
  }

  /** @internal A spool gave its buffer back. */
  released(): void {
    this.#active--;
  }

  /**
   * @internal Writes bytes to a spool's file, opening it (and closing the
   * least recently used one past the cap) as needed.
   */
  writeTo(spool: FrameSpool, bytes: Uint8Array): void {
    let file = this.#open.get(spool);
    if (file) {
      this.#open.delete(spool); // re-inserted below: most recently used last
    } else {
      if (this.#open.size >= SPOOL_OPEN_FILES) {
        const [oldest, oldestFile] = this.#open.entries().next().value!;
        oldestFile.close();
        this.#open.delete(oldest);
      }
      file = Deno.openSync(spool.path, { write: true, create: true, append: true });
    }
    this.#open.set(spool, file);
    let offset = 0;
    while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
  }

  /** @internal Closes a spool's file, if open. */
  closeFile(spool: FrameSpool): void {
    const file = this.#open.get(spool);
    if (file) {
      file.close();
      this.#open.delete(spool);
    }
  }

  /** Closes every open file. */
  closeAll(): void {
    for (const file of this.#open.values()) file.close();
    this.#open.clear();
  }
}

/** The frames of one call leg, spooled to a file. */
export class FrameSpool {
  /** Path of the spool file. */
  readonly path: string;
  /** Link types of the frames written. */
  readonly linkTypes: Set<number> = new Set();
  /** Frames written. */
  frames = 0;
  readonly #store: SpoolStore;
  #buffer: Uint8Array | null = null;
  #view: DataView | null = null;
  #used = 0;
  #lastSeq = -1;
  #finished = false;
  #onDisk = false;

  /**
   * @param store The store it belongs to.
   * @param path Its file.
   */
  constructor(store: SpoolStore, path: string) {
    this.#store = store;
    this.path = path;
  }

  /** Whether any frame reached the file (false: no file exists). */
  get onDisk(): boolean {
    return this.#onDisk;
  }

  /**
   * Appends a frame, unless it is the frame appended last (one frame can
   * carry several messages of a leg).
   *
   * @param ts Capture time.
   * @param seq Order the frame was seen in (increasing).
   * @param linkType LINKTYPE_* of the frame.
   * @param origLen Length on the wire.
   * @param bytes Buffer holding the frame.
   * @param start Offset of the frame in `bytes`.
   * @param end Offset just past it.
   */
  append(
    ts: number,
    seq: number,
    linkType: number,
    origLen: number,
    bytes: Uint8Array,
    start: number,
    end: number,
  ): void {
    if (this.#finished || seq === this.#lastSeq) return;
    this.#lastSeq = seq;
    const length = end - start;
    const needed = SPOOL_RECORD_HEADER_BYTES + length;
    if (this.#buffer === null) {
      const size = this.#store.bufferSize();
      this.#buffer = new Uint8Array(size);
      this.#view = new DataView(this.#buffer.buffer);
      this.#store.acquired();
    }
    if (this.#buffer.length - this.#used < needed) this.flush();
    const b = this.#buffer;
    if (needed > b.length) {
      // A frame larger than the whole buffer: write its record directly.
      const record = new Uint8Array(needed);
      writeHeader(new DataView(record.buffer), 0, ts, seq, linkType, origLen, length);
      record.set(bytes.subarray(start, end), SPOOL_RECORD_HEADER_BYTES);
      this.#store.writeTo(this, record);
      this.#onDisk = true;
    } else {
      writeHeader(this.#view!, this.#used, ts, seq, linkType, origLen, length);
      b.set(bytes.subarray(start, end), this.#used + SPOOL_RECORD_HEADER_BYTES);
      this.#used += needed;
    }
    this.linkTypes.add(linkType);
    this.frames++;
  }

  /** Writes the buffered frames to the file. */
  flush(): void {
    if (this.#used === 0 || this.#buffer === null) return;
    this.#store.writeTo(this, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
    this.#onDisk = true;
  }

  /** Flushes, closes the file and frees the buffer: no more frames are taken. */
  finish(): void {
    if (this.#finished) return;
    this.flush();
    this.#finished = true;
    this.#store.closeFile(this);
    if (this.#buffer !== null) {
      this.#buffer = null;
      this.#view = null;
      this.#store.released();
    }
  }

  /** Deletes the spool file (after it was merged or when it is abandoned). */
  async remove(): Promise<void> {
    this.finish();
    if (!this.#onDisk) return;
    try {
      await Deno.remove(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

function writeHeader(
  v: DataView,
  at: number,
  ts: number,
  seq: number,
  linkType: number,
  origLen: number,
  capLen: number,
): void {
  v.setFloat64(at, ts, true);
  v.setFloat64(at + 8, seq, true);
  v.setUint16(at + 16, linkType, true);
  v.setUint16(at + 18, 0, true);
  v.setUint32(at + 20, origLen, true);
  v.setUint32(at + 24, capLen, true);
  v.setUint32(at + 28, 0, true);
}

/** Reads a spool file's records in order, in chunks. */
export class SpoolReader {
  /** The current record after a successful {@link SpoolReader.next}. */
  readonly current: SpoolRecord = {
    ts: 0,
    seq: 0,
    linkType: 0,
    origLen: 0,
    data: new Uint8Array(0),
  };
  readonly #file: Deno.FsFile | null;
  #buffer = new Uint8Array(SPOOL_BUFFER_MAX_BYTES);
  #start = 0;
  #end = 0;
  #eof = false;

  private constructor(file: Deno.FsFile | null) {
    this.#file = file;
    this.#eof = file === null;
  }

  /**
   * Opens a spool for reading.
   *
   * @param spool The spool (finished).
   * @returns The reader (empty when nothing reached the file).
   */
  static async open(spool: FrameSpool): Promise<SpoolReader> {
    spool.finish();
    if (!spool.onDisk) return new SpoolReader(null);
    return new SpoolReader(await Deno.open(spool.path, { read: true }));
  }

  /**
   * Moves to the next record.
   *
   * @returns Whether there is one (a truncated last record ends the spool).
   */
  async next(): Promise<boolean> {
    if (!(await this.#fill(SPOOL_RECORD_HEADER_BYTES))) return false;
    const v = new DataView(this.#buffer.buffer, this.#start);
    const capLen = v.getUint32(24, true);
    if (!(await this.#fill(SPOOL_RECORD_HEADER_BYTES + capLen))) return false;
    const h = new DataView(this.#buffer.buffer, this.#start);
    const c = this.current;
    c.ts = h.getFloat64(0, true);
    c.seq = h.getFloat64(8, true);
    c.linkType = h.getUint16(16, true);
    c.origLen = h.getUint32(20, true);
    const at = this.#start + SPOOL_RECORD_HEADER_BYTES;
    c.data = this.#buffer.subarray(at, at + capLen);
    this.#start = at + capLen;
    return true;
  }

  /** Closes the file. */
  close(): void {
    this.#file?.close();
  }

  /** Makes at least `n` bytes available from `#start`; false at the end of the file. */
  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#eof || this.#file === null) return false;
      if (this.#buffer.length - this.#start < n) {
        // Move what is left to the front (or into a larger buffer for a big record).
        if (n <= this.#buffer.length) {
          this.#buffer.copyWithin(0, this.#start, this.#end);
        } else {
          const larger = new Uint8Array(n);
          larger.set(this.#buffer.subarray(this.#start, this.#end), 0);
          this.#buffer = larger;
        }
        this.#end -= this.#start;
        this.#start = 0;
      }
      const read = await this.#file.read(this.#buffer.subarray(this.#end));
      if (read === null || read === 0) {
        this.#eof = true;
        return this.#end - this.#start >= n;
      }
      this.#end += read;
    }
    return true;
  }
}
