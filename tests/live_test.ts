/**
 * Live capture end to end: `packetwave live -i lo` runs while sipp places
 * calls with RTP on loopback and tcpdump records the same traffic; the call
 * records live capture produced equal those from analyzing tcpdump's file.
 * Needs root, libpcap, sipp and tcpdump; skipped with a message otherwise.
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import { liveCaptureUnavailable } from "../engine/capture/live.ts";
import { hasProgram, loopbackPair, placeCalls } from "./support/sipp.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const missing = Deno.uid() !== 0
  ? "not root"
  : liveCaptureUnavailable("lo") ?? (!(await hasProgram("sipp"))
    ? "sipp is not installed"
    : !(await hasProgram("tcpdump"))
    ? "tcpdump is not installed"
    : null);
if (missing) console.warn(`skipping live capture tests: ${missing}`);

/** A site-local plugin (loaded from a path, as a site would) that keeps call and stream records. */
const COLLECTOR = `
export default (options) => {
  const calls = [];
  const streams = [];
  return {
    name: "collect",
    on: {
      "call.completed": (e) => calls.push(e.leg.toJSON()),
      "rtp.stream.ended": (e) => streams.push(e.stream),
    },
    close: () => Deno.writeTextFile(options.file, JSON.stringify({ calls, streams })),
  };
};
`;

Deno.test({
  name: "live: call records from live capture equal those from a tcpdump capture of the same calls",
  ignore: missing !== null,
  async fn() {
    const dir = await Deno.makeTempDir();
    const { uac, uas } = loopbackPair();
    const filter = `host ${uac} or host ${uas}`;
    try {
      await Deno.writeTextFile(`${dir}/collect.ts`, COLLECTOR);
      await Deno.writeTextFile(
        `${dir}/plugins.yaml`,
        `plugins:\n  - use: ./collect.ts\n    options: { file: ${dir}/live.json }\n`,
      );
      const tcpdump = new Deno.Command("tcpdump", {
        args: ["-i", "lo", "-w", `${dir}/same.pcap`, "-U", "-n", filter],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const live = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}main.ts`,
          "live",
          "-i",
          "lo",
          "--filter",
          filter,
          "--plugins",
          `${dir}/plugins.yaml`,
          "--status-seconds",
          "0",
          "--no-reload",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 2500)); // both capturing
      const uacExit = await placeCalls({ uac, uas, calls: 3, rate: 3 });
      assert.equal(uacExit, 0, "sipp placed the calls");
      await new Promise((r) => setTimeout(r, 1500)); // trailing packets
      live.kill("SIGTERM"); // flush open calls and close every file
      tcpdump.kill("SIGTERM");
      const [liveOut] = await Promise.all([live.output(), tcpdump.status]);
      const stderr = new TextDecoder().decode(liveOut.stderr);
      assert.equal(liveOut.code, 0, stderr);
      assert.match(stderr, /stopped: \d+ packets/);

      const fromLive = JSON.parse(await Deno.readTextFile(`${dir}/live.json`));
      const analyzer = new Analyzer();
      assert.ok(await analyzer.analyzeFile(`${dir}/same.pcap`));
      const fromFile = analyzer.report();
      assert.equal(fromFile.calls.length, 3);
      const key = (c: { callId: string }) => c.callId;
      const pick = (c: Record<string, unknown>) => ({
        callId: c.callId,
        state: c.state,
        caller: (c.caller as { user: string }).user,
        callee: (c.callee as { user: string }).user,
        finalStatus: c.finalStatus,
        endedBy: c.endedBy,
        messages: c.messages,
        streams: c.streams,
      });
      const sort = (list: Record<string, unknown>[]) =>
        [...list].sort((a, b) =>
          key(a as { callId: string }).localeCompare(key(b as { callId: string }))
        );
      assert.deepEqual(
        sort(fromLive.calls).map(pick),
        sort(fromFile.calls as unknown as Record<string, unknown>[]).map(pick),
      );
      // Live capture keeps nanoseconds; tcpdump's file has microseconds: times agree within 1 µs.
      const liveCalls = sort(fromLive.calls);
      const fileCalls = sort(fromFile.calls as unknown as Record<string, unknown>[]);
      for (const [i, c] of liveCalls.entries()) {
        for (const field of ["startTs", "answerTs", "endTs"]) {
          const a = c[field] as number;
          const b = fileCalls[i]![field] as number;
          assert.ok(Math.abs(a - b) < 1.5e-6, `${field}: ${a} vs ${b}`);
        }
      }
      const streamKey = (s: { id: string; packets: number; lost: number }) =>
        `${s.id} ${s.packets} ${s.lost}`;
      assert.deepEqual(
        fromLive.streams.map(streamKey).sort(),
        fromFile.streams.map(streamKey).sort(),
      );
      assert.ok(fromFile.streams.some((s) => s.packets > 100), "RTP was captured");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
