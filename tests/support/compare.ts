/**
 * Assertions that hold our analysis against Wireshark's reference figures
 * (`tshark -z sip,stat` and `tshark -z rtp,streams`), with room for
 * differences stated and explained by the caller.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RtpStreamRecord } from "../../engine/calls/stream.ts";
import type { AnalysisReport } from "../../engine/report.ts";
import { parseRtpStreams, parseSipStat, type RtpStreamReference } from "./tshark_reference.ts";

/** Messages we count beyond tshark, per method or status code, and why. */
export interface SipCountDifference {
  /** Extra messages per method or status code (negative: fewer). */
  extra: Record<string, number>;
  /** Why. */
  why: string;
}

/**
 * Asserts SIP message counts per method and status equal tshark's, up to the stated difference.
 *
 * @param report Our report.
 * @param sipstatText The text of `tshark -q -z sip,stat`.
 * @param difference Stated differences.
 */
export function assertSipCounts(
  report: AnalysisReport,
  sipstatText: string,
  difference?: SipCountDifference,
): void {
  const reference = parseSipStat(sipstatText);
  const summary = report.summary;
  const ours = new Map<string, number>([
    ...Object.entries(summary.sip.requests),
    ...Object.entries(summary.sip.responses),
  ]);
  const theirs = new Map<string, number>([
    ...reference.requests,
    ...[...reference.responses].map(([code, n]) => [String(code), n] as [string, number]),
  ]);
  const explained = difference?.extra ?? {};
  for (const key of new Set([...ours.keys(), ...theirs.keys(), ...Object.keys(explained)])) {
    assert.equal(
      (ours.get(key) ?? 0) - (theirs.get(key) ?? 0),
      explained[key] ?? 0,
      `${key}: we count ${ours.get(key) ?? 0}, tshark ${theirs.get(key) ?? 0}` +
        (difference ? ` (${difference.why})` : ""),
    );
  }
  const extraTotal = Object.values(explained).reduce((a, b) => a + b, 0);
  assert.equal(summary.sip.messages, reference.messages + extraTotal);
}

/** How one of tshark's streams differs from ours, and why. */
export interface StreamDifference {
  /** Our packet count, when it differs (other figures are then not compared). */
  packets?: number;
  /** The stream is not ours at all. */
  absent?: true;
  /** Why. */
  why: string;
}

/** The key of a tshark stream row, in the form of our stream ids. */
export function streamKey(r: RtpStreamReference): string {
  const ssrc = r.ssrc.toString(16).toUpperCase().padStart(8, "0");
  return `${r.srcIp}:${r.srcPort}>${r.dstIp}:${r.dstPort}/0x${ssrc}`;
}

function close(ours: number, theirs: number): boolean {
  return Math.abs(ours - theirs) <= Math.max(0.1, Math.abs(theirs) * 0.01);
}

/**
 * Asserts every stream tshark lists is ours with the same packets, lost,
 * jitter and delta (0.1 ms or 1%), and that we list no other stream.
 *
 * @param report Our report.
 * @param rtpstreamsText The text of `tshark -q -z rtp,streams`.
 * @param differences Stated differences by stream key.
 */
export function assertStreamsMatch(
  report: AnalysisReport,
  rtpstreamsText: string,
  differences: Record<string, StreamDifference> = {},
): void {
  const ours = new Map<string, RtpStreamRecord>(report.streams.map((s) => [s.id, s]));
  for (const ref of parseRtpStreams(rtpstreamsText)) {
    const key = streamKey(ref);
    const note = differences[key];
    const s = ours.get(key);
    if (note?.absent) {
      assert.equal(s, undefined, `${key} was expected absent: ${note.why}`);
      continue;
    }
    assert.ok(s, `tshark's stream ${key} (${ref.payload}, ${ref.packets} packets) not found`);
    ours.delete(key);
    if (note?.packets !== undefined) {
      assert.equal(s.packets, note.packets, note.why);
      continue;
    }
    assert.equal(s.packets, ref.packets, `${key} packets`);
    assert.equal(s.lost, ref.lost, `${key} lost`);
    assert.ok(
      close(s.maxJitterMs, ref.maxJitter),
      `${key} max jitter ${s.maxJitterMs} vs ${ref.maxJitter}`,
    );
    assert.ok(
      close(s.meanJitterMs, ref.meanJitter),
      `${key} mean jitter ${s.meanJitterMs} vs ${ref.meanJitter}`,
    );
    assert.ok(
      close(s.maxDeltaMs, ref.maxDelta),
      `${key} max delta ${s.maxDeltaMs} vs ${ref.maxDelta}`,
    );
    assert.ok(
      close(s.meanDeltaMs, ref.meanDelta),
      `${key} mean delta ${s.meanDeltaMs} vs ${ref.meanDelta}`,
    );
    assert.equal(s.problems, ref.problem, `${key} problems flag`);
  }
  assert.deepEqual([...ours.keys()], [], "streams we found that tshark does not list");
}
