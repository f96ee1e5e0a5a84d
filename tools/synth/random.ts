/**
 * A small seeded pseudo-random generator for synthetic captures: the same
 * seed gives the same tags, branches, SSRCs and jitter on every run and
 * every machine, so generated fixtures are reproducible byte for byte.
 *
 * Not for anything secret: it is sfc32, fast and well mixed, nothing more.
 *
 * @module
 */

const HEX_DIGITS = "0123456789abcdef";
/** Letters and digits, the alphabet of {@link SeededRandom.token} by default. */
export const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * Hashes a string to a 32-bit seed (FNV-1a over UTF-16 code units).
 *
 * @param text Any text, such as a scenario name.
 * @returns An unsigned 32-bit integer.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(seedFromString("a"), seedFromString("a"));
 * assert.notEqual(seedFromString("a"), seedFromString("b"));
 * ```
 */
export function seedFromString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A deterministic random source (sfc32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const a = new SeededRandom("scenario-1");
 * const b = new SeededRandom("scenario-1");
 * assert.equal(a.hex(8), b.hex(8));
 * assert.match(a.hex(8), /^[0-9a-f]{8}$/);
 * ```
 */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * Seeds the generator.
   *
   * @param seed A number or a string (hashed with {@link seedFromString}).
   */
  constructor(seed: number | string) {
    const s = typeof seed === "string" ? seedFromString(seed) : seed >>> 0;
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = s;
    // Warm up so that close seeds diverge.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /**
   * Draws 32 random bits.
   *
   * @returns The next unsigned 32-bit integer.
   */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /**
   * Draws a uniform float.
   *
   * @returns A float in [0, 1).
   */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /**
   * Draws a uniform integer.
   *
   * @param min Smallest value.
   * @param max Largest value (inclusive).
   * @returns An integer in [min, max].
   */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /**
   * Draws hex digits (for tags, branches, Call-IDs, nonces).
   *
   * @param length Number of hex digits.
   * @returns Lower-case hex digits.
   */
  hex(length: number): string {
    return this.token(length, HEX_DIGITS);
  }

  /**
   * Draws a string over an alphabet.
   *
   * @param length Number of characters.
   * @param alphabet Characters to draw from (default letters and digits).
   * @returns A random string over the alphabet.
   */
  token(length: number, alphabet: string = ALPHANUMERIC): string {
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[this.uint32() % alphabet.length];
    return out;
  }

  /**
   * Draws one item of a list.
   *
   * @param items A non-empty list.
   * @returns One of its items.
   */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
    return items[this.uint32() % items.length] as T;
  }
}
