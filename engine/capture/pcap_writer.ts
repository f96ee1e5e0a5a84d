/**
 * Writes classic pcap files (the libpcap format, little-endian, version 2.4)
 * with microsecond or nanosecond timestamps, to a file, a stream or memory.
 * Records are gathered in one reused buffer and written in large chunks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcapWriter } from "./pcap_writer.ts";
 *
 * const writer = PcapWriter.inMemory({ linkType: 101 });
 * await writer.writePacket(1700000000.25, new Uint8Array([0x45, 0, 0, 20]));
 * await writer.close();
 * const file = writer.bytes();
 * assert.equal(file.length, 24 + 16 + 4);
 * assert.equal(new DataView(file.buffer).getUint32(0, true), 0xa1b2c3d4);
 * ```
 *
 * @module
 */

import { LINKTYPE_ETHERNET } from "./link_types.ts";
import { MAX_PACKET_BYTES, PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS } from "./pcap.ts";

/** Size of the pcap file header in bytes. */
export const PCAP_FILE_HEADER_BYTES = 24;
/** Size of a pcap record header in bytes. */
export const PCAP_RECORD_HEADER_BYTES = 16;
/** Size of the write buffer when none is given. */
export const DEFAULT_BUFFER_BYTES = 64 * 1024;

/** Anything with the `write` method of `Deno.FsFile`: may write fewer bytes than asked. */
export interface ByteWriter {
  /** Writes some prefix of `p`; resolves with the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the destination, if it can be closed. */
  close?(): void | Promise<void>;
}

/** Where a {@link PcapWriter} sends its bytes. */
export type PcapSink = ByteWriter | WritableStream<Uint8Array>;

/** Options for {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** LINKTYPE_* of every packet (default 1, Ethernet). */
  linkType?: number;
  /** Snapshot length in the header; longer packets are cut to it (default 262144). */
  snaplen?: number;
  /** Write nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanoseconds?: boolean;
  /** Bytes gathered before one write to the sink (default 64 KiB). */
  bufferBytes?: number;
  /** Close the sink in {@link PcapWriter.close} (default true). */
  closeSink?: boolean;
}

/** A growable byte array that collects what a writer writes. */
class MemorySink implements ByteWriter {
  #data = new Uint8Array(4096);
  #length = 0;

  write(p: Uint8Array): Promise<number> {
    this.append(p);
    return Promise.resolve(p.length);
  }

