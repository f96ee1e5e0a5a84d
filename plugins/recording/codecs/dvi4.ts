/**
 * DVI4 decoder: IMA ADPCM as carried in RTP (RFC 3551 §4.5.1; payload
 * types 5 and 6 at 8 and 16 kHz, 16 and 17 at 11.025 and 22.05 kHz).
 *
 * Each packet is one self-contained block: a 4-byte state header (the
 * predicted value as a big-endian int16, the step-size index, one reserved
 * octet) followed by 4-bit codes, two per octet, the first sample in the
 * high nibble. Unlike an IMA ADPCM (WAV) block, the header value is the
 * predictor *before* the first sample, not a sample itself: a payload of
 * `n` octets yields `2 × (n − 4)` samples.
 *
 * @module
 */

import type { AudioDecoder } from "./audio_decoder.ts";

/** Bytes of the DVI4 state header at the start of every payload. */
export const DVI4_HEADER_BYTES = 4;

// deno-fmt-ignore
/** The 89 IMA ADPCM quantizer step sizes, indexed by the step index. */
export const IMA_STEP_SIZES: Int16Array = Int16Array.from([
  7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31,
  34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143,
  157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658,
  724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024,
  3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899,
  15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
]);

/** Largest valid step index. */
export const IMA_MAX_STEP_INDEX = 88;

// deno-fmt-ignore
/** Step index change for each 4-bit code (the sign bit does not matter). */
export const IMA_INDEX_ADJUST: Int8Array = Int8Array.from([
  -1, -1, -1, -1, 2, 4, 6, 8,
  -1, -1, -1, -1, 2, 4, 6, 8,
]);

/**
 * The IMA ADPCM predictor state: what the encoder and decoder both track.
 * Exposed for tests and for the encoder that makes test vectors.
 */
export class ImaState {
  /** Predicted (last reconstructed) sample, −32768…32767. */
  predicted = 0;
  /** Step index, 0…88. */
  index = 0;
}

/**
 * Reconstructs one sample from a 4-bit code and advances `state`, exactly
 * as the IMA reference decoder does (the difference is built from shifted
 * step sizes, not by multiplication, so rounding matches real encoders).
 *
 * @param state Predictor state, updated in place.
 * @param code The 4-bit code (bit 3 = sign, bits 2..0 = magnitude).
 * @returns The reconstructed sample.
 */
export function imaDecodeNibble(state: ImaState, code: number): number {
  const step = IMA_STEP_SIZES[state.index]!;
  let diff = step >> 3;
  if ((code & 4) !== 0) diff += step;
  if ((code & 2) !== 0) diff += step >> 1;
  if ((code & 1) !== 0) diff += step >> 2;
  let predicted = (code & 8) !== 0 ? state.predicted - diff : state.predicted + diff;
  if (predicted > 32767) predicted = 32767;
  else if (predicted < -32768) predicted = -32768;
  let index = state.index + IMA_INDEX_ADJUST[code & 15]!;
  if (index < 0) index = 0;
  else if (index > IMA_MAX_STEP_INDEX) index = IMA_MAX_STEP_INDEX;
  state.predicted = predicted;
  state.index = index;
  return predicted;
}

/**
 * Decodes DVI4 (mono). Stateless between packets: every RTP packet carries
 * the predictor state in its header, so a lost packet costs only itself.
 * A header whose step index is above 88 is clamped to 88.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Dvi4Decoder } from "./dvi4.ts";
 *
 * // Predictor 1000, step index 0 (step 7): code 0x7 adds 7+3+1+0 = 11 (step
 * // index +8 → 8, step 16); code 0x8 then subtracts 16 >> 3 = 2.
 * const out = new Int16Array(2);
 * const n = new Dvi4Decoder().decode(new Uint8Array([0x03, 0xe8, 0, 0, 0x78]), out);
 * assert.equal(n, 2);
 * assert.deepEqual([...out], [1011, 1009]);
 * ```
 */
export class Dvi4Decoder implements AudioDecoder {
  /** Always `DVI4`. */
  readonly encodingName = "DVI4";
  /** Sample rate, the RTP clock rate (8000, 16000, 11025, 22050). */
  readonly sampleRate: number;
  /** Always 1: RFC 3551 leaves several DVI4 channels for further study. */
  readonly channels = 1;
  /** Each packet carries its own predictor and step index. */
  readonly stateless = true;
  readonly #state = new ImaState();

  /** @param sampleRate Sample rate in Hz (default 8000). */
  constructor(sampleRate = 8000) {
    this.sampleRate = sampleRate;
  }

  /**
   * Decodes one DVI4 block; a payload shorter than the header decodes to
   * nothing. See {@linkcode AudioDecoder.decode}.
   */
  decode(payload: Uint8Array, out: Int16Array, outOffset = 0): number {
    if (payload.length < DVI4_HEADER_BYTES) return 0;
    const state = this.#state;
    const predicted = (payload[0]! << 8) | payload[1]!;
    state.predicted = predicted > 32767 ? predicted - 65536 : predicted;
    state.index = Math.min(payload[2]!, IMA_MAX_STEP_INDEX);
    const room = Math.max(0, out.length - outOffset);
    const n = Math.min(2 * (payload.length - DVI4_HEADER_BYTES), room);
    let at = outOffset;
    for (let i = 0; i < n; i++) {
      const octet = payload[DVI4_HEADER_BYTES + (i >> 1)]!;
      out[at++] = imaDecodeNibble(state, (i & 1) === 0 ? octet >> 4 : octet & 15);
    }
    return n;
  }

  /** Two samples per octet after the 4-byte header. */
  samplesFor(payloadBytes: number): number {
    return Math.max(0, 2 * (payloadBytes - DVI4_HEADER_BYTES));
  }

  /** Stateless between packets: nothing to forget. */
  reset(): void {}

  /** Predictor and step index after the last decoded sample (tests check continuity with them). */
  get state(): Readonly<ImaState> {
    return this.#state;
  }
}
