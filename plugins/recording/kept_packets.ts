/**
 * Keeps the packets of a stream whose codec cannot be decoded here (G.729,
 * GSM, opus...) in a pcap file of that stream, so nothing of the call is
 * lost: the original frames as captured, copied while they are valid. A
 * packet the analyzer hands over without its own frame (held back while
 * the RTP heuristic decided, or reassembled from IP fragments) is wrapped
 * in a fresh UDP/IP frame of the capture's link type.
 *
 * @module
 */

import type { Frame } from "../../engine/capture/frame.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "../../engine/capture/link_types.ts";
import { PcapWriter } from "../../engine/capture/pcap_writer.ts";
import { IP_PROTO_UDP, parseIPv4, parseIPv6 } from "../../engine/decode/packet.ts";
import type { Endpoint } from "../../engine/events.ts";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/** What a closed {@linkcode PacketKeeper} wrote. */
export interface KeptSummary {
  /** The pcap file. */
  path: string;
  /** Packets written. */
  packets: number;
  /** Packets that could not be written (no frame and a link type that cannot be rebuilt). */
  missed: number;
  /** The first write error, if writing failed. */
  error: string | null;
}

/** Writes one stream's packets, as captured, to a pcap file. */
export class PacketKeeper {
  readonly #path: string;
  #writer: PcapWriter | null = null;
  #linkType = -1;
  #chain: Promise<void> = Promise.resolve();
  #packets = 0;
  #missed = 0;
  #error: string | null = null;
  #summary: Promise<KeptSummary> | null = null;

  /** @param path Where the pcap goes (created with the first packet). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Packets taken so far. */
  get packets(): number {
    return this.#packets;
  }

