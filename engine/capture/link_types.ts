/**
 * LINKTYPE_* values (tcpdump.org/linktypes.html) that packetwave decodes,
 * and their names for reports.
 *
 * @module
 */

/** BSD loopback: a 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
/** Ethernet II / 802.3. */
export const LINKTYPE_ETHERNET = 1;
/** PPP, as in RFC 1661 (2-byte protocol, optionally after FF 03). */
export const LINKTYPE_PPP = 9;
/** Raw IP as some BSDs number DLT_RAW. */
export const LINKTYPE_RAW_BSD12 = 12;
/** Raw IP as OpenBSD numbers DLT_RAW. */
export const LINKTYPE_RAW_BSD14 = 14;
/** PPP in HDLC-like framing (RFC 1662). */
export const LINKTYPE_PPP_HDLC = 50;
/** Raw IPv4 or IPv6, told apart by the version nibble. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: a 4-byte address family in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Linux "cooked" capture v1 (the `any` device). */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6. */
export const LINKTYPE_IPV6 = 229;
/** Linux "cooked" capture v2. */
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, "null (BSD loopback)"],
  [LINKTYPE_ETHERNET, "ethernet"],
  [LINKTYPE_PPP, "ppp"],
  [LINKTYPE_RAW_BSD12, "raw ip (12)"],
  [LINKTYPE_RAW_BSD14, "raw ip (14)"],
  [LINKTYPE_PPP_HDLC, "ppp (hdlc)"],
  [LINKTYPE_RAW, "raw ip"],
  [LINKTYPE_LOOP, "loop (OpenBSD loopback)"],
  [LINKTYPE_LINUX_SLL, "linux sll"],
  [LINKTYPE_IPV4, "raw ipv4"],
  [LINKTYPE_IPV6, "raw ipv6"],
  [LINKTYPE_LINUX_SLL2, "linux sll2"],
]);

/**
 * Names a link type for reports.
 *
 * @param linkType A LINKTYPE_* value.
 * @returns A short name, or `linktype N` for types packetwave does not know.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(linkTypeName(1), "ethernet");
 * assert.equal(linkTypeName(147), "linktype 147");
 * ```
 */
export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `linktype ${linkType}`;
}
