/**
 * Builds RTP for synthetic captures: G.711 µ-law and A-law encoders and
 * decoders (ITU-T G.711, written from the segment tables), a continuous-phase
 * sine tone source, RTP packets (RFC 3550), RFC 4733 telephone-event
 * payloads, and {@link RtpSender}, which turns a time span into 20 ms
 * packets with correct sequence numbers and timestamps.
 *
 * The encoders are table-driven (one 64 KiB table per law, built on first
 * use), so a benchmark can encode millions of samples a second.
 *
 * @module
 */

/** RTP payload type of G.711 µ-law (PCMU). */
export const PAYLOAD_TYPE_PCMU = 0;
/** RTP payload type of G.711 A-law (PCMA). */
export const PAYLOAD_TYPE_PCMA = 8;
/** Size of the fixed RTP header in bytes. */
export const RTP_HEADER_BYTES = 12;
/** Sample rate and RTP clock rate of G.711. */
export const G711_SAMPLE_RATE = 8000;

const ULAW_BIAS = 0x84;
/** µ-law works on 14-bit magnitudes: bias 33 and clip 8159 in that domain (G.711 table 2). */
const ULAW_BIAS_14 = 33;
const ULAW_CLIP_14 = 8159;

/** The two G.711 companding laws. */
export type G711Law = "ulaw" | "alaw";

/** A-law segment of a 16-bit magnitude: 0 below 256, then one per doubling, at most 7. */
function segment(magnitude: number): number {
  let s = 0;
  for (let m = magnitude >> 8; m > 0 && s < 7; m >>= 1) s++;
  return s;
}

function clamp16(sample: number): number {
  return Math.max(-32768, Math.min(32767, Math.trunc(sample)));
}

/**
 * Encodes one 16-bit linear sample as G.711 µ-law. The magnitude is first reduced
 * to the 14 bits G.711 defines µ-law on (negative values through their ones'
 * complement, as ITU-T G.191's reference code does), then biased and cut into a
 * 3-bit segment and a 4-bit step.
 *
 * @param sample A signed 16-bit value (clamped).
 * @returns The µ-law byte.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(linearToUlaw(0), 0xff);
 * assert.equal(linearToUlaw(-32768), 0x00);
 * assert.equal(linearToUlaw(32767), 0x80);
 * ```
 */
