/**
 * The pipeline: source → decode → normalize → (track → rules → plugins).
 * One {@link Analyzer} reads one or more sources in turn and keeps their
 * state together, so calls spanning two files of a rotated capture join up.
 *
 * @module
 */

import type { Frame, FrameSource, SourceAnomaly } from "./capture/frame.ts";
import { CaptureFormatError } from "./capture/frame.ts";
import { openCapture } from "./capture/open.ts";
import { PacketDecoder } from "./decode/decoder.ts";
import { LINKTYPE_ETHERNET } from "./capture/link_types.ts";
import { type DecodedPacket, IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP } from "./decode/packet.ts";
import { TcpSipTracker } from "./decode/tcp_sip.ts";
import { CallTracker, type CallTrackerOptions } from "./calls/tracker.ts";
import { MediaTracker, type MediaTrackerOptions } from "./calls/media.ts";
import { RegistrationTracker } from "./calls/registrations.ts";
import { EventBus } from "./event_bus.ts";
import { type AnalysisReport, ReportCollector } from "./report.ts";
import { jsonObjectPieces } from "./json_writer.ts";
import type { RecordSpool } from "./spool.ts";
import { HeapKeeper } from "./heap_keeper.ts";
import type { PluginReport } from "../plugins/plugin.ts";
import { RuleEngine } from "./rules/engine.ts";
import type { Rule } from "./rules/rule_set.ts";
import type { Site } from "./rules/site.ts";
import type { CallLeg, CallRecord } from "./calls/leg.ts";
import type { RtpStreamRecord } from "./calls/stream.ts";
import type { LogicalCallRecord } from "./rules/logical_calls.ts";
import type { AnomalyLayer, Endpoint, SipTransport } from "./events.ts";
import { looksLikeSip } from "./sip/detect.ts";
import { parseSipMessage } from "./sip/parse.ts";
import { type AnalysisSummary, SummaryCounters } from "./summary.ts";

/** A list of records that can be read (again) one at a time, and its length. */
export type RecordList<T> = Iterable<T> & { readonly length: number };

/** The long lists of a report, as {@link Analyzer.records} gives them. */
export interface ReportLists {
  /** Completed call legs, in the order they completed. */
  calls: RecordList<CallRecord>;
  /** Ended RTP streams, in the order they ended. */
  streams: RecordList<RtpStreamRecord>;
  /** Logical calls, in the order they were written. */
  logicalCalls: RecordList<LogicalCallRecord>;
}

/** Options of an {@link Analyzer}. */
export interface AnalyzerOptions {
  /** The event bus to publish on; a new one by default. */
  bus?: EventBus;
  /** Called with bytes read and total bytes of the current input. */
  onProgress?: (bytesRead: number, totalBytes: number, input: string) => void;
  /** Timeouts and caps of call tracking. */
  calls?: Partial<CallTrackerOptions>;
  /** Timeouts, caps and the heuristic of the media stage. */
  media?: Partial<MediaTrackerOptions>;
  /** Keep call and stream records for {@link Analyzer.report} (default true). */
  collect?: boolean;
  /** Records of each report list kept in memory before the rest spills to a temporary file (default 256). */
  memoryRecords?: number;
  /** Scenario rules and the site they run with; without them no logical calls are built. */
  rules?: { rules: Rule[]; site: Site; explain?: (leg: CallLeg | null) => boolean };
}

/** Runs the pipeline over capture sources. */
export class Analyzer {
  /** Where events are published. */
  readonly bus: EventBus;
  /** Call legs. */
  readonly calls: CallTracker;
  /** RTP streams. */
  readonly media: MediaTracker;
  /** Registrations. */
  readonly registrations: RegistrationTracker;
  /** The rule engine, when rules were given. */
  readonly rules: RuleEngine | null;
  readonly #collector: ReportCollector | null;
  readonly #counters = new SummaryCounters();
  readonly #decoder: PacketDecoder;
  readonly #tcp: TcpSipTracker;
  readonly #options: AnalyzerOptions;
  #frame = 0;
  #summary: AnalysisSummary | null = null;
  readonly #heap = new HeapKeeper();
  #ts = 0;
  /** The frame being handled (plugins read it through `currentFrame`). */
  #currentFrame: Frame | null = null;
  /** The packet being handled, for events raised deep in the stack. */
  #packet: DecodedPacket | null = null;

