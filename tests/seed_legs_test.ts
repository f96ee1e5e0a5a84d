/**
 * Call legs, registrations and media of the seed-scenario captures, checked
 * against the expected results written by hand from the user's scenario
 * report (fixtures/seed/expected/*.json; see fixtures/seed/README.md).
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import type { AnalysisReport } from "../engine/report.ts";

const SEED = new URL("../fixtures/seed/", import.meta.url).pathname;

interface ExpectedLeg {
  callId: string;
  from: string;
  to: string;
  state: "answered" | "cancelled" | "busy";
  endedBy: "caller" | "callee";
  challenged?: number;
  holds?: { by: "caller" | "callee"; resumed: boolean; at?: string; until?: string }[];
  media?: { codec: string; phone: string; server: string };
}

interface Expected {
  capture: string;
  legs: ExpectedLeg[];
  registrations: { user: string; contact: string; expires: number }[];
  sipMessages: Record<string, number>;
}

const files = [...Deno.readDirSync(`${SEED}expected`)].map((e) => e.name).filter((n) =>
  n.endsWith(".json")
).sort();

for (const file of files) {
  const expected: Expected = JSON.parse(await Deno.readTextFile(`${SEED}expected/${file}`));
  Deno.test(`seed legs: ${expected.capture}`, async () => {
    const analyzer = new Analyzer();
    assert.ok(await analyzer.analyzeFile(`${SEED}${expected.capture}`));
    const report: AnalysisReport = analyzer.report();
    assert.equal(report.calls.length, expected.legs.length, "one leg per expected leg");
    for (const want of expected.legs) {
      const leg = report.calls.find((c) => c.callId === want.callId);
      assert.ok(leg, `leg ${want.callId}`);
      const where = `${want.callId}:`;
      assert.equal(leg.caller.user, want.from, `${where} caller`);
      assert.equal(leg.callee.user, want.to, `${where} callee`);
      if (want.state === "answered") {
        assert.notEqual(leg.answerTs, null, `${where} answered`);
        assert.equal(leg.state, "ended", `${where} state`);
      } else {
        assert.equal(leg.state, want.state, `${where} state`);
        assert.equal(leg.answerTs, null, `${where} not answered`);
      }
      assert.equal(leg.endedBy, want.endedBy, `${where} ended by`);
      const challenged = leg.attempts.find((a) => a.challenged);
      assert.equal(challenged?.status, want.challenged, `${where} challenge`);
      assert.deepEqual(
        leg.holds.map((h) => ({ by: h.by, resumed: h.resumed })),
        (want.holds ?? []).map((h) => ({ by: h.by, resumed: h.resumed })),
        `${where} holds`,
      );
      for (const [i, h] of (want.holds ?? []).entries()) {
        const got = leg.holds[i]!;
        if (h.at) {
          assert.ok(Math.abs(got.start - Date.parse(h.at) / 1000) < 0.001, `${where} hold start`);
        }
        if (h.until) {
          assert.ok(Math.abs(got.end! - Date.parse(h.until) / 1000) < 0.001, `${where} hold end`);
        }
      }
      if (want.media) {
        assert.ok(
          leg.codecs.some((c) => c.startsWith(`${want.media!.codec}/`)),
          `${where} codec ${leg.codecs}`,
        );
        const streams = report.streams.filter((s) => s.legId === leg.id && s.packets > 0);
        const ends = streams.map((s) => `${s.src.ip}:${s.src.port}>${s.dst.ip}:${s.dst.port}`);
        assert.ok(
          ends.includes(`${want.media.phone}>${want.media.server}`),
          `${where} phone→server ${ends}`,
        );
        assert.ok(
          ends.includes(`${want.media.server}>${want.media.phone}`),
          `${where} server→phone ${ends}`,
        );
        for (const s of streams) assert.equal(s.lost, 0, `${s.id} lost`);
      }
    }
    for (const want of expected.registrations) {
      const got = report.registrations.find((r) =>
        r.user === want.user && r.status === "registered"
      );
      assert.ok(got, `registration of ${want.user}`);
      assert.equal(got.contact, want.contact);
      assert.equal(got.expires, want.expires);
    }
    const counts = { ...report.summary.sip.requests, ...report.summary.sip.responses };
    assert.deepEqual(counts, expected.sipMessages);
  });
}
