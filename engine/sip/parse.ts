/**
 * SIP message parser (RFC 3261 §7): start line, headers, body framing and
 * the fields every later stage reads.
 *
 * @module
 */

import {
  isTokenChar,
  MAX_HEADER_LINE_LENGTH,
  parseHeaderBlock,
  type SipHeaders,
} from "./headers.ts";
import { multipartBoundary, parseMultipart } from "./multipart.ts";
import { parseNameAddr } from "./name_addr.ts";
import type { BodyPart, CSeq, NameAddr, SipMessage, SipParseResult, Via } from "./types.ts";
import { parseSipUri } from "./uri.ts";
import { parseVia } from "./via.ts";

/** Options of {@linkcode parseSipMessage}. */
export interface ParseSipOptions {
  /**
   * How the bytes were carried. `"datagram"` (UDP, SCTP, WebSocket; the
   * default): the bytes are exactly one message, Content-Length is optional.
   * `"stream"` (TCP, TLS): the bytes start with one message framed by
   * Content-Length (see `framing.ts`); what follows belongs to the next one.
   */
  framing?: "datagram" | "stream";
  /** Cap on header lines (default 256, `MAX_HEADERS` of `headers.ts`). */
  maxHeaders?: number;
  /** Cap on one unfolded header line, in characters (default 16384, `MAX_HEADER_LINE_LENGTH`). */
  maxLineLength?: number;
}

/** Longest method token accepted on a request line. */
export const MAX_METHOD_LENGTH = 32;

const LF = 0x0a;
const CR = 0x0d;
const DECODER = new TextDecoder();
/** The body of every message without one (empty: nothing can be written into it). */
const NO_BODY = new Uint8Array(0);
/** The parts of every message without a multipart body (frozen). */
const NO_PARTS: readonly BodyPart[] = Object.freeze([]);
const SIP_VERSION = "SIP/2.0";

type StartLine =
  | { kind: "request"; method: string; uriText: string }
  | { kind: "response"; status: number; reason: string }
  | { kind: "error"; reason: string };

function isSipVersion(text: string): boolean {
  return text.length === 7 && text.toUpperCase() === SIP_VERSION;
}

function parseStartLine(line: string): StartLine {
  if (line.length >= 8 && line.charCodeAt(7) === 0x20 && isSipVersion(line.slice(0, 7))) {
    let end = 8;
    while (end < line.length && line.charCodeAt(end) === 0x20) end++;
    const codeText = line.slice(end, end + 3);
    if (!/^[0-9]{3}$/.test(codeText)) return { kind: "error", reason: "sip.bad-start-line" };
    const after = line.charCodeAt(end + 3);
    if (end + 3 < line.length && after !== 0x20 && after !== 0x09) {
      return { kind: "error", reason: "sip.bad-start-line" };
    }
    const status = Number(codeText);
    if (status < 100 || status > 699) return { kind: "error", reason: "sip.bad-status-code" };
    return { kind: "response", status, reason: line.slice(end + 4).trim() };
  }
  const sp1 = line.indexOf(" ");
  const sp2 = line.lastIndexOf(" ");
  if (sp1 <= 0 || sp1 > MAX_METHOD_LENGTH || sp2 === sp1) {
    return { kind: "error", reason: "sip.bad-start-line" };
  }
  for (let i = 0; i < sp1; i++) {
    if (!isTokenChar(line.charCodeAt(i))) return { kind: "error", reason: "sip.bad-start-line" };
  }
  if (!isSipVersion(line.slice(sp2 + 1))) return { kind: "error", reason: "sip.bad-start-line" };
  const uriText = line.slice(sp1 + 1, sp2).trim();
  if (uriText === "" || uriText.indexOf(" ") >= 0) {
    return { kind: "error", reason: "sip.bad-start-line" };
  }
  return { kind: "request", method: line.slice(0, sp1), uriText };
}

/** Parses a non-negative decimal of at most 9 digits; `null` when invalid. */
function parseDecimal(text: string): number | null {
  const t = text.trim();
  if (t.length === 0 || t.length > 9) return null;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

function parseCSeq(value: string): CSeq | null {
  const t = value.trim();
  let i = 0;
  while (i < t.length && t.charCodeAt(i) >= 0x30 && t.charCodeAt(i) <= 0x39) i++;
  if (i === 0 || i > 10) return null;
  const seq = Number(t.slice(0, i));
  const method = t.slice(i).trim();
  if (method === "" || seq > 0xffffffff) return null;
  for (let k = 0; k < method.length; k++) {
    if (!isTokenChar(method.charCodeAt(k))) return null;
  }
  return { seq, method };
}

function nameAddrField(
  headers: SipHeaders,
  name: string,
  warnings: string[],
): NameAddr | null {
  const value = headers.get(name);
  if (value === undefined) {
    warnings.push(`missing-${name}`);
    return null;
  }
  const parsed = parseNameAddr(value);
  if (parsed === null) warnings.push(`bad-${name}`);
  return parsed;
}

/** Finds the end of the header section. */
function findHeaderEnd(
  bytes: Uint8Array,
  start: number,
): { headerEnd: number; bodyStart: number } | null {
  // A plain loop: a call of indexOf per header line costs more than looking at each byte.
  const end = bytes.length;
  for (let i = start; i < end; i++) {
    if (bytes[i] !== LF) continue;
    const next = i + 1;
    const c = bytes[next];
    if (c === LF) return { headerEnd: next, bodyStart: next + 1 };
    if (c === CR && bytes[next + 1] === LF) return { headerEnd: next, bodyStart: next + 2 };
  }
  return null;
}

function isAllWhitespace(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c !== CR && c !== LF && c !== 0x20 && c !== 0x09 && c !== 0) return false;
  }
  return true;
}

