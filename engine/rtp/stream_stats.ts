/**
 * Per-stream RTP statistics with Wireshark's definitions, so that packets,
 * lost, deltas and jitter agree with `tshark -z rtp,streams` and the "RTP
 * Stream Analysis" dialog (Wireshark 4.0, `ui/tap-rtp-analysis.c` and
 * `ui/tap-rtp-common.c`), plus a few figures of our own (duplicates, late
 * packets, longest loss burst) computed exactly within a 1024-packet window.
 *
 * How Wireshark 4.0 counts, and therefore how this class counts (checked
 * against tshark 4.0.17 on 42 reference streams and a synthetic capture of
 * edge cases, see `stream_stats_tshark_test.ts`):
 *
 * - **In time sequence.** A packet is in time sequence when its RTP
 *   timestamp is at most 2^31 ahead of the *first* packet's timestamp
 *   (modulo 2^32). A sender that restarts its timestamps lower stays out of
 *   time sequence until they pass the first packet's again.
 * - **Delta** is the arrival gap, in ms, to the last in-time-sequence packet;
 *   out-of-time packets neither get a delta nor move that reference.
 * - **Jitter** is RFC 3550 §6.4.1 `J += (|D| − J) / 16`, in ms, computed on
 *   in-time-sequence packets: `D` compares the arrival gap with the media
 *   time gap since the last packet that fed the jitter, media time being
 *   (timestamp − first timestamp) ÷ (clockRate ÷ 1000) with the division by
 *   1000 in *integer* arithmetic (44100 Hz counts as 44 per ms). Packets
 *   whose payload type has clock rate 0 — unknown dynamic types, and
 *   telephone-event, whose timestamp marks the event start and stands still
 *   (RFC 4733 §2.2.1) — leave the jitter untouched. (Wireshark divides by
 *   zero for a clock rate under 1000 Hz; we leave the jitter untouched.)
 * - **Regular packets** feed min/mean/max delta and jitter: not the first
 *   packet, not a marker packet, not comfort noise (PT 13 or 19), not the
 *   packet right after comfort noise, not out of time sequence. Means are
 *   Wireshark's running average `mean = (mean·(n−1) + x) / n` where `n`
 *   counts *all* packets before this one, regular or not — so with skipped
 *   packets the "mean" is not an arithmetic mean, and we keep it that way.
 * - **Expected** = last sequence number + 65536 × wrap cycles − first
 *   sequence number + 1 (the last *received*, not the highest), and
 *   **lost** = expected − received: negative with duplicates.
 * - **Sequence errors** count packets that were not the successor of the
 *   last in-order sequence number (jumps, late packets, duplicates).
 * - **Problems** is set after any sequence error or out-of-time-sequence packet.
 * - Minimums are −1 until a regular packet was seen (tshark prints −1.000).
 *
 * Arrival times are epoch seconds as doubles, which resolve about 0.24 µs
 * today: far below tshark's printed precision of 1 µs.
 *
 * Per packet, `update` allocates nothing, builds no strings and throws nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RtpHeader } from "./rtp_header.ts";
 * import { RtpStreamStats } from "./stream_stats.ts";
 *
 * const stats = new RtpStreamStats(() => 8000);
 * const header = new RtpHeader();
 * header.ssrc = 0x1234;
 * for (let i = 0; i < 50; i++) {
 *   if (i === 20) continue; // one packet lost
 *   header.sequence = 100 + i;
 *   header.timestamp = 160 * i;
 *   stats.update(1000 + i * 0.02, header, 214);
 * }
 * const summary = stats.summary();
 * assert.equal(summary.packets, 49);
 * assert.equal(summary.lost, 1);
 * assert.equal(summary.maxDeltaMs.toFixed(3), "40.000");
 * ```
 *
 * @module
 */

import type { RtpHeader } from "./rtp_header.ts";
import { staticPayloadFormat } from "./payload_types.ts";

/** Payload type of comfort noise (RFC 3389). */
export const PT_CN = 13;
/** The old, pre-RFC 3551 comfort-noise payload type Wireshark also treats as CN. */
export const PT_CN_OLD = 19;

/** Window, in packets, for the exact duplicate / late / loss-burst figures. */
export const SEQUENCE_WINDOW = 1024;

const WINDOW_MASK = SEQUENCE_WINDOW - 1;
const HALF_32 = 0x80000000;

