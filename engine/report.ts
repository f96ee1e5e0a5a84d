/**
 * Collects what an analysis produced for the final report: completed call
 * records and ended RTP streams, from the event bus.
 *
 * @module
 */

import type { CallRecord } from "./calls/leg.ts";
import type { Registration } from "./calls/registrations.ts";
import type { RtpStreamRecord } from "./calls/stream.ts";
import type { EventBus } from "./event_bus.ts";
import { RecordSpool } from "./spool.ts";
import type { LogicalCallRecord } from "./rules/logical_calls.ts";
import type { PluginReport } from "../plugins/plugin.ts";
import type { AnalysisSummary } from "./summary.ts";

/** The full result of an analysis (`packetwave analyze --json`). */
export interface AnalysisReport {
  /** Counts. */
  summary: AnalysisSummary;
  /** Every call leg, in the order their records completed. */
  calls: CallRecord[];
  /** Every RTP stream, in the order they ended. */
  streams: RtpStreamRecord[];
  /** The last registration of each address of record. */
  registrations: Registration[];
  /** Logical calls, when rules ran (in the order they completed). */
  logicalCalls: LogicalCallRecord[];
  /** What each plugin did, when plugins ran (filled by the caller that ran them). */
  plugins: PluginReport[];
}

/** Gathers call and stream records from the bus; long lists spill to temporary files. */
export class ReportCollector {
  /** Completed call records. */
  readonly calls: RecordSpool<CallRecord>;
  /** Ended streams. */
  readonly streams: RecordSpool<RtpStreamRecord>;
  /** Registrations by AOR, latest last. */
  readonly registrations = new Map<string, Registration>();
  /** Logical calls. */
  readonly logicalCalls: RecordSpool<LogicalCallRecord>;

  /**
   * @param bus The bus to listen on.
   * @param memoryRecords Records of each list kept in memory before spilling to disk.
   */
  constructor(bus: EventBus, memoryRecords?: number) {
    this.calls = new RecordSpool(memoryRecords);
    this.streams = new RecordSpool(memoryRecords);
    this.logicalCalls = new RecordSpool(memoryRecords);
    bus.on("call.completed", (e) => this.calls.push(e.leg.toJSON()), "report");
    bus.on("rtp.stream.ended", (e) => this.streams.push(e.stream), "report");
    bus.on("logical.completed", (e) => this.logicalCalls.push(e.call), "report");
    bus.on("registration", (e) => {
      this.registrations.delete(e.registration.aor);
      this.registrations.set(e.registration.aor, e.registration);
    }, "report");
  }

  /** Deletes the temporary files. */
  dispose(): void {
    this.calls.dispose();
    this.streams.dispose();
    this.logicalCalls.dispose();
  }
}
