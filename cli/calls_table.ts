/**
 * The call and RTP stream tables of `packetwave analyze`.
 *
 * @module
 */

import type { CallRecord } from "../engine/calls/leg.ts";
import type { RtpStreamRecord } from "../engine/calls/stream.ts";
import type { LogicalCallRecord } from "../engine/rules/logical_calls.ts";
import { renderTable } from "./table.ts";

/** Media figures of a call, over its streams. */
export interface CallMedia {
  /** RTP packets in all its streams. */
  packets: number;
  /** Worst loss percent of its streams. */
  lossPercent: number | null;
  /** Largest max jitter of its streams, ms. */
  jitterMs: number | null;
  /** Lowest MOS estimate of its streams. */
  mos: number | null;
}

/**
 * Sums a call's streams.
 *
 * @param call The call.
 * @param streams Streams by id.
 * @returns Packets, worst loss, worst jitter and lowest MOS.
 */
export function callMedia(
  call: CallRecord,
  streams: ReadonlyMap<string, RtpStreamRecord>,
): CallMedia {
  const media: CallMedia = { packets: 0, lossPercent: null, jitterMs: null, mos: null };
  for (const id of call.streams) {
    const s = streams.get(id);
    if (!s) continue;
    media.packets += s.packets;
    media.lossPercent = Math.max(media.lossPercent ?? -Infinity, s.lostPercent);
    media.jitterMs = Math.max(media.jitterMs ?? 0, s.maxJitterMs);
    if (s.mos) media.mos = Math.min(media.mos ?? Infinity, s.mos.mos);
  }
  return media;
}

/** `HH:MM:SS.mmm` of an epoch time, in UTC. */
export function clockTime(ts: number): string {
  return new Date(ts * 1000).toISOString().slice(11, 23);
}

function seconds(value: number | null): string {
  return value === null ? "-" : value.toFixed(value < 10 ? 2 : 1);
}

function party(p: CallRecord["caller"]): string {
  return p.user ?? p.uri ?? "?";
}

/**
 * Renders the call table, by start time.
 *
 * @param calls The calls to show.
 * @param streams Their streams, by id (for packets, loss, jitter and MOS).
 * @returns Text lines.
 */
export function renderCalls(
  calls: readonly CallRecord[],
  streams: ReadonlyMap<string, RtpStreamRecord>,
): string {
  const rows = [...calls].sort((a, b) => a.startTs - b.startTs).map((c) => {
    const m = callMedia(c, streams);
    return [
      clockTime(c.startTs),
      c.callId.length > 24 ? `${c.callId.slice(0, 23)}…` : c.callId,
      party(c.caller),
      party(c.callee),
      c.finalStatus !== null && c.state !== "answered" && c.state !== "ended"
        ? `${c.state} ${c.finalStatus}`
        : c.state,
      seconds(c.setupDelay),
      seconds(c.talkTime ?? (c.answerTs !== null ? c.duration : null)),
      c.codecs.join(" ") || "-",
      String(m.packets),
      m.lossPercent === null ? "-" : `${m.lossPercent.toFixed(1)}%`,
      m.jitterMs === null ? "-" : m.jitterMs.toFixed(1),
      m.mos === null ? "-" : m.mos.toFixed(2),
    ];
  });
  return renderTable(
    [
      { title: "start (UTC)" },
      { title: "Call-ID" },
      { title: "caller" },
      { title: "callee" },
      { title: "state" },
      { title: "setup s", right: true },
      { title: "talk s", right: true },
      { title: "codec" },
      { title: "packets", right: true },
      { title: "loss", right: true },
      { title: "jitter ms", right: true },
      { title: "MOS*", right: true },
    ],
    rows,
    2,
  );
}

/**
 * Renders the RTP stream table, in tshark's column order, by first packet.
 *
 * @param streams The streams to show.
 * @returns Text lines.
 */
export function renderStreams(streams: readonly RtpStreamRecord[]): string {
  const rows = [...streams].sort((a, b) => a.firstArrival - b.firstArrival).map((s) => [
    clockTime(s.firstArrival),
    `${s.src.ip}:${s.src.port}`,
    `${s.dst.ip}:${s.dst.port}`,
    s.ssrcHex,
    s.codecs.join(",") || "-",
    String(s.packets),
    `${s.lost} (${s.lostPercent.toFixed(1)}%)`,
    s.maxDeltaMs.toFixed(1),
    s.meanJitterMs.toFixed(2),
    s.maxJitterMs.toFixed(2),
    s.mos ? s.mos.mos.toFixed(2) : "-",
    s.legId === null
      ? "(no SDP)"
      : `${s.direction === "caller-to-callee" ? "→" : "←"} ${s.legId.slice(0, 16)}`,
  ]);
  return renderTable(
    [
      { title: "start (UTC)" },
      { title: "source" },
      { title: "destination" },
      { title: "SSRC" },
      { title: "payload" },
      { title: "packets", right: true },
      { title: "lost", right: true },
      { title: "max Δ ms", right: true },
      { title: "mean jitter", right: true },
      { title: "max jitter", right: true },
      { title: "MOS*", right: true },
      { title: "call" },
    ],
    rows,
    2,
  );
}

/**
 * Renders the logical calls, by start time: scenario, real parties, legs and
 * their relations.
 *
 * @param logicalCalls The logical calls to show.
 * @returns Text lines.
 */
export function renderLogicalCalls(logicalCalls: readonly LogicalCallRecord[]): string {
  const lines: string[] = [];
  const calls = [...logicalCalls].sort((a, b) => a.startTs - b.startTs);
  const rows = calls.map((c) => [
    clockTime(c.startTs),
    c.scenarios.join("+") || "-",
    c.caller ?? "?",
    c.callee ?? "?",
    c.answeredBy ?? "-",
    c.hungUpBy ?? "-",
    String(c.legs.length),
    c.labels.join(",") || "",
  ]);
  lines.push(renderTable(
    [
      { title: "start (UTC)" },
      { title: "scenario" },
      { title: "caller" },
      { title: "callee" },
      { title: "answered by" },
      { title: "hung up by" },
      { title: "legs", right: true },
      { title: "labels" },
    ],
    rows,
    2,
  ));
  for (const c of calls.filter((c) => c.legs.length > 1)) {
    lines.push(`  ${clockTime(c.startTs)} ${c.scenario}: ${c.caller ?? "?"} → ${c.callee ?? "?"}`);
    for (const leg of c.legs) {
      const relations = leg.relations.map((r) => `${r.relation} ${shortId(r.to)}`).join(", ");
      lines.push(
        `    ${shortId(leg.id)}  ${leg.wire.caller ?? "?"} → ${
          leg.wire.callee ?? "?"
        }  ${leg.state}` +
          (relations ? `  (${relations})` : "  (initial)"),
      );
    }
  }
  return lines.join("\n");
}

function shortId(id: string): string {
  return id.length > 18 ? `${id.slice(0, 17)}…` : id;
}
