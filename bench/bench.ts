/**
 * `deno task bench`: generates a large, realistic capture (deterministic,
 * with tools/synth/bench_capture.ts) and measures packetwave on it — read
 * only, read and decode, the full analysis without and with the shipped
 * rules, with the JSON/CSV/SQLite exports, with every call recorded to WAV —
 * each in its own process for an honest peak-memory figure; where installed,
 * `tcpdump -r FILE -w /dev/null` and tshark's SIP and RTP statistics on the
 * same file; what the rules cost, the same frames going to an analyzer with
 * and one without them (when both analyses are among the modes); the SIP
 * parser alone on the capture's messages (time, bytes allocated and kept per
 * message); the bytes the analysis allocates per packet, without and with the
 * rules; the time from start to the first output of `analyze` on a small
 * bundled capture; and with `--flat`, the peak memory of the full analysis of
 * a capture ten times longer with the same concurrency.
 *
 * ```sh
 * deno task bench [--calls 1000] [--seconds 12] [--concurrent 60] [--runs 3]
 *   [--modes read,decode,...] [--work-dir DIR] [--flat]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeBenchCapture } from "../tools/synth/bench_capture.ts";
import {
  type Measurement,
  NO_COLLECTION_FLAGS,
  type RulesCost,
  type SipParseCost,
} from "./measure.ts";

const OUT = new URL("./out/", import.meta.url).pathname;
const MEASURE = new URL("./measure.ts", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SMALL_CAPTURE = new URL("../fixtures/seed/1-normal.pcapng", import.meta.url).pathname;

/** The V8 flags `deno task analyze` runs with, so the figures are those users get. */
const V8_FLAGS: string[] = (() => {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  return config.tasks.analyze?.match(/--v8-flags=\S+/g) ?? [];
})();

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "1000" },
    seconds: { type: "string", default: "12" },
    concurrent: { type: "string", default: "60" },
    runs: { type: "string", default: "3" },
    modes: {
      type: "string",
      default: "read,decode,analyze-no-rules,analyze,analyze-export,analyze-record",
    },
    "work-dir": { type: "string" },
    flat: { type: "boolean", default: false },
  },
});
const calls = Number(values.calls);
const talkSeconds = Number(values.seconds);
const concurrent = Number(values.concurrent);
const runs = Number(values.runs);

await Deno.mkdir(OUT, { recursive: true });

