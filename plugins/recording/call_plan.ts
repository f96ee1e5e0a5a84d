/**
 * Decides what goes where in a call's recordings, from the recorded
 * streams and the call's record, without touching a file:
 *
 * - a leg (no rules): the caller's audio (streams `caller-to-callee`) left,
 *   the callee's right;
 * - a logical call (rules): left, the audio the real caller sent; right,
 *   everyone else's, one group per party. Who sent a stream is the leg's
 *   real party on the sending side (`parties`, so a `*8` pickup leg names
 *   the real caller). The duplicate half of a B2BUA pair (a leg with a
 *   `b2bua-leg` relation whose partner was recorded) and legs a rule
 *   switched recording off for are left out;
 * - a conference: one group per participant, from the legs that carry that
 *   participant's own audio, aligned to the conference start.
 *
 * @module
 */

import type { StreamDirection } from "../../engine/calls/stream.ts";
import type { Endpoint } from "../../engine/events.ts";
import type { LogicalCallRecord, LogicalLeg } from "../../engine/rules/logical_calls.ts";

/** A stream as the recorder left it on disk. */
export interface RecordedStream {
  /** Stream id (`src:port>dst:port/0xSSRC`). */
  id: string;
  /** Its leg, or `null`. */
  legId: string | null;
  /** Direction within the leg. */
  direction: StreamDirection | null;
  /** SSRC as Wireshark prints it. */
  ssrcHex: string;
  /** Sender. */
  src: Endpoint;
  /** Receiver. */
  dst: Endpoint;
  /** The mono WAV file, or `null` when no decodable audio came. */
  wav: string | null;
  /** The pcap of packets kept undecoded, or `null`. */
  pcap: string | null;
  /** Sample rate of the WAV. */
  sampleRate: number;
  /** Frames in the WAV. */
  frames: number;
  /** Arrival of the first packet: the time of the WAV's frame 0. */
  firstArrival: number;
  /** Arrival of the last packet. */
  lastArrival: number;
  /** Frame intervals holding received audio (`[start, end)` pairs, flattened). */
  coverage: number[];
  /** Encodings seen in the stream (as the analyzer names them). */
  codecs: string[];
  /** Encodings that could not be decoded. */
  undecodable: string[];
  /** RTP packets of the stream. */
  packets: number;
  /** Packets lost, as the analyzer counts them. */
  lost: number;
}

/** The streams of one party, in order of preference. */
export interface PlannedGroup {
  /** The party (a number or user), or `null` when unknown. */
  party: string | null;
  /** Its streams (only ones with a WAV), earliest first. */
  streams: RecordedStream[];
}

/** One output file: its start time and the groups of each channel. */
export interface PlannedFile {
  /** Capture time of the file's first frame. */
  start: number;
  /** Seconds of audio (to the end of the last stream). */
  duration: number;
  /** Groups per channel: one channel (mono) or two (left, right). */
  channels: PlannedGroup[][];
}

/** What a logical call's recordings hold. */
export interface LogicalPlan {
  /** The real caller (left channel). */
  caller: string | null;
  /** The stereo file. */
  stereo: PlannedFile;
  /** Legs left out, with why. */
  skipped: { leg: string; reason: "record-off" | "b2bua-duplicate" }[];
  /** Streams used, with the party that sent each and its channel. */
  streams: { stream: RecordedStream; sender: string | null; channel: "left" | "right" }[];
  /** A conference's files, when the call is one. */
  conference: {
    /** Capture time the tracks start at. */
    start: number;
    /** The mixed file. */
    mixed: PlannedFile;
    /** One track per participant. */
    participants: { party: string; track: PlannedFile }[];
  } | null;
}

/**
 * Plans a leg's stereo file: caller's audio left, callee's right.
 *
 * @param streams The leg's recorded streams.
 * @returns The plan, or `null` when no stream has audio.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const s = (direction: "caller-to-callee" | "callee-to-caller", firstArrival: number) => ({
 *   id: direction, legId: "L", direction, ssrcHex: "0x1", src: { ip: "a", port: 1 },
 *   dst: { ip: "b", port: 2 }, wav: `${direction}.wav`, pcap: null, sampleRate: 8000,
 *   frames: 8000, firstArrival, lastArrival: firstArrival + 1, coverage: [0, 8000],
 *   codecs: ["PCMU"], undecodable: [], packets: 50, lost: 0,
 * });
 * const plan = legPlan([s("callee-to-caller", 10.5), s("caller-to-callee", 10)])!;
 * assert.equal(plan.start, 10);
 * assert.equal(plan.duration, 1.5);
 * assert.equal(plan.channels[0]![0]!.streams[0]!.id, "caller-to-callee");
 * ```
 */
export function legPlan(streams: readonly RecordedStream[]): PlannedFile | null {
  const audio = withAudio(streams);
  if (audio.length === 0) return null;
  const left = audio.filter((s) => s.direction !== "callee-to-caller");
  const right = audio.filter((s) => s.direction === "callee-to-caller");
  return plannedFile(audio, [[{ party: null, streams: left }], [{ party: null, streams: right }]]);
}

