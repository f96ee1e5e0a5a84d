import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Analyzer } from "../../engine/analyzer.ts";
import { PluginHost, PluginLoadError } from "../host.ts";
import { openCallDatabase, SQLITE_SCHEMA_VERSION, SqliteSchemaError } from "./sqlite.ts";

const SIPP = new URL("../../fixtures/sipp/", import.meta.url).pathname;

function count(db: DatabaseSync, sql: string, ...params: (string | number)[]): number {
  return Number(db.prepare(sql).get(...params)!.n);
}

Deno.test("sqlite: a new database gets the schema and its version; the same version is reused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/calls.db`;
    openCallDatabase(file).close();
    const db = openCallDatabase(file);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all().map((r) => String(r.name));
    for (
      const t of ["dtmf", "legs", "logical_calls", "registrations", "relations", "runs", "streams"]
    ) {
      assert.ok(tables.includes(t), `no table ${t}`);
    }
    assert.equal(count(db, "SELECT COUNT(*) AS n FROM schema_version"), 1);
    assert.equal(count(db, "SELECT version AS n FROM schema_version"), SQLITE_SCHEMA_VERSION);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all()
      .map((r) => String(r.name));
    for (const i of ["legs_call_id", "legs_start_ts", "legs_real_caller", "logical_calls_caller"]) {
      assert.ok(indexes.includes(i), `no index ${i}`);
    }
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: a newer schema, an empty version table or a foreign database is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const newer = `${dir}/newer.db`;
    const db = openCallDatabase(newer);
    db.exec(`UPDATE schema_version SET version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => openCallDatabase(newer),
      (e: unknown) =>
        e instanceof SqliteSchemaError && e.found === SQLITE_SCHEMA_VERSION + 1 &&
        /schema version 2 is newer than this packetwave's \(1\)/.test(e.message),
    );
    const empty = `${dir}/empty.db`;
    openCallDatabase(empty).close();
    const e2 = new DatabaseSync(empty);
    e2.exec("DELETE FROM schema_version");
    e2.close();
    assert.throws(() => openCallDatabase(empty), /schema_version table is empty/);
    const foreign = `${dir}/foreign.db`;
    const f = new DatabaseSync(foreign);
    f.exec("CREATE TABLE customers (id INTEGER)");
    f.close();
    assert.throws(() => openCallDatabase(foreign), /not a packetwave database/);
    // Refused through the host too, with the reason in the load error.
    await assert.rejects(
      () => PluginHost.load(new Analyzer(), [{ use: "sqlite", options: { file: newer } }]),
      (e: unknown) => e instanceof PluginLoadError && /newer than this packetwave/.test(e.message),
    );
    // And the refused file is untouched.
    const check = new DatabaseSync(newer);
    assert.equal(count(check, "SELECT COUNT(*) AS n FROM runs"), 0);
    check.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: without rules, legs, streams, DTMF and registrations of real sipp calls", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/calls.db`;
    const analyzer = new Analyzer();
    const host = await PluginHost.load(analyzer, [
      { use: "sqlite", options: { file, inputs: ["answered_udp.pcap", "auth_udp.pcap"] } },
    ]);
    assert.ok(await analyzer.analyzeFile(`${SIPP}answered_udp.pcap`));
    assert.ok(await analyzer.analyzeFile(`${SIPP}auth_udp.pcap`));
    const report = analyzer.report();
    await host.close();
    assert.equal(host.reports[0]!.errors, 0);
    const db = new DatabaseSync(file);
    assert.equal(count(db, "SELECT COUNT(*) AS n FROM legs"), report.calls.length);
    assert.equal(count(db, "SELECT COUNT(*) AS n FROM streams"), report.streams.length);
    assert.equal(count(db, "SELECT COUNT(*) AS n FROM registrations"), 1);
    assert.equal(count(db, "SELECT COUNT(*) AS n FROM logical_calls"), 0);
    assert.equal(count(db, "SELECT COUNT(*) AS n FROM legs WHERE logical_id IS NULL"), 3);
    const digits =
      db.prepare("SELECT group_concat(digit, '') AS d FROM (SELECT digit FROM dtmf ORDER BY ts)")
        .get()!.d;
    assert.equal(digits, "159#159#");
    for (const call of report.calls) {
      const row = db.prepare("SELECT * FROM legs WHERE id = ?").get(call.id)!;
      assert.equal(row.call_id, call.callId);
      assert.equal(row.wire_caller, call.caller.user);
      assert.equal(row.real_caller, call.caller.user);
      assert.equal(row.caller_name, "Alice");
      assert.equal(row.messages, call.messages);
      assert.equal(row.start_ts, call.startTs);
      assert.equal(row.final_status, call.finalStatus);
    }
    const packets = report.streams.reduce((n, s) => n + s.packets, 0);
    assert.equal(count(db, "SELECT SUM(packets) AS n FROM streams"), packets);
    const run = db.prepare("SELECT * FROM runs").get()!;
    // The host's summary names the inputs as they were given; it wins over the option.
    assert.equal(
      run.inputs,
      JSON.stringify([`${SIPP}answered_udp.pcap`, `${SIPP}auth_udp.pcap`]),
    );
    assert.equal(run.rules, 0);
    assert.equal(run.legs, 3);
    assert.ok(String(run.finished_at) >= String(run.started_at));
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
