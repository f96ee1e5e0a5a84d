/**
 * Streaming reader of pcapng files: every block type a reader meets (SHB,
 * IDB, EPB, SPB, the obsolete PB; others skipped), several sections with
 * their own byte order, several interfaces with their own link type and
 * timestamp resolution. A block with a damaged length is reported and the
 * reader scans for the next good block.
 *
 * @module
 */

import type { ByteInput } from "./byte_input.ts";
import { MAX_RECORD_BYTES } from "./byte_input.ts";
import {
  CaptureFormatError,
  Frame,
  type FrameSink,
  type FrameSource,
  type SourceSummary,
} from "./frame.ts";

/** Block type of the Section Header Block (a palindrome, readable in either byte order). */
export const PCAPNG_SHB = 0x0a0d0d0a;
/** Interface Description Block. */
export const PCAPNG_IDB = 1;
/** Packet Block (obsolete). */
export const PCAPNG_PB = 2;
/** Simple Packet Block. */
export const PCAPNG_SPB = 3;
/** Name Resolution Block. */
export const PCAPNG_NRB = 4;
/** Interface Statistics Block. */
export const PCAPNG_ISB = 5;
/** Enhanced Packet Block. */
export const PCAPNG_EPB = 6;

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const KNOWN_BLOCK_TYPES = new Set([
  PCAPNG_SHB,
  PCAPNG_IDB,
  PCAPNG_PB,
  PCAPNG_SPB,
  PCAPNG_NRB,
  PCAPNG_ISB,
  PCAPNG_EPB,
  9, // systemd journal export
  0x0a, // decryption secrets
  0xbad, // custom, copyable
  0x40000bad, // custom, not copyable
]);
const RESYNC_WINDOW_BYTES = 8 << 20;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** What an Interface Description Block says about its interface. */
export interface PcapngInterface {
  /** LINKTYPE_* of the interface. */
  linkType: number;
  /** Snapshot length (0 = unlimited). */
  snapLen: number;
  /** Seconds per timestamp unit (1e-6 unless `if_tsresol` says otherwise). */
  tsScale: number;
  /** Seconds added to every timestamp (`if_tsoffset`). */
  tsOffset: number;
  /** `if_name`, when given. */
  name: string | null;
}

/** Reads a pcapng file from a {@link ByteInput} positioned at its start. */
export class PcapngReader implements FrameSource {
  /** Name of the input, for messages. */
  readonly name: string;
  /** Interfaces of the current section, in IDB order. */
  interfaces: PcapngInterface[] = [];
  readonly #input: ByteInput;
  readonly #totalBytes: number;
  #littleEndian = true;
  #stopped = false;

  /**
   * @param input The buffered input, at byte 0 of the file.
   * @param name Name of the input for messages.
   * @param totalBytes Size of the input, or 0 when unknown (stdin).
   */
  constructor(input: ByteInput, name: string, totalBytes = 0) {
    this.#input = input;
    this.name = name;
    this.#totalBytes = totalBytes;
  }

