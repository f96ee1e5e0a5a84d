/**
 * HEP v3 (EEP) export: sends the SIP messages of the analysis to a Homer
 * server, or any HEP collector, over UDP or TCP.
 *
 * A HEP v3 packet is the 4 bytes `HEP3`, a 16-bit total length, then chunks,
 * each `vendor id (16) | type id (16) | length (16, header included) | value`,
 * all big-endian. Generic chunks (vendor 0) carry the original packet's IP
 * family, IP protocol, addresses, ports, capture time (seconds and
 * microseconds), the protocol type of the payload (1 = SIP), the capture
 * agent id, an authentication key, the correlation id (here the Call-ID) and
 * the payload itself.
 *
 * With `when: "completed"` (the default) the messages of each call leg are
 * encoded as they arrive, kept per Call-ID (bounded), and sent when the leg
 * completes, so the collector receives finished calls; messages outside any
 * call (REGISTER, OPTIONS, …) go out once their Call-ID has been quiet for a
 * while. With `when: "live"` each message is sent at once.
 *
 * Optionally (`qualityReports: true`) each RTP stream of a call is reported at
 * its end as HEP protocol type 0x22 with a JSON body in the field names of
 * sipcapture's RTP-agent reports (`CORRELATION_ID`, `TOTAL_PK`, `MOS`, …).
 *
 * A collector that is down never stops the analysis: sends fail quietly,
 * are counted, and the first failure is reported once as a warning.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHep, encodeHep, HEP_PROTOCOL_SIP } from "./hep.ts";
 *
 * const payload = new TextEncoder().encode("OPTIONS sip:a@b SIP/2.0\r\n\r\n");
 * const bytes = encodeHep({
 *   src: { ip: "192.168.0.54", port: 5060 },
 *   dst: { ip: "112.222.225.104", port: 5060 },
 *   ipProtocol: 17,
 *   ts: 1700000000.25,
 *   protocolType: HEP_PROTOCOL_SIP,
 *   agentId: 2001,
 *   authKey: null,
 *   correlationId: "abc@host",
 *   payload,
 * });
 * const decoded = decodeHep(bytes);
 * assert.ok(decoded.ok);
 * assert.deepEqual(decoded.packet.payload, payload);
 * assert.equal(decoded.packet.ts, 1700000000.25);
 * assert.equal(decoded.packet.dst.ip, "112.222.225.104");
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import type { Frame } from "../../engine/capture/frame.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../engine/decode/packet.ts";
import type {
  Endpoint,
  SipRequestEvent,
  SipResponseEvent,
  SipTransport,
} from "../../engine/events.ts";
import type { RtpStreamRecord } from "../../engine/calls/stream.ts";
import type { SipMessage } from "../../engine/sip/types.ts";
import type { Plugin, PluginContext } from "../plugin.ts";

/** Chunk: IP protocol family (uint8: 2 IPv4, 10 IPv6). */
export const HEP_CHUNK_IP_FAMILY = 0x0001;
/** Chunk: IP protocol number (uint8: 17 UDP, 6 TCP, 132 SCTP). */
export const HEP_CHUNK_IP_PROTOCOL = 0x0002;
/** Chunk: IPv4 source address (4 bytes). */
export const HEP_CHUNK_IPV4_SRC = 0x0003;
/** Chunk: IPv4 destination address (4 bytes). */
export const HEP_CHUNK_IPV4_DST = 0x0004;
/** Chunk: IPv6 source address (16 bytes). */
export const HEP_CHUNK_IPV6_SRC = 0x0005;
/** Chunk: IPv6 destination address (16 bytes). */
export const HEP_CHUNK_IPV6_DST = 0x0006;
/** Chunk: source port (uint16). */
export const HEP_CHUNK_SRC_PORT = 0x0007;
/** Chunk: destination port (uint16). */
export const HEP_CHUNK_DST_PORT = 0x0008;
/** Chunk: capture time, seconds since the Unix epoch (uint32). */
export const HEP_CHUNK_TS_SECONDS = 0x0009;
/** Chunk: capture time, microseconds within the second (uint32). */
export const HEP_CHUNK_TS_MICROS = 0x000a;
/** Chunk: protocol type of the payload (uint8: 1 SIP, 0x22 QoS report JSON, …). */
export const HEP_CHUNK_PROTOCOL_TYPE = 0x000b;
/** Chunk: capture agent id (uint32). */
export const HEP_CHUNK_AGENT_ID = 0x000c;
/** Chunk: authentication key (octets; the collector's password). */
export const HEP_CHUNK_AUTH_KEY = 0x000e;
/** Chunk: the captured payload (octets). */
export const HEP_CHUNK_PAYLOAD = 0x000f;
/** Chunk: correlation id (octets; the Call-ID for SIP). */
export const HEP_CHUNK_CORRELATION_ID = 0x0011;

/** Protocol type of a SIP payload. */
export const HEP_PROTOCOL_SIP = 0x01;
/** Protocol type of a JSON media quality report (Homer's "RTP agent" report). */
export const HEP_PROTOCOL_QOS_REPORT = 0x22;
/** IP family value of IPv4 in the family chunk (AF_INET). */
export const HEP_FAMILY_IPV4 = 2;
/** IP family value of IPv6 in the family chunk (AF_INET6 on Linux). */
export const HEP_FAMILY_IPV6 = 10;
/** Largest HEP packet: its length field has 16 bits. */
export const HEP_MAX_BYTES = 0xffff;