  append(p: Uint8Array): void {
    const needed = this.#length + p.length;
    if (needed > this.#data.length) {
      const grown = new Uint8Array(Math.max(needed, this.#data.length * 2));
      grown.set(this.#data.subarray(0, this.#length));
      this.#data = grown;
    }
    this.#data.set(p, this.#length);
    this.#length = needed;
  }

  view(): Uint8Array {
    return this.#data.subarray(0, this.#length);
  }
}

function isWritableStream(sink: PcapSink): sink is WritableStream<Uint8Array> {
  return typeof (sink as WritableStream<Uint8Array>).getWriter === "function";
}

/**
 * Writes a classic little-endian pcap file, buffered.
 *
 * The file header is written by {@link PcapWriter.writeHeader}, or before the
 * first packet if that was not called. Nothing reaches the sink until the
 * buffer fills, {@link PcapWriter.flush} or {@link PcapWriter.close}.
 * Calls must not overlap: await each before the next.
 */
export class PcapWriter {
  /** LINKTYPE_* written in the header. */
  readonly linkType: number;
  /** Snapshot length written in the header. */
  readonly snaplen: number;
  /** Whether timestamps are in nanoseconds. */
  readonly nanoseconds: boolean;

  readonly #writer: ByteWriter | null;
  readonly #stream: WritableStreamDefaultWriter<Uint8Array> | null;
  readonly #memory: MemorySink | null;
  readonly #closeSink: boolean;
  readonly #buffer: Uint8Array;
  readonly #view: DataView;
  #used = 0;
  #headerWritten = false;
  #closed = false;
  #packets = 0;
  #bytes = 0;

  /**
   * @param sink Where the file goes: a `Deno.FsFile`, any `{ write }` object or a `WritableStream`.
   * @param options Link type, snapshot length, timestamp unit, buffer size.
   */
  constructor(sink: PcapSink, options: PcapWriterOptions = {}) {
    const linkType = options.linkType ?? LINKTYPE_ETHERNET;
    const snaplen = options.snaplen ?? MAX_PACKET_BYTES;
    const bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new RangeError(`Invalid pcap link type: ${linkType}`);
    }
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0xffffffff) {
      throw new RangeError(`Invalid pcap snapshot length: ${snaplen}`);
    }
    if (!Number.isInteger(bufferBytes) || bufferBytes < PCAP_FILE_HEADER_BYTES) {
      throw new RangeError(`Invalid pcap buffer size: ${bufferBytes}`);
    }
    this.linkType = linkType;
    this.snaplen = snaplen;
    this.nanoseconds = options.nanoseconds ?? false;
    this.#closeSink = options.closeSink ?? true;
    this.#buffer = new Uint8Array(bufferBytes);
    this.#view = new DataView(this.#buffer.buffer);
    if (sink instanceof MemorySink) {
      this.#memory = sink;
      this.#writer = sink;
      this.#stream = null;
    } else if (isWritableStream(sink)) {
      this.#memory = null;
      this.#writer = null;
      this.#stream = sink.getWriter();
    } else {
      this.#memory = null;
      this.#writer = sink;
      this.#stream = null;
    }
  }

  /**
   * Makes a writer that keeps the file in memory; read it with {@link PcapWriter.bytes}.
   *
   * @param options As for the constructor.
   * @returns A writer over a growable in-memory buffer.
   */
  static inMemory(options: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(new MemorySink(), options);
  }

  /** Packets written so far (buffered ones included). */
  get packetsWritten(): number {
    return this.#packets;
  }

  /** Bytes of file produced so far (buffered ones included). */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /**
   * Writes the 24-byte file header. Called by the first {@link PcapWriter.writePacket}
   * when not called before; a second call does nothing.
   */
  async writeHeader(): Promise<void> {
    this.#checkOpen();
    if (this.#headerWritten) return;
    await this.#reserve(PCAP_FILE_HEADER_BYTES);
    const v = this.#view;
    const at = this.#used;
    v.setUint32(at, this.nanoseconds ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS, true);
    v.setUint16(at + 4, 2, true);
    v.setUint16(at + 6, 4, true);
    v.setInt32(at + 8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(at + 12, 0, true); // sigfigs
    v.setUint32(at + 16, this.snaplen, true);
    v.setUint32(at + 20, this.linkType, true);
    this.#used += PCAP_FILE_HEADER_BYTES;
    this.#bytes += PCAP_FILE_HEADER_BYTES;
    this.#headerWritten = true;
  }

  /**
   * Appends one packet record. Data longer than the snapshot length is cut to it.
   *
   * @param tsSeconds Capture time in seconds since the Unix epoch (fractional, ≥ 0). A double
   *   holds a present-day epoch time to about 0.2 µs, so the last digits of a nanosecond
   *   timestamp are only as exact as the number given.
   * @param data The captured bytes (copied; the caller may reuse the array).
   * @param origLen Length on the wire, at least `data.length` (default `data.length`).
   */
  async writePacket(tsSeconds: number, data: Uint8Array, origLen = data.length): Promise<void> {
    this.#checkOpen();
    if (!Number.isFinite(tsSeconds) || tsSeconds < 0 || tsSeconds >= 2 ** 32) {
      throw new RangeError(`Invalid packet timestamp: ${tsSeconds}`);
    }
    if (!Number.isInteger(origLen) || origLen < data.length || origLen > 0xffffffff) {
      throw new RangeError(`Invalid original length ${origLen} for ${data.length} captured bytes`);
    }
    if (!this.#headerWritten) await this.writeHeader();
    const unit = this.nanoseconds ? 1e9 : 1e6;
    let seconds = Math.floor(tsSeconds);
    let fraction = Math.round((tsSeconds - seconds) * unit);
    if (fraction >= unit) {
      seconds += 1;
      fraction -= unit;
    }
    const captured = data.length > this.snaplen ? data.subarray(0, this.snaplen) : data;
    await this.#reserve(PCAP_RECORD_HEADER_BYTES);
    const v = this.#view;
    const at = this.#used;
    v.setUint32(at, seconds, true);
    v.setUint32(at + 4, fraction, true);
    v.setUint32(at + 8, captured.length, true);
    v.setUint32(at + 12, origLen, true);
    this.#used += PCAP_RECORD_HEADER_BYTES;
    if (captured.length <= this.#buffer.length - this.#used) {
      this.#buffer.set(captured, this.#used);
      this.#used += captured.length;
    } else {
      // Too big for what is left of the buffer: send what is buffered, then the packet itself.
      await this.flush();
      if (captured.length <= this.#buffer.length) {
        this.#buffer.set(captured, 0);
        this.#used = captured.length;
      } else {
        await this.#send(captured);
      }
    }
    this.#packets += 1;
    this.#bytes += PCAP_RECORD_HEADER_BYTES + captured.length;
  }

  /** Sends everything buffered to the sink. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    const used = this.#used;
    this.#used = 0;
    await this.#send(this.#buffer.subarray(0, used));
  }

  /**
   * Writes the header if no packet was written, flushes, and closes the sink
   * (unless `closeSink: false`). Later calls do nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#headerWritten) await this.writeHeader();
    await this.flush();
    this.#closed = true;
    if (this.#stream !== null) {
      if (this.#closeSink) await this.#stream.close();
      else this.#stream.releaseLock();
    } else if (this.#closeSink && this.#writer !== null && this.#memory === null) {
      await this.#writer.close?.();
    }
  }

  /**
   * The file written so far, for a writer made by {@link PcapWriter.inMemory}:
   * what reached memory plus what is still buffered.
   *
   * @returns A copy of the file's bytes.
   */
  bytes(): Uint8Array {
    if (this.#memory === null) {
      throw new TypeError("Cannot return bytes: this pcap writer does not write to memory");
    }
    const flushed = this.#memory.view();
    const out = new Uint8Array(flushed.length + this.#used);
    out.set(flushed);
    out.set(this.#buffer.subarray(0, this.#used), flushed.length);
    return out;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("Cannot write: the pcap writer is closed");
  }

  /** Makes room for `n` contiguous bytes in the buffer. */
  async #reserve(n: number): Promise<void> {
    if (this.#buffer.length - this.#used < n) await this.flush();
  }

  async #send(chunk: Uint8Array): Promise<void> {
    if (this.#stream !== null) {
      // A stream may hold on to the chunk: hand it a copy, as the buffer is reused.
      await this.#stream.write(chunk.slice());
      return;
    }
    const writer = this.#writer as ByteWriter;
    let offset = 0;
    while (offset < chunk.length) {
      const n = await writer.write(chunk.subarray(offset));
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`Cannot write pcap data: the sink wrote ${n} bytes`);
      }
      offset += n;
    }
  }
}
