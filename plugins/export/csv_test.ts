import assert from "node:assert/strict";
import { Analyzer } from "../../engine/analyzer.ts";
import { PluginHost } from "../host.ts";
import { CSV_COLUMNS, csvField, csvRow } from "./csv.ts";
import { parseCsv } from "./testing_formats.ts";

const SIPP = new URL("../../fixtures/sipp/", import.meta.url).pathname;

Deno.test("csv: fields are quoted per RFC 4180 and formula starts are neutralized", () => {
  const hostile = [
    '=HYPERLINK("http://x","y")',
    "+1-555",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "plain 한글",
    "",
  ];
  const line = csvRow([...hostile, -1.5, 0, 200, null]);
  assert.ok(line.endsWith("\r\n"));
  const [row] = parseCsv(line);
  assert.deepEqual(row, [
    `'=HYPERLINK("http://x","y")`,
    "'+1-555",
    "'-2+3",
    "'@SUM(A1)",
    "'\tTAB",
    "'\rCR",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "plain 한글",
    "",
    "-1.5",
    "0",
    "200",
    "",
  ]);
  assert.equal(csvField(Number.NaN), "");
  assert.equal(csvField("x=1"), "x=1");
});

Deno.test("csv: without rules, one row per leg as it completes, with media columns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/calls.csv`;
    const analyzer = new Analyzer();
    const host = await PluginHost.load(analyzer, [{ use: "csv", options: { file } }]);
    assert.ok(await analyzer.analyzeFile(`${SIPP}hold_udp.pcap`));
    const report = analyzer.report();
    await host.close();
    const rows = parseCsv(await Deno.readTextFile(file));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length - 1, report.calls.length);
    const col = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    for (const call of report.calls) {
      const row = rows.find((r) => r[col("leg_id")] === call.id)!;
      assert.ok(row, `no row for ${call.id}`);
      assert.equal(row[col("logical_id")], "");
      assert.equal(row[col("wire_caller")], call.caller.user ?? "");
      assert.equal(row[col("real_caller")], call.caller.user ?? "");
      assert.equal(row[col("state")], call.state);
      assert.equal(row[col("start_utc")], new Date(Math.round(call.startTs * 1000)).toISOString());
      const streams = report.streams.filter((s) => s.legId === call.id);
      const packets = streams.reduce((n, s) => n + s.packets, 0);
      assert.equal(Number(row[col("packets")]), packets);
      assert.ok(packets > 0);
      const jitter = Math.max(...streams.map((s) => s.maxJitterMs));
      assert.ok(Math.abs(Number(row[col("max_jitter_ms")]) - jitter) < 0.006);
      assert.ok(Number(row[col("mos")]) > 1 && Number(row[col("mos")]) <= 4.5);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
