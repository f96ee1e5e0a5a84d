/**
 * Path helpers for plugins, on Node's built-in `node:path` and `node:url`
 * (JSR's @std/path is not reachable from our machines).
 *
 * @module
 */

import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export { isAbsolute, join, resolve };

/**
 * A file URL for a path.
 *
 * @param path An absolute path.
 * @returns Its `file:` URL.
 */
export function toFileUrl(path: string): URL {
  return pathToFileURL(path);
}

/**
 * Turns text from the wire into a safe file-name part: letters, digits,
 * `+`, `-`, `_` and `.` kept, everything else (slashes, `..`, control
 * characters, quotes) replaced by `_`, cut to a length.
 *
 * @param text Any text (a Call-ID, a number).
 * @param max Longest result.
 * @returns A name part that cannot leave its directory.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(safeName("../../etc/passwd"), "_etc_passwd");
 * assert.equal(safeName("*8"), "_8");
 * ```
 */
export function safeName(text: string, max = 64): string {
  const cleaned = text.replace(/[^A-Za-z0-9+\-_.]/g, "_").replace(/\.{2,}/g, ".").replace(
    /^[._]+/,
    "_",
  );
  return (cleaned || "_").slice(0, max);
}
