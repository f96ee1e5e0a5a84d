/**
 * SIP over TCP and over WebSocket: per connection, reassembles both
 * directions, tells SIP from other traffic by content, frames SIP messages
 * by Content-Length (several in one segment, one over many segments), and
 * unwraps WebSocket frames after an HTTP upgrade (RFC 7118).
 *
 * @module
 */

import type { SipTransport } from "../events.ts";
import { sipMessageLength, skipKeepAlive } from "../sip/framing.ts";
import { looksLikeSip } from "../sip/detect.ts";
import type { DecodedPacket } from "./packet.ts";
import { TcpDirection } from "./tcp_reassembly.ts";

/** Receives the SIP messages found in TCP streams. */
export interface TcpSipHandler {
  /** One complete SIP message in `bytes[start..end)`, valid during the call. */
  onMessage(bytes: Uint8Array, start: number, end: number, transport: SipTransport): void;
  /** Something odd in a stream. */
  onAnomaly(reason: string, detail: string): void;
}

/** Limits of the connection table. */
export interface TcpSipLimits {
  /** Connections tracked at once; the least recently active is dropped past it. */
  maxConnections: number;
  /** Capture-time seconds of silence after which a connection is forgotten. */
  idleSeconds: number;
  /** Bytes looked at before a stream that never showed SIP is ignored. */
  detectBytes: number;
}

/** Defaults. */
export const DEFAULT_TCP_SIP_LIMITS: TcpSipLimits = {
  maxConnections: 20000,
  idleSeconds: 600,
  detectBytes: 64 * 1024,
};

type Mode = "detect" | "sip" | "websocket" | "ignored";

class Side {
  readonly stream = new TcpDirection();
  mode: Mode = "detect";
  /** Bytes examined while detecting. */
  examined = 0;
  /** A WebSocket message being assembled from continuation frames. */
  wsParts: Uint8Array[] = [];
}

class Connection {
  /** The side whose packets go from the lower endpoint key to the higher. */
  forward = new Side();
  backward = new Side();
  lastTs = 0;
  /** Set once either side sent an HTTP upgrade to WebSocket. */
  websocket = false;
}

const HTTP_GET = [0x47, 0x45, 0x54, 0x20]; // "GET "
const HTTP_101 = "HTTP/1.1 101";
const LATIN1 = new TextDecoder("latin1");

/** Tracks TCP connections and pulls SIP messages out of them. */
export class TcpSipTracker {
  readonly #connections = new Map<string, Connection>();
  readonly #handler: TcpSipHandler;
  readonly #limits: TcpSipLimits;
  #lastSweep = 0;
  /** Segments that only repeated bytes already seen. */
  retransmissions = 0;

  /**
   * @param handler Receives messages and anomalies.
   * @param limits Table limits; defaults to {@link DEFAULT_TCP_SIP_LIMITS}.
   */
  constructor(handler: TcpSipHandler, limits: Partial<TcpSipLimits> = {}) {
    this.#handler = handler;
    this.#limits = { ...DEFAULT_TCP_SIP_LIMITS, ...limits };
  }

  /** Connections being tracked. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * Feeds one TCP segment.
   *
   * @param p The decoded segment (protocol TCP).
   */
  push(p: DecodedPacket): void {
    if (p.ts - this.#lastSweep > 10) this.#sweep(p.ts);
    const src = endpointKey(p, true);
    const dst = endpointKey(p, false);
    const forward = src < dst;
    const key = forward ? `${src}|${dst}` : `${dst}|${src}`;
    let connection = this.#connections.get(key);
    const syn = (p.tcpFlags & 0x02) !== 0;
    if (!connection) {
      if (p.payloadLength === 0 && !syn) return;
      if (this.#connections.size >= this.#limits.maxConnections) {
        const oldest = this.#connections.keys().next().value;
        if (oldest !== undefined) this.#connections.delete(oldest);
        this.#handler.onAnomaly(
          "tcp.table-full",
          "too many TCP connections; the oldest was dropped",
        );
      }
      connection = new Connection();
    } else {
      this.#connections.delete(key); // re-inserted below: the map stays in recency order
    }
    this.#connections.set(key, connection);
    connection.lastTs = p.ts;
    let side = forward ? connection.forward : connection.backward;
    if (syn && side.stream.nextSeq >= 0 && side.stream.nextSeq !== ((p.tcpSeq + 1) >>> 0)) {
      // A new connection on the same addresses and ports: start this direction afresh.
      side = new Side();
      if (forward) connection.forward = side;
      else connection.backward = side;
    }
    if ((p.tcpFlags & 0x05) !== 0) side.stream.closed = true; // FIN or RST
    if (side.mode === "ignored") return;
    const result = side.stream.push(p.tcpSeq, p.bytes, p.payloadStart, p.payloadEnd, syn);
    if (result === "retransmission") this.retransmissions++;
    if (result !== "data") return;
    if (side.stream.gap) {
      side.stream.gap = false;
      this.#handler.onAnomaly("tcp.gap", "bytes missing from a TCP stream; resynchronizing");
      if (side.mode === "sip") side.mode = "detect";
    }
    this.#drain(connection, side);
    if (connection.forward.stream.closed && connection.backward.stream.closed) {
      this.#connections.delete(key);
    }
  }

