import assert from "node:assert/strict";
import { RecordSpool } from "./spool.ts";

function filesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name);
}

Deno.test("records past the threshold go to disk and come back in order", () => {
  const dir = Deno.makeTempDirSync();
  const spool = new RecordSpool<{ n: number; text: string }>(10, dir);
  const records = Array.from({ length: 5000 }, (_, n) => ({ n, text: `r${n}\n"é"`.repeat(n % 7) }));
  for (const r of records) spool.push(r);
  assert.equal(spool.length, 5000);
  assert.deepEqual(spool.toArray(), records);
  assert.equal(filesIn(dir).length, 1);
  // Walking twice gives the same records (the file is read again).
  assert.equal([...spool].length, 5000);
  spool.dispose();
  assert.deepEqual(filesIn(dir), []);
  Deno.removeSync(dir);
});

Deno.test("a spool under its threshold writes no file", () => {
  const dir = Deno.makeTempDirSync();
  const spool = new RecordSpool<number>(100, dir);
  for (let i = 0; i < 100; i++) spool.push(i);
  assert.equal(spool.toArray().length, 100);
  assert.deepEqual(filesIn(dir), []);
  spool.dispose();
  Deno.removeSync(dir);
});

Deno.test("a record changed after it was spilled keeps the value it had", () => {
  const dir = Deno.makeTempDirSync();
  const spool = new RecordSpool<{ v: number }>(0, dir);
  const record = { v: 1 };
  spool.push(record);
  record.v = 2;
  assert.deepEqual(spool.toArray(), [{ v: 1 }]);
  spool.dispose();
  Deno.removeSync(dir);
});

Deno.test("jsonTexts gives each record's JSON text as JSON.stringify writes it, at any indent", () => {
  const dir = Deno.makeTempDirSync();
  const spool = new RecordSpool<{ n: number; text: string; list: number[] }>(3, dir);
  // A record separator and a newline inside a value must not split a spilled record.
  const records = Array.from(
    { length: 20 },
    (_, n) => ({ n, text: `a\x1e\nb${"é".repeat(n)}`, list: [n, n + 1] }),
  );
  for (const r of records) spool.push(r);
  for (const indent of [0, 2, 4]) {
    assert.deepEqual(
      [...spool.jsonTexts(indent)],
      records.map((r) => JSON.stringify(r, null, indent)),
    );
  }
  assert.deepEqual(spool.toArray(), records);
  spool.dispose();
  Deno.removeSync(dir);
});
