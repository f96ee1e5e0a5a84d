/**
 * `packetwave analyze [FILE...]`: runs the pipeline over capture files and
 * prints what it found, as text or (`--json`) as JSON on stdout.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Analyzer } from "../engine/analyzer.ts";
import type { AnalysisSummary } from "../engine/summary.ts";
import { renderCalls, renderLogicalCalls, renderStreams } from "./calls_table.ts";
import { loadRulesAndSite, printRuleErrors } from "./rules_loading.ts";
import { PluginHost, PluginLoadError } from "../plugins/host.ts";
import { PluginArgumentError, pluginsFromArgs } from "./plugins_loading.ts";
import { writePieces } from "../engine/json_writer.ts";
import { ProgressBar } from "./progress.ts";
import { formatBytes, renderTable } from "./table.ts";
import { Earliest } from "./earliest.ts";
import type { CallRecord } from "../engine/calls/leg.ts";
import type { RtpStreamRecord } from "../engine/calls/stream.ts";
import type { LogicalCallRecord } from "../engine/rules/logical_calls.ts";

/** Rows per table of the text output, unless `--rows` says otherwise. */
export const DEFAULT_ROWS = 1000;

/** Directory of the captures analyzed when no file is given. */
export const DEFAULT_CAPTURE_DIR = new URL("../fixtures/seed/", import.meta.url);

const USAGE = `Usage: packetwave analyze [options] [FILE...]

Analyzes pcap/pcapng captures (gzip-compressed too; - reads stdin).
With no FILE, analyzes the bundled captures in fixtures/seed/.

Options:
  --json          print the report (summary, calls, logical calls, streams,
                  registrations) as JSON
  --rules PATH    rule file or directory (repeatable; default: the shipped rules/)
  --site FILE     site file (default: rules/site.yaml)
  --no-rules      do not classify calls (no logical calls)
  --record DIR    record every call to WAV files in DIR
  --export KIND:TARGET
                  export records as they complete (repeatable): json:FILE,
                  ndjson:FILE (- for stdout), csv:FILE, sqlite:FILE,
                  pcap:DIR (per-call pcap), ladder:DIR (call-flow diagrams),
                  hep:HOST:PORT (HEP v3 to a Homer collector)
  --plugins FILE  load the plugins a YAML file lists (plugins: [{ use, options }])
  --rows N        rows per table in the text output (default ${DEFAULT_ROWS};
                  0: all of them, held in memory)
  --no-progress   never draw a progress bar
  -h, --help      show this help`;

/**
 * Runs the analyze command.
 *
 * @param args Arguments after `analyze`.
 * @returns The process exit code: 0, 1 when an input could not be read, 2 on bad usage.
 */