  /** Forgets every connection (end of input). */
  flush(): void {
    this.#connections.clear();
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, c] of this.#connections) {
      if (now - c.lastTs <= this.#limits.idleSeconds) break; // recency order: the rest are newer
      this.#connections.delete(key);
    }
  }

  #drain(connection: Connection, side: Side): void {
    const s = side.stream;
    for (;;) {
      if (side.mode === "detect" && !this.#detect(connection, side)) return;
      if (side.mode === "ignored") {
        s.consume(s.length);
        return;
      }
      if (side.mode === "websocket") return this.#drainWebSocket(side);
      // SIP framed by Content-Length.
      const skip = skipKeepAlive(s.buffer, 0, s.length);
      if (skip > 0) s.consume(skip);
      if (s.length === 0) return;
      const n = sipMessageLength(s.buffer, 0, s.length);
      if (n === 0) return;
      if (n < 0) {
        this.#handler.onAnomaly("tcp.sip-garbage", "bytes in a SIP stream that are not SIP");
        side.mode = "detect";
        s.consume(1);
        continue;
      }
      this.#handler.onMessage(s.buffer, 0, n, "tcp");
      s.consume(n);
    }
  }

  /** Decides what a stream carries; returns false when more bytes are needed. */
  #detect(connection: Connection, side: Side): boolean {
    const s = side.stream;
    const b = s.buffer;
    const skip = skipKeepAlive(b, 0, s.length);
    if (skip > 0) s.consume(skip);
    if (s.length === 0) return false;
    if (looksLikeSip(b, 0, s.length)) {
      side.mode = "sip";
      return true;
    }
    const headerEnd = indexOfHeaderEnd(b, s.length);
    if (startsWith(b, s.length, HTTP_GET)) {
      if (headerEnd < 0) return this.#stillDetecting(side);
      const head = LATIN1.decode(b.subarray(0, headerEnd));
      if (/^upgrade:[ \t]*websocket/im.test(head)) {
        connection.websocket = true;
        side.mode = "websocket";
        s.consume(headerEnd);
        return true;
      }
    } else if (connection.websocket && LATIN1.decode(b.subarray(0, 12)) === HTTP_101) {
      if (headerEnd < 0) return this.#stillDetecting(side);
      side.mode = "websocket";
      s.consume(headerEnd);
      return true;
    }
    // Not SIP at the start: look for a SIP start line at a later line boundary.
    for (let i = 1; i < s.length; i++) {
      if (b[i - 1] === 0x0a && looksLikeSip(b, i, s.length - i)) {
        this.#handler.onAnomaly("tcp.sip-resync", `skipped ${i} bytes to the next SIP message`);
        s.consume(i);
        side.mode = "sip";
        return true;
      }
    }
    return this.#stillDetecting(side);
  }

  #stillDetecting(side: Side): boolean {
    side.examined += side.stream.length;
    if (side.examined > this.#limits.detectBytes) {
      side.mode = "ignored";
      return true;
    }
    // Keep the last line: a SIP start line may be arriving in pieces.
    const b = side.stream.buffer;
    let lastLine = side.stream.length;
    while (lastLine > 0 && b[lastLine - 1] !== 0x0a) lastLine--;
    side.stream.consume(lastLine);
    return false;
  }

  #drainWebSocket(side: Side): void {
    const s = side.stream;
    for (;;) {
      const b = s.buffer;
      if (s.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let length = b[1]! & 0x7f;
      let o = 2;
      if (length === 126) {
        if (s.length < 4) return;
        length = (b[2]! << 8) | b[3]!;
        o = 4;
      } else if (length === 127) {
        if (s.length < 10) return;
        length = (b[6]! * 16777216) + ((b[7]! << 16) | (b[8]! << 8) | b[9]!);
        o = 10;
        if (b[2] || b[3] || b[4] || b[5] || length > 16 << 20) {
          this.#handler.onAnomaly("ws.bad-frame", "WebSocket frame longer than 16 MiB");
          side.mode = "ignored";
          return;
        }
      }
      const maskAt = o;
      if (masked) o += 4;
      if (s.length < o + length) return;
      const payload = b.slice(o, o + length);
      if (masked) {
        for (let i = 0; i < length; i++) payload[i]! ^= b[maskAt + (i & 3)]!;
      }
      s.consume(o + length);
      if (opcode === 8) {
        side.mode = "ignored";
        return;
      }
      if (opcode !== 0 && opcode !== 1 && opcode !== 2) continue; // ping, pong, reserved
      side.wsParts.push(payload);
      if (!fin) continue;
      const message = concat(side.wsParts);
      side.wsParts = [];
      if (looksLikeSip(message, 0, message.length)) {
        this.#handler.onMessage(message, 0, message.length, "ws");
      }
    }
  }
}

function endpointKey(p: DecodedPacket, source: boolean): string {
  if (p.ipVersion === 4) {
    return `${source ? p.srcV4 : p.dstV4}:${source ? p.srcPort : p.dstPort}`;
  }
  const a = source ? p.srcV6 : p.dstV6;
  let text = "";
  for (let i = 0; i < 16; i++) text += a[i]!.toString(16).padStart(2, "0");
  return `${text}:${source ? p.srcPort : p.dstPort}`;
}

function startsWith(b: Uint8Array, length: number, prefix: number[]): boolean {
  if (length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** Offset just past the first CRLFCRLF, or -1. */
function indexOfHeaderEnd(b: Uint8Array, length: number): number {
  for (let i = 3; i < length; i++) {
    if (b[i] === 0x0a && b[i - 1] === 0x0d && b[i - 2] === 0x0a && b[i - 3] === 0x0d) return i + 1;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
