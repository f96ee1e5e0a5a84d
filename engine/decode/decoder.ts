/**
 * Frame decoder: link layer → IP (with fragment reassembly and tunnels) →
 * UDP, TCP or SCTP. Dispatch is by table (link type, then ethertype, then
 * IP protocol); every layer reads the frame's bytes in place.
 *
 * Link types: Ethernet (802.1Q, QinQ, PPPoE, MPLS), Linux SLL and SLL2, raw
 * IP (101, 12, 14, 228, 229), BSD null and OpenBSD loop, PPP. Tunnels: GRE
 * (with ERSPAN I/II/III, transparent Ethernet, PPP), IP-in-IP and IPv6-in-IP,
 * GTP-U and VXLAN.
 *
 * @module
 */

import type { AnomalyLayer } from "../events.ts";
import type { Frame } from "../capture/frame.ts";
import * as LT from "../capture/link_types.ts";
import { type FragmentLimits, FragmentReassembler } from "./fragments.ts";
import { SctpReassembler } from "./sctp.ts";
import { DecodedPacket, IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP } from "./packet.ts";

/** Receives what the decoder finds. */
export interface DecodeHandler {
  /** A transport payload; `packet` is reused for the next one. */
  onPacket(packet: DecodedPacket): void;
  /** Something malformed, with the layer that found it. */
  onAnomaly(layer: AnomalyLayer, reason: string, detail: string): void;
}

/** Counts of what the decoder saw, beyond the payloads it delivered. */
export interface DecodeCounters {
  /** Frames with an IPv4 packet (outermost). */
  ipv4: number;
  /** Frames with an IPv6 packet (outermost). */
  ipv6: number;
  /** Frames that carry no IP (ARP, LLDP, STP, ...): not anomalies, just not ours. */
  nonIp: number;
  /** IP packets of protocols other than UDP, TCP and SCTP (ICMP, ESP, ...). */
  otherProtocol: number;
  /** IP fragments seen. */
  fragments: number;
  /** Datagrams rebuilt from fragments. */
  reassembled: number;
  /** Tunnel headers peeled off. */
  tunnelled: number;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const ETH_PPPOE_SESSION = 0x8864;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MULTICAST = 0x8848;
const GRE_TRANSPARENT_ETHERNET = 0x6558;
const GRE_ERSPAN_2 = 0x88be;
const GRE_ERSPAN_3 = 0x22eb;
const GRE_PPP = 0x880b;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const GTP_U_PORT = 2152;
const VXLAN_PORT = 4789;
/** Deepest nesting of tunnels followed; guards against crafted loops. */
const MAX_TUNNEL_DEPTH = 4;

/** Decodes frames into transport payloads. */
export class PacketDecoder {
  /** The reused packet handed to `onPacket`. */
  readonly packet: DecodedPacket = new DecodedPacket();
  /** What was seen. */
  readonly counters: DecodeCounters = {
    ipv4: 0,
    ipv6: 0,
    nonIp: 0,
    otherProtocol: 0,
    fragments: 0,
    reassembled: 0,
    tunnelled: 0,
  };
  readonly #handler: DecodeHandler;
  readonly #fragments: FragmentReassembler;
  readonly #sctpMessages = new SctpReassembler();
  #depth = 0;
  #ipSeen = false;

  /**
   * @param handler Receives payloads and anomalies.
   * @param fragmentLimits Timeouts and caps of fragment reassembly.
   */
  constructor(handler: DecodeHandler, fragmentLimits: Partial<FragmentLimits> = {}) {
    this.#handler = handler;
    this.#fragments = new FragmentReassembler(fragmentLimits);
    this.#fragments.onDrop = (reason) =>
      handler.onAnomaly("ip", `ip.fragment.${reason}`, `fragmented datagram dropped (${reason})`);
  }

