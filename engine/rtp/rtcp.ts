/**
 * RTCP compound packet decoding (RFC 3550 §6): sender and receiver reports,
 * SDES items, BYE and APP. RTCP is rare next to RTP, so this allocates
 * freely; it still never throws on hostile input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRtcpCompound } from "./rtcp.ts";
 *
 * // An empty receiver report from SSRC 0x01020304.
 * const rr = new Uint8Array([0x80, 201, 0, 1, 1, 2, 3, 4]);
 * const compound = decodeRtcpCompound(rr, 0, rr.length);
 * assert.deepEqual(compound?.kinds, ["rr"]);
 * assert.equal(compound?.ssrc, 0x01020304);
 * ```
 *
 * @module
 */

import type { RtcpKind, RtcpReportBlock } from "../events.ts";

/** RTCP packet type of a sender report. */
export const RTCP_SR = 200;
/** RTCP packet type of a receiver report. */
export const RTCP_RR = 201;
/** RTCP packet type of source description items. */
export const RTCP_SDES = 202;
/** RTCP packet type of a goodbye. */
export const RTCP_BYE = 203;
/** RTCP packet type of an application-defined packet. */
export const RTCP_APP = 204;

/** SDES item type of the canonical name (RFC 3550 §6.5.1). */
export const SDES_CNAME = 1;

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_SECONDS = 2208988800;

/** The sender information block of an SR (RFC 3550 §6.4.1). */
export interface RtcpSenderInfo {
  /** NTP timestamp as seconds since the Unix epoch, fractional. */
  ntpTime: number;
  /** Middle 32 bits of the NTP timestamp (what a receiver echoes as LSR). */
  ntpMiddle: number;
  /** RTP timestamp matching the NTP time. */
  rtpTimestamp: number;
  /** Sender's packet count. */
  packetCount: number;
  /** Sender's payload octet count. */
  octetCount: number;
}

/** One decoded RTCP compound packet. */
export interface RtcpCompound {
  /** SSRC of the sender of the first packet (SR/RR sender, first SDES chunk, first BYE source). */
  ssrc: number;
  /** Kinds of the packets in the compound, in order. */
  kinds: RtcpKind[];
  /** Reception report blocks of every SR and RR, in order. */
  reports: RtcpReportBlock[];
  /** First CNAME found in an SDES chunk, or `null`. */
  cname: string | null;
  /** Sender info of the first SR, when there is one. */
  senderInfo?: RtcpSenderInfo;
  /** SSRCs that said goodbye in BYE packets. */
  byeSsrcs: number[];
  /** Reason text of the first BYE that had one, or `null`. */
  byeReason: string | null;
  /** Four-character names of APP packets, in order. */
  appNames: string[];
  /**
   * Why decoding stopped early (`rtcp.bad-version`, `rtcp.bad-length`,
   * `rtcp.bad-padding`, `rtcp.short-packet` for a body too short for its
   * counts, `rtcp.trailing-bytes` for 1–3 bytes after the last packet), or
   * `null` when the whole buffer decoded. The packets before the fault are kept.
   */
  malformed: string | null;
}

const LATIN1 = new TextDecoder("latin1");
const UTF8 = new TextDecoder("utf-8", { fatal: false });

function u32(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>>
    0;
}

function kindOf(packetType: number): RtcpKind {
  switch (packetType) {
    case RTCP_SR:
      return "sr";
    case RTCP_RR:
      return "rr";
    case RTCP_SDES:
      return "sdes";
    case RTCP_BYE:
      return "bye";
    case RTCP_APP:
      return "app";
    default:
      return "other";
  }
}

/**
 * Reads `count` report blocks of 24 bytes each (RFC 3550 §6.4.1).
 */
