/**
 * Parameter lists (`;name=value;flag`) and quoted strings, shared by the URI,
 * name-addr, Via and multipart parsers.
 *
 * @module
 */

/**
 * Splits `;name=value` parameters, as found after a URI, a Via sent-by or a
 * Content-Type. Names are lower-cased; a parameter without `=` maps to
 * `null`; a quoted value is unquoted and unescaped. Semicolons inside quoted
 * values do not split.
 *
 * @param text The text starting at the first `;` (or at the first name).
 * @returns Parameters by lower-case name; a repeated name keeps its first value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const p = parseParams(';tag=1;lr;+sip.instance="<urn:a;b>"');
 * assert.equal(p.get("tag"), "1");
 * assert.equal(p.get("lr"), null);
 * assert.equal(p.get("+sip.instance"), "<urn:a;b>");
 * ```
 */
export function parseParams(text: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Skip separators and whitespace.
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x3b || c === 0x20 || c === 0x09) i++;
      else break;
    }
    if (i >= n) break;
    const nameStart = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x3d || c === 0x3b) break;
      i++;
    }
    const name = text.slice(nameStart, i).trim().toLowerCase();
    let value: string | null = null;
    if (i < n && text.charCodeAt(i) === 0x3d) {
      i++;
      while (i < n && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
      if (i < n && text.charCodeAt(i) === 0x22) {
        const q = readQuoted(text, i);
        value = q.value;
        i = q.end;
        while (i < n && text.charCodeAt(i) !== 0x3b) i++;
      } else {
        const valueStart = i;
        while (i < n && text.charCodeAt(i) !== 0x3b) i++;
        value = text.slice(valueStart, i).trim();
      }
    }
    if (name !== "" && !params.has(name)) params.set(name, value);
  }
  return params;
}

/**
 * Reads a quoted string starting at `start` (which must be `"`), handling
 * backslash escapes. An unterminated string runs to the end of the text.
 *
 * @param text The text.
 * @param start Index of the opening quote.
 * @returns The unescaped content, the index after the closing quote, and
 *   whether the closing quote was found.
 */
export function readQuoted(
  text: string,
  start: number,
): { value: string; end: number; closed: boolean } {
  let i = start + 1;
  let chunkStart = i;
  let value = "";
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && i + 1 < text.length) {
      value += text.slice(chunkStart, i);
      chunkStart = i + 1;
      i += 2;
    } else if (c === 0x22) {
      value += text.slice(chunkStart, i);
      return { value, end: i + 1, closed: true };
    } else {
      i++;
    }
  }
  value += text.slice(chunkStart, text.length);
  return { value, end: text.length, closed: false };
}
