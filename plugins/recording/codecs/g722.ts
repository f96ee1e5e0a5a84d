/**
 * G.722 decoder (ITU-T G.722, 64 kbit/s mode 1; RTP payload type 9,
 * RFC 3551 §4.5.2). Each octet carries one 16 kHz sample pair: the 2-bit
 * higher sub-band code in bits 7–6, the 6-bit lower code in bits 5–0. The
 * RTP clock runs at 8000 Hz for historical reasons; the audio is 16 kHz.
 *
 * @module
 */

import type { AudioDecoder } from "./audio_decoder.ts";
import {
  adaptHigherBand,
  adaptLowerBand,
  QM6,
  QMF_EVEN,
  QMF_ODD,
  saturate,
  SubBand,
} from "./g722_core.ts";

/** Audio sample rate of G.722, whatever the RTP clock rate says. */
export const G722_SAMPLE_RATE = 16000;

function limit14(x: number): number {
  return x > 16383 ? 16383 : x < -16384 ? -16384 : x;
}

/**
 * Decodes G.722 at 64 kbit/s into 16 kHz 16-bit PCM, bit-exact with the
 * Recommendation's fixed-point decoder (the receive QMF output is scaled to
 * 16 bits by a shift of 11, as common decoders do). Stateful: keep one
 * instance per RTP stream and feed it the packets in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { G722Decoder } from "./g722.ts";
 *
 * const decoder = new G722Decoder();
 * const out = new Int16Array(320);
 * // 20 ms of G.722 is 160 octets → 320 samples at 16 kHz.
 * assert.equal(decoder.decode(new Uint8Array(160).fill(0xff), out), 320);
 * assert.equal(decoder.sampleRate, 16000);
 * ```
 */
export class G722Decoder implements AudioDecoder {
  /** Always `G722`. */
  readonly encodingName = "G722";
  /** Always 16000. */
  readonly sampleRate = G722_SAMPLE_RATE;
  /** Always 1. */
  readonly channels = 1;
  readonly #low = new SubBand(32);
  readonly #high = new SubBand(8);
  // Receive QMF delay lines, newest first, each kept twice over (24 slots)
  // so that the 12 newest values are always contiguous from #qmfAt.
  readonly #diff = new Int32Array(24);
  readonly #sum = new Int32Array(24);
  #qmfAt = 0;

  /**
   * Decodes each octet into two samples; see {@linkcode AudioDecoder.decode}.
   * With an odd number of free slots in `out`, the last one stays unused.
   */
  decode(payload: Uint8Array, out: Int16Array, outOffset = 0): number {
    const room = Math.max(0, out.length - outOffset);
    const octets = Math.min(payload.length, room >> 1);
    const low = this.#low;
    const high = this.#high;
    const diff = this.#diff;
    const sum = this.#sum;
    let at = outOffset;
    let q = this.#qmfAt;
    for (let k = 0; k < octets; k++) {
      const octet = payload[k]!;
      const lowCode = octet & 0x3f;
      const highCode = octet >> 6;

      // Lower sub-band: 6-bit inverse quantizer for the output (INVQAL);
      // adaptation from the 4-bit truncated code.
      const rl = limit14(low.s + ((low.det * QM6[lowCode]!) >> 15));
      adaptLowerBand(low, lowCode);

      // Higher sub-band.
      const sh = high.s;
      const rh = limit14(sh + adaptHigherBand(high, highCode));

      // Receive QMF: two output samples from xd = rl − rh and xs = rl + rh.
      q = q === 0 ? 11 : q - 1;
      const xd = rl - rh;
      const xs = rl + rh;
      diff[q] = diff[q + 12] = xd;
      sum[q] = sum[q + 12] = xs;
      let first = 0;
      let second = 0;
      for (let i = 0; i < 12; i++) {
        first += QMF_EVEN[i]! * diff[q + i]!;
        second += QMF_ODD[i]! * sum[q + i]!;
      }
      out[at++] = saturate(first >> 11);
      out[at++] = saturate(second >> 11);
    }
    this.#qmfAt = q;
    return at - outOffset;
  }

  /** Two samples per octet. */
  samplesFor(payloadBytes: number): number {
    return Math.max(0, 2 * payloadBytes);
  }

  /** Returns both sub-bands and the QMF to the reset state. */
  reset(): void {
    this.#low.reset();
    this.#high.reset();
    this.#diff.fill(0);
    this.#sum.fill(0);
    this.#qmfAt = 0;
  }
}
