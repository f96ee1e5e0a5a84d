/**
 * packetwave: a passive SIP/RTP call analyzer. The library API behind the
 * `packetwave` command line.
 *
 * ```ts
 * import { Analyzer } from "./mod.ts";
 * const analyzer = new Analyzer();
 * analyzer.bus.on("sip.request", (e) => console.log(e.message.method, e.src.ip));
 * await analyzer.analyzeFile("fixtures/seed/1-normal.pcapng");
 * console.log(analyzer.finish().sip.messages);
 * ```
 *
 * @module
 */

export { Analyzer, type AnalyzerOptions } from "./engine/analyzer.ts";
export { EventBus } from "./engine/event_bus.ts";
export type * from "./engine/events.ts";
export type { AnalysisSummary } from "./engine/summary.ts";
export { openBytes, openCapture, type OpenedCapture } from "./engine/capture/open.ts";
export {
  CaptureFormatError,
  Frame,
  type FrameSink,
  type FrameSource,
} from "./engine/capture/frame.ts";
export type * from "./engine/sip/types.ts";
export { parseSipMessage } from "./engine/sip/parse.ts";
