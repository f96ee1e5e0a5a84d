/**
 * Helpers shared by the export plugins: option checks, whether rules run,
 * time stamps for file names, per-leg media totals, and the analysis
 * summary when the host offers it.
 *
 * @module
 */

import type { RtpStreamRecord } from "../../engine/calls/stream.ts";
import type { AnalysisSummary } from "../../engine/summary.ts";
import type { PluginContext } from "../plugin.ts";

/**
 * Reads a required non-empty string option.
 *
 * @param options The plugin's options.
 * @param name Option name.
 * @param plugin Plugin name, for the message.
 * @returns The value.
 * @throws {TypeError} When the option is missing or not a non-empty string.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(requireString({ file: "a.csv" }, "file", "csv"), "a.csv");
 * assert.throws(() => requireString({}, "file", "csv"), /csv needs option 'file'/);
 * ```
 */
export function requireString(options: unknown, name: string, plugin: string): string {
  const value = optionOf(options, name);
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${plugin} needs option '${name}': a non-empty string`);
  }
  return value;
}

/**
 * Reads an option of a plain options object (never from its prototype).
 *
 * @param options The plugin's options.
 * @param name Option name.
 * @returns The value, or `undefined`.
 */
export function optionOf(options: unknown, name: string): unknown {
  if (typeof options !== "object" || options === null) return undefined;
  return Object.hasOwn(options, name) ? (options as Record<string, unknown>)[name] : undefined;
}

/**
 * Whether logical calls will arrive: the host passes the site only when
 * rules run (as the command line does). Without rules an export works per
 * call leg on `call.completed`; with them it waits for `logical.completed`.
 *
 * @param context The plugin's context.
 * @param override An explicit choice from the plugin's options (`logical: true|false`).
 * @returns Whether to wait for logical calls.
 */
export function rulesRunning(context: PluginContext, override?: unknown): boolean {
  if (typeof override === "boolean") return override;
  return context.rules;
}

/**
 * A capture time as `YYYYMMDD-HHMMSS` in UTC, for file names.
 *
 * @param ts Seconds since the Unix epoch.
 * @returns The stamp (`00000000-000000` for a time out of range).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(fileStamp(1742358298.307), "20250319-042458");
 * ```
 */
export function fileStamp(ts: number): string {
  const date = new Date(Math.floor(ts) * 1000);
  if (!Number.isFinite(ts) || Number.isNaN(date.getTime())) return "00000000-000000";
  const iso = date.toISOString(); // 2025-03-19T04:24:58.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${
    iso.slice(14, 16)
  }${iso.slice(17, 19)}`;
}

/**
 * The analysis summary from the host (`context.summary()`, valid at close,
 * after the analysis finished); `null` before, or when a context without one fails.
 *
 * @param context The plugin's context.
 * @returns The summary, or `null`.
 */
export function hostSummary(context: PluginContext): AnalysisSummary | null {
  try {
    return context.summary() ?? null;
  } catch {
    return null;
  }
}

/** Media totals of one leg, over its RTP streams. */
export interface LegMediaTotals {
  /** Streams counted. */
  streams: number;
  /** Packets received. */
  packets: number;
  /** Packets expected (Wireshark's definition), summed. */
  expected: number;
  /** Packets lost, summed (may be negative with duplicates). */
  lost: number;
  /** `lost × 100 / expected`, or `null` without packets. */
  lossPercent: number | null;
  /** Largest jitter of any stream, ms, or `null` without streams. */
  maxJitterMs: number | null;
  /** The worst (lowest) MOS estimate of its streams, or `null`. */
  mos: number | null;
  /** Audio codecs seen, in order. */
  codecs: string[];
}

/** Keeps {@link LegMediaTotals} per leg from `rtp.stream.ended` records. */
export class LegMedia {
  readonly #byLeg = new Map<string, LegMediaTotals>();

  /**
   * Adds an ended stream to its leg's totals (unsignalled streams are ignored).
   *
   * @param stream The stream's final record.
   */
  add(stream: RtpStreamRecord): void {
    if (stream.legId === null) return;
    let t = this.#byLeg.get(stream.legId);
    if (!t) {
      t = {
        streams: 0,
        packets: 0,
        expected: 0,
        lost: 0,
        lossPercent: null,
        maxJitterMs: null,
        mos: null,
        codecs: [],
      };
      this.#byLeg.set(stream.legId, t);
    }
    t.streams++;
    t.packets += stream.packets;
    t.expected += stream.expected;
    t.lost += stream.lost;
    t.lossPercent = t.expected > 0 ? (t.lost * 100) / t.expected : null;
    t.maxJitterMs = Math.max(t.maxJitterMs ?? 0, stream.maxJitterMs);
    if (stream.mos) t.mos = t.mos === null ? stream.mos.mos : Math.min(t.mos, stream.mos.mos);
    for (const codec of stream.codecs) {
      if (!/^(telephone-event|CN)$/i.test(codec) && !t.codecs.includes(codec)) {
        t.codecs.push(codec);
      }
    }
  }

  /**
   * Takes a leg's totals out (once its record is written).
   *
   * @param legId The leg.
   * @returns Its totals, or `null` when it had no stream.
   */
  take(legId: string): LegMediaTotals | null {
    const t = this.#byLeg.get(legId) ?? null;
    this.#byLeg.delete(legId);
    return t;
  }

  /** Legs with totals kept. */
  get size(): number {
    return this.#byLeg.size;
  }
}

/**
 * Rounds a number to some decimals, keeping `null`.
 *
 * @param value The number.
 * @param digits Decimals.
 * @returns The rounded number.
 */
export function roundTo(value: number | null | undefined, digits: number): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
