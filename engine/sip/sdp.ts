/**
 * Session descriptions (SDP, RFC 4566) summarized for call tracking: media
 * endpoints, payload types, direction and hold. Parsing of the attribute
 * lines is done by `npm:sdp-transform`.
 *
 * @module
 */

// @ts-types="./sdp_transform.d.ts"
import { parse as parseSdpText } from "sdp-transform";
import type { SdpTransformMedia, SdpTransformSession } from "./sdp_transform.d.ts";
import { staticPayloadFormat } from "../rtp/payload_types.ts";
import { multipartBoundary, parseMultipart } from "./multipart.ts";
import type { BodyPart, SipMessage } from "./types.ts";
import { RecentValues } from "../recent_values.ts";

/** SDP text longer than this is not parsed. */
export const MAX_SDP_LENGTH = 256 * 1024;

/** Media direction attribute (RFC 4566 §6; `sendrecv` when none is given). */
export type SdpDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** The `o=` line. */
export interface SdpOrigin {
  /** User name (`-` when none). */
  username: string;
  /** Session id, as written (it can exceed 2^53). */
  sessionId: string;
  /** Session version, as written; it grows with every new offer. */
  sessionVersion: string;
  /** Unicast address of the originator. */
  address: string;
}

/** One payload type of a media line. */
export interface SdpPayload {
  /** RTP payload type, 0–127. */
  payloadType: number;
  /** Encoding name as written in `a=rtpmap` (`PCMU`, `telephone-event`), or from the static table; `null` when unknown. */
  encodingName: string | null;
  /** RTP clock rate in Hz; `null` when unknown. */
  clockRate: number | null;
  /** Audio channels (1 unless `a=rtpmap` or the static table says otherwise). */
  channels: number;
  /** The `a=fmtp` parameters as written, or `null`. */
  fmtp: string | null;
}

/** One `m=` section. */
export interface SdpMedia {
  /** Media type: `audio`, `video`, `image`, `application`, ... */
  type: string;
  /** Transport port; 0 means the stream is rejected or disabled. */
  port: number;
  /** Number of ports (`m=audio 4000/2 ...`); 1 when not given. */
  portCount: number;
  /** Transport protocol as written: `RTP/AVP`, `RTP/SAVP`, `udptl`, ... */
  protocol: string;
  /** The format list of the `m=` line, as written (`["0", "8", "101"]`, `["t38"]`). */
  formats: string[];
  /** The numeric formats as payload types, in `m=` order (a repeated type counted once). */
  payloads: SdpPayload[];
  /** Connection address: the media-level `c=` or else the session-level one (TTL suffix removed). */
  connectionAddress: string | null;
  /** Direction: media-level attribute, else session-level, else `sendrecv`. */
  direction: SdpDirection;
  /** Whether this offer/answer puts the stream on hold: `sendonly` or `inactive`, or a `0.0.0.0` / `::` address. */
  onHold: boolean;
  /** `a=ptime` in milliseconds, or `null`. */
  ptime: number | null;
  /** RTCP port: `a=rtcp`, else the media port with `a=rtcp-mux`, else port + 1; `null` when the port is 0. */
  rtcpPort: number | null;
  /** Whether `a=rtcp-mux` is present. */
  rtcpMux: boolean;
  /** Payload type of `telephone-event` (RFC 4733), or `null`. */
  telephoneEventPayloadType: number | null;
}

/** A session description, summarized. */
export interface SdpSummary {
  /** The `o=` line, or `null` when missing or malformed. */
  origin: SdpOrigin | null;
  /** Session-level connection address, or `null`. */
  connectionAddress: string | null;
  /** Session-level direction (`sendrecv` when none). */
  direction: SdpDirection;
  /** Media sections in order. */
  media: SdpMedia[];
}

const DECODER = new TextDecoder();
/**
 * Whether `text[from, to)` holds U+2028 or U+2029: a line holding one is not taken as an SDP
 * line (as `/^([a-z])=(.*)$/` would not match it).
 */
function hasLineSeparator(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}
const DIRECTIONS: ReadonlySet<string> = new Set(["sendrecv", "sendonly", "recvonly", "inactive"]);

function toDirection(value: unknown): SdpDirection | null {
  return typeof value === "string" && DIRECTIONS.has(value) ? value as SdpDirection : null;
}

function toInt(value: unknown): number | null {
  if (typeof value === "number") return Number.isInteger(value) ? value : null;
  if (typeof value === "string" && /^[0-9]{1,10}$/.test(value.trim())) return Number(value);
  return null;
}

/** Connection address without the `/ttl` or `/count` suffix. */
function connectionAddress(ip: unknown): string | null {
  if (ip === undefined || ip === null) return null;
  const text = String(ip);
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  return address === "" ? null : address;
}

