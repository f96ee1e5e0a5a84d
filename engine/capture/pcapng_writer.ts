/**
 * Writes pcapng files: one Section Header Block, one or more Interface
 * Description Blocks (each with its link type, snapshot length, timestamp
 * resolution and name) and Enhanced Packet Blocks, with optional comments,
 * to a file, a stream, any `{ write }` object or memory. Blocks are gathered
 * in a buffer and written in large chunks.
 *
 * Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcapngWriter } from "./pcapng_writer.ts";
 *
 * const writer = PcapngWriter.inMemory();
 * const raw = await writer.addInterface({ linkType: 101, name: "tun0", tsResolution: 9 });
 * await writer.writePacket(1700000000n * 1_000_000_000n + 5n, new Uint8Array(20), {
 *   interfaceId: raw,
 *   comment: "first",
 * });
 * await writer.close();
 * const file = writer.bytes();
 * const view = new DataView(file.buffer);
 * assert.equal(view.getUint32(0, true), 0x0a0d0d0a); // Section Header Block
 * assert.equal(view.getUint32(8, true), 0x1a2b3c4d); // byte-order magic
 * assert.equal(writer.packetsWritten, 1);
 * ```
 *
 * @module
 */

import { LINKTYPE_ETHERNET } from "./link_types.ts";

/** Block type of the Section Header Block. */
export const PCAPNG_BLOCK_SHB = 0x0a0d0d0a;
/** Block type of the Interface Description Block. */
export const PCAPNG_BLOCK_IDB = 1;
/** Block type of the Enhanced Packet Block. */
export const PCAPNG_BLOCK_EPB = 6;
/** The byte-order magic of a Section Header Block. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Snapshot length of an interface when none is given (what tcpdump uses). */
export const PCAPNG_DEFAULT_SNAPLEN = 262144;
/** Timestamp resolution of an interface when none is given: 10^-6 s. */
export const PCAPNG_DEFAULT_TS_RESOLUTION = 6;
/** Size of the write buffer when none is given. */
export const PCAPNG_DEFAULT_BUFFER_BYTES = 64 * 1024;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const OPT_SHB_HARDWARE = 2;
const OPT_SHB_OS = 3;
const OPT_SHB_USERAPPL = 4;
const OPT_IF_NAME = 2;
const OPT_IF_DESCRIPTION = 3;
const OPT_IF_TSRESOL = 9;
const OPT_EPB_FLAGS = 2;
const TWO_32 = 4294967296;
const TWO_16 = 65536;

const TEXT_ENCODER = new TextEncoder();

/**
 * Where a {@link PcapngWriter} sends its bytes: a `Deno.FsFile`, any object with a
 * `write` method, or a `WritableStream`. `write` may return the number of bytes it
 * took (fewer than offered: the rest is offered again), nothing (all taken), or a
 * promise of either. Each chunk is a fresh copy the sink may keep.
 */
export interface PcapngByteSink {
  /** Takes some prefix of `p` (all of it when the result is not a number). */
  write(p: Uint8Array): number | void | Promise<number | void>;
  /** Closes the destination, if it can be closed. */
  close?(): void | Promise<void>;
}

/** Any destination a {@link PcapngWriter} accepts. */
export type PcapngSink = PcapngByteSink | WritableStream<Uint8Array>;

/** Options of the Section Header Block. */
export interface PcapngSectionOptions {
  /** `opt_comment`: free text about the file. */
  comment?: string;
  /** `shb_hardware`: the capturing hardware. */
  hardware?: string;
  /** `shb_os`: the capturing operating system. */
  os?: string;
  /** `shb_userappl`: the application that wrote the file. */
  application?: string;
}

/** Options for {@link PcapngWriter}. */
export interface PcapngWriterOptions {
  /** What the Section Header Block says about the file. */
  section?: PcapngSectionOptions;
  /** Write big-endian blocks instead of little-endian (for testing readers). */
  bigEndian?: boolean;
  /** Bytes gathered before one write to the sink (default 64 KiB, at least 64). */
  bufferBytes?: number;
  /** Close the sink in {@link PcapngWriter.close} (default true). */
  closeSink?: boolean;
}