function parseUnchecked(bytes: Uint8Array, options: ParseSipOptions): SipParseResult {
  const stream = options.framing === "stream";
  let start = 0;
  while (start < bytes.length && (bytes[start] === CR || bytes[start] === LF)) start++;
  if (start >= bytes.length) return { ok: false, reason: "sip.empty" };
  const warnings: string[] = [];

  let headerEnd: number;
  let bodyStart: number;
  const found = findHeaderEnd(bytes, start);
  if (found !== null) {
    headerEnd = found.headerEnd;
    bodyStart = found.bodyStart;
  } else if (stream) {
    return { ok: false, reason: "sip.no-header-end" };
  } else {
    // A datagram that stops inside the headers: keep what is there.
    headerEnd = bodyStart = bytes.length;
    warnings.push("no-header-end");
  }

  const text = DECODER.decode(bytes.subarray(start, headerEnd));
  let firstEnd = text.indexOf("\n");
  if (firstEnd < 0) firstEnd = text.length;
  const maxLine = options.maxLineLength ?? MAX_HEADER_LINE_LENGTH;
  if (firstEnd > maxLine) return { ok: false, reason: "sip.header-too-long" };
  const firstLine = text.slice(
    0,
    firstEnd > 0 && text.charCodeAt(firstEnd - 1) === 0x0d ? firstEnd - 1 : firstEnd,
  );
  const startLine = parseStartLine(firstLine);
  if (startLine.kind === "error") return { ok: false, reason: startLine.reason };

  const block = parseHeaderBlock(text.slice(firstEnd + 1), {
    maxHeaders: options.maxHeaders,
    maxLineLength: options.maxLineLength,
  });
  if (!block.ok) return { ok: false, reason: block.reason };
  const headers = block.headers;
  if (block.warnings.length > 0) warnings.push("bad-header-line");

  const callIdValue = headers.get("call-id");
  const callId = callIdValue?.trim() ?? "";
  if (callIdValue === undefined) warnings.push("missing-call-id");
  const from = nameAddrField(headers, "from", warnings);
  const to = nameAddrField(headers, "to", warnings);

  let cseq: CSeq | null = null;
  const cseqValue = headers.get("cseq");
  if (cseqValue === undefined) warnings.push("missing-cseq");
  else {
    cseq = parseCSeq(cseqValue);
    if (cseq === null) warnings.push("bad-cseq");
    else if (startLine.kind === "request" && cseq.method !== startLine.method) {
      warnings.push("cseq-method-mismatch");
    }
  }

  const vias: Via[] = [];
  const viaValues = headers.getAll("via");
  if (viaValues.length === 0) warnings.push("missing-via");
  let badVia = false;
  for (const value of viaValues) {
    const via = parseVia(value);
    if (via !== null) vias.push(via);
    else badVia = true;
  }
  if (badVia) warnings.push("bad-via");

  const contacts: NameAddr[] = [];
  let badContact = false;
  for (const value of headers.getAll("contact")) {
    const contact = parseNameAddr(value);
    if (contact !== null) contacts.push(contact);
    else badContact = true;
  }
  if (badContact) warnings.push("bad-contact");

  const contentTypeLines = headers.lines("content-type");
  const contentTypeValue = contentTypeLines[0];
  let contentType: string | null = null;
  if (contentTypeValue !== undefined) {
    const semi = contentTypeValue.indexOf(";");
    contentType = (semi < 0 ? contentTypeValue : contentTypeValue.slice(0, semi)).trim()
      .toLowerCase();
    if (contentTypeLines.length > 1) warnings.push("duplicate-content-type");
  }

  const lengthLines = headers.lines("content-length");
  let contentLength: number | null = null;
  if (lengthLines.length > 0) {
    contentLength = parseDecimal(lengthLines[0] ?? "");
    if (contentLength === null) warnings.push("bad-content-length");
    for (let k = 1; k < lengthLines.length; k++) {
      if (parseDecimal(lengthLines[k] ?? "") !== contentLength) {
        warnings.push("conflicting-content-length");
        break;
      }
    }
  }

  // Body framing (RFC 3261 §18.3).
  const available = bytes.length - bodyStart;
  let bodyLength: number;
  if (contentLength === null) {
    if (stream) {
      bodyLength = 0;
      if (lengthLines.length === 0) warnings.push("missing-content-length");
    } else {
      bodyLength = available;
    }
  } else if (contentLength > available) {
    bodyLength = available;
    warnings.push("content-length-exceeds-data");
  } else {
    bodyLength = contentLength;
    if (
      !stream && contentLength < available &&
      !isAllWhitespace(bytes, bodyStart + contentLength, bytes.length)
    ) {
      warnings.push("content-length-shorter-than-data");
    }
  }
  const bodyEnd = bodyStart + bodyLength;
  const body = bodyLength === 0 ? NO_BODY : bytes.slice(bodyStart, bodyEnd);

  let parts: readonly BodyPart[] = NO_PARTS;
  if (contentType !== null && contentType.startsWith("multipart/") && body.length > 0) {
    const boundary = multipartBoundary(contentTypeValue ?? "");
    if (boundary === null) warnings.push("multipart-without-boundary");
    else {
      parts = parseMultipart(body, boundary);
      if (parts.length === 0) warnings.push("multipart-without-parts");
    }
  }

  const size = bodyEnd - start;
  let message: SipMessage;
  if (startLine.kind === "request") {
    const requestUri = parseSipUri(startLine.uriText);
    if (requestUri === null) warnings.push("bad-request-uri");
    message = {
      kind: "request",
      method: startLine.method,
      requestUri,
      requestUriRaw: startLine.uriText,
      headers,
      callId,
      from,
      to,
      cseq,
      vias,
      contacts,
      contentType,
      contentLength,
      body,
      parts,
      warnings,
      size,
    };
  } else {
    message = {
      kind: "response",
      status: startLine.status,
      reason: startLine.reason,
      headers,
      callId,
      from,
      to,
      cseq,
      vias,
      contacts,
      contentType,
      contentLength,
      body,
      parts,
      warnings,
      size,
    };
  }
  return { ok: true, message };
}

