/**
 * SIP header section: case-insensitive lookup, compact forms, folding, and
 * comma-separated list values (RFC 3261 §7.3).
 *
 * @module
 */

import type { SipHeaderMap } from "./types.ts";

/**
 * Compact header forms (RFC 3261 §7.3.3 and later extensions), mapped to the
 * lower-case full name.
 */
export const COMPACT_HEADER_FORMS: ReadonlyMap<string, string> = new Map([
  ["a", "accept-contact"],
  ["b", "referred-by"],
  ["c", "content-type"],
  ["d", "request-disposition"],
  ["e", "content-encoding"],
  ["f", "from"],
  ["i", "call-id"],
  ["j", "reject-contact"],
  ["k", "supported"],
  ["l", "content-length"],
  ["m", "contact"],
  ["n", "identity-info"],
  ["o", "event"],
  ["r", "refer-to"],
  ["s", "subject"],
  ["t", "to"],
  ["u", "allow-events"],
  ["v", "via"],
  ["x", "session-expires"],
  ["y", "identity"],
]);

/**
 * Headers whose grammar is a comma-separated list of elements, so that
 * `getAll` splits them. Headers not listed here are never split: their
 * values may hold commas of their own (`WWW-Authenticate`, `Date`,
 * `User-Agent`, `Subject`, ...).
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  "accept",
  "accept-contact",
  "accept-encoding",
  "accept-language",
  "accept-resource-priority",
  "alert-info",
  "allow",
  "allow-events",
  "call-info",
  "contact",
  "content-encoding",
  "content-language",
  "diversion",
  "error-info",
  "history-info",
  "in-reply-to",
  "p-asserted-identity",
  "p-associated-uri",
  "p-preferred-identity",
  "p-visited-network-id",
  "path",
  "proxy-require",
  "reason",
  "record-route",
  "recv-info",
  "reject-contact",
  "remote-party-id",
  "request-disposition",
  "require",
  "resource-priority",
  "route",
  "security-client",
  "security-server",
  "security-verify",
  "service-route",
  "supported",
  "unsupported",
  "via",
  "warning",
]);

/** Default cap on the number of header lines in one message. */
export const MAX_HEADERS = 256;

/** Default cap on the length of one (unfolded) header line, in characters. */
export const MAX_HEADER_LINE_LENGTH = 16384;

// Token characters of RFC 3261 §25.1: alphanum and -.!%*_+`'~
const TOKEN_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch) || "-.!%*_+`'~".includes(ch)) TOKEN_CHARS[c] = 1;
}

/**
 * Whether a character code is an RFC 3261 token character.
 *
 * @param code A UTF-16 code unit or byte.
 * @returns `true` for alphanumerics and `-.!%*_+`'~`.
 */
export function isTokenChar(code: number): boolean {
  return code < 128 && TOKEN_CHARS[code] === 1;
}

/**
 * The lower-case full name of a header, with compact forms expanded.
 *
 * @param name A header name as written on the wire.
 * @returns The lower-case full name (`"i"` → `"call-id"`).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(canonicalHeaderName("I"), "call-id");
 * assert.equal(canonicalHeaderName("Call-ID"), "call-id");
 * ```
 */
export function canonicalHeaderName(name: string): string {
  // Messages repeat the same few dozen names: remember them (bounded).
  const known = CANONICAL_CACHE.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  const canonical = lower.length === 1 ? COMPACT_HEADER_FORMS.get(lower) ?? lower : lower;
  if (CANONICAL_CACHE.size < 1024) CANONICAL_CACHE.set(name, canonical);
  return canonical;
}

const CANONICAL_CACHE = new Map<string, string>();

