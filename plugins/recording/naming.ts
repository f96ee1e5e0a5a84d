/**
 * File names of recordings, built only from sanitized parts:
 * `YYYYMMDD-HHMMSS_<id>_<caller>_<callee>[_suffix...]` (the time in UTC),
 * each part passed through {@linkcode safeName}, so a hostile Call-ID such
 * as `../../etc/x` can never leave the recording directory.
 *
 * @module
 */

import { safeName } from "../paths.ts";

/** Longest id part (a Call-ID) in a file name. */
export const MAX_ID_CHARS = 64;
/** Longest caller or callee part in a file name. */
export const MAX_PARTY_CHARS = 40;
/** Longest suffix part. */
export const MAX_SUFFIX_CHARS = 40;
/** Stands for a party the signalling does not name. */
export const UNKNOWN_PARTY = "unknown";

/**
 * Formats a capture time as `YYYYMMDD-HHMMSS` in UTC.
 *
 * @param ts Seconds since the Unix epoch.
 * @returns The stamp; `00000000-000000` for a time that is not a finite, representable date.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(timeStamp(1742358298.307), "20250319-042458");
 * ```
 */
export function timeStamp(ts: number): string {
  const date = new Date(Math.floor(ts) * 1000);
  if (!Number.isFinite(ts) || Number.isNaN(date.getTime())) return "00000000-000000";
  const two = (n: number) => String(n).padStart(2, "0");
  const year = String(date.getUTCFullYear()).padStart(4, "0").slice(-4);
  return `${year}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}-` +
    `${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}`;
}

/** The parts of a recording's file name. */
export interface RecordingNameParts {
  /** Start time (seconds since the epoch). */
  ts: number;
  /** The call's id: a Call-ID, a logical call id. */
  id: string;
  /** The caller (a number or user), or `null` when unknown. */
  caller: string | null;
  /** The callee, or `null` when unknown. */
  callee: string | null;
  /** Extra parts: a stream's direction and SSRC, `mixed`, a participant. */
  suffix?: readonly string[];
}

/**
 * The base name (without extension) of a recording.
 *
 * @param parts Time, id, parties and suffixes, taken from the wire.
 * @returns A name made of letters, digits, `+`, `-`, `_` and `.` only.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const name = recordingBaseName({ ts: 0, id: "../../etc/x", caller: "*8", callee: null });
 * assert.equal(name, "19700101-000000__etc_x__8_unknown");
 * ```
 */
export function recordingBaseName(parts: RecordingNameParts): string {
  const pieces = [
    timeStamp(parts.ts),
    safeName(parts.id, MAX_ID_CHARS),
    safeName(parts.caller ?? UNKNOWN_PARTY, MAX_PARTY_CHARS),
    safeName(parts.callee ?? UNKNOWN_PARTY, MAX_PARTY_CHARS),
  ];
  for (const s of parts.suffix ?? []) pieces.push(safeName(s, MAX_SUFFIX_CHARS));
  return pieces.join("_");
}

/** Names a {@linkcode UniqueNames} remembers before it starts afresh. */
export const MAX_REMEMBERED_NAMES = 100000;

/**
 * Hands out file names that are unique within one run: a name already
 * given gets `_2`, `_3`, ... before its extension. Names begin with their
 * second, so only recent ones can clash: past
 * {@linkcode MAX_REMEMBERED_NAMES} the memory starts afresh (bounded state
 * for a long live capture).
 */
export class UniqueNames {
  readonly #taken = new Set<string>();
  readonly #max: number;

  /** @param max Names remembered before starting afresh. */
  constructor(max = MAX_REMEMBERED_NAMES) {
    this.#max = max;
  }

  /**
   * Reserves a name.
   *
   * @param base Base name (already safe).
   * @param extension Extension with its dot, such as `.wav`.
   * @returns The base name to use (the given one, or one with a counter).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * const names = new UniqueNames();
   * assert.equal(names.take("a", ".wav"), "a");
   * assert.equal(names.take("a", ".wav"), "a_2");
   * assert.equal(names.take("a", ".json"), "a");
   * ```
   */
  take(base: string, extension: string): string {
    if (this.#taken.size >= this.#max) this.#taken.clear();
    let name = base;
    for (let n = 2; this.#taken.has(name + extension); n++) name = `${base}_${n}`;
    this.#taken.add(name + extension);
    return name;
  }

  /**
   * Reserves one base name free for every given extension (a recording and its sidecar).
   *
   * @param base Base name (already safe).
   * @param extensions Extensions with their dots.
   * @returns The base name to use.
   */
  takeAll(base: string, extensions: readonly string[]): string {
    if (this.#taken.size >= this.#max) this.#taken.clear();
    let name = base;
    for (let n = 2; extensions.some((e) => this.#taken.has(name + e)); n++) name = `${base}_${n}`;
    for (const e of extensions) this.#taken.add(name + e);
    return name;
  }
}
