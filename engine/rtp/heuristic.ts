/**
 * Deciding whether an unannounced UDP flow carries RTP.
 *
 * Most RTP streams are announced by SDP; this is for the rest (signalling
 * outside the capture, over TLS, or on a port we did not decode). One
 * {@linkcode RtpFlowHeuristic} per UDP flow (5-tuple) watches its first
 * datagrams and accepts the flow only after N consecutive packets that
 * agree with one another as RTP does:
 *
 * - each is a well-formed RTP version 2 header (CSRC list, extension and
 *   padding inside the datagram) and no larger than an MTU;
 * - payload type static (0–34) or dynamic (96–127): not unassigned, not in
 *   RTCP's range;
 * - same SSRC as the packet before;
 * - sequence number 1 to `maxSequenceStep` ahead of the packet before
 *   (some loss allowed, modulo 2^16);
 * - timestamp not behind the packet before and at most `maxTimestampStep`
 *   ahead (modulo 2^32; equal is fine: video frames, telephone-events).
 *
 * A datagram that is not RTP at all (wrong version, header overrunning the
 * datagram, unassigned payload type, larger than `maxPacketBytes`)
 * rejects the flow at once.
 * A packet that breaks the chain (new SSRC, sequence or timestamp jump)
 * restarts it; after `maxRestarts` restarts the flow is rejected. RTCP
 * packets (RFC 5761 muxing) and STUN messages (ICE keepalives on the media
 * port) are neutral: they neither count nor break the chain. A verdict is
 * final until {@linkcode RtpFlowHeuristic.reset}.
 *
 * How this differs from Wireshark's `rtp.heuristic_rtp` (off by default):
 * Wireshark decides on one datagram — version 2 and an even destination
 * port — and then registers an RTP conversation, so every later datagram
 * of that flow is dissected as RTP whatever it holds. There is no check
 * that SSRC, sequence numbers and timestamps hang together, so any stray
 * datagram whose first two bits happen to be `10` becomes a one-packet
 * "stream": on the fuzzed capture ndpi__fuzz-2006-06-26-2594.pcap tshark
 * reports seven streams where there is one damaged stream, among them SSRC
 * 0xAAAAAAAA with the unassigned payload type 42. We need several coherent
 * packets instead, do not care about port parity (NAT and ICE break the
 * even-port convention of RFC 3550 §11), and reject unassigned payload types.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RtpFlowHeuristic } from "./heuristic.ts";
 *
 * const flow = new RtpFlowHeuristic();
 * const packet = new Uint8Array(172);
 * packet.set([0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
 * let verdict = flow.verdict;
 * for (let i = 0; i < 4; i++) {
 *   packet[3] = i; // sequence number
 *   packet[6] = (160 * i) >> 8; // timestamp
 *   packet[7] = (160 * i) & 0xff;
 *   verdict = flow.push(packet, 0, packet.length);
 * }
 * assert.equal(verdict, "rtp");
 * ```
 *
 * @module
 */

import { decodeRtpHeader, isRtcpPacketType, RtpHeader } from "./rtp_header.ts";

/** Verdict on a flow: still watching, accepted as RTP, or rejected. */
export type RtpVerdict = "undecided" | "rtp" | "not-rtp";

/** Tuning of {@linkcode RtpFlowHeuristic}. */
export interface RtpHeuristicOptions {
  /** Consecutive coherent packets needed to accept a flow (at least 2). Default 4. */
  requiredPackets?: number;
  /** Largest sequence number step between consecutive packets. Default 8. */
  maxSequenceStep?: number;
  /** Largest timestamp step between consecutive packets. Default 2^20 (about 22 s at 48 kHz). */
  maxTimestampStep?: number;
  /** Largest datagram accepted. Default 8192 (20 ms of 48 kHz stereo L16 is 3852 bytes). */
  maxPacketBytes?: number;
  /** Chain restarts tolerated before the flow is rejected. Default 4. */
  maxRestarts?: number;
}

/** STUN magic cookie (RFC 5389 §6): bytes 4–7 of every modern STUN message. */
const STUN_MAGIC_COOKIE = 0x2112a442;

