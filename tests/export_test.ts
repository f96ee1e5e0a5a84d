/**
 * The export plugins end to end, on real data: the seed scenarios with the
 * shipped rules (the pickup leg's REAL caller in JSON, CSV and SQLite, with
 * the wire values beside it), a capture full of hostile text (spreadsheet
 * formulas, HTML, a path as Call-ID), SQLite appended across runs, NDJSON
 * against the analyzer's counts, per-call pcap files read back by tshark
 * (exactly the call's SIP messages and RTP packets), and ladder diagrams.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Analyzer } from "../engine/analyzer.ts";
import type { AnalysisReport } from "../engine/report.ts";
import type { LogicalCallRecord } from "../engine/rules/logical_calls.ts";
import { loadRules } from "../engine/rules/rule_set.ts";
import { loadSite, type Site } from "../engine/rules/site.ts";
import { PluginHost, PluginLoadError } from "../plugins/host.ts";
import type { PluginConfig } from "../plugins/plugin.ts";
import { CSV_COLUMNS } from "../plugins/export/csv.ts";
import type { JsonExportReport } from "../plugins/export/json.ts";
import { SQLITE_SCHEMA_VERSION } from "../plugins/export/sqlite.ts";
import { checkWellFormed, parseCsv } from "../plugins/export/testing_formats.ts";
import {
  HOSTILE_DISPLAY_NAME,
  type HostileCapture,
  writeHostileCapture,
} from "../plugins/export/testing_hostile.ts";
import { HAS_TSHARK, tsharkView } from "../plugins/export/testing_tshark.ts";

const SEED = new URL("../fixtures/seed/", import.meta.url).pathname;
const REALSTACK = new URL("../fixtures/realstack/", import.meta.url).pathname;
const SIPP = new URL("../fixtures/sipp/", import.meta.url).pathname;
const SHARED = new URL("../../shared/captures/", import.meta.url).pathname;
const SAFE_FILE = /^\d{8}-\d{6}_[A-Za-z0-9+\-_.]+\.(pcap|pcapng|html|svg)$/;

if (!HAS_TSHARK) console.warn("export_test: tshark not found, skipping the pcap checks by tshark");

let rulesCache: { rules: Awaited<ReturnType<typeof loadRules>>["rules"]; site: Site } | null = null;

async function shippedRules() {
  if (rulesCache) return rulesCache;
  const { site, errors: siteErrors } = await loadSite();
  const { rules, errors } = await loadRules([], site);
  assert.deepEqual([...siteErrors, ...errors].map(String), []);
  return rulesCache = { rules, site };
}

/** Every export at once into a fresh directory. */
function allExports(dir: string): PluginConfig[] {
  return [
    { use: "json", options: { file: `${dir}/report.json` } },
    { use: "ndjson", options: { file: `${dir}/events.ndjson` } },
    { use: "csv", options: { file: `${dir}/calls.csv` } },
    { use: "sqlite", options: { file: `${dir}/calls.db` } },
    { use: "pcap", options: { dir: `${dir}/pcap` } },
    { use: "ladder", options: { dir: `${dir}/ladder` } },
  ];
}

/** Runs captures through the analyzer with plugins; rules on unless `rules: false`. */
async function run(
  files: string[],
  plugins: PluginConfig[],
  options: { rules?: boolean } = {},
): Promise<{ report: AnalysisReport; host: PluginHost }> {
  const rules = options.rules === false ? undefined : await shippedRules();
  const analyzer = new Analyzer({ rules });
  const host = await PluginHost.load(analyzer, plugins, { site: rules?.site ?? null });
  for (const file of files) assert.ok(await analyzer.analyzeFile(file), file);
  const report = analyzer.report();
  await host.close();
  for (const r of host.reports) assert.equal(r.errors, 0, `${r.name}: ${r.firstError}`);
  return { report, host };
}

function csvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  assert.deepEqual(header, [...CSV_COLUMNS]);
  return rows.map((row) => {
    assert.equal(row.length, header!.length);
    return Object.fromEntries(header!.map((name, i) => [name, row[i]!]));
  });
}

