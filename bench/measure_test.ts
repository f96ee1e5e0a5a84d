import assert from "node:assert/strict";
import { measureSipParse } from "./measure.ts";

Deno.test("sip-parse finds every SIP message tshark counts and reports per-message costs", async () => {
  const capture = new URL("../fixtures/sipp/answered_udp.pcap", import.meta.url).pathname;
  const reference = await Deno.readTextFile(`${capture}.sipstat.txt`);
  const counted = Number(/Number of SIP messages: (\d+)/.exec(reference)?.[1]);
  const cost = await measureSipParse(capture, 3);
  assert.equal(cost.messages, counted);
  assert.ok(cost.microsPerMessage > 0 && cost.microsPerMessage < 10_000);
});
