/**
 * The `sqlite` export: an embedded call-record database through Node's
 * built-in `node:sqlite` (no server to run). The schema is in
 * {@link SQLITE_SCHEMA} and documented table by table in SCHEMA.md.
 *
 * The database is created when absent and appended to across runs: each
 * analysis adds one row to `runs` and tags every row it writes with that
 * run's id. An existing database is reused when its `schema_version` is
 * this one; a newer version is refused with a clear error (the factory
 * throws, so the host reports the plugin as not loadable), and a file that
 * holds other tables but no `schema_version` is refused too.
 *
 * Rows are inserted in transactions: one is opened at the first write and
 * committed after {@link SQLITE_BATCH_ROWS} rows or as soon as the current
 * batch of frames is done, whichever comes first, so a reader sees finished
 * calls promptly while the analysis pays few commits.
 *
 * ```ts
 * import type { PluginConfig } from "../plugin.ts";
 * const config: PluginConfig = { use: "sqlite", options: { file: "calls.db" } };
 * ```
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { CallRecord } from "../../engine/calls/leg.ts";
import type { Registration } from "../../engine/calls/registrations.ts";
import type { RtpStreamRecord } from "../../engine/calls/stream.ts";
import type { LogicalCallRecord, LogicalLeg } from "../../engine/rules/logical_calls.ts";
import type { Plugin, PluginFactory } from "../plugin.ts";
import { hostSummary, optionOf, requireString, rulesRunning } from "./common.ts";
import { isoTime } from "./serialize.ts";

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = 1;

/** Rows inserted before a transaction is committed (it is also committed after each batch of frames). */
export const SQLITE_BATCH_ROWS = 2000;

