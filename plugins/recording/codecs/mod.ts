/**
 * RTP audio decoders for call recording: G.711 µ-law and A-law, G.722,
 * DVI4 (IMA ADPCM) and L16, all behind {@linkcode AudioDecoder}, picked by
 * {@linkcode decoderFor} from the encoding name and clock rate that SDP
 * gives. Every decoder writes into a caller-provided `Int16Array` and
 * allocates nothing per packet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decoderFor } from "./mod.ts";
 *
 * const decoder = decoderFor("PCMU", 8000);
 * assert.ok(decoder !== null);
 * const payload = new Uint8Array(160).fill(0xff); // 20 ms of µ-law silence
 * const pcm = new Int16Array(decoder.samplesFor(payload.length));
 * assert.equal(decoder.decode(payload, pcm), 160);
 * assert.ok(pcm.every((x) => x === 0));
 * assert.equal(decoderFor("G729", 8000), null); // reported as not decodable
 * ```
 *
 * @module
 */

export type { AudioDecoder } from "./audio_decoder.ts";
export { DECODABLE_ENCODINGS, decoderFor } from "./decoder_for.ts";
export { A_LAW_TO_LINEAR, MU_LAW_TO_LINEAR, PcmaDecoder, PcmuDecoder } from "./g711.ts";
export { Dvi4Decoder } from "./dvi4.ts";
export { G722_SAMPLE_RATE, G722Decoder } from "./g722.ts";
export { G722Encoder } from "./g722_encoder.ts";
export { L16Decoder } from "./l16.ts";