function isNullAddress(address: string | null): boolean {
  return address === "0.0.0.0" || address === "::" || address === "0:0:0:0:0:0:0:0";
}

interface MediaLine {
  type: string;
  port: number;
  portCount: number;
  protocol: string;
  formats: string[];
}

function parseMediaLine(content: string): MediaLine | null {
  const fields = content.trim().split(/[ \t]+/);
  const [type = "", portText = "", protocol = ""] = fields;
  const slash = portText.indexOf("/");
  const port = toInt(slash < 0 ? portText : portText.slice(0, slash));
  const portCount = slash < 0 ? 1 : toInt(portText.slice(slash + 1));
  if (type === "" || port === null || port > 65535 || portCount === null || protocol === "") {
    return null;
  }
  return { type, port, portCount, protocol, formats: fields.slice(3).filter((f) => f !== "") };
}

/** Entries by payload type, the first one winning. */
function byPayloadType<T extends { payload?: number | string }>(
  list: T[] | undefined,
): Map<number, T> {
  const map = new Map<number, T>();
  for (const entry of list ?? []) {
    const payloadType = toInt(entry.payload);
    if (payloadType !== null && !map.has(payloadType)) map.set(payloadType, entry);
  }
  return map;
}

function buildPayloads(line: MediaLine, media: SdpTransformMedia): SdpPayload[] {
  const payloads: SdpPayload[] = [];
  const rtpmaps = byPayloadType(media.rtp);
  const fmtps = byPayloadType(media.fmtp);
  const seen = new Set<number>();
  for (const format of line.formats) {
    const payloadType = toInt(format);
    if (payloadType === null || payloadType > 127 || seen.has(payloadType)) continue;
    seen.add(payloadType);
    const rtpmap = rtpmaps.get(payloadType);
    const fmtp = fmtps.get(payloadType);
    let encodingName: string | null = null;
    let clockRate: number | null = null;
    let channels = 1;
    if (rtpmap !== undefined && typeof rtpmap.codec === "string" && rtpmap.codec !== "") {
      encodingName = rtpmap.codec;
      clockRate = toInt(rtpmap.rate);
      channels = toInt(rtpmap.encoding) ?? 1;
      if (channels < 1) channels = 1;
    } else {
      const known = staticPayloadFormat(payloadType);
      if (known !== undefined) {
        encodingName = known.name;
        clockRate = known.clockRate;
        channels = known.channels;
      }
    }
    payloads.push({
      payloadType,
      encodingName,
      clockRate,
      channels,
      fmtp: fmtp?.config === undefined ? null : String(fmtp.config),
    });
  }
  return payloads;
}

function buildOrigin(session: SdpTransformSession, rawOrigin: string | null): SdpOrigin | null {
  const o = session.origin;
  if (o !== undefined && o.address !== undefined) {
    return {
      username: String(o.username ?? ""),
      sessionId: String(o.sessionId ?? ""),
      sessionVersion: String(o.sessionVersion ?? ""),
      address: String(o.address),
    };
  }
  // sdp-transform wants numeric ids; read other shapes field by field.
  const fields = rawOrigin?.trim().split(/[ \t]+/) ?? [];
  if (fields.length < 6) return null;
  return {
    username: fields[0] ?? "",
    sessionId: fields[1] ?? "",
    sessionVersion: fields[2] ?? "",
    address: fields[5] ?? "",
  };
}