/** The capture of a shape, generated once and kept in bench/out/. */
async function benchCapture(calls: number): Promise<string> {
  const file = `${OUT}bench-${calls}x${talkSeconds}s-c${concurrent}.pcap`;
  try {
    await Deno.stat(file);
    console.log(`capture: ${file} (exists)`);
  } catch {
    const t0 = performance.now();
    const s = await writeBenchCapture(file, { calls, talkSeconds, concurrent });
    console.log(
      `capture: ${file}: ${s.packets} packets (${s.sipMessages} SIP, ${s.rtpPackets} RTP), ` +
        `${(s.bytes / 1e6).toFixed(1)} MB, generated in ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
    );
  }
  return file;
}

const file = await benchCapture(calls);

async function run(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function ours(mode: string, capture = file): Promise<Measurement> {
  let best: Measurement | null = null;
  const work = values["work-dir"] ? [values["work-dir"]] : [];
  for (let i = 0; i < runs; i++) {
    const r = await run(Deno.execPath(), [
      "run",
      "-A",
      ...V8_FLAGS,
      MEASURE,
      mode,
      capture,
      ...work,
    ]);
    if (r.code !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
    const m: Measurement = JSON.parse(r.stdout.trim().split("\n").pop()!);
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best!;
}

/** Seconds, CPU seconds and peak memory of an external command. */
interface ExternalMeasurement {
  seconds: number;
  cpuSeconds: number;
  peakMB: number;
}

/** Times an external command with /usr/bin/time (best of the runs). */
async function external(command: string, args: string[]): Promise<ExternalMeasurement | null> {
  let best: ExternalMeasurement | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await run("/usr/bin/time", ["-f", "%e %M %U %S", command, ...args]).catch(() => null);
    if (!r || r.code !== 0) return null;
    const [e, kb, user, sys] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
    const m = { seconds: e!, peakMB: kb! / 1024, cpuSeconds: user! + sys! };
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best;
}

const results: Record<string, unknown> = { file, calls, talkSeconds, concurrent, runs };
const rows: string[][] = [];
let packets = 0;
let bytes = 0;

/** A table row: what, seconds, CPU seconds, Mpackets/s, MB/s, peak MB. */
function row(what: string, m: ExternalMeasurement, count = packets, size = bytes): void {
  rows.push([
    what,
    m.seconds.toFixed(3),
    m.cpuSeconds.toFixed(3),
    (count / m.seconds / 1e6).toFixed(2),
    (size / m.seconds / 1e6).toFixed(0),
    m.peakMB.toFixed(0),
  ]);
}
const modes = values.modes!.split(",");
for (const mode of modes) {
  const m = await ours(mode);
  packets = m.packets;
  bytes = m.bytes;
  results[mode] = m;
  row(`packetwave ${mode}`, m);
}
const tcpdump = await external("tcpdump", ["-r", file, "-w", "/dev/null"]);
if (tcpdump) {
  results.tcpdump = tcpdump;
  row("tcpdump -r FILE -w /dev/null", tcpdump);
}
const tshark = await external("tshark", ["-r", file, "-q", "-z", "sip,stat", "-z", "rtp,streams"]);
if (tshark) {
  results.tshark = tshark;
  row("tshark -z sip,stat -z rtp,streams", tshark);
}

/** Wall time from spawning `analyze` on a small capture to its first byte of output, and to exit. */
async function startToOutput(): Promise<{ firstOutput: number; exit: number }> {
  let best = { firstOutput: Infinity, exit: Infinity };
  for (let i = 0; i < Math.max(runs, 5); i++) {
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...V8_FLAGS, MAIN, "analyze", "--no-progress", SMALL_CAPTURE],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let first = 0;
    for await (const _chunk of child.stdout) if (first === 0) first = performance.now() - t0;
    await child.status;
    const exit = performance.now() - t0;
    if (exit < best.exit) best = { firstOutput: first / 1000, exit: exit / 1000 };
  }
  return best;
}
/**
 * The rules' cost on the same frames at the same moments (see measureRulesCost), each
 * run in its own process (without `--expose-gc`: one analyzer's collections would be
 * the other's too).
 */
async function rulesCost(control: boolean): Promise<RulesCost[]> {
  const flags = V8_FLAGS.map((f) => f.replace(/--expose-gc,?/, "")).filter((f) =>
    f !== "--v8-flags="
  );
  const all: RulesCost[] = [];
  for (let i = 0; i < Math.max(runs, 3); i++) {
    const r = await run(Deno.execPath(), [
      "run",
      "-A",
      ...flags,
      MEASURE,
      "rules-cost",
      file,
      ...(control ? ["--control"] : []),
    ]);
    if (r.code !== 0) throw new Error(`rules-cost failed: ${r.stderr}`);
    all.push(JSON.parse(r.stdout.trim().split("\n").pop()!));
  }
  return all;
}
const pairedRules = modes.includes("analyze") && modes.includes("analyze-no-rules")
  ? { runs: await rulesCost(false), control: await rulesCost(true) }
  : null;
results.rulesCost = pairedRules;

const start = await startToOutput();
results.startToOutput = start;

/** The SIP parser alone on the capture's messages (see measureSipParse). */
async function sipParse(): Promise<SipParseCost> {
  const r = await run(Deno.execPath(), ["run", "-A", ...V8_FLAGS, MEASURE, "sip-parse", file]);
  if (r.code !== 0) throw new Error(`sip-parse failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}
const sip = await sipParse();
results.sipParse = sip;

/** Bytes the analysis allocates per frame (see measureAllocation). */
async function allocation(withRules: boolean): Promise<number> {
  const r = await run(Deno.execPath(), [
    "run",
    "-A",
    NO_COLLECTION_FLAGS,
    MEASURE,
    "allocation",
    file,
    ...(withRules ? [] : ["--no-rules"]),
  ]);
  if (r.code !== 0) throw new Error(`allocation failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!).bytesPerPacket;
}
const allocated = { withRules: await allocation(true), withoutRules: await allocation(false) };
results.allocated = allocated;

let flat: { capture: string; measurement: Measurement } | null = null;
if (values.flat) {
  const long = await benchCapture(calls * 10);
  flat = { capture: long, measurement: await ours("analyze", long) };
  results.flat = flat;
  row(
    `packetwave analyze, 10x longer (${calls * 10} calls)`,
    flat.measurement,
    flat.measurement.packets,
    flat.measurement.bytes,
  );
}

console.log(`\n${packets} packets, ${(bytes / 1e6).toFixed(1)} MB; best of ${runs} runs\n`);
console.log("| what | seconds | CPU seconds | Mpackets/s | MB/s | peak MB |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
const analyze = results.analyze as Measurement | undefined;
if (analyze && tcpdump) {
  console.log(`\nfull analysis / tcpdump read: ${(analyze.seconds / tcpdump.seconds).toFixed(2)}x`);
}
const noRules = results["analyze-no-rules"] as Measurement | undefined;
if (analyze && noRules) {
  console.log(
    `rules cost: ${((analyze.seconds / noRules.seconds - 1) * 100).toFixed(1)}% wall, ` +
      `${((analyze.cpuSeconds / noRules.cpuSeconds - 1) * 100).toFixed(1)}% CPU ` +
      "(one-shot processes, loading and compiling the rules included)",
  );
}
if (pairedRules) {
  const costs = (list: RulesCost[]) => {
    const all = list.map((r) => (r.rulesSeconds / r.noRulesSeconds - 1) * 100).sort((a, b) =>
      a - b
    );
    return `median ${all[Math.floor(all.length / 2)]!.toFixed(1)}% (${
      all.map((c) => c.toFixed(1)).join(", ")
    })`;
  };
  const loads = pairedRules.runs.map((r) => r.loadSeconds * 1000);
  console.log(
    `rules cost, paired (the same frames to an analyzer with and one without, block by block): ` +
      `${costs(pairedRules.runs)}; the same with neither having rules (the method's error): ` +
      `${costs(pairedRules.control)}; loading the rules: ${Math.min(...loads).toFixed(0)}–${
        Math.max(...loads).toFixed(0)
      } ms`,
  );
}
if (analyze && flat) {
  console.log(
    `peak memory, 10x longer capture / this one: ${
      (flat.measurement.peakMB / analyze.peakMB).toFixed(3)
    }`,
  );
}
console.log(
  `allocated per packet: ${allocated.withoutRules.toFixed(1)} bytes without rules, ` +
    `${allocated.withRules.toFixed(1)} with them`,
);
console.log(
  `SIP parser alone (${sip.messages} messages, warm): ${sip.microsPerMessage.toFixed(2)} µs a ` +
    `message, ${(sip.allocatedBytesPerMessage / 1024).toFixed(1)} KB allocated and ` +
    `${(sip.keptBytesPerMessage / 1024).toFixed(1)} KB kept per message`,
);
console.log(
  `start to first output (analyze ${SMALL_CAPTURE.split("/").pop()}): ` +
    `${(start.firstOutput * 1000).toFixed(0)} ms (exit after ${(start.exit * 1000).toFixed(0)} ms)`,
);
await Deno.writeTextFile(`${OUT}results.json`, JSON.stringify(results, null, 2));
