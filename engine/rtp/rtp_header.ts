/**
 * RTP fixed header decoding (RFC 3550 §5.1) into a reused object, for the
 * per-packet fast path: no allocation, no exceptions, numbers only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRtpHeader, RtpHeader } from "./rtp_header.ts";
 *
 * const packet = new Uint8Array([0x80, 0x08, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef, 0xd5]);
 * const header = new RtpHeader();
 * assert.equal(decodeRtpHeader(packet, 0, packet.length, header), true);
 * assert.equal(header.payloadType, 8);
 * assert.equal(header.ssrc, 0xdeadbeef);
 * assert.equal(header.payloadLength, 1);
 * ```
 *
 * @module
 */

/** Size of the RTP fixed header in bytes (RFC 3550 §5.1). */
export const RTP_FIXED_HEADER_BYTES = 12;

/** The only RTP version in use (RFC 3550). */
export const RTP_VERSION = 2;

/** Lowest RTCP packet type (RFC 5761 §4: 192–223 are reserved for RTCP when muxed). */
export const RTCP_PACKET_TYPE_MIN = 192;

/** Highest RTCP packet type of the RFC 5761 demultiplexing range. */
export const RTCP_PACKET_TYPE_MAX = 223;

/**
 * One decoded RTP header. Create one per decoding loop and pass it to
 * {@linkcode decodeRtpHeader} again and again; every field is overwritten on
 * success. Offsets are absolute indexes into the buffer given to the decoder.
 */
export class RtpHeader {
  /** Version field (always 2 after a successful decode). */
  version = 0;
  /** P bit: the packet ends with padding whose last byte is the padding count. */
  padding = false;
  /** X bit: a header extension follows the CSRC list. */
  extension = false;
  /** CC field: number of CSRC identifiers, 0–15. */
  csrcCount = 0;
  /** M bit; its meaning is profile specific (talkspurt start for audio). */
  marker = false;
  /** PT field, 0–127. */
  payloadType = 0;
  /** Sequence number, 0–65535. */
  sequence = 0;
  /** RTP timestamp as an unsigned 32-bit number. */
  timestamp = 0;
  /** SSRC as an unsigned 32-bit number. */
  ssrc = 0;
  /** Header bytes: 12 + 4 × CSRC count + the extension (4 + 4 × its length word), if any. */
  headerLength = 0;
  /** Absolute offset of the first payload byte. */
  payloadOffset = 0;
  /** Payload bytes, without the padding. */
  payloadLength = 0;
  /** Padding bytes at the end of the packet (including the count byte), 0 without the P bit. */
  paddingLength = 0;
  /** "Defined by profile" word of the header extension (0xBEDE for RFC 8285 one-byte form), 0 without one. */
  extensionProfile = 0;
  /** Absolute offset of the extension data (after its 4-byte header), 0 without one. */
  extensionOffset = 0;
  /** Bytes of extension data (4 × the length word), 0 without one. */
  extensionLength = 0;
}

/**
 * Decodes the RTP header at `data[offset .. offset + length)` into `out`.
 *
 * Rejects anything that is not a well-formed RTP version 2 packet: shorter
 * than 12 bytes, another version, a CSRC list or header extension running
 * past the end, or a padding count of 0 or larger than what follows the
 * header. It does not look at the payload type: use
 * {@linkcode isRtcpPacketType} on the second byte first when RTP and RTCP
 * share a port (RFC 5761).
 *
 * @param data Buffer holding the packet.
 * @param offset Offset of the first RTP byte in `data`.
 * @param length Bytes of RTP (header, payload and padding); clipped to the buffer.
 * @param out Reused header object; partly overwritten even on failure.
 * @returns `true` when `out` now holds a valid header.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRtpHeader, RtpHeader } from "./rtp_header.ts";
 *
 * const header = new RtpHeader();
 * // Version 1 is not RTP any more.
 * assert.equal(decodeRtpHeader(new Uint8Array(12).fill(0x40), 0, 12, header), false);
 * ```
 */
export function decodeRtpHeader(
  data: Uint8Array,
  offset: number,
  length: number,
  out: RtpHeader,
): boolean {
  const available = data.length - offset;
  if (offset < 0 || available < RTP_FIXED_HEADER_BYTES) return false;
  if (length > available) length = available;
  if (length < RTP_FIXED_HEADER_BYTES) return false;
  const b0 = data[offset]!;
  if (b0 >>> 6 !== RTP_VERSION) return false;
  const b1 = data[offset + 1]!;
  const csrcCount = b0 & 0x0f;
  let headerLength = RTP_FIXED_HEADER_BYTES + 4 * csrcCount;
  if (headerLength > length) return false;

  out.version = RTP_VERSION;
  out.padding = (b0 & 0x20) !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.csrcCount = csrcCount;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequence = (data[offset + 2]! << 8) | data[offset + 3]!;
  out.timestamp = ((data[offset + 4]! << 24) | (data[offset + 5]! << 16) |
    (data[offset + 6]! << 8) | data[offset + 7]!) >>> 0;
  out.ssrc = ((data[offset + 8]! << 24) | (data[offset + 9]! << 16) |
    (data[offset + 10]! << 8) | data[offset + 11]!) >>> 0;

  if (out.extension) {
    // RFC 3550 §5.3.1: 16-bit profile word, 16-bit length in 32-bit words
    // (not counting this 4-byte extension header).
    if (headerLength + 4 > length) return false;
    const at = offset + headerLength;
    out.extensionProfile = (data[at]! << 8) | data[at + 1]!;
    const words = (data[at + 2]! << 8) | data[at + 3]!;
    out.extensionOffset = at + 4;
    out.extensionLength = words * 4;
    headerLength += 4 + words * 4;
    if (headerLength > length) return false;
  } else {
    out.extensionProfile = 0;
    out.extensionOffset = 0;
    out.extensionLength = 0;
  }

  let paddingLength = 0;
  if (out.padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    paddingLength = data[offset + length - 1]!;
    if (paddingLength === 0 || headerLength + paddingLength > length) return false;
  }
  out.headerLength = headerLength;
  out.paddingLength = paddingLength;
  out.payloadOffset = offset + headerLength;
  out.payloadLength = length - headerLength - paddingLength;
  return true;
}

/**
 * Tells RTCP from RTP on a shared port (RFC 5761 §4): RTCP packet types
 * (SR 200, RR 201, SDES 202, BYE 203, APP 204, and the rest of 192–223)
 * sit where an RTP packet would have the marker bit set and payload type
 * 64–95, which RTP must not use when multiplexed.
 *
 * @param secondByte The packet's second byte (RTP M+PT, RTCP packet type).
 * @returns `true` when the packet is RTCP.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRtcpPacketType } from "./rtp_header.ts";
 *
 * assert.equal(isRtcpPacketType(200), true); // SR
 * assert.equal(isRtcpPacketType(0x80 | 8), false); // PCMA with the marker bit
 * ```
 */
export function isRtcpPacketType(secondByte: number): boolean {
  return secondByte >= RTCP_PACKET_TYPE_MIN && secondByte <= RTCP_PACKET_TYPE_MAX;
}