  /** @param options Bus and progress callback. */
  constructor(options: AnalyzerOptions = {}) {
    this.#options = options;
    this.bus = options.bus ?? new EventBus();
    this.#collector = options.collect === false
      ? null
      : new ReportCollector(this.bus, options.memoryRecords);
    this.media = new MediaTracker(this.bus, options.media);
    this.registrations = new RegistrationTracker(this.bus);
    this.calls = new CallTracker(this.bus, {
      onSdp: (leg, side, sdp) => this.media.announce(leg, side, sdp),
      beforeComplete: (leg) => this.media.finishLeg(leg),
    }, options.calls);
    this.rules = options.rules ? new RuleEngine(this.bus, this.calls, options.rules) : null;
    this.bus.on("anomaly", (e) => {
      if (e.layer === "rtp" || e.layer === "calls" || e.layer === "rules") {
        this.#counters.anomalies.add(e.reason);
      }
    }, "summary");
    this.#decoder = new PacketDecoder({
      onPacket: (p) => this.#onPacket(p),
      onAnomaly: (layer, reason, detail) => this.#anomaly(layer, reason, detail),
    });
    this.#tcp = new TcpSipTracker({
      onMessage: (bytes, start, end, transport) => this.#onSip(bytes, start, end, transport),
      onAnomaly: (reason, detail) => this.#anomaly("tcp", reason, detail),
    });
  }

  /**
   * Opens a capture file (or `-` for stdin) and runs it through the pipeline.
   * A file that cannot be read is recorded in the summary's inputs with its error.
   *
   * @param path Path or `-`.
   * @returns Whether the file could be read.
   */
  async analyzeFile(path: string): Promise<boolean> {
    let opened;
    try {
      opened = await openCapture(path);
    } catch (error) {
      this.#counters.inputs.push({
        name: path,
        format: "unknown",
        frames: 0,
        bytes: 0,
        error: describeError(error),
      });
      return false;
    }
    try {
      await this.analyzeSource(opened.source);
      return true;
    } finally {
      opened.close();
    }
  }

  /**
   * Runs a source through the pipeline.
   *
   * @param source Any frame source.
   */
  async analyzeSource(source: FrameSource): Promise<void> {
    const input = {
      name: source.name,
      format: "unknown",
      frames: 0,
      bytes: 0,
      error: null as string | null,
    };
    this.#counters.inputs.push(input);
    try {
      const summary = await source.run({
        onFrame: (frame) => this.onFrame(frame),
        onAnomaly: (a) => this.onSourceAnomaly(a),
        onProgress: (read, total) => this.#options.onProgress?.(read, total, source.name),
      });
      input.format = summary.format;
      input.frames = summary.frames;
      input.bytes = summary.bytes;
    } catch (error) {
      if (!(error instanceof CaptureFormatError)) throw error;
      input.error = error.message;
    }
  }

  /**
   * Processes one frame (for sources driven from outside, such as live capture).
   *
   * @param frame The frame; read only during the call.
   */
  onFrame(frame: Frame): void {
    const c = this.#counters;
    c.linkTypes.add(frame.linkType);
    if (frame.ts < c.firstTs) c.firstTs = frame.ts;
    if (frame.ts > c.lastTs) c.lastTs = frame.ts;
    this.#frame = frame.number;
    this.#ts = frame.ts;
    this.#currentFrame = frame;
    if (!(frame.linkType === LINKTYPE_ETHERNET && this.#fastLane(frame))) {
      this.#decoder.decode(frame);
    }
    this.#currentFrame = null;
    if ((frame.number & 0x3fff) === 0) this.#heap.check();
  }

  /**
   * Moves time forward without traffic (live capture calls this on a timer):
   * calls and streams time out, completed calls and logical calls are written.
   *
   * @param now Current time, seconds since the epoch.
   */
  tick(now: number): void {
    this.calls.tick(now);
    this.media.tick(now);
    this.rules?.tick(now);
    this.#heap.check();
  }

  /** Legs being tracked and RTP packets seen so far, for status lines. */
  get progress(): { legs: number; rtpPackets: number; frames: number } {
    return {
      legs: this.calls.size,
      rtpPackets: this.media.counters.rtpPackets,
      frames: this.#counters.linkTypes.total(),
    };
  }

  /** The summary once {@link Analyzer.finish} ran, `null` before. */
  get finishedSummary(): AnalysisSummary | null {
    return this.#summary;
  }

  /** The frame being processed right now, or `null` between frames (valid only during the call). */
  get currentFrame(): Frame | null {
    return this.#currentFrame;
  }

  /** Ends the analysis: flushes what is pending and returns the summary (the same one when called again). */
  finish(): AnalysisSummary {
    if (this.#summary) return this.#summary;
    this.#decoder.flush();
    this.#tcp.flush();
    this.calls.flush();
    this.media.flush();
    this.rules?.flush();
    const c = this.#counters;
    const m = this.media.counters;
    c.rtpPackets = m.rtpPackets;
    c.rtcpPackets = m.rtcpPackets;
    c.rtpStreams = m.streams;
    c.unsignalledStreams = m.unsignalledStreams;
    c.registered = this.registrations.registered;
    c.registrationsFailed = this.registrations.failed;
    this.#summary = c.toJSON(this.#decoder.counters);
    return this.#summary;
  }

  /**
   * Ends the analysis and returns everything: summary, calls, streams and
   * registrations, in memory (for long captures {@link Analyzer.reportPieces}
   * writes the same without holding it).
   *
   * @returns The report (calls and streams are empty when created with `collect: false`).
   */
  report(): AnalysisReport {
    const summary = this.finish();
    return {
      summary,
      calls: this.#collector?.calls.toArray() ?? [],
      streams: this.#collector?.streams.toArray() ?? [],
      registrations: [...(this.#collector?.registrations.values() ?? [])],
      logicalCalls: this.#collector?.logicalCalls.toArray() ?? [],
      plugins: [],
    };
  }

  /**
   * The report's lists, read back one record at a time (the text tables take
   * what they show from them without holding the rest). Empty when created
   * with `collect: false`. Call {@link Analyzer.finish} first.
   *
   * @returns The lists, each with its length.
   */
  records(): ReportLists {
    const c = this.#collector;
    const watched = <T>(list: RecordList<T>): RecordList<T> => ({
      get length() {
        return list.length;
      },
      [Symbol.iterator]: () => this.#heapWatched(list),
    });
    return {
      calls: watched(c?.calls ?? []),
      streams: watched(c?.streams ?? []),
      logicalCalls: watched(c?.logicalCalls ?? []),
    };
  }

  /**
   * The report as JSON text in pieces, its long lists read back one record at
   * a time: the same text as `JSON.stringify(report(), null, indent)`.
   * Call {@link Analyzer.finish} first.
   *
   * @param plugins What the plugins did.
   * @param indent Spaces per level.
   * @returns The pieces of text.
   */
  reportPieces(plugins: PluginReport[] = [], indent = 2): Generator<string> {
    // The lists are read back as JSON text (spilled records are not parsed again).
    const c = this.#collector;
    const texts = <T>(list: RecordSpool<T> | undefined) =>
      list ? this.#heapWatched(list.jsonTexts(indent)) : [];
    return jsonObjectPieces([
      { key: "summary", value: this.finish() },
      { key: "calls", texts: texts(c?.calls) },
      { key: "streams", texts: texts(c?.streams) },
      { key: "registrations", items: c?.registrations.values() ?? [] },
      { key: "logicalCalls", texts: texts(c?.logicalCalls) },
      { key: "plugins", value: plugins },
    ], indent);
  }

  /** Walks records read back from disk, keeping the heap in check (reading back makes garbage fast). */
  *#heapWatched<T>(items: Iterable<T>): Generator<T> {
    let n = 0;
    for (const item of items) {
      if ((++n & 0x3f) === 0) this.#heap.check();
      yield item;
    }
  }

  /** Deletes the temporary files of the report lists (the report can no longer be read). */
  dispose(): void {
    this.#collector?.dispose();
  }

  /**
   * Most packets of a VoIP capture are RTP of known streams in plain
   * Ethernet/IPv4/UDP frames: those skip the general decoder. Anything
   * else (options, fragments, VLAN tags, new flows, RTCP, SIP) returns false
   * and takes the general path.
   */
  #fastLane(frame: Frame): boolean {
    const b = frame.bytes;
    const s = frame.start;
    // Ethertype IPv4, version 4 with a 20-byte header, protocol UDP.
    if (
      frame.end - s < 54 || b[s + 12] !== 0x08 || b[s + 13] !== 0x00 || b[s + 14] !== 0x45 ||
      b[s + 23] !== 17
    ) {
      return false;
    }
    if (((b[s + 20]! & 0x3f) | b[s + 21]!) !== 0) return false; // a fragment (MF or an offset)
    const total = (b[s + 16]! << 8) | b[s + 17]!;
    const ipEnd = s + 14 + total;
    const udpLength = (b[s + 38]! << 8) | b[s + 39]!;
    if (total < 28 || ipEnd > frame.end || udpLength !== total - 20) return false;
    if (!this.media.fastRtp(frame, b, s + 14, ipEnd)) return false;
    this.#counters.udp++;
    this.#decoder.counters.ipv4++;
    return true;
  }

  #onPacket(p: DecodedPacket): void {
    this.#packet = p;
    const c = this.#counters;
    if (p.protocol === IP_PROTO_UDP) {
      c.udp++;
      this.#onDatagram(p, "udp");
    } else if (p.protocol === IP_PROTO_TCP) {
      c.tcp++;
      this.#tcp.push(p);
    } else if (p.protocol === IP_PROTO_SCTP) {
      c.sctp++;
      this.#onDatagram(p, "sctp");
    }
    this.#packet = null;
  }

  #onDatagram(p: DecodedPacket, transport: SipTransport): void {
    const b = p.bytes;
    const s = p.payloadStart;
    const length = p.payloadEnd - s;
    if (length === 0) return;
    const first = b[s]!;
    if ((first & 0xc0) === 0x80) {
      // RTP or RTCP (version 2): the media stage.
      if (transport === "udp") this.media.onPacket(p);
      return;
    }
    if (looksLikeSip(b, s, length)) this.#onSip(b, s, p.payloadEnd, transport);
  }

  #onSip(bytes: Uint8Array, start: number, end: number, transport: SipTransport): void {
    const p = this.#packet;
    if (!p) return;
    const result = parseSipMessage(bytes.subarray(start, end));
    if (!result.ok) {
      this.#anomaly("sip", result.reason, `malformed SIP message over ${transport}`);
      return;
    }
    const message = result.message;
    for (const warning of message.warnings) {
      this.#anomaly("sip", `sip.${warning}`, `SIP message tolerated with a defect: ${warning}`);
    }
    const c = this.#counters;
    c.transports.add(transport);
    if (message.callId) c.callIds.add(message.callId, p.ts);
    const src: Endpoint = { ip: p.srcAddress(), port: p.srcPort };
    const dst: Endpoint = { ip: p.dstAddress(), port: p.dstPort };
    const base = { ts: p.ts, frame: p.frameNumber, src, dst, transport };
    if (message.kind === "request") {
      c.requests.add(message.method);
      const event = { type: "sip.request" as const, ...base, message };
      this.bus.emit(event);
      this.registrations.onRequest(event);
      this.calls.onRequest(event);
    } else {
      c.responses.add(message.status);
      const event = { type: "sip.response" as const, ...base, message };
      this.bus.emit(event);
      this.registrations.onResponse(event);
      this.calls.onResponse(event);
    }
  }

  #anomaly(layer: AnomalyLayer, reason: string, detail: string, offset?: number): void {
    this.#counters.anomalies.add(reason);
    if (!this.bus.has("anomaly")) return;
    this.bus.emit({
      type: "anomaly",
      ts: this.#ts,
      frame: this.#frame,
      layer,
      reason,
      detail,
      ...(offset === undefined ? {} : { offset }),
    });
  }

  /**
   * Counts a problem a source stepped over (for sources driven from outside, such as live capture).
   *
   * @param a The source's anomaly.
   */
  onSourceAnomaly(a: SourceAnomaly): void {
    this.#anomaly("capture", a.reason, a.detail, a.offset);
  }
}

/** A one-line description of an error for reports. */
function describeError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "file not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Error) return error.message;
  return String(error);
}