function readReportBlocks(
  data: Uint8Array,
  at: number,
  end: number,
  count: number,
  reports: RtcpReportBlock[],
): boolean {
  if (at + count * 24 > end) return false;
  for (let i = 0; i < count; i++, at += 24) {
    let cumulative = (data[at + 5]! << 16) | (data[at + 6]! << 8) | data[at + 7]!;
    if (cumulative & 0x800000) cumulative -= 0x1000000;
    reports.push({
      ssrc: u32(data, at),
      fractionLost: data[at + 4]! / 256,
      cumulativeLost: cumulative,
      highestSeq: u32(data, at + 8),
      jitter: u32(data, at + 12),
    });
  }
  return true;
}

/** Reads the SDES chunks of the packet starting at `base`; notes the first CNAME and chunk SSRC. */
function readSdes(
  data: Uint8Array,
  base: number,
  at: number,
  end: number,
  count: number,
  found: { cname: string | null; firstSsrc: number | null },
): boolean {
  for (let chunk = 0; chunk < count; chunk++) {
    if (at + 4 > end) return false;
    const ssrc = u32(data, at);
    if (found.firstSsrc === null) found.firstSsrc = ssrc;
    at += 4;
    // Items until a null item type; then pad to the next 32-bit boundary.
    for (;;) {
      if (at >= end) return false;
      const itemType = data[at]!;
      if (itemType === 0) {
        at = base + ((at - base + 4) & ~3);
        break;
      }
      if (at + 2 > end) return false;
      const itemLength = data[at + 1]!;
      if (at + 2 + itemLength > end) return false;
      if (itemType === SDES_CNAME && found.cname === null) {
        found.cname = UTF8.decode(data.subarray(at + 2, at + 2 + itemLength));
      }
      at += 2 + itemLength;
    }
  }
  return at <= end;
}

/**
 * Decodes an RTCP compound packet at `data[offset .. offset + length)`.
 *
 * Returns `null` when the first packet does not look like RTCP at all
 * (version other than 2, packet type outside 192–223, or shorter than its
 * 4-byte header). Otherwise it walks the packets by their length words and
 * returns what it decoded; a length running past the end, a wrong version in
 * a later packet, a bad padding count or a body too short for its counts
 * stops the walk and is named in `malformed`. Reduced-size RTCP (RFC 5506,
 * not starting with SR/RR) is accepted.
 *
 * @param data Buffer holding the packet.
 * @param offset Offset of the first RTCP byte.
 * @param length Bytes of RTCP; clipped to the buffer.
 * @returns The decoded compound, or `null` when it is not RTCP.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRtcpCompound } from "./rtcp.ts";
 *
 * // An RR whose length word claims 3 words but the packet is 8 bytes long.
 * const bad = new Uint8Array([0x80, 201, 0, 3, 1, 2, 3, 4]);
 * assert.equal(decodeRtcpCompound(bad, 0, bad.length)?.malformed, "rtcp.bad-length");
 * ```
 */