export function linearToUlaw(sample: number): number {
  const x = clamp16(sample);
  const sign = x < 0 ? 0x80 : 0x00;
  // Magnitude in 14 bits; a negative value's is that of its ones' complement (-x - 1).
  let v = (x < 0 ? ~x : x) >> 2;
  if (v > ULAW_CLIP_14) v = ULAW_CLIP_14;
  v += ULAW_BIAS_14; // 33 ..= 8192
  if (v > 0x1fff) return ~(sign | 0x7f) & 0xff;
  let exponent = 0;
  for (let m = v >> 6; m > 0; m >>= 1) exponent++;
  const mantissa = (v >> (exponent + 1)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/**
 * Decodes one G.711 µ-law byte.
 *
 * @param code The µ-law byte.
 * @returns A signed 16-bit linear value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(ulawToLinear(0xff), 0);
 * assert.equal(ulawToLinear(0x80), 32124);
 * ```
 */
export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

/**
 * Encodes one 16-bit linear sample as G.711 A-law.
 *
 * @param sample A signed 16-bit value (clamped).
 * @returns The A-law byte (with the even bits inverted, as sent).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(linearToAlaw(0), 0xd5);
 * assert.equal(linearToAlaw(-1), 0x55);
 * assert.equal(linearToAlaw(32767), 0xaa);
 * ```
 */
export function linearToAlaw(sample: number): number {
  const s = clamp16(sample);
  const sign = s >= 0 ? 0x80 : 0x00;
  const magnitude = s >= 0 ? s : -s - 1;
  const exponent = segment(magnitude);
  const mantissa = exponent === 0 ? (magnitude >> 4) & 0x0f : (magnitude >> (exponent + 3)) & 0x0f;
  return (sign | (exponent << 4) | mantissa) ^ 0x55;
}

/**
 * Decodes one G.711 A-law byte.
 *
 * @param code The A-law byte, as sent.
 * @returns A signed 16-bit linear value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(alawToLinear(0xd5), 8);
 * assert.equal(alawToLinear(0x55), -8);
 * assert.equal(alawToLinear(0xaa), 32256);
 * ```
 */
export function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0
    ? (mantissa << 4) + 8
    : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

let ulawTable: Uint8Array | null = null;
let alawTable: Uint8Array | null = null;

function encodeTable(law: G711Law): Uint8Array {
  if (law === "ulaw") {
    if (ulawTable === null) {
      ulawTable = new Uint8Array(65536);
      for (let i = 0; i < 65536; i++) ulawTable[i] = linearToUlaw(i - 32768);
    }
    return ulawTable;
  }
  if (alawTable === null) {
    alawTable = new Uint8Array(65536);
    for (let i = 0; i < 65536; i++) alawTable[i] = linearToAlaw(i - 32768);
  }
  return alawTable;
}

/**
 * Encodes 16-bit linear samples as G.711, one byte per sample.
 *
 * @param samples Signed 16-bit samples.
 * @param law `ulaw` (PCMU) or `alaw` (PCMA).
 * @param out Where to write (default a new array of `samples.length`).
 * @returns `out`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual([...encodeG711(Int16Array.of(0, 0), "alaw")], [0xd5, 0xd5]);
 * ```
 */
export function encodeG711(
  samples: Int16Array,
  law: G711Law,
  out: Uint8Array = new Uint8Array(samples.length),
): Uint8Array {
  const table = encodeTable(law);
  for (let i = 0; i < samples.length; i++) out[i] = table[samples[i]! + 32768]!;
  return out;
}

/**
 * The G.711 law of a static payload type.
 *
 * @param payloadType 0 (PCMU) or 8 (PCMA).
 * @returns The law.
 * @throws {RangeError} For any other payload type.
 */
export function lawOfPayloadType(payloadType: number): G711Law {
  if (payloadType === PAYLOAD_TYPE_PCMU) return "ulaw";
  if (payloadType === PAYLOAD_TYPE_PCMA) return "alaw";
  throw new RangeError(`Not a G.711 payload type: ${payloadType}`);
}

/**
 * A sine tone whose phase runs on from one block of samples to the next.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const tone = new ToneGenerator(1000, { amplitude: 10000 });
 * const block = tone.fill(new Int16Array(8)); // 8 kHz: one period of 1 kHz
 * assert.equal(block[0], 0);
 * assert.equal(block[2], 10000);
 * assert.equal(block[6], -10000);
 * ```
 */
export class ToneGenerator {
  /** Frequency in Hz. */
  readonly frequency: number;
  readonly #amplitude: number;
  readonly #step: number;
  readonly #cos: number;
  readonly #sin: number;
  #phase = 0;

  /**
   * Starts a tone at phase 0.
   *
   * @param frequency Tone frequency in Hz.
   * @param options Peak amplitude (default 8000, about -12 dBFS) and sample rate (default 8000).
   */
  constructor(frequency: number, options: { amplitude?: number; sampleRate?: number } = {}) {
    this.frequency = frequency;
    this.#amplitude = options.amplitude ?? 8000;
    this.#step = (2 * Math.PI * frequency) / (options.sampleRate ?? G711_SAMPLE_RATE);
    this.#cos = Math.cos(this.#step);
    this.#sin = Math.sin(this.#step);
  }

  /**
   * Writes the next samples of the tone.
   *
   * @param out Samples to fill.
   * @returns `out`.
   */
  fill(out: Int16Array): Int16Array {
    // Rotate a phasor by one step per sample (cheaper than a sine per sample), starting
    // each block from the exact phase so that rounding errors never accumulate.
    const amplitude = this.#amplitude;
    const c = this.#cos;
    const s = this.#sin;
    let x = Math.cos(this.#phase);
    let y = Math.sin(this.#phase);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.round(amplitude * y);
      const nx = x * c - y * s;
      y = x * s + y * c;
      x = nx;
    }
    this.#phase = (this.#phase + this.#step * out.length) % (2 * Math.PI);
    return out;
  }

  /**
   * Moves the phase on by `count` samples without producing them (for gaps).
   *
   * @param count Samples to skip.
   */
  skip(count: number): void {
    this.#phase = (this.#phase + this.#step * count) % (2 * Math.PI);
  }
}

/** The fields of a fixed RTP header. */
export interface RtpHeaderFields {
  /** Payload type, 0–127. */
  payloadType: number;
  /** Sequence number (taken modulo 2^16). */
  sequence: number;
  /** Timestamp (taken modulo 2^32). */
  timestamp: number;
  /** Synchronization source. */
  ssrc: number;
  /** Marker bit (start of a talkspurt, end of a telephone-event). */
  marker?: boolean;
}

/**
 * Builds an RTP packet (version 2, no padding, extension or CSRCs).
 *
 * @param header Header fields.
 * @param payload The payload.
 * @returns Header and payload in one array.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const p = buildRtpPacket({ payloadType: 8, sequence: 65536 + 5, timestamp: 2 ** 32 + 160, ssrc: 1, marker: true }, new Uint8Array(160));
 * assert.equal(p.length, 172);
 * assert.equal(p[0], 0x80);
 * assert.equal(p[1], 0x88);
 * assert.equal(p[3], 5);
 * ```
 */
export function buildRtpPacket(header: RtpHeaderFields, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(RTP_HEADER_BYTES + payload.length);
  writeRtpHeader(packet, header);
  packet.set(payload, RTP_HEADER_BYTES);
  return packet;
}

function writeRtpHeader(packet: Uint8Array, header: RtpHeaderFields): void {
  packet[0] = 0x80;
  packet[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  packet[2] = (header.sequence >>> 8) & 0xff;
  packet[3] = header.sequence & 0xff;
  const ts = header.timestamp >>> 0;
  packet[4] = ts >>> 24;
  packet[5] = (ts >>> 16) & 0xff;
  packet[6] = (ts >>> 8) & 0xff;
  packet[7] = ts & 0xff;
  const ssrc = header.ssrc >>> 0;
  packet[8] = ssrc >>> 24;
  packet[9] = (ssrc >>> 16) & 0xff;
  packet[10] = (ssrc >>> 8) & 0xff;
  packet[11] = ssrc & 0xff;
}

/** One RFC 4733 telephone-event report. */
export interface TelephoneEvent {
  /** Event code: 0–9 digits, 10 `*`, 11 `#`, 12–15 A–D. */
  event: number;
  /** Set on the last packets of the event. */
  end: boolean;
  /** Power level in -dBm0, 0–63 (default 10). */
  volume?: number;
  /** Duration so far in RTP timestamp units. */
  duration: number;
}

/**
 * Builds the 4-byte RFC 4733 telephone-event payload.
 *
 * @param report Event, end flag, volume, duration.
 * @returns The payload.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual([...buildTelephoneEventPayload({ event: 11, end: true, duration: 800 })], [11, 0x8a, 3, 32]);
 * ```
 */
export function buildTelephoneEventPayload(report: TelephoneEvent): Uint8Array {
  const out = new Uint8Array(4);
  out[0] = report.event & 0xff;
  out[1] = (report.end ? 0x80 : 0) | ((report.volume ?? 10) & 0x3f);
  new DataView(out.buffer).setUint16(2, Math.min(report.duration, 0xffff));
  return out;
}

/** Options of an {@link RtpSender}. */
export interface RtpSenderOptions {
  /** Synchronization source. */
  ssrc: number;
  /** G.711 payload type: 0 (PCMU, the default) or 8 (PCMA). */
  payloadType?: number;
  /** Sequence number of the first packet (default 0). */
  sequence?: number;
  /** RTP timestamp of the first packet (default 0). */
  timestamp?: number;
  /** Packet interval in milliseconds (default 20: 160 samples). */
  ptimeMs?: number;
  /** Tone frequency in Hz (default 440). */
  frequency?: number;
  /** Tone peak amplitude (default 8000). */
  amplitude?: number;
}

/** One packet of a span, with the capture time it should carry. */
export interface TimedPacket {
  /** Capture time in seconds since the epoch. */
  time: number;
  /** The RTP packet (a fresh array). */
  packet: Uint8Array;
}

/** Options of {@link RtpSender.span}. */
export interface RtpSpanOptions {
  /**
   * Offset in seconds added to each packet's capture time (network jitter), given the
   * packet's index in the span; the RTP timestamp is not affected. Keep it well under
   * the packet interval so packets stay in order.
   */
  jitter?: (index: number) => number;
  /** Return true to leave a packet out (loss); its sequence number is used up all the same. */
  drop?: (index: number) => boolean;
}

/**
 * One direction of a G.711 audio stream: turns time spans into RTP packets
 * of a sine tone, with sequence numbers running on across spans and the RTP
 * timestamp following the time elapsed since the first packet (so a gap, such
 * as a hold, shows as a timestamp jump). The first packet of each span has
 * the marker bit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const sender = new RtpSender({ ssrc: 0x1234, sequence: 65535, timestamp: 1000 });
 * const packets = [...sender.span(100, 100.1)];
 * assert.equal(packets.length, 5);
 * assert.equal(packets[0]?.packet.length, 172);
 * assert.equal(packets[1]?.packet[3], 0); // 65535 wraps to 0
 * const later = [...sender.span(101, 101.02)];
 * assert.equal(new DataView(later[0]!.packet.buffer).getUint32(4), 1000 + 8000);
 * ```
 */
export class RtpSender {
  /** Synchronization source. */
  readonly ssrc: number;
  /** Payload type. */
  readonly payloadType: number;
  readonly #law: G711Law;
  readonly #samplesPerPacket: number;
  readonly #interval: number;
  readonly #tone: ToneGenerator;
  readonly #samples: Int16Array;
  readonly #firstTimestamp: number;
  #sequence: number;
  #firstTime: number | null = null;
  #lastSampleIndex = 0;
  #sent = 0;

  /**
   * Sets up the stream; no packet exists until a span is asked for.
   *
   * @param options SSRC, payload type, initial sequence and timestamp, ptime, tone.
   */
  constructor(options: RtpSenderOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.payloadType = options.payloadType ?? PAYLOAD_TYPE_PCMU;
    this.#law = lawOfPayloadType(this.payloadType);
    const ptimeMs = options.ptimeMs ?? 20;
    this.#samplesPerPacket = Math.round((G711_SAMPLE_RATE * ptimeMs) / 1000);
    this.#interval = ptimeMs / 1000;
    this.#tone = new ToneGenerator(options.frequency ?? 440, { amplitude: options.amplitude });
    this.#samples = new Int16Array(this.#samplesPerPacket);
    this.#sequence = (options.sequence ?? 0) & 0xffff;
    this.#firstTimestamp = (options.timestamp ?? 0) >>> 0;
  }

  /** Tone frequency in Hz. */
  get frequency(): number {
    return this.#tone.frequency;
  }

  /** Packets produced so far (dropped ones included). */
  get packetsProduced(): number {
    return this.#sent;
  }

  /**
   * Produces the packets of the span [start, end): one every packet interval from `start`.
   *
   * @param start Capture time of the first packet, seconds since the epoch.
   * @param end End of the span (exclusive).
   * @param options Jitter and loss.
   * @returns The packets, in order, each with its capture time.
   */
  *span(start: number, end: number, options: RtpSpanOptions = {}): Generator<TimedPacket> {
    if (this.#firstTime === null) this.#firstTime = start;
    const count = Math.max(0, Math.ceil((end - start) / this.#interval - 1e-9));
    for (let i = 0; i < count; i++) {
      const time = start + i * this.#interval;
      const packet = this.#next(time, i === 0);
      if (options.drop?.(i)) continue;
      yield { time: time + (options.jitter?.(i) ?? 0), packet };
    }
  }

  #next(time: number, marker: boolean): Uint8Array {
    const spp = this.#samplesPerPacket;
    const sampleIndex =
      Math.round(((time - (this.#firstTime as number)) * G711_SAMPLE_RATE) / spp) *
      spp;
    const gap = sampleIndex - this.#lastSampleIndex;
    if (this.#sent > 0 && gap > spp) this.#tone.skip(gap - spp);
    this.#lastSampleIndex = sampleIndex;
    const packet = new Uint8Array(RTP_HEADER_BYTES + spp);
    writeRtpHeader(packet, {
      payloadType: this.payloadType,
      sequence: this.#sequence,
      timestamp: this.#firstTimestamp + sampleIndex,
      ssrc: this.ssrc,
      marker,
    });
    encodeG711(this.#tone.fill(this.#samples), this.#law, packet.subarray(RTP_HEADER_BYTES));
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#sent += 1;
    return packet;
  }
}
