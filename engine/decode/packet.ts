/**
 * The decoded transport-layer view of a frame. The decoder fills one
 * reused instance per payload it finds, with views (not copies) into the
 * frame's bytes, so the fast path allocates nothing.
 *
 * @module
 */

/** IP protocol number of TCP. */
export const IP_PROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IP_PROTO_UDP = 17;
/** IP protocol number of SCTP. */
export const IP_PROTO_SCTP = 132;

/** One transport payload (a UDP datagram, a TCP segment or an SCTP DATA chunk). */
export class DecodedPacket {
  /** Capture time, seconds since the Unix epoch. */
  ts = 0;
  /** Frame number (1-based). */
  frameNumber = 0;
  /** 4 or 6. */
  ipVersion = 4;
  /** IPv4 source address as an unsigned 32-bit number (IPv4 only). */
  srcV4 = 0;
  /** IPv4 destination address as an unsigned 32-bit number (IPv4 only). */
  dstV4 = 0;
  /** IPv6 source address bytes (IPv6 only; reused, copy to keep). */
  readonly srcV6: Uint8Array = new Uint8Array(16);
  /** IPv6 destination address bytes (IPv6 only; reused, copy to keep). */
  readonly dstV6: Uint8Array = new Uint8Array(16);
  /** IP protocol of the payload: 17 UDP, 6 TCP, 132 SCTP. */
  protocol = 0;
  /** Source port. */
  srcPort = 0;
  /** Destination port. */
  dstPort = 0;
  /** Buffer holding the payload at `[payloadStart, payloadEnd)`. */
  bytes: Uint8Array = new Uint8Array(0);
  /** First payload byte. */
  payloadStart = 0;
  /** One past the last payload byte. */
  payloadEnd = 0;
  /** TCP sequence number of the first payload byte (TCP only). */
  tcpSeq = 0;
  /** TCP flags byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10 (TCP only). */
  tcpFlags = 0;
  /** Outermost 802.1Q VLAN id, or -1. */
  vlan = -1;
  /** Number of tunnel headers (GRE, ERSPAN, IP-in-IP, GTP-U, VXLAN) peeled off. */
  tunnels = 0;
  /** Whether the payload was rebuilt from IP fragments. */
  reassembled = false;

  /** Payload length in bytes. */
  get payloadLength(): number {
    return this.payloadEnd - this.payloadStart;
  }

  /** The payload as a view, valid until the next packet. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }

  /** Source address as text. */
  srcAddress(): string {
    return this.ipVersion === 4 ? formatIPv4(this.srcV4) : formatIPv6(this.srcV6);
  }

  /** Destination address as text. */
  dstAddress(): string {
    return this.ipVersion === 4 ? formatIPv4(this.dstV4) : formatIPv6(this.dstV6);
  }
}

/**
 * Formats an IPv4 address held as an unsigned 32-bit number.
 *
 * @param address The address.
 * @returns Dotted-quad text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatIPv4(0xc0a80036), "192.168.0.54");
 * ```
 */
export function formatIPv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/**
 * Formats an IPv6 address in the compressed form of RFC 5952.
 *
 * @param b Sixteen address bytes.
 * @returns Lower-case text with the longest run of zero groups as `::`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = 1;
 * assert.equal(formatIPv6(b), "2001:db8::1");
 * ```
 */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // IPv4-mapped addresses read best with their dotted tail.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * Parses dotted-quad IPv4 text into an unsigned 32-bit number.
 *
 * @param text Address text.
 * @returns The address, or `null` when the text is not an IPv4 address.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseIPv4("192.168.0.54"), 0xc0a80036);
 * assert.equal(parseIPv4("192.168.0"), null);
 * ```
 */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/**
 * Parses IPv6 text (with `::`, and an IPv4 tail) into 16 bytes.
 *
 * @param text Address text, without brackets or zone.
 * @returns The bytes, or `null` when the text is not an IPv6 address.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatIPv6(parseIPv6("2001:DB8:0:0::1")!), "2001:db8::1");
 * assert.equal(parseIPv6("2001:db8::1::2"), null);
 * ```
 */
export function parseIPv6(text: string): Uint8Array | null {
  let head = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    head = `${text.slice(0, lastColon + 1)}${((v4 >>> 16) & 0xffff).toString(16)}:${
      (v4 & 0xffff).toString(16)
    }`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const groups = part.split(":");
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}
