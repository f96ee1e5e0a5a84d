/**
 * One RTP stream — a flow's packets with one SSRC, as Wireshark counts
 * streams — with its statistics, its leg and direction, and its record.
 *
 * @module
 */

import type { Endpoint } from "../events.ts";
import { estimateMos } from "../rtp/mos.ts";
import { staticPayloadFormat } from "../rtp/payload_types.ts";
import {
  type ClockRateOf,
  RtpStreamStats,
  type RtpStreamSummary,
  wiresharkClockRate,
} from "../rtp/stream_stats.ts";
import type { DtmfDetector } from "../rtp/telephone_event.ts";
import type { CallLeg } from "./leg.ts";

/** Direction of a stream within its leg. */
export type StreamDirection = "caller-to-callee" | "callee-to-caller";

/** A payload type as the SDP named it. */
export interface PayloadInfo {
  /** Encoding name (`PCMA`, `telephone-event`), or `null`. */
  name: string | null;
  /** RTP clock rate, or 0 when unknown. */
  clockRate: number;
  /** Audio channels the SDP gave (`a=rtpmap:96 L16/8000/2`); absent means 1. */
  channels?: number;
}

/** The plain-data record of a stream (`rtp.stream.ended`, JSON report, exports). */
export interface RtpStreamRecord extends RtpStreamSummary {
  /** Unique id: `src:port>dst:port/0xSSRC`. */
  id: string;
  /** Leg the stream belongs to, or `null` when no signalling announced it. */
  legId: string | null;
  /** Direction within the leg. */
  direction: StreamDirection | null;
  /** Whether SDP in the capture announced the stream's address (else the RTP heuristic found it). */
  signalled: boolean;
  /** Sender. */
  src: Endpoint;
  /** Receiver. */
  dst: Endpoint;
  /** SSRC as Wireshark prints it: `0x6AB21E82`. */
  ssrcHex: string;
  /** Encoding names of the payload types seen, in the same order as `payloadTypes`. */
  codecs: string[];
  /** Seconds from the first to the last packet. */
  duration: number;
  /** E-model estimate of listening quality (an estimate, not a measurement); `null` without audio. */
  mos: { rFactor: number; mos: number } | null;
}

/** A live stream. The media tracker feeds it; its record is built on demand. */
export class RtpStream {
  /** Unique id. */
  readonly id: string;
  /** SSRC. */
  readonly ssrc: number;
  /** Sender. */
  readonly src: Endpoint;
  /** Receiver. */
  readonly dst: Endpoint;
  /** Statistics with Wireshark's definitions. */
  readonly stats: RtpStreamStats;
  /** Leg, when bound. */
  leg: CallLeg | null = null;
  /** Direction within the leg. */
  direction: StreamDirection | null = null;
  /** Whether SDP announced the stream's address. */
  signalled = false;
  /** Payload types by number, from SDP. */
  payloads: ReadonlyMap<number, PayloadInfo>;
  /** Telephone-event detector, when the SDP offered telephone-event. */
  dtmf: DtmfDetector | null = null;
  /** Payload type of telephone-event, or -1. */
  telephoneEvent = -1;
  /** Whether `rtp.stream.ended` was raised. */
  ended = false;

  /**
   * @param src Sender.
   * @param dst Receiver.
   * @param ssrc SSRC.
   * @param payloads Payload types from SDP (empty when unsignalled).
   */
  constructor(
    src: Endpoint,
    dst: Endpoint,
    ssrc: number,
    payloads: ReadonlyMap<number, PayloadInfo>,
  ) {
    this.src = src;
    this.dst = dst;
    this.ssrc = ssrc;
    this.payloads = payloads;
    this.id = `${src.ip}:${src.port}>${dst.ip}:${dst.port}/${ssrcHex(ssrc)}`;
    const clockRateOf: ClockRateOf = (pt) => {
      const announced = this.payloads.get(pt);
      return wiresharkClockRate(pt, announced?.name ?? null, announced?.clockRate ?? 0);
    };
    this.stats = new RtpStreamStats(clockRateOf);
  }

  /** The stream's record. */
  record(): RtpStreamRecord {
    const s = this.stats.summary();
    const codecs = s.payloadTypes.map((pt) =>
      this.payloads.get(pt)?.name ?? staticPayloadFormat(pt)?.name ?? `PT${pt}`
    );
    const audio = codecs.find((c) => !/^(telephone-event|CN)$/i.test(c));
    const mos = audio && s.packets > 1
      ? estimateMos({
        codec: audio,
        lossPercent: Math.max(0, s.lostPercent),
        jitterMs: s.meanJitterMs,
      })
      : null;
    return {
      ...s,
      id: this.id,
      legId: this.leg?.id ?? null,
      direction: this.direction,
      signalled: this.signalled,
      src: this.src,
      dst: this.dst,
      ssrcHex: ssrcHex(this.ssrc),
      codecs,
      duration: s.packets > 0 ? s.lastArrival - s.firstArrival : 0,
      mos: mos ? { rFactor: round(mos.rFactor, 1), mos: round(mos.mos, 2) } : null,
    };
  }
}

/**
 * Formats an SSRC as Wireshark does.
 *
 * @param ssrc The SSRC.
 * @returns Such as `0x6AB21E82`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(ssrcHex(0x2e3d), "0x00002E3D");
 * ```
 */
export function ssrcHex(ssrc: number): string {
  return `0x${(ssrc >>> 0).toString(16).toUpperCase().padStart(8, "0")}`;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
