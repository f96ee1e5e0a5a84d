/**
 * The parts of ITU-T G.722 (7 kHz audio coding within 64 kbit/s, SB-ADPCM)
 * that its encoder and decoder share: the quantizer tables, the sub-band
 * ADPCM state with its scale-factor adaptation and adaptive predictor
 * (blocks 2–4 of the Recommendation), and the QMF coefficients.
 *
 * Integer arithmetic follows the Recommendation's fixed-point description:
 * 16-bit saturation where it saturates, arithmetic right shifts that
 * truncate toward −∞.
 *
 * @module
 */

// deno-fmt-ignore
/**
 * The 24 QMF coefficients h(0)…h(23), scaled by 2^13 (they sum to 8192).
 * The filter is symmetric: h(23 − i) = h(i).
 */
export const QMF_COEFFICIENTS: Int32Array = Int32Array.from([
  3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876,
  3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3,
]);

/** Even coefficients h(0), h(2), …, h(22): applied to the newest-first differences. */
export const QMF_EVEN: Int32Array = QMF_COEFFICIENTS.filter((_, i) => i % 2 === 0);

/** Odd coefficients h(1), h(3), …, h(23): applied to the newest-first sums. */
export const QMF_ODD: Int32Array = QMF_COEFFICIENTS.filter((_, i) => i % 2 === 1);

// deno-fmt-ignore
/** Inverse quantizer of the 6-bit lower sub-band code (INVQAL, mode 1), scaled by 2^15 / DETL. */
export const QM6: Int32Array = Int32Array.from([
  -136, -136, -136, -136, -24808, -21904, -19008, -16704,
  -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
  -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
  24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
  10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
  1688, 1360, 1040, 728, 432, 136, -432, -136,
]);

// deno-fmt-ignore
/** Inverse quantizer of the 4-bit truncated lower code (INVQBL), which drives adaptation. */
export const QM4: Int32Array = Int32Array.from([
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
  20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
]);

/** Inverse quantizer of the 2-bit higher sub-band code (INVQAH). */
export const QM2: Int32Array = Int32Array.from([-7408, -1616, 7408, 1616]);

/** Lower-band log scale-factor multipliers (LOGSCL), indexed through {@linkcode RL42}. */
export const WL: Int32Array = Int32Array.from([-60, -30, 58, 172, 334, 538, 1198, 3042]);

// deno-fmt-ignore
/** 4-bit lower code → index into {@linkcode WL} (its magnitude, largest first). */
export const RL42: Int32Array = Int32Array.from([
  0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0,
]);

/** Higher-band log scale-factor multipliers (LOGSCH), indexed through {@linkcode RH2}. */
export const WH: Int32Array = Int32Array.from([0, -214, 798]);

/** 2-bit higher code → index into {@linkcode WH}. */
export const RH2: Int32Array = Int32Array.from([2, 1, 2, 1]);

// deno-fmt-ignore
/** 2^(i/32) × 2048 for i = 0…31: the antilog table of SCALEL/SCALEH. */
export const ILB: Int32Array = Int32Array.from([
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
  2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
]);

/** Upper limit of the lower band's log scale factor NBL. */
export const NBL_MAX = 18432;
/** Upper limit of the higher band's log scale factor NBH. */
export const NBH_MAX = 22528;

/**
 * Saturates to the signed 16-bit range.
 *
 * @param x Any integer.
 * @returns `x` limited to −32768…32767.
 */
