/**
 * `deno run -A bench/soak.ts [--minutes 3] [--rate 10] [--record]`: a soak run of the
 * appliance mode. `packetwave live -i lo` runs while sipp places calls with
 * RTP at a steady rate; every 10 s the live process's resident memory is
 * sampled; at the end the calls it finalized are counted against the calls
 * sipp completed, and the kernel drops read from its last line. With
 * `--record`, every call is recorded too (in a temporary directory on disk,
 * removed afterwards) and the WAV files are counted.
 * Needs root, libpcap and sipp.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loopbackPair, SIPP_MEDIA } from "../tests/support/sipp.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "3" },
    rate: { type: "string", default: "10" },
    record: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const calls = Math.floor(minutes * 60 * rate);
const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir();
const { uac, uas } = loopbackPair();

await Deno.writeTextFile(
  `${dir}/count.ts`,
  `export default (o) => { let legs = 0, logical = 0; return { name: "count",
     on: { "call.completed": () => { legs++; }, "logical.completed": () => { logical++; } },
     close: () => Deno.writeTextFile(o.file, JSON.stringify({ legs, logical })) }; };`,
);
await Deno.writeTextFile(
  `${dir}/plugins.yaml`,
  `plugins:\n  - use: ./count.ts\n    options: { file: ${dir}/count.json }\n`,
);

const live = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    // The flags of the compiled binary and of `deno task analyze` (see docs/appliance.md).
    "--v8-flags=--expose-gc,--max-semi-space-size=4",
    `${root}main.ts`,
    "live",
    "-i",
    "lo",
    "--filter",
    `host ${uac} or host ${uas}`,
    "--plugins",
    `${dir}/plugins.yaml`,
    "--status-seconds",
    "30",
    "--no-reload",
    ...(values.record ? ["--record", `${dir}/recordings`] : []),
  ],
  stdout: "piped",
  stderr: "piped",
}).spawn();
await new Promise((r) => setTimeout(r, 2500));

function residentMB(pid: number): number {
  // The deno child's resident memory (VmRSS) in MB.
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]) / 1024;
}
const samples: { t: number; mb: number }[] = [];
const t0 = performance.now();
const sampler = setInterval(() => {
  samples.push({ t: Math.round((performance.now() - t0) / 1000), mb: residentMB(live.pid) });
}, 10_000);

const media = await Deno.makeTempDir();
await Deno.symlink(SIPP_MEDIA, `${media}/pcap`);
const uasProc = new Deno.Command("sipp", {
  args: ["-sn", "uas", "-i", uas, "-p", "5060", "-nostdin", "-m", String(calls)],
  stdout: "null",
  stderr: "null",
}).spawn();
await new Promise((r) => setTimeout(r, 300));
const uacOut = await new Deno.Command("sipp", {
  cwd: media,
  args: [
    "-sn",
    "uac_pcap",
    `${uas}:5060`,
    "-i",
    uac,
    "-p",
    "5060",
    "-mi",
    uac,
    "-r",
    String(rate),
    "-l",
    String(rate * 20),
    "-m",
    String(calls),
    "-nostdin",
    "-trace_stat",
    "-stf",
    `${dir}/stat.csv`,
    "-timeout",
    `${minutes * 60 + 120}s`,
  ],
  stdout: "null",
  stderr: "null",
}).output();
try {
  uasProc.kill("SIGTERM");
} catch { /* gone */ }
await new Promise((r) => setTimeout(r, 5000)); // the last calls complete
clearInterval(sampler);
samples.push({ t: Math.round((performance.now() - t0) / 1000), mb: residentMB(live.pid) });
live.kill("SIGTERM");
const out = await live.output();
const stderr = new TextDecoder().decode(out.stderr);
const counted = JSON.parse(await Deno.readTextFile(`${dir}/count.json`));
const stat = (await Deno.readTextFile(`${dir}/stat.csv`)).trim().split("\n");
const header = stat[0]!.split(";");
const last = stat.at(-1)!.split(";");
const successful = Number(last[header.indexOf("SuccessfulCall(C)")]);
const failed = Number(last[header.indexOf("FailedCall(C)")]);
const drops = stderr.match(/stopped: .*kernel drops (\d+)/)?.[1];
/** WAV files the recorder wrote (with `--record`). */
async function wavFiles(path: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(path)) {
    if (e.isDirectory) n += await wavFiles(`${path}/${e.name}`);
    else if (e.name.endsWith(".wav")) n++;
  }
  return n;
}
console.log(JSON.stringify(
  {
    minutes,
    rate,
    sippExit: uacOut.code,
    sippSuccessful: successful,
    sippFailed: failed,
    legsFinalized: counted.legs,
    recordedFiles: values.record ? await wavFiles(`${dir}/recordings`) : null,
    logicalCallsWritten: counted.logical,
    kernelDrops: drops === undefined ? null : Number(drops),
    residentMB: samples,
    finalLine: stderr.trim().split("\n").at(-1),
  },
  null,
  2,
));
await Deno.remove(dir, { recursive: true });
await Deno.remove(media, { recursive: true });
