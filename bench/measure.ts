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
 * `deno run -A bench/measure.ts rules-cost FILE [ROUNDS]` measures instead what the rules
 * cost in a warm process ({@linkcode measureRulesCost}).
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
import { PacketDecoder } from "../engine/decode/decoder.ts";
import { loadRules } from "../engine/rules/rule_set.ts";
import { loadSite } from "../engine/rules/site.ts";

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
    const opened = await openCapture(file);
    let payloads = 0;
    const decoder = new PacketDecoder({ onPacket: () => payloads++, onAnomaly: () => {} });
    const decode = mode === "decode";
    await opened.source.run({
      onFrame: (f) => {
        packets++;
        if (decode) decoder.decode(f);
      },
    });
    opened.close();
    if (decode && payloads === 0) throw new Error("nothing decoded");
  } else if (mode.startsWith("analyze")) {
    let rules;
    let site = null;
    if (mode !== "analyze-no-rules") {
      site = (await loadSite()).site;
      rules = { rules: (await loadRules([], site)).rules, site };
    }
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
      // The JSON report, written the way `analyze --json` writes it.
      const out = Deno.openSync("/dev/null", { write: true });
      writePieces(analyzer.reportPieces(), out);
      out.close();
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

/** The steady-state cost of the rules, measured in one warm process. */
export interface RulesCost {
  /** Frames of the capture. */
  packets: number;
  /** Seconds to load the shipped site file and rules the first time (cold). */
  loadSeconds: number;
  /** Best seconds of the analysis and its JSON report without rules. */
  noRulesSeconds: number;
  /** Best seconds of the same with the rules (loaded once beforehand). */
  rulesSeconds: number;
  /** Rounds measured (after one warm-up round, not counted). */
  rounds: number;
}

/**
 * Measures what the rules cost once the code is warm: in one process,
 * after a warm-up round, analyses without and with the rules alternate
 * (each with a fresh analyzer and its JSON report written to /dev/null)
 * and the best time of each is kept. Alternating spreads the noise of a
 * busy machine over both; the one-time costs (loading the rules, compiling
 * their code) are what a one-shot `analyze` measurement adds on top.
 */
export async function measureRulesCost(file: string, rounds: number): Promise<RulesCost> {
  const t0 = performance.now();
  const site = (await loadSite()).site;
  const rules = { rules: (await loadRules([], site)).rules, site };
  const loadSeconds = (performance.now() - t0) / 1000;
  let packets = 0;
  const once = async (withRules: boolean): Promise<number> => {
    const start = performance.now();
    const analyzer = new Analyzer({ rules: withRules ? rules : undefined });
    try {
      await analyzer.analyzeFile(file);
      packets = analyzer.finish().packets.total;
      const out = Deno.openSync("/dev/null", { write: true });
      writePieces(analyzer.reportPieces(), out);
      out.close();
    } finally {
      analyzer.dispose();
    }
    return (performance.now() - start) / 1000;
  };
  let noRulesSeconds = Infinity;
  let rulesSeconds = Infinity;
  for (let round = 0; round <= rounds; round++) {
    // The first round warms both paths up and is not counted.
    const a = await once(round % 2 === 0);
    const b = await once(round % 2 !== 0);
    if (round === 0) continue;
    const [withRules, without] = round % 2 === 0 ? [a, b] : [b, a];
    rulesSeconds = Math.min(rulesSeconds, withRules);
    noRulesSeconds = Math.min(noRulesSeconds, without);
  }
  return { packets, loadSeconds, noRulesSeconds, rulesSeconds, rounds };
}

if (import.meta.main && Deno.args[0] === "rules-cost") {
  const [, file, rounds = "3"] = Deno.args;
  if (!file) {
    console.error("usage: measure.ts rules-cost FILE [ROUNDS]");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measureRulesCost(file, Number(rounds))));
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