export function saturate(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

/**
 * State of one sub-band ADPCM (lower or higher): the scale factor and the
 * pole-zero adaptive predictor. Field names follow the Recommendation
 * (index 1 = one sample ago).
 */
export class SubBand {
  /** Log scale factor (NBL / NBH). */
  nb = 0;
  /** Scale factor (DETL / DETH). */
  det: number;
  /** Signal estimate (SL / SH) for the next sample. */
  s = 0;
  /** Zero-section output (SZL / SZH) for the next sample. */
  sz = 0;
  /** Pole coefficients a1, a2. */
  a1 = 0;
  /** Second pole coefficient. */
  a2 = 0;
  /** Reconstructed signal one and two samples ago (RLT1, RLT2). */
  r1 = 0;
  /** Reconstructed signal two samples ago. */
  r2 = 0;
  /** Partially reconstructed signal one and two samples ago (PLT1, PLT2). */
  p1 = 0;
  /** Partially reconstructed signal two samples ago. */
  p2 = 0;
  /** Zero coefficients b1…b6 at index 1…6 (index 0 unused). */
  readonly b: Int32Array = new Int32Array(7);
  /** Quantized differences one to six samples ago at index 1…6 (index 0 unused). */
  readonly d: Int32Array = new Int32Array(7);
  readonly #initialDet: number;

  /** @param initialDet Reset value of the scale factor: 32 for the lower band, 8 for the higher. */
  constructor(initialDet: number) {
    this.#initialDet = initialDet;
    this.det = initialDet;
  }

  /** Returns to the reset state of the Recommendation. */
  reset(): void {
    this.nb = 0;
    this.det = this.#initialDet;
    this.s =
      this.sz =
      this.a1 =
      this.a2 =
      this.r1 =
      this.r2 =
      this.p1 =
      this.p2 =
        0;
    this.b.fill(0);
    this.d.fill(0);
  }
}

/**
 * SCALEL / SCALEH: the linear scale factor from the log scale factor.
 *
 * @param nb Log scale factor (NBL or NBH).
 * @param shift 8 for the lower band, 10 for the higher.
 * @returns DETL or DETH.
 */
export function scaleFactor(nb: number, shift: number): number {
  const mantissa = ILB[(nb >> 6) & 31]!;
  const exponent = shift - (nb >> 11);
  return (exponent >= 0 ? mantissa >> exponent : mantissa << -exponent) << 2;
}

/**
 * Block 4 of the Recommendation, run once per sub-band sample after the
 * quantized difference is known: reconstruction, pole (UPPOL1/2) and zero
 * (UPZERO) coefficient adaptation, the delay line, and the new estimate
 * (FILTEP, FILTEZ, PREDIC) left in `band.s`.
 *
 * @param band The sub-band state, updated in place.
 * @param dq The quantized difference (DLT for the lower band, DH for the higher).
 */
export function adaptPredictor(band: SubBand, dq: number): void {
  const r0 = saturate(band.s + dq); // RECONS
  const p0 = saturate(band.sz + dq); // PARREC
  const sg0 = p0 >> 15;
  const sg1 = band.p1 >> 15;
  const sg2 = band.p2 >> 15;

  // UPPOL2: a2 leaks by 2^-7 and follows the sign products of p.
  const scaledA1 = saturate(band.a1 * 4);
  let wd2 = sg0 === sg1 ? -scaledA1 : scaledA1;
  if (wd2 > 32767) wd2 = 32767;
  let a2 = (sg0 === sg2 ? 128 : -128) + (wd2 >> 7) + ((band.a2 * 32512) >> 15);
  if (a2 > 12288) a2 = 12288;
  else if (a2 < -12288) a2 = -12288;

  // UPPOL1: a1 leaks by 2^-8, limited by the stability bound 15360 − a2.
  let a1 = saturate((sg0 === sg1 ? 192 : -192) + ((band.a1 * 32640) >> 15));
  const bound = saturate(15360 - a2);
  if (a1 > bound) a1 = bound;
  else if (a1 < -bound) a1 = -bound;

  // UPZERO: each b leaks by 2^-8 and moves ±2^-8 with the sign product of
  // the new and the delayed difference, unless the new difference is zero.
  const b = band.b;
  const d = band.d;
  const gain = dq === 0 ? 0 : 128;
  const sgd = dq >> 15;
  for (let i = 1; i <= 6; i++) {
    b[i] = saturate((sgd === d[i]! >> 15 ? gain : -gain) + ((b[i]! * 32640) >> 15));
  }

  // DELAYA
  for (let i = 6; i > 1; i--) d[i] = d[i - 1]!;
  d[1] = dq;
  band.r2 = band.r1;
  band.r1 = r0;
  band.p2 = band.p1;
  band.p1 = p0;
  band.a1 = a1;
  band.a2 = a2;

  // FILTEP, FILTEZ, PREDIC
  const sp = saturate(
    ((a1 * saturate(band.r1 + band.r1)) >> 15) + ((a2 * saturate(band.r2 + band.r2)) >> 15),
  );
  let sz = 0;
  for (let i = 1; i <= 6; i++) sz += (b[i]! * saturate(d[i]! + d[i]!)) >> 15;
  band.sz = saturate(sz);
  band.s = saturate(sp + band.sz);
}

/**
 * The lower sub-band's adaptation after one code: quantized difference
 * from the 4 most significant bits, LOGSCL, SCALEL, then block 4.
 *
 * @param band Lower sub-band state.
 * @param code The 6-bit lower code ILR.
 */
export function adaptLowerBand(band: SubBand, code: number): void {
  const code4 = code >> 2;
  const dlt = (band.det * QM4[code4]!) >> 15;
  let nb = ((band.nb * 32512) >> 15) + WL[RL42[code4]!]!;
  if (nb < 0) nb = 0;
  else if (nb > NBL_MAX) nb = NBL_MAX;
  band.nb = nb;
  band.det = scaleFactor(nb, 8);
  adaptPredictor(band, dlt);
}

/**
 * The higher sub-band's adaptation after one code: quantized difference,
 * LOGSCH, SCALEH, then block 4.
 *
 * @param band Higher sub-band state.
 * @param code The 2-bit higher code IH.
 * @returns The quantized difference DH (the decoder adds it to SH).
 */
export function adaptHigherBand(band: SubBand, code: number): number {
  const dh = (band.det * QM2[code]!) >> 15;
  let nb = ((band.nb * 32512) >> 15) + WH[RH2[code]!]!;
  if (nb < 0) nb = 0;
  else if (nb > NBH_MAX) nb = NBH_MAX;
  band.nb = nb;
  band.det = scaleFactor(nb, 10);
  adaptPredictor(band, dh);
  return dh;
}
