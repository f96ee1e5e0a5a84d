/**
 * The stable JSON form of events, for the NDJSON export and everything else
 * that writes events out. Events carry live, non-JSON objects (a SIP
 * message's headers are a Map and its body bytes; a call event carries the
 * live `CallLeg`), so each event type has a documented plain form here;
 * `plugins/export/SCHEMA.md` describes every field.
 *
 * Names from the wire never become object keys: SIP headers are written as
 * `[name, value]` pairs, so a header named `__proto__` is an ordinary string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serializeEvent } from "./serialize.ts";
 *
 * const line = serializeEvent({
 *   type: "dtmf", ts: 1700000000.5, legId: "abc", digit: "5", durationMs: 100,
 *   from: "caller", source: "rfc4733",
 * });
 * assert.equal(line.time, "2023-11-14T22:13:20.500Z");
 * assert.equal(line.digit, "5");
 * ```
 *
 * @module
 */

import type { Party } from "../../engine/calls/leg.ts";
import type {
  Endpoint,
  PacketwaveEvent,
  PacketwaveEventType,
  SipRequestEvent,
  SipResponseEvent,
} from "../../engine/events.ts";
import type { NameAddr, SipMessage } from "../../engine/sip/types.ts";

/** Every event type, in the order `engine/events.ts` documents them. */
const EVENT_TYPES: Record<PacketwaveEventType, true> = {
  "sip.request": true,
  "sip.response": true,
  "rtcp.packet": true,
  "anomaly": true,
  "call.started": true,
  "call.ringing": true,
  "call.answered": true,
  "call.held": true,
  "call.resumed": true,
  "call.referred": true,
  "call.ended": true,
  "call.completed": true,
  "rtp.stream.started": true,
  "rtp.stream.ended": true,
  "dtmf": true,
  "registration": true,
  "scenario.matched": true,
  "rule.event": true,
  "logical.completed": true,
};

/** The names of every event type (the compiler checks the list is complete). */
export const ALL_EVENT_TYPES: readonly PacketwaveEventType[] = Object.keys(
  EVENT_TYPES,
) as PacketwaveEventType[];

/** A JSON value. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A serialized event: always `type`, `ts` and `time`, then the type's own fields. */
export interface SerializedEvent {
  /** The event type. */
  type: PacketwaveEventType;
  /** Capture time, seconds since the Unix epoch. */
  ts: number;
  /** The same time as ISO 8601 UTC with milliseconds (`null` for a time out of range). */
  time: string | null;
  /** The type's own fields (see SCHEMA.md). */
  [field: string]: unknown;
}

/** A party as serialized: the URI's user, the display name, the URI and the dialog tag. */
export interface SerializedParty {
  /** User part of the URI. */
  user: string | null;
  /** Display name, unquoted. */
  displayName: string | null;
  /** The URI as written. */
  uri: string | null;
  /** The `tag` parameter. */
  tag: string | null;
}

/** A SIP message body as serialized. */
export type SerializedBody =
  | { contentType: string | null; length: number; text: string }
  | { contentType: string | null; length: number; base64: string };

/** A SIP message as serialized (requests have method and URI, responses status and reason). */
export interface SerializedSipMessage {
  /** Request method as written (requests). */
  method?: string;
  /** Request-URI as written (requests). */
  requestUri?: string;
  /** Status code (responses). */
  status?: number;
  /** Reason phrase (responses). */
  reason?: string;
  /** Call-ID (empty when missing). */
  callId: string;
  /** CSeq, or `null` when missing or unparseable. */
  cseq: { seq: number; method: string } | null;
  /** From. */
  from: SerializedParty | null;
  /** To. */
  to: SerializedParty | null;
  /** Every header line in wire order as `[lower-case full name, value]`. */
  headers: [string, string][];
  /** The body, or `null` when empty. */
  body: SerializedBody | null;
  /** Size of the whole message in bytes. */
  size: number;
  /** Defects the parser tolerated. */
  warnings: string[];
}

/**
 * Formats a capture time as ISO 8601 UTC with milliseconds.
 *
 * @param ts Seconds since the Unix epoch.
 * @returns Such as `2025-03-19T04:24:58.307Z`, or `null` for `null` or a time out of range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isoTime(0), "1970-01-01T00:00:00.000Z");
 * assert.equal(isoTime(null), null);
 * ```
 */