/** The schema (version {@link SQLITE_SCHEMA_VERSION}); every statement is idempotent. */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS schema_version (
  version    INTEGER NOT NULL,
  applied_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  inputs      TEXT,
  site        TEXT,
  rules       INTEGER NOT NULL,
  legs        INTEGER NOT NULL DEFAULT 0,
  logical_calls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS logical_calls (
  run_id       INTEGER NOT NULL REFERENCES runs(id),
  id           TEXT NOT NULL,
  scenario     TEXT,
  scenarios    TEXT NOT NULL,
  labels       TEXT NOT NULL,
  caller       TEXT,
  callee       TEXT,
  answered_by  TEXT,
  hung_up_by   TEXT,
  start_ts     REAL NOT NULL,
  start_time   TEXT,
  answer_ts    REAL,
  end_ts       REAL,
  transfer     TEXT,
  pickup       TEXT,
  hunt         TEXT,
  conference   TEXT,
  talks        TEXT NOT NULL,
  rules        TEXT NOT NULL,
  PRIMARY KEY (run_id, id)
);
CREATE TABLE IF NOT EXISTS legs (
  run_id        INTEGER NOT NULL REFERENCES runs(id),
  id            TEXT NOT NULL,
  logical_id    TEXT,
  call_id       TEXT NOT NULL,
  state         TEXT NOT NULL,
  real_caller   TEXT,
  real_callee   TEXT,
  party_caller  TEXT,
  party_callee  TEXT,
  wire_caller   TEXT,
  wire_callee   TEXT,
  caller_name   TEXT,
  callee_name   TEXT,
  caller_uri    TEXT,
  callee_uri    TEXT,
  request_uri   TEXT,
  dialled       TEXT,
  caller_ip     TEXT,
  caller_port   INTEGER,
  callee_ip     TEXT,
  callee_port   INTEGER,
  transport     TEXT,
  start_ts      REAL NOT NULL,
  start_time    TEXT,
  ringing_ts    REAL,
  answer_ts     REAL,
  end_ts        REAL,
  setup_seconds REAL,
  talk_seconds  REAL,
  duration      REAL,
  ended_by      TEXT,
  end_method    TEXT,
  final_status  INTEGER,
  final_reason  TEXT,
  codecs        TEXT NOT NULL,
  messages      INTEGER NOT NULL,
  holds         TEXT NOT NULL,
  refers        TEXT NOT NULL,
  user_agents   TEXT NOT NULL,
  open_at_end   INTEGER NOT NULL,
  record        INTEGER,
  PRIMARY KEY (run_id, id)
);
CREATE TABLE IF NOT EXISTS relations (
  run_id     INTEGER NOT NULL REFERENCES runs(id),
  logical_id TEXT NOT NULL,
  from_leg   TEXT NOT NULL,
  to_leg     TEXT NOT NULL,
  relation   TEXT NOT NULL,
  rule       TEXT
);
CREATE TABLE IF NOT EXISTS streams (
  run_id          INTEGER NOT NULL REFERENCES runs(id),
  id              TEXT NOT NULL,
  leg_id          TEXT,
  direction       TEXT,
  signalled       INTEGER NOT NULL,
  src_ip          TEXT NOT NULL,
  src_port        INTEGER NOT NULL,
  dst_ip          TEXT NOT NULL,
  dst_port        INTEGER NOT NULL,
  ssrc            TEXT NOT NULL,
  codecs          TEXT NOT NULL,
  packets         INTEGER NOT NULL,
  expected        INTEGER NOT NULL,
  lost            INTEGER NOT NULL,
  lost_percent    REAL NOT NULL,
  duplicates      INTEGER NOT NULL,
  out_of_order    INTEGER NOT NULL,
  max_delta_ms    REAL NOT NULL,
  max_jitter_ms   REAL NOT NULL,
  mean_jitter_ms  REAL NOT NULL,
  first_ts        REAL NOT NULL,
  last_ts         REAL NOT NULL,
  mos             REAL,
  r_factor        REAL
);
CREATE TABLE IF NOT EXISTS registrations (
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  ts          REAL NOT NULL,
  aor         TEXT NOT NULL,
  user        TEXT,
  contact     TEXT,
  contact_ip  TEXT,
  contact_port INTEGER,
  source_ip   TEXT NOT NULL,
  source_port INTEGER NOT NULL,
  expires     INTEGER,
  status      TEXT NOT NULL,
  status_code INTEGER NOT NULL,
  challenged  INTEGER NOT NULL,
  call_id     TEXT NOT NULL,
  user_agent  TEXT
);
CREATE TABLE IF NOT EXISTS dtmf (
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  leg_id      TEXT NOT NULL,
  ts          REAL NOT NULL,
  digit       TEXT NOT NULL,
  duration_ms INTEGER,
  side        TEXT NOT NULL,
  source      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS legs_call_id ON legs(call_id);
CREATE INDEX IF NOT EXISTS legs_start_ts ON legs(start_ts);
CREATE INDEX IF NOT EXISTS legs_logical_id ON legs(logical_id);
CREATE INDEX IF NOT EXISTS legs_real_caller ON legs(real_caller);
CREATE INDEX IF NOT EXISTS legs_real_callee ON legs(real_callee);
CREATE INDEX IF NOT EXISTS legs_wire_caller ON legs(wire_caller);
CREATE INDEX IF NOT EXISTS legs_wire_callee ON legs(wire_callee);
CREATE INDEX IF NOT EXISTS logical_calls_start_ts ON logical_calls(start_ts);
CREATE INDEX IF NOT EXISTS logical_calls_caller ON logical_calls(caller);
CREATE INDEX IF NOT EXISTS logical_calls_callee ON logical_calls(callee);
CREATE INDEX IF NOT EXISTS relations_logical_id ON relations(logical_id);
CREATE INDEX IF NOT EXISTS streams_leg_id ON streams(leg_id);
CREATE INDEX IF NOT EXISTS streams_first_ts ON streams(first_ts);
CREATE INDEX IF NOT EXISTS registrations_user ON registrations(user);
CREATE INDEX IF NOT EXISTS registrations_ts ON registrations(ts);
CREATE INDEX IF NOT EXISTS dtmf_leg_id ON dtmf(leg_id);
`;

/** The database cannot be used: a newer schema, or not a packetwave database. */
export class SqliteSchemaError extends Error {
  /** The database file. */
  readonly file: string;
  /** The version found, or `null` when there is none. */
  readonly found: number | null;

  /**
   * @param file The database file.
   * @param found The version found, or `null`.
   * @param reason What is wrong.
   */
  constructor(file: string, found: number | null, reason: string) {
    super(`Cannot use database ${file}: ${reason}`);
    this.name = "SqliteSchemaError";
    this.file = file;
    this.found = found;
  }
}

/** Options of the `sqlite` export. */
export interface SqliteExportOptions {
  /** Database file (created when absent). */
  file: string;
  /** Input names to record in `runs.inputs` when the host does not tell them. */
  inputs?: string[];
  /** Wait for logical calls (default: when the host was given a site, i.e. rules run). */
  logical?: boolean;
}

/**
 * Opens (or creates) a call-record database and checks its schema.
 *
 * @param file The database path (`:memory:` for a database in memory).
 * @returns The open database, with the schema in place.
 * @throws {SqliteSchemaError} On a newer schema version or a foreign database.
 */
export function openCallDatabase(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    // With WAL, commits need no fsync of their own: a crash of packetwave loses nothing
    // committed, a power loss at most the last commits.
    db.exec("PRAGMA synchronous = NORMAL");
    const tables = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    ).all().map((r) => String(r.name));
    if (tables.length > 0 && !tables.includes("schema_version")) {
      throw new SqliteSchemaError(
        file,
        null,
        "it is not a packetwave database (no schema_version)",
      );
    }
    if (tables.includes("schema_version")) {
      const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get();
      const found = row?.v === null || row?.v === undefined ? null : Number(row.v);
      if (found === null) {
        throw new SqliteSchemaError(file, null, "its schema_version table is empty");
      }
      if (found > SQLITE_SCHEMA_VERSION) {
        throw new SqliteSchemaError(
          file,
          found,
          `its schema version ${found} is newer than this packetwave's (${SQLITE_SCHEMA_VERSION})`,
        );
      }
      if (found < SQLITE_SCHEMA_VERSION) {
        throw new SqliteSchemaError(
          file,
          found,
          `its schema version ${found} is older than this packetwave's (${SQLITE_SCHEMA_VERSION}) and cannot be upgraded`,
        );
      }
      return db;
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("BEGIN");
    db.exec(SQLITE_SCHEMA);
    db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)").run(
      SQLITE_SCHEMA_VERSION,
      new Date().toISOString(),
    );
    db.exec("COMMIT");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

