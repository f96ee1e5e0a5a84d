/**
 * Rolling capture: raw packets appended to pcap files in a directory, a new
 * file when the current one reaches a size or an age, the oldest files
 * deleted beyond a count — what an appliance keeps so that the last hours of
 * traffic can be looked at again.
 *
 * `write` is synchronous and cheap: it copies the frame into a pending
 * buffer and decides, there and then, which file the packet belongs to.
 * Files are written in the background ({@link PcapWriter}), flushed at least
 * every `flushMs`; {@link RotatingPcapWriter.close} writes what is left.
 * Pending data is bounded (`maxPendingBytes`): when the disk cannot keep up,
 * packets are dropped and counted, never queued without limit.
 *
 * File names carry the UTC time of their first packet and a sequence number,
 * so that names sort in time order: `voip-20250319T043122Z-000001.pcap`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Frame } from "./frame.ts";
 * import { RotatingPcapWriter } from "./rotating_writer.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const writer = new RotatingPcapWriter({ dir, prefix: "voip", maxFiles: 2, linkType: 101 });
 * const frame = new Frame();
 * frame.linkType = 101;
 * frame.bytes = new Uint8Array([0x45, 0, 0, 20]);
 * frame.end = frame.origLen = 4;
 * frame.ts = Date.UTC(2025, 2, 19, 4, 31, 22) / 1000;
 * writer.write(frame);
 * await writer.close();
 * const names = [...Deno.readDirSync(dir)].map((e) => e.name);
 * assert.deepEqual(names, ["voip-20250319T043122Z-000001.pcap"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { join } from "node:path";
import type { Frame } from "./frame.ts";
import { PCAP_FILE_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES, PcapWriter } from "./pcap_writer.ts";

/** Options of a {@link RotatingPcapWriter}. */
export interface RotatingPcapWriterOptions {
  /** Directory of the files (created when missing). */
  dir: string;
  /** File name prefix: letters, digits, `.`, `_` and `-`, not starting with `.`. */
  prefix: string;
  /** Start a new file before this size in bytes would be exceeded (default or 0: no size limit). */
  maxBytes?: number;
  /** Start a new file when a packet is this many seconds after the file's first (default or 0: none). */
  maxSeconds?: number;
  /** Keep at most this many files of this prefix; the oldest are deleted (default or 0: all). */
  maxFiles?: number;
  /** LINKTYPE_* of the files; frames of another link type are skipped and counted. */
  linkType: number;
  /** Snapshot length: longer packets are cut (default 262144). */
  snapLen?: number;
  /** Write nanosecond timestamps (default: microseconds). */
  nanoseconds?: boolean;
  /** Bytes waiting for the disk at most; packets beyond are dropped (default 32 MiB). */
  maxPendingBytes?: number;
  /** Longest time, in ms, a packet waits before it is written (default 1000). */
  flushMs?: number;
  /** Called after a file is complete and closed. */
  onFileClosed?: (path: string, packets: number) => void;
  /** Called when writing, opening or deleting a file fails (the writer goes on). */
  onError?: (error: Error) => void;
}

/** What a {@link RotatingPcapWriter} did. */
export interface RotatingPcapStats {
  /** Packets accepted by `write`. */
  packets: number;
  /** Packets handed to the file writer. */
  written: number;
  /** Packets dropped: pending buffer full, or their file could not be written. */
  dropped: number;
  /** Frames skipped because their link type is not the files'. */
  skipped: number;
  /** Files started. */
  files: number;
  /** Old files deleted. */
  deleted: number;
  /** Errors met (see `onError`). */
  errors: number;
  /** Path of the file being written, or `null`. */
  currentFile: string | null;
}

/** Bytes per pending chunk. */
const CHUNK_BYTES = 1 << 20;
/** Pending bytes after which a flush starts at once instead of on the timer. */
const EAGER_FLUSH_BYTES = 256 * 1024;
/** Per-record bookkeeping in a pending chunk: ts (f64), captured length, original length. */
const META_BYTES = 16;
const DEFAULT_SNAPLEN = 262144;
const NAME_SUFFIX = /^(\d{8}T\d{6}Z)-(\d{6})\.pcap$/;

