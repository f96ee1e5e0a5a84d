/**
 * RFC 4733 telephone-events ("RFC 2833 DTMF"): the 4-byte event payload and
 * a per-stream detector that turns the packet series of each key press into
 * one digit.
 *
 * A sender repeats an event's packets while the key is down (same RTP
 * timestamp, growing duration) and usually sends the final packet, with the
 * E bit, three times. The detector reports one digit per RTP timestamp:
 * when the first end packet arrives, or — when no end packet ever comes —
 * when the timestamp or event changes or the stream ends ({@linkcode DtmfDetector.flush}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTelephoneEvent, TelephoneEvent } from "./telephone_event.ts";
 *
 * const payload = new Uint8Array([11, 0x80 | 10, 0x03, 0x20]); // "#", end, -10 dBm0, 800 units
 * const event = new TelephoneEvent();
 * assert.equal(decodeTelephoneEvent(payload, 0, payload.length, event), true);
 * assert.deepEqual([event.event, event.end, event.volume, event.duration], [11, true, 10, 800]);
 * ```
 *
 * @module
 */

import type { RtpHeader } from "./rtp_header.ts";

/** Size of one telephone-event payload block in bytes (RFC 4733 §2.3). */
export const TELEPHONE_EVENT_BYTES = 4;

/** Event code of the hook flash (RFC 4733 §3.2). */
export const EVENT_FLASH = 16;

/** Largest duration a single event segment can carry (RFC 4733 §2.5.1.3). */
export const MAX_SEGMENT_DURATION = 0xffff;

/** Names of the DTMF events 0–16 (RFC 4733 §3.2, table 7). */
const EVENT_NAMES: readonly string[] = [
  "0",
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
  "*",
  "#",
  "A",
  "B",
  "C",
  "D",
  "flash",
];

/** One decoded telephone-event payload; reused between packets. */
export class TelephoneEvent {
  /** Event code, 0–255 (0–9 digits, 10 `*`, 11 `#`, 12–15 A–D, 16 flash). */
  event = 0;
  /** E bit: this packet reports the end of the event. */
  end = false;
  /** Power level in dBm0 with the sign dropped: 0 is loudest, 63 the quietest (0–63). */
  volume = 0;
  /** Duration so far, in RTP timestamp units of the stream's clock. */
  duration = 0;
}

/**
 * Decodes the first event block of a telephone-event payload.
 *
 * @param data Buffer holding the payload.
 * @param offset Offset of the payload (RtpHeader.payloadOffset).
 * @param length Payload length (RtpHeader.payloadLength); at least 4.
 * @param out Reused event object, overwritten on success.
 * @returns `false` when fewer than 4 bytes are available.
 */
export function decodeTelephoneEvent(
  data: Uint8Array,
  offset: number,
  length: number,
  out: TelephoneEvent,
): boolean {
  if (
    offset < 0 || length < TELEPHONE_EVENT_BYTES || offset + TELEPHONE_EVENT_BYTES > data.length
  ) {
    return false;
  }
  const flags = data[offset + 1]!;
  out.event = data[offset]!;
  out.end = (flags & 0x80) !== 0;
  out.volume = flags & 0x3f;
  out.duration = (data[offset + 2]! << 8) | data[offset + 3]!;
  return true;
}

/**
 * The DTMF name of an event code.
 *
 * @param event Event code.
 * @returns `"0"`–`"9"`, `"*"`, `"#"`, `"A"`–`"D"`, `"flash"`, or `null` for other events.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { telephoneEventName } from "./telephone_event.ts";
 *
 * assert.equal(telephoneEventName(10), "*");
 * assert.equal(telephoneEventName(16), "flash");
 * assert.equal(telephoneEventName(32), null);
 * ```
 */
export function telephoneEventName(event: number): string | null {
  return EVENT_NAMES[event] ?? null;
}

/** One key press (or other event) as the detector reports it. */
export interface DtmfDigit {
  /** DTMF name (`"5"`, `"#"`, `"flash"`), or `null` for non-DTMF events (fax and modem tones). */
  digit: string | null;
  /** Event code. */
  event: number;
  /** Arrival time of the event's first packet, seconds since the Unix epoch. */
  startTime: number;
  /** RTP timestamp of the event (its start in media time). */
  rtpTimestamp: number;
  /** Duration in milliseconds: the largest reported duration ÷ clock rate. */
  durationMs: number;
  /** Power level of the last packet, dBm0 with the sign dropped (0–63). */
  volume: number;
  /** `true` when an end packet (E bit) was seen; `false` when inferred from a new event or the stream's end. */
  ended: boolean;
  /** Packets counted up to the report (the first end packet included, its repeats not). */
  packets: number;
}

/** Options of a {@linkcode DtmfDetector}. */
export interface DtmfDetectorOptions {
  /** Clock rate of the telephone-event payload type (SDP `a=rtpmap`), 8000 when omitted. */
  clockRate?: number;
  /** Called once per detected event, synchronously from `push` or `flush`. */
  onDigit: (digit: DtmfDigit) => void;
}

