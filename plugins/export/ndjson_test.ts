import assert from "node:assert/strict";
import { Analyzer } from "../../engine/analyzer.ts";
import { PluginHost, PluginLoadError } from "../host.ts";
import { selectEventTypes } from "./ndjson.ts";

const SEED = new URL("../../fixtures/seed/", import.meta.url).pathname;

Deno.test("ndjson: type lists take exact names and prefixes; unknown names are refused", async () => {
  assert.deepEqual(selectEventTypes(["sip.response", "sip.request"]), [
    "sip.request",
    "sip.response",
  ]);
  assert.equal(selectEventTypes(["call.*"]).length, 8);
  assert.equal(selectEventTypes(undefined).length, 19);
  assert.throws(() => selectEventTypes(["sip.requests"]), /no event type 'sip.requests'/);
  assert.throws(() => selectEventTypes("sip.request"), /must be a list/);
  await assert.rejects(
    () =>
      PluginHost.load(new Analyzer(), [{ use: "ndjson", options: { file: "-", types: ["nope"] } }]),
    PluginLoadError,
  );
});

Deno.test("ndjson: a type list limits the lines, in the order events happen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/events.ndjson`;
    const analyzer = new Analyzer();
    const host = await PluginHost.load(analyzer, [
      { use: "ndjson", options: { file, types: ["call.*"] } },
    ]);
    assert.ok(await analyzer.analyzeFile(`${SEED}5-sequential.pcapng`));
    const report = analyzer.report();
    await host.close();
    const lines = (await Deno.readTextFile(file)).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.every((l) => l.type.startsWith("call.")));
    const completed = lines.filter((l) => l.type === "call.completed");
    assert.deepEqual(completed.map((l) => l.leg.id), report.calls.map((c) => c.id));
    for (let i = 1; i < lines.length; i++) {
      assert.ok(lines[i].ts >= lines[i - 1].ts - 2, "events out of order");
    }
    const started = lines.filter((l) => l.type === "call.started").map((l) => l.leg.id);
    assert.deepEqual(new Set(started), new Set(report.calls.map((c) => c.id)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ndjson: '-' streams to standard output (through the command line), one JSON object a line", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      main,
      "analyze",
      "--no-progress",
      "--export",
      "ndjson:-",
      `${SEED}1-normal.pcapng`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n").map((l) =>
    JSON.parse(l)
  );
  const analyzer = new Analyzer();
  assert.ok(await analyzer.analyzeFile(`${SEED}1-normal.pcapng`));
  const report = analyzer.report();
  const requests = Object.values(report.summary.sip.requests).reduce((a, b) => a + b, 0);
  assert.ok(requests > 0);
  assert.equal(lines.filter((l) => l.type === "sip.request").length, requests);
  assert.equal(
    lines.filter((l) => l.type === "sip.request" || l.type === "sip.response").length,
    report.summary.sip.messages,
  );
  assert.equal(lines.filter((l) => l.type === "call.completed").length, report.calls.length);
});