/**
 * Parses one SIP message.
 *
 * The start line is a request line (`METHOD SP Request-URI SP SIP/2.0`, any
 * RFC 3261 token as method, case kept) or a status line (`SIP/2.0 SP 3DIGIT
 * SP reason`). Leading CRLF keep-alives and LF-only line ends are accepted.
 * The header section is decoded once (UTF-8); the body is copied out of
 * `bytes`, so the message stays valid when the caller reuses its buffer.
 *
 * Body framing: for a datagram a missing Content-Length means the rest of the
 * datagram; a shorter one cuts the body (warning
 * `content-length-shorter-than-data` unless only padding follows); a longer
 * one takes what is there (warning `content-length-exceeds-data`). For a
 * stream a missing Content-Length means an empty body (warning
 * `missing-content-length`).
 *
 * Missing mandatory headers do not fail the message: `callId` is `""` and a
 * warning such as `missing-call-id` is added, so message counts still match
 * tshark's. Failures are structural: `sip.empty`, `sip.bad-start-line`,
 * `sip.bad-status-code`, `sip.no-header-end` (stream only),
 * `sip.too-many-headers`, `sip.header-too-long`. The function never throws.
 *
 * `message.size` counts the bytes from the start line to the end of the
 * framed body (leading keep-alive CRLFs excluded).
 *
 * @param bytes The message bytes.
 * @param options Framing and caps.
 * @returns The message, or a short failure reason.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = "INVITE sip:*8@112.222.225.104:5060 SIP/2.0\r\n" +
 *   'From: "07086661427,1427" <sip:1427@112.222.225.104>;tag=a\r\n' +
 *   "To: <sip:*8@112.222.225.104>\r\ni: c1@192.168.0.55\r\nCSeq: 1 INVITE\r\n" +
 *   "Via: SIP/2.0/UDP 192.168.0.55:5060;branch=z9hG4bK1\r\nX-xfer-pressed: True\r\nl: 0\r\n\r\n";
 * const result = parseSipMessage(new TextEncoder().encode(text));
 * assert.ok(result.ok && result.message.kind === "request");
 * assert.equal(result.message.requestUri?.user, "*8");
 * assert.equal(result.message.from?.displayName, "07086661427,1427");
 * assert.equal(result.message.headers.get("x-xfer-pressed"), "True");
 * ```
 */
export function parseSipMessage(bytes: Uint8Array, options: ParseSipOptions = {}): SipParseResult {
  try {
    return parseUnchecked(bytes, options);
  } catch {
    // Defensive: a parser bug must not take the pipeline down.
    return { ok: false, reason: "sip.parser-error" };
  }
}