/** Whether `String.prototype.trim` removes this UTF-16 code unit (white space or a line end). */
export function isTrimmed(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 ||
    c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Full names of the headers nearly every message carries, by length. */
const COMMON_BY_LENGTH: string[][] = (() => {
  const byLength: string[][] = [];
  for (
    const name of [
      "via",
      "from",
      "to",
      "call-id",
      "cseq",
      "contact",
      "max-forwards",
      "content-type",
      "content-length",
      "user-agent",
      "server",
      "allow",
      "supported",
      "expires",
      "route",
      "record-route",
      "authorization",
      "proxy-authorization",
      "www-authenticate",
      "proxy-authenticate",
      "subject",
      "reason",
      "require",
      "event",
      "date",
    ]
  ) (byLength[name.length] ??= []).push(name);
  return byLength;
})();

/** Compact forms by character code (either case). */
const COMPACT_BY_CODE: (string | undefined)[] = (() => {
  const table: (string | undefined)[] = [];
  for (const [letter, name] of COMPACT_HEADER_FORMS) {
    table[letter.charCodeAt(0)] = name;
    table[letter.toUpperCase().charCodeAt(0)] = name;
  }
  return table;
})();

/**
 * {@link canonicalHeaderName} of the name at `text[start, end)`: common names
 * are recognized in place, without cutting the name out of the text.
 *
 * @param text Text holding the name.
 * @param start First character of the name.
 * @param end One past its last character.
 * @returns The lower-case full name.
 */
export function canonicalHeaderNameAt(text: string, start: number, end: number): string {
  const length = end - start;
  if (length === 1) {
    const compact = COMPACT_BY_CODE[text.charCodeAt(start)];
    if (compact !== undefined) return compact;
  }
  const candidates = COMMON_BY_LENGTH[length];
  if (candidates !== undefined) {
    for (const name of candidates) {
      let k = 0;
      for (; k < length; k++) {
        let c = text.charCodeAt(start + k);
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        if (c !== name.charCodeAt(k)) break;
      }
      if (k === length) return name;
    }
  }
  return canonicalHeaderName(text.slice(start, end));
}

/**
 * Splits a header value at commas that separate list elements: never inside a
 * quoted string, never inside `<...>`. Elements are trimmed; empty elements
 * are dropped.
 *
 * @param value A header value.
 * @returns The elements in order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   splitHeaderList('"07086661427,1427" <sip:1427@a>;tag=1, <sip:b@c>'),
 *   ['"07086661427,1427" <sip:1427@a>;tag=1', "<sip:b@c>"],
 * );
 * ```
 */
export function splitHeaderList(value: string): string[] {
  if (value.indexOf(",") < 0) {
    const single = value.trim();
    return single === "" ? [] : [single];
  }
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++; // backslash escapes the next character
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) {
      inQuote = true;
    } else if (c === 0x3c) {
      inAngle = true;
    } else if (c === 0x3e) {
      inAngle = false;
    } else if (c === 0x2c && !inAngle) {
      const part = value.slice(start, i).trim();
      if (part !== "") out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== "") out.push(last);
  return out;
}

/**
 * An ordered, case-insensitive SIP header collection. Names are stored in
 * lower case with compact forms expanded; wire order is kept.
 *
 * `get(name)` returns the first element of `getAll(name)`: for list headers
 * such as Via or Contact that is the first comma-separated element, for other
 * headers the first header line's value. `line(name)` gives the first line
 * unsplit.
 */
export class SipHeaders implements SipHeaderMap {
  // A message has a dozen or two headers: a linear scan of the names beats building a map.
  #names: string[] = [];
  #values: string[] = [];

  /**
   * Adds one header line.
   *
   * @param name Header name as written (any case, compact or full).
   * @param value The (unfolded) value, surrounding whitespace removed.
   */
  append(name: string, value: string): void {
    this.appendCanonical(canonicalHeaderName(name), value);
  }

  /**
   * Adds one header line whose name is already canonical (lower case, full form).
   *
   * @param canonicalName The name as {@link canonicalHeaderName} gives it.
   * @param value The (unfolded) value, surrounding whitespace removed.
   */
  appendCanonical(canonicalName: string, value: string): void {
    this.#names.push(canonicalName);
    this.#values.push(value);
  }

  /** The index of the first line with a canonical name, or -1. */
  #first(key: string): number {
    const names = this.#names;
    for (let i = 0; i < names.length; i++) if (names[i] === key) return i;
    return -1;
  }

  /**
   * First value of a header (first list element for list headers).
   *
   * @param name Header name in any case, compact or full.
   * @returns The value, `""` when the header is present but empty, or `undefined`.
   */
  get(name: string): string | undefined {
    const key = canonicalHeaderName(name);
    const at = this.#first(key);
    if (at < 0) return undefined;
    const first = this.#values[at]!;
    if (!LIST_HEADERS.has(key)) return first;
    for (let i = at; i < this.#names.length; i++) {
      if (this.#names[i] !== key) continue;
      const elements = splitHeaderList(this.#values[i]!);
      if (elements.length > 0) return elements[0];
    }
    return "";
  }

  /**
   * Every value of a header in wire order. List headers are split into their
   * comma-separated elements (empty ones dropped); other headers give one
   * entry per header line.
   *
   * @param name Header name in any case, compact or full.
   * @returns The values; empty when the header is absent.
   */
  getAll(name: string): string[] {
    const key = canonicalHeaderName(name);
    const out: string[] = [];
    const split = LIST_HEADERS.has(key);
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] !== key) continue;
      const value = this.#values[i]!;
      if (split) out.push(...splitHeaderList(value));
      else out.push(value);
    }
    return out;
  }

  /**
   * Every header line's value for a name, unsplit.
   *
   * @param name Header name in any case, compact or full.
   * @returns One entry per header line.
   */
  lines(name: string): string[] {
    const key = canonicalHeaderName(name);
    const out: string[] = [];
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] === key) out.push(this.#values[i]!);
    }
    return out;
  }

  /**
   * Whether the header is present.
   *
   * @param name Header name in any case, compact or full.
   * @returns `true` when at least one line has this name.
   */
  has(name: string): boolean {
    return this.#first(canonicalHeaderName(name)) >= 0;
  }

  /**
   * Every header line as `[lower-case full name, value]`, in wire order.
   *
   * @returns An iterator over the lines.
   */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.#names.length; i++) {
      yield [this.#names[i] ?? "", this.#values[i] ?? ""];
    }
  }

  /** Number of header lines. */
  get size(): number {
    return this.#names.length;
  }
}