  /**
   * Decodes one frame, calling the handler for each payload in it.
   *
   * @param frame The frame; only read during the call.
   */
  decode(frame: Frame): void {
    const p = this.packet;
    p.ts = frame.ts;
    p.frameNumber = frame.number;
    p.vlan = -1;
    p.tunnels = 0;
    p.reassembled = false;
    this.#depth = 0;
    this.#ipSeen = false;
    const b = frame.bytes;
    const s = frame.start;
    const e = frame.end;
    if (e - s === 0) {
      this.#anomaly("link", "link.empty", "frame has no captured bytes");
      return;
    }
    switch (frame.linkType) {
      case LT.LINKTYPE_ETHERNET:
        return this.#ethernet(b, s, e);
      case LT.LINKTYPE_LINUX_SLL:
        if (e - s < 16) return this.#anomaly("link", "link.truncated", "short SLL header");
        return this.#ethertype((b[s + 14]! << 8) | b[s + 15]!, b, s + 16, e);
      case LT.LINKTYPE_LINUX_SLL2:
        if (e - s < 20) return this.#anomaly("link", "link.truncated", "short SLL2 header");
        return this.#ethertype((b[s]! << 8) | b[s + 1]!, b, s + 20, e);
      case LT.LINKTYPE_RAW:
      case LT.LINKTYPE_RAW_BSD12:
      case LT.LINKTYPE_RAW_BSD14:
      case LT.LINKTYPE_IPV4:
      case LT.LINKTYPE_IPV6:
        return this.#ipByVersion(b, s, e);
      case LT.LINKTYPE_NULL:
      case LT.LINKTYPE_LOOP:
        return this.#loopback(b, s, e);
      case LT.LINKTYPE_PPP:
      case LT.LINKTYPE_PPP_HDLC:
        return this.#ppp(b, s, e);
      default:
        this.#anomaly("link", "link.unsupported", `link type ${frame.linkType} is not decoded`);
    }
  }

  /** Gives up fragments still waiting at the end of input. */
  flush(): void {
    this.#fragments.flush();
  }

  #anomaly(layer: AnomalyLayer, reason: string, detail: string): void {
    this.#handler.onAnomaly(layer, reason, detail);
  }