/**
 * Clock rate in Hz of a payload type, as the caller knows it (static table
 * or SDP `a=rtpmap`). Return 0 for types whose timestamps must not feed
 * the jitter: unknown dynamic types and telephone-event (see
 * {@linkcode wiresharkClockRate}).
 */
export type ClockRateOf = (payloadType: number) => number;

/** Summary of one RTP stream; times in ms unless named otherwise. */
export interface RtpStreamSummary {
  /** SSRC of the stream (of its first packet). */
  ssrc: number;
  /** Packets received. */
  packets: number;
  /** Sum of the `packetBytes` given to `update`. */
  bytes: number;
  /** Wireshark's expected count: last seq + 65536 × cycles − first seq + 1. */
  expected: number;
  /** `expected − packets`; negative when packets were duplicated. */
  lost: number;
  /** `lost × 100 / expected` (0 when nothing is expected); can be negative. */
  lostPercent: number;
  /** Wireshark's "wrong sequence number" count. */
  sequenceErrors: number;
  /** Packets whose sequence number had already been received (exact within the window). */
  duplicates: number;
  /**
   * Packets that arrived after a higher sequence number (late, reordered), not
   * duplicates. Two consecutive packets more than the window behind are taken as
   * a restart of the sender's numbering instead (RFC 3550 A.1) and not counted.
   */
  outOfOrder: number;
  /** Longest run of sequence numbers never received (a late arrival fills its gap). */
  maxConsecutiveLost: number;
  /** Smallest delta between regular packets; −1 when there was none. */
  minDeltaMs: number;
  /** Wireshark's running mean of the deltas of regular packets. */
  meanDeltaMs: number;
  /** Largest delta between regular packets; 0 when there was none. */
  maxDeltaMs: number;
  /** Smallest jitter after a regular packet; −1 when there was none. */
  minJitterMs: number;
  /** Wireshark's running mean of the jitter of regular packets. */
  meanJitterMs: number;
  /** Largest jitter after a regular packet. */
  maxJitterMs: number;
  /** Jitter after the last packet with a known clock rate. */
  lastJitterMs: number;
  /** Largest skew (timestamp time minus arrival time since the first packet), signed. */
  maxSkewMs: number;
  /** Arrival of the first packet, seconds since the Unix epoch. */
  firstArrival: number;
  /** Arrival of the last packet, seconds since the Unix epoch. */
  lastArrival: number;
  /** Packets with the marker bit. */
  markers: number;
  /** Payload types seen, ascending. */
  payloadTypes: number[];
  /** Last non-zero clock rate used for the jitter, 0 when none. */
  clockRate: number;
  /** Wireshark's "Problems?" flag: a sequence error or an out-of-time-sequence packet. */
  problems: boolean;
}

/**
 * The clock rate Wireshark uses for a payload type in its stream analysis:
 * the static table (RFC 3551, plus the historic types 1, 2 and 19) below
 * 96; for dynamic types 0 for `telephone-event`, else the SDP rate. A
 * payload type 96–127 with no SDP mapping gets 0 (no jitter).
 *
 * @param payloadType RTP payload type.
 * @param encodingName Encoding name from SDP `a=rtpmap`, or `null`.
 * @param sdpClockRate Clock rate from SDP `a=rtpmap`, or 0.
 * @returns Clock rate in Hz, or 0 when the jitter must not be computed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wiresharkClockRate } from "./stream_stats.ts";
 *
 * assert.equal(wiresharkClockRate(8, null, 0), 8000);
 * assert.equal(wiresharkClockRate(101, "telephone-event", 8000), 0);
 * assert.equal(wiresharkClockRate(96, "opus", 48000), 48000);
 * assert.equal(wiresharkClockRate(96, null, 0), 0);
 * ```
 */
export function wiresharkClockRate(
  payloadType: number,
  encodingName: string | null,
  sdpClockRate: number,
): number {
  if (payloadType < 96) {
    // Types Wireshark's table has beyond RFC 3551's current list.
    if (payloadType === 1 || payloadType === 2 || payloadType === PT_CN_OLD) return 8000;
    return staticPayloadFormat(payloadType)?.clockRate ?? 0;
  }
  if (encodingName === null) return 0;
  if (encodingName.toLowerCase().startsWith("telephone-event")) return 0;
  return sdpClockRate > 0 ? sdpClockRate : 0;
}

