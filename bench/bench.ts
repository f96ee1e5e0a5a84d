/**
 * `deno task bench`: generates a large, realistic capture (deterministic,
 * with tools/synth/bench_capture.ts) and measures packetwave on it — read
 * only, read and decode, the full analysis — each in its own process for an
 * honest peak-memory figure; and, where installed, `tcpdump -r FILE -w
 * /dev/null` and tshark's SIP and RTP statistics on the same file.
 *
 * ```sh
 * deno task bench [--calls 1000] [--seconds 12] [--concurrent 60] [--runs 3]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeBenchCapture } from "../tools/synth/bench_capture.ts";
import type { Measurement } from "./measure.ts";

const OUT = new URL("./out/", import.meta.url).pathname;
const MEASURE = new URL("./measure.ts", import.meta.url).pathname;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "1000" },
    seconds: { type: "string", default: "12" },
    concurrent: { type: "string", default: "60" },
    runs: { type: "string", default: "3" },
    modes: { type: "string", default: "read,decode,analyze-no-rules,analyze" },
  },
});
const calls = Number(values.calls);
const talkSeconds = Number(values.seconds);
const concurrent = Number(values.concurrent);
const runs = Number(values.runs);

await Deno.mkdir(OUT, { recursive: true });
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

async function run(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function ours(mode: string): Promise<Measurement> {
  let best: Measurement | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await run(Deno.execPath(), ["run", "-A", MEASURE, mode, file]);
    if (r.code !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
    const m: Measurement = JSON.parse(r.stdout.trim().split("\n").pop()!);
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best!;
}

/** Times an external command with /usr/bin/time: seconds and peak memory in MB. */
async function external(
  command: string,
  args: string[],
): Promise<{ seconds: number; peakMB: number } | null> {
  let best: { seconds: number; peakMB: number } | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await run("/usr/bin/time", ["-f", "%e %M", command, ...args]).catch(() => null);
    if (!r || r.code !== 0) return null;
    const last = r.stderr.trim().split("\n").pop()!.split(" ");
    const m = { seconds: Number(last[0]), peakMB: Number(last[1]) / 1024 };
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best;
}

const results: Record<string, unknown> = { file, calls, talkSeconds, concurrent, runs };
const rows: string[][] = [];
let packets = 0;
let bytes = 0;
for (const mode of values.modes!.split(",")) {
  const m = await ours(mode);
  packets = m.packets;
  bytes = m.bytes;
  results[mode] = m;
  rows.push([
    `packetwave ${mode}`,
    m.seconds.toFixed(3),
    (m.packets / m.seconds / 1e6).toFixed(2),
    (m.bytes / m.seconds / 1e6).toFixed(0),
    m.peakMB.toFixed(0),
  ]);
}
const tcpdump = await external("tcpdump", ["-r", file, "-w", "/dev/null"]);
if (tcpdump) {
  results.tcpdump = tcpdump;
  rows.push([
    "tcpdump -r -w /dev/null",
    tcpdump.seconds.toFixed(3),
    (packets / tcpdump.seconds / 1e6).toFixed(2),
    (bytes / tcpdump.seconds / 1e6).toFixed(0),
    tcpdump.peakMB.toFixed(0),
  ]);
}
const tshark = await external("tshark", ["-r", file, "-q", "-z", "sip,stat", "-z", "rtp,streams"]);
if (tshark) {
  results.tshark = tshark;
  rows.push([
    "tshark sip,stat + rtp,streams",
    tshark.seconds.toFixed(3),
    (packets / tshark.seconds / 1e6).toFixed(2),
    (bytes / tshark.seconds / 1e6).toFixed(0),
    tshark.peakMB.toFixed(0),
  ]);
}
console.log(`\n${packets} packets, ${(bytes / 1e6).toFixed(1)} MB; best of ${runs} runs\n`);
console.log("| what | seconds | Mpackets/s | MB/s | peak MB |");
console.log("|---|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
const analyze = results.analyze as Measurement | undefined;
if (analyze && tcpdump) {
  console.log(`\nfull analysis / tcpdump read: ${(analyze.seconds / tcpdump.seconds).toFixed(2)}x`);
}
await Deno.writeTextFile(`${OUT}results.json`, JSON.stringify(results, null, 2));
