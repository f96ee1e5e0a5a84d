/**
 * One benchmark measurement, run in its own process so its peak memory is
 * its own: `deno run -A bench/measure.ts MODE FILE [WORK-DIR-PARENT]` prints one JSON line
 * (work files of `analyze-record` and `analyze-export` go under WORK-DIR-PARENT, by
 * default the capture's directory).
 *
 * Modes: `read` (frames only), `decode` (frames to UDP/TCP payloads),
 * `analyze` (the whole pipeline with the shipped rules, and the JSON report written to
 * /dev/null), `analyze-no-rules` (the same without rules), `analyze-record` (`analyze`
 * with every call recorded to WAV files in a temporary directory beside the capture,
 * removed afterwards), `analyze-export` (`analyze` with the JSON, CSV and SQLite
 * exports written to such a directory).
 *
 * `deno run -A --v8-flags=--min-semi-space-size=512,--max-semi-space-size=512 bench/measure.ts
 * allocation FILE [--no-rules]` gives the bytes the analysis allocates per frame
 * ({@linkcode measureAllocation}).
 *
 * `deno run -A --v8-flags=--expose-gc bench/measure.ts sip-parse FILE` measures the SIP
 * parser alone on the capture's messages ({@linkcode measureSipParse}).
 *
 * `deno run -A bench/measure.ts rules-cost FILE [--control]` measures instead what the
 * rules cost, with and without them on the same frames at the same moments
 * ({@linkcode measureRulesCost}; `--control`: both without, to see the method's error).
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { writePieces } from "../engine/json_writer.ts";
import { PluginHost } from "../plugins/host.ts";
import type { PluginConfig } from "../plugins/plugin.ts";
import { cpuUsage } from "node:process";
import { Analyzer } from "../engine/analyzer.ts";
import { openCapture } from "../engine/capture/open.ts";
import { Frame } from "../engine/capture/frame.ts";
import { PacketDecoder } from "../engine/decode/decoder.ts";
import { loadRules, type Rule } from "../engine/rules/rule_set.ts";
import { loadSite, type Site } from "../engine/rules/site.ts";
import { IP_PROTO_UDP } from "../engine/decode/packet.ts";
import { looksLikeSip } from "../engine/sip/detect.ts";
import { parseSipMessage } from "../engine/sip/parse.ts";

/** Result of one measurement. */
export interface Measurement {
  /** What was measured. */
  mode: string;
  /** Frames read. */
  packets: number;
  /** Bytes of the file. */
  bytes: number;
  /** Wall-clock seconds of the work (process start-up excluded). */
  seconds: number;
  /** Peak resident memory of the process, MB (VmHWM). */
  peakMB: number;
  /** CPU seconds (user + system) the work took: steadier than wall time on a busy machine. */
  cpuSeconds: number;
}

/** Peak resident set size of this process in MB, from /proc (0 where unavailable). */
export function peakResidentMB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = status.match(/^VmHWM:\s+(\d+) kB/m);
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The shipped site file and rules, loaded as `analyze` loads them. */
async function shippedRules(): Promise<{ rules: Rule[]; site: Site }> {
  const site = (await loadSite()).site;
  return { rules: (await loadRules([], site)).rules, site };
}

/** Hands every frame of a capture to `onFrame`, then closes it (also when that throws). */
async function forEachFrame(file: string, onFrame: (frame: Frame) => void): Promise<void> {
  const opened = await openCapture(file);
  try {
    await opened.source.run({ onFrame });
  } finally {
    opened.close();
  }
}

/** Writes a finished analyzer's JSON report to /dev/null, the way `analyze --json` writes it. */
function writeReportToNull(analyzer: Analyzer): void {
  const out = Deno.openSync("/dev/null", { write: true });
  try {
    writePieces(analyzer.reportPieces(), out);
  } finally {
    out.close();
  }
}