/** Description of one capture interface (one Interface Description Block). */
export interface PcapngInterfaceOptions {
  /** LINKTYPE_* of the interface's packets (default 1, Ethernet). */
  linkType?: number;
  /** Snapshot length; longer packets are cut to it; 0 means no limit (default 262144). */
  snaplen?: number;
  /**
   * `if_tsresol` as a decimal exponent: timestamps count units of 10^-n seconds.
   * 6 (microseconds, the default) to 9 (nanoseconds); 0–9 are accepted.
   */
  tsResolution?: number;
  /** `if_name`, such as `eth0`. */
  name?: string;
  /** `if_description`. */
  description?: string;
  /** `opt_comment` of the interface. */
  comment?: string;
}

/** An interface as the writer recorded it. */
export interface PcapngInterfaceInfo {
  /** LINKTYPE_* of the interface. */
  readonly linkType: number;
  /** Snapshot length (0 = no limit). */
  readonly snaplen: number;
  /** Decimal exponent of the timestamp unit. */
  readonly tsResolution: number;
}

/** Options for one packet. */
export interface PcapngPacketOptions {
  /** Interface the packet was captured on (default 0, added automatically as Ethernet/µs). */
  interfaceId?: number;
  /** Length on the wire, at least `data.length` (default `data.length`). */
  origLen?: number;
  /** `opt_comment` of the packet. */
  comment?: string;
  /** `epb_flags` (direction, reception type, FCS length, link-layer errors). */
  flags?: number;
}

interface PcapngOption {
  code: number;
  value: Uint8Array;
}

/** A growable byte array that collects what the writer writes. */
class MemorySink implements PcapngByteSink {
  #data = new Uint8Array(4096);
  #length = 0;