  /** Stops reading at the next block. */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Delivers every packet of every section to the sink.
   *
   * @param sink Receives frames, anomalies and progress.
   * @returns A summary of what was read.
   */
  async run(sink: FrameSink): Promise<SourceSummary> {
    const input = this.#input;
    const summary: SourceSummary = { frames: 0, bytes: 0, linkTypes: new Map(), format: "pcapng" };
    const frame = new Frame();
    let lastTs = 0;
    let progressAt = 0;
    const anomaly = (reason: string, detail: string, offset: number) =>
      sink.onAnomaly?.({ reason, detail, offset });

    if (!(await input.ensure(12)) || input.view.getUint32(input.start, true) !== PCAPNG_SHB) {
      throw new CaptureFormatError(this.name, 0, "not a pcapng file (no section header block)");
    }
    while (!this.#stopped) {
      if (!(await input.ensure(12))) {
        if (input.available > 0) {
          anomaly(
            "pcapng.truncated",
            `${input.available} bytes at the end are too short for a block`,
            input.position,
          );
        }
        break;
      }
      let view = input.view;
      let p = input.start;
      const type = view.getUint32(p, this.#littleEndian);
      if (type === PCAPNG_SHB) {
        const bom = view.getUint32(p + 8, true);
        if (bom === BYTE_ORDER_MAGIC) this.#littleEndian = true;
        else if (bom === 0x4d3c2b1a) this.#littleEndian = false;
        else if (summary.frames === 0 && input.position === 0) {
          throw new CaptureFormatError(this.name, 8, "bad byte-order magic in the section header");
        } else {
          anomaly("pcapng.shb.bad-magic", "section header with a bad byte-order magic", p);
          if (!(await this.#resync(sink))) break;
          continue;
        }
      }
      const le = this.#littleEndian;
      const length = view.getUint32(p + 4, le);
      if (length < 12 || length % 4 !== 0 || length > MAX_RECORD_BYTES) {
        if (input.position === 0) {
          throw new CaptureFormatError(this.name, 4, `bad section header length ${length}`);
        }
        anomaly(
          "pcapng.block.bad-length",
          `block type ${type} has length ${length}`,
          input.position,
        );
        if (!(await this.#resync(sink))) break;
        continue;
      }
      if (!(await input.ensure(length))) {
        anomaly(
          "pcapng.truncated",
          `block of ${length} bytes is cut off after ${input.available}`,
          input.position,
        );
        break;
      }
      view = input.view;
      p = input.start;
      if (view.getUint32(p + length - 4, le) !== length) {
        anomaly(
          "pcapng.block.bad-length",
          `block type ${type}: trailing length ${view.getUint32(p + length - 4, le)} != ${length}`,
          input.position,
        );
        if (!(await this.#resync(sink))) break;
        continue;
      }
      const blockOffset = input.position;
      input.start += length;

      let iface: PcapngInterface | undefined;
      let dataStart = 0;
      let capLen = 0;
      let origLen = 0;
      let tsHigh = 0;
      let tsLow = 0;
      if (type === PCAPNG_EPB || type === PCAPNG_PB) {
        if (length < 32) {
          anomaly("pcapng.block.too-short", `packet block of ${length} bytes`, blockOffset);
          continue;
        }
        const ifaceId = type === PCAPNG_EPB ? view.getUint32(p + 8, le) : view.getUint16(p + 8, le);
        iface = this.interfaces[ifaceId];
        tsHigh = view.getUint32(p + 12, le);
        tsLow = view.getUint32(p + 16, le);
        capLen = view.getUint32(p + 20, le);
        origLen = view.getUint32(p + 24, le);
        dataStart = p + 28;
        frame.interfaceId = ifaceId;
        if (capLen > length - 32) {
          anomaly(
            "pcapng.packet.bad-length",
            `packet claims ${capLen} bytes in a block of ${length}`,
            blockOffset,
          );
          continue;
        }
      } else if (type === PCAPNG_SPB) {
        iface = this.interfaces[0];
        origLen = view.getUint32(p + 8, le);
        dataStart = p + 12;
        capLen = Math.min(origLen, length - 16);
        if (iface && iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
        frame.interfaceId = 0;
      } else {
        if (type === PCAPNG_SHB) this.#readSection(view, p, length, blockOffset, sink);
        else if (type === PCAPNG_IDB) this.interfaces.push(readInterface(view, p, length, le));
        continue;
      }
      if (!iface) {
        anomaly(
          "pcapng.packet.no-interface",
          `packet refers to interface ${frame.interfaceId}, which no IDB describes`,
          blockOffset,
        );
        continue;
      }
      if (type !== PCAPNG_SPB) {
        lastTs = (tsHigh * 4294967296 + tsLow) * iface.tsScale + iface.tsOffset;
      }
      frame.ts = lastTs;
      frame.linkType = iface.linkType;
      frame.bytes = input.buffer;
      frame.start = dataStart;
      frame.end = dataStart + capLen;
      frame.origLen = origLen < capLen ? capLen : origLen;
      frame.number = ++summary.frames;
      frame.offset = blockOffset;
      summary.linkTypes.set(iface.linkType, (summary.linkTypes.get(iface.linkType) ?? 0) + 1);
      sink.onFrame(frame);
      if (input.position - progressAt >= 1 << 20) {
        progressAt = input.position;
        sink.onProgress?.(progressAt, this.#totalBytes);
      }
    }
    summary.bytes = input.position;
    sink.onProgress?.(summary.bytes, this.#totalBytes);
    return summary;
  }

  /** Starts a new section: its interfaces replace the previous section's. */
  #readSection(
    view: DataView,
    p: number,
    length: number,
    offset: number,
    sink: FrameSink,
  ): void {
    const major = length >= 28 ? view.getUint16(p + 12, this.#littleEndian) : -1;
    if (major !== 1) {
      if (offset === 0) {
        throw new CaptureFormatError(this.name, 12, `unsupported pcapng version ${major}`);
      }
      sink.onAnomaly?.({
        reason: "pcapng.shb.unsupported",
        detail: `section header with version ${major}; reading on as version 1`,
        offset,
      });
    }
    this.interfaces = [];
  }

  /** Scans forward byte by byte for the start of a well-formed block. */
  async #resync(sink: FrameSink): Promise<boolean> {
    const input = this.#input;
    const from = input.position;
    const lookahead = 1 << 16;
    input.start += 1;
    while (input.position - from < RESYNC_WINDOW_BYTES) {
      await input.ensure(lookahead);
      if (input.available < 12) break;
      const last = input.eof ? input.end - 12 : input.end - lookahead;
      for (let q = input.start; q <= last; q++) {
        if (this.#plausibleBlockAt(input.view, q, input.end)) {
          input.start = q;
          sink.onAnomaly?.({
            reason: "pcapng.resync",
            detail: `skipped ${input.position - from} damaged bytes`,
            offset: from,
          });
          return true;
        }
      }
      if (input.eof) break;
      input.start = Math.max(input.start, last + 1);
    }
    sink.onAnomaly?.({
      reason: "pcapng.unrecoverable",
      detail: `no readable block after the damage (scanned ${input.position - from} bytes)`,
      offset: from,
    });
    return false;
  }

  #plausibleBlockAt(view: DataView, q: number, end: number): boolean {
    const le = this.#littleEndian;
    const type = view.getUint32(q, le);
    if (!KNOWN_BLOCK_TYPES.has(type)) return false;
    const length = view.getUint32(q + 4, le);
    if (length < 12 || length % 4 !== 0 || q + length > end) return false;
    if (view.getUint32(q + length - 4, le) !== length) return false;
    if (type === PCAPNG_EPB) {
      return length >= 32 && view.getUint32(q + 8, le) < this.interfaces.length &&
        view.getUint32(q + 20, le) <= length - 32;
    }
    return true;
  }
}

function readInterface(view: DataView, p: number, length: number, le: boolean): PcapngInterface {
  const iface: PcapngInterface = {
    linkType: view.getUint16(p + 8, le),
    snapLen: length >= 20 ? view.getUint32(p + 12, le) : 0,
    tsScale: 1e-6,
    tsOffset: 0,
    name: null,
  };
  let o = p + 16;
  const end = p + length - 4;
  while (o + 4 <= end) {
    const code = view.getUint16(o, le);
    const len = view.getUint16(o + 2, le);
    const value = o + 4;
    if (code === 0 || value + len > end) break;
    if (code === OPT_IF_TSRESOL && len >= 1) {
      const r = view.getUint8(value);
      const exponent = r & 0x7f;
      iface.tsScale = r & 0x80 ? Math.pow(2, -exponent) : Math.pow(10, -exponent);
    } else if (code === OPT_IF_TSOFFSET && len >= 8) {
      const high = view.getInt32(le ? value + 4 : value, le);
      const low = view.getUint32(le ? value : value + 4, le);
      iface.tsOffset = high * 4294967296 + low;
    } else if (code === OPT_IF_NAME && len > 0) {
      iface.name = new TextDecoder().decode(
        new Uint8Array(view.buffer, view.byteOffset + value, len),
      ).replace(/\0+$/, "");
    }
    o = value + ((len + 3) & ~3);
  }
  return iface;
}
