/**
 * `multipart/*` bodies (RFC 2046 §5.1): split by boundary into parts.
 *
 * @module
 */

import { parseHeaderBlock } from "./headers.ts";
import { parseParams } from "./params.ts";
import type { BodyPart } from "./types.ts";

/** Cap on the number of parts read from one body. */
export const MAX_BODY_PARTS = 64;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const DECODER = new TextDecoder();

/**
 * Reads the `boundary` parameter of a Content-Type value.
 *
 * @param contentType The full Content-Type header value, with parameters.
 * @returns The boundary (unquoted), or `null` when absent or longer than 200 characters.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(multipartBoundary('multipart/mixed; boundary="a b"'), "a b");
 * assert.equal(multipartBoundary("application/sdp"), null);
 * ```
 */
export function multipartBoundary(contentType: string): string | null {
  const semi = contentType.indexOf(";");
  if (semi < 0) return null;
  const boundary = parseParams(contentType.slice(semi)).get("boundary");
  if (boundary === undefined || boundary === null || boundary === "" || boundary.length > 200) {
    return null;
  }
  return boundary;
}

/** Finds `pattern` in `data` from `from` at the start of a line (offset 0 or after LF). */
function findDelimiter(data: Uint8Array, pattern: Uint8Array, from: number): number {
  const first = pattern[0] ?? DASH;
  const last = data.length - pattern.length;
  let i = from;
  while (i <= last) {
    i = data.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    if (i === 0 || data[i - 1] === LF) {
      let k = 1;
      while (k < pattern.length && data[i + k] === pattern[k]) k++;
      if (k === pattern.length) return i;
    }
    i++;
  }
  return -1;
}

/** Index just after the header section of a part (the empty line), or 0 when it has none. */
function partBodyStart(part: Uint8Array): number {
  if (part[0] === LF) return 1;
  if (part[0] === CR && part[1] === LF) return 2;
  for (let i = 0; i < part.length; i++) {
    if (part[i] !== LF) continue;
    if (part[i + 1] === LF) return i + 2;
    if (part[i + 1] === CR && part[i + 2] === LF) return i + 3;
  }
  return -1;
}

function makePart(part: Uint8Array): BodyPart {
  const headers = new Map<string, string>();
  let bodyStart = partBodyStart(part);
  if (bodyStart < 0) bodyStart = part.length; // headers only
  if (bodyStart > 2) {
    const parsed = parseHeaderBlock(DECODER.decode(part.subarray(0, bodyStart)));
    if (parsed.ok) {
      for (const [name, value] of parsed.headers.entries()) {
        if (!headers.has(name)) headers.set(name, value);
      }
    }
  }
  const type = headers.get("content-type");
  let contentType = "text/plain";
  if (type !== undefined) {
    const semi = type.indexOf(";");
    const bare = (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase();
    if (bare !== "") contentType = bare;
  }
  return { contentType, headers, body: part.subarray(bodyStart) };
}

/**
 * Splits a multipart body into its parts. Delimiter lines may end in CRLF or
 * LF; the line break before a delimiter belongs to the delimiter. A body
 * without a closing delimiter ends its last part at the end of the data. Part
 * bodies are views into `body` (no copy).
 *
 * @param body The message body.
 * @param boundary The boundary from the Content-Type (see {@linkcode multipartBoundary}).
 * @returns The parts in order; empty when no delimiter is found.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b--\r\n";
 * const parts = parseMultipart(new TextEncoder().encode(text), "b");
 * assert.equal(parts.length, 1);
 * assert.equal(parts[0]?.contentType, "application/sdp");
 * assert.equal(new TextDecoder().decode(parts[0]?.body), "v=0\r\n");
 * ```
 */
export function parseMultipart(body: Uint8Array, boundary: string): BodyPart[] {
  const parts: BodyPart[] = [];
  if (boundary === "") return parts;
  const pattern = new TextEncoder().encode("--" + boundary);
  let at = findDelimiter(body, pattern, 0);
  while (at >= 0 && parts.length < MAX_BODY_PARTS) {
    let i = at + pattern.length;
    if (body[i] === DASH && body[i + 1] === DASH) break; // close-delimiter
    // Skip transport padding up to the end of the delimiter line.
    const eol = body.indexOf(LF, i);
    if (eol < 0) break;
    i = eol + 1;
    const next = findDelimiter(body, pattern, i);
    let end = next < 0 ? body.length : next;
    if (next >= 0) {
      // The CRLF (or LF) before the delimiter is part of the delimiter.
      if (end > i && body[end - 1] === LF) end--;
      if (end > i && body[end - 1] === CR) end--;
    }
    parts.push(makePart(body.subarray(i, end)));
    at = next;
  }
  return parts;
}