  #ethernet(b: Uint8Array, s: number, e: number): void {
    if (e - s < 14) return this.#anomaly("link", "link.truncated", "short Ethernet header");
    this.#ethertype((b[s + 12]! << 8) | b[s + 13]!, b, s + 14, e);
  }

  #ethertype(type: number, b: Uint8Array, s: number, e: number): void {
    // 802.1Q / QinQ tags: keep the outermost VLAN id, step over the rest.
    while (type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) {
      if (e - s < 4) return this.#anomaly("link", "link.truncated", "short VLAN tag");
      if (this.packet.vlan < 0) this.packet.vlan = ((b[s]! << 8) | b[s + 1]!) & 0x0fff;
      type = (b[s + 2]! << 8) | b[s + 3]!;
      s += 4;
    }
    switch (type) {
      case ETH_IPV4:
        return this.#ipv4(b, s, e);
      case ETH_IPV6:
        return this.#ipv6(b, s, e);
      case ETH_PPPOE_SESSION:
        if (e - s < 6) return this.#anomaly("link", "link.truncated", "short PPPoE header");
        return this.#ppp(b, s + 6, e);
      case ETH_MPLS:
      case ETH_MPLS_MULTICAST:
        return this.#mpls(b, s, e);
      default:
        this.counters.nonIp++;
    }
  }

  #loopback(b: Uint8Array, s: number, e: number): void {
    if (e - s < 4) return this.#anomaly("link", "link.truncated", "short loopback header");
    // The family is in the writer's byte order; AF_INET is 2 everywhere, AF_INET6 is 10, 24, 28 or 30.
    const family = b[s]! !== 0 ? b[s]! : b[s + 3]!;
    if (family === 2 || family === 10 || family === 24 || family === 28 || family === 30) {
      return this.#ipByVersion(b, s + 4, e);
    }
    this.counters.nonIp++;
  }

  #ppp(b: Uint8Array, s: number, e: number): void {
    if (e - s >= 2 && b[s] === 0xff && b[s + 1] === 0x03) s += 2; // HDLC address and control
    if (e - s < 1) return this.#anomaly("link", "link.truncated", "short PPP header");
    // Protocol-field compression: a one-byte protocol has its low bit set.
    let protocol: number;
    if (b[s]! & 1) {
      protocol = b[s]!;
      s += 1;
    } else {
      if (e - s < 2) return this.#anomaly("link", "link.truncated", "short PPP header");
      protocol = (b[s]! << 8) | b[s + 1]!;
      s += 2;
    }
    if (protocol === PPP_IPV4) return this.#ipv4(b, s, e);
    if (protocol === PPP_IPV6) return this.#ipv6(b, s, e);
    this.counters.nonIp++;
  }

  #mpls(b: Uint8Array, s: number, e: number): void {
    while (e - s >= 4) {
      const bottom = b[s + 2]! & 1;
      s += 4;
      if (bottom) return this.#ipByVersion(b, s, e);
    }
    this.#anomaly("link", "link.truncated", "MPLS label stack runs past the frame");
  }

  #ipByVersion(b: Uint8Array, s: number, e: number): void {
    if (e - s < 1) return this.#anomaly("ip", "ip.truncated", "no IP header");
    const version = b[s]! >> 4;
    if (version === 4) return this.#ipv4(b, s, e);
    if (version === 6) return this.#ipv6(b, s, e);
    this.#anomaly("ip", "ip.bad-version", `IP version ${version}`);
  }

  #ipv4(b: Uint8Array, s: number, e: number): void {
    if (e - s < 20) return this.#anomaly("ip", "ip.truncated", "short IPv4 header");
    const ihl = (b[s]! & 0x0f) * 4;
    if (b[s]! >> 4 !== 4 || ihl < 20) {
      return this.#anomaly("ip", "ip.bad-header", `IPv4 version/IHL byte 0x${b[s]!.toString(16)}`);
    }
    if (!this.#ipSeen) {
      this.#ipSeen = true;
      this.counters.ipv4++;
    }
    const total = (b[s + 2]! << 8) | b[s + 3]!;
    let end = e;
    if (total >= ihl && s + total <= e) end = s + total; // drop Ethernet padding / FCS
    else if (total !== 0) {
      this.#anomaly("ip", "ip.truncated", `IPv4 total length ${total}, ${e - s} captured`);
    }
    if (s + ihl > end) {
      return this.#anomaly("ip", "ip.truncated", "IPv4 options run past the packet");
    }
    const p = this.packet;
    p.ipVersion = 4;
    p.srcV4 = ((b[s + 12]! << 24) | (b[s + 13]! << 16) | (b[s + 14]! << 8) | b[s + 15]!) >>> 0;
    p.dstV4 = ((b[s + 16]! << 24) | (b[s + 17]! << 16) | (b[s + 18]! << 8) | b[s + 19]!) >>> 0;
    const protocol = b[s + 9]!;
    const flagsOffset = (b[s + 6]! << 8) | b[s + 7]!;
    const more = (flagsOffset & 0x2000) !== 0;
    const fragOffset = (flagsOffset & 0x1fff) * 8;
    if (more || fragOffset !== 0) {
      this.counters.fragments++;
      const id = (b[s + 4]! << 8) | b[s + 5]!;
      const key = `4:${p.srcV4}:${p.dstV4}:${id}:${protocol}`;
      const whole = this.#fragments.add(key, p.ts, fragOffset, more, b.subarray(s + ihl, end));
      if (!whole) return;
      this.counters.reassembled++;
      p.reassembled = true;
      return this.#protocol(protocol, whole, 0, whole.length);
    }
    this.#protocol(protocol, b, s + ihl, end);
  }

  #ipv6(b: Uint8Array, s: number, e: number): void {
    if (e - s < 40) return this.#anomaly("ip", "ip.truncated", "short IPv6 header");
    if (b[s]! >> 4 !== 6) return this.#anomaly("ip", "ip.bad-header", "IPv6 version is not 6");
    if (!this.#ipSeen) {
      this.#ipSeen = true;
      this.counters.ipv6++;
    }
    const payloadLength = (b[s + 4]! << 8) | b[s + 5]!;
    let end = e;
    if (s + 40 + payloadLength <= e && payloadLength !== 0) end = s + 40 + payloadLength;
    else if (payloadLength !== 0) {
      this.#anomaly(
        "ip",
        "ip.truncated",
        `IPv6 payload length ${payloadLength}, ${e - s - 40} captured`,
      );
    }
    const p = this.packet;
    p.ipVersion = 6;
    p.srcV6.set(b.subarray(s + 8, s + 24));
    p.dstV6.set(b.subarray(s + 24, s + 40));
    let next = b[s + 6]!;
    let o = s + 40;
    // Walk the extension headers up to the upper-layer protocol.
    for (;;) {
      if (next === 0 || next === 43 || next === 60) { // hop-by-hop, routing, destination options
        if (end - o < 8) return this.#anomaly("ip", "ip.truncated", "short IPv6 extension header");
        next = b[o]!;
        o += (b[o + 1]! + 1) * 8;
      } else if (next === 51) { // authentication header
        if (end - o < 8) return this.#anomaly("ip", "ip.truncated", "short IPv6 AH");
        next = b[o]!;
        o += (b[o + 1]! + 2) * 4;
      } else if (next === 44) { // fragment
        if (end - o < 8) return this.#anomaly("ip", "ip.truncated", "short IPv6 fragment header");
        const protocol = b[o]!;
        const offsetFlags = (b[o + 2]! << 8) | b[o + 3]!;
        const id = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
        const fragOffset = offsetFlags & 0xfff8;
        const more = (offsetFlags & 1) !== 0;
        o += 8;
        if (o > end) {
          return this.#anomaly("ip", "ip.truncated", "IPv6 fragment runs past the packet");
        }
        if (!more && fragOffset === 0) { // an atomic fragment: nothing to reassemble
          next = protocol;
          continue;
        }
        this.counters.fragments++;
        const key = `6:${hex16(p.srcV6)}:${hex16(p.dstV6)}:${id}`;
        const whole = this.#fragments.add(key, p.ts, fragOffset, more, b.subarray(o, end));
        if (!whole) return;
        this.counters.reassembled++;
        p.reassembled = true;
        return this.#protocol(protocol, whole, 0, whole.length);
      } else {
        break;
      }
      if (o > end) {
        return this.#anomaly("ip", "ip.truncated", "IPv6 extension runs past the packet");
      }
    }
    this.#protocol(next, b, o, end);
  }

  #protocol(protocol: number, b: Uint8Array, s: number, e: number): void {
    switch (protocol) {
      case IP_PROTO_UDP:
        return this.#udp(b, s, e);
      case IP_PROTO_TCP:
        return this.#tcp(b, s, e);
      case IP_PROTO_SCTP:
        return this.#sctp(b, s, e);
      case 4: // IPv4 in IP
        if (!this.#enterTunnel()) return;
        return this.#ipv4(b, s, e);
      case 41: // IPv6 in IP
        if (!this.#enterTunnel()) return;
        return this.#ipv6(b, s, e);
      case 47:
        return this.#gre(b, s, e);
      default:
        this.counters.otherProtocol++;
    }
  }

  #enterTunnel(): boolean {
    if (++this.#depth > MAX_TUNNEL_DEPTH) {
      this.#anomaly("ip", "ip.tunnel-too-deep", `more than ${MAX_TUNNEL_DEPTH} nested tunnels`);
      return false;
    }
    this.packet.tunnels++;
    this.counters.tunnelled++;
    return true;
  }

  #gre(b: Uint8Array, s: number, e: number): void {
    if (e - s < 4) return this.#anomaly("ip", "gre.truncated", "short GRE header");
    if (!this.#enterTunnel()) return;
    const flags = (b[s]! << 8) | b[s + 1]!;
    const type = (b[s + 2]! << 8) | b[s + 3]!;
    const version = flags & 7;
    const hasSequence = (flags & 0x1000) !== 0;
    let o = s + 4;
    if (flags & 0x8000) o += 4; // checksum + reserved
    if (flags & 0x2000) o += 4; // key
    if (hasSequence) o += 4;
    if (version === 1 && flags & 0x0080) o += 4; // enhanced GRE (PPTP) acknowledgment
    if (o > e) return this.#anomaly("ip", "gre.truncated", "GRE options run past the packet");
    switch (type) {
      case ETH_IPV4:
        return this.#ipv4(b, o, e);
      case ETH_IPV6:
        return this.#ipv6(b, o, e);
      case GRE_TRANSPARENT_ETHERNET:
        return this.#ethernet(b, o, e);
      case GRE_PPP:
        return this.#ppp(b, o, e);
      case GRE_ERSPAN_2:
        // Type II has an 8-byte header and the sequence bit; type I has neither.
        return this.#ethernet(b, hasSequence ? o + 8 : o, e);
      case GRE_ERSPAN_3: {
        if (e - o < 12) return this.#anomaly("ip", "gre.truncated", "short ERSPAN III header");
        const optional = b[o + 11]! & 1; // O bit: an 8-byte platform-specific subheader follows
        return this.#ethernet(b, o + 12 + optional * 8, e);
      }
      default:
        this.counters.otherProtocol++;
    }
  }

  #udp(b: Uint8Array, s: number, e: number): void {
    if (e - s < 8) return this.#anomaly("udp", "udp.truncated", "short UDP header");
    const p = this.packet;
    p.protocol = IP_PROTO_UDP;
    p.srcPort = (b[s]! << 8) | b[s + 1]!;
    p.dstPort = (b[s + 2]! << 8) | b[s + 3]!;
    const length = (b[s + 4]! << 8) | b[s + 5]!;
    let end = e;
    if (length >= 8 && s + length <= e) end = s + length;
    else if (length !== 0) {
      this.#anomaly("udp", "udp.bad-length", `UDP length ${length}, ${e - s} captured`);
    }
    if (p.dstPort === GTP_U_PORT || p.srcPort === GTP_U_PORT) {
      if (this.#gtp(b, s + 8, end)) return;
    } else if (p.dstPort === VXLAN_PORT && end - s >= 16 && (b[s + 8]! & 0x08)) {
      if (!this.#enterTunnel()) return;
      return this.#ethernet(b, s + 16, end);
    }
    p.bytes = b;
    p.payloadStart = s + 8;
    p.payloadEnd = end;
    this.#handler.onPacket(p);
  }

  /** Decodes a GTP-U G-PDU; returns false when the payload is not one (then it is plain UDP). */
  #gtp(b: Uint8Array, s: number, e: number): boolean {
    if (e - s < 8) return false;
    const flags = b[s]!;
    if (flags >> 5 !== 1 || !(flags & 0x10) || b[s + 1] !== 0xff) return false;
    let o = s + 8;
    if (flags & 0x07) {
      if (e - o < 4) return false;
      let extension = flags & 0x04 ? b[o + 3]! : 0;
      o += 4;
      while (extension !== 0) {
        if (e - o < 4 || b[o] === 0) return false;
        const length = b[o]! * 4;
        if (o + length > e) return false;
        extension = b[o + length - 1]!;
        o += length;
      }
    }
    if (o >= e) return false;
    const version = b[o]! >> 4;
    if (version !== 4 && version !== 6) return false;
    if (!this.#enterTunnel()) return true;
    this.#ipByVersion(b, o, e);
    return true;
  }

  #tcp(b: Uint8Array, s: number, e: number): void {
    if (e - s < 20) return this.#anomaly("tcp", "tcp.truncated", "short TCP header");
    const dataOffset = (b[s + 12]! >> 4) * 4;
    if (dataOffset < 20 || s + dataOffset > e) {
      return this.#anomaly("tcp", "tcp.bad-header", `TCP data offset ${dataOffset}`);
    }
    const p = this.packet;
    p.protocol = IP_PROTO_TCP;
    p.srcPort = (b[s]! << 8) | b[s + 1]!;
    p.dstPort = (b[s + 2]! << 8) | b[s + 3]!;
    p.tcpSeq = ((b[s + 4]! << 24) | (b[s + 5]! << 16) | (b[s + 6]! << 8) | b[s + 7]!) >>> 0;
    p.tcpFlags = b[s + 13]!;
    p.bytes = b;
    p.payloadStart = s + dataOffset;
    p.payloadEnd = e;
    this.#handler.onPacket(p);
  }

  #sctp(b: Uint8Array, s: number, e: number): void {
    if (e - s < 12) return this.#anomaly("ip", "sctp.truncated", "short SCTP header");
    const p = this.packet;
    p.protocol = IP_PROTO_SCTP;
    p.srcPort = (b[s]! << 8) | b[s + 1]!;
    p.dstPort = (b[s + 2]! << 8) | b[s + 3]!;
    let o = s + 12;
    while (e - o >= 4) {
      const type = b[o]!;
      const flags = b[o + 1]!;
      const length = (b[o + 2]! << 8) | b[o + 3]!;
      if (length < 4 || o + length > e) {
        return this.#anomaly("ip", "sctp.bad-chunk", `SCTP chunk length ${length}`);
      }
      if (type === 0 && length > 16) { // DATA
        if ((flags & 3) === 3) {
          p.bytes = b;
          p.payloadStart = o + 16;
          p.payloadEnd = o + length;
          this.#handler.onPacket(p);
        } else {
          const tsn = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
          const streamId = (b[o + 8]! << 8) | b[o + 9]!;
          const ssn = (b[o + 10]! << 8) | b[o + 11]!;
          const association = `${p.srcAddress()}:${p.srcPort}>${p.dstAddress()}:${p.dstPort}`;
          const whole = this.#sctpMessages.add(
            association,
            streamId,
            ssn,
            tsn,
            flags,
            b.subarray(o + 16, o + length),
          );
          if (whole) {
            p.bytes = whole;
            p.payloadStart = 0;
            p.payloadEnd = whole.length;
            this.#handler.onPacket(p);
          }
        }
      }
      o += (length + 3) & ~3;
    }
  }
}

function hex16(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}
