/**
 * Real calls made by sipp on loopback (fixtures/sipp/, made by
 * tools/sipp/make_captures.sh): SIP counts and RTP streams against tshark,
 * and call states, hold, DTMF, early media and who hung up against the
 * scenario design recorded in fixtures/sipp/MANIFEST.json.
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import { assertSipCounts, assertStreamsMatch } from "./support/compare.ts";

const DIR = new URL("../fixtures/sipp/", import.meta.url).pathname;

interface ExpectedCall {
  from: string;
  to: string;
  finalStatus: number;
  answered: boolean;
  endedBy: "caller" | "callee" | null;
  cancelledBy: "caller" | "callee" | null;
  authChallenge: number | null;
  holdIntervals: number;
  earlyMedia: boolean;
  dtmf: string;
  rtp: { direction: string; src: string; dst: string; ssrc: string; packets: number }[];
}

interface Capture {
  file: string;
  shape: string;
  expectedCalls: ExpectedCall[];
}

const manifest: { captures: Capture[] } = JSON.parse(
  await Deno.readTextFile(`${DIR}MANIFEST.json`),
);

function user(uri: string): string {
  return uri.replace(/^sips?:/, "").split("@")[0]!;
}

for (const capture of manifest.captures) {
  Deno.test(`sipp ${capture.shape}: ${capture.file}`, async () => {
    const analyzer = new Analyzer();
    assert.ok(await analyzer.analyzeFile(`${DIR}${capture.file}`));
    const report = analyzer.report();
    assertSipCounts(report, await Deno.readTextFile(`${DIR}${capture.file}.sipstat.txt`));
    assertStreamsMatch(report, await Deno.readTextFile(`${DIR}${capture.file}.rtpstreams.txt`));

    const calls = [...report.calls].sort((a, b) => a.startTs - b.startTs);
    assert.equal(calls.length, capture.expectedCalls.length);
    for (const [i, want] of capture.expectedCalls.entries()) {
      const call = calls[i]!;
      const where = `call ${i + 1} (${call.callId})`;
      assert.equal(call.caller.user, user(want.from), `${where} caller`);
      assert.equal(call.callee.user, user(want.to), `${where} callee`);
      assert.equal(call.finalStatus, want.finalStatus, `${where} final status`);
      assert.equal(call.answerTs !== null, want.answered, `${where} answered`);
      const state = want.answered
        ? "ended"
        : { 486: "busy", 487: "cancelled", 603: "rejected" }[want.finalStatus];
      assert.equal(call.state, state, `${where} state`);
      // Nobody sent BYE or CANCEL on a refused call: the callee ended it with its final response.
      assert.equal(call.endedBy, want.endedBy ?? want.cancelledBy ?? "callee", `${where} ended by`);
      if (want.cancelledBy) assert.equal(call.endMethod, "CANCEL");
      else if (want.answered) assert.equal(call.endMethod, "BYE");
      else assert.equal(call.endMethod, "response");
      assert.equal(
        call.attempts.find((a) => a.challenged)?.status ?? null,
        want.authChallenge,
        `${where} auth`,
      );
      assert.equal(call.holds.length, want.holdIntervals, `${where} holds`);
      for (const hold of call.holds) {
        assert.ok(hold.resumed && hold.end! > hold.start, `${where} hold resumed after it began`);
      }
      assert.equal(call.earlyMediaTs !== null, want.earlyMedia, `${where} early media`);
      assert.equal(call.dtmf.map((d) => d.digit).join(""), want.dtmf, `${where} DTMF`);
      if (want.answered) {
        assert.ok(call.talkTime! > 0 && call.setupDelay! > 0, `${where} talk and setup times`);
        assert.ok(Math.abs(call.duration - (call.endTs! - call.startTs)) < 1e-9);
      }
      for (const rtp of want.rtp) {
        const id = `${rtp.src}>${rtp.dst}/${rtp.ssrc}`;
        const stream = report.streams.find((s) => s.id === id);
        assert.ok(stream, `${where} stream ${id}`);
        assert.equal(stream.legId, call.id, `${id} bound to its call`);
        assert.equal(stream.packets, rtp.packets, `${id} packets`);
        assert.equal(
          stream.direction,
          rtp.direction === "caller->callee" ? "caller-to-callee" : "callee-to-caller",
        );
        assert.ok(call.streams.includes(id));
      }
    }
  });
}

Deno.test("sipp impaired: loss, duplicates and reordering show in the statistics", async () => {
  const analyzer = new Analyzer();
  await analyzer.analyzeFile(`${DIR}answered_udp_impaired.pcap`);
  const streams = analyzer.report().streams;
  const callee = streams.filter((s) => s.ssrc >>> 24 === 0xb0);
  assert.ok(callee.length > 0);
  for (const s of callee) {
    // 4 dropped, 2 duplicated: lost = 4 - 2 = 2 as tshark counts it.
    assert.equal(s.lost, 2);
    assert.equal(s.duplicates, 2);
    assert.ok(s.outOfOrder >= 2, `out of order ${s.outOfOrder}`);
    assert.ok(s.problems);
    assert.ok(s.maxJitterMs > 0);
    assert.ok(s.mos !== null && s.mos.mos < 4.41, "loss lowers the MOS estimate");
  }
});
