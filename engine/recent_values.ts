/**
 * A map that keeps only the entries set last: for values worked out from
 * text that comes back again and again (an SDP body re-sent, the From of
 * every message of a dialog, a caller's number), where remembering
 * everything would grow with the capture.
 *
 * @module
 */

/** The last `limit` entries set, the oldest dropped first. */
export class RecentValues<K, V> {
  readonly #map = new Map<K, V>();
  readonly #limit: number;

  /** @param limit Entries kept (at least one). */
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /**
   * The value set for a key, if it is still kept.
   *
   * @param key The key.
   * @returns Its value, or `undefined`.
   */
  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  /**
   * Keeps a value, dropping the oldest entry when full.
   *
   * @param key The key.
   * @param value Its value (`undefined` cannot be told from a missing entry).
   */
  set(key: K, value: V): void {
    if (this.#map.size >= this.#limit && !this.#map.has(key)) {
      this.#map.delete(this.#map.keys().next().value!);
    }
    this.#map.set(key, value);
  }

  /** Entries kept. */
  get size(): number {
    return this.#map.size;
  }
}