Deno.test("exports: the pickup leg's REAL caller, beside its wire parties, in JSON, CSV and SQLite", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { report } = await run([`${SEED}3-pickup.pcapng`], allExports(dir));
    const [call] = report.logicalCalls;
    assert.equal(report.logicalCalls.length, 1);
    assert.equal(call!.scenario, "pickup");

    // JSON: the report's shape, the same records as the analyzer's own report.
    const json = JSON.parse(await Deno.readTextFile(`${dir}/report.json`)) as JsonExportReport;
    assert.deepEqual(json.calls, JSON.parse(JSON.stringify(report.calls)));
    assert.deepEqual(json.streams, JSON.parse(JSON.stringify(report.streams)));
    assert.deepEqual(json.registrations, JSON.parse(JSON.stringify(report.registrations)));
    assert.deepEqual(json.logicalCalls, JSON.parse(JSON.stringify(report.logicalCalls)));
    assert.deepEqual(json.summary.sip, report.summary.sip);
    assert.equal(json.summary.media.rtpPackets, report.summary.media.rtpPackets);
    const jsonLeg = (json.logicalCalls[0] as LogicalCallRecord).legs.find((l) =>
      l.wire.callee === "*8"
    )!;
    assert.equal(jsonLeg.realCaller, "01077141436");
    assert.deepEqual(jsonLeg.wire, { caller: "109Q1428", callee: "*8" });

    // CSV: the real caller beside the wire caller and callee.
    const rows = csvRecords(await Deno.readTextFile(`${dir}/calls.csv`));
    assert.equal(rows.length, 2);
    const pickup = rows.find((r) => r.wire_callee === "*8")!;
    assert.equal(pickup.real_caller, "01077141436");
    assert.equal(pickup.real_callee, "1428");
    assert.equal(pickup.wire_caller, "109Q1428");
    assert.equal(pickup.call_caller, "01077141436");
    assert.equal(pickup.call_callee, "1428");
    assert.equal(pickup.answered_by, "1428");
    assert.equal(pickup.hung_up_by, "01077141436");
    assert.equal(pickup.scenarios, "pickup");
    assert.equal(pickup.relation, "picked-up-from");
    assert.equal(pickup.logical_id, call!.id);
    assert.equal(pickup.state, "ended");
    assert.equal(pickup.final_status, "200");
    assert.equal(pickup.codec, "PCMU/8000");
    assert.equal(pickup.packets, "548");
    assert.equal(pickup.loss_pct, "0");
    const ringing = rows.find((r) => r !== pickup)!;
    assert.equal(ringing.state, "cancelled");
    assert.equal(ringing.final_status, "487");
    assert.equal(ringing.wire_callee, "109Q1427");

    // SQLite: legs with real, per-side and wire parties; the logical call and its relation.
    const db = new DatabaseSync(`${dir}/calls.db`);
    const leg = db.prepare("SELECT * FROM legs WHERE wire_callee = ?").get("*8")!;
    assert.equal(leg.real_caller, "01077141436");
    assert.equal(leg.wire_caller, "109Q1428");
    assert.equal(leg.party_caller, "1428");
    assert.equal(leg.party_callee, "01077141436");
    assert.equal(leg.logical_id, call!.id);
    assert.equal(leg.caller_name, "07086661428,1428");
    const lc = db.prepare("SELECT * FROM logical_calls").get()!;
    assert.equal(lc.scenario, "pickup");
    assert.equal(lc.caller, "01077141436");
    assert.equal(JSON.parse(String(lc.pickup)).code, "*8");
    const rel = db.prepare("SELECT * FROM relations").get()!;
    assert.equal(rel.relation, "picked-up-from");
    assert.equal(rel.from_leg, leg.id);
    const byNumber = db.prepare(
      "SELECT COUNT(*) AS n FROM legs WHERE real_caller = '01077141436'",
    ).get()!;
    assert.equal(byNumber.n, 2);
    assert.equal(db.prepare("SELECT COUNT(*) AS n FROM registrations").get()!.n, 2);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exports: hostile text is neutralized in CSV, escaped in diagrams, safe in file names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const capture: HostileCapture = await writeHostileCapture(`${dir}/hostile.pcap`);
    const out = `${dir}/out`;
    await Deno.mkdir(out);
    await run([capture.path], allExports(out));

    const [row] = csvRecords(await Deno.readTextFile(`${out}/calls.csv`));
    assert.equal(row!.wire_caller_name, `'${HOSTILE_DISPLAY_NAME}`);
    assert.equal(row!.call_id, capture.callId);
    const raw = await Deno.readTextFile(`${out}/calls.csv`);
    assert.ok(raw.includes(`"'=HYPERLINK(""http://evil.example/"",""click"")"`));

    for (const sub of ["pcap", "ladder"]) {
      const names = [...Deno.readDirSync(`${out}/${sub}`)].map((e) => e.name);
      assert.equal(names.length, 1, `${sub}: ${names}`);
      assert.match(names[0]!, SAFE_FILE);
    }
    // Nothing escaped the output directories (the Call-ID is ../../evil<script>@...).
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["hostile.pcap", "out"],
    );
    const [page] = [...Deno.readDirSync(`${out}/ladder`)];
    const html = await Deno.readTextFile(`${out}/ladder/${page!.name}`);
    checkWellFormed(html);
    assert.ok(!/<script|<img|onerror=alert\(2\)>/i.test(html.replace(/&lt;[^;]*;/g, "")));
    assert.ok(!html.includes("<script"), "a <script> from the wire reached the page");
    assert.ok(
      html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"),
      "User-Agent not shown escaped",
    );
    assert.ok(html.includes("&lt;/td&gt;&lt;img src=x onerror=alert(2)&gt;"), "Server not shown");
    assert.ok(html.includes("180 Ringing &lt;script&gt;alert(3)&lt;/script&gt;"));

    // NDJSON keeps the hostile header names as plain strings in [name, value] pairs.
    const lines = (await Deno.readTextFile(`${out}/events.ndjson`)).trimEnd().split("\n")
      .map((l) => JSON.parse(l));
    const invite = lines.find((l) => l.type === "sip.request" && l.method === "INVITE");
    assert.deepEqual(
      invite.headers.filter(([n]: [string]) => n === "__proto__" || n === "constructor"),
      [["__proto__", '{"polluted":true}'], ["constructor", "prototype"]],
    );
    assert.equal(lines.filter((l) => l.type === "sip.request").length, capture.requests);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exports: SQLite appends across runs, one runs row each, and checks the schema version", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/calls.db`;
    const plugins: PluginConfig[] = [{ use: "sqlite", options: { file } }];
    const first = await run([`${SEED}2-transfer.pcapng`, `${SEED}4-conference.pcapng`], plugins);
    const count = (sql: string) => {
      const db = new DatabaseSync(file);
      try {
        return Number(db.prepare(sql).get()!.n);
      } finally {
        db.close();
      }
    };
    const legs = count("SELECT COUNT(*) AS n FROM legs");
    const logical = count("SELECT COUNT(*) AS n FROM logical_calls");
    const streams = count("SELECT COUNT(*) AS n FROM streams");
    assert.equal(legs, first.report.calls.length);
    assert.equal(logical, first.report.logicalCalls.length);
    assert.equal(streams, first.report.streams.length);
    assert.equal(count("SELECT COUNT(*) AS n FROM legs WHERE logical_id IS NULL"), 0);
    await run([`${SEED}2-transfer.pcapng`, `${SEED}4-conference.pcapng`], plugins);
    assert.equal(count("SELECT COUNT(*) AS n FROM runs"), 2);
    assert.equal(count("SELECT COUNT(*) AS n FROM legs"), 2 * legs);
    assert.equal(count("SELECT COUNT(*) AS n FROM logical_calls"), 2 * logical);
    assert.equal(count("SELECT COUNT(*) AS n FROM streams"), 2 * streams);
    assert.equal(count("SELECT COUNT(*) AS n FROM legs WHERE run_id = 2"), legs);
    assert.equal(count("SELECT COUNT(*) AS n FROM runs WHERE finished_at IS NULL"), 0);
    assert.equal(count("SELECT COUNT(*) AS n FROM schema_version"), 1);
    assert.equal(count("SELECT MAX(version) AS n FROM schema_version"), SQLITE_SCHEMA_VERSION);
    // A database written by a newer packetwave is refused, and left as it is.
    const db = new DatabaseSync(file);
    db.exec(`INSERT INTO schema_version VALUES (${SQLITE_SCHEMA_VERSION + 1}, 'later')`);
    db.close();
    await assert.rejects(
      () => PluginHost.load(new Analyzer(), plugins),
      (e: unknown) =>
        e instanceof PluginLoadError &&
        /Cannot use database .*calls\.db: its schema version 2 is newer/.test(e.message),
    );
    assert.equal(count("SELECT COUNT(*) AS n FROM runs"), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exports: NDJSON lines all parse, and sip.request lines equal the analyzer's request count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = [
      `${SEED}2-transfer.pcapng`,
      `${SIPP}answered_tcp.pcap`,
      `${REALSTACK}4-conference.pcap`,
    ];
    for (const name of ["heplify__sip_tcp_websocket.pcap", "heplify__sip_ipv6.pcap"]) {
      try {
        await Deno.stat(`${SHARED}${name}`);
        files.push(`${SHARED}${name}`);
      } catch {
        console.warn(`export_test: ${SHARED}${name} is not there, left out`);
      }
    }
    const file = `${dir}/events.ndjson`;
    const { report } = await run(files, [{ use: "ndjson", options: { file } }]);
    const text = await Deno.readTextFile(file);
    assert.ok(text.endsWith("\n"));
    const lines = text.slice(0, -1).split("\n").map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (error) {
        throw new Error(`line ${i + 1} is not JSON: ${(error as Error).message}`);
      }
    });
    const requests = Object.values(report.summary.sip.requests).reduce((a, b) => a + b, 0);
    const responses = Object.values(report.summary.sip.responses).reduce((a, b) => a + b, 0);
    assert.ok(requests > 50);
    assert.equal(lines.filter((l) => l.type === "sip.request").length, requests);
    assert.equal(lines.filter((l) => l.type === "sip.response").length, responses);
    assert.equal(lines.filter((l) => l.type === "call.completed").length, report.calls.length);
    assert.equal(
      lines.filter((l) => l.type === "logical.completed").length,
      report.logicalCalls.length,
    );
    assert.equal(lines.filter((l) => l.type === "rtp.stream.ended").length, report.streams.length);
    const byMethod = new Map<string, number>();
    for (const l of lines) {
      if (l.type === "sip.request") byMethod.set(l.method, (byMethod.get(l.method) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(byMethod), report.summary.sip.requests);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exports: CSV and NDJSON are written while the capture is read, not only at the end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const analyzer = new Analyzer();
    const host = await PluginHost.load(analyzer, [
      { use: "csv", options: { file: `${dir}/calls.csv` } },
      { use: "ndjson", options: { file: `${dir}/events.ndjson`, types: ["call.completed"] } },
    ]);
    // The busy leg of the sequential-ring scenario completes long before the capture ends.
    assert.ok(await analyzer.analyzeFile(`${SEED}5-sequential.pcapng`));
    const csvBefore = parseCsv(await Deno.readTextFile(`${dir}/calls.csv`));
    const ndjsonBefore = (await Deno.readTextFile(`${dir}/events.ndjson`)).split("\n").length - 1;
    const report = analyzer.report();
    await host.close();
    const csvAfter = parseCsv(await Deno.readTextFile(`${dir}/calls.csv`));
    assert.ok(csvBefore.length >= 2, "no CSV row before the end of the analysis");
    assert.ok(ndjsonBefore >= 1, "no NDJSON line before the end of the analysis");
    assert.equal(csvAfter.length - 1, report.calls.length);
    assert.deepEqual(csvAfter.slice(0, csvBefore.length), csvBefore);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const PCAP_CAPTURES = [
  ...["1-normal", "2-transfer", "3-pickup", "4-conference", "5-sequential"].flatMap((s) => [
    `${SEED}${s}.pcapng`,
    `${SEED}${s}-variant.pcapng`,
    `${REALSTACK}${s}.pcap`,
  ]),
];

Deno.test({
  name:
    "exports: per-call pcap files hold exactly each logical call's SIP messages and RTP packets (tshark)",
  ignore: !HAS_TSHARK,
  fn: async () => {
    for (const capture of PCAP_CAPTURES) {
      const dir = await Deno.makeTempDir();
      try {
        const { report } = await run([capture], [{ use: "pcap", options: { dir } }]);
        const files = [...Deno.readDirSync(dir)].map((e) => e.name);
        assert.equal(files.length, report.logicalCalls.length, `${capture}: ${files}`);
        for (const name of files) assert.match(name, SAFE_FILE);
        for (const call of report.logicalCalls) {
          const name = files.find((f) => f.includes(call.id.replace(/[^A-Za-z0-9+\-_.]/g, "_")));
          assert.ok(name, `${capture}: no file for ${call.id}`);
          const view = await tsharkView(`${dir}/${name}`);
          const legIds = new Set(call.legs.map((l) => l.id));
          const legs = report.calls.filter((c) => legIds.has(c.id));
          const messages = legs.reduce((n, l) => n + l.messages, 0);
          assert.equal(view.sip.messages, messages, `${capture} ${call.id}: SIP messages`);
          const streams = report.streams.filter((s) => s.legId !== null && legIds.has(s.legId));
          const packets = streams.reduce((n, s) => n + s.packets, 0);
          assert.equal(view.frames, messages + packets, `${capture} ${call.id}: frames`);
          for (const s of streams) {
            const theirs = view.streams.find((t) =>
              t.ssrc === s.ssrc && t.srcIp === s.src.ip && t.srcPort === s.src.port &&
              t.dstPort === s.dst.port
            );
            assert.ok(theirs, `${capture}: tshark has no stream ${s.id}`);
            assert.equal(theirs.packets, s.packets, `${capture}: ${s.id}`);
          }
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test("exports: ladder pages are well-formed and list every SIP message of their call", async () => {
  for (const scenario of ["2-transfer", "4-conference", "5-sequential-variant"]) {
    const dir = await Deno.makeTempDir();
    try {
      const { report } = await run([`${SEED}${scenario}.pcapng`], [
        { use: "ladder", options: { dir } },
        { use: "ladder", options: { dir: `${dir}/svg`, format: "svg" } },
      ]);
      const pages = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
      assert.equal(pages.length, report.logicalCalls.length);
      for (const call of report.logicalCalls) {
        const name = pages.find((f) => f.includes(call.id.replace(/[^A-Za-z0-9+\-_.]/g, "_")))!;
        assert.match(name, SAFE_FILE);
        const elements = checkWellFormed(await Deno.readTextFile(`${dir}/${name}`));
        const legIds = new Set(call.legs.map((l) => l.id));
        const messages = report.calls.filter((c) => legIds.has(c.id)).reduce(
          (n, c) => n + c.messages,
          0,
        );
        const arrows = elements.filter((e) =>
          e.name === "g" && e.attributes.some(([k, v]) => k === "class" && v === "msg")
        );
        const rows = elements.filter((e) =>
          e.name === "tr" && e.attributes.some(([k, v]) => k === "class" && v === "message")
        );
        assert.equal(arrows.length, messages, `${scenario}: arrows`);
        assert.equal(rows.length, messages, `${scenario}: table rows`);
        const holds = report.calls.filter((c) => legIds.has(c.id)).reduce(
          (n, c) => n + c.holds.length,
          0,
        );
        const bands = elements.filter((e) =>
          e.name === "rect" && e.attributes.some(([k, v]) => k === "class" && v === "hold")
        );
        assert.equal(bands.length, holds, `${scenario}: hold bands`);
        const streams = elements.filter((e) =>
          e.name === "text" && e.attributes.some(([k, v]) => k === "class" && v === "stream")
        );
        assert.equal(
          streams.length,
          report.streams.filter((s) => s.legId !== null && legIds.has(s.legId) && s.packets > 0)
            .length,
        );
      }
      const svgs = [...Deno.readDirSync(`${dir}/svg`)].map((e) => e.name);
      assert.equal(svgs.length, report.logicalCalls.length);
      for (const name of svgs) {
        assert.ok(name.endsWith(".svg"));
        checkWellFormed(await Deno.readTextFile(`${dir}/svg/${name}`));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