export async function analyzeCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        rules: { type: "string", multiple: true },
        site: { type: "string" },
        "no-rules": { type: "boolean", default: false },
        record: { type: "string" },
        export: { type: "string", multiple: true },
        plugins: { type: "string" },
        rows: { type: "string", default: String(DEFAULT_ROWS) },
        "no-progress": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`packetwave analyze: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const rowsValue = Number(parsed.values.rows);
  if (!Number.isInteger(rowsValue) || rowsValue < 0) {
    console.error(`packetwave analyze: --rows wants a whole number, 0 or more\n\n${USAGE}`);
    return 2;
  }
  const rowsLimit = rowsValue === 0 ? Infinity : rowsValue;
  const files = parsed.positionals.length > 0 ? parsed.positionals : await defaultCaptures();
  if (files.length === 0) {
    console.error(`packetwave analyze: no file given and no bundled capture found\n\n${USAGE}`);
    return 2;
  }
  let rules;
  if (!parsed.values["no-rules"]) {
    const loaded = await loadRulesAndSite(parsed.values.rules ?? [], parsed.values.site);
    if (loaded.errors.length > 0) {
      printRuleErrors("analyze", loaded.errors);
      return 1;
    }
    rules = { rules: loaded.rules, site: loaded.site };
  }
  const bar = new ProgressBar(parsed.values["no-progress"] ? false : undefined);
  const analyzer = new Analyzer({
    onProgress: (done, total, name) => bar.update(done, total, name),
    rules,
  });
  let host: PluginHost;
  try {
    const configs = await pluginsFromArgs(parsed.values);
    host = await PluginHost.load(analyzer, configs, { site: rules?.site ?? null });
  } catch (error) {
    if (!(error instanceof PluginArgumentError || error instanceof PluginLoadError)) throw error;
    console.error(`packetwave analyze: ${error.message}`);
    return 1;
  }
  let failed = false;
  for (const file of files) {
    if (!(await analyzer.analyzeFile(file))) failed = true;
  }
  const summary = analyzer.finish();
  await host.close();
  bar.clear();
  // An export to stdout (ndjson:-) owns stdout; the text summary then goes to stderr.
  const out = (parsed.values.export ?? []).some((e) => e.endsWith(":-"))
    ? (line: string) => console.error(line)
    : (line: string) => console.log(line);
  for (const input of summary.inputs) {
    if (input.error) {
      console.error(`packetwave analyze: ${input.name}: ${input.error}`);
      failed = true;
    }
  }
  if (parsed.values.json) {
    // Written record by record: a long capture's report is never one string.
    writePieces(analyzer.reportPieces(host.reports), Deno.stdout);
    writePieces(["\n"], Deno.stdout);
  } else {
    out(renderSummary(summary));
    const tables = firstRows(analyzer, rowsLimit);
    const more = (shown: number, total: number) =>
      shown < total
        ? ` (the first ${shown} by start time; --rows 0 shows all, --json or --export csv every field)`
        : "";
    const { logicalCalls, calls, streams, streamsOfCalls, totals } = tables;
    if (totals.logicalCalls > 0) {
      out(
        `\nLogical calls: ${totals.logicalCalls}${
          more(logicalCalls.length, totals.logicalCalls)
        }\n` +
          renderLogicalCalls(logicalCalls),
      );
    }
    if (totals.calls > 0) {
      out(
        `\nCall legs: ${totals.calls}${more(calls.length, totals.calls)}\n` +
          renderCalls(calls, streamsOfCalls),
      );
    }
    if (totals.streams > 0) {
      out(
        `\nRTP streams: ${totals.streams}${more(streams.length, totals.streams)}\n` +
          renderStreams(streams),
      );
    }
    if (totals.calls > 0 || totals.streams > 0) {
      out(
        "\n* MOS is an ITU-T G.107 E-model estimate from loss and jitter, not a measurement.",
      );
    }
  }
  analyzer.dispose();
  for (const p of host.reports) {
    if (p.errors > 0) {
      console.error(
        `packetwave analyze: plugin ${p.name} failed ${p.errors} time(s)` +
          `${p.disabled ? " and was switched off" : ""}: ${p.firstError}`,
      );
    }
  }
  return failed ? 1 : 0;
}

/** The rows the text tables show, and how many there are in all. */
export interface TableRows {
  /** Logical calls shown, by start time. */
  logicalCalls: LogicalCallRecord[];
  /** Call legs shown, by start time. */
  calls: CallRecord[];
  /** RTP streams shown, by first packet. */
  streams: RtpStreamRecord[];
  /** The streams of the calls shown, by id. */
  streamsOfCalls: Map<string, RtpStreamRecord>;
  /** How many records each list has. */
  totals: { logicalCalls: number; calls: number; streams: number };
}

/**
 * Picks what the text tables show: the first `limit` records of each list by
 * start time, read one at a time from the report's lists, so memory does
 * not grow with the capture.
 *
 * @param analyzer A finished analyzer.
 * @param limit Rows per table (`Infinity`: all).
 * @returns The rows, and the totals.
 */
export function firstRows(analyzer: Analyzer, limit: number): TableRows {
  const lists = analyzer.records();
  const logical = new Earliest<LogicalCallRecord>(limit, (c) => c.startTs);
  for (const c of lists.logicalCalls) logical.push(c);
  const legs = new Earliest<CallRecord>(limit, (c) => c.startTs);
  for (const c of lists.calls) legs.push(c);
  const calls = legs.sorted();
  const wanted = new Set(calls.flatMap((c) => c.streams));
  const streams = new Earliest<RtpStreamRecord>(limit, (s) => s.firstArrival);
  const streamsOfCalls = new Map<string, RtpStreamRecord>();
  for (const s of lists.streams) {
    streams.push(s);
    if (wanted.has(s.id)) streamsOfCalls.set(s.id, s);
  }
  return {
    logicalCalls: logical.sorted(),
    calls,
    streams: streams.sorted(),
    streamsOfCalls,
    totals: { logicalCalls: logical.seen, calls: legs.seen, streams: streams.seen },
  };
}

/** Lists the bundled default captures, sorted by name. */
export async function defaultCaptures(): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(DEFAULT_CAPTURE_DIR)) {
      // The five seed scenarios; their variants come from another site (see fixtures/seed/README.md).
      if (
        entry.isFile && /\.(pcap|pcapng)(\.gz)?$/.test(entry.name) &&
        !entry.name.includes("-variant")
      ) {
        files.push(new URL(entry.name, DEFAULT_CAPTURE_DIR).pathname);
      }
    }
  } catch {
    return [];
  }
  return files.sort();
}

/**
 * Renders a summary as text for the terminal.
 *
 * @param s The summary.
 * @returns Several lines of text.
 */
export function renderSummary(s: AnalysisSummary): string {
  const out: string[] = [];
  const when = s.firstTs === null
    ? "no packets"
    : `${new Date(s.firstTs * 1000).toISOString()} .. ${
      new Date((s.lastTs ?? 0) * 1000).toISOString()
    }`;
  out.push(`packetwave: ${s.inputs.length} input(s), ${s.packets.total} frames, ${when}`);
  out.push("");
  out.push(renderTable(
    [{ title: "input" }, { title: "format" }, { title: "frames", right: true }, {
      title: "size",
      right: true,
    }, {
      title: "status",
    }],
    s.inputs.map((i) => [
      i.name.split("/").pop() ?? i.name,
      i.format,
      String(i.frames),
      formatBytes(i.bytes),
      i.error ? `error: ${i.error}` : "ok",
    ]),
    2,
  ));
  out.push("");
  const p = s.packets;
  out.push(`Packets by link type: ${entries(p.byLinkType)}`);
  out.push(
    `  IPv4 ${p.ipv4}, IPv6 ${p.ipv6}, non-IP ${p.nonIp}; UDP ${p.udp}, TCP ${p.tcp}, SCTP ${p.sctp}; ` +
      `IP fragments ${p.ipFragments} (${p.reassembled} datagrams rebuilt); tunnelled ${p.tunnelled}`,
  );
  out.push("");
  out.push(
    `SIP messages: ${s.sip.messages} in ${s.sip.dialogs} dialog(s) (by Call-ID); ${
      entries(s.sip.transports)
    }`,
  );
  out.push(`  requests:  ${entries(s.sip.requests) || "none"}`);
  out.push(`  responses: ${entries(s.sip.responses) || "none"}`);
  out.push("");
  out.push(
    `RTP: ${s.media.rtpPackets} packets in ${s.media.rtpStreams} stream(s); RTCP: ${s.media.rtcpPackets} packets`,
  );
  out.push("");
  out.push(`Anomalies: ${s.anomalies.total}`);
  if (s.anomalies.total > 0) {
    out.push(renderTable(
      [{ title: "reason" }, { title: "count", right: true }],
      Object.entries(s.anomalies.byReason).map(([r, n]) => [r, String(n)]),
      2,
    ));
  }
  return out.join("\n");
}

function entries(counts: Record<string, number>): string {
  return Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ");
}
