/**
 * Via header values (RFC 3261 §20.42).
 *
 * @module
 */

import { isTokenChar } from "./headers.ts";
import { parseParams } from "./params.ts";
import { NO_PARAMS, type Via } from "./types.ts";
import { parseHostPort } from "./uri.ts";

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

function readToken(text: string, i: number): number {
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses one Via value: `SIP/2.0/UDP host[:port];params`. Whitespace around
 * the slashes is allowed; a trailing comment in parentheses is ignored.
 *
 * @param value One Via value (one element of the Via list).
 * @returns The parsed Via, or `null` when the protocol or sent-by is malformed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const via = parseVia("SIP/2.0/udp 192.168.0.55:5060;branch=z9hG4bK1;rport");
 * assert.equal(via?.transport, "UDP");
 * assert.equal(via?.port, 5060);
 * assert.equal(via?.branch, "z9hG4bK1");
 * assert.equal(via?.params.get("rport"), null);
 * ```
 */
export function parseVia(value: string): Via | null {
  const raw = value;
  let i = skipSpace(value, 0);
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport
  const parts: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (k > 0) {
      i = skipSpace(value, i);
      if (value.charCodeAt(i) !== 0x2f) return null;
      i = skipSpace(value, i + 1);
    }
    const end = readToken(value, i);
    if (end === i) return null;
    parts.push(value.slice(i, end));
    i = end;
  }
  const start = skipSpace(value, i);
  if (start === i) return null; // LWS required before sent-by
  i = start;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x28) break;
    i++;
  }
  const hostPort = parseHostPort(value.slice(start, i));
  if (hostPort === null) return null;
  let paramText = "";
  const semi = value.indexOf(";", i);
  if (semi >= 0) {
    paramText = value.slice(semi);
    const comment = paramText.lastIndexOf("(");
    if (comment >= 0 && paramText.indexOf('"') < 0) paramText = paramText.slice(0, comment);
  }
  const params = paramText === "" ? NO_PARAMS : parseParams(paramText);
  return {
    transport: (parts[2] ?? "").toUpperCase(),
    host: hostPort.host,
    port: hostPort.port,
    branch: params.get("branch") ?? null,
    params,
    raw,
  };
}
