/**
 * Reused buffers for audio chunks. Recording a capture moves hundreds of
 * megabytes of PCM through memory; allocating a fresh `ArrayBuffer` for
 * every chunk leaves the freeing to the garbage collector, which lets
 * hundreds of megabytes of dead buffers pile up before it runs. A
 * {@linkcode BufferPool} hands out buffers in power-of-two sizes and takes
 * them back once every holder (the writer filling it, the memory kept for
 * the call files, the file write in flight) has let go: each holder has a
 * reference, and the last `unref` returns the buffer to the pool.
 *
 * Buffers the pool did not make are ignored by `ref` and `unref`, so code
 * that may be handed either kind needs no special case.
 *
 * @module
 */

/** Smallest buffer the pool hands out, in bytes. */
export const MIN_POOLED_BYTES = 4096;
/** Default bytes of free buffers kept for reuse. */
export const DEFAULT_MAX_FREE_BYTES = 32 << 20;

/**
 * Power-of-two buffers with reference counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BufferPool } from "./buffer_pool.ts";
 *
 * const pool = new BufferPool();
 * const a = pool.take(5000);
 * assert.equal(a.byteLength, 8192);
 * pool.ref(a); // a second holder
 * pool.unref(a);
 * pool.unref(a); // the last one: back to the pool
 * assert.equal(pool.take(6000), a);
 * ```
 */
export class BufferPool {
  readonly #maxFree: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #refs = new WeakMap<ArrayBuffer, number>();
  #freeBytes = 0;
  #allocated = 0;
  #live = 0;

  /** @param maxFreeBytes Bytes of free buffers kept for reuse (default 32 MiB). */
  constructor(maxFreeBytes = DEFAULT_MAX_FREE_BYTES) {
    this.#maxFree = Math.max(0, maxFreeBytes);
  }

  /** Bytes of free buffers waiting for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Bytes of the buffers handed out and not given back yet. */
  get liveBytes(): number {
    return this.#live;
  }

  /** Bytes of buffers ever allocated by the pool. */
  get allocatedBytes(): number {
    return this.#allocated;
  }

  /**
   * The size of the buffer `take(bytes)` returns.
   *
   * @param bytes Bytes wanted.
   * @returns The power of two at or above `bytes` (at least {@linkcode MIN_POOLED_BYTES}).
   */
  static sizeFor(bytes: number): number {
    let size = MIN_POOLED_BYTES;
    while (size < bytes) size *= 2;
    return size;
  }

  /**
   * A buffer of at least `bytes` (a free one of the same power of two, else
   * one up to four times bigger, else a new one), with one reference (the
   * caller's). Its contents are whatever its last holder left.
   *
   * @param bytes Bytes wanted.
   * @returns The buffer.
   */
  take(bytes: number): ArrayBuffer {
    const size = BufferPool.sizeFor(bytes);
    let buffer: ArrayBuffer | undefined;
    // A free buffer of this size, else one up to four times bigger, before a new one.
    for (let s = size; s <= 4 * size && buffer === undefined; s *= 2) {
      buffer = this.#free.get(s)?.pop();
    }
    if (buffer === undefined) {
      buffer = new ArrayBuffer(size);
      this.#allocated += size;
    } else {
      this.#freeBytes -= buffer.byteLength;
    }
    this.#refs.set(buffer, 1);
    this.#live += buffer.byteLength;
    return buffer;
  }

  /**
   * Adds a holder.
   *
   * @param buffer A buffer of this pool (others are ignored).
   */
  ref(buffer: ArrayBufferLike): void {
    const n = this.#refs.get(buffer as ArrayBuffer);
    if (n !== undefined && n > 0) this.#refs.set(buffer as ArrayBuffer, n + 1);
  }

  /**
   * Drops a holder; the last one gives the buffer back.
   *
   * @param buffer A buffer of this pool (others are ignored).
   */
  unref(buffer: ArrayBufferLike): void {
    const b = buffer as ArrayBuffer;
    const n = this.#refs.get(b);
    if (n === undefined || n <= 0) return;
    if (n > 1) {
      this.#refs.set(b, n - 1);
      return;
    }
    this.#refs.delete(b);
    this.#live -= b.byteLength;
    if (this.#freeBytes + b.byteLength > this.#maxFree) return; // left to the collector
    let list = this.#free.get(b.byteLength);
    if (!list) this.#free.set(b.byteLength, list = []);
    list.push(b);
    this.#freeBytes += b.byteLength;
  }
}
