/**
 * L16 decoder: uncompressed 16-bit linear PCM in network byte order
 * (RFC 3551 §4.5.11; payload types 10 and 11 at 44.1 kHz, any rate and
 * channel count through `a=rtpmap`, e.g. `L16/16000/2`).
 *
 * @module
 */

import type { AudioDecoder } from "./audio_decoder.ts";

/**
 * Decodes L16: big-endian samples, channels interleaved sample by sample
 * (left first for stereo, RFC 3551 §4.1), kept interleaved in the output.
 * A trailing partial frame (an odd byte, or fewer samples than channels)
 * is dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L16Decoder } from "./l16.ts";
 *
 * const stereo = new L16Decoder(16000, 2);
 * const out = new Int16Array(4);
 * // Two frames: (1, −1) and (256, −32768).
 * const n = stereo.decode(new Uint8Array([0, 1, 0xff, 0xff, 1, 0, 0x80, 0]), out);
 * assert.equal(n, 4);
 * assert.deepEqual([...out], [1, -1, 256, -32768]);
 * ```
 */
export class L16Decoder implements AudioDecoder {
  /** Always `L16`. */
  readonly encodingName = "L16";
  /** Sample rate, the RTP clock rate. */
  readonly sampleRate: number;
  /** Interleaved channels. */
  readonly channels: number;
  /** Each packet decodes on its own. */
  readonly stateless = true;
  readonly #frameBytes: number;

  /**
   * @param sampleRate Sample rate in Hz (the RTP clock rate).
   * @param channels Interleaved channels (default 1).
   */
  constructor(sampleRate: number, channels = 1) {
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.#frameBytes = 2 * channels;
  }

  /** Decodes whole frames; see {@linkcode AudioDecoder.decode}. */
  decode(payload: Uint8Array, out: Int16Array, outOffset = 0): number {
    const room = Math.max(0, out.length - outOffset);
    const frames = Math.min(
      Math.floor(payload.length / this.#frameBytes),
      Math.floor(room / this.channels),
    );
    const n = frames * this.channels;
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      out[outOffset + i] = (payload[j]! << 24 >> 16) | payload[j + 1]!;
    }
    return n;
  }

  /** One sample per two bytes, in whole frames. */
  samplesFor(payloadBytes: number): number {
    return Math.max(0, Math.floor(payloadBytes / this.#frameBytes) * this.channels);
  }

  /** Stateless: nothing to forget. */
  reset(): void {}
}