/**
 * Who sent a stream of a logical call's leg: the real party on the sending side.
 *
 * @param leg The leg, as the logical call record gives it.
 * @param direction The stream's direction.
 * @returns The party, or `null`.
 */
export function senderOf(leg: LogicalLeg, direction: StreamDirection | null): string | null {
  if (direction === null) return null;
  return direction === "caller-to-callee" ? leg.parties.caller : leg.parties.callee;
}

/**
 * Plans a logical call's files.
 *
 * @param call The logical call's record.
 * @param streamsOf The recorded streams of a leg id.
 * @returns The plan, or `null` when no stream of any included leg has audio.
 */
export function logicalPlan(
  call: LogicalCallRecord,
  streamsOf: (legId: string) => readonly RecordedStream[],
): LogicalPlan | null {
  const skipped: LogicalPlan["skipped"] = [];
  const recorded = new Set(
    call.legs.filter((l) => l.record !== false && withAudio(streamsOf(l.id)).length > 0).map((l) =>
      l.id
    ),
  );
  const included: LogicalLeg[] = [];
  for (const leg of call.legs) {
    if (leg.record === false) {
      skipped.push({ leg: leg.id, reason: "record-off" });
      continue;
    }
    const twin = leg.relations.find((r) => r.relation === "b2bua-leg" && recorded.has(r.to));
    if (twin) {
      skipped.push({ leg: leg.id, reason: "b2bua-duplicate" });
      continue;
    }
    included.push(leg);
  }
  const caller = call.caller ?? call.legs[0]?.parties.caller ?? null;
  const left: PlannedGroup = { party: caller, streams: [] };
  const others = new Map<string, PlannedGroup>();
  const used: LogicalPlan["streams"] = [];
  const all: RecordedStream[] = [];
  for (const leg of included) {
    for (const stream of withAudio(streamsOf(leg.id))) {
      const sender = senderOf(leg, stream.direction);
      all.push(stream);
      if (sender !== null && sender === caller) {
        left.streams.push(stream);
        used.push({ stream, sender, channel: "left" });
        continue;
      }
      const key = sender === null ? `\u0000${stream.id}` : sender;
      let group = others.get(key);
      if (!group) others.set(key, group = { party: sender, streams: [] });
      group.streams.push(stream);
      used.push({ stream, sender, channel: "right" });
    }
  }
  if (all.length === 0) return null;
  const stereo = plannedFile(all, [[left], [...others.values()]]);
  return {
    caller,
    stereo,
    skipped,
    streams: used.sort((a, b) => a.stream.firstArrival - b.stream.firstArrival),
    conference: conferencePlan(call, streamsOf, stereo.start),
  };
}

function conferencePlan(
  call: LogicalCallRecord,
  streamsOf: (legId: string) => readonly RecordedStream[],
  fallbackStart: number,
): LogicalPlan["conference"] {
  const conference = call.conference;
  if (!conference) return null;
  const joins = conference.participants.map((p) => p.joinedAt).filter((t): t is number =>
    t !== null
  );
  const start = conference.startedAt ??
    (joins.length > 0 ? Math.min(...joins) : fallbackStart);
  const legs = new Map(call.legs.map((l) => [l.id, l]));
  const participants: { party: string; track: PlannedFile }[] = [];
  const groups: PlannedGroup[] = [];
  for (const p of conference.participants) {
    const streams: RecordedStream[] = [];
    for (const legId of p.legs) {
      const leg = legs.get(legId);
      if (!leg || leg.record === false) continue;
      for (const s of withAudio(streamsOf(legId))) {
        if (senderOf(leg, s.direction) === p.party) streams.push(s);
      }
    }
    const group = { party: p.party, streams: byArrival(streams) };
    if (streams.length === 0) continue;
    groups.push(group);
    participants.push({ party: p.party, track: plannedFile(streams, [[group]], start) });
  }
  if (groups.length === 0) return null;
  const everyone = groups.flatMap((g) => g.streams);
  const mixed = plannedFile(everyone, [groups], start);
  // Every track as long as the mix, so they line up sample for sample.
  for (const p of participants) p.track.duration = mixed.duration;
  return { start, mixed, participants };
}

function withAudio(streams: readonly RecordedStream[]): RecordedStream[] {
  return byArrival(streams.filter((s) => s.wav !== null && s.frames > 0 && s.sampleRate > 0));
}

function byArrival(streams: RecordedStream[]): RecordedStream[] {
  return streams.sort((a, b) => a.firstArrival - b.firstArrival || a.id.localeCompare(b.id));
}

function plannedFile(
  streams: readonly RecordedStream[],
  channels: PlannedGroup[][],
  start?: number,
): PlannedFile {
  const first = start ?? Math.min(...streams.map((s) => s.firstArrival));
  const end = Math.max(...streams.map((s) => s.firstArrival + s.frames / s.sampleRate));
  for (const channel of channels) for (const g of channel) byArrival(g.streams);
  return { start: first, duration: Math.max(0, end - first), channels };
}
