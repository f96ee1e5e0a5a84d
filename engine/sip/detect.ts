/**
 * A cheap content test that tells SIP from everything else in a UDP/TCP
 * payload, whatever the port.
 *
 * @module
 */

import { isTokenChar } from "./headers.ts";

/** The ports SIP uses by default (RFC 3261 §19.1.2): 5060 for UDP/TCP, 5061 for TLS. */
export const SIP_DEFAULT_PORTS: ReadonlySet<number> = new Set([5060, 5061]);

/** Longest first line {@linkcode looksLikeSip} scans for ` SIP/2.0`. */
export const MAX_FIRST_LINE = 4096;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
// "SIP/2.0"
const S = 0x53, I = 0x49, P = 0x50, SLASH = 0x2f, TWO = 0x32, DOT = 0x2e, ZERO = 0x30;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
}

function isSchemeChar(c: number | undefined): boolean {
  return isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/** Whether the 7 bytes at `at` are `SIP/2.0`. */
function isVersionAt(data: Uint8Array, at: number): boolean {
  return data[at] === S && data[at + 1] === I && data[at + 2] === P && data[at + 3] === SLASH &&
    data[at + 4] === TWO && data[at + 5] === DOT && data[at + 6] === ZERO;
}

/**
 * Whether a payload looks like the start of a SIP message: `SIP/2.0 NNN`, or
 * a method token of 3 to 32 characters starting with an upper-case letter, a
 * space, a URI scheme and `:`, and ` SIP/2.0` at the end of the first line.
 * Up to four leading CR/LF bytes (keep-alives) are skipped.
 *
 * Reads at most {@linkcode MAX_FIRST_LINE} bytes and allocates nothing; a
 * first byte outside `A`–`Z` (every RTP packet: 0x80–0xBF) is rejected at once.
 *
 * @param data Buffer holding the payload.
 * @param offset Start of the payload in `data`.
 * @param length Length of the payload.
 * @returns `true` when the payload looks like SIP.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const sip = new TextEncoder().encode("OPTIONS sip:a@b SIP/2.0\r\n");
 * assert.equal(looksLikeSip(sip, 0, sip.length), true);
 * const rtp = new Uint8Array([0x80, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0xff]);
 * assert.equal(looksLikeSip(rtp, 0, rtp.length), false);
 * ```
 */
export function looksLikeSip(data: Uint8Array, offset: number, length: number): boolean {
  const end = Math.min(offset + length, data.length);
  let i = offset;
  let skipped = 0;
  while (i < end && skipped < 4 && (data[i] === CR || data[i] === LF)) {
    i++;
    skipped++;
  }
  if (end - i < 12) return false;
  const first = data[i] ?? 0;
  if (first < 0x41 || first > 0x5a) return false;
  if (first === S && isVersionAt(data, i) && data[i + 7] === SP) {
    return isDigit(data[i + 8]) && isDigit(data[i + 9]) && isDigit(data[i + 10]);
  }
  // Method token, then one space.
  let j = i + 1;
  const methodLimit = Math.min(end, i + 33);
  while (j < methodLimit && isTokenChar(data[j] ?? SP)) j++;
  if (j - i < 3 || j >= end || data[j] !== SP) return false;
  j++;
  // URI scheme and ':'.
  if (!isAlpha(data[j])) return false;
  const schemeStart = j;
  while (j < end && j - schemeStart < 16 && isSchemeChar(data[j])) j++;
  if (data[j] !== 0x3a) return false;
  // End of the first line, which must end in " SIP/2.0".
  const lineLimit = Math.min(end, i + MAX_FIRST_LINE);
  let k = j + 1;
  while (k < lineLimit && data[k] !== CR && data[k] !== LF) k++;
  if (k === lineLimit && lineLimit < end) return false;
  if (k - 8 <= j) return false;
  return data[k - 8] === SP && isVersionAt(data, k - 7);
}
