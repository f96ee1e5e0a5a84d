/**
 * Rules must not invent links: concurrent unrelated calls (a generated
 * capture of many overlapping calls through one server) stay apart, and
 * plain calls made by sipp are classified as normal or unanswered only.
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import { loadRules } from "../engine/rules/rule_set.ts";
import { loadSite } from "../engine/rules/site.ts";
import { writeBenchCapture } from "../tools/synth/bench_capture.ts";

const { site } = await loadSite();
const { rules } = await loadRules([], site);

async function logicalCalls(path: string) {
  const analyzer = new Analyzer({ rules: { rules, site } });
  assert.ok(await analyzer.analyzeFile(path));
  return analyzer.report();
}

Deno.test("negative: 40 overlapping calls from 40 phones through one server are 40 normal calls", async () => {
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const written = await writeBenchCapture(file, {
      calls: 40,
      talkSeconds: 4,
      concurrent: 12,
      seed: 7,
    });
    assert.equal(written.calls, 40);
    const report = await logicalCalls(file);
    assert.equal(report.calls.length, 40);
    assert.equal(report.logicalCalls.length, 40);
    for (const call of report.logicalCalls) {
      assert.equal(call.legs.length, 1, JSON.stringify(call.relations));
      assert.deepEqual(call.scenarios, ["normal"]);
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("negative: plain sipp calls are normal or unanswered, never linked", async () => {
  const dir = new URL("../fixtures/sipp/", import.meta.url).pathname;
  for (const entry of Deno.readDirSync(dir)) {
    if (!/\.pcap(ng)?$/.test(entry.name)) continue;
    const report = await logicalCalls(`${dir}${entry.name}`);
    assert.equal(report.logicalCalls.length, report.calls.length, entry.name);
    for (const call of report.logicalCalls) {
      assert.equal(call.relations.length, 0, entry.name);
      const expected = call.answerTs === null ? "unanswered" : "normal";
      assert.deepEqual(call.scenarios, [expected], entry.name);
    }
  }
});
