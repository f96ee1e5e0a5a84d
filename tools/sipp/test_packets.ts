/**
 * Builds small Ethernet/IPv4/UDP/RTP frames for the fixture tools' tests.
 *
 * @module
 */

import type { CapturedPacket } from "./udp_frames.ts";

/** Fields of one test RTP packet. */
export interface TestRtp {
  /** Source address, dotted quad. */
  src: string;
  /** Source port. */
  srcPort: number;
  /** Destination address, dotted quad. */
  dst: string;
  /** Destination port. */
  dstPort: number;
  /** Sequence number. */
  seq: number;
  /** RTP timestamp. */
  timestamp: number;
  /** SSRC. */
  ssrc: number;
  /** Payload type (default 8). */
  payloadType?: number;
  /** Payload bytes (default 160 bytes of 0xd5). */
  payloadLength?: number;
}

function quad(text: string): number[] {
  return text.split(".").map(Number);
}

/**
 * Makes an Ethernet frame holding one RTP packet, with a valid UDP checksum.
 * (The IP header checksum is left 0: no reader here checks it.)
 *
 * @param rtp The packet's fields.
 * @returns The frame.
 */
export function rtpFrame(rtp: TestRtp): Uint8Array {
  const payloadLength = rtp.payloadLength ?? 160;
  const udpLength = 8 + 12 + payloadLength;
  const frame = new Uint8Array(14 + 20 + udpLength);
  const v = new DataView(frame.buffer);
  v.setUint16(12, 0x0800);
  frame[14] = 0x45;
  v.setUint16(16, 20 + udpLength);
  frame[22] = 64;
  frame[23] = 17;
  frame.set(quad(rtp.src), 26);
  frame.set(quad(rtp.dst), 30);
  v.setUint16(34, rtp.srcPort);
  v.setUint16(36, rtp.dstPort);
  v.setUint16(38, udpLength);
  frame[42] = 0x80;
  frame[43] = rtp.payloadType ?? 8;
  v.setUint16(44, rtp.seq);
  v.setUint32(46, rtp.timestamp);
  v.setUint32(50, rtp.ssrc);
  frame.fill(0xd5, 54);
  let sum = 17 + udpLength;
  for (let i = 26; i < 34; i += 2) sum += v.getUint16(i);
  for (let i = 0; i + 1 < udpLength; i += 2) sum += v.getUint16(34 + i);
  if (udpLength % 2 === 1) sum += frame[34 + udpLength - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(40, (~sum & 0xffff) || 0xffff);
  return frame;
}

/**
 * Makes a frame carrying a SIP-looking UDP datagram on port 5060.
 *
 * @param text The datagram's text.
 * @returns The frame.
 */
export function sipFrame(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const frame = rtpFrame({
    src: "127.0.0.10",
    srcPort: 5060,
    dst: "127.0.0.20",
    dstPort: 5060,
    seq: 0,
    timestamp: 0,
    ssrc: 0,
    payloadLength: body.length - 12,
  });
  frame.set(body, 42);
  new DataView(frame.buffer).setUint16(40, 0); // no UDP checksum
  return frame;
}

/**
 * Makes a stream of `count` RTP packets, 20 ms apart.
 *
 * @param count Packets.
 * @param base First packet's fields; seq +1 and timestamp +160 per packet.
 * @param startTs Capture time of the first packet.
 * @returns The packets.
 */
export function rtpStream(count: number, base: TestRtp, startTs: number): CapturedPacket[] {
  return Array.from({ length: count }, (_, i) => {
    const data = rtpFrame({
      ...base,
      seq: (base.seq + i) & 0xffff,
      timestamp: base.timestamp + 160 * i,
    });
    return { ts: startTs + i * 0.02, data, origLen: data.length };
  });
}

/**
 * Checks a frame's UDP checksum as a receiver would.
 *
 * @param frame An Ethernet/IPv4/UDP frame with a 20-byte IP header.
 * @returns Whether the checksum verifies (or is absent).
 */
export function udpChecksumOk(frame: Uint8Array): boolean {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (v.getUint16(40) === 0) return true;
  const length = v.getUint16(38);
  let sum = 17 + length;
  for (let i = 26; i < 34; i += 2) sum += v.getUint16(i);
  for (let i = 0; i + 1 < length; i += 2) sum += v.getUint16(34 + i);
  if (length % 2 === 1) sum += frame[34 + length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}
