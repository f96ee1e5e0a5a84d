/**
 * SIP, SIPS and TEL URIs (RFC 3261 §19.1, RFC 3966), and a tolerant fallback
 * for other schemes.
 *
 * @module
 */

import { parseParams } from "./params.ts";
import { NO_PARAMS, type SipUri } from "./types.ts";

const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/**
 * Replaces `%XX` escapes by the characters they encode (UTF-8 sequences
 * included). Malformed escapes and escapes of invalid UTF-8 are left as written.
 *
 * @param text Escaped text.
 * @returns The unescaped text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(unescapePercent("%2A8"), "*8");
 * assert.equal(unescapePercent("100%zz"), "100%zz");
 * ```
 */
export function unescapePercent(text: string): string {
  if (text.indexOf("%") < 0) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // Some escape is malformed: decode only the ASCII ones.
    return text.replace(ESCAPE, (whole, hex: string) => {
      const code = parseInt(hex, 16);
      return code < 0x80 ? String.fromCharCode(code) : whole;
    });
  }
}

function isSchemeStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isSchemeChar(c: number): boolean {
  return isSchemeStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/** Whether the text holds a character no URI may contain: controls, space, `<`, `>`, `"`. */
function hasForbiddenChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22 || c === 0xfffd) {
      return true;
    }
  }
  return false;
}

function isHostNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f;
}

function isIpv6Char(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) ||
    c === 0x3a || c === 0x2e || c === 0x25;
}

function allChars(text: string, test: (c: number) => boolean): boolean {
  for (let i = 0; i < text.length; i++) if (!test(text.charCodeAt(i))) return false;
  return true;
}

/** Parses a port: 1 to 5 digits, at most 65535; `undefined` when invalid. */
function parsePort(text: string): number | undefined {
  if (text.length === 0 || text.length > 5) return undefined;
  let port = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    port = port * 10 + (c - 0x30);
  }
  return port <= 65535 ? port : undefined;
}

/**
 * Splits `host[:port]` or `[v6][:port]`. An IPv6 address without brackets
 * is accepted too (against RFC 3261, but real phones send it).
 *
 * @returns Host (lower-case, IPv6 without brackets) and port, or `null` when invalid.
 */
export function parseHostPort(text: string): { host: string; port: number | null } | null {
  let host: string;
  let portText: string | null = null;
  if (text.charCodeAt(0) === 0x5b) {
    const close = text.indexOf("]");
    if (close < 0) return null;
    host = text.slice(1, close);
    if (host === "" || !allChars(host, isIpv6Char)) return null;
    const after = text.slice(close + 1);
    if (after !== "") {
      if (after.charCodeAt(0) !== 0x3a) return null;
      portText = after.slice(1);
    }
  } else {
    const colon = text.indexOf(":");
    if (colon >= 0 && text.indexOf(":", colon + 1) >= 0) {
      // An IPv6 address without brackets (seen from real phones). With nine
      // groups and no "::" the last one is the port; otherwise no port.
      if (!allChars(text, isIpv6Char)) return null;
      const groups = text.split(":");
      if (groups.length === 9 && text.indexOf("::") < 0) {
        host = groups.slice(0, 8).join(":");
        portText = groups[8] ?? "";
      } else {
        host = text;
      }
    } else {
      host = colon < 0 ? text : text.slice(0, colon);
      if (colon >= 0) portText = text.slice(colon + 1);
      if (host === "" || !allChars(host, isHostNameChar)) return null;
    }
  }
  let port: number | null = null;
  if (portText !== null) {
    const parsed = parsePort(portText);
    if (parsed === undefined) return null;
    port = parsed;
  }
  return { host: host.toLowerCase(), port };
}

function unescapedParams(text: string): Map<string, string | null> {
  const params = parseParams(text);
  for (const [name, value] of params) {
    if (value !== null && value.indexOf("%") >= 0) params.set(name, unescapePercent(value));
  }
  return params;
}

function parseUriHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = unescapePercent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : unescapePercent(pair.slice(eq + 1));
    if (name !== "" && !headers.has(name)) headers.set(name, value);
  }
  return headers;
}