const HEP_MAGIC = [0x48, 0x45, 0x50, 0x33]; // "HEP3"
const HEADER_BYTES = 6;
const CHUNK_HEADER_BYTES = 6;
/** Largest UDP payload over IPv4. */
const UDP_MAX_PAYLOAD = 65507;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** One HEP packet: the captured payload and what is known about how it travelled. */
export interface HepPacket {
  /** Sender of the original packet. */
  src: Endpoint;
  /** Receiver of the original packet. */
  dst: Endpoint;
  /** IP protocol number of the original transport (17 UDP, 6 TCP, 132 SCTP). */
  ipProtocol: number;
  /** Capture time, seconds since the Unix epoch (microsecond precision on the wire). */
  ts: number;
  /** Protocol type of the payload ({@link HEP_PROTOCOL_SIP}, …). */
  protocolType: number;
  /** Capture agent id. */
  agentId: number;
  /** Authentication key, or `null` for none. */
  authKey: string | null;
  /** Correlation id (the Call-ID), or `null` for none. */
  correlationId: string | null;
  /** The payload: a SIP message, a JSON report. */
  payload: Uint8Array;
}

/** What {@link decodeHep} found: a packet, or why the bytes are not one. */
export type HepDecodeResult =
  | {
    ok: true;
    /** The packet (the payload is a copy). */
    packet: HepPacket;
    /** Chunks skipped: other vendors' chunks and generic types this decoder does not read. */
    unknownChunks: number;
  }
  | {
    ok: false;
    /** Short machine-readable reason, such as `hep.bad-magic`. */
    reason: string;
  };

/**
 * Encodes one HEP v3 packet.
 *
 * @param packet What to encode. Both addresses must be of one family.
 * @returns The packet's bytes.
 * @throws {RangeError} When an address is not an IP address, the families differ, a number is
 *   out of range, or the packet would exceed {@link HEP_MAX_BYTES}.
 */
export function encodeHep(packet: HepPacket): Uint8Array {
  const v4 = parseIPv4(packet.src.ip) !== null;
  const src = addressBytes(packet.src.ip);
  const dst = addressBytes(packet.dst.ip);
  if (src.length !== dst.length) {
    throw new RangeError(
      `Cannot encode HEP: mixed address families ${packet.src.ip} and ${packet.dst.ip}`,
    );
  }
  checkUint(packet.src.port, 0xffff, "source port");
  checkUint(packet.dst.port, 0xffff, "destination port");
  checkUint(packet.ipProtocol, 0xff, "IP protocol");
  checkUint(packet.protocolType, 0xff, "protocol type");
  checkUint(packet.agentId, 0xffffffff, "agent id");
  if (!Number.isFinite(packet.ts) || packet.ts < 0 || packet.ts >= 2 ** 32) {
    throw new RangeError(`Cannot encode HEP: invalid timestamp ${packet.ts}`);
  }
  let seconds = Math.floor(packet.ts);
  let micros = Math.round((packet.ts - seconds) * 1e6);
  if (micros >= 1e6) {
    seconds += 1;
    micros -= 1e6;
  }
  const auth = packet.authKey ? ENCODER.encode(packet.authKey) : null;
  const correlation = packet.correlationId ? ENCODER.encode(packet.correlationId) : null;
  const length = HEADER_BYTES +
    2 * (CHUNK_HEADER_BYTES + 1) + // family, protocol
    2 * (CHUNK_HEADER_BYTES + src.length) +
    2 * (CHUNK_HEADER_BYTES + 2) + // ports
    3 * (CHUNK_HEADER_BYTES + 4) + // seconds, microseconds, agent id
    (CHUNK_HEADER_BYTES + 1) + // protocol type
    (auth ? CHUNK_HEADER_BYTES + auth.length : 0) +
    (correlation ? CHUNK_HEADER_BYTES + correlation.length : 0) +
    CHUNK_HEADER_BYTES + packet.payload.length;
  if (length > HEP_MAX_BYTES) {
    throw new RangeError(
      `Cannot encode HEP: ${length} bytes exceed the ${HEP_MAX_BYTES}-byte limit of a packet`,
    );
  }
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  out.set(HEP_MAGIC, 0);
  view.setUint16(4, length);
  let at = HEADER_BYTES;
  const chunk = (type: number, size: number): number => {
    view.setUint16(at, 0);
    view.setUint16(at + 2, type);
    view.setUint16(at + 4, CHUNK_HEADER_BYTES + size);
    const value = at + CHUNK_HEADER_BYTES;
    at = value + size;
    return value;
  };
  view.setUint8(chunk(HEP_CHUNK_IP_FAMILY, 1), v4 ? HEP_FAMILY_IPV4 : HEP_FAMILY_IPV6);
  view.setUint8(chunk(HEP_CHUNK_IP_PROTOCOL, 1), packet.ipProtocol);
  out.set(src, chunk(v4 ? HEP_CHUNK_IPV4_SRC : HEP_CHUNK_IPV6_SRC, src.length));
  out.set(dst, chunk(v4 ? HEP_CHUNK_IPV4_DST : HEP_CHUNK_IPV6_DST, dst.length));
  view.setUint16(chunk(HEP_CHUNK_SRC_PORT, 2), packet.src.port);
  view.setUint16(chunk(HEP_CHUNK_DST_PORT, 2), packet.dst.port);
  view.setUint32(chunk(HEP_CHUNK_TS_SECONDS, 4), seconds);
  view.setUint32(chunk(HEP_CHUNK_TS_MICROS, 4), micros);
  view.setUint8(chunk(HEP_CHUNK_PROTOCOL_TYPE, 1), packet.protocolType);
  view.setUint32(chunk(HEP_CHUNK_AGENT_ID, 4), packet.agentId);
  if (auth) out.set(auth, chunk(HEP_CHUNK_AUTH_KEY, auth.length));
  if (correlation) out.set(correlation, chunk(HEP_CHUNK_CORRELATION_ID, correlation.length));
  out.set(packet.payload, chunk(HEP_CHUNK_PAYLOAD, packet.payload.length));
  return out;
}