  write(p: Uint8Array): void {
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

function isWritableStream(sink: PcapngSink): sink is WritableStream<Uint8Array> {
  return typeof (sink as WritableStream<Uint8Array>).getWriter === "function";
}

function padded(n: number): number {
  return (n + 3) & ~3;
}

function textOption(code: number, text: string | undefined, into: PcapngOption[]): void {
  if (text !== undefined) into.push({ code, value: TEXT_ENCODER.encode(text) });
}

function optionsSize(options: readonly PcapngOption[]): number {
  if (options.length === 0) return 0;
  let size = 4; // opt_endofopt
  for (const o of options) size += 4 + padded(o.value.length);
  return size;
}

/**
 * Splits a timestamp into the high and low 32 bits of a count of 10^-resolution
 * second units, exactly (no double loses precision on the way).
 */
function splitTimestamp(ts: number | bigint, resolution: number): [number, number] {
  const unit = 10 ** resolution;
  if (typeof ts === "bigint") {
    if (ts < 0n) throw new RangeError(`Invalid packet timestamp: ${ts}`);
    const divisor = 10n ** BigInt(9 - resolution);
    const units = (ts + divisor / 2n) / divisor;
    if (units >= 1n << 64n) throw new RangeError(`Packet timestamp out of range: ${ts}`);
    return [Number(units >> 32n), Number(units & 0xffffffffn)];
  }
  if (!Number.isFinite(ts) || ts < 0 || ts >= TWO_32) {
    throw new RangeError(`Invalid packet timestamp: ${ts}`);
  }
  let seconds = Math.floor(ts);
  let fraction = Math.round((ts - seconds) * unit);
  if (fraction >= unit) {
    seconds += 1;
    fraction -= unit;
  }
  // units = seconds * unit + fraction, computed in pieces that stay below 2^53.
  const a = Math.floor(seconds / TWO_16) * unit; // < 2^46
  const b = (seconds % TWO_16) * unit + fraction; // < 2^47
  const aHigh = Math.floor(a / TWO_16);
  const c = (a - aHigh * TWO_16) * TWO_16 + b; // < 2^48
  const cHigh = Math.floor(c / TWO_32);
  return [aHigh + cHigh, c - cHigh * TWO_32];
}

/**
 * Writes a pcapng file, buffered.
 *
 * The Section Header Block is written before the first other block. An interface
 * is added with {@link PcapngWriter.addInterface}; a packet written before any
 * interface exists adds interface 0 (Ethernet, µs). Nothing reaches the sink until
 * the buffer fills, {@link PcapngWriter.flush} or {@link PcapngWriter.close}.
 * Calls must not overlap: await each before the next.
 */
export class PcapngWriter {
  readonly #sink: PcapngByteSink | null;
  readonly #stream: WritableStreamDefaultWriter<Uint8Array> | null;
  readonly #memory: MemorySink | null;
  readonly #closeSink: boolean;
  readonly #littleEndian: boolean;
  readonly #section: PcapngSectionOptions;
  readonly #interfaces: PcapngInterfaceInfo[] = [];
  #buffer: Uint8Array;
  #view: DataView;
  #used = 0;
  #sectionWritten = false;
  #closed = false;
  #packets = 0;
  #bytes = 0;

  /**
   * Makes a writer; nothing is written until the first block.
   *
   * @param sink Where the file goes: a `Deno.FsFile`, any `{ write }` object or a `WritableStream`.
   * @param options Section options, byte order, buffer size.
   */
  constructor(sink: PcapngSink, options: PcapngWriterOptions = {}) {
    const bufferBytes = options.bufferBytes ?? PCAPNG_DEFAULT_BUFFER_BYTES;
    if (!Number.isInteger(bufferBytes) || bufferBytes < 64) {
      throw new RangeError(`Invalid pcapng buffer size: ${bufferBytes}`);
    }
    this.#littleEndian = !(options.bigEndian ?? false);
    this.#section = options.section ?? {};
    this.#closeSink = options.closeSink ?? true;
    this.#buffer = new Uint8Array(bufferBytes);
    this.#view = new DataView(this.#buffer.buffer);
    if (sink instanceof MemorySink) {
      this.#memory = sink;
      this.#sink = sink;
      this.#stream = null;
    } else if (isWritableStream(sink)) {
      this.#memory = null;
      this.#sink = null;
      this.#stream = sink.getWriter();
    } else {
      this.#memory = null;
      this.#sink = sink;
      this.#stream = null;
    }
  }

  /**
   * Makes a writer that keeps the file in memory; read it with {@link PcapngWriter.bytes}.
   *
   * @param options As for the constructor.
   * @returns A writer over a growable in-memory buffer.
   */
  static inMemory(options: PcapngWriterOptions = {}): PcapngWriter {
    return new PcapngWriter(new MemorySink(), options);
  }

  /** Packets written so far (buffered ones included). */
  get packetsWritten(): number {
    return this.#packets;
  }

  /** Bytes of file produced so far (buffered ones included). */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /** The interfaces added so far, by interface id. */
  get interfaces(): readonly PcapngInterfaceInfo[] {
    return this.#interfaces;
  }

  /**
   * Writes an Interface Description Block.
   *
   * @param options Link type, snapshot length, timestamp resolution, name.
   * @returns The new interface's id, to pass as `interfaceId` with its packets.
   */
  async addInterface(options: PcapngInterfaceOptions = {}): Promise<number> {
    this.#checkOpen();
    const linkType = options.linkType ?? LINKTYPE_ETHERNET;
    const snaplen = options.snaplen ?? PCAPNG_DEFAULT_SNAPLEN;
    const tsResolution = options.tsResolution ?? PCAPNG_DEFAULT_TS_RESOLUTION;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new RangeError(`Invalid pcapng link type: ${linkType}`);
    }
    if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 0xffffffff) {
      throw new RangeError(`Invalid pcapng snapshot length: ${snaplen}`);
    }
    if (!Number.isInteger(tsResolution) || tsResolution < 0 || tsResolution > 9) {
      throw new RangeError(`Invalid pcapng timestamp resolution: 10^-${tsResolution}`);
    }
    const opts: PcapngOption[] = [];
    textOption(OPT_COMMENT, options.comment, opts);
    textOption(OPT_IF_NAME, options.name, opts);
    textOption(OPT_IF_DESCRIPTION, options.description, opts);
    opts.push({ code: OPT_IF_TSRESOL, value: Uint8Array.of(tsResolution) });
    await this.#ensureSection();
    const size = 12 + 8 + optionsSize(opts);
    const at = await this.#beginBlock(PCAPNG_BLOCK_IDB, size);
    const v = this.#view;
    const le = this.#littleEndian;
    v.setUint16(at + 8, linkType, le);
    v.setUint16(at + 10, 0, le);
    v.setUint32(at + 12, snaplen, le);
    this.#putOptions(at + 16, opts);
    this.#endBlock(size);
    this.#interfaces.push({ linkType, snaplen, tsResolution });
    return this.#interfaces.length - 1;
  }

