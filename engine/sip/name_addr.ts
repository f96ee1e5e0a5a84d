/**
 * `name-addr` / `addr-spec` header values with header parameters (RFC 3261
 * §20.10, §25.1): From, To, Contact, Refer-To, Referred-By,
 * P-Asserted-Identity, Remote-Party-ID, ...
 *
 * @module
 */

import { parseParams, readQuoted } from "./params.ts";
import { type NameAddr, NO_PARAMS } from "./types.ts";
import { parseSipUri } from "./uri.ts";
import { RecentValues } from "../recent_values.ts";

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    i++;
  }
  return i;
}

function build(
  raw: string,
  displayName: string | null,
  rawUri: string,
  paramText: string,
): NameAddr {
  const params = paramText === "" ? NO_PARAMS : parseParams(paramText);
  return {
    displayName,
    uri: rawUri === "*" ? null : parseSipUri(rawUri),
    rawUri,
    params,
    tag: params.get("tag") ?? null,
    raw,
  };
}

/**
 * Parses one name-addr or addr-spec with its header parameters.
 *
 * - `"07086661427,1427" <sip:1427@host>;tag=x`: quoted display name
 *   (unquoted, backslash escapes removed), URI in angle brackets.
 * - `Bob <sip:bob@host>`: unquoted display name (trimmed).
 * - `sip:bob@host;tag=x`: bare addr-spec; parameters after the URI belong to
 *   the header (RFC 3261 §20.10), so `tag` is a header parameter here.
 * - `*` (Contact in a REGISTER): `rawUri` is `*` and `uri` is `null`.
 *
 * A URI that does not parse leaves `uri` `null` and `rawUri` set.
 *
 * @param text One header value (one element of a list header).
 * @returns The parsed value, or `null` when it is empty or structurally
 *   broken (unterminated quote, `<` without `>`).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const from = parseNameAddr('"07086661427,1427" <sip:1427@112.222.225.104>;tag=abc');
 * assert.equal(from?.displayName, "07086661427,1427");
 * assert.equal(from?.uri?.user, "1427");
 * assert.equal(from?.tag, "abc");
 * ```
 */
export function parseNameAddr(text: string): NameAddr | null {
  // The messages of a dialog repeat the same From, To and Contact: the last values parsed are
  // kept (their fields are read-only, so one object can serve every message that has it).
  const known = RECENT.get(text);
  if (known !== undefined) return known;
  const parsed = parseUncached(text);
  RECENT.set(text, parsed);
  return parsed;
}

/** Values parsed lately. */
const RECENT = new RecentValues<string, NameAddr | null>(512);

function parseUncached(text: string): NameAddr | null {
  const raw = text;
  let i = skipSpace(text, 0);
  if (i >= text.length) return null;
  let displayName: string | null = null;
  let open: number;
  if (text.charCodeAt(i) === 0x22) {
    const quoted = readQuoted(text, i);
    if (!quoted.closed) return null;
    displayName = quoted.value;
    i = skipSpace(text, quoted.end);
    if (text.charCodeAt(i) !== 0x3c) return null;
    open = i;
  } else {
    open = text.indexOf("<", i);
    if (open < 0) {
      // Bare addr-spec: the URI ends at the first ';' (or whitespace).
      const semi = text.indexOf(";", i);
      const uriText = (semi < 0 ? text.slice(i) : text.slice(i, semi)).trim();
      if (uriText === "") return null;
      return build(raw, null, uriText, semi < 0 ? "" : text.slice(semi));
    }
    const name = text.slice(i, open).trim();
    displayName = name === "" ? null : name;
  }
  const close = text.indexOf(">", open + 1);
  if (close < 0) return null;
  const rawUri = text.slice(open + 1, close).trim();
  const semi = text.indexOf(";", close + 1);
  return build(raw, displayName, rawUri, semi < 0 ? "" : text.slice(semi));
}
