import assert from "node:assert/strict";
import { writeBenchCapture } from "../tools/synth/bench_capture.ts";
import { measureAllocation, measureSipParse } from "./measure.ts";

Deno.test("sip-parse finds every SIP message tshark counts and reports per-message costs", async () => {
  const capture = new URL("../fixtures/sipp/answered_udp.pcap", import.meta.url).pathname;
  const reference = await Deno.readTextFile(`${capture}.sipstat.txt`);
  const counted = Number(/Number of SIP messages: (\d+)/.exec(reference)?.[1]);
  const cost = await measureSipParse(capture, 3);
  assert.equal(cost.messages, counted);
  assert.ok(cost.microsPerMessage > 0 && cost.microsPerMessage < 10_000);
});

Deno.test("allocation: bytes per frame of a generated capture, without and with the rules", async () => {
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await writeBenchCapture(file, { calls: 30, talkSeconds: 6, concurrent: 10, seed: 3 });
    for (const withRules of [false, true]) {
      // Short intervals: the test runs without the flags that keep collections away.
      const a = await measureAllocation(file, withRules, 256);
      assert.ok(a.packets > 10_000, `${a.packets} frames`);
      assert.ok(a.bytesPerPacket > 10 && a.bytesPerPacket < 10_000, `${a.bytesPerPacket} B`);
    }
  } finally {
    await Deno.remove(file);
  }
});
