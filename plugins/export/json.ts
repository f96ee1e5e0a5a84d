/**
 * The `json` export: the whole report, as `packetwave analyze --json` prints
 * it (summary, calls, logicalCalls, streams, registrations), written to a
 * file when the input ends. The records are collected from events, the same
 * way the analyzer's own report collector does.
 *
 * The summary comes from the host when it offers one (`context.summary()`);
 * otherwise it is rebuilt from events, where the packet and input counts
 * are not known: they are `null` and `summary.fromEvents` is `true`.
 *
 * ```ts
 * import type { PluginConfig } from "../plugin.ts";
 * const config: PluginConfig = { use: "json", options: { file: "report.json" } };
 * ```
 *
 * @module
 */

import type { CallRecord } from "../../engine/calls/leg.ts";
import type { Registration } from "../../engine/calls/registrations.ts";
import type { RtpStreamRecord } from "../../engine/calls/stream.ts";
import type { LogicalCallRecord } from "../../engine/rules/logical_calls.ts";
import { CallIdCounter, Counter } from "../../engine/summary.ts";
import type { AnalysisSummary } from "../../engine/summary.ts";
import type { Plugin, PluginContext, PluginFactory } from "../plugin.ts";
import { hostSummary, requireString } from "./common.ts";

/** Options of the `json` export. */
export interface JsonExportOptions {
  /** File to write. */
  file: string;
  /** Indentation of the JSON (default 2; 0 for one line). */
  indent?: number;
}

/** A summary rebuilt from events, when the host does not give the analyzer's. */
export interface EventSummary extends Omit<AnalysisSummary, "inputs" | "packets" | "media"> {
  /** Always `true`: packet and input counts were not available. */
  fromEvents: true;
  /** Not known from events. */
  inputs: null;
  /** Not known from events. */
  packets: null;
  /** RTP counts from the ended streams (RTCP is not counted). */
  media: Omit<AnalysisSummary["media"], "rtcpPackets"> & { rtcpPackets: null };
}

/** What the file holds: the analyzer's report shape. */
export interface JsonExportReport {
  /** Counts. */
  summary: AnalysisSummary | EventSummary;
  /** Call legs, in the order they completed. */
  calls: CallRecord[];
  /** Logical calls (rules), in the order they completed. */
  logicalCalls: LogicalCallRecord[];
  /** RTP streams, in the order they ended. */
  streams: RtpStreamRecord[];
  /** The last registration of each address of record. */
  registrations: Registration[];
}

/** Counts from events for {@link EventSummary}. */
class EventCounts {
  readonly requests = new Counter<string>();
  readonly responses = new Counter<string>();
  readonly transports = new Counter<string>();
  readonly callIds = new CallIdCounter();
  readonly anomalies = new Counter<string>();
  rtpPackets = 0;
  rtpStreams = 0;
  unsignalled = 0;
  registered = 0;
  failed = 0;
  firstTs: number | null = null;
  lastTs: number | null = null;

  seen(ts: number): void {
    if (this.firstTs === null || ts < this.firstTs) this.firstTs = ts;
    if (this.lastTs === null || ts > this.lastTs) this.lastTs = ts;
  }

  toJSON(): EventSummary {
    return {
      fromEvents: true,
      inputs: null,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      packets: null,
      sip: {
        messages: this.requests.total() + this.responses.total(),
        requests: this.requests.toObject(),
        responses: this.responses.toObject(),
        transports: this.transports.toObject(),
        dialogs: this.callIds.count,
      },
      media: {
        rtpPackets: this.rtpPackets,
        rtpStreams: this.rtpStreams,
        unsignalledStreams: this.unsignalled,
        rtcpPackets: null,
      },
      registrations: { registered: this.registered, failed: this.failed },
      anomalies: { total: this.anomalies.total(), byReason: this.anomalies.toObject() },
    };
  }
}

/**
 * Makes the `json` export.
 *
 * @param options `file` (required) and `indent`.
 * @param context The plugin context.
 * @returns The plugin.
 */
const jsonExport: PluginFactory<JsonExportOptions> = (options, context: PluginContext) => {
  const file = requireString(options, "file", "json");
  const indent = typeof options.indent === "number" && options.indent >= 0 ? options.indent : 2;
  const calls: CallRecord[] = [];
  const logicalCalls: LogicalCallRecord[] = [];
  const streams: RtpStreamRecord[] = [];
  const registrations = new Map<string, Registration>();
  const counts = new EventCounts();

  const plugin: Plugin = {
    name: "json",
    on: {
      "sip.request": function countRequest(e) {
        counts.requests.add(e.message.method);
        counts.transports.add(e.transport);
        if (e.message.callId) counts.callIds.add(e.message.callId, e.ts);
        counts.seen(e.ts);
      },
      "sip.response": function countResponse(e) {
        counts.responses.add(String(e.message.status));
        counts.transports.add(e.transport);
        if (e.message.callId) counts.callIds.add(e.message.callId, e.ts);
        counts.seen(e.ts);
      },
      "anomaly": function countAnomaly(e) {
        counts.anomalies.add(e.reason);
      },
      "call.completed": function keepCall(e) {
        calls.push(e.leg.toJSON());
      },
      "rtp.stream.ended": function keepStream(e) {
        streams.push(e.stream);
        counts.rtpStreams++;
        counts.rtpPackets += e.stream.packets;
        if (!e.stream.signalled) counts.unsignalled++;
        if (e.stream.packets > 0) {
          counts.seen(e.stream.firstArrival);
          counts.seen(e.stream.lastArrival);
        }
      },
      "logical.completed": function keepLogicalCall(e) {
        logicalCalls.push(e.call);
      },
      "registration": function keepRegistration(e) {
        const r = e.registration;
        if (r.status === "failed") counts.failed++;
        else counts.registered++;
        registrations.delete(r.aor);
        registrations.set(r.aor, r);
      },
    },
    async close() {
      const report: JsonExportReport = {
        summary: hostSummary(context) ?? counts.toJSON(),
        calls,
        logicalCalls,
        streams,
        registrations: [...registrations.values()],
      };
      await Deno.writeTextFile(file, JSON.stringify(report, null, indent) + "\n");
    },
  };
  return plugin;
};

export default jsonExport;
