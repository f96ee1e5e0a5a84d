/**
 * The static RTP payload types of RFC 3551 (table 4 and 5), with the RTP
 * clock rate each uses. Dynamic types (96–127) get theirs from SDP `a=rtpmap`.
 *
 * @module
 */

/** Encoding of one payload type. */
export interface PayloadFormat {
  /** Encoding name as SDP writes it (`PCMU`, `DVI4`, `telephone-event`). */
  name: string;
  /** RTP timestamp clock rate in Hz. */
  clockRate: number;
  /** Audio channels (1 for video and unknown). */
  channels: number;
  /** Media kind. */
  media: "audio" | "video";
}

function audio(name: string, clockRate: number, channels = 1): PayloadFormat {
  return { name, clockRate, channels, media: "audio" };
}

function video(name: string): PayloadFormat {
  return { name, clockRate: 90000, channels: 1, media: "video" };
}

/** Static payload types by number (RFC 3551 §6). Index 0–34; holes are unassigned. */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, PayloadFormat> = new Map([
  [0, audio("PCMU", 8000)],
  [3, audio("GSM", 8000)],
  [4, audio("G723", 8000)],
  [5, audio("DVI4", 8000)],
  [6, audio("DVI4", 16000)],
  [7, audio("LPC", 8000)],
  [8, audio("PCMA", 8000)],
  // G.722 samples at 16 kHz but its RTP clock runs at 8 kHz (RFC 3551 §4.5.2).
  [9, audio("G722", 8000)],
  [10, audio("L16", 44100, 2)],
  [11, audio("L16", 44100)],
  [12, audio("QCELP", 8000)],
  [13, audio("CN", 8000)],
  [14, audio("MPA", 90000)],
  [15, audio("G728", 8000)],
  [16, audio("DVI4", 11025)],
  [17, audio("DVI4", 22050)],
  [18, audio("G729", 8000)],
  [25, video("CelB")],
  [26, video("JPEG")],
  [28, video("nv")],
  [31, video("H261")],
  [32, video("MPV")],
  [33, video("MP2T")],
  [34, video("H263")],
]);

/** First payload type of the dynamic range (RFC 3551 §3). */
export const DYNAMIC_PAYLOAD_TYPE_MIN = 96;

/**
 * Looks up a static payload type.
 *
 * @param payloadType RTP payload type, 0–127.
 * @returns Its format, or `undefined` for dynamic and unassigned types.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(staticPayloadFormat(8)?.name, "PCMA");
 * assert.equal(staticPayloadFormat(101), undefined);
 * ```
 */
export function staticPayloadFormat(payloadType: number): PayloadFormat | undefined {
  return STATIC_PAYLOAD_TYPES.get(payloadType);
}
