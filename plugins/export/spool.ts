/**
 * Frame spools for the per-call pcap export. Each call leg's frames go to
 * temporary files while the capture is read — bounded memory: a small
 * buffer per leg within an overall budget, and a capped number of open
 * files — one file per link type of the leg's frames (almost always one).
 *
 * A spool file is a complete classic pcap file (little-endian, microsecond
 * timestamps) of that link type from its first write on, so a call made of
 * one spool file becomes its output by a rename, and several are merged by
 * time record by record ({@link SpoolReader}).
 *
 * @module
 */

import { PCAP_MAGIC_MICROS } from "../../engine/capture/pcap.ts";
import { join } from "../paths.ts";

/** Bytes of the pcap file header. */
export const PCAP_HEADER_BYTES = 24;
/** Bytes of a pcap record header. */
export const PCAP_RECORD_BYTES = 16;
/** Snapshot length written in the header (raised at the end if a frame was longer). */
export const SPOOL_SNAPLEN = 262144;
/** Overall budget of spool buffers; each leg's share shrinks as more legs are active. */
export const SPOOL_BUFFER_BUDGET_BYTES = 16 * 1024 * 1024;
/** Smallest buffer of one leg. */
export const SPOOL_BUFFER_MIN_BYTES = 4 * 1024;
/** Largest buffer of one leg. */
export const SPOOL_BUFFER_MAX_BYTES = 64 * 1024;
/** Spool files kept open at once; the least recently written is closed past it. */
export const SPOOL_OPEN_FILES = 64;

/**
 * Writes a pcap file header (little-endian, microseconds).
 *
 * @param view Where to write.
 * @param at Offset.
 * @param linkType LINKTYPE_* of the file.
 * @param snaplen Snapshot length.
 */
export function writePcapHeader(
  view: DataView,
  at: number,
  linkType: number,
  snaplen: number,
): void {
  view.setUint32(at, PCAP_MAGIC_MICROS, true);
  view.setUint16(at + 4, 2, true);
  view.setUint16(at + 6, 4, true);
  view.setInt32(at + 8, 0, true);
  view.setUint32(at + 12, 0, true);
  view.setUint32(at + 16, snaplen, true);
  view.setUint32(at + 20, linkType, true);
}

/** The spools of one export: a directory, the open-file cap and the buffer budget. */
export class SpoolStore {
  /** Directory the spool files are in. */
  readonly dir: string;
  #buffers = 0;
  #next = 0;
  /** Open files, least recently used first. */
  readonly #open = new Map<SpoolFile, Deno.FsFile>();

  /** @param dir An existing, private directory for the spool files. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Makes a new, empty spool.
   *
   * @returns The spool (its files are created at their first flush).
   */
  create(): FrameSpool {
    return new FrameSpool(this);
  }

  /** Spool buffers held now. */
  get activeBuffers(): number {
    return this.#buffers;
  }

  /** @internal A path for a new spool file. */
  newPath(): string {
    return join(this.dir, `${++this.#next}.pcap`);
  }

