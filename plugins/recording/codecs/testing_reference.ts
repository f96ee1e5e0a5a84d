/**
 * The reference audio of the codec tests. The lundgrel/sipp-scenarios and
 * Red-Rabbit captures in ../shared/captures send one and the same
 * recording in several encodings; its L16 streams are the uncompressed
 * original, so a decoded PCMU, PCMA or DVI4 stream of the sibling captures
 * can be measured against them sample for sample (they line up at lag 0).
 *
 * @module
 */

import { channelOf } from "../tone_analysis.ts";
import { L16Decoder } from "./l16.ts";
import { decodeAll, rtpPayloads } from "./testing_rtp.ts";

/** The capture holding the L16 originals. */
export const L16_CAPTURE = "lundgrel__sip-rtp-l16.pcap";

/**
 * The original recording at 8 or 16 kHz: the left channel of the
 * `L16/8000/2` or `L16/16000/2` stream (both channels carry the same audio).
 *
 * @param sampleRate 8000 or 16000.
 * @returns Mono samples, 8.5 s.
 */
export function referenceAudio(sampleRate: 8000 | 16000): Int16Array {
  const ssrc = sampleRate === 8000 ? 0x043da974 : 0x043ffa0c;
  const packets = rtpPayloads(L16_CAPTURE, { ssrc, payloadType: 99 });
  return channelOf(decodeAll(new L16Decoder(sampleRate, 2), packets), 0, 2);
}
