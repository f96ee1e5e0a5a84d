/**
 * G.722 encoder (ITU-T G.722, 64 kbit/s mode 1). The recorder never
 * encodes; this exists so tests can push known signals through the codec
 * and measure what the decoder gives back.
 *
 * @module
 */

import {
  adaptHigherBand,
  adaptLowerBand,
  QMF_EVEN,
  QMF_ODD,
  saturate,
  SubBand,
} from "./g722_core.ts";

// Lower-band decision levels (QUANTL), scaled by DETL / 2^12; interval i
// (1…30) maps to a positive or negative 6-bit code.
// deno-fmt-ignore
const Q6 = Int32Array.from([
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
  786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
]);
// deno-fmt-ignore
const ILN = Int32Array.from([
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
  18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
]);
// deno-fmt-ignore
const ILP = Int32Array.from([
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
  46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
]);
// Higher-band decision (QUANTH): one level at 564 × DETH / 2^12.
const IHN = Int32Array.from([0, 1, 0]);
const IHP = Int32Array.from([0, 3, 2]);

/**
 * Encodes 16 kHz 16-bit PCM into G.722 at 64 kbit/s, one octet per two
 * samples. Stateful, like the decoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { G722Encoder } from "./g722_encoder.ts";
 *
 * const octets = new Uint8Array(160);
 * assert.equal(new G722Encoder().encode(new Int16Array(320), octets), 160);
 * ```
 */
export class G722Encoder {
  readonly #low = new SubBand(32);
  readonly #high = new SubBand(8);
  // Transmit QMF input history, newest first, kept twice over (24 + 24).
  readonly #history = new Int32Array(48);
  #at = 0;

  /**
   * Encodes `floor(samples.length / 2)` sample pairs (at most `out.length`).
   *
   * @param samples 16 kHz PCM.
   * @param out Destination of the G.722 octets.
   * @returns Octets written.
   */
  encode(samples: Int16Array, out: Uint8Array): number {
    const n = Math.min(samples.length >> 1, out.length);
    const low = this.#low;
    const high = this.#high;
    const x = this.#history;
    let at = this.#at;
    for (let k = 0; k < n; k++) {
      // Transmit QMF: the two new samples enter the history, newest first.
      for (let j = 0; j < 2; j++) {
        at = at === 0 ? 23 : at - 1;
        x[at] = x[at + 24] = samples[2 * k + j]!;
      }
      let even = 0; // Σ h(2i) x(j − 2i): the newest sample and every other one
      let odd = 0; // Σ h(2i + 1) x(j − 2i − 1)
      for (let i = 0; i < 12; i++) {
        even += QMF_EVEN[i]! * x[at + 2 * i]!;
        odd += QMF_ODD[i]! * x[at + 2 * i + 1]!;
      }
      const xl = saturate((even + odd) >> 14);
      const xh = saturate((even - odd) >> 14);

      // Lower sub-band quantizer (QUANTL): find the interval of |el|.
      const el = saturate(xl - low.s);
      const wdl = el >= 0 ? el : -(el + 1);
      let interval = 1;
      while (interval < 30 && wdl >= (Q6[interval]! * low.det) >> 12) interval++;
      const lowCode = el < 0 ? ILN[interval]! : ILP[interval]!;
      adaptLowerBand(low, lowCode);

      // Higher sub-band quantizer (QUANTH).
      const eh = saturate(xh - high.s);
      const wdh = eh >= 0 ? eh : -(eh + 1);
      const magnitude = wdh >= (564 * high.det) >> 12 ? 2 : 1;
      const highCode = eh < 0 ? IHN[magnitude]! : IHP[magnitude]!;
      adaptHigherBand(high, highCode);

      out[k] = (highCode << 6) | lowCode;
    }
    this.#at = at;
    return n;
  }

  /** Returns the encoder to its reset state. */
  reset(): void {
    this.#low.reset();
    this.#high.reset();
    this.#history.fill(0);
    this.#at = 0;
  }
}
