/**
 * The `csv` export: one row per call leg, written as calls complete. With
 * rules, a leg's row waits for its logical call and carries the logical
 * call's columns (id, scenarios, the REAL caller and callee, who answered,
 * who hung up) beside the leg's real parties and its wire (original)
 * caller and callee; without rules the logical columns are empty and the
 * row is written when the leg completes. The columns are listed in
 * {@link CSV_COLUMNS} and documented in SCHEMA.md.
 *
 * Output follows RFC 4180 (CRLF line ends, fields with a comma, quote, CR
 * or LF quoted, quotes doubled) and is safe to open in a spreadsheet: a
 * text value starting with `=`, `+`, `-`, `@`, a tab or a CR gets a
 * leading `'` so it is never taken as a formula. Numeric columns hold
 * plain numbers and are left as they are (a loss of `-0.5` stays a number).
 *
 * ```ts
 * import type { PluginConfig } from "../plugin.ts";
 * const config: PluginConfig = { use: "csv", options: { file: "calls.csv" } };
 * ```
 *
 * @module
 */

import type { CallRecord } from "../../engine/calls/leg.ts";
import type { LogicalCallRecord, LogicalLeg } from "../../engine/rules/logical_calls.ts";
import type { Plugin, PluginFactory } from "../plugin.ts";
import {
  LegMedia,
  type LegMediaTotals,
  optionOf,
  requireString,
  roundTo,
  rulesRunning,
} from "./common.ts";
import { isoTime } from "./serialize.ts";
import { TextOutput } from "./text_output.ts";

/** Options of the `csv` export. */
export interface CsvExportOptions {
  /** File to write. */
  file: string;
  /** Start the file with a UTF-8 byte order mark, for spreadsheets that need one (default false). */
  bom?: boolean;
  /** Wait for logical calls (default: when the host was given a site, i.e. rules run). */
  logical?: boolean;
}

/** The columns, in order. */
export const CSV_COLUMNS = [
  "logical_id",
  "scenarios",
  "call_caller",
  "call_callee",
  "answered_by",
  "hung_up_by",
  "leg_id",
  "relation",
  "real_caller",
  "real_callee",
  "wire_caller",
  "wire_callee",
  "wire_caller_name",
  "wire_callee_name",
  "call_id",
  "state",
  "final_status",
  "start_utc",
  "answer_utc",
  "end_utc",
  "setup_s",
  "talk_s",
  "codec",
  "packets",
  "loss_pct",
  "max_jitter_ms",
  "mos",
] as const;

/** A CSV cell: text (neutralized and quoted as needed), a number, or empty. */
export type CsvValue = string | number | null;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Formats one field: numbers as they are; text with a formula-like start
 * prefixed with `'`, then quoted when it holds a comma, quote, CR or LF.
 *
 * @param value The value.
 * @returns The field text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
 * assert.equal(csvField("-1+2"), "'-1+2");
 * assert.equal(csvField(-1.5), "-1.5");
 * assert.equal(csvField(null), "");
 * ```
 */
export function csvField(value: CsvValue): string {
  if (value === null) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Formats a row with its CRLF line end.
 *
 * @param values The fields.
 * @returns The line.
 */
export function csvRow(values: readonly CsvValue[]): string {
  return values.map(csvField).join(",") + "\r\n";
}

/** The real parties of a leg when no logical call gives them. */
export interface LegParties {
  /** Real caller, or `null` to use the wire caller. */
  realCaller: string | null;
  /** Real callee, or `null` to use the wire callee. */
  realCallee: string | null;
}

/**
 * The row of one leg.
 *
 * @param record The leg's record.
 * @param media Its media totals, or `null`.
 * @param logical Its logical call and its entry there, or `null` without rules.
 * @param parties Real parties rules derived, when there is no logical call.
 * @returns The values, in {@link CSV_COLUMNS} order.
 */
export function legRow(
  record: CallRecord,
  media: LegMediaTotals | null,
  logical: { call: LogicalCallRecord; leg: LogicalLeg } | null,
  parties: LegParties = { realCaller: null, realCallee: null },
): CsvValue[] {
  const call = logical?.call ?? null;
  const leg = logical?.leg ?? null;
  const codec = record.codecs[0] ?? media?.codecs[0] ?? null;
  return [
    call?.id ?? null,
    call ? call.scenarios.join(";") : null,
    call?.caller ?? null,
    call?.callee ?? null,
    call?.answeredBy ?? null,
    call?.hungUpBy ?? null,
    record.id,
    leg ? leg.relations.map((r) => r.relation).join(";") : null,
    leg?.realCaller ?? parties.realCaller ?? record.caller.user,
    leg?.realCallee ?? parties.realCallee ?? record.callee.user,
    record.caller.user,
    record.callee.user,
    record.caller.displayName,
    record.callee.displayName,
    record.callId,
    record.state,
    record.finalStatus,
    isoTime(record.startTs),
    isoTime(record.answerTs),
    isoTime(record.endTs),
    roundTo(record.setupDelay, 3),
    roundTo(record.talkTime, 3),
    codec,
    media?.packets ?? null,
    roundTo(media?.lossPercent, 2),
    roundTo(media?.maxJitterMs, 2),
    roundTo(media?.mos, 2),
  ];
}

interface Held {
  record: CallRecord;
  media: LegMediaTotals | null;
}

/**
 * Makes the `csv` export.
 *
 * @param options `file` (required), `bom`, `logical`.
 * @param context The plugin context.
 * @returns The plugin.
 */
const csvExport: PluginFactory<CsvExportOptions> = (options, context) => {
  const file = requireString(options, "file", "csv");
  const logical = rulesRunning(context, optionOf(options, "logical"));
  let failed = false;
  const out = TextOutput.open(file, {
    onError: (error) => {
      failed = true;
      context.warn(`cannot write ${file}: ${(error as Error).message ?? error}`);
    },
  });
  out.write((options.bom === true ? "\ufeff" : "") + csvRow(CSV_COLUMNS));
  const media = new LegMedia();
  /** Completed legs waiting for their logical call (with rules). */
  const held = new Map<string, Held>();

  const writeRow = (values: CsvValue[]) => {
    if (!failed) out.write(csvRow(values));
  };

  const plugin: Plugin = {
    name: "csv",
    on: {
      "rtp.stream.ended": function addStream(e) {
        media.add(e.stream);
      },
      "call.completed": function legCompleted(e) {
        const record = e.leg.toJSON();
        const totals = media.take(record.id);
        if (logical) {
          held.set(record.id, { record, media: totals });
        } else {
          writeRow(legRow(record, totals, null, context.legFlags(record.id)));
        }
      },
      "logical.completed": function logicalCompleted(e) {
        for (const leg of e.call.legs) {
          const h = held.get(leg.id);
          if (!h) continue;
          held.delete(leg.id);
          writeRow(legRow(h.record, h.media, { call: e.call, leg }));
        }
      },
    },
    close() {
      // Legs no logical call claimed (none should be left when rules ran to the end).
      for (const h of held.values()) writeRow(legRow(h.record, h.media, null));
      held.clear();
      out.close();
    },
  };
  return plugin;
};

export default csvExport;