  /** @internal Takes a buffer, sized by the budget and the buffers already held. */
  takeBuffer(): Uint8Array {
    const share = Math.floor(SPOOL_BUFFER_BUDGET_BYTES / (this.#buffers + 1));
    this.#buffers++;
    return new Uint8Array(
      Math.max(SPOOL_BUFFER_MIN_BYTES, Math.min(SPOOL_BUFFER_MAX_BYTES, share)),
    );
  }

  /** @internal A buffer was given back. */
  giveBuffer(): void {
    this.#buffers--;
  }

  /** @internal Writes to a spool file, opening it (and closing the least recently used past the cap). */
  write(spool: SpoolFile, bytes: Uint8Array): void {
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

  /** @internal Closes a spool file, if open. */
  close(spool: SpoolFile): void {
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

/** The frames of one link type of one leg: a pcap file being written. */
export class SpoolFile {
  /** Its path. */
  readonly path: string;
  /** LINKTYPE_* of its frames. */
  readonly linkType: number;
  /** Frames written. */
  frames = 0;
  /** Longest captured frame. */
  maxCapLen = 0;
  readonly #store: SpoolStore;
  #buffer: Uint8Array | null = null;
  #view: DataView | null = null;
  #used = 0;
  #created = false;
  #finished = false;

  /**
   * @param store The store.
   * @param linkType LINKTYPE_* of its frames.
   */
  constructor(store: SpoolStore, linkType: number) {
    this.#store = store;
    this.path = store.newPath();
    this.linkType = linkType;
  }

  /** Whether the file exists (something was flushed). */
  get created(): boolean {
    return this.#created;
  }

  /**
   * Appends a record.
   *
   * @param ts Capture time.
   * @param origLen Length on the wire.
   * @param bytes Buffer holding the frame at `[start, end)`.
   * @param start First byte.
   * @param end One past the last byte.
   */
  append(ts: number, origLen: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.#finished) return;
    const length = end - start;
    const needed = PCAP_RECORD_BYTES + length;
    if (this.#buffer === null) {
      this.#buffer = this.#store.takeBuffer();
      this.#view = new DataView(this.#buffer.buffer);
      if (!this.#created) {
        writePcapHeader(this.#view, 0, this.linkType, SPOOL_SNAPLEN);
        this.#used = PCAP_HEADER_BYTES;
      }
    }
    if (this.#buffer.length - this.#used < needed) this.flush();
    let seconds = Math.floor(ts);
    let micros = Math.round((ts - seconds) * 1e6);
    if (micros >= 1e6) {
      seconds++;
      micros -= 1e6;
    }
    const b = this.#buffer;
    if (needed > b.length) {
      // A frame larger than the whole buffer: its record goes out on its own.
      const record = new Uint8Array(needed);
      recordHeader(new DataView(record.buffer), 0, seconds, micros, length, origLen);
      record.set(bytes.subarray(start, end), PCAP_RECORD_BYTES);
      this.#store.write(this, record);
    } else {
      recordHeader(this.#view!, this.#used, seconds, micros, length, origLen);
      b.set(bytes.subarray(start, end), this.#used + PCAP_RECORD_BYTES);
      this.#used += needed;
    }
    this.frames++;
    if (length > this.maxCapLen) this.maxCapLen = length;
  }

  /** Writes the buffered records. */
  flush(): void {
    if (this.#buffer === null || this.#used === 0) return;
    this.#store.write(this, this.#buffer.subarray(0, this.#used));
    this.#created = true;
    this.#used = 0;
  }

  /** Flushes, frees the buffer, closes the file and fixes the snapshot length if needed. */
  finish(): void {
    if (this.#finished) return;
    this.flush();
    this.#finished = true;
    this.#store.close(this);
    if (this.#buffer !== null) {
      this.#buffer = null;
      this.#view = null;
      this.#store.giveBuffer();
    }
    if (this.#created && this.maxCapLen > SPOOL_SNAPLEN) {
      const file = Deno.openSync(this.path, { write: true });
      try {
        const field = new Uint8Array(4);
        new DataView(field.buffer).setUint32(0, this.maxCapLen, true);
        file.seekSync(16, Deno.SeekMode.Start);
        file.writeSync(field);
      } finally {
        file.close();
      }
    }
  }

  /**
   * Moves the finished file to a path of its own (same file system: a rename,
   * else a copy); the spool no longer owns it.
   *
   * @param path Where it goes.
   */
  moveTo(path: string): void {
    this.finish();
    try {
      Deno.renameSync(this.path, path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw error;
      Deno.copyFileSync(this.path, path);
      Deno.removeSync(this.path);
    }
    this.#created = false;
  }

  /** Deletes the file, if any (after a merge, or when abandoned). */
  remove(): void {
    this.finish();
    if (!this.#created) return;
    try {
      Deno.removeSync(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

function recordHeader(
  v: DataView,
  at: number,
  seconds: number,
  micros: number,
  capLen: number,
  origLen: number,
): void {
  v.setUint32(at, seconds, true);
  v.setUint32(at + 4, micros, true);
  v.setUint32(at + 8, capLen, true);
  v.setUint32(at + 12, Math.max(origLen, capLen), true);
}

/** The frames of one call leg, by link type. */
export class FrameSpool {
  /** Its files, by link type, in the order first seen. */
  readonly files: Map<number, SpoolFile> = new Map();
  readonly #store: SpoolStore;
  #last: SpoolFile | null = null;
  #lastSeq = -1;

  /** @param store The store. */
  constructor(store: SpoolStore) {
    this.#store = store;
  }

  /** Frames written over all link types. */
  get frames(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.frames;
    return n;
  }

  /**
   * Appends a frame, unless it is the one appended last (a frame can carry
   * several messages of one leg).
   *
   * @param ts Capture time.
   * @param seq Order the frame was seen in (increasing).
   * @param linkType LINKTYPE_* of the frame.
   * @param origLen Length on the wire.
   * @param bytes Buffer holding the frame at `[start, end)`.
   * @param start First byte.
   * @param end One past the last byte.
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
    if (seq === this.#lastSeq) return;
    this.#lastSeq = seq;
    let file = this.#last;
    if (file === null || file.linkType !== linkType) {
      file = this.files.get(linkType) ?? null;
      if (file === null) this.files.set(linkType, file = new SpoolFile(this.#store, linkType));
      this.#last = file;
    }
    file.append(ts, origLen, bytes, start, end);
  }

  /** Writes every buffered frame. */
  flush(): void {
    for (const f of this.files.values()) f.flush();
  }

  /** Finishes every file: no more frames are taken. */
  finish(): void {
    for (const f of this.files.values()) f.finish();
  }

  /** Deletes every file. */
  remove(): void {
    for (const f of this.files.values()) f.remove();
  }
}

/** One record read back from a spool file; `data` is valid until the next read. */
export interface SpoolRecord {
  /** Seconds part of the timestamp. */
  seconds: number;
  /** Microseconds part. */
  micros: number;
  /** Length on the wire. */
  origLen: number;
  /** Captured bytes. */
  data: Uint8Array;
}

/** Reads a spool file's records in order, synchronously, in chunks. */
export class SpoolReader {
  /** The current record after a successful {@link SpoolReader.next}. */
  readonly current: SpoolRecord = { seconds: 0, micros: 0, origLen: 0, data: new Uint8Array(0) };
  /** Link type of the file. */
  readonly linkType: number;
  readonly #file: Deno.FsFile;
  #buffer = new Uint8Array(256 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;

  /**
   * Opens a finished spool file.
   *
   * @param spool The file.
   */
  constructor(spool: SpoolFile) {
    spool.finish();
    this.linkType = spool.linkType;
    this.#file = Deno.openSync(spool.path, { read: true });
    if (!this.#fill(PCAP_HEADER_BYTES)) throw new Error(`Spool ${spool.path} has no header`);
    this.#start = PCAP_HEADER_BYTES;
  }

  /**
   * Moves to the next record.
   *
   * @returns Whether there is one (a truncated last record ends the file).
   */
  next(): boolean {
    if (!this.#fill(PCAP_RECORD_BYTES)) return false;
    const b = this.#buffer;
    const at = this.#start;
    const v = new DataView(b.buffer, at, PCAP_RECORD_BYTES);
    const capLen = v.getUint32(8, true);
    if (!this.#fill(PCAP_RECORD_BYTES + capLen)) return false;
    const h = new DataView(this.#buffer.buffer, this.#start, PCAP_RECORD_BYTES);
    const c = this.current;
    c.seconds = h.getUint32(0, true);
    c.micros = h.getUint32(4, true);
    c.origLen = h.getUint32(12, true);
    const data = this.#start + PCAP_RECORD_BYTES;
    c.data = this.#buffer.subarray(data, data + capLen);
    this.#start = data + capLen;
    return true;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /** Makes at least `n` bytes available from `#start`; false at the end of the file. */
  #fill(n: number): boolean {
    while (this.#end - this.#start < n) {
      if (this.#eof) return false;
      if (this.#buffer.length - this.#start < n) {
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
      const read = this.#file.readSync(this.#buffer.subarray(this.#end));
      if (read === null || read === 0) {
        this.#eof = true;
        return this.#end - this.#start >= n;
      }
      this.#end += read;
    }
    return true;
  }
}
