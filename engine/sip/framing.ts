/**
 * Framing of SIP over a byte stream (TCP, TLS): where one message ends and
 * the next begins (RFC 3261 §18.3, §7.5).
 *
 * @module
 */

import { isTokenChar } from "./headers.ts";
import { looksLikeSip, MAX_FIRST_LINE } from "./detect.ts";

/** Largest header section accepted on a stream before giving up on it. */
export const MAX_STREAM_HEADER_BYTES = 65536;

/** Largest Content-Length accepted on a stream. */
export const MAX_STREAM_BODY_BYTES = 16 * 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const CONTENT_LENGTH = "content-length";

/**
 * Counts the CR and LF bytes at `offset`: keep-alives sent between messages
 * (RFC 5626 §3.5.1 uses CRLFCRLF "pings" and CRLF "pongs").
 *
 * @param data Buffer.
 * @param offset Start of the stream data in `data`.
 * @param length Bytes available from `offset`.
 * @returns Number of keep-alive bytes to drop before the next message.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const data = new TextEncoder().encode("\r\n\r\nOPTIONS");
 * assert.equal(skipKeepAlive(data, 0, data.length), 4);
 * ```
 */
export function skipKeepAlive(data: Uint8Array, offset: number, length: number): number {
  const end = Math.min(offset + length, data.length);
  let i = offset;
  while (i < end && (data[i] === CR || data[i] === LF)) i++;
  return i - offset;
}

/** Whether a header line [start, end) is named Content-Length or `l`; returns the value start or -1. */
function contentLengthValueStart(data: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && isTokenChar(data[i] ?? 0)) i++;
  const nameLength = i - start;
  if (nameLength === 1) {
    const c = data[start] ?? 0;
    if (c !== 0x6c && c !== 0x4c) return -1;
  } else if (nameLength === CONTENT_LENGTH.length) {
    for (let k = 0; k < nameLength; k++) {
      if (((data[start + k] ?? 0) | 0x20) !== CONTENT_LENGTH.charCodeAt(k)) return -1;
    }
  } else {
    return -1;
  }
  while (i < end && (data[i] === SP || data[i] === HTAB)) i++;
  return data[i] === COLON ? i + 1 : -1;
}

/**
 * Reads a Content-Length value: digits between optional whitespace.
 *
 * @returns The value; 0 when it is not a number (the parser warns about
 *   that); -1 when it is over {@linkcode MAX_STREAM_BODY_BYTES}.
 */
function readLength(data: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && (data[i] === SP || data[i] === HTAB)) i++;
  let n = 0;
  let digits = 0;
  while (i < end) {
    const c = data[i] ?? 0;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    if (++digits > 9 || n > MAX_STREAM_BODY_BYTES) return -1;
    i++;
  }
  while (i < end && (data[i] === SP || data[i] === HTAB)) i++;
  return digits === 0 || i !== end ? 0 : n;
}

/** Whether an unfinished first line could still become a SIP start line. */
function plausiblePrefix(data: Uint8Array, start: number, end: number): boolean {
  if (end - start > MAX_FIRST_LINE) return false;
  for (let i = start; i < end; i++) {
    const c = data[i] ?? 0;
    if (c === SP) return true;
    if (!isTokenChar(c) && c !== 0x2f) return false; // '/' for "SIP/2.0"
    if (i - start > 32) return false;
  }
  return true;
}

/**
 * Length of the first complete SIP message in a byte stream: its header
 * section, the empty line and Content-Length bytes of body (`l:` counts too;
 * a missing Content-Length means no body, as RFC 3261 §18.3 makes it
 * mandatory on streams; a value that is not a number counts as 0).
 *
 * Leading keep-alive CR/LF bytes are skipped and included in the length, so
 * `data.subarray(offset, offset + n)` can go straight to `parseSipMessage`
 * (which skips them too). Call {@linkcode skipKeepAlive} first to drop them
 * on their own.
 *
 * @param data Buffer holding the stream bytes.
 * @param offset Where the next message should start.
 * @param length Bytes available from `offset`.
 * @returns The message length (with leading keep-alives); `0` when more bytes
 *   are needed; `-1` when the bytes cannot be SIP (bad start line, header
 *   section over {@linkcode MAX_STREAM_HEADER_BYTES}, absurd Content-Length),
 *   so the caller can resynchronize.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = "MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhiACK";
 * const data = new TextEncoder().encode(text);
 * assert.equal(sipMessageLength(data, 0, data.length), text.length - 3);
 * assert.equal(sipMessageLength(data, 0, 20), 0);
 * ```
 */
export function sipMessageLength(data: Uint8Array, offset: number, length: number): number {
  const end = Math.min(offset + length, data.length);
  const start = offset + skipKeepAlive(data, offset, length);
  if (start >= end) return 0;
  const first = data[start] ?? 0;
  if (first < 0x41 || first > 0x5a) return -1;
  let contentLength = -2; // not seen yet
  let lineStart = start;
  let firstLine = true;
  for (;;) {
    const lf = data.indexOf(LF, lineStart);
    if (lf < 0 || lf >= end) {
      if (firstLine && !plausiblePrefix(data, start, end)) return -1;
      return end - start > MAX_STREAM_HEADER_BYTES ? -1 : 0;
    }
    const lineEnd = lf > lineStart && data[lf - 1] === CR ? lf - 1 : lf;
    if (firstLine) {
      if (!looksLikeSip(data, start, lf + 1 - start)) return -1;
      firstLine = false;
    } else if (lineEnd === lineStart) {
      const bodyStart = lf + 1;
      const total = bodyStart + Math.max(contentLength, 0) - offset;
      return total <= end - offset ? total : 0;
    } else if (contentLength === -2) {
      const valueStart = contentLengthValueStart(data, lineStart, lineEnd);
      if (valueStart >= 0) {
        contentLength = readLength(data, valueStart, lineEnd);
        if (contentLength < 0) return -1;
      }
    }
    lineStart = lf + 1;
    if (lineStart - start > MAX_STREAM_HEADER_BYTES) return -1;
  }
}
