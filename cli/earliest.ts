/**
 * The first rows of a long table in bounded memory: of records read one at
 * a time, keeps the `limit` with the smallest keys (a max-heap), so the text
 * tables of a capture with a million calls hold a thousand of them, not all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Earliest } from "./earliest.ts";
 *
 * const first = new Earliest<number>(2, (x) => x);
 * for (const x of [5, 1, 4, 2, 3]) first.push(x);
 * assert.deepEqual(first.sorted(), [1, 2]);
 * assert.equal(first.seen, 5);
 * ```
 *
 * @module
 */

/** Keeps the records with the smallest keys, up to a limit. */
export class Earliest<T> {
  readonly #limit: number;
  readonly #key: (item: T) => number;
  /** Max-heap by (key, arrival): the root is the first to go. */
  readonly #heap: { item: T; key: number; order: number }[] = [];
  /** Records pushed so far. */
  seen = 0;

  /**
   * @param limit How many to keep (`Infinity`: all of them).
   * @param key The sort key (a time); equal keys keep their arrival order.
   */
  constructor(limit: number, key: (item: T) => number) {
    this.#limit = Math.max(0, limit);
    this.#key = key;
  }

  /** Whether records were left out. */
  get truncated(): boolean {
    return this.seen > this.#heap.length;
  }

  /**
   * Offers a record.
   *
   * @param item The record.
   */
  push(item: T): void {
    const entry = { item, key: this.#key(item), order: this.seen++ };
    const heap = this.#heap;
    if (heap.length < this.#limit) {
      heap.push(entry);
      this.#up(heap.length - 1);
    } else if (heap.length > 0 && later(heap[0]!, entry)) {
      heap[0] = entry;
      this.#down(0);
    }
  }

  /**
   * The records kept, by key (then arrival).
   *
   * @returns A new array.
   */
  sorted(): T[] {
    return [...this.#heap].sort((a, b) => a.key - b.key || a.order - b.order).map((e) => e.item);
  }

  #up(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!later(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && later(heap[l]!, heap[top]!)) top = l;
      if (r < heap.length && later(heap[r]!, heap[top]!)) top = r;
      if (top === i) return;
      [heap[i], heap[top]] = [heap[top]!, heap[i]!];
      i = top;
    }
  }
}

/** Whether `a` sorts after `b` (a larger key, or the same key and a later arrival). */
function later(a: { key: number; order: number }, b: { key: number; order: number }): boolean {
  return a.key > b.key || (a.key === b.key && a.order > b.order);
}
