/**
 * Keeps the JavaScript heap close to what is live. V8 collects its old
 * generation lazily: over a long capture the records of ended calls pile up
 * as garbage faster than it grows its limit back, so resident memory creeps
 * up with the length of the capture although live memory stays flat (about
 * 15 MB for 60 concurrent calls). When the runtime exposes `gc` (`deno run
 * --v8-flags=--expose-gc`, as the tasks and the compiled binary do), a full
 * collection runs when the heap has grown well past what was live after the
 * previous one (by half, plus a few MB), at most once per interval and never
 * taking more than a twentieth of the time. Without `gc` it does nothing.
 *
 * @module
 */

/** Settings of a {@link HeapKeeper}. */
export interface HeapKeeperOptions {
  /** Shortest time between two looks at the heap, ms (default 250). */
  minIntervalMs: number;
  /** Garbage tolerated above 1.5 times what was live, bytes (default 8 MiB). */
  slackBytes: number;
  /** Largest share of the time spent in these collections (default 0.05). */
  maxShare: number;
  /** The collector to call; `globalThis.gc` by default (present with `--expose-gc`). */
  gc: (() => void) | null;
  /** Bytes of the heap in use; `Deno.memoryUsage().heapUsed` by default. */
  heapUsed: () => number;
}

/** Runs a full garbage collection when the heap has outgrown what is live. */
export class HeapKeeper {
  /** Collections run so far. */
  collections = 0;
  readonly #options: HeapKeeperOptions;
  #live = 0;
  #checkedAt = -Infinity;
  /** Earliest time of the next collection, from the cost of the last one. */
  #nextAt = -Infinity;

  /** @param options Interval, slack, and (for tests) the collector and the heap gauge. */
  constructor(options: Partial<HeapKeeperOptions> = {}) {
    const exposed = (globalThis as { gc?: unknown }).gc;
    this.#options = {
      minIntervalMs: options.minIntervalMs ?? 250,
      slackBytes: options.slackBytes ?? 8 * 1024 * 1024,
      maxShare: options.maxShare ?? 0.05,
      gc: options.gc !== undefined
        ? options.gc
        : typeof exposed === "function"
        ? exposed as () => void
        : null,
      heapUsed: options.heapUsed ?? (() => Deno.memoryUsage().heapUsed),
    };
  }

  /** Whether a collector is available. */
  get enabled(): boolean {
    return this.#options.gc !== null;
  }

  /**
   * Collects when it is time: cheap enough to call every few thousand packets.
   *
   * @param now Current time, ms (performance.now() by default).
   */
  check(now = performance.now()): void {
    const o = this.#options;
    if (o.gc === null || now - this.#checkedAt < o.minIntervalMs || now < this.#nextAt) return;
    this.#checkedAt = now;
    if (o.heapUsed() < this.#live * 1.5 + o.slackBytes) return;
    const t0 = performance.now();
    o.gc();
    const took = performance.now() - t0;
    this.collections++;
    this.#live = o.heapUsed();
    this.#nextAt = now + took / o.maxShare;
  }
}