type Value = string | number | null;

function json(value: unknown): string {
  return JSON.stringify(value);
}

function flag(value: boolean | null | undefined): number | null {
  return value === null || value === undefined ? null : value ? 1 : 0;
}

/** Prepared inserts of one run. */
class Writer {
  readonly #db: DatabaseSync;
  readonly #runId: number;
  readonly #legs: StatementSync;
  readonly #logical: StatementSync;
  readonly #relation: StatementSync;
  readonly #stream: StatementSync;
  readonly #registration: StatementSync;
  readonly #dtmf: StatementSync;
  #inTransaction = false;
  #rows = 0;
  #scheduled = false;
  /** Legs written. */
  legCount = 0;
  /** Logical calls written. */
  logicalCount = 0;

  constructor(db: DatabaseSync, runId: number) {
    this.#db = db;
    this.#runId = runId;
    const insert = (table: string, columns: string[]) =>
      db.prepare(
        `INSERT INTO ${table} (run_id, ${columns.join(", ")}) VALUES (?${
          ", ?".repeat(columns.length)
        })`,
      );
    this.#legs = insert("legs", [
      "id",
      "logical_id",
      "call_id",
      "state",
      "real_caller",
      "real_callee",
      "party_caller",
      "party_callee",
      "wire_caller",
      "wire_callee",
      "caller_name",
      "callee_name",
      "caller_uri",
      "callee_uri",
      "request_uri",
      "dialled",
      "caller_ip",
      "caller_port",
      "callee_ip",
      "callee_port",
      "transport",
      "start_ts",
      "start_time",
      "ringing_ts",
      "answer_ts",
      "end_ts",
      "setup_seconds",
      "talk_seconds",
      "duration",
      "ended_by",
      "end_method",
      "final_status",
      "final_reason",
      "codecs",
      "messages",
      "holds",
      "refers",
      "user_agents",
      "open_at_end",
      "record",
    ]);
    this.#logical = insert("logical_calls", [
      "id",
      "scenario",
      "scenarios",
      "labels",
      "caller",
      "callee",
      "answered_by",
      "hung_up_by",
      "start_ts",
      "start_time",
      "answer_ts",
      "end_ts",
      "transfer",
      "pickup",
      "hunt",
      "conference",
      "talks",
      "rules",
    ]);
    this.#relation = insert("relations", ["logical_id", "from_leg", "to_leg", "relation", "rule"]);
    this.#stream = insert("streams", [
      "id",
      "leg_id",
      "direction",
      "signalled",
      "src_ip",
      "src_port",
      "dst_ip",
      "dst_port",
      "ssrc",
      "codecs",
      "packets",
      "expected",
      "lost",
      "lost_percent",
      "duplicates",
      "out_of_order",
      "max_delta_ms",
      "max_jitter_ms",
      "mean_jitter_ms",
      "first_ts",
      "last_ts",
      "mos",
      "r_factor",
    ]);
    this.#registration = insert("registrations", [
      "ts",
      "aor",
      "user",
      "contact",
      "contact_ip",
      "contact_port",
      "source_ip",
      "source_port",
      "expires",
      "status",
      "status_code",
      "challenged",
      "call_id",
      "user_agent",
    ]);
    this.#dtmf = insert("dtmf", [
      "leg_id",
      "ts",
      "digit",
      "duration_ms",
      "side",
      "source",
    ]);
  }

  leg(
    r: CallRecord,
    logicalId: string | null,
    entry: LogicalLeg | null,
    flags: { record: boolean | null; realCaller: string | null; realCallee: string | null },
  ): void {
    this.#row(this.#legs, [
      r.id,
      logicalId,
      r.callId,
      r.state,
      entry?.realCaller ?? flags.realCaller ?? r.caller.user,
      entry?.realCallee ?? flags.realCallee ?? r.callee.user,
      entry?.parties.caller ?? null,
      entry?.parties.callee ?? null,
      r.caller.user,
      r.callee.user,
      r.caller.displayName,
      r.callee.displayName,
      r.caller.uri,
      r.callee.uri,
      r.requestUri,
      r.dialled,
      r.callerAddress.ip,
      r.callerAddress.port,
      r.calleeAddress.ip,
      r.calleeAddress.port,
      r.transport,
      r.startTs,
      isoTime(r.startTs),
      r.ringingTs,
      r.answerTs,
      r.endTs,
      r.setupDelay,
      r.talkTime,
      r.duration,
      r.endedBy,
      r.endMethod,
      r.finalStatus,
      r.finalReason,
      json(r.codecs),
      r.messages,
      json(r.holds),
      json(r.refers),
      json(r.userAgents),
      r.openAtEnd ? 1 : 0,
      flag(entry?.record ?? flags.record),
    ]);
    for (const d of r.dtmf) {
      this.#row(this.#dtmf, [r.id, d.ts, d.digit, d.durationMs, d.from, d.source]);
    }
    this.legCount++;
  }

  logical(c: LogicalCallRecord): void {
    this.#row(this.#logical, [
      c.id,
      c.scenario,
      json(c.scenarios),
      json(c.labels),
      c.caller,
      c.callee,
      c.answeredBy,
      c.hungUpBy,
      c.startTs,
      isoTime(c.startTs),
      c.answerTs,
      c.endTs,
      c.transfer ? json(c.transfer) : null,
      c.pickup ? json(c.pickup) : null,
      c.hunt ? json(c.hunt) : null,
      c.conference ? json(c.conference) : null,
      json(c.talks),
      json(c.rules),
    ]);
    for (const r of c.relations) {
      this.#row(this.#relation, [c.id, r.from, r.to, r.relation, r.rule]);
    }
    this.logicalCount++;
  }

  stream(s: RtpStreamRecord): void {
    this.#row(this.#stream, [
      s.id,
      s.legId,
      s.direction,
      s.signalled ? 1 : 0,
      s.src.ip,
      s.src.port,
      s.dst.ip,
      s.dst.port,
      s.ssrcHex,
      json(s.codecs),
      s.packets,
      s.expected,
      s.lost,
      s.lostPercent,
      s.duplicates,
      s.outOfOrder,
      s.maxDeltaMs,
      s.maxJitterMs,
      s.meanJitterMs,
      s.firstArrival,
      s.lastArrival,
      s.mos?.mos ?? null,
      s.mos?.rFactor ?? null,
    ]);
  }

  registration(r: Registration): void {
    this.#row(this.#registration, [
      r.ts,
      r.aor,
      r.user,
      r.contact,
      r.contactAddress?.ip ?? null,
      r.contactAddress?.port ?? null,
      r.source.ip,
      r.source.port,
      r.expires,
      r.status,
      r.statusCode,
      r.challenged ? 1 : 0,
      r.callId,
      r.userAgent,
    ]);
  }

  /** Commits the open transaction, if any. */
  commit(): void {
    if (!this.#inTransaction) return;
    this.#inTransaction = false;
    this.#rows = 0;
    this.#db.exec("COMMIT");
  }

  #row(statement: StatementSync, values: Value[]): void {
    if (!this.#inTransaction) {
      this.#db.exec("BEGIN");
      this.#inTransaction = true;
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.#scheduled = false;
          if (this.#db.isOpen) this.commit();
        });
      }
    }
    statement.run(this.#runId, ...values);
    if (++this.#rows >= SQLITE_BATCH_ROWS) this.commit();
  }
}

