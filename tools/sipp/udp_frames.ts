/**
 * Small helpers the fixture tools share: load a whole (small) capture into
 * memory through `openCapture`, find the IPv4/UDP payload in a frame, fix a
 * UDP checksum after editing a payload, and write packets back out with
 * {@link PcapWriter}. Meant for the few-hundred-kilobyte captures sipp makes,
 * not for large files.
 *
 * @module
 */

import { openCapture } from "../../engine/capture/open.ts";
import { PcapWriter } from "../../engine/capture/pcap_writer.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "../../engine/capture/link_types.ts";

/** One packet of a loaded capture; `data` is the packet's own copy. */
export interface CapturedPacket {
  /** Capture time, seconds since the Unix epoch. */
  ts: number;
  /** The captured bytes. */
  data: Uint8Array;
  /** Length on the wire. */
  origLen: number;
}

/** A whole capture held in memory. */
export interface LoadedCapture {
  /** LINKTYPE_* shared by every packet. */
  linkType: number;
  /** The packets, in file order. */
  packets: CapturedPacket[];
}

/** Where the UDP datagram sits inside a frame. */
export interface UdpLocation {
  /** Offset of the IPv4 header. */
  ipOffset: number;
  /** Offset of the UDP header. */
  udpOffset: number;
  /** Offset of the UDP payload. */
  payloadOffset: number;
  /** Payload length from the UDP header (cut to the captured bytes). */
  payloadLength: number;
  /** Source address, dotted quad. */
  src: string;
  /** Destination address, dotted quad. */
  dst: string;
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
}

/** The input has more than one link type, which these tools do not handle. */
export class MixedLinkTypeError extends TypeError {
  /** The capture's path. */
  readonly file: string;

  /**
   * @param file The capture's path.
   * @param types The link types met.
   */
  constructor(file: string, types: number[]) {
    super(`Cannot use ${file}: it mixes link types ${types.join(", ")}`);
    this.name = "MixedLinkTypeError";
    this.file = file;
  }
}

/**
 * Reads every packet of a capture (pcap or pcapng) into memory.
 *
 * @param path The capture file.
 * @returns Its link type and packets.
 */
export async function loadCapture(path: string): Promise<LoadedCapture> {
  const opened = await openCapture(path);
  const packets: CapturedPacket[] = [];
  const linkTypes = new Set<number>();
  try {
    await opened.source.run({
      onFrame(frame) {
        linkTypes.add(frame.linkType);
        packets.push({ ts: frame.ts, data: frame.data.slice(), origLen: frame.origLen });
      },
    });
  } finally {
    opened.close();
  }
  if (linkTypes.size > 1) throw new MixedLinkTypeError(path, [...linkTypes]);
  return { linkType: [...linkTypes][0] ?? LINKTYPE_ETHERNET, packets };
}

/**
 * Writes packets to a classic microsecond pcap file.
 *
 * @param path Where to write (replaced if it exists).
 * @param linkType LINKTYPE_* of the packets.
 * @param packets The packets, in the order to write them.
 */
export async function saveCapture(
  path: string,
  linkType: number,
  packets: Iterable<CapturedPacket>,
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file, { linkType });
  try {
    for (const p of packets) await writer.writePacket(p.ts, p.data, p.origLen);
  } finally {
    await writer.close();
  }
}

/** Offset of the network-layer header and its EtherType, by link type. */
function networkLayer(data: Uint8Array, linkType: number): [number, number] | null {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return data.length >= 14 ? [14, v.getUint16(12)] : null;
    case LINKTYPE_LINUX_SLL:
      return data.length >= 16 ? [16, v.getUint16(14)] : null;
    case LINKTYPE_LINUX_SLL2:
      return data.length >= 20 ? [20, v.getUint16(0)] : null;
    case LINKTYPE_NULL:
      return data.length >= 4 ? [4, 0x0800] : null;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      return [0, 0x0800];
    default:
      return null;
  }
}

/**
 * Finds the UDP datagram of an unfragmented IPv4 packet.
 *
 * @param data A captured frame.
 * @param linkType Its LINKTYPE_* (Ethernet, Linux SLL/SLL2, BSD loopback, raw IPv4).
 * @returns Where the datagram is, or `null` when the frame holds none.
 */
export function locateUdp(data: Uint8Array, linkType: number): UdpLocation | null {
  const net = networkLayer(data, linkType);
  if (net === null || net[1] !== 0x0800) return null;
  const ip = net[0];
  if (data.length < ip + 20 || data[ip]! >> 4 !== 4) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerLength = (data[ip]! & 0x0f) * 4;
  const fragment = v.getUint16(ip + 6) & 0x3fff;
  if (data[ip + 9] !== 17 || fragment !== 0 || headerLength < 20) return null;
  const udp = ip + headerLength;
  if (data.length < udp + 8) return null;
  const udpLength = v.getUint16(udp + 4);
  const dotted = (at: number) => Array.from(data.subarray(at, at + 4)).join(".");
  return {
    ipOffset: ip,
    udpOffset: udp,
    payloadOffset: udp + 8,
    payloadLength: Math.max(0, Math.min(udpLength - 8, data.length - udp - 8)),
    src: dotted(ip + 12),
    dst: dotted(ip + 16),
    srcPort: v.getUint16(udp),
    dstPort: v.getUint16(udp + 2),
  };
}

/**
 * Recomputes the UDP checksum of a datagram after its payload was edited.
 * A datagram sent without a checksum (0) keeps none.
 *
 * @param data The frame, changed in place.
 * @param at The datagram's location from {@link locateUdp}.
 */
export function fixUdpChecksum(data: Uint8Array, at: UdpLocation): void {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = v.getUint16(at.udpOffset + 4);
  if (v.getUint16(at.udpOffset + 6) === 0) return; // sent without a checksum
  if (at.udpOffset + length > data.length) return; // snapped: cannot checksum
  v.setUint16(at.udpOffset + 6, 0);
  let sum = 17 + length;
  for (let i = 0; i < 8; i += 2) sum += v.getUint16(at.ipOffset + 12 + i);
  for (let i = 0; i + 1 < length; i += 2) sum += v.getUint16(at.udpOffset + i);
  if (length % 2 === 1) sum += data[at.udpOffset + length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  v.setUint16(at.udpOffset + 6, checksum === 0 ? 0xffff : checksum);
}