export function decodeRtcpCompound(
  data: Uint8Array,
  offset: number,
  length: number,
): RtcpCompound | null {
  if (offset < 0 || offset > data.length) return null;
  const end = Math.min(data.length, offset + Math.max(0, length));
  if (end - offset < 4) return null;
  if (data[offset]! >>> 6 !== 2) return null;
  const firstType = data[offset + 1]!;
  if (firstType < 192 || firstType > 223) return null;

  const result: RtcpCompound = {
    ssrc: 0,
    kinds: [],
    reports: [],
    cname: null,
    byeSsrcs: [],
    byeReason: null,
    appNames: [],
    malformed: null,
  };
  let ssrcSet = false;
  const sdesFound: { cname: string | null; firstSsrc: number | null } = {
    cname: null,
    firstSsrc: null,
  };

  let at = offset;
  while (at < end) {
    if (end - at < 4) {
      // Seen in the wild: a UDP length a few bytes longer than the compound.
      result.malformed = "rtcp.trailing-bytes";
      break;
    }
    const b0 = data[at]!;
    if (b0 >>> 6 !== 2) {
      result.malformed = "rtcp.bad-version";
      break;
    }
    const count = b0 & 0x1f;
    const packetType = data[at + 1]!;
    const packetEnd = at + 4 + 4 * ((data[at + 2]! << 8) | data[at + 3]!);
    if (packetEnd > end) {
      result.malformed = "rtcp.bad-length";
      break;
    }
    let bodyEnd = packetEnd;
    if (b0 & 0x20) {
      // Padding is only allowed on the last packet of a compound (RFC 3550 §6.4.1).
      const pad = data[packetEnd - 1]!;
      if (pad === 0 || packetEnd !== end || at + 4 + pad > packetEnd) {
        result.malformed = "rtcp.bad-padding";
        break;
      }
      bodyEnd = packetEnd - pad;
    }
    result.kinds.push(kindOf(packetType));
    const body = at + 4;
    let ok = true;
    switch (packetType) {
      case RTCP_SR: {
        if (body + 24 > bodyEnd) {
          ok = false;
          break;
        }
        if (!ssrcSet) {
          result.ssrc = u32(data, body);
          ssrcSet = true;
        }
        if (result.senderInfo === undefined) {
          const ntpSeconds = u32(data, body + 4);
          const ntpFraction = u32(data, body + 8);
          result.senderInfo = {
            ntpTime: ntpSeconds - NTP_UNIX_OFFSET_SECONDS + ntpFraction / 0x100000000,
            ntpMiddle: (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0,
            rtpTimestamp: u32(data, body + 12),
            packetCount: u32(data, body + 16),
            octetCount: u32(data, body + 20),
          };
        }
        ok = readReportBlocks(data, body + 24, bodyEnd, count, result.reports);
        break;
      }
      case RTCP_RR: {
        if (body + 4 > bodyEnd) {
          ok = false;
          break;
        }
        if (!ssrcSet) {
          result.ssrc = u32(data, body);
          ssrcSet = true;
        }
        ok = readReportBlocks(data, body + 4, bodyEnd, count, result.reports);
        break;
      }
      case RTCP_SDES: {
        ok = readSdes(data, at, body, bodyEnd, count, sdesFound);
        if (sdesFound.firstSsrc !== null && !ssrcSet) {
          result.ssrc = sdesFound.firstSsrc;
          ssrcSet = true;
        }
        break;
      }
      case RTCP_BYE: {
        if (body + 4 * count > bodyEnd) {
          ok = false;
          break;
        }
        for (let i = 0; i < count; i++) result.byeSsrcs.push(u32(data, body + 4 * i));
        if (count > 0 && !ssrcSet) {
          result.ssrc = result.byeSsrcs[result.byeSsrcs.length - count]!;
          ssrcSet = true;
        }
        const reasonAt = body + 4 * count;
        if (reasonAt < bodyEnd) {
          const reasonLength = data[reasonAt]!;
          if (reasonAt + 1 + reasonLength > bodyEnd) {
            ok = false;
            break;
          }
          if (result.byeReason === null) {
            result.byeReason = UTF8.decode(
              data.subarray(reasonAt + 1, reasonAt + 1 + reasonLength),
            );
          }
        }
        break;
      }
      case RTCP_APP: {
        if (body + 8 > bodyEnd) {
          ok = false;
          break;
        }
        if (!ssrcSet) {
          result.ssrc = u32(data, body);
          ssrcSet = true;
        }
        result.appNames.push(LATIN1.decode(data.subarray(body + 4, body + 8)));
        break;
      }
      default: {
        // Feedback (RTCP-FB 205/206), XR (207) and others: take the sender SSRC.
        if (!ssrcSet && body + 4 <= bodyEnd) {
          result.ssrc = u32(data, body);
          ssrcSet = true;
        }
      }
    }
    if (!ok) {
      result.malformed = "rtcp.short-packet";
      break;
    }
    at = packetEnd;
  }
  result.cname = sdesFound.cname;
  return result;
}