/**
 * Statistics of one RTP stream (one SSRC on one 5-tuple). Feed it every
 * packet in capture order with {@linkcode RtpStreamStats.update}; read
 * {@linkcode RtpStreamStats.summary} whenever needed.
 */
export class RtpStreamStats {
  #clockRateOf: ClockRateOf;
  #cachedPayloadType = -1;
  #cachedClockRate = 0;
  #cachedPerMs = 0;

  // Counters.
  #packets = 0;
  #bytes = 0;
  #markers = 0;
  #ssrc = 0;
  #firstArrival = 0;
  #lastArrival = 0;
  #payloadTypeBits0 = 0; // PT 0–31
  #payloadTypeBits1 = 0; // PT 32–63
  #payloadTypeBits2 = 0; // PT 64–95
  #payloadTypeBits3 = 0; // PT 96–127

  // Wireshark's sequence bookkeeping (16-bit values).
  #startSeq = 0;
  #stopSeq = 0;
  #seqNum = 0;
  #seqCycles = 0;
  #under = false;
  #sequenceErrors = 0;
  #problems = false;

  // Wireshark's timing state (ms since the first packet).
  #firstTimestamp = 0;
  #delta = 0;
  #time = 0;
  #payloadType = 0;
  #clockRate = 0;
  #jitter = 0;
  #minDelta = -1;
  #maxDelta = 0;
  #meanDelta = 0;
  #minJitter = -1;
  #maxJitter = 0;
  #meanJitter = 0;
  #lastNominalTime = 0;
  #maxSkew = 0;

  // Our exact window of received sequence numbers.
  #window = new Int32Array(SEQUENCE_WINDOW / 32);
  #highest = 0; // extended sequence number of the highest packet
  #finalized = 0; // every extended seq <= this has been accounted for
  #lossRun = 0;
  #maxLossRun = 0;
  #badSeq = -1; // successor of a packet too far behind the window, to detect a restart
  #duplicates = 0;
  #outOfOrder = 0;

  /**
   * @param clockRateOf Clock rate of each payload type (see {@linkcode ClockRateOf});
   *   asked again only when the payload type changes or after {@linkcode RtpStreamStats.clockRatesChanged}.
   */
  constructor(clockRateOf: ClockRateOf) {
    this.#clockRateOf = clockRateOf;
  }

  /** Forgets the cached clock rate, for when SDP renegotiation changed the payload mapping. */
  clockRatesChanged(): void {
    this.#cachedPayloadType = -1;
  }

  /** Packets seen so far. */
  get packets(): number {
    return this.#packets;
  }