function parseSipLike(scheme: string, rest: string, raw: string): SipUri | null {
  const question = rest.indexOf("?");
  const main = question < 0 ? rest : rest.slice(0, question);
  const at = main.indexOf("@");
  let user: string | null = null;
  let hostPart = main;
  if (at >= 0) {
    const userInfo = main.slice(0, at);
    const colon = userInfo.indexOf(":");
    // A password after ':' is dropped: nothing downstream needs it.
    user = unescapePercent(colon < 0 ? userInfo : userInfo.slice(0, colon));
    hostPart = main.slice(at + 1);
  }
  const semi = hostPart.indexOf(";");
  const hostPort = parseHostPort(semi < 0 ? hostPart : hostPart.slice(0, semi));
  if (hostPort === null) return null;
  return {
    scheme,
    user,
    host: hostPort.host,
    port: hostPort.port,
    params: semi < 0 ? NO_PARAMS : unescapedParams(hostPart.slice(semi)),
    headers: question < 0 ? NO_PARAMS : parseUriHeaders(rest.slice(question + 1)),
    raw,
  };
}

function parseTel(rest: string, raw: string): SipUri | null {
  const semi = rest.indexOf(";");
  const number = unescapePercent(semi < 0 ? rest : rest.slice(0, semi));
  if (number === "") return null;
  return {
    scheme: "tel",
    user: number,
    host: "",
    port: null,
    params: semi < 0 ? NO_PARAMS : unescapedParams(rest.slice(semi)),
    headers: NO_PARAMS,
    raw,
  };
}

/** Other schemes: `scheme://[user@]host[:port]...` or `scheme:user@host`; otherwise opaque. */
function parseOther(scheme: string, rest: string, raw: string): SipUri {
  let user: string | null = null;
  let host = "";
  let port: number | null = null;
  let authority: string | null = null;
  if (rest.startsWith("//")) {
    const body = rest.slice(2);
    const stop = body.search(/[/?#;]/);
    authority = stop < 0 ? body : body.slice(0, stop);
  } else if (rest.indexOf("@") >= 0) {
    const stop = rest.search(/[;?]/);
    authority = stop < 0 ? rest : rest.slice(0, stop);
  }
  if (authority !== null) {
    const at = authority.lastIndexOf("@");
    const hostPort = parseHostPort(at < 0 ? authority : authority.slice(at + 1));
    if (hostPort !== null) {
      host = hostPort.host;
      port = hostPort.port;
      if (at >= 0) user = unescapePercent(authority.slice(0, at));
    }
  }
  return { scheme, user, host, port, params: NO_PARAMS, headers: NO_PARAMS, raw };
}

/**
 * Parses a URI as found in a Request-URI or inside `<...>`.
 *
 * SIP and SIPS URIs are split into user (unescaped: `%2A8` → `*8`), host
 * (lower-case; IPv6 without brackets), port, parameters and headers; a
 * password is accepted and dropped. TEL URIs give the number as `user` and an
 * empty host. Other schemes are kept with whatever user and host can be read.
 *
 * @param text The URI text; surrounding whitespace is ignored.
 * @returns The parsed URI, or `null` when it is not a valid URI.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const uri = parseSipUri("sip:*8@112.222.225.104:5060;transport=udp");
 * assert.equal(uri?.user, "*8");
 * assert.equal(uri?.host, "112.222.225.104");
 * assert.equal(uri?.port, 5060);
 * assert.equal(uri?.params.get("transport"), "udp");
 * assert.equal(parseSipUri("sip:"), null);
 * ```
 */
export function parseSipUri(text: string): SipUri | null {
  const raw = text;
  const s = text.trim();
  const colon = s.indexOf(":");
  if (colon <= 0 || colon > 32 || !isSchemeStart(s.charCodeAt(0))) return null;
  for (let i = 1; i < colon; i++) if (!isSchemeChar(s.charCodeAt(i))) return null;
  const rest = s.slice(colon + 1);
  if (rest === "" || hasForbiddenChar(rest)) return null;
  const scheme = s.slice(0, colon).toLowerCase();
  if (scheme === "sip" || scheme === "sips") return parseSipLike(scheme, rest, raw);
  if (scheme === "tel") return parseTel(rest, raw);
  return parseOther(scheme, rest, raw);
}