function summarize(text: string): SdpSummary | null {
  // Our own pass over the lines: the m= lines (sdp-transform does not read
  // "port/count") and a check that this is SDP at all.
  const mediaLines: (MediaLine | null)[] = [];
  let rawOrigin: string | null = null;
  let sawVersion = false;
  // Lines end at CR LF, CR or LF; only v=, o= and m= lines matter here, so the others are
  // stepped over without a string or a match each.
  const length = text.length;
  for (let pos = 0; pos <= length;) {
    let end = pos;
    while (end < length && text.charCodeAt(end) !== 0x0a && text.charCodeAt(end) !== 0x0d) end++;
    const type = end - pos >= 2 && text.charCodeAt(pos + 1) === 0x3d ? text.charCodeAt(pos) : 0;
    if ((type === 0x6d || type === 0x76 || type === 0x6f) && !hasLineSeparator(text, pos, end)) {
      if (type === 0x6d) mediaLines.push(parseMediaLine(text.slice(pos + 2, end)));
      else if (type === 0x76) sawVersion = true;
      else if (rawOrigin === null && mediaLines.length === 0) rawOrigin = text.slice(pos + 2, end);
    }
    if (end === length) break;
    pos = end + (text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a ? 2 : 1);
  }
  if (!sawVersion && mediaLines.length === 0) return null;

  const session = parseSdpText(text);
  const sessionAddress = connectionAddress(session.connection?.ip);
  const sessionDirection = toDirection(session.direction) ?? "sendrecv";
  const media: SdpMedia[] = [];
  mediaLines.forEach((line, index) => {
    if (line === null) return;
    const m: SdpTransformMedia = session.media?.[index] ?? {};
    const address = connectionAddress(m.connection?.ip) ?? sessionAddress;
    const direction = toDirection(m.direction) ?? sessionDirection;
    const payloads = buildPayloads(line, m);
    const rtcpMux = m.rtcpMux !== undefined;
    let rtcpPort: number | null = toInt(m.rtcp?.port);
    if (rtcpPort === null && line.port !== 0) rtcpPort = rtcpMux ? line.port : line.port + 1;
    const ptime = Number(m.ptime);
    const telephoneEvent = payloads.find((p) =>
      p.encodingName !== null && p.encodingName.toLowerCase() === "telephone-event"
    );
    media.push({
      type: line.type,
      port: line.port,
      portCount: line.portCount,
      protocol: line.protocol,
      formats: line.formats,
      payloads,
      connectionAddress: address,
      direction,
      onHold: direction === "sendonly" || direction === "inactive" || isNullAddress(address),
      ptime: m.ptime !== undefined && Number.isFinite(ptime) && ptime > 0 ? ptime : null,
      rtcpPort,
      rtcpMux,
      telephoneEventPayloadType: telephoneEvent?.payloadType ?? null,
    });
  });
  return {
    origin: buildOrigin(session, rawOrigin),
    connectionAddress: sessionAddress,
    direction: sessionDirection,
    media,
  };
}

/**
 * Parses and summarizes a session description. Static payload types (RFC
 * 3551) without `a=rtpmap` get their name and clock rate from the static
 * table (`9` → G722 at 8000 Hz). A malformed `m=` line is left out; other
 * garbage lines are ignored.
 *
 * @param text SDP text.
 * @returns The summary, or `null` when the text has neither a `v=` nor an
 *   `m=` line, is over {@linkcode MAX_SDP_LENGTH}, or cannot be read. Never throws.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const sdp = parseSdp(
 *   "v=0\r\no=- 1 2 IN IP4 192.168.0.55\r\ns=-\r\nc=IN IP4 192.168.0.55\r\nt=0 0\r\n" +
 *     "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n",
 * );
 * assert.equal(sdp?.media[0]?.payloads[0]?.encodingName, "PCMU");
 * assert.equal(sdp?.media[0]?.telephoneEventPayloadType, 101);
 * assert.equal(sdp?.media[0]?.onHold, true);
 * assert.equal(sdp?.media[0]?.rtcpPort, 4001);
 * ```
 */
export function parseSdp(text: string): SdpSummary | null {
  if (text.length > MAX_SDP_LENGTH) return null;
  // The same body comes again and again (an INVITE re-sent after a 407, retransmissions,
  // each hop of a proxy): keep the last few summaries. They are shared: read them, never change them.
  const cached = SDP_CACHE.get(text);
  if (cached !== undefined) return cached;
  let summary: SdpSummary | null;
  try {
    summary = summarize(text);
  } catch {
    summary = null;
  }
  SDP_CACHE.set(text, summary);
  return summary;
}

const SDP_CACHE = new RecentValues<string, SdpSummary | null>(256);

/** Whether the bytes start (after whitespace) with `v=0`. */
function startsLikeSdp(body: Uint8Array): boolean {
  let i = 0;
  while (i < body.length && (body[i] === 0x0d || body[i] === 0x0a || body[i] === 0x20)) i++;
  return body[i] === 0x76 && body[i + 1] === 0x3d;
}

function findSdpPart(parts: readonly BodyPart[], depth: number): Uint8Array | null {
  for (const part of parts) {
    if (part.contentType === "application/sdp") return part.body;
    if (part.contentType.startsWith("multipart/") && depth < 3) {
      const boundary = multipartBoundary(part.headers.get("content-type") ?? "");
      if (boundary === null) continue;
      const found = findSdpPart(parseMultipart(part.body, boundary), depth + 1);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * The session description carried by a SIP message: an `application/sdp`
 * body, an `application/sdp` part of a multipart body (nested multiparts
 * too), or a body without Content-Type that starts with `v=`.
 *
 * @param message A parsed SIP message.
 * @returns The summary, or `null` when the message carries no SDP.
 */
export function sdpFromMessage(message: SipMessage): SdpSummary | null {
  if (message.body.length === 0) return null;
  let bytes: Uint8Array | null = null;
  if (message.contentType === "application/sdp") bytes = message.body;
  else if (message.parts.length > 0) bytes = findSdpPart(message.parts, 0);
  else if (message.contentType === null && startsLikeSdp(message.body)) bytes = message.body;
  return bytes === null ? null : parseSdp(DECODER.decode(bytes));
}