  /**
   * Accounts for one packet of the stream.
   *
   * @param arrival Capture time, seconds since the Unix epoch.
   * @param header The packet's decoded RTP header.
   * @param packetBytes Bytes to add to the stream's byte count (the caller's choice: frame or UDP payload).
   */
  update(arrival: number, header: RtpHeader, packetBytes: number): void {
    const seq = header.sequence;
    const payloadType = header.payloadType;
    this.#bytes += packetBytes;
    if (header.marker) this.#markers++;
    if (payloadType < 32) this.#payloadTypeBits0 |= 1 << payloadType;
    else if (payloadType < 64) this.#payloadTypeBits1 |= 1 << (payloadType - 32);
    else if (payloadType < 96) this.#payloadTypeBits2 |= 1 << (payloadType - 64);
    else this.#payloadTypeBits3 |= 1 << (payloadType - 96);

    if (this.#packets === 0) {
      this.#first(arrival, header);
      return;
    }
    this.#trackWindow(seq);
    this.#lastArrival = arrival;
    const now = (arrival - this.#firstArrival) * 1000;

    // In time sequence: the timestamp is at most 2^31 ahead of the first packet's,
    // modulo 2^32 (Wireshark compares with the first timestamp, not the previous one).
    const timestamp = header.timestamp;
    const firstTimestamp = this.#firstTimestamp;
    const inTimeSequence = firstTimestamp <= timestamp
      ? timestamp - firstTimestamp < HALF_32
      : 0xffffffff - firstTimestamp + timestamp < HALF_32;
    if (!inTimeSequence) this.#problems = true;

    // Sequence number wrap cycles (Wireshark's "under" heuristic).
    if (seq < this.#startSeq && inTimeSequence && !this.#under) {
      this.#seqCycles++;
      this.#under = true;
    } else if (seq === 0 && this.#stopSeq === 65535 && inTimeSequence && !this.#under) {
      this.#seqCycles++;
      this.#under = true;
    } else if (seq > this.#startSeq && inTimeSequence && this.#under) {
      this.#under = false;
    }

    // Sequence errors (C int arithmetic on 16-bit values, as in Wireshark).
    const seqNum = this.#seqNum;
    if (inTimeSequence && seqNum + 1 === seq) {
      this.#seqNum = seq;
    } else if (inTimeSequence && seqNum === 65535 && seq === 0) {
      this.#seqNum = seq;
    } else if (inTimeSequence && (seqNum + 1 < seq || seqNum - seq > 0xff00)) {
      this.#seqNum = seq;
      this.#sequenceErrors++;
      this.#problems = true;
    } else if (seqNum + 1 > seq) {
      this.#sequenceErrors++;
      this.#problems = true;
    }

    // Payload type: comfort noise and the packet after it are not "regular".
    const previousPayloadType = this.#payloadType;
    const comfortNoise = payloadType === PT_CN || payloadType === PT_CN_OLD;
    const followsComfortNoise = previousPayloadType === PT_CN || previousPayloadType === PT_CN_OLD;
    this.#payloadType = payloadType;
    if (payloadType !== this.#cachedPayloadType) {
      this.#cachedPayloadType = payloadType;
      const rate = this.#clockRateOf(payloadType);
      this.#cachedClockRate = rate > 0 ? rate : 0;
      // Wireshark divides by clock_rate / 1000 in integer arithmetic.
      this.#cachedPerMs = Math.floor(this.#cachedClockRate / 1000);
    }
    const perMs = this.#cachedPerMs;

    let currentJitter = 0;
    if (inTimeSequence) {
      this.#delta = now - this.#time;
      if (perMs > 0) {
        this.#clockRate = this.#cachedClockRate;
        // Media time since the first packet, in ms of this payload type's clock.
        const nominalTime = ((timestamp - firstTimestamp) >>> 0) / perMs;
        const diff = Math.abs(now - (this.#time + nominalTime - this.#lastNominalTime));
        currentJitter = (15 * this.#jitter + diff) / 16;
        this.#jitter = currentJitter;
        this.#lastNominalTime = nominalTime;
        const skew = nominalTime - now;
        if (Math.abs(skew) > Math.abs(this.#maxSkew)) this.#maxSkew = skew;
      }
    }

    if (!header.marker && !comfortNoise && !followsComfortNoise && inTimeSequence) {
      const n = this.#packets;
      const delta = this.#delta;
      if (delta > this.#maxDelta) this.#maxDelta = delta;
      if (this.#minDelta === -1 || delta < this.#minDelta) this.#minDelta = delta;
      this.#meanDelta = (this.#meanDelta * (n - 1) + delta) / n;
      if (perMs > 0) {
        if (currentJitter > this.#maxJitter) this.#maxJitter = currentJitter;
        this.#meanJitter = (this.#meanJitter * (n - 1) + currentJitter) / n;
        if (this.#minJitter === -1 || currentJitter < this.#minJitter) {
          this.#minJitter = currentJitter;
        }
      }
    }

    if (inTimeSequence) this.#time = now;
    this.#stopSeq = seq;
    this.#packets++;
  }

  #first(arrival: number, header: RtpHeader): void {
    const seq = header.sequence;
    this.#ssrc = header.ssrc;
    this.#firstArrival = arrival;
    this.#lastArrival = arrival;
    this.#startSeq = seq;
    this.#stopSeq = seq;
    this.#seqNum = seq;
    this.#firstTimestamp = header.timestamp;
    this.#time = 0;
    this.#payloadType = header.payloadType;
    // Extended sequence numbers start one cycle up, so early reordering stays positive.
    this.#highest = 0x10000 + seq;
    this.#finalized = this.#highest - 1;
    this.#setBit(this.#highest);
    this.#packets = 1;
  }

  /** Keeps the window of received sequence numbers: duplicates, late packets, loss bursts. */
  #trackWindow(seq: number): void {
    const highest = this.#highest;
    let extended = highest - (highest & 0xffff) + seq;
    if (extended + 0x8000 < highest) extended += 0x10000;
    else if (highest + 0x8000 < extended) extended -= 0x10000;
    if (extended > highest) {
      const newFinal = extended - SEQUENCE_WINDOW;
      if (newFinal > this.#finalized) {
        const scanEnd = newFinal < highest ? newFinal : highest;
        for (let s = this.#finalized + 1; s <= scanEnd; s++) this.#consume(s);
        if (newFinal > highest) {
          // Everything between the old highest and the new window was never received.
          this.#lossRun += newFinal - highest;
          if (this.#lossRun > this.#maxLossRun) this.#maxLossRun = this.#lossRun;
        }
        this.#finalized = newFinal;
      }
      this.#setBit(extended);
      this.#highest = extended;
      this.#badSeq = -1;
    } else if (extended <= this.#finalized) {
      if (seq === this.#badSeq) {
        // Two consecutive packets far behind: the sender restarted its numbering
        // (RFC 3550 A.1). Start the window again from the packet before this one.
        this.#outOfOrder--;
        this.#window.fill(0);
        this.#highest = 0x10000 + seq;
        this.#finalized = this.#highest - 2;
        this.#setBit(this.#highest - 1);
        this.#setBit(this.#highest);
        this.#lossRun = 0;
        this.#badSeq = -1;
      } else {
        this.#outOfOrder++;
        this.#badSeq = (seq + 1) & 0xffff;
      }
    } else {
      this.#badSeq = -1;
      const word = (extended & WINDOW_MASK) >>> 5;
      const bit = 1 << (extended & 31);
      if ((this.#window[word]! & bit) !== 0) {
        this.#duplicates++;
      } else {
        this.#window[word]! |= bit;
        this.#outOfOrder++;
      }
    }
  }

  #setBit(extended: number): void {
    this.#window[(extended & WINDOW_MASK) >>> 5]! |= 1 << (extended & 31);
  }

  /** Moves one sequence number out of the window, counting it as received or lost. */
  #consume(extended: number): void {
    const word = (extended & WINDOW_MASK) >>> 5;
    const bit = 1 << (extended & 31);
    if ((this.#window[word]! & bit) !== 0) {
      this.#window[word]! &= ~bit;
      this.#lossRun = 0;
    } else {
      this.#lossRun++;
      if (this.#lossRun > this.#maxLossRun) this.#maxLossRun = this.#lossRun;
    }
  }

  /**
   * The figures so far, as a new plain object.
   *
   * @returns The stream summary.
   */
  summary(): RtpStreamSummary {
    const packets = this.#packets;
    const expected = packets === 0
      ? 0
      : this.#stopSeq + this.#seqCycles * 0x10000 - this.#startSeq + 1;
    const lost = expected - packets;

    // Loss bursts still inside the window, without disturbing it.
    let run = this.#lossRun;
    let maxRun = this.#maxLossRun;
    if (packets > 0) {
      for (let s = this.#finalized + 1; s <= this.#highest; s++) {
        if ((this.#window[(s & WINDOW_MASK) >>> 5]! & (1 << (s & 31))) !== 0) run = 0;
        else if (++run > maxRun) maxRun = run;
      }
    }

    const payloadTypes: number[] = [];
    const words = [
      this.#payloadTypeBits0,
      this.#payloadTypeBits1,
      this.#payloadTypeBits2,
      this.#payloadTypeBits3,
    ];
    for (let w = 0; w < 4; w++) {
      for (let b = 0; b < 32; b++) if ((words[w]! >>> b) & 1) payloadTypes.push(w * 32 + b);
    }

    return {
      ssrc: this.#ssrc,
      packets,
      bytes: this.#bytes,
      expected,
      lost,
      lostPercent: expected !== 0 ? (lost * 100) / expected : 0,
      sequenceErrors: this.#sequenceErrors,
      duplicates: this.#duplicates,
      outOfOrder: this.#outOfOrder,
      maxConsecutiveLost: maxRun,
      minDeltaMs: this.#minDelta,
      meanDeltaMs: this.#meanDelta,
      maxDeltaMs: this.#maxDelta,
      minJitterMs: this.#minJitter,
      meanJitterMs: this.#meanJitter,
      maxJitterMs: this.#maxJitter,
      lastJitterMs: this.#jitter,
      maxSkewMs: this.#maxSkew,
      firstArrival: this.#firstArrival,
      lastArrival: this.#lastArrival,
      markers: this.#markers,
      payloadTypes,
      clockRate: this.#clockRate,
      problems: this.#problems,
    };
  }
}
