/**
 * The media stage: binds UDP flows to call legs through the SDP offers and
 * answers, splits them into RTP streams by SSRC, and keeps per-stream
 * statistics on the per-packet fast path (no allocation, no string keys for
 * IPv4). Flows no SDP announced are tried with a careful RTP heuristic and
 * reported as unsignalled streams.
 *
 * @module
 */

import type { EventBus } from "../event_bus.ts";
import type { DecodedPacket } from "../decode/packet.ts";
import { formatIPv6, parseIPv6 } from "../decode/packet.ts";
import type { Endpoint } from "../events.ts";
import { RtpFlowHeuristic } from "../rtp/heuristic.ts";
import { decodeRtcpCompound } from "../rtp/rtcp.ts";
import { decodeRtpHeader, isRtcpPacketType, RtpHeader } from "../rtp/rtp_header.ts";
import { DtmfDetector } from "../rtp/telephone_event.ts";
import type { SdpSummary } from "../sip/sdp.ts";
import { FlowTable } from "./flow_table.ts";
import type { CallLeg, Side } from "./leg.ts";
import { type PayloadInfo, RtpStream, type StreamDirection } from "./stream.ts";

/** Called for every RTP packet of a stream (recording); the bytes are valid only during the call. */
export type RtpPacketListener = (
  stream: RtpStream,
  header: RtpHeader,
  bytes: Uint8Array,
  arrival: number,
) => void;

/** Timeouts and caps of the media stage. */
export interface MediaTrackerOptions {
  /** Try unannounced flows with the RTP heuristic (default true). */
  heuristic: boolean;
  /** Seconds of silence after which a flow no leg owns is dropped and its streams end. */
  unboundIdleSeconds: number;
  /** Seconds of silence after which a leg's flow is dropped (long holds come back as new streams). */
  boundIdleSeconds: number;
  /** Flows tracked at once; past it, new unannounced flows are ignored. */
  maxFlows: number;
  /** Packets kept from a flow while the heuristic decides, replayed into the stream when it says RTP. */
  heuristicPackets: number;
}

/** Defaults. */
export const DEFAULT_MEDIA_OPTIONS: MediaTrackerOptions = {
  heuristic: true,
  unboundIdleSeconds: 30,
  boundIdleSeconds: 300,
  maxFlows: 200000,
  heuristicPackets: 16,
};

const CANDIDATE = 0;
const RTP = 1;
const NOT_RTP = 2;

interface Announcement {
  leg: CallLeg;
  side: Side;
  /** False for media that is not RTP (T.38 over UDPTL, MSRP): its flows carry no RTP. */
  rtp: boolean;
  payloads: Map<number, PayloadInfo>;
  telephoneEvent: number;
}

interface HeldPacket {
  arrival: number;
  bytes: Uint8Array;
}

/** A UDP flow (one direction: source and destination address and port). */
class MediaFlow {
  kind = CANDIDATE;
  leg: CallLeg | null = null;
  direction: StreamDirection | null = null;
  signalled = false;
  payloads: Map<number, PayloadInfo> = new Map();
  telephoneEvent = -1;
  streams: RtpStream[] = [];
  last: RtpStream | null = null;
  heuristic: RtpFlowHeuristic | null = null;
  held: HeldPacket[] = [];
  lastTs = 0;
  constructor(
    readonly src: Endpoint,
    readonly dst: Endpoint,
    readonly srcKey: string,
    readonly dstKey: string,
    readonly v4: boolean,
    readonly a: number,
    readonly b: number,
    readonly ports: number,
    readonly v6Key: string,
  ) {}
}

/** Counters of the media stage. */
export interface MediaCounters {
  /** RTP packets on streams. */
  rtpPackets: number;
  /** RTCP compound packets. */
  rtcpPackets: number;
  /** Streams started. */
  streams: number;
  /** Of which no SDP announced. */
  unsignalledStreams: number;
}