/**
 * Turns the telephone-event packets of one RTP stream (one SSRC) into
 * de-duplicated events. Feed it only the packets whose payload type the SDP
 * maps to `telephone-event`. Allocates only when it reports an event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DtmfDigit, DtmfDetector, TelephoneEvent } from "./telephone_event.ts";
 *
 * const digits: DtmfDigit[] = [];
 * const detector = new DtmfDetector({ onDigit: (d) => digits.push(d) });
 * const packet = new TelephoneEvent();
 * packet.event = 5;
 * packet.volume = 10;
 * packet.duration = 160;
 * detector.pushEvent(10.0, 1000, packet);
 * packet.duration = 320;
 * detector.pushEvent(10.02, 1000, packet);
 * packet.duration = 480;
 * packet.end = true; // the end packet, sent three times
 * for (let i = 0; i < 3; i++) detector.pushEvent(10.04 + i * 0.005, 1000, packet);
 * assert.equal(digits.length, 1);
 * assert.equal(digits[0]?.digit, "5");
 * assert.equal(digits[0]?.durationMs, 60);
 * ```
 */
export class DtmfDetector {
  #clockRate: number;
  #onDigit: (digit: DtmfDigit) => void;
  #decoded = new TelephoneEvent();

  #active = false;
  #timestamp = 0;
  #event = 0;
  #startTime = 0;
  #volume = 0;
  /** Duration of the current segment. */
  #segmentDuration = 0;
  /** Duration of earlier segments of a long event (RFC 4733 §2.5.1.3). */
  #previousSegments = 0;
  #packets = 0;

  #hasEnded = false;
  #endedTimestamp = 0;
  #endedEvent = 0;

  /**
   * @param options Clock rate and the digit callback.
   */
  constructor(options: DtmfDetectorOptions) {
    const rate = options.clockRate ?? 8000;
    this.#clockRate = rate > 0 ? rate : 8000;
    this.#onDigit = options.onDigit;
  }

  /**
   * Feeds one RTP packet of the telephone-event payload type.
   *
   * @param arrival Arrival time, seconds since the Unix epoch.
   * @param header Its decoded header.
   * @param data The buffer the header was decoded from.
   * @returns `false` when the payload is too short to be a telephone-event (ignored).
   */
  push(arrival: number, header: RtpHeader, data: Uint8Array): boolean {
    const event = this.#decoded;
    if (!decodeTelephoneEvent(data, header.payloadOffset, header.payloadLength, event)) {
      return false;
    }
    this.pushEvent(arrival, header.timestamp, event);
    return true;
  }

  /**
   * Feeds one already decoded event packet.
   *
   * @param arrival Arrival time, seconds since the Unix epoch.
   * @param timestamp RTP timestamp of the packet.
   * @param packet The decoded payload (read, not kept).
   */
  pushEvent(arrival: number, timestamp: number, packet: TelephoneEvent): void {
    const event = packet.event;
    // Repeats of an end packet already reported.
    if (
      this.#hasEnded && !this.#active && timestamp === this.#endedTimestamp &&
      event === this.#endedEvent
    ) {
      return;
    }
    if (this.#active && (timestamp !== this.#timestamp || event !== this.#event)) {
      const continues = event === this.#event &&
        this.#segmentDuration >= MAX_SEGMENT_DURATION - 0xff &&
        timestamp === ((this.#timestamp + this.#segmentDuration) >>> 0);
      if (continues) {
        // A long event goes on in a new segment with a new timestamp.
        this.#previousSegments += this.#segmentDuration;
        this.#segmentDuration = 0;
        this.#timestamp = timestamp;
      } else {
        this.#report(false);
      }
    }
    if (!this.#active) {
      this.#active = true;
      this.#timestamp = timestamp;
      this.#event = event;
      this.#startTime = arrival;
      this.#segmentDuration = 0;
      this.#previousSegments = 0;
      this.#packets = 0;
    }
    this.#packets++;
    this.#volume = packet.volume;
    if (packet.duration > this.#segmentDuration) this.#segmentDuration = packet.duration;
    if (packet.end) {
      this.#report(true);
      this.#hasEnded = true;
      this.#endedTimestamp = timestamp;
      this.#endedEvent = event;
    }
  }

  /** Reports the event in progress, if any, as not ended: call it when the stream ends or times out. */
  flush(): void {
    if (this.#active) this.#report(false);
  }

  #report(ended: boolean): void {
    this.#active = false;
    const units = this.#previousSegments + this.#segmentDuration;
    // The first segment's timestamp marks the event's start.
    const firstTimestamp = (this.#timestamp - this.#previousSegments) >>> 0;
    this.#onDigit({
      digit: telephoneEventName(this.#event),
      event: this.#event,
      startTime: this.#startTime,
      rtpTimestamp: firstTimestamp,
      durationMs: (units * 1000) / this.#clockRate,
      volume: this.#volume,
      ended,
      packets: this.#packets,
    });
  }
}
