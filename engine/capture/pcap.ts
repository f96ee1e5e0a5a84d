/**
 * Streaming reader of classic pcap files: microsecond and nanosecond
 * resolution, both byte orders. A damaged record is reported and skipped by
 * scanning for the next plausible record header, so good packets after the
 * damage are still read.
 *
 * @module
 */

import type { ByteInput } from "./byte_input.ts";
import {
  CaptureFormatError,
  Frame,
  type FrameSink,
  type FrameSource,
  type SourceSummary,
} from "./frame.ts";

/** Magic of a microsecond pcap file, as read in its own byte order. */
export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
/** Magic of a nanosecond pcap file, as read in its own byte order. */
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
/** Largest packet a record may hold (Wireshark's and libpcap's limit). */
export const MAX_PACKET_BYTES = 262144;

const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
/** How far the reader scans for a good record after a damaged one. */
const RESYNC_WINDOW_BYTES = 8 << 20;

/** Byte order and resolution of a pcap file, from its magic number. */
export interface PcapHeader {
  /** Whether multi-byte fields are little-endian. */
  littleEndian: boolean;
  /** Whether record timestamps count nanoseconds (else microseconds). */
  nanos: boolean;
  /** Snapshot length from the file header. */
  snapLen: number;
  /** LINKTYPE_* of every record. */
  linkType: number;
}

/**
 * Recognizes a pcap magic number.
 *
 * @param b The first four bytes of a file.
 * @returns Byte order and resolution, or `null` when the bytes are not a pcap magic.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(pcapMagic(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1])), {
 *   littleEndian: true,
 *   nanos: false,
 * });
 * assert.equal(pcapMagic(new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a])), null);
 * ```
 */
export function pcapMagic(b: Uint8Array): { littleEndian: boolean; nanos: boolean } | null {
  if (b.length < 4) return null;
  const be = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const le = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
  if (be === PCAP_MAGIC_MICROS) return { littleEndian: false, nanos: false };
  if (be === PCAP_MAGIC_NANOS) return { littleEndian: false, nanos: true };
  if (le === PCAP_MAGIC_MICROS) return { littleEndian: true, nanos: false };
  if (le === PCAP_MAGIC_NANOS) return { littleEndian: true, nanos: true };
  return null;
}

/** Reads a classic pcap file from a {@link ByteInput} positioned at its start. */
export class PcapReader implements FrameSource {
  /** Name of the input, for messages. */
  readonly name: string;
  readonly #input: ByteInput;
  readonly #totalBytes: number;
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

