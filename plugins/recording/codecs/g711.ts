/**
 * G.711 µ-law (PCMU) and A-law (PCMA) decoders (ITU-T G.711; RTP payload
 * types 0 and 8, RFC 3551 §4.5.14). One octet per sample; table-driven.
 *
 * @module
 */

import type { AudioDecoder } from "./audio_decoder.ts";

function expandMuLaw(code: number): number {
  // G.711 µ-law: bits are sent inverted; 3-bit segment, 4-bit mantissa,
  // bias 0x84 (132) so that the segments line up.
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return (u & 0x80) !== 0 ? -magnitude : magnitude;
}

function expandALaw(code: number): number {
  // G.711 A-law: even bits are inverted (XOR 0x55); segment 0 is linear.
  const a = code ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let magnitude = ((a & 0x0f) << 4) + 8;
  if (segment > 0) magnitude = (magnitude + 0x100) << (segment - 1);
  return (a & 0x80) !== 0 ? magnitude : -magnitude;
}

function buildTable(expand: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = expand(code);
  return table;
}

/** µ-law octet → 16-bit linear sample (values ±32124), indexed by the octet. */
export const MU_LAW_TO_LINEAR: Int16Array = buildTable(expandMuLaw);

/** A-law octet → 16-bit linear sample (values ±32256), indexed by the octet. */
export const A_LAW_TO_LINEAR: Int16Array = buildTable(expandALaw);

function decodeTable(
  table: Int16Array,
  payload: Uint8Array,
  out: Int16Array,
  outOffset: number,
): number {
  const n = Math.max(0, Math.min(payload.length, out.length - outOffset));
  for (let i = 0; i < n; i++) out[outOffset + i] = table[payload[i]!]!;
  return n;
}

/**
 * Decodes PCMU (G.711 µ-law). Several channels are interleaved octet by
 * octet on the wire (RFC 3551 §4.1) and stay interleaved in the output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcmuDecoder } from "./g711.ts";
 *
 * const out = new Int16Array(3);
 * assert.equal(new PcmuDecoder().decode(new Uint8Array([0xff, 0x00, 0x80]), out), 3);
 * assert.deepEqual([...out], [0, -32124, 32124]);
 * ```
 */
export class PcmuDecoder implements AudioDecoder {
  /** Always `PCMU`. */
  readonly encodingName = "PCMU";
  /** Sample rate, the RTP clock rate (8000 unless SDP says otherwise). */
  readonly sampleRate: number;
  /** Interleaved channels. */
  readonly channels: number;
  /** Each packet decodes on its own. */
  readonly stateless = true;

  /**
   * @param sampleRate Sample rate in Hz (default 8000).
   * @param channels Interleaved channels (default 1).
   */
  constructor(sampleRate = 8000, channels = 1) {
    this.sampleRate = sampleRate;
    this.channels = channels;
  }

  /** Decodes one octet per sample; see {@linkcode AudioDecoder.decode}. */
  decode(payload: Uint8Array, out: Int16Array, outOffset = 0): number {
    return decodeTable(MU_LAW_TO_LINEAR, payload, out, outOffset);
  }

  /** One sample per payload octet. */
  samplesFor(payloadBytes: number): number {
    return Math.max(0, payloadBytes);
  }

  /** Stateless: nothing to forget. */
  reset(): void {}
}

/**
 * Decodes PCMA (G.711 A-law). Several channels are interleaved octet by
 * octet on the wire (RFC 3551 §4.1) and stay interleaved in the output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcmaDecoder } from "./g711.ts";
 *
 * const out = new Int16Array(3);
 * assert.equal(new PcmaDecoder().decode(new Uint8Array([0xd5, 0x55, 0xaa]), out), 3);
 * assert.deepEqual([...out], [8, -8, 32256]);
 * ```
 */
export class PcmaDecoder implements AudioDecoder {
  /** Always `PCMA`. */
  readonly encodingName = "PCMA";
  /** Sample rate, the RTP clock rate (8000 unless SDP says otherwise). */
  readonly sampleRate: number;
  /** Interleaved channels. */
  readonly channels: number;
  /** Each packet decodes on its own. */
  readonly stateless = true;

  /**
   * @param sampleRate Sample rate in Hz (default 8000).
   * @param channels Interleaved channels (default 1).
   */
  constructor(sampleRate = 8000, channels = 1) {
    this.sampleRate = sampleRate;
    this.channels = channels;
  }

  /** Decodes one octet per sample; see {@linkcode AudioDecoder.decode}. */
  decode(payload: Uint8Array, out: Int16Array, outOffset = 0): number {
    return decodeTable(A_LAW_TO_LINEAR, payload, out, outOffset);
  }

  /** One sample per payload octet. */
  samplesFor(payloadBytes: number): number {
    return Math.max(0, payloadBytes);
  }

  /** Stateless: nothing to forget. */
  reset(): void {}
}