/**
 * Makes the `sqlite` export.
 *
 * @param options `file` (required), `inputs`, `logical`.
 * @param context The plugin context.
 * @returns The plugin.
 * @throws {SqliteSchemaError} When the database has a newer or foreign schema.
 */
const sqliteExport: PluginFactory<SqliteExportOptions> = (options, context) => {
  const file = requireString(options, "file", "sqlite");
  const logical = rulesRunning(context, optionOf(options, "logical"));
  const givenInputs = optionOf(options, "inputs");
  const db = openCallDatabase(file);
  const started = db.prepare(
    "INSERT INTO runs (started_at, site, rules) VALUES (?, ?, ?)",
  ).run(new Date().toISOString(), context.site?.file ?? null, logical ? 1 : 0);
  const runId = Number(started.lastInsertRowid);
  const writer = new Writer(db, runId);
  /** Completed legs waiting for their logical call (with rules). */
  const held = new Map<string, CallRecord>();

  const plugin: Plugin = {
    name: "sqlite",
    on: {
      "call.completed": function legCompleted(e) {
        const record = e.leg.toJSON();
        if (logical) held.set(record.id, record);
        else writer.leg(record, null, null, context.legFlags(record.id));
      },
      "logical.completed": function logicalCompleted(e) {
        writer.logical(e.call);
        for (const entry of e.call.legs) {
          const record = held.get(entry.id);
          if (!record) continue;
          held.delete(entry.id);
          writer.leg(record, e.call.id, entry, NO_FLAGS);
        }
      },
      "rtp.stream.ended": function addStream(e) {
        writer.stream(e.stream);
      },
      "registration": function addRegistration(e) {
        writer.registration(e.registration);
      },
    },
    close() {
      try {
        for (const record of held.values()) writer.leg(record, null, null, NO_FLAGS);
        held.clear();
        const inputs = hostSummary(context)?.inputs.map((i) => i.name) ??
          (Array.isArray(givenInputs) ? givenInputs.map(String) : null);
        db.prepare(
          "UPDATE runs SET finished_at = ?, inputs = ?, legs = ?, logical_calls = ? WHERE id = ?",
        ).run(
          new Date().toISOString(),
          inputs ? JSON.stringify(inputs) : null,
          writer.legCount,
          writer.logicalCount,
          runId,
        );
        writer.commit();
      } finally {
        db.close();
      }
    },
  };
  return plugin;
};

const NO_FLAGS = { record: null, realCaller: null, realCallee: null };

export default sqliteExport;
