/**
 * IP fragment reassembly, shared by IPv4 and IPv6: fragments are collected
 * per datagram key until the payload is covered from 0 to the end, with a
 * timeout and caps so hostile or lossy input cannot grow memory.
 *
 * @module
 */

/** Limits of a {@link FragmentReassembler}. */
export interface FragmentLimits {
  /** Capture-time seconds after the first fragment when an incomplete datagram is dropped. */
  timeoutSeconds: number;
  /** Datagrams in reassembly at once; the oldest is dropped past it. */
  maxPending: number;
  /** Largest reassembled payload in bytes. */
  maxBytes: number;
}

/** Defaults: 30 s (as Linux), 4096 datagrams, 64 KiB + the largest IPv6 jumbo we accept. */
export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  timeoutSeconds: 30,
  maxPending: 4096,
  maxBytes: 65535,
};

interface Pending {
  firstTs: number;
  /** Total payload length, known once the last fragment arrived; -1 before. */
  total: number;
  buffer: Uint8Array;
  /** Covered byte ranges, sorted and merged: [start0, end0, start1, end1, ...]. */
  ranges: number[];
}

/** Why a datagram was given up. */
export type FragmentDropReason = "timeout" | "overflow" | "too-large" | "incomplete";

/** Collects fragments and hands back whole payloads. */
export class FragmentReassembler {
  readonly #limits: FragmentLimits;
  readonly #pending = new Map<string, Pending>();
  #lastSweep = 0;
  /** Called for every datagram given up, with the reason. */
  onDrop: (reason: FragmentDropReason, key: string) => void = () => {};

  /** @param limits Timeouts and caps; defaults to {@link DEFAULT_FRAGMENT_LIMITS}. */
  constructor(limits: Partial<FragmentLimits> = {}) {
    this.#limits = { ...DEFAULT_FRAGMENT_LIMITS, ...limits };
  }

  /** Datagrams waiting for more fragments. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Adds one fragment.
   *
   * @param key Identifies the datagram (addresses, identification, protocol).
   * @param ts Capture time of the fragment.
   * @param offset Byte offset of this fragment's data in the payload.
   * @param more Whether more fragments follow (the MF flag / M bit).
   * @param data The fragment's data.
   * @returns The whole payload when this fragment completes it, else `null`.
   */
  add(key: string, ts: number, offset: number, more: boolean, data: Uint8Array): Uint8Array | null {
    if (ts - this.#lastSweep >= 1) this.expire(ts);
    const end = offset + data.length;
    if (end > this.#limits.maxBytes) {
      this.#drop(key, "too-large");
      return null;
    }
    let entry = this.#pending.get(key);
    if (!entry) {
      if (this.#pending.size >= this.#limits.maxPending) {
        const oldest = this.#pending.keys().next().value;
        if (oldest !== undefined) this.#drop(oldest, "overflow");
      }
      entry = { firstTs: ts, total: -1, buffer: new Uint8Array(Math.max(end, 2048)), ranges: [] };
      this.#pending.set(key, entry);
    }
    if (!more) entry.total = end;
    if (entry.buffer.length < end) {
      const grown = new Uint8Array(
        Math.min(this.#limits.maxBytes, Math.max(end, entry.buffer.length * 2)),
      );
      grown.set(entry.buffer);
      entry.buffer = grown;
    }
    entry.buffer.set(data, offset);
    addRange(entry.ranges, offset, end);
    const r = entry.ranges;
    if (entry.total >= 0 && r.length === 2 && r[0] === 0 && r[1]! >= entry.total) {
      this.#pending.delete(key);
      return entry.buffer.subarray(0, entry.total);
    }
    return null;
  }

  /**
   * Drops datagrams whose first fragment is older than the timeout.
   *
   * @param now Current capture time.
   */
  expire(now: number): void {
    this.#lastSweep = now;
    for (const [key, entry] of this.#pending) {
      if (now - entry.firstTs > this.#limits.timeoutSeconds) this.#drop(key, "timeout");
    }
  }

  /** Gives up every datagram still pending (end of input). */
  flush(): void {
    for (const key of [...this.#pending.keys()]) this.#drop(key, "incomplete");
  }

  #drop(key: string, reason: FragmentDropReason): void {
    this.#pending.delete(key);
    this.onDrop(reason, key);
  }
}

/** Inserts [start, end) into a sorted, merged flat list of ranges. */
function addRange(ranges: number[], start: number, end: number): void {
  if (end <= start) return;
  let i = 0;
  while (i < ranges.length && ranges[i + 1]! < start) i += 2;
  let j = i;
  while (j < ranges.length && ranges[j]! <= end) {
    start = Math.min(start, ranges[j]!);
    end = Math.max(end, ranges[j + 1]!);
    j += 2;
  }
  ranges.splice(i, j - i, start, end);
}