  /** Stops reading at the next record. */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Reads the file header, then delivers every record to the sink.
   *
   * @param sink Receives frames, anomalies and progress.
   * @returns A summary of what was read.
   */
  async run(sink: FrameSink): Promise<SourceSummary> {
    const input = this.#input;
    const header = await this.#readHeader();
    const le = header.littleEndian;
    const fracScale = header.nanos ? 1e-9 : 1e-6;
    const fracLimit = header.nanos ? 1e9 : 1e6;
    const summary: SourceSummary = { frames: 0, bytes: 0, linkTypes: new Map(), format: "pcap" };
    const frame = new Frame();
    frame.linkType = header.linkType;
    const anomaly = (reason: string, detail: string, offset: number) =>
      sink.onAnomaly?.({ reason, detail, offset });
    let lastSec = -1;
    let progressAt = 0;

    while (!this.#stopped) {
      if (input.available < RECORD_HEADER_BYTES && !(await input.ensure(RECORD_HEADER_BYTES))) {
        if (input.available > 0) {
          anomaly(
            "pcap.truncated",
            `${input.available} bytes at the end are too short for a record header`,
            input.position,
          );
        }
        break;
      }
      let view = input.view;
      let p = input.start;
      const sec = view.getUint32(p, le);
      const frac = view.getUint32(p + 4, le);
      const capLen = view.getUint32(p + 8, le);
      const origLen = view.getUint32(p + 12, le);
      if (capLen > MAX_PACKET_BYTES) {
        anomaly(
          "pcap.record.bad-length",
          `record claims ${capLen} captured bytes (the limit is ${MAX_PACKET_BYTES})`,
          input.position,
        );
        if (!(await this.#resync(header, lastSec, sink))) break;
        continue;
      }
      const recordBytes = RECORD_HEADER_BYTES + capLen;
      if (input.available < recordBytes && !(await input.ensure(recordBytes))) {
        anomaly(
          "pcap.truncated",
          `last record needs ${capLen} bytes, ${input.available - RECORD_HEADER_BYTES} remain`,
          input.position,
        );
        break;
      }
      view = input.view;
      p = input.start;
      if (origLen < capLen) {
        anomaly(
          "pcap.record.orig-shorter",
          `record holds ${capLen} bytes but says the packet was ${origLen}`,
          input.position,
        );
      } else if (capLen > header.snapLen && header.snapLen > 0) {
        anomaly(
          "pcap.record.exceeds-snaplen",
          `record holds ${capLen} bytes, more than the file's snapshot length ${header.snapLen}`,
          input.position,
        );
      }
      frame.ts = sec + (frac < fracLimit ? frac : fracLimit - 1) * fracScale;
      frame.bytes = input.buffer;
      frame.start = p + RECORD_HEADER_BYTES;
      frame.end = frame.start + capLen;
      frame.origLen = origLen < capLen ? capLen : origLen;
      frame.number = ++summary.frames;
      frame.offset = input.position;
      input.start += recordBytes;
      lastSec = sec;
      sink.onFrame(frame);
      if (input.position - progressAt >= 1 << 20) {
        progressAt = input.position;
        sink.onProgress?.(progressAt, this.#totalBytes);
      }
    }
    summary.bytes = input.position;
    if (summary.frames > 0) summary.linkTypes.set(header.linkType, summary.frames);
    sink.onProgress?.(summary.bytes, this.#totalBytes);
    return summary;
  }

  async #readHeader(): Promise<PcapHeader> {
    const input = this.#input;
    if (!(await input.ensure(FILE_HEADER_BYTES))) {
      throw new CaptureFormatError(
        this.name,
        input.available,
        `file ends inside the pcap header (${input.available} of ${FILE_HEADER_BYTES} bytes)`,
      );
    }
    const magic = pcapMagic(input.buffer.subarray(input.start, input.start + 4));
    if (!magic) throw new CaptureFormatError(this.name, 0, "not a pcap file (bad magic number)");
    const view = input.view;
    const p = input.start;
    const major = view.getUint16(p + 4, magic.littleEndian);
    if (major !== 2) {
      throw new CaptureFormatError(this.name, 4, `unsupported pcap version ${major}`);
    }
    const snapLen = view.getUint32(p + 16, magic.littleEndian);
    // The upper bits of the link-type field may carry FCS information (pcap-savefile(5)).
    const linkType = view.getUint32(p + 20, magic.littleEndian) & 0x03ffffff;
    input.start += FILE_HEADER_BYTES;
    return { ...magic, snapLen, linkType };
  }

  /**
   * Scans forward for the next plausible record: sane lengths and timestamp,
   * followed by another plausible record or by the end of input.
   */
  async #resync(header: PcapHeader, lastSec: number, sink: FrameSink): Promise<boolean> {
    const input = this.#input;
    const from = input.position;
    // Bytes that must be buffered after a candidate to check it and its successor.
    const lookahead = RECORD_HEADER_BYTES * 2 + MAX_PACKET_BYTES;
    input.start += 1;
    while (input.position - from < RESYNC_WINDOW_BYTES) {
      await input.ensure(lookahead);
      if (input.available < RECORD_HEADER_BYTES) break;
      const last = input.eof ? input.end - RECORD_HEADER_BYTES : input.end - lookahead;
      for (let q = input.start; q <= last; q++) {
        if (plausibleRecordAt(input.view, q, input.end, header, lastSec, input.eof)) {
          input.start = q;
          sink.onAnomaly?.({
            reason: "pcap.resync",
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
      reason: "pcap.unrecoverable",
      detail: `no readable record after the damage (scanned ${input.position - from} bytes)`,
      offset: from,
    });
    return false;
  }
}

/** Whether a plausible record starts at q, followed by another plausible record or the end. */
function plausibleRecordAt(
  view: DataView,
  q: number,
  end: number,
  header: PcapHeader,
  lastSec: number,
  eof: boolean,
): boolean {
  if (!plausibleHeader(view, q, header, lastSec)) return false;
  const next = q + RECORD_HEADER_BYTES + view.getUint32(q + 8, header.littleEndian);
  if (next === end && eof) return true;
  if (next + RECORD_HEADER_BYTES > end) return false;
  return plausibleHeader(view, next, header, view.getUint32(q, header.littleEndian));
}

function plausibleHeader(view: DataView, q: number, header: PcapHeader, lastSec: number): boolean {
  const le = header.littleEndian;
  const sec = view.getUint32(q, le);
  const frac = view.getUint32(q + 4, le);
  const capLen = view.getUint32(q + 8, le);
  const origLen = view.getUint32(q + 12, le);
  const maxCap = header.snapLen > 0 ? Math.min(header.snapLen, MAX_PACKET_BYTES) : MAX_PACKET_BYTES;
  if (capLen === 0 || capLen > maxCap || origLen < capLen || origLen > 1 << 24) return false;
  if (frac >= (header.nanos ? 1e9 : 1e6)) return false;
  // Within a day of the last good record, when there was one.
  return lastSec < 0 || Math.abs(sec - lastSec) <= 86400;
}