  /**
   * Appends one Enhanced Packet Block. Data longer than the interface's snapshot
   * length is cut to it.
   *
   * @param ts Capture time: seconds since the Unix epoch as a number (fractional; a
   *   double holds present-day times to about 0.2 µs), or nanoseconds since the epoch
   *   as a bigint (exact). Rounded to the interface's resolution.
   * @param data The captured bytes (copied; the caller may reuse the array).
   * @param options Interface id, original length, comment, flags.
   */
  async writePacket(
    ts: number | bigint,
    data: Uint8Array,
    options: PcapngPacketOptions = {},
  ): Promise<void> {
    this.#checkOpen();
    const interfaceId = options.interfaceId ?? 0;
    if (interfaceId === 0 && this.#interfaces.length === 0) await this.addInterface();
    const iface = this.#interfaces[interfaceId];
    if (iface === undefined) {
      throw new RangeError(`Cannot write packet: no interface ${interfaceId}`);
    }
    const origLen = options.origLen ?? data.length;
    if (!Number.isInteger(origLen) || origLen < data.length || origLen > 0xffffffff) {
      throw new RangeError(`Invalid original length ${origLen} for ${data.length} captured bytes`);
    }
    const [high, low] = splitTimestamp(ts, iface.tsResolution);
    const captured = iface.snaplen > 0 && data.length > iface.snaplen
      ? data.subarray(0, iface.snaplen)
      : data;
    let opts: PcapngOption[] | null = null;
    if (options.comment !== undefined || options.flags !== undefined) {
      opts = [];
      textOption(OPT_COMMENT, options.comment, opts);
      if (options.flags !== undefined) {
        const flags = new Uint8Array(4);
        new DataView(flags.buffer).setUint32(0, options.flags >>> 0, this.#littleEndian);
        opts.push({ code: OPT_EPB_FLAGS, value: flags });
      }
    }
    const dataSize = padded(captured.length);
    const size = 12 + 20 + dataSize + (opts === null ? 0 : optionsSize(opts));
    const at = await this.#beginBlock(PCAPNG_BLOCK_EPB, size);
    const v = this.#view;
    const le = this.#littleEndian;
    v.setUint32(at + 8, interfaceId, le);
    v.setUint32(at + 12, high, le);
    v.setUint32(at + 16, low, le);
    v.setUint32(at + 20, captured.length, le);
    v.setUint32(at + 24, origLen, le);
    this.#buffer.set(captured, at + 28);
    this.#buffer.fill(0, at + 28 + captured.length, at + 28 + dataSize);
    if (opts !== null) this.#putOptions(at + 28 + dataSize, opts);
    this.#endBlock(size);
    this.#packets += 1;
  }

  /**
   * Appends a block of any type with the given body (padded to 32 bits), for
   * example an unknown or custom block to test a reader. The writer does not
   * interpret it.
   *
   * @param type Block type.
   * @param body The block body, between the length fields.
   */
  async writeBlock(type: number, body: Uint8Array): Promise<void> {
    this.#checkOpen();
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff || type === PCAPNG_BLOCK_SHB) {
      throw new RangeError(`Invalid pcapng block type: ${type}`);
    }
    await this.#ensureSection();
    const size = 12 + padded(body.length);
    const at = await this.#beginBlock(type, size);
    this.#buffer.set(body, at + 8);
    this.#buffer.fill(0, at + 8 + body.length, at + size - 4);
    this.#endBlock(size);
  }

  /** Sends everything buffered to the sink. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    const used = this.#used;
    this.#used = 0;
    if (this.#memory !== null) {
      this.#memory.write(this.#buffer.subarray(0, used));
      return;
    }
    await this.#send(this.#buffer.slice(0, used));
  }

  /**
   * Writes the Section Header Block if nothing was written, flushes, and closes
   * the sink (unless `closeSink: false`). Later calls do nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#ensureSection();
    await this.flush();
    this.#closed = true;
    if (this.#stream !== null) {
      if (this.#closeSink) await this.#stream.close();
      else this.#stream.releaseLock();
    } else if (this.#closeSink && this.#sink !== null && this.#memory === null) {
      await this.#sink.close?.();
    }
  }

  /**
   * The file written so far, for a writer made by {@link PcapngWriter.inMemory}:
   * what reached memory plus what is still buffered.
   *
   * @returns A copy of the file's bytes.
   */
  bytes(): Uint8Array {
    if (this.#memory === null) {
      throw new TypeError("Cannot return bytes: this pcapng writer does not write to memory");
    }
    const flushed = this.#memory.view();
    const out = new Uint8Array(flushed.length + this.#used);
    out.set(flushed);
    out.set(this.#buffer.subarray(0, this.#used), flushed.length);
    return out;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("Cannot write: the pcapng writer is closed");
  }

  async #ensureSection(): Promise<void> {
    if (this.#sectionWritten) return;
    this.#sectionWritten = true;
    const opts: PcapngOption[] = [];
    textOption(OPT_COMMENT, this.#section.comment, opts);
    textOption(OPT_SHB_HARDWARE, this.#section.hardware, opts);
    textOption(OPT_SHB_OS, this.#section.os, opts);
    textOption(OPT_SHB_USERAPPL, this.#section.application, opts);
    const size = 12 + 16 + optionsSize(opts);
    const at = await this.#beginBlock(PCAPNG_BLOCK_SHB, size);
    const v = this.#view;
    const le = this.#littleEndian;
    v.setUint32(at + 8, PCAPNG_BYTE_ORDER_MAGIC, le);
    v.setUint16(at + 12, 1, le); // major version
    v.setUint16(at + 14, 0, le); // minor version
    v.setInt32(at + 16, -1, le); // section length: not given
    v.setInt32(at + 20, -1, le);
    this.#putOptions(at + 24, opts);
    this.#endBlock(size);
  }

  /**
   * Makes room for a block of `size` bytes (growing the buffer for a block larger
   * than it), writes its type and leading length, and returns its offset.
   */
  async #beginBlock(type: number, size: number): Promise<number> {
    if (this.#buffer.length - this.#used < size) {
      await this.flush();
      if (this.#buffer.length < size) {
        this.#buffer = new Uint8Array(padded(size));
        this.#view = new DataView(this.#buffer.buffer);
      }
    }
    const at = this.#used;
    this.#view.setUint32(at, type >>> 0, this.#littleEndian);
    this.#view.setUint32(at + 4, size, this.#littleEndian);
    return at;
  }

  /** Writes the trailing length of the block begun last and commits it. */
  #endBlock(size: number): void {
    this.#view.setUint32(this.#used + size - 4, size, this.#littleEndian);
    this.#used += size;
    this.#bytes += size;
  }

  #putOptions(at: number, options: readonly PcapngOption[]): void {
    if (options.length === 0) return;
    const v = this.#view;
    const le = this.#littleEndian;
    let p = at;
    for (const o of options) {
      v.setUint16(p, o.code, le);
      v.setUint16(p + 2, o.value.length, le);
      this.#buffer.set(o.value, p + 4);
      const end = p + 4 + padded(o.value.length);
      this.#buffer.fill(0, p + 4 + o.value.length, end);
      p = end;
    }
    v.setUint16(p, OPT_ENDOFOPT, le);
    v.setUint16(p + 2, 0, le);
  }

  async #send(chunk: Uint8Array): Promise<void> {
    if (this.#stream !== null) {
      await this.#stream.write(chunk);
      return;
    }
    const sink = this.#sink as PcapngByteSink;
    let offset = 0;
    while (offset < chunk.length) {
      const n = await sink.write(offset === 0 ? chunk : chunk.subarray(offset));
      if (typeof n !== "number") return;
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`Cannot write pcapng data: the sink wrote ${n} bytes`);
      }
      offset += n;
    }
  }
}
