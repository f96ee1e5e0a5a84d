/**
 * Helpers for the capture tests: build pcap and pcapng bytes by hand (any
 * byte order and resolution, damage included) and collect what a reader
 * delivers.
 *
 * @module
 */

import { bytesReader } from "./byte_input.ts";
import type { SourceAnomaly, SourceSummary } from "./frame.ts";
import { openReader } from "./open.ts";

/** A frame as collected by {@link readAll}: its fields copied out of the reused object. */
export interface CollectedFrame {
  /** Capture time. */
  ts: number;
  /** Link type. */
  linkType: number;
  /** Copied bytes. */
  data: Uint8Array;
  /** Wire length. */
  origLen: number;
  /** Interface index. */
  interfaceId: number;
  /** Frame number. */
  number: number;
  /** Record offset. */
  offset: number;
}

/**
 * Reads a whole capture held in memory.
 *
 * @param bytes The capture.
 * @param step Bytes per read, small to make records straddle reads.
 * @returns Frames, anomalies and the source summary.
 */
export async function readAll(
  bytes: Uint8Array,
  step = 1 << 20,
): Promise<{ frames: CollectedFrame[]; anomalies: SourceAnomaly[]; summary: SourceSummary }> {
  const opened = await openReader(bytesReader(bytes, step), "test", bytes.length, () => {});
  const frames: CollectedFrame[] = [];
  const anomalies: SourceAnomaly[] = [];
  const summary = await opened.source.run({
    onFrame: (f) =>
      frames.push({
        ts: f.ts,
        linkType: f.linkType,
        data: f.data.slice(),
        origLen: f.origLen,
        interfaceId: f.interfaceId,
        number: f.number,
        offset: f.offset,
      }),
    onAnomaly: (a) => anomalies.push(a),
  });
  return { frames, anomalies, summary };
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Builds little- or big-endian words. */
export class Bytes {
  readonly #parts: number[] = [];
  readonly #le: boolean;

  /** @param littleEndian Byte order of multi-byte values. */
  constructor(littleEndian: boolean) {
    this.#le = littleEndian;
  }

  /** Appends a 16-bit value. */
  u16(v: number): this {
    const b = [(v >>> 8) & 255, v & 255];
    this.#parts.push(...(this.#le ? b.reverse() : b));
    return this;
  }

  /** Appends a 32-bit value. */
  u32(v: number): this {
    const b = [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    this.#parts.push(...(this.#le ? b.reverse() : b));
    return this;
  }

  /** Appends raw bytes. */
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.#parts.push(bytes[i]!);
    return this;
  }

  /** Pads with zeros to a multiple of 4. */
  pad4(): this {
    while (this.#parts.length % 4) this.#parts.push(0);
    return this;
  }

  /** Bytes so far. */
  get length(): number {
    return this.#parts.length;
  }

  /** The bytes. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

/** A packet of `n` bytes whose contents count up from `seed`. */
export function packet(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + i) & 255);
}

/**
 * Builds a classic pcap file.
 *
 * @param options Byte order, resolution, link type and records.
 * @returns The file's bytes.
 */
export function buildPcap(options: {
  littleEndian?: boolean;
  nanos?: boolean;
  linkType?: number;
  snapLen?: number;
  records: { sec: number; frac: number; data: Uint8Array; origLen?: number }[];
}): Uint8Array {
  const b = new Bytes(options.littleEndian ?? true);
  b.u32(options.nanos ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0)
    .u32(options.snapLen ?? 65535).u32(options.linkType ?? 1);
  for (const r of options.records) {
    b.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
  }
  return b.bytes();
}

/** Builds one pcapng block: type, length, body (padded), length. */
export function pcapngBlock(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  return new Bytes(le).u32(type).u32(padded + 12).raw(body).pad4().u32(padded + 12).bytes();
}

/** A Section Header Block. */
export function pcapngSection(le: boolean): Uint8Array {
  const body = new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).bytes();
  return pcapngBlock(le, 0x0a0d0d0a, body);
}

/** An Interface Description Block with optional `if_tsresol` and `if_name`. */
export function pcapngInterface(
  le: boolean,
  linkType: number,
  options: { tsresol?: number; name?: string; snapLen?: number } = {},
): Uint8Array {
  const b = new Bytes(le).u16(linkType).u16(0).u32(options.snapLen ?? 0);
  if (options.tsresol !== undefined) b.u16(9).u16(1).raw([options.tsresol]).pad4();
  if (options.name !== undefined) {
    const name = new TextEncoder().encode(options.name);
    b.u16(2).u16(name.length).raw(name).pad4();
  }
  b.u16(0).u16(0);
  return pcapngBlock(le, 1, b.bytes());
}

/** An Enhanced Packet Block with a 64-bit timestamp in interface units. */
export function pcapngPacket(
  le: boolean,
  interfaceId: number,
  timestamp: bigint,
  data: Uint8Array,
  origLen = data.length,
): Uint8Array {
  const body = new Bytes(le).u32(interfaceId).u32(Number(timestamp >> 32n))
    .u32(Number(timestamp & 0xffffffffn)).u32(data.length).u32(origLen).raw(data).pad4().bytes();
  return pcapngBlock(le, 6, body);
}
