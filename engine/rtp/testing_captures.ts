/**
 * Test support for engine/rtp, so its tests run on the real captures in
 * ../shared/captures without tshark and without the decode layer:
 *
 * - a deliberately small classic-pcap reader that yields the UDP datagrams
 *   of a capture (Ethernet with VLAN tags, Linux SLL, BSD loopback and raw
 *   IP; IPv4 without fragments, IPv6 without extension headers). It is not
 *   the project's pcap reader; pcapng is not supported.
 * - a parser for the tshark `-z rtp,streams` reference reports.
 *
 * @module
 */

/** Directory of the shared reference captures. */
export const CAPTURES_DIR: URL = new URL("../../../shared/captures/", import.meta.url);

/** Whether the shared captures are present. */
export function capturesPresent(): boolean {
  try {
    return Deno.statSync(new URL("MANIFEST.tsv", CAPTURES_DIR)).isFile;
  } catch {
    return false;
  }
}

/** One row of a tshark `-z rtp,streams` report (tshark 4.0 columns). */
export interface RtpStreamsRow {
  /** `src|srcPort|dst|dstPort|ssrc` with the SSRC in decimal. */
  key: string;
  /** Start time, seconds relative to the capture's first frame. */
  start: number;
  /** End time, seconds relative to the capture's first frame. */
  end: number;
  /** Payload names as tshark prints them. */
  payload: string;
  /** Packets. */
  packets: number;
  /** Lost (expected − received), may be negative. */
  lost: number;
  /** Lost percent as printed (one decimal). */
  lostPercent: number;
  /** Min delta, ms. */
  minDelta: number;
  /** Mean delta, ms. */
  meanDelta: number;
  /** Max delta, ms. */
  maxDelta: number;
  /** Min jitter, ms. */
  minJitter: number;
  /** Mean jitter, ms. */
  meanJitter: number;
  /** Max jitter, ms. */
  maxJitter: number;
  /** The "Problems?" column. */
  problems: boolean;
}

const ROW =
  /^\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-F]+)\s+(.+?)\s+(\d+)\s+(-?\d+) \((-?[\d.]+)%\)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*(X?)\s*$/;

/**
 * Parses a tshark `-z rtp,streams` report.
 *
 * @param text The report.
 * @returns Its stream rows.
 */
export function parseRtpStreamsReport(text: string): RtpStreamsRow[] {
  const rows: RtpStreamsRow[] = [];
  for (const line of text.split("\n")) {
    const m = ROW.exec(line);
    if (!m) continue;
    const n = (i: number) => Number(m[i]);
    rows.push({
      key: `${m[3]}|${m[4]}|${m[5]}|${m[6]}|${parseInt(m[7]!, 16)}`,
      start: n(1),
      end: n(2),
      payload: m[8]!,
      packets: n(9),
      lost: n(10),
      lostPercent: n(11),
      minDelta: n(12),
      meanDelta: n(13),
      maxDelta: n(14),
      minJitter: n(15),
      meanJitter: n(16),
      maxJitter: n(17),
      problems: m[18] === "X",
    });
  }
  return rows;
}

/** One UDP datagram of a capture. */
export interface UdpDatagram {
  /** 1-based frame number. */
  frame: number;
  /** Capture time, seconds since the Unix epoch. */
  time: number;
  /** Seconds since the capture's first frame (tshark's `frame.time_relative`). */
  relative: number;
  /** Source address (dotted quad, or IPv6 as 8 hex groups without compression). */
  src: string;
  /** Source port. */
  srcPort: number;
  /** Destination address. */
  dst: string;
  /** Destination port. */
  dstPort: number;
  /** The UDP payload (a view into the file's bytes). */
  payload: Uint8Array;
}

function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function ipv6(view: DataView, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(at + 2 * i).toString(16));
  return groups.join(":");
}

/** Offset of the IP header in a frame of the given link type, or -1. */
function networkOffset(linkType: number, frame: Uint8Array, view: DataView): number {
  switch (linkType) {
    case 1: { // Ethernet, with 802.1Q / QinQ tags
      let at = 12;
      let etherType = view.getUint16(at);
      while ((etherType === 0x8100 || etherType === 0x88a8) && at + 6 <= frame.length) {
        at += 4;
        etherType = view.getUint16(at);
      }
      return etherType === 0x0800 || etherType === 0x86dd ? at + 2 : -1;
    }
    case 113: // Linux cooked capture v1
      return 16;
    case 0: // BSD loopback
      return 4;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return 0;
    default:
      return -1;
  }
}

/**
 * Reads every UDP datagram of a classic pcap file.
 *
 * @param path File to read.
 * @returns The datagrams in file order.
 */
export function readUdpDatagrams(path: string | URL): UdpDatagram[] {
  const file = Deno.readFileSync(path);
  const fileView = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = fileView.getUint32(0, true);
  let little: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = true;
    nanos = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    little = false;
    nanos = magic === 0x4d3cb2a1;
  } else {
    throw new TypeError(`Cannot read ${path}: not a classic pcap file`);
  }
  const linkType = fileView.getUint32(20, little) & 0xffff;
  const out: UdpDatagram[] = [];
  let at = 24;
  let frameNumber = 0;
  let firstTime = -1;
  while (at + 16 <= file.length) {
    const seconds = fileView.getUint32(at, little);
    const fraction = fileView.getUint32(at + 4, little);
    const captured = fileView.getUint32(at + 8, little);
    at += 16;
    if (at + captured > file.length) break;
    frameNumber++;
    const time = seconds + fraction / (nanos ? 1e9 : 1e6);
    if (firstTime < 0) firstTime = time;
    const frame = file.subarray(at, at + captured);
    at += captured;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const ip = networkOffset(linkType, frame, view);
    if (ip < 0 || ip >= frame.length) continue;
    const version = frame[ip]! >>> 4;
    let src: string;
    let dst: string;
    let udp: number;
    let end: number;
    if (version === 4) {
      if (frame[ip + 9] !== 17) continue;
      if ((view.getUint16(ip + 6) & 0x3fff) !== 0) continue; // a fragment
      src = ipv4(frame, ip + 12);
      dst = ipv4(frame, ip + 16);
      end = Math.min(frame.length, ip + view.getUint16(ip + 2));
      udp = ip + (frame[ip]! & 0x0f) * 4;
    } else if (version === 6) {
      if (frame[ip + 6] !== 17) continue;
      src = ipv6(view, ip + 8);
      dst = ipv6(view, ip + 24);
      end = Math.min(frame.length, ip + 40 + view.getUint16(ip + 4));
      udp = ip + 40;
    } else {
      continue;
    }
    if (udp + 8 > end) continue;
    out.push({
      frame: frameNumber,
      time,
      relative: time - firstTime,
      src,
      srcPort: view.getUint16(udp),
      dst,
      dstPort: view.getUint16(udp + 2),
      payload: frame.subarray(udp + 8, Math.min(end, udp + view.getUint16(udp + 4))),
    });
  }
  return out;
}