export function isoTime(ts: number | null | undefined): string | null {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return null;
  const date = new Date(Math.round(ts * 1000));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * The plain form of any event, ready for `JSON.stringify`.
 *
 * SIP events get an explicit form ({@link serializeSipMessage}); call events
 * carry the leg's record (`leg.toJSON()`); every other event is plain data
 * already and keeps its fields as `engine/events.ts` documents them.
 *
 * @param event Any event.
 * @returns Its serialized form: `type`, `ts`, `time`, then its fields.
 */
export function serializeEvent(event: PacketwaveEvent): SerializedEvent {
  const head = { type: event.type, ts: event.ts, time: isoTime(event.ts) };
  switch (event.type) {
    case "sip.request":
    case "sip.response":
      return { ...head, ...sipEventFields(event) };
    case "call.started":
    case "call.ringing":
    case "call.answered":
    case "call.held":
    case "call.resumed":
    case "call.referred":
    case "call.ended":
    case "call.completed":
      return { ...head, leg: event.leg.toJSON() };
    case "rtp.stream.started":
    case "rtp.stream.ended":
      return { ...head, stream: event.stream };
    case "logical.completed":
      return { ...head, call: event.call };
    case "registration":
      return { ...head, registration: event.registration };
    default: {
      const { type: _type, ts: _ts, ...rest } = event;
      return { ...head, ...rest };
    }
  }
}

function sipEventFields(
  event: SipRequestEvent | SipResponseEvent,
): { frame: number; src: Endpoint; dst: Endpoint; transport: string } & SerializedSipMessage {
  return {
    frame: event.frame,
    src: { ip: event.src.ip, port: event.src.port },
    dst: { ip: event.dst.ip, port: event.dst.port },
    transport: event.transport,
    ...serializeSipMessage(event.message),
  };
}

/**
 * The plain form of a SIP message: start line, Call-ID, CSeq, From/To
 * (user, display name, URI, tag), headers as `[name, value]` pairs, and the
 * body as text when it is textual, else as base64 with its length.
 *
 * @param message A parsed message.
 * @returns Its serialized form.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSipMessage } from "../../engine/sip/parse.ts";
 * const parsed = parseSipMessage(new TextEncoder().encode(
 *   "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n__proto__: 1\r\n\r\n",
 * ));
 * assert.ok(parsed.ok);
 * const s = serializeSipMessage(parsed.message);
 * assert.equal(s.method, "OPTIONS");
 * assert.deepEqual(s.headers.at(-1), ["__proto__", "1"]);
 * ```
 */
export function serializeSipMessage(message: SipMessage): SerializedSipMessage {
  const start = message.kind === "request"
    ? { method: message.method, requestUri: message.requestUriRaw }
    : { status: message.status, reason: message.reason };
  const headers: [string, string][] = [];
  for (const [name, value] of message.headers.entries()) headers.push([name, value]);
  return {
    ...start,
    callId: message.callId,
    cseq: message.cseq ? { seq: message.cseq.seq, method: message.cseq.method } : null,
    from: serializeNameAddr(message.from),
    to: serializeNameAddr(message.to),
    headers,
    body: serializeBody(message.body, message.contentType),
    size: message.size,
    warnings: [...message.warnings],
  };
}

/**
 * The serialized form of a From/To header value.
 *
 * @param nameAddr The parsed header, or `null`.
 * @returns User, display name, URI and tag, or `null`.
 */
export function serializeNameAddr(nameAddr: NameAddr | null): SerializedParty | null {
  if (nameAddr === null) return null;
  return {
    user: nameAddr.uri?.user ?? null,
    displayName: nameAddr.displayName,
    uri: nameAddr.uri?.raw ?? nameAddr.rawUri,
    tag: nameAddr.tag,
  };
}

/**
 * A party's serialized form, from a leg's record.
 *
 * @param party A party of a call leg.
 * @returns The same four fields as {@link serializeNameAddr}.
 */
export function serializeParty(party: Party): SerializedParty {
  return { user: party.user, displayName: party.displayName, uri: party.uri, tag: party.tag };
}

/** Content types whose bodies are text (besides `text/*` and `+xml`/`+json` suffixes). */
const TEXT_TYPES: ReadonlySet<string> = new Set([
  "application/sdp",
  "application/dtmf-relay",
  "application/dtmf",
  "application/json",
  "application/xml",
  "application/simple-message-summary",
  "application/media_control+xml",
  "message/sipfrag",
  "message/cpim",
]);

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Whether a body is text: its content type says so (or it is multipart or
 * has no type), it is valid UTF-8, and it has no control characters but
 * tab, CR and LF.
 *
 * @param body The bytes.
 * @param contentType Lower-case content type without parameters, or `null`.
 * @returns The text, or `null` when the body is binary.
 */
export function bodyText(body: Uint8Array, contentType: string | null): string | null {
  const type = contentType ?? "";
  const textual = type === "" || type.startsWith("text/") || type.startsWith("multipart/") ||
    type.endsWith("+xml") || type.endsWith("+json") || TEXT_TYPES.has(type);
  if (!textual) return null;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return null;
  }
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    return null;
  }
}

/**
 * Serializes a body: text when textual ({@link bodyText}), else base64.
 *
 * @param body The bytes.
 * @param contentType Lower-case content type, or `null`.
 * @returns The body's form, or `null` when it is empty.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(serializeBody(Uint8Array.of(0, 1, 2), "application/isup"), {
 *   contentType: "application/isup", length: 3, base64: "AAEC",
 * });
 * ```
 */
export function serializeBody(
  body: Uint8Array,
  contentType: string | null,
): SerializedBody | null {
  if (body.length === 0) return null;
  const text = bodyText(body, contentType);
  if (text !== null) return { contentType, length: body.length, text };
  return { contentType, length: body.length, base64: base64Of(body) };
}

/**
 * Base64 of bytes (standard alphabet, padded).
 *
 * @param bytes The bytes.
 * @returns Their base64 text.
 */
export function base64Of(bytes: Uint8Array): string {
  let binary = "";
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}
