/**
 * TCP stream reassembly: turns segments (in any order, with
 * retransmissions and overlaps) into an ordered byte stream per direction.
 * A hole that is never filled — a segment missing from the capture — is
 * stepped over after a bounded wait, and reported, so a stream never stalls.
 *
 * @module
 */

/** Limits of one direction's buffers. */
export interface TcpStreamLimits {
  /** Out-of-order bytes held while waiting for a hole to fill. */
  maxOutOfOrderBytes: number;
  /** Segments held out of order before the hole is declared lost. */
  maxOutOfOrderSegments: number;
  /** Unconsumed in-order bytes kept (a consumer that never frames a message). */
  maxBufferedBytes: number;
}

/** Defaults that fit SIP: messages are small, holes are rare. */
export const DEFAULT_TCP_LIMITS: TcpStreamLimits = {
  maxOutOfOrderBytes: 1 << 20,
  maxOutOfOrderSegments: 64,
  maxBufferedBytes: 1 << 20,
};

interface HeldSegment {
  seq: number;
  data: Uint8Array;
}

/** What happened to a segment pushed into a {@link TcpDirection}. */
export type TcpPushResult = "data" | "retransmission" | "held" | "empty";

/** One direction of a TCP connection. */
export class TcpDirection {
  /** In-order bytes not yet consumed: `buffer[0..length)`. */
  buffer: Uint8Array = new Uint8Array(4096);
  /** Bytes in `buffer`. */
  length = 0;
  /** Sequence number of the next expected byte, or -1 before the first segment. */
  nextSeq = -1;
  /** Bytes given up because a hole never filled. */
  lostBytes = 0;
  /** Segments that were full retransmissions. */
  retransmissions = 0;
  /** Set when bytes were lost, so the consumer knows to resynchronize; it clears the flag. */
  gap = false;
  /** Whether a FIN or RST was seen. */
  closed = false;
  readonly #held: HeldSegment[] = [];
  #heldBytes = 0;
  readonly #limits: TcpStreamLimits;

  /** @param limits Buffer limits; defaults to {@link DEFAULT_TCP_LIMITS}. */
  constructor(limits: TcpStreamLimits = DEFAULT_TCP_LIMITS) {
    this.#limits = limits;
  }

  /**
   * Adds a segment.
   *
   * @param seq Sequence number of the first byte of `data[start..end)`.
   * @param data Buffer holding the segment payload.
   * @param start First payload byte.
   * @param end One past the last payload byte.
   * @param syn Whether the SYN flag is set (the payload then starts at seq + 1).
   * @returns Whether new in-order bytes became available.
   */
  push(seq: number, data: Uint8Array, start: number, end: number, syn = false): TcpPushResult {
    if (syn) {
      seq = (seq + 1) >>> 0;
      if (this.nextSeq < 0) this.nextSeq = seq;
    }
    if (end <= start) return "empty";
    if (this.nextSeq < 0) this.nextSeq = seq;
    const diff = (seq - this.nextSeq) | 0;
    if (diff > 0) {
      this.#hold(seq, data.slice(start, end));
      if (
        this.#held.length > this.#limits.maxOutOfOrderSegments ||
        this.#heldBytes > this.#limits.maxOutOfOrderBytes
      ) {
        this.#skipHole();
        return "data";
      }
      return "held";
    }
    const skip = -diff;
    if (skip >= end - start) {
      this.retransmissions++;
      return "retransmission";
    }
    this.#append(data, start + skip, end);
    this.#drainHeld();
    return "data";
  }

  /**
   * Removes consumed bytes from the front of the buffer.
   *
   * @param count Bytes consumed.
   */
  consume(count: number): void {
    if (count >= this.length) {
      this.length = 0;
      return;
    }
    this.buffer.copyWithin(0, count, this.length);
    this.length -= count;
  }

  /** Gives up a hole that will not fill: the stream jumps to the first held segment. */
  #skipHole(): void {
    const first = this.#held[0];
    if (!first) return;
    this.lostBytes += ((first.seq - this.nextSeq) | 0) >>> 0;
    this.nextSeq = first.seq;
    this.length = 0;
    this.gap = true;
    this.#drainHeld();
  }

  #hold(seq: number, data: Uint8Array): void {
    let i = this.#held.length;
    while (i > 0 && ((this.#held[i - 1]!.seq - seq) | 0) > 0) i--;
    this.#held.splice(i, 0, { seq, data });
    this.#heldBytes += data.length;
  }

  #drainHeld(): void {
    while (this.#held.length > 0) {
      const first = this.#held[0]!;
      const diff = (first.seq - this.nextSeq) | 0;
      if (diff > 0) return;
      this.#held.shift();
      this.#heldBytes -= first.data.length;
      const skip = -diff;
      if (skip < first.data.length) this.#append(first.data, skip, first.data.length);
    }
  }

  #append(data: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.nextSeq = (this.nextSeq + count) >>> 0;
    if (this.length + count > this.#limits.maxBufferedBytes) {
      // The consumer cannot frame what it holds; drop it and make it resynchronize.
      this.lostBytes += this.length;
      this.length = 0;
      this.gap = true;
      if (count > this.#limits.maxBufferedBytes) {
        this.lostBytes += count;
        return;
      }
    }
    if (this.length + count > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.length + count, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(data.subarray(start, end), this.length);
    this.length += count;
  }
}