/** Options of {@linkcode parseHeaderBlock}. */
export interface HeaderBlockOptions {
  /** Cap on header lines; more fails with `sip.too-many-headers`. Default {@linkcode MAX_HEADERS}. */
  maxHeaders?: number;
  /** Cap on one unfolded line; longer fails with `sip.header-too-long`. Default {@linkcode MAX_HEADER_LINE_LENGTH}. */
  maxLineLength?: number;
}

/** Result of {@linkcode parseHeaderBlock}. */
export type HeaderBlockResult =
  | { ok: true; headers: SipHeaders; warnings: string[] }
  | { ok: false; reason: string };

/**
 * Parses a header section: the text after the start line, up to (not
 * including) the empty line. Lines may end in CRLF or a bare LF. A line that
 * starts with a space or tab continues the previous one (folding); the line
 * break and leading whitespace become one space. A line without a colon or
 * with a name that is not a token is skipped with warning `bad-header-line`.
 *
 * @param text The header section.
 * @param options Caps on header count and line length.
 * @returns The headers and warnings, or a failure reason.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const r = parseHeaderBlock("i: abc@host\r\nSubject: a,\r\n b\r\n");
 * assert.ok(r.ok);
 * assert.equal(r.headers.get("Call-ID"), "abc@host");
 * assert.equal(r.headers.get("s"), "a, b");
 * ```
 */
export function parseHeaderBlock(
  text: string,
  options: HeaderBlockOptions = {},
): HeaderBlockResult {
  const maxHeaders = options.maxHeaders ?? MAX_HEADERS;
  const maxLineLength = options.maxLineLength ?? MAX_HEADER_LINE_LENGTH;
  const headers = new SipHeaders();
  const warnings: string[] = [];
  let pendingName: string | null = null;
  let pendingValue = "";
  let pendingFolded: string[] | null = null;
  let pendingLength = 0;

  const flush = (): void => {
    if (pendingName === null) return;
    const value = pendingFolded === null ? pendingValue : pendingFolded.join(" ");
    headers.appendCanonical(pendingName, value);
    pendingName = null;
    pendingFolded = null;
  };

  let pos = 0;
  const end = text.length;
  while (pos < end) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
    const lineStart = pos;
    pos = nl + 1;
    if (lineEnd === lineStart) continue; // stray empty line inside the block
    if (lineEnd - lineStart > maxLineLength) return { ok: false, reason: "sip.header-too-long" };
    const first = text.charCodeAt(lineStart);
    if (first === 0x20 || first === 0x09) {
      // Continuation of the previous header (RFC 3261 §7.3.1).
      const piece = text.slice(lineStart, lineEnd).trim();
      if (pendingName === null) {
        warnings.push("bad-header-line");
        continue;
      }
      pendingLength += piece.length + 1;
      if (pendingLength > maxLineLength) return { ok: false, reason: "sip.header-too-long" };
      if (piece === "") continue;
      if (pendingFolded === null) pendingFolded = pendingValue === "" ? [] : [pendingValue];
      pendingFolded.push(piece);
      continue;
    }
    flush();
    const colon = text.indexOf(":", lineStart);
    if (colon < 0 || colon >= lineEnd) {
      warnings.push("bad-header-line");
      continue;
    }
    let nameEnd = colon;
    while (
      nameEnd > lineStart &&
      (text.charCodeAt(nameEnd - 1) === 0x20 || text.charCodeAt(nameEnd - 1) === 0x09)
    ) nameEnd--;
    let validName = nameEnd > lineStart;
    for (let i = lineStart; i < nameEnd && validName; i++) {
      if (!isTokenChar(text.charCodeAt(i))) validName = false;
    }
    if (!validName) {
      warnings.push("bad-header-line");
      continue;
    }
    if (headers.size >= maxHeaders) return { ok: false, reason: "sip.too-many-headers" };
    pendingName = canonicalHeaderNameAt(text, lineStart, nameEnd);
    // The value without the white space around it: one slice (as `trim()` would cut it).
    let valueStart = colon + 1;
    let valueEnd = lineEnd;
    while (valueStart < valueEnd && isTrimmed(text.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isTrimmed(text.charCodeAt(valueEnd - 1))) valueEnd--;
    pendingValue = text.slice(valueStart, valueEnd);
    pendingLength = lineEnd - lineStart;
  }
  flush();
  return { ok: true, headers, warnings };
}