/** Binds flows to legs and keeps stream statistics. */
export class MediaTracker {
  /** Counts. */
  readonly counters: MediaCounters = {
    rtpPackets: 0,
    rtcpPackets: 0,
    streams: 0,
    unsignalledStreams: 0,
  };
  readonly #bus: EventBus;
  readonly #options: MediaTrackerOptions;
  readonly #v4 = new FlowTable<MediaFlow>(4096);
  readonly #v6 = new Map<string, MediaFlow>();
  readonly #endpoints = new Map<string, Announcement>();
  /** Endpoint keys each leg announced, to forget them when the leg completes. */
  readonly #legEndpoints = new WeakMap<CallLeg, Set<string>>();
  readonly #byEndpoint = new Map<string, Set<MediaFlow>>();
  readonly #header = new RtpHeader();
  readonly #listeners: RtpPacketListener[] = [];
  #flows = 0;
  #lastSweep = 0;

  /**
   * @param bus Where stream, RTCP and DTMF events go.
   * @param options Timeouts and caps.
   */
  constructor(bus: EventBus, options: Partial<MediaTrackerOptions> = {}) {
    this.#bus = bus;
    this.#options = { ...DEFAULT_MEDIA_OPTIONS, ...options };
  }

  /**
   * Subscribes to every RTP packet (the recording fast path).
   *
   * @param listener Called per packet.
   */
  onRtpPacket(listener: RtpPacketListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Registers the media a leg's side announced: packets to (or from) these
   * addresses belong to the leg from now on.
   *
   * @param leg The leg.
   * @param side Which side sent the SDP.
   * @param sdp The SDP.
   */
  announce(leg: CallLeg, side: Side, sdp: SdpSummary): void {
    for (const media of sdp.media) {
      if (media.port === 0) continue;
      const address = normalizeAddress(media.connectionAddress);
      if (address === null) continue;
      const payloads = new Map<number, PayloadInfo>();
      for (const p of media.payloads) {
        payloads.set(p.payloadType, {
          name: p.encodingName,
          clockRate: p.clockRate ?? 0,
          channels: p.channels,
        });
      }
      const announcement: Announcement = {
        leg,
        side,
        rtp: /RTP/i.test(media.protocol),
        payloads,
        telephoneEvent: media.telephoneEventPayloadType ?? -1,
      };
      this.#register(`${address}|${media.port}`, announcement);
      if (media.rtcpPort !== null && media.rtcpPort !== media.port) {
        this.#register(`${address}|${media.rtcpPort}`, announcement);
      }
    }
  }

  /**
   * Handles a UDP datagram that may be RTP or RTCP.
   *
   * @param p The datagram.
   * @returns Whether it was taken as media.
   */
  onPacket(p: DecodedPacket): boolean {
    const b = p.bytes;
    const s = p.payloadStart;
    const length = p.payloadEnd - s;
    if (length < 8 || (b[s]! & 0xc0) !== 0x80) return false;
    const ts = p.ts;
    if (ts - this.#lastSweep >= 5) this.#sweep(ts);
    let flow = p.ipVersion === 4
      ? this.#v4.get(p.srcV4, p.dstV4, (p.srcPort << 16) | p.dstPort, 4)
      : this.#v6.get(v6FlowKey(p));
    if (flow === undefined) {
      const created = this.#newFlow(p);
      if (created === null) return false;
      flow = created;
    }
    flow.lastTs = ts;
    if (flow.kind === NOT_RTP) return false;
    if (isRtcpPacketType(b[s + 1]!)) {
      if (flow.kind === CANDIDATE && !flow.signalled) return false;
      this.#rtcp(p, flow);
      return true;
    }
    if (flow.kind === CANDIDATE) return this.#candidate(p, flow);
    this.#rtp(flow, b, s, length, ts);
    return true;
  }

  /**
   * The fast lane for the common case: an RTP packet (not RTCP) of an IPv4
   * flow already known to carry RTP. Does exactly what {@link onPacket} does
   * for such a packet, without a decoded packet object; returns `false`
   * (doing nothing) for anything else, which then takes the general path.
   *
   * Addresses, ports and time are read here rather than passed in: numbers past the
   * small-integer range (most addresses, port pairs, any time) would be boxed for every
   * packet on the way.
   *
   * @param clock Where the capture time is (the frame).
   * @param b Buffer holding a 20-byte IPv4 header at `ip`, its UDP header and payload up to `e`.
   * @param ip First byte of the IPv4 header.
   * @param e One past the last payload byte.
   * @returns Whether the packet was handled.
   */
  fastRtp(clock: { readonly ts: number }, b: Uint8Array, ip: number, e: number): boolean {
    const ts = clock.ts;
    const s = ip + 28;
    if (e - s < 12 || (b[s]! & 0xc0) !== 0x80 || ts - this.#lastSweep >= 5) return false;
    const second = b[s + 1]!;
    if (second >= 192 && second <= 223) return false; // RTCP
    const src = (b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!;
    const dst = (b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!;
    const ports = (b[ip + 20]! << 24) | (b[ip + 21]! << 16) | (b[ip + 22]! << 8) | b[ip + 23]!;
    const flow = this.#v4.get(src, dst, ports, 4);
    if (flow === undefined || flow.kind !== RTP) return false;
    flow.lastTs = ts;
    this.#rtp(flow, b, s, e - s, ts);
    return true;
  }

  /**
   * Ends the streams of a leg and forgets its flows and announcements.
   *
   * @param leg The leg being completed.
   */
  finishLeg(leg: CallLeg): void {
    for (const key of this.#legEndpoints.get(leg) ?? []) {
      if (this.#endpoints.get(key)?.leg === leg) this.#endpoints.delete(key);
      for (const flow of [...(this.#byEndpoint.get(key) ?? [])]) {
        if (flow.leg === leg) this.#dropFlow(flow, flow.lastTs);
      }
    }
    this.#legEndpoints.delete(leg);
  }

  /** Ends every stream (end of input). */
  flush(): void {
    const all = [...this.#v4.values(), ...this.#v6.values()];
    for (const flow of all) this.#dropFlow(flow, flow.lastTs);
    this.#endpoints.clear();
  }

  /**
   * Ages flows without packets (live capture calls this on a timer).
   *
   * @param now Current time.
   */
  tick(now: number): void {
    this.#sweep(now);
  }

  #register(key: string, announcement: Announcement): void {
    const previous = this.#endpoints.get(key);
    this.#endpoints.set(key, announcement);
    let keys = this.#legEndpoints.get(announcement.leg);
    if (!keys) this.#legEndpoints.set(announcement.leg, keys = new Set());
    keys.add(key);
    for (const flow of this.#byEndpoint.get(key) ?? []) {
      if (flow.leg !== announcement.leg && flow.leg !== null && previous?.leg === flow.leg) {
        // The address now belongs to another call: end the old call's streams here.
        for (const stream of flow.streams) this.#endStream(stream, flow.lastTs);
        flow.streams = [];
        flow.last = null;
      }
      this.#bind(flow, announcement, flow.dstKey === key);
    }
  }

  #newFlow(p: DecodedPacket): MediaFlow | null {
    if (this.#flows >= this.#options.maxFlows) return null;
    const src = { ip: p.srcAddress(), port: p.srcPort };
    const dst = { ip: p.dstAddress(), port: p.dstPort };
    const srcKey = `${src.ip}|${src.port}`;
    const dstKey = `${dst.ip}|${dst.port}`;
    const v4 = p.ipVersion === 4;
    const flow = new MediaFlow(
      src,
      dst,
      srcKey,
      dstKey,
      v4,
      p.srcV4,
      p.dstV4,
      (p.srcPort << 16) | p.dstPort,
      v4 ? "" : v6FlowKey(p),
    );
    const toward = this.#endpoints.get(dstKey);
    const from = toward ? undefined : this.#endpoints.get(srcKey);
    if (toward) this.#bind(flow, toward, true);
    else if (from) this.#bind(flow, from, false);
    else if (this.#options.heuristic) flow.heuristic = new RtpFlowHeuristic();
    else flow.kind = NOT_RTP;
    if (v4) this.#v4.set(flow.a, flow.b, flow.ports, 4, flow);
    else this.#v6.set(flow.v6Key, flow);
    this.#index(srcKey, flow);
    this.#index(dstKey, flow);
    this.#flows++;
    return flow;
  }

  #index(key: string, flow: MediaFlow): void {
    let set = this.#byEndpoint.get(key);
    if (!set) this.#byEndpoint.set(key, set = new Set());
    set.add(flow);
  }

  /** Binds a flow to a leg: toward the announcing side (`toward`) or from it. */
  #bind(flow: MediaFlow, a: Announcement, toward: boolean): void {
    flow.leg = a.leg;
    flow.signalled = true;
    flow.payloads = a.payloads;
    flow.telephoneEvent = a.telephoneEvent;
    const fromCaller = toward ? a.side === "callee" : a.side === "caller";
    flow.direction = fromCaller ? "caller-to-callee" : "callee-to-caller";
    if (!a.rtp) {
      // The address now carries other media (a switch to T.38 fax): not RTP until announced again.
      flow.kind = NOT_RTP;
      flow.heuristic = null;
      flow.held = [];
      flow.last = null;
      return;
    }
    if (flow.kind === NOT_RTP) flow.kind = RTP;
    if (flow.kind === CANDIDATE) {
      flow.kind = RTP;
      flow.heuristic = null;
      this.#replay(flow);
    }
    for (const stream of flow.streams) this.#bindStream(stream, flow);
  }

  #bindStream(stream: RtpStream, flow: MediaFlow): void {
    if (!stream.signalled && stream.stats.packets > 0) this.counters.unsignalledStreams--;
    stream.leg = flow.leg;
    stream.direction = flow.direction;
    stream.signalled = flow.signalled;
    stream.payloads = flow.payloads;
    stream.stats.clockRatesChanged();
    if (flow.telephoneEvent >= 0 && stream.dtmf === null) {
      this.#attachDtmf(stream, flow.telephoneEvent);
    }
    if (flow.leg && !flow.leg.streams.includes(stream.id)) flow.leg.streams.push(stream.id);
  }

  #candidate(p: DecodedPacket, flow: MediaFlow): boolean {
    const b = p.bytes;
    const s = p.payloadStart;
    const length = p.payloadEnd - s;
    const verdict = flow.heuristic!.push(b, s, length);
    if (verdict === "not-rtp") {
      flow.kind = NOT_RTP;
      flow.heuristic = null;
      flow.held = [];
      return false;
    }
    if (flow.held.length < this.#options.heuristicPackets) {
      flow.held.push({ arrival: p.ts, bytes: b.slice(s, p.payloadEnd) });
    }
    if (verdict === "rtp") {
      flow.kind = RTP;
      flow.heuristic = null;
      this.#replay(flow);
    }
    return verdict === "rtp";
  }

  /** Feeds the packets held while the heuristic decided (or before SDP arrived). */
  #replay(flow: MediaFlow): void {
    const held = flow.held;
    flow.held = [];
    for (const packet of held) {
      this.#rtp(flow, packet.bytes, 0, packet.bytes.length, packet.arrival);
    }
  }

  #rtp(flow: MediaFlow, b: Uint8Array, s: number, length: number, ts: number): void {
    const h = this.#header;
    if (!decodeRtpHeader(b, s, length, h)) {
      this.#anomaly(
        ts,
        "rtp.bad-header",
        `undecodable RTP packet from ${flow.src.ip}:${flow.src.port}`,
      );
      return;
    }
    let stream = flow.last;
    if (stream === null || stream.ssrc !== h.ssrc) stream = this.#streamFor(flow, h.ssrc, ts);
    stream.stats.update(ts, h, length);
    if (h.payloadType === stream.telephoneEvent && stream.dtmf !== null) stream.dtmf.push(ts, h, b);
    const leg = flow.leg;
    if (leg !== null && ts > leg.lastActivityTs) leg.lastActivityTs = ts;
    this.counters.rtpPackets++;
    for (let i = 0; i < this.#listeners.length; i++) this.#listeners[i]!(stream, h, b, ts);
  }

  #streamFor(flow: MediaFlow, ssrc: number, ts: number): RtpStream {
    for (const s of flow.streams) {
      if (s.ssrc === ssrc) return flow.last = s;
    }
    const stream = new RtpStream(flow.src, flow.dst, ssrc, flow.payloads);
    flow.streams.push(stream);
    flow.last = stream;
    this.counters.streams++;
    if (flow.leg) this.#bindStream(stream, flow);
    else this.counters.unsignalledStreams++;
    if (this.#bus.has("rtp.stream.started")) {
      this.#bus.emit({ type: "rtp.stream.started", ts, stream: stream.record() });
    }
    return stream;
  }

  #attachDtmf(stream: RtpStream, payloadType: number): void {
    stream.telephoneEvent = payloadType;
    const clockRate = stream.payloads.get(payloadType)?.clockRate || 8000;
    stream.dtmf = new DtmfDetector({
      clockRate,
      onDigit: (d) => {
        if (d.digit === null) return;
        const from: Side = stream.direction === "callee-to-caller" ? "callee" : "caller";
        const record = {
          digit: d.digit,
          ts: d.startTime,
          durationMs: d.durationMs,
          from,
          source: "rfc4733" as const,
        };
        stream.leg?.dtmf.push(record);
        this.#bus.emit({ type: "dtmf", legId: stream.leg?.id ?? null, ...record });
      },
    });
  }

  #rtcp(p: DecodedPacket, flow: MediaFlow): void {
    this.counters.rtcpPackets++;
    if (!this.#bus.has("rtcp.packet")) return;
    const compound = decodeRtcpCompound(p.bytes, p.payloadStart, p.payloadEnd - p.payloadStart);
    if (!compound) return;
    this.#bus.emit({
      type: "rtcp.packet",
      ts: p.ts,
      frame: p.frameNumber,
      src: flow.src,
      dst: flow.dst,
      ssrc: compound.ssrc,
      kinds: compound.kinds,
      reports: compound.reports,
      cname: compound.cname,
    });
  }

  #endStream(stream: RtpStream, ts: number): void {
    if (stream.ended) return;
    stream.ended = true;
    stream.dtmf?.flush();
    this.#bus.emit({ type: "rtp.stream.ended", ts, stream: stream.record() });
  }

  #dropFlow(flow: MediaFlow, ts: number): void {
    for (const stream of flow.streams) this.#endStream(stream, ts);
    if (flow.held.length > 0 && flow.kind === CANDIDATE) flow.held = [];
    if (flow.v4) this.#v4.delete(flow.a, flow.b, flow.ports, 4);
    else this.#v6.delete(flow.v6Key);
    for (const key of [flow.srcKey, flow.dstKey]) {
      const set = this.#byEndpoint.get(key);
      set?.delete(flow);
      if (set?.size === 0) this.#byEndpoint.delete(key);
    }
    this.#flows--;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    const o = this.#options;
    const stale: MediaFlow[] = [];
    for (const flows of [this.#v4.values(), this.#v6.values()]) {
      for (const flow of flows) {
        const limit = flow.leg ? o.boundIdleSeconds : o.unboundIdleSeconds;
        if (now - flow.lastTs > limit) stale.push(flow);
      }
    }
    for (const flow of stale) this.#dropFlow(flow, flow.lastTs);
  }

  #anomaly(ts: number, reason: string, detail: string): void {
    this.#bus.emit({ type: "anomaly", ts, frame: 0, layer: "rtp", reason, detail });
  }
}

function v6FlowKey(p: DecodedPacket): string {
  let key = "";
  for (let i = 0; i < 16; i++) key += String.fromCharCode(p.srcV6[i]!, p.dstV6[i]!);
  return `${key}${p.srcPort}:${p.dstPort}`;
}

/** Puts an SDP connection address in the form packet addresses are printed in; `null` for none. */
function normalizeAddress(address: string | null): string | null {
  if (address === null || address === "0.0.0.0" || address === "::") return null;
  if (!address.includes(":")) return address;
  const bytes = parseIPv6(address);
  return bytes ? formatIPv6(bytes) : address.toLowerCase();
}