/** Measures one mode on one file. */
export async function measure(
  mode: string,
  file: string,
  workParent = dirname(resolve(file)),
): Promise<Measurement> {
  const size = (await Deno.stat(file)).size;
  const t0 = performance.now();
  const c0 = cpuUsage();
  let packets = 0;
  if (mode === "read" || mode === "decode") {
    let payloads = 0;
    const decoder = new PacketDecoder({ onPacket: () => payloads++, onAnomaly: () => {} });
    const decode = mode === "decode";
    await forEachFrame(file, (f) => {
      packets++;
      if (decode) decoder.decode(f);
    });
    if (decode && payloads === 0) throw new Error("nothing decoded");
  } else if (mode.startsWith("analyze")) {
    const rules = mode === "analyze-no-rules" ? undefined : await shippedRules();
    const site = rules?.site ?? null;
    const analyzer = new Analyzer({ rules });
    const work = mode === "analyze-record" || mode === "analyze-export"
      ? await Deno.makeTempDir({ dir: workParent, prefix: ".measure-" })
      : null;
    const plugins: PluginConfig[] = mode === "analyze-record"
      ? [{ use: "recording", options: { dir: work } }]
      : mode === "analyze-export"
      ? [
        { use: "json", options: { file: `${work}/report.json` } },
        { use: "csv", options: { file: `${work}/calls.csv` } },
        { use: "sqlite", options: { file: `${work}/calls.sqlite` } },
      ]
      : [];
    if (plugins.length === 0 && mode !== "analyze" && mode !== "analyze-no-rules") {
      throw new Error(`unknown mode ${mode}`);
    }
    // The work directory goes even when the run fails or is interrupted (SIGINT, SIGTERM).
    const removeWork = () => {
      if (work) Deno.removeSync(work, { recursive: true });
      Deno.exit(130);
    };
    if (work) {
      for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, removeWork);
    }
    try {
      const host = await PluginHost.load(analyzer, plugins, { site });
      await analyzer.analyzeFile(file);
      packets = analyzer.finish().packets.total;
      await host.close();
      for (const p of host.reports) {
        if (p.errors > 0) throw new Error(`plugin ${p.name} failed: ${p.firstError}`);
      }
      writeReportToNull(analyzer);
    } finally {
      analyzer.dispose();
      if (work) {
        for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, removeWork);
        await Deno.remove(work, { recursive: true });
      }
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuUsage(c0);
  return {
    mode,
    packets,
    bytes: size,
    seconds,
    peakMB: peakResidentMB(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** What the rules cost, measured on the same frames at the same moments. */
export interface RulesCost {
  /** Frames of the capture. */
  packets: number;
  /** Seconds to load the shipped site file and rules the first time (cold). */
  loadSeconds: number;
  /** Seconds the analyzer without rules took: its frames, then its JSON report. */
  noRulesSeconds: number;
  /** Seconds the analyzer with the rules took, the same way. */
  rulesSeconds: number;
  /** Frames per block handed to each analyzer in turn. */
  blockFrames: number;
  /** A control run: neither analyzer had rules. */
  control: boolean;
}

/** The capture both kinds of analysis are compiled on first, in {@linkcode measureRulesCost}. */
const WARM_UP_CAPTURE = new URL("../fixtures/seed/4-conference.pcapng", import.meta.url).pathname;

/** Frames per block of {@linkcode measureRulesCost}. */
const PAIRED_BLOCK_FRAMES = 8192;

/**
 * Measures what the rules cost, robustly on a busy machine: the capture is
 * read once and every block of {@linkcode PAIRED_BLOCK_FRAMES} frames goes to
 * two analyzers in the same process — one with the shipped rules, one
 * without — one after the other, the first of the two alternating from block
 * to block; each analyzer's time is summed over the blocks, then its JSON
 * report is written to /dev/null and timed. Both meet the same load at the
 * same moments, so the ratio holds where one-shot runs vary by a third.
 * Loading the rules is timed apart (it is paid once per process), and the
 * code of both kinds of analysis and report is compiled first on a small
 * capture (`warmUp`): else whichever analyzer first writes its report pays
 * for compiling the report code (an A/A run, both without rules, then gives
 * the second analyzer 1–4% less than the first). With `control`, neither
 * analyzer has rules: the "cost" found then is the method's own error.
 */
export async function measureRulesCost(
  file: string,
  options: { control?: boolean; warmUp?: string | null } = {},
): Promise<RulesCost> {
  const { control = false, warmUp = WARM_UP_CAPTURE } = options;
  const t0 = performance.now();
  const rules = await shippedRules();
  const loadSeconds = (performance.now() - t0) / 1000;
  if (warmUp !== null) {
    for (const analyzer of [new Analyzer({ rules }), new Analyzer()]) {
      await analyzer.analyzeFile(warmUp);
      analyzer.finish();
      writeReportToNull(analyzer);
      analyzer.dispose();
    }
  }
  // The control run gives both analyzers no rules: what it finds is the method's own error.
  const withRules = new Analyzer(control ? {} : { rules });
  const without = new Analyzer();
  const analyzers = [without, withRules];
  const spent = [0, 0];
  // A block of frames, copied out of the reader's buffer (which the next frames reuse).
  let bytes = new Uint8Array(8 << 20);
  let used = 0;
  const meta: {
    start: number;
    end: number;
    ts: number;
    linkType: number;
    origLen: number;
    number: number;
    offset: number;
    interfaceId: number;
  }[] = [];
  let block = 0;
  const replay = new Frame();
  const flush = () => {
    for (let turn = 0; turn < 2; turn++) {
      const which = (block + turn) % 2;
      const analyzer = analyzers[which]!;
      const start = performance.now();
      for (const m of meta) {
        replay.bytes = bytes;
        replay.start = m.start;
        replay.end = m.end;
        replay.ts = m.ts;
        replay.linkType = m.linkType;
        replay.origLen = m.origLen;
        replay.number = m.number;
        replay.offset = m.offset;
        replay.interfaceId = m.interfaceId;
        analyzer.onFrame(replay);
      }
      spent[which]! += performance.now() - start;
    }
    block++;
    meta.length = 0;
    used = 0;
  };
  let packets = 0;
  await forEachFrame(file, (f) => {
    packets++;
    const length = f.end - f.start;
    if (used + length > bytes.length) {
      flush();
      if (length > bytes.length) bytes = new Uint8Array(length * 2);
    }
    bytes.set(f.bytes.subarray(f.start, f.end), used);
    meta.push({
      start: used,
      end: used + length,
      ts: f.ts,
      linkType: f.linkType,
      origLen: f.origLen,
      number: f.number,
      offset: f.offset,
      interfaceId: f.interfaceId,
    });
    used += length;
    if (meta.length === PAIRED_BLOCK_FRAMES) flush();
  });
  flush();
  for (const [which, analyzer] of analyzers.entries()) {
    const start = performance.now();
    analyzer.finish();
    writeReportToNull(analyzer);
    analyzer.dispose();
    spent[which]! += performance.now() - start;
  }
  return {
    packets,
    loadSeconds,
    noRulesSeconds: spent[0]! / 1000,
    rulesSeconds: spent[1]! / 1000,
    blockFrames: PAIRED_BLOCK_FRAMES,
    control,
  };
}

/** What parsing the SIP messages of a capture costs, warm and on its own. */
export interface SipParseCost {
  /** SIP messages found (in UDP datagrams). */
  messages: number;
  /** Best time per message over the rounds, µs. */
  microsPerMessage: number;
  /** Bytes allocated per message, garbage included (median over batches of messages). */
  allocatedBytesPerMessage: number;
  /** Bytes still held per message when every parsed message is kept (0 without `--expose-gc`). */
  keptBytesPerMessage: number;
}

/**
 * Parses every SIP message of a capture again and again: time per message (best of
 * `rounds`), bytes allocated per message (the heap's growth over batches of 256 messages,
 * median: a batch with a collection in it shrinks the heap instead) and bytes kept per
 * message (every result kept, after full collections; needs `--expose-gc`).
 */
export async function measureSipParse(file: string, rounds = 20): Promise<SipParseCost> {
  const messages: Uint8Array[] = [];
  const decoder = new PacketDecoder({
    onPacket: (p) => {
      const length = p.payloadEnd - p.payloadStart;
      if (p.protocol !== IP_PROTO_UDP || !looksLikeSip(p.bytes, p.payloadStart, length)) return;
      messages.push(p.bytes.slice(p.payloadStart, p.payloadEnd));
    },
    onAnomaly: () => {},
  });
  await forEachFrame(file, (f) => decoder.decode(f));
  if (messages.length === 0) throw new Error("no SIP message in the capture");
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (const m of messages) parseSipMessage(m);
    best = Math.min(best, (performance.now() - start) * 1000 / messages.length);
  }
  const heapUsed = () => Deno.memoryUsage().heapUsed;
  const batch = 256;
  const growth: number[] = [];
  for (let at = 0; at + batch <= messages.length; at += batch) {
    const before = heapUsed();
    for (let i = at; i < at + batch; i++) parseSipMessage(messages[i]!);
    growth.push((heapUsed() - before) / batch);
  }
  growth.sort((a, b) => a - b);
  const gc = (globalThis as { gc?: () => void }).gc;
  let kept = 0;
  if (gc) {
    gc();
    const before = heapUsed();
    const results = messages.map((m) => parseSipMessage(m));
    gc();
    kept = (heapUsed() - before) / results.length;
  }
  return {
    messages: messages.length,
    microsPerMessage: best,
    allocatedBytesPerMessage: growth[growth.length >> 1] ?? 0,
    keptBytesPerMessage: kept,
  };
}

/** V8 flags that keep the young generation from being collected during {@link measureAllocation}. */
export const NO_COLLECTION_FLAGS = "--v8-flags=--min-semi-space-size=512,--max-semi-space-size=512";

/** Frames between two looks at the heap in {@link measureAllocation}. */
const ALLOCATION_INTERVAL_FRAMES = 4096;

/**
 * Bytes the analysis allocates per frame (garbage included), from the heap's growth:
 * meaningful when the young generation is not collected during the run (run it with
 * {@link NO_COLLECTION_FLAGS}). The heap is looked at every few thousand frames
 * ({@link ALLOCATION_INTERVAL_FRAMES} by default); an interval in which it shrank (an old-space
 * collection) is left out, and the measure refused when that is more than a tenth of them.
 * Not a speed, but the steadiest figure this machine gives: what the collector must sweep.
 *
 * @param file The capture.
 * @param withRules Whether the shipped rules are loaded.
 * @param intervalFrames Frames between two looks at the heap.
 * @returns Frames, bytes allocated per frame, and intervals left out.
 */
export async function measureAllocation(
  file: string,
  withRules: boolean,
  intervalFrames = ALLOCATION_INTERVAL_FRAMES,
): Promise<{ packets: number; bytesPerPacket: number; intervalsLeftOut: number }> {
  const analyzer = new Analyzer({ rules: withRules ? await shippedRules() : undefined });
  const heapUsed = () => Deno.memoryUsage().heapUsed;
  let packets = 0;
  let last = heapUsed();
  let grown = 0;
  let intervals = 0;
  let leftOut = 0;
  try {
    await forEachFrame(file, (f) => {
      analyzer.onFrame(f);
      if (++packets % intervalFrames !== 0) return;
      const now = heapUsed();
      intervals++;
      if (now >= last) grown += now - last;
      else leftOut++;
      last = now;
    });
  } finally {
    analyzer.dispose();
  }
  if (intervals === 0 || leftOut * 10 > intervals) {
    throw new Error(
      `collections ran in ${leftOut} of ${intervals} intervals: run with ${NO_COLLECTION_FLAGS}`,
    );
  }
  const counted = (intervals - leftOut) * intervalFrames;
  return { packets, bytesPerPacket: grown / counted, intervalsLeftOut: leftOut };
}

if (import.meta.main && Deno.args[0] === "allocation") {
  const [, file, flag] = Deno.args;
  if (!file || (flag !== undefined && flag !== "--no-rules")) {
    console.error(
      `usage: deno run -A ${NO_COLLECTION_FLAGS} measure.ts allocation FILE [--no-rules]`,
    );
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measureAllocation(file, flag !== "--no-rules")));
} else if (import.meta.main && Deno.args[0] === "sip-parse") {
  const file = Deno.args[1];
  if (!file) {
    console.error("usage: measure.ts sip-parse FILE");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measureSipParse(file)));
} else if (import.meta.main && Deno.args[0] === "rules-cost") {
  const [, file, flag] = Deno.args;
  if (!file || (flag !== undefined && flag !== "--control")) {
    console.error("usage: measure.ts rules-cost FILE [--control]");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measureRulesCost(file, { control: flag === "--control" })));
} else if (import.meta.main) {
  const [mode, file, workParent] = Deno.args;
  if (!mode || !file) {
    console.error(
      "usage: measure.ts read|decode|analyze|analyze-no-rules|analyze-record|analyze-export FILE [WORK-DIR-PARENT]",
    );
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measure(mode, file, workParent)));
}
