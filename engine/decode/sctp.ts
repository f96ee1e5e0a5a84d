/**
 * SCTP DATA chunks: user messages split over several chunks (B/E flags) are
 * put back together by stream and stream sequence number, in TSN order.
 *
 * @module
 */

/** Flag bits of a DATA chunk. */
const FLAG_END = 0x01;
const FLAG_BEGIN = 0x02;

interface PartialMessage {
  parts: Map<number, Uint8Array>;
  beginTsn: number;
  endTsn: number;
}

/** Reassembles fragmented SCTP user messages, with a cap on messages in progress. */
export class SctpReassembler {
  readonly #pending = new Map<string, PartialMessage>();
  readonly #maxPending: number;

  /** @param maxPending Messages in progress at once; the oldest is dropped past it. */
  constructor(maxPending = 256) {
    this.#maxPending = maxPending;
  }

  /**
   * Adds one DATA chunk's user data.
   *
   * @param association Identifies the association and direction (addresses and ports).
   * @param streamId Stream identifier.
   * @param ssn Stream sequence number.
   * @param tsn Transmission sequence number.
   * @param flags Chunk flags (B and E bits).
   * @param data The chunk's user data (copied).
   * @returns The whole user message once its last fragment is in, else `null`.
   */
  add(
    association: string,
    streamId: number,
    ssn: number,
    tsn: number,
    flags: number,
    data: Uint8Array,
  ): Uint8Array | null {
    const key = `${association}/${streamId}/${ssn}`;
    let message = this.#pending.get(key);
    if (!message) {
      if (this.#pending.size >= this.#maxPending) {
        const oldest = this.#pending.keys().next().value;
        if (oldest !== undefined) this.#pending.delete(oldest);
      }
      message = { parts: new Map(), beginTsn: -1, endTsn: -1 };
      this.#pending.set(key, message);
    }
    message.parts.set(tsn, data.slice());
    if (flags & FLAG_BEGIN) message.beginTsn = tsn;
    if (flags & FLAG_END) message.endTsn = tsn;
    if (message.beginTsn < 0 || message.endTsn < 0) return null;
    const count = ((message.endTsn - message.beginTsn) >>> 0) + 1;
    if (count > message.parts.size) return null;
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const part = message.parts.get((message.beginTsn + i) >>> 0);
      if (!part) return null;
      pieces.push(part);
    }
    this.#pending.delete(key);
    const whole = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of pieces) {
      whole.set(p, o);
      o += p.length;
    }
    return whole;
  }
}
