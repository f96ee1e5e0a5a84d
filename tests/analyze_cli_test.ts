/**
 * `packetwave analyze` as a user runs it: the text tables on the bundled
 * seed captures, and `--rows`, which keeps the tables (and the memory they
 * take) bounded on long captures.
 */
import assert from "node:assert/strict";
import { cli, type CliResult, ROOT } from "./support/cli.ts";

function analyze(...args: string[]): Promise<CliResult> {
  return cli("analyze", "--no-progress", ...args);
}

/** A table of the output: its heading line and its rows (a time, then two spaces, at the start). */
function table(stdout: string, title: string): { heading: string; rows: string[] } {
  const lines = stdout.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`${title}: `));
  assert.ok(at >= 0, `no table ${title}`);
  const rows: string[] = [];
  // The heading line, then the column titles, then rows indented by two spaces.
  for (const line of lines.slice(at + 2)) {
    if (!/^ {2}\d\d:\d\d:\d\d\.\d{3} {2}/.test(line)) break;
    rows.push(line);
  }
  return { heading: lines[at]!, rows };
}

Deno.test("analyze: the seed captures' tables, every row by start time", async () => {
  const r = await analyze();
  assert.equal(r.code, 0, r.stderr);
  const logical = table(r.stdout, "Logical calls");
  assert.equal(logical.heading, "Logical calls: 6");
  assert.deepEqual(
    logical.rows.map((row) => row.split(/\s{2,}/)[2]),
    ["normal", "transfer", "pickup", "conference", "normal", "sequential-ring"],
  );
  const legs = table(r.stdout, "Call legs");
  const count = Number(legs.heading.match(/^Call legs: (\d+)$/)?.[1]);
  assert.ok(count >= 9, legs.heading);
  assert.equal(legs.rows.length, count);
  const starts = legs.rows.map((row) => row.trim().slice(0, 12));
  assert.deepEqual(starts, [...starts].sort());
  const streams = table(r.stdout, "RTP streams");
  assert.equal(streams.rows.length, Number(streams.heading.match(/^RTP streams: (\d+)$/)?.[1]));
});

Deno.test("analyze: --rows keeps the first rows by start time and says how many there are", async () => {
  const all = await analyze();
  const two = await analyze("--rows", "2");
  assert.equal(two.code, 0, two.stderr);
  for (const title of ["Logical calls", "Call legs", "RTP streams"]) {
    const full = table(all.stdout, title);
    const cut = table(two.stdout, title);
    const total = full.heading.match(/: (\d+)/)![1];
    assert.equal(
      cut.heading,
      `${title}: ${total} (the first 2 by start time; --rows 0 shows all, --json or --export csv every field)`,
    );
    // The same first rows as the whole table (column widths may differ: compare cells).
    const cells = (row: string) => row.trim().split(/\s{2,}/);
    assert.deepEqual(cut.rows.map(cells), full.rows.slice(0, 2).map(cells), title);
  }
  const none = await analyze("--rows", "0");
  assert.equal(none.stdout, all.stdout);
});

Deno.test("analyze: a bad --rows is a usage error", async () => {
  for (const bad of ["-1", "2.5", "many"]) {
    const r = await analyze(`--rows=${bad}`, `${ROOT}fixtures/seed/1-normal.pcapng`);
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /--rows wants a whole number, 0 or more/);
  }
});
