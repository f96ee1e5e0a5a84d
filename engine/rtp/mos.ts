/**
 * Call quality as an R-factor and MOS, estimated with the ITU-T G.107
 * E-model in the simplified form VoIP monitors use.
 *
 * This is an **estimate** for ranking calls, not a measurement: it only
 * knows the codec, the packet loss, the jitter and (if given) the one-way
 * network delay, and assumes G.107's default values for everything else
 * (room noise, echo, loudness), which makes R = 93.2 the ceiling.
 *
 * ```
 * R       = 93.2 − Id − Ie,eff
 * Ie,eff  = Ie + (95 − Ie) × Ppl / (Ppl / BurstR + Bpl)          (G.107 §7.7)
 * Id      = 0.024 d + 0.11 (d − 177.3) H(d − 177.3)              (Cole & Rosenbluth, 2001)
 * d       = one-way delay + jitter buffer (2 × jitter)
 * MOS     = 1 + 0.035 R + R (R − 60)(100 − R) × 7·10⁻⁶           (G.107 Annex B)
 * ```
 *
 * Ie (equipment impairment) and Bpl (packet-loss robustness) come from
 * ITU-T G.113 Appendix I for the codecs it lists; wideband codecs (G.722,
 * opus) are scored on the narrowband scale like G.711 with PLC, and unknown
 * codecs like G.711 too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateMos } from "./mos.ts";
 *
 * const { rFactor, mos } = estimateMos({ codec: "PCMA", lossPercent: 0, jitterMs: 0 });
 * assert.equal(rFactor, 93.2);
 * assert.equal(mos.toFixed(2), "4.41");
 * ```
 *
 * @module
 */

/** The E-model's R with every G.107 default parameter and no impairment. */
export const R_DEFAULT = 93.2;

/** A codec's E-model parameters. */
export interface CodecImpairment {
  /** Equipment impairment factor Ie at zero loss. */
  ie: number;
  /** Packet-loss robustness factor Bpl. */
  bpl: number;
}

const G711_PLC: CodecImpairment = { ie: 0, bpl: 25.1 };

/**
 * Ie and Bpl by lower-case SDP encoding name (ITU-T G.113 Appendix I,
 * tables I.1 and I.3; G.711 with packet-loss concealment).
 */
export const CODEC_IMPAIRMENTS: ReadonlyMap<string, CodecImpairment> = new Map([
  ["pcmu", G711_PLC],
  ["pcma", G711_PLC],
  ["g711", G711_PLC],
  ["g722", G711_PLC],
  ["opus", G711_PLC],
  ["l16", G711_PLC],
  ["g729", { ie: 11, bpl: 19 }],
  ["g729a", { ie: 11, bpl: 19 }],
  ["g723", { ie: 15, bpl: 16.1 }],
  ["g726-32", { ie: 7, bpl: 4.3 }],
  ["g728", { ie: 7, bpl: 4.3 }],
  ["gsm", { ie: 20, bpl: 10 }],
  ["gsm-efr", { ie: 5, bpl: 10 }],
  ["amr", { ie: 5, bpl: 10 }],
  ["ilbc", { ie: 11, bpl: 32 }],
  ["speex", { ie: 11, bpl: 19 }],
]);

/** Inputs of {@linkcode estimateMos}. */
export interface MosInput {
  /** SDP encoding name (`PCMU`, `G729`, …), case-insensitive; unknown names count as G.711. */
  codec: string;
  /** Packet loss in percent (0–100); negative values (duplicates) count as 0. */
  lossPercent: number;
  /** Interarrival jitter in ms; the receiver's jitter buffer is taken as twice this. */
  jitterMs: number;
  /** Known one-way network delay in ms (for example RTCP round trip ÷ 2); 0 when omitted. */
  delayMs?: number;
  /** Burst ratio (G.107 BurstR): 1 for random loss, above 1 for bursty loss. Default 1. */
  burstRatio?: number;
}

/** Result of {@linkcode estimateMos}. */
export interface MosEstimate {
  /** Transmission rating R, 0–93.2 (rounded to 0.01). */
  rFactor: number;
  /** Mean opinion score estimate, 1–4.5, from the rounded R (not rounded itself). */
  mos: number;
}

/**
 * Converts an R-factor to MOS (ITU-T G.107 Annex B), clamped to 1–4.5.
 *
 * @param r Transmission rating.
 * @returns The estimated MOS.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rFactorToMos } from "./mos.ts";
 *
 * assert.equal(rFactorToMos(93.2).toFixed(2), "4.41");
 * assert.equal(rFactorToMos(80).toFixed(3), "4.024");
 * ```
 */
export function rFactorToMos(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  return Math.min(4.5, Math.max(1, mos));
}

/**
 * Delay impairment Id for a one-way mouth-to-ear delay (Cole & Rosenbluth's
 * fit of G.107's Idd for the default echo settings).
 *
 * @param delayMs One-way delay in ms.
 * @returns Id.
 */
export function delayImpairment(delayMs: number): number {
  const d = Math.max(0, delayMs);
  return 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
}

/**
 * Estimates R-factor and MOS for one direction of a call.
 *
 * @param input Codec, loss, jitter and optional delay.
 * @returns The R-factor and the MOS estimate.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateMos } from "./mos.ts";
 *
 * // G.729 with 2 % random loss and 20 ms jitter: Ie,eff = 11 + 84 × 2 / 21 = 19,
 * // d = 40 ms so Id = 0.96, R = 93.2 − 0.96 − 19 = 73.24.
 * const { rFactor, mos } = estimateMos({ codec: "G729", lossPercent: 2, jitterMs: 20 });
 * assert.equal(rFactor, 73.24);
 * assert.equal(mos.toFixed(2), "3.75");
 * ```
 */
export function estimateMos(input: MosInput): MosEstimate {
  const impairment = CODEC_IMPAIRMENTS.get(input.codec.toLowerCase()) ?? G711_PLC;
  const loss = Math.min(
    100,
    Math.max(0, Number.isFinite(input.lossPercent) ? input.lossPercent : 0),
  );
  const burst = input.burstRatio !== undefined && input.burstRatio >= 1 ? input.burstRatio : 1;
  const ieEff = impairment.ie + (95 - impairment.ie) * loss / (loss / burst + impairment.bpl);
  // NaN counts as unknown (0); an infinite jitter or delay drives R to 0.
  const jitter = Number.isNaN(input.jitterMs) ? 0 : Math.max(0, input.jitterMs);
  const known = input.delayMs === undefined || Number.isNaN(input.delayMs) ? 0 : input.delayMs;
  const delay = Math.max(0, known) + 2 * jitter;
  const r = Math.max(0, R_DEFAULT - delayImpairment(delay) - ieEff);
  const rFactor = Math.round(r * 100) / 100;
  return { rFactor, mos: rFactorToMos(rFactor) };
}