/**
 * Decodes one HEP v3 packet. Never throws: damaged input gives a reason.
 * Chunks of other vendors and generic chunks not listed here are skipped
 * and counted.
 *
 * @param bytes One packet (a datagram, or one packet cut from a TCP stream).
 * @returns The packet, or why the bytes are not one.
 */
export function decodeHep(bytes: Uint8Array): HepDecodeResult {
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: "hep.truncated-header" };
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== HEP_MAGIC[i]) return { ok: false, reason: "hep.bad-magic" };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = view.getUint16(4);
  if (total < HEADER_BYTES || total > bytes.length) return { ok: false, reason: "hep.bad-length" };
  let family: number | null = null;
  let ipProtocol: number | null = null;
  let srcIp: string | null = null;
  let dstIp: string | null = null;
  let srcPort: number | null = null;
  let dstPort: number | null = null;
  let seconds: number | null = null;
  let micros = 0;
  let protocolType: number | null = null;
  let agentId = 0;
  let authKey: string | null = null;
  let correlationId: string | null = null;
  let payload: Uint8Array | null = null;
  let unknownChunks = 0;
  let at = HEADER_BYTES;
  while (at < total) {
    if (total - at < CHUNK_HEADER_BYTES) return { ok: false, reason: "hep.truncated-chunk" };
    const vendor = view.getUint16(at);
    const type = view.getUint16(at + 2);
    const length = view.getUint16(at + 4);
    if (length < CHUNK_HEADER_BYTES || at + length > total) {
      return { ok: false, reason: "hep.bad-chunk-length" };
    }
    const value = at + CHUNK_HEADER_BYTES;
    const size = length - CHUNK_HEADER_BYTES;
    at += length;
    if (vendor !== 0) {
      unknownChunks++;
      continue;
    }
    const fixed = FIXED_SIZES.get(type);
    if (fixed !== undefined && size !== fixed) return { ok: false, reason: "hep.bad-chunk-size" };
    switch (type) {
      case HEP_CHUNK_IP_FAMILY:
        family = view.getUint8(value);
        break;
      case HEP_CHUNK_IP_PROTOCOL:
        ipProtocol = view.getUint8(value);
        break;
      case HEP_CHUNK_IPV4_SRC:
        srcIp = formatIPv4(view.getUint32(value));
        break;
      case HEP_CHUNK_IPV4_DST:
        dstIp = formatIPv4(view.getUint32(value));
        break;
      case HEP_CHUNK_IPV6_SRC:
        srcIp = formatIPv6(bytes.subarray(value, value + 16));
        break;
      case HEP_CHUNK_IPV6_DST:
        dstIp = formatIPv6(bytes.subarray(value, value + 16));
        break;
      case HEP_CHUNK_SRC_PORT:
        srcPort = view.getUint16(value);
        break;
      case HEP_CHUNK_DST_PORT:
        dstPort = view.getUint16(value);
        break;
      case HEP_CHUNK_TS_SECONDS:
        seconds = view.getUint32(value);
        break;
      case HEP_CHUNK_TS_MICROS:
        micros = view.getUint32(value);
        break;
      case HEP_CHUNK_PROTOCOL_TYPE:
        protocolType = view.getUint8(value);
        break;
      case HEP_CHUNK_AGENT_ID:
        agentId = view.getUint32(value);
        break;
      case HEP_CHUNK_AUTH_KEY:
        authKey = DECODER.decode(bytes.subarray(value, value + size));
        break;
      case HEP_CHUNK_CORRELATION_ID:
        correlationId = DECODER.decode(bytes.subarray(value, value + size));
        break;
      case HEP_CHUNK_PAYLOAD:
        payload = bytes.slice(value, value + size);
        break;
      default:
        unknownChunks++;
    }
  }
  if (family === null || srcIp === null || dstIp === null) {
    return { ok: false, reason: "hep.missing-address" };
  }
  if (srcPort === null || dstPort === null) return { ok: false, reason: "hep.missing-port" };
  if (seconds === null) return { ok: false, reason: "hep.missing-timestamp" };
  if (payload === null) return { ok: false, reason: "hep.missing-payload" };
  return {
    ok: true,
    packet: {
      src: { ip: srcIp, port: srcPort },
      dst: { ip: dstIp, port: dstPort },
      ipProtocol: ipProtocol ?? 0,
      ts: seconds + micros / 1e6,
      protocolType: protocolType ?? 0,
      agentId,
      authKey,
      correlationId,
      payload,
    },
    unknownChunks,
  };
}