/** A run of pending records, or the start of a new file. */
type Segment =
  | { kind: "data"; bytes: Uint8Array; view: DataView; used: number; records: number }
  | { kind: "file"; ts: number };

/** Writes packets into a rolling set of pcap files. */
export class RotatingPcapWriter {
  readonly #dir: string;
  readonly #prefix: string;
  readonly #maxBytes: number;
  readonly #maxSeconds: number;
  readonly #maxFiles: number;
  readonly #linkType: number;
  readonly #snapLen: number;
  readonly #nanoseconds: boolean;
  readonly #maxPendingBytes: number;
  readonly #flushMs: number;
  readonly #onFileClosed: ((path: string, packets: number) => void) | null;
  readonly #onError: ((error: Error) => void) | null;
  readonly #segments: Segment[] = [];
  #pendingBytes = 0;
  /** Size and start of the file the next `write` appends to (decided synchronously). */
  #plannedBytes = 0;
  #plannedStart = -1;
  #plannedPackets = 0;
  #writer: PcapWriter | null = null;
  #path: string | null = null;
  #filePackets = 0;
  #sequence = 0;
  #draining: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #dirReady = false;
  readonly #stats: RotatingPcapStats = {
    packets: 0,
    written: 0,
    dropped: 0,
    skipped: 0,
    files: 0,
    deleted: 0,
    errors: 0,
    currentFile: null,
  };

  /**
   * @param options Directory, prefix, rotation limits, link type, snapshot length.
   * @throws {TypeError} When the prefix could leave the directory or is empty.
   * @throws {RangeError} When a limit is not a positive number.
   */
  constructor(options: RotatingPcapWriterOptions) {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(options.prefix ?? "")) {
      throw new TypeError(
        `Invalid capture file prefix ${JSON.stringify(options.prefix)}: ` +
          "letters, digits, '.', '_' and '-' only, not starting with '.'",
      );
    }
    this.#dir = options.dir;
    this.#prefix = options.prefix;
    this.#maxBytes = limit(options.maxBytes, "maxBytes", Infinity, true);
    this.#maxSeconds = limit(options.maxSeconds, "maxSeconds", Infinity, true);
    this.#maxFiles = limit(options.maxFiles, "maxFiles", Infinity, true);
    if (!Number.isInteger(this.#maxFiles) && this.#maxFiles !== Infinity) {
      throw new RangeError(`Invalid maxFiles: ${options.maxFiles}`);
    }
    this.#linkType = options.linkType;
    this.#snapLen = options.snapLen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.#snapLen) || this.#snapLen < 1) {
      throw new RangeError(`Invalid snapshot length: ${options.snapLen}`);
    }
    this.#nanoseconds = options.nanoseconds ?? false;
    this.#maxPendingBytes = limit(options.maxPendingBytes, "maxPendingBytes", 32 * 1024 * 1024);
    this.#flushMs = limit(options.flushMs, "flushMs", 1000);
    this.#onFileClosed = options.onFileClosed ?? null;
    this.#onError = options.onError ?? null;
    if (!Number.isInteger(this.#linkType) || this.#linkType < 0 || this.#linkType > 0xffff) {
      throw new RangeError(`Invalid pcap link type: ${options.linkType}`);
    }
  }

  /** Counters so far (a copy). */
  get stats(): RotatingPcapStats {
    return { ...this.#stats };
  }

  /**
   * Appends one frame. Copies its bytes (the frame may be reused after the
   * call) and decides whether it starts a new file. Never throws for a frame:
   * a frame of another link type is skipped, one that does not fit in the
   * pending buffer is dropped; both are counted.
   *
   * @param frame The captured frame.
   */
  write(frame: Frame): void {
    if (this.#closed) {
      this.#stats.dropped++;
      return;
    }
    if (frame.linkType !== this.#linkType) {
      this.#stats.skipped++;
      return;
    }
    const captured = Math.min(frame.end - frame.start, this.#snapLen);
    const recordBytes = PCAP_RECORD_HEADER_BYTES + captured;
    if (this.#pendingBytes + recordBytes > this.#maxPendingBytes) {
      this.#stats.dropped++;
      return;
    }
    const ts = Number.isFinite(frame.ts) && frame.ts >= 0 ? frame.ts : 0;
    if (this.#startsNewFile(ts, recordBytes)) {
      this.#segments.push({ kind: "file", ts });
      this.#plannedStart = ts;
      this.#plannedBytes = PCAP_FILE_HEADER_BYTES;
      this.#plannedPackets = 0;
    }
    this.#plannedBytes += recordBytes;
    this.#plannedPackets++;
    this.#append(ts, frame.bytes, frame.start, captured, Math.max(frame.origLen, captured));
    this.#pendingBytes += recordBytes;
    this.#stats.packets++;
    this.#schedule();
  }

  /**
   * Starts a new file at the next packet if the current one is older than
   * `maxSeconds` at `now` — for quiet links, where no packet arrives to
   * trigger the rotation. Call it now and then (a status timer).
   *
   * @param now Current time, seconds since the Unix epoch.
   */
  tick(now: number): void {
    if (this.#plannedStart >= 0 && now - this.#plannedStart >= this.#maxSeconds) {
      this.#plannedStart = -1; // the next packet opens a new file
      this.#segments.push({ kind: "file", ts: -1 });
      this.#schedule();
    }
  }

  /** Writes everything pending to disk now. */
  async flush(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    while (this.#draining !== null || this.#segments.length > 0) {
      this.#startDrain();
      await this.#draining;
    }
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** Writes what is pending and closes the current file. Later writes are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    await this.#closeFile();
  }

  #startsNewFile(ts: number, recordBytes: number): boolean {
    if (this.#plannedStart < 0) return true;
    if (this.#plannedPackets === 0) return false;
    if (this.#plannedBytes + recordBytes > this.#maxBytes) return true;
    return ts - this.#plannedStart >= this.#maxSeconds;
  }

  #append(ts: number, bytes: Uint8Array, start: number, length: number, origLen: number): void {
    const need = META_BYTES + length;
    let last = this.#segments[this.#segments.length - 1];
    if (last?.kind !== "data" || last.bytes.length - last.used < need) {
      const bytes = new Uint8Array(Math.max(CHUNK_BYTES, need));
      last = { kind: "data", bytes, view: new DataView(bytes.buffer), used: 0, records: 0 };
      this.#segments.push(last);
    }
    const at = last.used;
    last.view.setFloat64(at, ts, true);
    last.view.setUint32(at + 8, length, true);
    last.view.setUint32(at + 12, origLen, true);
    last.bytes.set(bytes.subarray(start, start + length), at + META_BYTES);
    last.used += need;
    last.records++;
  }

  #schedule(): void {
    if (this.#draining !== null) return;
    if (this.#pendingBytes >= EAGER_FLUSH_BYTES) {
      if (this.#timer !== null) {
        clearTimeout(this.#timer);
        this.#timer = null;
      }
      this.#startDrain();
    } else if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#startDrain();
      }, this.#flushMs);
    }
  }

  #startDrain(): void {
    if (this.#draining !== null) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
      if (this.#segments.length > 0 && !this.#closed) this.#schedule();
    });
  }

  async #drain(): Promise<void> {
    while (this.#segments.length > 0) {
      const segment = this.#segments.shift()!;
      if (segment.kind === "file") {
        await this.#closeFile();
        if (segment.ts >= 0) await this.#openFile(segment.ts);
      } else {
        await this.#writeSegment(segment);
      }
    }
    await this.#guard(async () => await this.#writer?.flush());
  }

  /** Writes a segment's records to the open file; what cannot be written is dropped. */
  async #writeSegment(segment: Extract<Segment, { kind: "data" }>): Promise<void> {
    const { bytes, view } = segment;
    let at = 0;
    let done = 0;
    // No open file (it could not be created): try again, so a disk that was full recovers.
    if (this.#writer === null && segment.used > 0) await this.#openFile(view.getFloat64(0, true));
    await this.#guard(async () => {
      const writer = this.#writer;
      if (writer === null) throw new Error("Cannot write packets: no capture file is open");
      while (at < segment.used) {
        const ts = view.getFloat64(at, true);
        const length = view.getUint32(at + 8, true);
        const origLen = view.getUint32(at + 12, true);
        const start = at + META_BYTES;
        await writer.writePacket(ts, bytes.subarray(start, start + length), origLen);
        this.#pendingBytes -= PCAP_RECORD_HEADER_BYTES + length;
        at = start + length;
        done++;
        this.#filePackets++;
        this.#stats.written++;
      }
    });
    for (let i = at; i < segment.used;) {
      const length = view.getUint32(i + 8, true);
      this.#pendingBytes -= PCAP_RECORD_HEADER_BYTES + length;
      i += META_BYTES + length;
    }
    this.#stats.dropped += segment.records - done;
  }

  async #openFile(ts: number): Promise<void> {
    await this.#guard(async () => {
      if (!this.#dirReady) {
        await Deno.mkdir(this.#dir, { recursive: true });
        this.#dirReady = true;
      }
      const stamp = utcStamp(ts);
      for (let attempt = 0; attempt < 1000; attempt++) {
        this.#sequence = this.#sequence % 999999 + 1;
        const name = `${this.#prefix}-${stamp}-${String(this.#sequence).padStart(6, "0")}.pcap`;
        const path = join(this.#dir, name);
        let file: Deno.FsFile;
        try {
          file = await Deno.open(path, { write: true, createNew: true });
        } catch (error) {
          if (error instanceof Deno.errors.AlreadyExists) continue;
          throw error;
        }
        this.#writer = new PcapWriter(file, {
          linkType: this.#linkType,
          snaplen: this.#snapLen,
          nanoseconds: this.#nanoseconds,
          bufferBytes: 256 * 1024,
        });
        await this.#writer.writeHeader();
        this.#path = path;
        this.#filePackets = 0;
        this.#stats.files++;
        this.#stats.currentFile = path;
        break;
      }
      if (this.#writer === null) throw new Error(`Cannot create a capture file in ${this.#dir}`);
      await this.#prune(this.#path!);
    });
  }

  async #closeFile(): Promise<void> {
    const writer = this.#writer;
    const path = this.#path;
    if (writer === null || path === null) return;
    this.#writer = null;
    this.#path = null;
    this.#stats.currentFile = null;
    const packets = this.#filePackets;
    if (await this.#guard(() => writer.close())) this.#onFileClosed?.(path, packets);
  }

  /** Deletes the oldest files of this prefix beyond `maxFiles` (never the current one). */
  async #prune(current: string): Promise<void> {
    if (this.#maxFiles === Infinity) return;
    const names: string[] = [];
    for await (const entry of Deno.readDir(this.#dir)) {
      if (!entry.isFile || !entry.name.startsWith(`${this.#prefix}-`)) continue;
      if (!NAME_SUFFIX.test(entry.name.slice(this.#prefix.length + 1))) continue;
      if (join(this.#dir, entry.name) === current) continue;
      names.push(entry.name);
    }
    names.sort();
    const excess = names.length + 1 - this.#maxFiles;
    for (const name of names.slice(0, Math.max(0, excess))) {
      await this.#guard(async () => {
        await Deno.remove(join(this.#dir, name));
        this.#stats.deleted++;
      });
    }
  }

  /** Runs a file operation; reports its error instead of throwing. */
  async #guard(fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (error) {
      this.#stats.errors++;
      this.#onError?.(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  }
}

/** A positive limit; `undefined` (and 0 where `zeroIsNone`) means the fallback. */
function limit(value: number | undefined, name: string, fallback = Infinity, zeroIsNone = false) {
  if (value === undefined || (zeroIsNone && value === 0)) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`Invalid ${name}: ${value}`);
  }
  return value;
}

/** `YYYYMMDDTHHMMSSZ` of a time. */
function utcStamp(ts: number): string {
  const d = new Date(Math.floor(ts) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}
