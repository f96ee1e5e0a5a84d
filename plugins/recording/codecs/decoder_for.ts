/**
 * Picks the decoder of an RTP audio encoding, by the name and clock rate
 * SDP gives it (`a=rtpmap:<pt> <name>/<clock rate>[/<channels>]`) or the
 * static payload type table implies.
 *
 * @module
 */

import type { AudioDecoder } from "./audio_decoder.ts";
import { Dvi4Decoder } from "./dvi4.ts";
import { G722Decoder } from "./g722.ts";
import { PcmaDecoder, PcmuDecoder } from "./g711.ts";
import { L16Decoder } from "./l16.ts";

/** Lowest clock rate accepted (Hz); anything below is not audio we can play. */
export const MIN_CLOCK_RATE = 1000;
/** Highest clock rate accepted (Hz). */
export const MAX_CLOCK_RATE = 384000;
/** Most interleaved channels accepted for PCMU, PCMA and L16. */
export const MAX_CHANNELS = 8;

type Factory = (clockRate: number, channels: number) => AudioDecoder | null;

const FACTORIES: ReadonlyMap<string, Factory> = new Map<string, Factory>([
  ["PCMU", (rate, channels) => new PcmuDecoder(rate, channels)],
  ["PCMA", (rate, channels) => new PcmaDecoder(rate, channels)],
  ["L16", (rate, channels) => new L16Decoder(rate, channels)],
  // RFC 3551 leaves multi-channel DVI4 "for further study".
  ["DVI4", (rate, channels) => channels === 1 ? new Dvi4Decoder(rate) : null],
  // G.722's RTP clock is 8000 by RFC 3551; some peers announce 16000.
  [
    "G722",
    (rate, channels) =>
      channels === 1 && (rate === 8000 || rate === 16000) ? new G722Decoder() : null,
  ],
]);

/** Encoding names {@linkcode decoderFor} can decode (upper case). */
export const DECODABLE_ENCODINGS: readonly string[] = [...FACTORIES.keys()];

/**
 * Makes a fresh decoder for one RTP stream.
 *
 * @param encodingName Encoding name as in SDP `a=rtpmap` (case-insensitive): `PCMU`, `PCMA`,
 *   `G722`, `DVI4`, `L16`.
 * @param clockRate RTP clock rate in Hz (8000 for G.722 even though its audio is 16 kHz).
 * @param channels Channel count from `a=rtpmap` (default 1).
 * @returns A decoder, or `null` when the encoding is not decodable here (G.729, GSM, opus,
 *   AMR, iLBC, telephone-event, ...) or the rate or channel count is out of range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decoderFor } from "./decoder_for.ts";
 *
 * assert.equal(decoderFor("g722", 8000)?.sampleRate, 16000);
 * assert.equal(decoderFor("L16", 44100, 2)?.channels, 2);
 * assert.equal(decoderFor("G729", 8000), null);
 * ```
 */
export function decoderFor(
  encodingName: string,
  clockRate: number,
  channels = 1,
): AudioDecoder | null {
  const factory = FACTORIES.get(String(encodingName).toUpperCase());
  if (factory === undefined) return null;
  if (!Number.isInteger(clockRate) || clockRate < MIN_CLOCK_RATE || clockRate > MAX_CLOCK_RATE) {
    return null;
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) return null;
  return factory(clockRate, channels);
}