const FIXED_SIZES: ReadonlyMap<number, number> = new Map([
  [HEP_CHUNK_IP_FAMILY, 1],
  [HEP_CHUNK_IP_PROTOCOL, 1],
  [HEP_CHUNK_IPV4_SRC, 4],
  [HEP_CHUNK_IPV4_DST, 4],
  [HEP_CHUNK_IPV6_SRC, 16],
  [HEP_CHUNK_IPV6_DST, 16],
  [HEP_CHUNK_SRC_PORT, 2],
  [HEP_CHUNK_DST_PORT, 2],
  [HEP_CHUNK_TS_SECONDS, 4],
  [HEP_CHUNK_TS_MICROS, 4],
  [HEP_CHUNK_PROTOCOL_TYPE, 1],
  [HEP_CHUNK_AGENT_ID, 4],
]);

function addressBytes(ip: string): Uint8Array {
  const v4 = parseIPv4(ip);
  if (v4 !== null) {
    return new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]);
  }
  const percent = ip.indexOf("%");
  const v6 = parseIPv6(percent < 0 ? ip : ip.slice(0, percent));
  if (v6 === null) throw new RangeError(`Cannot encode HEP: not an IP address: ${ip}`);
  return v6;
}

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Cannot encode HEP: invalid ${what} ${value}`);
  }
}

/** IP protocol number of a SIP transport (WebSocket runs over TCP). */
function ipProtocolOf(transport: SipTransport): number {
  switch (transport) {
    case "udp":
      return 17;
    case "sctp":
      return 132;
    default:
      return 6;
  }
}

// ---------------------------------------------------------------------------
// The SIP message's bytes

/**
 * The message's bytes as they were on the wire, found in the frame that
 * completed it. `null` when the frame does not hold the whole message (IP
 * fragments, a message spread over TCP segments, masked WebSocket frames).
 */
function locateSip(frame: Frame | null, m: SipMessage): Uint8Array | null {
  if (frame === null || m.size <= 0) return null;
  const b = frame.bytes;
  const last = frame.end - m.size;
  const prefix = m.kind === "request" ? ENCODER.encode(`${m.method} `) : SIP_VERSION_SP;
  const callId = m.callId ? ENCODER.encode(m.callId) : null;
  for (let i = frame.start; i <= last; i++) {
    if (!startsWithIgnoreCase(b, i, prefix)) continue;
    if (m.kind === "response" && !startsWithStatus(b, i + prefix.length, m.status)) continue;
    const region = b.subarray(i, i + m.size);
    if (m.body.length > 0 && !endsWith(region, m.body)) continue;
    if (callId !== null && indexOf(region, callId) < 0) continue;
    return region.slice();
  }
  return null;
}

const SIP_VERSION_SP = ENCODER.encode("SIP/2.0 ");

function startsWithIgnoreCase(b: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let j = 0; j < prefix.length; j++) {
    const c = b[at + j];
    if (c === undefined) return false;
    if (lowerAscii(c) !== lowerAscii(prefix[j]!)) return false;
  }
  return true;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function startsWithStatus(b: Uint8Array, at: number, status: number): boolean {
  const digits = String(status);
  for (let j = 0; j < digits.length; j++) {
    if (b[at + j] !== digits.charCodeAt(j)) return false;
  }
  return true;
}

function endsWith(region: Uint8Array, tail: Uint8Array): boolean {
  if (tail.length > region.length) return false;
  const offset = region.length - tail.length;
  for (let j = 0; j < tail.length; j++) if (region[offset + j] !== tail[j]) return false;
  return true;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    if (hay[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Header names whose usual spelling is not plain capitalization. */
const HEADER_SPELLING: ReadonlyMap<string, string> = new Map([
  ["call-id", "Call-ID"],
  ["cseq", "CSeq"],
  ["www-authenticate", "WWW-Authenticate"],
  ["mime-version", "MIME-Version"],
  ["rseq", "RSeq"],
  ["rack", "RAck"],
  ["sip-etag", "SIP-ETag"],
  ["sip-if-match", "SIP-If-Match"],
]);

/**
 * The message written again from its parsed form, for the rare message whose
 * bytes are not in one frame: same start line, headers (full names) and body.
 */
function rebuildSip(m: SipMessage): Uint8Array {
  const lines = [
    m.kind === "request"
      ? `${m.method} ${m.requestUriRaw} SIP/2.0`
      : `SIP/2.0 ${m.status} ${m.reason}`,
  ];
  for (const [name, value] of m.headers.entries()) {
    const spelled = HEADER_SPELLING.get(name) ??
      name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
    lines.push(`${spelled}: ${value}`);
  }
  const head = ENCODER.encode(`${lines.join("\r\n")}\r\n\r\n`);
  const out = new Uint8Array(head.length + m.body.length);
  out.set(head);
  out.set(m.body, head.length);
  return out;
}

// ---------------------------------------------------------------------------
// Senders

/** Counters of a sender. */
interface SendCounters {
  /** Packets handed to the network. */
  sent: number;
  /** Packets that failed (socket errors) or were dropped (queue full, collector down). */
  failed: number;
}

/** Where encoded packets go. */
interface HepSender {
  /** Sends one packet, or drops it (counted): never throws, never blocks. */
  send(packet: Uint8Array): void;
  /** Waits (at most `timeoutMs`) for queued packets, then releases the socket. */
  close(timeoutMs: number): Promise<void>;
}

type ProblemReport = (what: string) => void;

/**
 * Sends datagrams one after the other: the next leaves when the previous one's
 * send completed, which keeps them in order (Deno's `node:dgram` may reorder
 * sends issued at once) and bounds what waits to `maxQueueBytes`.
 */
class UdpHepSender implements HepSender {
  readonly #socket: dgram.Socket;
  readonly #host: string;
  readonly #port: number;
  readonly #maxQueueBytes: number;
  readonly #counters: SendCounters;
  readonly #problem: ProblemReport;
  #queue: Uint8Array[] = [];
  #head = 0;
  #queuedBytes = 0;
  #sending = false;
  #idle: (() => void) | null = null;
  #closed = false;

  constructor(
    host: string,
    port: number,
    family: 4 | 6,
    maxQueueBytes: number,
    counters: SendCounters,
    problem: ProblemReport,
  ) {
    this.#host = host;
    this.#port = port;
    this.#maxQueueBytes = maxQueueBytes;
    this.#counters = counters;
    this.#problem = problem;
    this.#socket = dgram.createSocket(family === 6 ? "udp6" : "udp4");
    this.#socket.on("error", (error) => this.#problem(`socket error: ${error.message}`));
  }

  /** Binds the local end now, so that a failure is a load error, not a crash at the first send. */
  bind(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const failed = (error: Error) =>
        reject(new TypeError(`Cannot open a UDP socket: ${error.message}`));
      this.#socket.once("error", failed);
      try {
        this.#socket.bind(0, () => {
          this.#socket.off("error", failed);
          resolve();
        });
      } catch (error) {
        failed(error as Error);
      }
    });
  }

  send(packet: Uint8Array): void {
    if (this.#closed) {
      this.#counters.failed++;
      return;
    }
    if (packet.length > UDP_MAX_PAYLOAD) {
      this.#counters.failed++;
      this.#problem(`a ${packet.length}-byte HEP packet does not fit in a UDP datagram`);
      return;
    }
    if (this.#queuedBytes + packet.length > this.#maxQueueBytes) {
      this.#counters.failed++;
      this.#problem("the send queue is full; packets are being dropped");
      return;
    }
    this.#queue.push(packet);
    this.#queuedBytes += packet.length;
    if (!this.#sending) this.#next();
  }

  #next(): void {
    const packet = this.#queue[this.#head];
    if (packet === undefined) {
      this.#queue = [];
      this.#head = 0;
      this.#sending = false;
      this.#idle?.();
      return;
    }
    this.#queue[this.#head++] = EMPTY; // let it go
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#sending = true;
    const done = (error: Error | null) => {
      this.#queuedBytes -= packet.length;
      if (error) {
        this.#counters.failed++;
        this.#problem(`cannot send to the collector: ${error.message}`);
      } else {
        this.#counters.sent++;
      }
      this.#next();
    };
    try {
      this.#socket.send(packet, this.#port, this.#host, done);
    } catch (error) {
      queueMicrotask(() => done(error as Error));
    }
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    if (this.#sending) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#idle = null;
    }
    this.#counters.failed += this.#queue.length - this.#head;
    this.#queue = [];
    this.#head = 0;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

const EMPTY = new Uint8Array(0);

/** Seconds to wait before connecting again after a TCP failure. */
const TCP_RETRY_MS = 5000;
/** Bytes written to TCP in one call, at most. */
const TCP_BATCH_BYTES = 64 * 1024;

class TcpHepSender implements HepSender {
  readonly #host: string;
  readonly #port: number;
  readonly #maxQueueBytes: number;
  readonly #counters: SendCounters;
  readonly #problem: ProblemReport;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #conn: Deno.TcpConn | null = null;
  #connecting = false;
  /** Set when `close` stopped waiting: a connection that completes now is dropped. */
  #aborted = false;
  #pump: Promise<void> | null = null;
  #retryAt = 0;
  #closed = false;

  constructor(
    host: string,
    port: number,
    maxQueueBytes: number,
    counters: SendCounters,
    problem: ProblemReport,
  ) {
    this.#host = host;
    this.#port = port;
    this.#maxQueueBytes = maxQueueBytes;
    this.#counters = counters;
    this.#problem = problem;
  }

  send(packet: Uint8Array): void {
    if (this.#closed || (this.#conn === null && Date.now() < this.#retryAt)) {
      this.#counters.failed++;
      return;
    }
    if (this.#queuedBytes + packet.length > this.#maxQueueBytes) {
      this.#counters.failed++;
      this.#problem("the send queue is full; packets are being dropped");
      return;
    }
    this.#queue.push(packet);
    this.#queuedBytes += packet.length;
    this.#kick();
  }

  #kick(): void {
    if (this.#pump !== null || this.#queue.length === 0) return;
    this.#pump = this.#drain().finally(() => {
      this.#pump = null;
      if (!this.#aborted && this.#conn !== null) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      if (this.#conn === null) {
        this.#connecting = true;
        try {
          const conn = await Deno.connect({ hostname: this.#host, port: this.#port });
          if (this.#aborted) {
            // `close` gave up waiting (a collector that does not answer): too late.
            conn.close();
            return;
          }
          conn.setNoDelay(true);
          this.#conn = conn;
        } catch (error) {
          this.#fail(`cannot connect to the collector: ${(error as Error).message}`);
          return;
        } finally {
          this.#connecting = false;
        }
      }
      const batch = this.#takeBatch();
      try {
        let offset = 0;
        while (offset < batch.bytes.length) {
          offset += await this.#conn.write(batch.bytes.subarray(offset));
        }
        this.#counters.sent += batch.count;
      } catch (error) {
        this.#counters.failed += batch.count;
        this.#fail(`cannot send to the collector: ${(error as Error).message}`);
        return;
      }
    }
  }

  #takeBatch(): { bytes: Uint8Array; count: number } {
    let size = 0;
    let count = 0;
    while (count < this.#queue.length) {
      const next = this.#queue[count]!.length;
      if (count > 0 && size + next > TCP_BATCH_BYTES) break;
      size += next;
      count++;
    }
    const parts = this.#queue.splice(0, count);
    this.#queuedBytes -= size;
    if (count === 1) return { bytes: parts[0]!, count };
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return { bytes, count };
  }

  /** Drops the connection and what is queued; sends wait for the retry delay. */
  #fail(message: string): void {
    this.#counters.failed += this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = null;
    this.#retryAt = Date.now() + TCP_RETRY_MS;
    this.#problem(message);
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    if (this.#pump !== null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#pump,
        new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
      ]);
      clearTimeout(timer);
    }
    this.#aborted = true;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = null;
    // A write cut short by the close ends now; a connection attempt may hang for minutes
    // (a collector that drops SYNs) and is not waited for: it closes itself when it ends.
    if (!this.#connecting) await this.#pump;
    this.#counters.failed += this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}

// ---------------------------------------------------------------------------
// The plugin

/** Options of the HEP exporter. */
export interface HepOptions {
  /** The collector: `host:port`, `[v6-address]:port`. */
  address: string;
  /** Transport to the collector (default `udp`). */
  transport?: "udp" | "tcp";
  /** Capture agent id (HEP chunk 0x000c; default 0). */
  agentId?: number;
  /** Authentication key the collector expects (chunk 0x000e); none by default. */
  password?: string;
  /** Send each call leg's messages when it completes (default), or each message at once. */
  when?: "completed" | "live";
  /** Also send a JSON quality report (HEP type 0x22) per RTP stream of a call (default false). */
  qualityReports?: boolean;
  /** Messages kept per Call-ID before they are sent early (default 500). */
  maxMessagesPerCall?: number;
  /** Bytes kept over all Call-IDs; the oldest are sent early beyond it (default 32 MiB). */
  maxBufferedBytes?: number;
  /** Call-IDs kept at once; the oldest are sent early beyond it (default 50000). */
  maxBufferedCalls?: number;
  /** Seconds (capture time) after which messages outside any call are sent (default 32). */
  idleSeconds?: number;
  /** Bytes waiting for the network at most; more are dropped and counted (default 8 MiB). */
  maxQueueBytes?: number;
  /** Milliseconds `close` waits for queued packets (default 3000). */
  closeTimeoutMs?: number;
}

/** What the exporter did. */
export interface HepStats {
  /** SIP messages encoded. */
  messages: number;
  /** Messages whose bytes were not in one frame and were written again from the parse. */
  rebuilt: number;
  /** Quality reports encoded. */
  qualityReports: number;
  /** Messages that could not be encoded (too large for HEP). */
  skipped: number;
  /** Call legs whose messages were sent on completion. */
  calls: number;
  /** Packets handed to the network. */
  sent: number;
  /** Packets lost: send errors, full queue, collector down. */
  failed: number;
}

/** The HEP exporter plugin, with its counters. */
export interface HepPlugin extends Plugin {
  /** Counters so far. */
  readonly stats: Readonly<HepStats>;
}

const OPTION_NAMES = new Set([
  "address",
  "transport",
  "agentId",
  "password",
  "when",
  "qualityReports",
  "maxMessagesPerCall",
  "maxBufferedBytes",
  "maxBufferedCalls",
  "idleSeconds",
  "maxQueueBytes",
  "closeTimeoutMs",
]);

/**
 * Splits `host:port` or `[v6]:port`.
 *
 * @param address The collector's address.
 * @returns Host (without brackets) and port.
 * @throws {TypeError} When the address has no valid port.
 */
export function parseHepAddress(address: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:\[\]]+):(\d+)$/.exec(address);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(
      `Invalid HEP collector address ${JSON.stringify(address)}: expected host:port or [ipv6]:port`,
    );
  }
  return { host: match[1]!, port };
}

function positive(options: HepOptions, name: keyof HepOptions, fallback: number): number {
  const value = options[name] ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Invalid HEP option ${name}: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Fails early, with the flag to add, when Deno may not use the network as the
 * exporter needs: a socket used without permission would throw later, out of
 * reach of the plugin host.
 */
function requireNet(host: string, why: string): void {
  if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
    throw new TypeError(
      `The HEP exporter needs network access to ${host} ${why}: run with --allow-net=${host},...`,
    );
  }
}

/** SIP messages of one Call-ID waiting to be sent. */
interface Pending {
  /** Encoded HEP packets, in order. */
  packets: Uint8Array[];
  /** Their total size. */
  bytes: number;
  /** Whether the Call-ID is a call leg's (it is sent when the leg completes). */
  call: boolean;
  /** Capture time of the latest message. */
  lastTs: number;
}

/**
 * Makes the HEP exporter.
 *
 * @param options Collector address, transport, agent id, password, when to send, bounds.
 * @param context The plugin context (the frame of each SIP message, warnings).
 * @returns The plugin.
 * @throws {TypeError} When an option is invalid or the collector's host name cannot be resolved.
 */
export default async function createHepExporter(
  options: HepOptions,
  context: PluginContext,
): Promise<HepPlugin> {
  for (const key of Object.keys(options ?? {})) {
    if (!OPTION_NAMES.has(key)) {
      throw new TypeError(
        `Unknown HEP option ${JSON.stringify(key)} (known: ${[...OPTION_NAMES].join(", ")})`,
      );
    }
  }
  if (typeof options?.address !== "string") {
    throw new TypeError("The HEP exporter needs an address: host:port of the collector");
  }
  const { host, port } = parseHepAddress(options.address);
  const transport = options.transport ?? "udp";
  if (transport !== "udp" && transport !== "tcp") {
    throw new TypeError(`Invalid HEP transport ${JSON.stringify(transport)}: udp or tcp`);
  }
  const when = options.when ?? "completed";
  if (when !== "completed" && when !== "live") {
    throw new TypeError(`Invalid HEP option when ${JSON.stringify(when)}: completed or live`);
  }
  const agentId = options.agentId ?? 0;
  if (!Number.isInteger(agentId) || agentId < 0 || agentId > 0xffffffff) {
    throw new TypeError(`Invalid HEP agentId ${JSON.stringify(agentId)}: 0 to 4294967295`);
  }
  if (options.password !== undefined && typeof options.password !== "string") {
    throw new TypeError("Invalid HEP password: must be a string");
  }
  const authKey = options.password ? options.password : null;
  const qualityReports = options.qualityReports === true;
  const maxMessages = positive(options, "maxMessagesPerCall", 500);
  const maxBufferedBytes = positive(options, "maxBufferedBytes", 32 * 1024 * 1024);
  const maxBufferedCalls = positive(options, "maxBufferedCalls", 50_000);
  const idleSeconds = positive(options, "idleSeconds", 32);
  const maxQueueBytes = positive(options, "maxQueueBytes", 8 * 1024 * 1024);
  const closeTimeoutMs = positive(options, "closeTimeoutMs", 3000);

  const stats: HepStats = {
    messages: 0,
    rebuilt: 0,
    qualityReports: 0,
    skipped: 0,
    calls: 0,
    sent: 0,
    failed: 0,
  };
  const warned = new Set<string>();
  const warnOnce = (kind: string, message: string) => {
    if (warned.has(kind)) return;
    warned.add(kind);
    context.warn(message);
  };
  const problem: ProblemReport = (what) =>
    warnOnce(`send:${what.split(":")[0]}`, `${options.address} (${transport}): ${what}`);

  let sender: HepSender;
  if (transport === "udp") {
    let target = host;
    let family: 4 | 6 = parseIPv4(host) !== null ? 4 : 6;
    if (parseIPv4(host) === null && parseIPv6(host) === null) {
      requireNet(host, "to look up the collector's address");
      try {
        const found = await lookup(host);
        target = found.address;
        family = found.family === 6 ? 6 : 4;
      } catch (error) {
        throw new TypeError(
          `Cannot resolve the HEP collector ${host}: ${(error as Error).message}`,
        );
      }
    }
    // A UDP socket binds to the wildcard address first, then sends to the collector.
    requireNet(family === 6 ? "[::]:0" : "0.0.0.0:0", "for the UDP socket's local end");
    requireNet(
      family === 6 ? `[${target}]:${port}` : `${target}:${port}`,
      "to reach the collector",
    );
    const udp = new UdpHepSender(target, port, family, maxQueueBytes, stats, problem);
    await udp.bind();
    sender = udp;
  } else {
    requireNet(`${host}:${port}`, "to reach the collector");
    sender = new TcpHepSender(host, port, maxQueueBytes, stats, problem);
  }

  const pending = new Map<string, Pending>();
  const legCallIds = new Map<string, string>(); // leg id → Call-ID, for the quality reports
  let bufferedBytes = 0;
  let lastSweep = 0;

  function encode(packet: Omit<HepPacket, "agentId" | "authKey">): Uint8Array | null {
    try {
      return encodeHep({ ...packet, agentId, authKey });
    } catch (error) {
      stats.skipped++;
      warnOnce("encode", `a message was not exported: ${(error as Error).message}`);
      return null;
    }
  }

  function flush(entry: Pending): void {
    for (const packet of entry.packets) sender.send(packet);
    bufferedBytes -= entry.bytes;
    entry.packets = [];
    entry.bytes = 0;
  }

  function release(callId: string): void {
    const entry = pending.get(callId);
    if (!entry) return;
    flush(entry);
    pending.delete(callId);
  }

  function keep(callId: string, packet: Uint8Array, ts: number): void {
    let entry = pending.get(callId);
    if (!entry) {
      entry = { packets: [], bytes: 0, call: false, lastTs: ts };
      pending.set(callId, entry);
    }
    entry.packets.push(packet);
    entry.bytes += packet.length;
    entry.lastTs = Math.max(entry.lastTs, ts);
    bufferedBytes += packet.length;
    if (entry.packets.length >= maxMessages) {
      warnOnce("early", `a Call-ID reached ${maxMessages} messages; they were sent before its end`);
      flush(entry);
    }
    while (bufferedBytes > maxBufferedBytes || pending.size > maxBufferedCalls) {
      const oldest = pending.keys().next();
      if (oldest.done) break;
      warnOnce("full", "the HEP buffer is full; the oldest calls were sent before their end");
      release(oldest.value);
    }
  }

  /** Sends what has waited long enough outside any call (REGISTER, OPTIONS, late messages). */
  function sweep(now: number): void {
    if (now - lastSweep < 1) return;
    lastSweep = now;
    for (const [callId, entry] of pending) {
      if (!entry.call && now - entry.lastTs >= idleSeconds) release(callId);
    }
  }

  function onSip(e: SipRequestEvent | SipResponseEvent): void {
    const m = e.message;
    let payload = locateSip(context.frame, m);
    if (payload === null) {
      payload = rebuildSip(m);
      stats.rebuilt++;
    }
    const packet = encode({
      src: e.src,
      dst: e.dst,
      ipProtocol: ipProtocolOf(e.transport),
      ts: e.ts,
      protocolType: HEP_PROTOCOL_SIP,
      correlationId: m.callId || null,
      payload,
    });
    if (packet === null) return;
    stats.messages++;
    if (when === "live") {
      sender.send(packet);
      return;
    }
    keep(m.callId, packet, e.ts);
    sweep(e.ts);
  }

  function onStreamEnded(ts: number, stream: RtpStreamRecord): void {
    if (!qualityReports || stream.legId === null) return;
    const callId = legCallIds.get(stream.legId);
    if (callId === undefined) return;
    const packet = encode({
      src: stream.src,
      dst: stream.dst,
      ipProtocol: 17,
      ts: stream.lastArrival || ts,
      protocolType: HEP_PROTOCOL_QOS_REPORT,
      correlationId: callId,
      payload: ENCODER.encode(JSON.stringify(qualityReport(callId, ts, stream))),
    });
    if (packet === null) return;
    stats.qualityReports++;
    if (when === "live" || !pending.has(callId)) sender.send(packet);
    else keep(callId, packet, ts);
  }

  return {
    name: "hep",
    stats,
    on: {
      "sip.request": onSip,
      "sip.response": onSip,
      "call.started": function hepCallStarted(e) {
        legCallIds.set(e.leg.id, e.leg.callId);
        if (when === "live") return;
        const entry = pending.get(e.leg.callId);
        if (entry) entry.call = true;
        else pending.set(e.leg.callId, { packets: [], bytes: 0, call: true, lastTs: e.ts });
      },
      "call.completed": function hepCallCompleted(e) {
        legCallIds.delete(e.leg.id);
        if (when === "live") return;
        if (pending.has(e.leg.callId)) stats.calls++;
        release(e.leg.callId);
      },
      "rtp.stream.ended": function hepStreamEnded(e) {
        onStreamEnded(e.ts, e.stream);
      },
    },
    async close() {
      for (const callId of [...pending.keys()]) release(callId);
      await sender.close(closeTimeoutMs);
      context.log(
        `${stats.sent} HEP packets sent to ${options.address} (${transport}), ` +
          `${stats.messages} SIP messages` +
          (when === "completed" ? ` of ${stats.calls} calls` : "") +
          (stats.qualityReports ? `, ${stats.qualityReports} quality reports` : "") +
          (stats.failed ? `; ${stats.failed} lost (collector down or queue full)` : "") +
          (stats.skipped ? `; ${stats.skipped} too large for HEP` : ""),
      );
    },
  };
}

/**
 * A stream's final quality report in the JSON field names of sipcapture's
 * RTP-agent reports (HEP type 0x22), with what this analyzer measures.
 */
function qualityReport(
  callId: string,
  ts: number,
  s: RtpStreamRecord,
): Record<string, string | number | null> {
  const direction = s.direction === "callee-to-caller" ? 1 : 0;
  return {
    CORRELATION_ID: callId,
    RTP_SIP_CALL_ID: callId,
    TYPE: "FINAL",
    REPORT_TS: ts,
    SRC_IP: s.src.ip,
    SRC_PORT: s.src.port,
    DST_IP: s.dst.ip,
    DST_PORT: s.dst.port,
    SSRC: s.ssrcHex,
    DIR: direction,
    PARTY: direction,
    CODEC_PT: s.payloadTypes[0] ?? null,
    CODEC_NAME: s.codecs[0] ?? null,
    CLOCK: s.clockRate,
    TOTAL_PK: s.packets,
    EXPECTED_PK: s.expected,
    PACKET_LOSS: Math.max(0, s.lost),
    OUT_ORDER: s.outOfOrder,
    SEQ: s.sequenceErrors,
    JITTER: round3(s.lastJitterMs),
    MEAN_JITTER: round3(s.meanJitterMs),
    MAX_JITTER: round3(s.maxJitterMs),
    DELTA: round3(s.meanDeltaMs),
    MAX_DELTA: round3(s.maxDeltaMs),
    MAX_SKEW: round3(s.maxSkewMs),
    MOS: s.mos ? round3(s.mos.mos) : null,
    RFACTOR: s.mos ? round3(s.mos.rFactor) : null,
  };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