/** Verdicts, shared so that `push` returns constants. */
const UNDECIDED: RtpVerdict = "undecided";
const RTP: RtpVerdict = "rtp";
const NOT_RTP: RtpVerdict = "not-rtp";

/** Whether an RTP payload type is assigned to media: static 0–34 or dynamic 96–127. */
function plausiblePayloadType(payloadType: number): boolean {
  return payloadType <= 34 || payloadType >= 96;
}

/** Per-flow RTP detector; see the module documentation for the rules. */
export class RtpFlowHeuristic {
  #required: number;
  #maxSequenceStep: number;
  #maxTimestampStep: number;
  #maxPacketBytes: number;
  #maxRestarts: number;
  #header = new RtpHeader();

  #verdict: RtpVerdict = UNDECIDED;
  #chain = 0;
  #restarts = 0;
  #ssrc = 0;
  #sequence = 0;
  #timestamp = 0;

  /**
   * @param options Tuning; the defaults suit telephony audio and video.
   */
  constructor(options: RtpHeuristicOptions = {}) {
    this.#required = Math.max(2, options.requiredPackets ?? 4);
    this.#maxSequenceStep = options.maxSequenceStep ?? 8;
    this.#maxTimestampStep = options.maxTimestampStep ?? 0x100000;
    this.#maxPacketBytes = options.maxPacketBytes ?? 8192;
    this.#maxRestarts = options.maxRestarts ?? 4;
  }

  /** The verdict so far. */
  get verdict(): RtpVerdict {
    return this.#verdict;
  }

  /** Coherent packets in the current chain. */
  get chainLength(): number {
    return this.#chain;
  }

  /** Forgets everything: the next datagram starts a new decision. */
  reset(): void {
    this.#verdict = UNDECIDED;
    this.#chain = 0;
    this.#restarts = 0;
  }

  /**
   * Looks at one datagram of the flow. Once the verdict is final, returns it
   * without looking.
   *
   * @param data Buffer holding the UDP payload.
   * @param offset Offset of the payload.
   * @param length Payload length.
   * @returns The verdict after this datagram.
   */
  push(data: Uint8Array, offset: number, length: number): RtpVerdict {
    if (this.#verdict !== UNDECIDED) return this.#verdict;
    if (length >= 2 && offset + 2 <= data.length) {
      const b0 = data[offset]!;
      if (b0 >>> 6 === 2 && isRtcpPacketType(data[offset + 1]!)) return UNDECIDED;
      if (b0 >>> 6 === 0 && length >= 20 && offset + 8 <= data.length) {
        const cookie = ((data[offset + 4]! << 24) | (data[offset + 5]! << 16) |
          (data[offset + 6]! << 8) | data[offset + 7]!) >>> 0;
        if (cookie === STUN_MAGIC_COOKIE) return UNDECIDED;
      }
    }
    const h = this.#header;
    if (
      length > this.#maxPacketBytes || !decodeRtpHeader(data, offset, length, h) ||
      !plausiblePayloadType(h.payloadType)
    ) {
      this.#verdict = NOT_RTP;
      return NOT_RTP;
    }
    if (this.#chain > 0) {
      const sequenceStep = (h.sequence - this.#sequence) & 0xffff;
      const timestampStep = (h.timestamp - this.#timestamp) >>> 0;
      const coherent = h.ssrc === this.#ssrc && sequenceStep >= 1 &&
        sequenceStep <= this.#maxSequenceStep && timestampStep <= this.#maxTimestampStep;
      if (coherent) {
        this.#chain++;
      } else {
        if (++this.#restarts > this.#maxRestarts) {
          this.#verdict = NOT_RTP;
          return NOT_RTP;
        }
        this.#chain = 1;
      }
    } else {
      this.#chain = 1;
    }
    this.#ssrc = h.ssrc;
    this.#sequence = h.sequence;
    this.#timestamp = h.timestamp;
    if (this.#chain >= this.#required) this.#verdict = RTP;
    return this.#verdict;
  }
}