  /**
   * Keeps one RTP packet: the frame it came in when `frame` holds it, else a
   * rebuilt UDP frame.
   *
   * @param frame The frame being processed (or `null`).
   * @param bytes Buffer holding the RTP packet.
   * @param rtpStart Offset of the RTP packet in `bytes`.
   * @param rtpEnd End of the RTP packet in `bytes`.
   * @param arrival Capture time of the packet.
   * @param src Its sender.
   * @param dst Its receiver.
   */
  keep(
    frame: Frame | null,
    bytes: Uint8Array,
    rtpStart: number,
    rtpEnd: number,
    arrival: number,
    src: Endpoint,
    dst: Endpoint,
  ): void {
    if (this.#summary !== null) return;
    if (this.#writer === null) {
      this.#linkType = frame?.linkType ?? LINKTYPE_RAW;
      const file = Deno.openSync(this.#path, { write: true, create: true, truncate: true });
      this.#writer = new PcapWriter(file, { linkType: this.#linkType });
    }
    const own = frame !== null && frame.bytes === bytes && frame.ts === arrival &&
      rtpStart >= frame.start && rtpEnd <= frame.end;
    let data: Uint8Array | null;
    let origLen: number;
    if (own) {
      data = frame.bytes.slice(frame.start, frame.end);
      origLen = Math.max(frame.origLen, data.length);
    } else {
      data = udpFrame(this.#linkType, src, dst, bytes.subarray(rtpStart, rtpEnd));
      origLen = data?.length ?? 0;
    }
    if (data === null) {
      this.#missed++;
      return;
    }
    this.#packets++;
    const writer = this.#writer;
    const copy = data;
    this.#chain = this.#chain.then(() => writer.writePacket(arrival, copy, origLen)).catch(
      (error) => {
        this.#error ??= error instanceof Error ? error.message : String(error);
      },
    );
  }

  /**
   * Writes what is pending and closes the file. Later calls return the same result.
   *
   * @returns What was written.
   */
  close(): Promise<KeptSummary> {
    this.#summary ??= this.#finish();
    return this.#summary;
  }

  async #finish(): Promise<KeptSummary> {
    await this.#chain;
    try {
      await this.#writer?.close();
    } catch (error) {
      this.#error ??= error instanceof Error ? error.message : String(error);
    }
    return { path: this.#path, packets: this.#packets, missed: this.#missed, error: this.#error };
  }
}

/**
 * Builds a frame of a link type around a UDP datagram (IPv4 with no UDP
 * checksum, IPv6 with one), for packets that come without their frame.
 *
 * @param linkType LINKTYPE_* of the file: Ethernet, raw IP, IPv4, IPv6, BSD loopback, SLL, SLL2.
 * @param src Sender address and port.
 * @param dst Receiver address and port.
 * @param payload The UDP payload.
 * @returns The frame, or `null` for another link type, unparsable or mixed-family addresses.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const frame = udpFrame(1, { ip: "10.0.0.1", port: 4000 }, { ip: "10.0.0.2", port: 5000 }, new Uint8Array(12));
 * assert.equal(frame?.length, 14 + 20 + 8 + 12);
 * assert.equal(frame?.[14], 0x45);
 * ```
 */
export function udpFrame(
  linkType: number,
  src: Endpoint,
  dst: Endpoint,
  payload: Uint8Array,
): Uint8Array | null {
  const ip = ipDatagram(src, dst, payload);
  if (ip === null) return null;
  const v6 = (ip[0]! >> 4) === 6;
  const ethertype = v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  let header: Uint8Array;
  switch (linkType) {
    case LINKTYPE_RAW:
      return ip;
    case LINKTYPE_IPV4:
      return v6 ? null : ip;
    case LINKTYPE_IPV6:
      return v6 ? ip : null;
    case LINKTYPE_ETHERNET:
      header = new Uint8Array(14);
      header[12] = ethertype >> 8;
      header[13] = ethertype & 0xff;
      break;
    case LINKTYPE_NULL:
      // Address family in the writer's (little-endian) byte order: AF_INET 2, AF_INET6 24 (BSD).
      header = new Uint8Array([v6 ? 24 : 2, 0, 0, 0]);
      break;
    case LINKTYPE_LINUX_SLL:
      header = new Uint8Array(16);
      header[3] = 1; // ARPHRD_ETHER
      header[14] = ethertype >> 8;
      header[15] = ethertype & 0xff;
      break;
    case LINKTYPE_LINUX_SLL2:
      header = new Uint8Array(20);
      header[0] = ethertype >> 8;
      header[1] = ethertype & 0xff;
      header[9] = 1; // ARPHRD_ETHER
      break;
    default:
      return null;
  }
  const frame = new Uint8Array(header.length + ip.length);
  frame.set(header);
  frame.set(ip, header.length);
  return frame;
}

function ipDatagram(src: Endpoint, dst: Endpoint, payload: Uint8Array): Uint8Array | null {
  const udpLength = 8 + payload.length;
  const a4 = parseIPv4(src.ip);
  const b4 = parseIPv4(dst.ip);
  if (a4 !== null && b4 !== null) {
    if (20 + udpLength > 0xffff) return null;
    const out = new Uint8Array(20 + udpLength);
    const v = new DataView(out.buffer);
    out[0] = 0x45;
    v.setUint16(2, out.length);
    out[8] = 64;
    out[9] = IP_PROTO_UDP;
    v.setUint32(12, a4);
    v.setUint32(16, b4);
    v.setUint16(10, checksum(out.subarray(0, 20), 0));
    udp(out, 20, src.port, dst.port, payload);
    return out;
  }
  const a6 = a4 === null ? parseIPv6(src.ip) : null;
  const b6 = b4 === null ? parseIPv6(dst.ip) : null;
  if (a6 === null || b6 === null || udpLength > 0xffff) return null;
  const out = new Uint8Array(40 + udpLength);
  const v = new DataView(out.buffer);
  out[0] = 0x60;
  v.setUint16(4, udpLength);
  out[6] = IP_PROTO_UDP;
  out[7] = 64;
  out.set(a6, 8);
  out.set(b6, 24);
  udp(out, 40, src.port, dst.port, payload);
  // RFC 8200 §8.1: the pseudo-header is the addresses, the UDP length and the next header.
  let sum = sum16(out.subarray(8, 40), 0);
  sum += udpLength + IP_PROTO_UDP;
  const c = checksum(out.subarray(40), sum);
  v.setUint16(46, c === 0 ? 0xffff : c);
  return out;
}

function udp(out: Uint8Array, at: number, srcPort: number, dstPort: number, payload: Uint8Array) {
  const v = new DataView(out.buffer, out.byteOffset);
  v.setUint16(at, srcPort);
  v.setUint16(at + 2, dstPort);
  v.setUint16(at + 4, 8 + payload.length);
  out.set(payload, at + 8);
}

function sum16(data: Uint8Array, initial: number): number {
  let sum = initial;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length % 2 === 1) sum += data[data.length - 1]! << 8;
  return sum;
}

function checksum(data: Uint8Array, initial: number): number {
  let sum = sum16(data, initial);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
