/**
 * The recording plugin: call recording to 16-bit PCM WAV, written while the
 * capture is read.
 *
 * - **Per stream**: each RTP stream goes to a mono WAV at its codec's rate
 *   (see {@linkcode StreamTrack}): placed by RTP timestamp from the first
 *   packet's arrival, gaps and hold as silence, reordered within `jitterMs`.
 *   A codec that cannot be decoded (G.729, GSM, opus...) is reported once per
 *   stream and its packets are kept in a pcap of the stream instead.
 * - **Per call**: without rules, a stereo file per leg when it completes
 *   (caller left, callee right); with rules (the host runs scenario rules), a
 *   stereo file per logical call when it completes (the real caller left,
 *   everyone else right), and for a conference a mixed file and one track
 *   per participant. Call files are mixed from the streams' audio.
 * - Names come from sanitized data only:
 *   `YYYYMMDD-HHMMSS_<id>_<caller>_<callee>[_suffix].wav` (UTC), with the real
 *   parties in logical call names; a JSON sidecar beside each call file lists
 *   its files, parties (real and wire), start, duration and codecs.
 * - A rule that sets `record: false` on a leg keeps it out of every file.
 * - Fast, in bounded memory ({@linkcode RecordingMemory}): packets are
 *   decoded straight into reused chunks ({@linkcode ChunkedWavWriter},
 *   {@linkcode BufferPool}) written whole, synchronously (writes in the
 *   background only with `memory.inFlightBytes`, see
 *   {@linkcode BackgroundWriter}); a stream's audio stays in memory (up to
 *   a budget) until its call file is mixed, else the call file is mixed
 *   from the stream files once they are written. `close()` waits for every
 *   file; what the files hold never depends on these choices.
 *
 * ```ts ignore
 * const host = await PluginHost.load(analyzer, [
 *   { use: "recording", options: { dir: "recordings", jitterMs: 100 } },
 * ], { site });
 * ```
 *
 * @module
 */

import type { CallLeg } from "../../engine/calls/leg.ts";
import { basename } from "node:path";
import { type RtpStream, type RtpStreamRecord, ssrcHex } from "../../engine/calls/stream.ts";
import type { RtpHeader } from "../../engine/rtp/rtp_header.ts";
import type { LogicalCallRecord } from "../../engine/rules/logical_calls.ts";
import { join, resolve } from "../paths.ts";
import type { Plugin, PluginContext, PluginFactory } from "../plugin.ts";
import { type BackgroundFile, BackgroundWriter } from "./background_file.ts";
import { legPlan, logicalPlan, type PlannedFile, type RecordedStream } from "./call_plan.ts";
import { BufferPool } from "./buffer_pool.ts";
import { ChunkedWavWriter } from "./chunked_wav_writer.ts";
import { PacketKeeper } from "./kept_packets.ts";
import { type MixSpec, mixWith, plannedMixSummary } from "./mixer.ts";
import { recordingBaseName, UniqueNames } from "./naming.ts";
import { type PcmChunks, RetainBudget } from "./pcm_chunks.ts";
import { WAV_HEADER_BYTES } from "./wav_writer.ts";
import { DEFAULT_JITTER_MS, PUSH_UNDECODABLE, StreamTrack, type TrackSummary } from "./track.ts";

/** Options of the recording plugin. */
export interface RecordingOptions {
  /** Directory of the recordings (created when missing). */
  dir: string;
  /** Keep the per-stream files (default true); without them, call files are still made. */
  streams?: boolean;
  /** Write per-call files: per leg without rules, per logical call with them (default true). */
  calls?: boolean;
  /** Reorder window in milliseconds (default 200). */
  jitterMs?: number;
  /** Memory the recorder may use to go faster (defaults: {@linkcode DEFAULT_MEMORY}). */
  memory?: Partial<RecordingMemory>;
}

/**
 * Memory the recorder may use to go faster, in bytes. What does not fit is
 * done the slower way: written synchronously, mixed from the files on
 * disk. What the files hold is the same either way.
 */
export interface RecordingMemory {
  /** Stream audio kept in memory until its call file is mixed, all streams together. */
  retainBytes: number;
  /**
   * Bytes waiting for a file still being created in the background (audio
   * held for its call file, sidecars) and writes in flight; past this,
   * files are created synchronously.
   */
  pendingBytes: number;
  /**
   * Background writes in flight, not counting audio kept in memory anyway
   * (their buffers are known to be free only at the next turn of the event
   * loop); past this, writes are synchronous. 0 by default: on long
   * captures, writes issued from the packet path were seen to wait for tens
   * of seconds, holding their buffers.
   */
  inFlightBytes: number;
}

/** Default {@linkcode RecordingMemory}. */
export const DEFAULT_MEMORY: Readonly<RecordingMemory> = Object.freeze({
  retainBytes: 4 << 20,
  pendingBytes: 4 << 20,
  inFlightBytes: 0,
});

/** Largest reorder window accepted, in milliseconds. */
export const MAX_JITTER_MS = 10000;

/**
 * Bytes of the chunks being filled, all streams together: a stream's chunk
 * is this divided by the streams being recorded when it starts (a power of
 * two within {@linkcode STREAM_CHUNK_BYTES}).
 */
export const STREAM_BUFFER_BYTES = 4 << 20;
/** Smallest and largest chunk of a stream file, in bytes. */
export const STREAM_CHUNK_BYTES: Readonly<{ min: number; max: number }> = Object.freeze({
  min: 16 << 10,
  max: 256 << 10,
});
/** Largest chunk of a call file, in bytes. */
export const CALL_CHUNK_BYTES = 1 << 20;
/**
 * Bytes of free chunk buffers kept for reuse: enough that buffers are
 * reused rather than left to the garbage collector (which lets dead
 * buffers pile up).
 */
export const POOL_FREE_BYTES = 16 << 20;

/** Options after defaults and checks. */
interface Settings {
  dir: string;
  streams: boolean;
  calls: boolean;
  jitterMs: number;
  memory: RecordingMemory;
}

/** What is known of a leg for its files. */
interface LegInfo {
  id: string;
  callId: string;
  caller: string | null;
  callee: string | null;
  startTs: number;
}

/** A stream being recorded. */
interface Entry {
  id: string;
  stream: RtpStream;
  /** `null`: not recorded (a rule switched it off, or it failed). */
  track: StreamTrack | null;
  /** The writer of its WAV (once the first decodable packet came). */
  writer: ChunkedWavWriter | null;
  /** The WAV file being written, once made. */
  file: BackgroundFile | null;
  keeper: PacketKeeper | null;
  wavPath: string;
  pcapPath: string;
  legId: string | null;
}

/** A finished stream and what holds its audio. */
interface KeptStream extends RecordedStream {
  writer: ChunkedWavWriter | null;
  file: BackgroundFile | null;
}

/**
 * Checks and completes the options.
 *
 * @param options What the user gave.
 * @returns The settings.
 * @throws {TypeError} When `dir` is missing or an option has the wrong type.
 * @throws {RangeError} When `jitterMs` or a `memory` figure is out of range.
 */
function settingsOf(options: Partial<RecordingOptions>): Settings {
  const { dir, streams = true, calls = true, jitterMs = DEFAULT_JITTER_MS } = options ?? {};
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new TypeError("Option dir is required: the directory to write recordings in");
  }
  if (typeof streams !== "boolean") throw new TypeError("Option streams must be true or false");
  if (typeof calls !== "boolean") throw new TypeError("Option calls must be true or false");
  if (typeof jitterMs !== "number" || !(jitterMs >= 0 && jitterMs <= MAX_JITTER_MS)) {
    throw new RangeError(`Option jitterMs must be a number from 0 to ${MAX_JITTER_MS}`);
  }
  const given: unknown = options?.memory ?? {};
  if (typeof given !== "object" || given === null) {
    throw new TypeError("Option memory must be an object of byte counts");
  }
  const memory: RecordingMemory = { ...DEFAULT_MEMORY };
  for (const key of Object.keys(DEFAULT_MEMORY) as (keyof RecordingMemory)[]) {
    const value = (given as Partial<Record<string, unknown>>)[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`Option memory.${key} must be a number of bytes, 0 or more`);
    }
    memory[key] = value;
  }
  return { dir: resolve(dir), streams, calls, jitterMs, memory };
}

/**
 * Makes the recording plugin.
 *
 * @param options `dir` (required), `streams`, `calls`, `jitterMs`, `memory`.
 * @param context The host's context.
 * @returns The plugin.
 * @throws {TypeError} For bad options; file system errors creating `dir` pass through.
 */
const recording: PluginFactory<Partial<RecordingOptions>> = async function recording(
  options,
  context,
): Promise<Plugin> {
  const settings = settingsOf(options);
  await Deno.mkdir(settings.dir, { recursive: true });
  if (!settings.streams && !settings.calls) return { name: "recording" };
  const recorder = new Recorder(
    settings,
    context,
    settings.streams ? settings.dir : await Deno.makeTempDir({
      dir: settings.dir,
      prefix: ".streams-",
    }),
  );
  return {
    name: "recording",
    rtp: (stream, header, bytes, arrival) => recorder.packet(stream, header, bytes, arrival),
    on: {
      "rtp.stream.ended": (e) => recorder.streamEnded(e.stream),
      "call.completed": (e) => recorder.legCompleted(e.leg),
      "logical.completed": (e) => recorder.logicalCompleted(e.call),
    },
    close: () => recorder.close(),
  };
};

export default recording;

/** The plugin's state: streams being recorded, finished streams waiting for their call. */
class Recorder {
  readonly #settings: Settings;
  readonly #context: PluginContext;
  readonly #streamDir: string;
  readonly #rulesMode: boolean;
  readonly #names = new UniqueNames();
  readonly #entries = new Map<string, Entry>();
  readonly #finished = new Map<string, KeptStream[]>();
  readonly #legs = new Map<string, LegInfo>();
  /** Pcap files still being written. */
  readonly #keepers = new Set<Promise<unknown>>();
  readonly #warned = new Set<string>();
  readonly #files: BackgroundWriter;
  readonly #pool = new BufferPool(POOL_FREE_BYTES);
  readonly #retain: RetainBudget;
  /** Call files to be mixed from stream files (which stay until then). */
  readonly #deferred = new Set<Promise<void>>();
  readonly #encoder = new TextEncoder();
  #lastStream: RtpStream | null = null;
  #lastEntry: Entry | null = null;
  #streamFiles = 0;
  /** Streams with a WAV writer, not finished yet. */
  #writers = 0;
  #callFiles = 0;
  #closed = false;

  constructor(settings: Settings, context: PluginContext, streamDir: string) {
    this.#settings = settings;
    this.#context = context;
    this.#streamDir = streamDir;
    this.#rulesMode = context.rules;
    this.#retain = new RetainBudget(settings.memory.retainBytes);
    this.#files = new BackgroundWriter({
      // Files are created and written synchronously by default: on a long capture, asynchronous
      // opens and writes issued from the packet path were seen to wait for tens of seconds,
      // holding the mixes and buffers that waited for them (memory grew with the capture).
      createInBackground: false,
      maxPendingBytes: settings.memory.pendingBytes,
      maxInFlightBytes: settings.memory.inFlightBytes,
      pool: this.#pool,
      onError: (path, error) => this.#context.warn(`cannot write ${path}: ${error.message}`),
    });
  }

  /** The per-packet hook. */
  packet(stream: RtpStream, header: RtpHeader, bytes: Uint8Array, arrival: number): void {
    let entry = stream === this.#lastStream ? this.#lastEntry : this.#entries.get(stream.id);
    if (entry === undefined || entry === null || entry.stream !== stream) {
      if (this.#closed || stream.ended) return;
      if (entry) this.#finishEntry(entry, null);
      entry = this.#open(stream, arrival);
    }
    this.#lastStream = stream;
    this.#lastEntry = entry;
    const track = entry.track;
    if (track === null) return;
    let result: number;
    try {
      result = track.push(header, bytes, arrival);
    } catch (error) {
      this.#fail(entry, error);
      return;
    }
    if (result === PUSH_UNDECODABLE) this.#keep(entry, header, bytes, arrival);
  }

  /** A stream ended: close its files and keep what the call files need. */
  streamEnded(record: RtpStreamRecord): void {
    const entry = this.#entries.get(record.id);
    if (entry) this.#finishEntry(entry, record);
  }

  /** A leg completed: its streams are done; write its file now (no rules) or wait. */
  legCompleted(leg: CallLeg): void {
    for (const id of leg.streams) {
      const entry = this.#entries.get(id);
      if (entry) this.#finishEntry(entry, null);
    }
    this.#legs.set(leg.id, legInfoOf(leg));
    if (!this.#settings.calls) return this.#forget(leg.id);
    // With rules, the leg's streams wait for its logical call.
    if (!this.#rulesMode) this.#writeLeg(leg.id);
  }

  /** A logical call completed: write its files. */
  logicalCompleted(call: LogicalCallRecord): void {
    if (!this.#rulesMode) {
      this.#warnOnce(
        "no-site",
        "logical calls are built but the plugin host was given no site: recording per leg",
      );
      return;
    }
    // (The legs' streams ended before their legs completed.)
    try {
      if (this.#settings.calls) this.#writeLogical(call);
    } finally {
      for (const leg of call.legs) {
        if (leg.record === false) this.#discard(leg.id);
        this.#forget(leg.id);
      }
    }
  }

  /** Finishes everything still open and waits for the pcap files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of [...this.#entries.values()]) this.#finishEntry(entry, null);
    if (this.#settings.calls) {
      // Legs whose logical call never came (input cut short), or that never completed.
      for (const legId of [...this.#finished.keys()]) {
        if (this.#legs.has(legId)) this.#writeLeg(legId);
      }
    }
    for (const legId of [...this.#finished.keys()]) this.#forget(legId);
    await this.#files.settle();
    await Promise.all([...this.#keepers]);
    if (!this.#settings.streams) {
      await Deno.remove(this.#streamDir, { recursive: true }).catch(() => {});
    }
    this.#context.log(
      `${this.#streamFiles} stream file(s), ${this.#callFiles} call file(s) in ${this.#settings.dir}`,
    );
  }

  #open(stream: RtpStream, arrival: number): Entry {
    const leg = stream.leg;
    if (leg && !this.#legs.has(leg.id)) this.#legs.set(leg.id, legInfoOf(leg));
    const base = this.#names.takeAll(
      recordingBaseName(
        leg
          ? {
            ts: arrival,
            id: leg.id,
            caller: leg.caller.user,
            callee: leg.callee.user,
            suffix: [stream.direction ?? "unknown", ssrcHex(stream.ssrc)],
          }
          : {
            ts: arrival,
            id: "unsignalled",
            caller: `${stream.src.ip}-${stream.src.port}`,
            callee: `${stream.dst.ip}-${stream.dst.port}`,
            suffix: [ssrcHex(stream.ssrc)],
          },
      ),
      [".wav", ".pcap"],
    );
    const entry: Entry = {
      id: stream.id,
      stream,
      track: null,
      writer: null,
      file: null,
      keeper: null,
      wavPath: join(this.#streamDir, `${base}.wav`),
      pcapPath: join(this.#settings.dir, `${base}.pcap`),
      legId: leg?.id ?? null,
    };
    this.#entries.set(stream.id, entry);
    if (leg && this.#context.legFlags(leg.id).record === false) return entry;
    entry.track = new StreamTrack({
      path: entry.wavPath,
      source: stream,
      jitterMs: this.#settings.jitterMs,
      writer: (sampleRate) => this.#streamWriter(entry, sampleRate),
      onUndecodable: (pt, encoding) =>
        this.#context.warn(
          `stream ${stream.id}: ${encoding} (payload type ${pt}) cannot be decoded; ` +
            `its packets are kept in ${base}.pcap`,
        ),
      onOtherRate: (pt, encoding, rate) =>
        this.#context.warn(
          `stream ${stream.id}: ${encoding} (payload type ${pt}) at ${rate} Hz differs from ` +
            `the recording's rate; those packets are skipped`,
        ),
    });
    return entry;
  }

  /** The writer of a stream's WAV: in the background, its audio kept for the call files. */
  #streamWriter(entry: Entry, sampleRate: number): ChunkedWavWriter {
    // The chunks being filled share a budget: many streams, smaller chunks.
    const share = Math.floor(STREAM_BUFFER_BYTES / ++this.#writers);
    let bytes = STREAM_CHUNK_BYTES.min;
    while (bytes * 2 <= Math.min(share, STREAM_CHUNK_BYTES.max)) bytes *= 2;
    // Created in the background, written as chunks fill (never waiting for a turn).
    const makeFile = () => entry.file = this.#files.open(entry.wavPath, { syncWrites: true });
    entry.writer = new ChunkedWavWriter({
      sampleRate,
      channels: 1,
      // A whole pool buffer: the header's room and the samples.
      chunkFrames: Math.floor((bytes - WAV_HEADER_BYTES) / 2),
      pool: this.#pool,
      // Without stream files, the file is made only if the audio cannot stay in memory.
      sink: this.#settings.streams ? makeFile() : makeFile,
      retain: this.#settings.calls ? this.#retain : null,
    });
    return entry.writer;
  }

  #keep(entry: Entry, header: RtpHeader, bytes: Uint8Array, arrival: number): void {
    try {
      entry.keeper ??= new PacketKeeper(entry.pcapPath);
      const start = header.payloadOffset - header.headerLength;
      const end = header.payloadOffset + header.payloadLength + header.paddingLength;
      entry.keeper.keep(
        this.#context.frame,
        bytes,
        start,
        end,
        arrival,
        entry.stream.src,
        entry.stream.dst,
      );
    } catch (error) {
      this.#fail(entry, error);
    }
  }

  #fail(entry: Entry, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#context.warn(`stream ${entry.id}: recording stopped: ${message}`);
    try {
      entry.track?.finish();
    } catch {
      // the file is as good as its last flush
    }
    entry.track = null;
  }

  #finishEntry(entry: Entry, record: RtpStreamRecord | null): void {
    if (this.#entries.get(entry.id) === entry) {
      this.#entries.delete(entry.id);
      if (entry.writer !== null) this.#writers--;
    }
    if (this.#lastEntry === entry) {
      this.#lastEntry = null;
      this.#lastStream = null;
    }
    let summary: TrackSummary | null = null;
    try {
      summary = entry.track?.finish() ?? null;
    } catch (error) {
      this.#context.warn(`stream ${entry.id}: cannot finish the recording: ${String(error)}`);
    }
    entry.track = null;
    const keeper = entry.keeper;
    const legId = record?.legId ?? entry.stream.leg?.id ?? entry.legId;
    const off = legId !== null && this.#context.legFlags(legId).record === false;
    if (keeper) {
      this.#pending(
        keeper.close().then((kept) => {
          if (off) return removeQuietly(kept.path);
          if (kept.error) this.#context.warn(`cannot write ${kept.path}: ${kept.error}`);
          if (kept.missed > 0) {
            this.#context.warn(`${kept.missed} packet(s) of ${entry.id} could not be kept`);
          }
        }),
      );
    }
    const writer = entry.writer;
    if (off) {
      writer?.discard();
      return;
    }
    if (summary?.path && this.#settings.streams) this.#streamFiles++;
    if (!summary || (summary.path === null && keeper === null)) {
      writer?.release();
      return;
    }
    const s = record ?? entry.stream.record();
    const recorded: KeptStream = {
      id: entry.id,
      legId,
      direction: s.direction,
      ssrcHex: s.ssrcHex,
      src: s.src,
      dst: s.dst,
      wav: summary.path,
      pcap: keeper ? entry.pcapPath : null,
      sampleRate: summary.sampleRate,
      frames: summary.frames,
      firstArrival: summary.firstArrival,
      lastArrival: summary.lastArrival,
      coverage: summary.coverage,
      codecs: s.codecs,
      undecodable: summary.undecodable,
      packets: s.packets,
      lost: s.lost,
      writer,
      file: entry.file,
    };
    if (!this.#settings.calls || legId === null) {
      if (!this.#settings.streams) writer?.discard();
      else writer?.release();
      return;
    }
    let list = this.#finished.get(legId);
    if (!list) this.#finished.set(legId, list = []);
    list.push(recorded);
  }

  #writeLeg(legId: string): void {
    const leg = this.#legs.get(legId);
    const streams = this.#finished.get(legId) ?? [];
    try {
      if (!leg || streams.length === 0) return;
      const plan = legPlan(streams);
      const base = this.#names.takeAll(
        recordingBaseName({ ts: leg.startTs, id: leg.id, caller: leg.caller, callee: leg.callee }),
        [".wav", ".json"],
      );
      const file = plan ? this.#mix(plan, `${base}.wav`) : null;
      const sidecar = {
        kind: "leg",
        id: leg.id,
        callId: leg.callId,
        parties: {
          caller: leg.caller,
          callee: leg.callee,
          wire: { caller: leg.caller, callee: leg.callee },
        },
        callStart: iso(leg.startTs),
        callStartTs: leg.startTs,
        start: plan ? iso(plan.start) : null,
        startTs: plan?.start ?? null,
        durationSeconds: file ? round(file.duration) : 0,
        file: file?.name ?? null,
        channels: { left: "caller", right: "callee" },
        streams: streams.map((s) => {
          const fromCallee = s.direction === "callee-to-caller";
          const sender = fromCallee ? leg.callee : leg.caller;
          return this.#streamEntry(s, plan, fromCallee ? "right" : "left", sender);
        }),
      };
      this.#writeSidecar(`${base}.json`, sidecar);
    } catch (error) {
      this.#context.warn(`cannot write the recording of leg ${legId}: ${String(error)}`);
    } finally {
      this.#forget(legId);
    }
  }

  #writeLogical(call: LogicalCallRecord): void {
    const plan = logicalPlan(call, (id) => this.#finished.get(id) ?? []);
    const pcaps = call.legs.flatMap((l) => (this.#finished.get(l.id) ?? []).filter((s) => s.pcap));
    if (plan === null && pcaps.length === 0) return;
    const id = call.id.replace(/^lc:/, "");
    const base = this.#names.takeAll(
      recordingBaseName({ ts: call.startTs, id, caller: call.caller, callee: call.callee }),
      [".wav", ".json"],
    );
    try {
      const stereo = plan ? this.#mix(plan.stereo, `${base}.wav`) : null;
      let conference = null;
      if (plan?.conference) {
        const c = plan.conference;
        const mixedName = this.#names.take(`${base}_mixed`, ".wav");
        const mixed = this.#mix(c.mixed, `${mixedName}.wav`);
        const participants = c.participants.map((p) => {
          const name = this.#names.take(
            recordingBaseName({
              ts: call.startTs,
              id,
              caller: call.caller,
              callee: call.callee,
              suffix: ["party", p.party],
            }),
            ".wav",
          );
          const track = this.#mix(p.track, `${name}.wav`);
          return { party: p.party, file: track.name, durationSeconds: round(track.duration) };
        });
        conference = {
          start: iso(c.start),
          startTs: c.start,
          mixed: mixed.name,
          durationSeconds: round(mixed.duration),
          participants,
        };
      }
      const senders = new Map((plan?.streams ?? []).map((u) => [u.stream, u]));
      const legOf = new Map(call.legs.map((l) => [l.id, l]));
      const streams = call.legs.flatMap((l) => this.#finished.get(l.id) ?? []).filter((s) =>
        legOf.get(s.legId ?? "")?.record !== false
      );
      const sidecar = {
        kind: "logical-call",
        id: call.id,
        scenario: call.scenario,
        scenarios: call.scenarios,
        parties: {
          caller: call.caller,
          callee: call.callee,
          answeredBy: call.answeredBy,
          hungUpBy: call.hungUpBy,
          legs: call.legs.map((l) => ({
            id: l.id,
            callId: l.callId,
            wire: l.wire,
            parties: l.parties,
            realCaller: l.realCaller,
            realCallee: l.realCallee,
            record: l.record,
            skipped: plan?.skipped.find((s) => s.leg === l.id)?.reason ?? null,
          })),
        },
        callStart: iso(call.startTs),
        callStartTs: call.startTs,
        start: plan ? iso(plan.stereo.start) : null,
        startTs: plan?.stereo.start ?? null,
        durationSeconds: stereo ? round(stereo.duration) : 0,
        file: stereo?.name ?? null,
        channels: {
          left: plan?.caller ?? call.caller,
          right: plan ? plan.stereo.channels[1]!.map((g) => g.party) : [],
        },
        conference,
        streams: streams.map((s) => {
          const use = senders.get(s);
          return this.#streamEntry(s, plan?.stereo ?? null, use?.channel ?? null, use?.sender);
        }),
      };
      this.#writeSidecar(`${base}.json`, sidecar);
    } catch (error) {
      this.#context.warn(`cannot write the recording of ${call.id}: ${String(error)}`);
    }
  }

  /**
   * Writes a call file. Its file is created in the background and the mix
   * runs once the handle is there, from the audio its streams still hold in
   * memory (held for it until then) or, for a stream whose audio is no
   * longer in memory, from its file (once written, when a write of it is
   * still in flight). Over the memory cap, the mix runs at once.
   *
   * @returns The file's name and duration (known before it is written).
   */
  #mix(plan: PlannedFile, name: string): { name: string; duration: number } {
    const waits: Promise<Error | null>[] = [];
    const held: PcmChunks[] = [];
    const spec: MixSpec = {
      path: join(this.#settings.dir, name),
      durationSeconds: plan.duration,
      channels: plan.channels.map((groups) =>
        groups.map((g) => ({
          sources: g.streams.map((s) => {
            const kept = s as KeptStream;
            const pcm = kept.writer?.pcm ?? null;
            if (pcm !== null) {
              pcm.hold();
              held.push(pcm);
            } else if (kept.file && !kept.file.written) {
              waits.push(kept.file.done);
            }
            return {
              path: s.wav!,
              pcm,
              sampleRate: s.sampleRate,
              frames: s.frames,
              offset: s.firstArrival - plan.start,
              coverage: s.coverage,
            };
          }),
        }))
      ),
    };
    const summary = plannedMixSummary(spec);
    this.#callFiles++;
    // Over the memory cap, the mix runs now (its file opened at once) instead of holding the audio.
    const now = waits.length === 0 && this.#files.full;
    const file = this.#files.open(spec.path);
    // Audio held for a mix waiting for its file counts as bytes waiting to be written.
    let heldBytes = 0;
    if (!now) { for (const pcm of held) heldBytes += pcm.bytes; }
    this.#files.add(heldBytes);
    let ran!: () => void;
    const done = new Promise<void>((resolve) => ran = resolve);
    const run = (ok: boolean) => {
      this.#files.release(heldBytes);
      try {
        if (!ok) return file.close(); // its error is reported
        mixWith(spec, (format) =>
          new ChunkedWavWriter({
            sampleRate: format.sampleRate,
            channels: format.channels,
            chunkFrames: Math.max(
              1,
              Math.min(
                format.frames,
                Math.floor((CALL_CHUNK_BYTES - WAV_HEADER_BYTES) / (2 * format.channels)),
              ),
            ),
            sink: file,
            pool: this.#pool,
          }));
      } catch (error) {
        this.#context.warn(`cannot write ${spec.path}: ${errorMessage(error)}`);
        file.discard();
      } finally {
        for (const pcm of held) pcm.drop();
        ran();
      }
    };
    if (now) {
      run(true);
    } else if (waits.length === 0) {
      file.onOpen(run);
    } else {
      // A stream file still being written: once it is.
      Promise.all(waits).then(() => file.onOpen(run));
    }
    if (spec.channels.some((groups) => groups.some((g) => g.sources.some((s) => !s.pcm)))) {
      // Reads stream files: they stay until it has run.
      const later: Promise<void> = done.finally(() => this.#deferred.delete(later));
      this.#deferred.add(later);
      this.#files.track(later);
    }
    return { name, duration: summary.durationSeconds };
  }

  #streamEntry(
    s: RecordedStream,
    plan: PlannedFile | null,
    channel: "left" | "right" | null,
    sender: string | null | undefined,
  ) {
    return {
      id: s.id,
      legId: s.legId,
      direction: s.direction,
      ssrc: s.ssrcHex,
      ...(sender === undefined ? {} : { sender }),
      channel,
      file: s.wav && this.#settings.streams ? basename(s.wav) : null,
      pcap: s.pcap ? basename(s.pcap) : null,
      codecs: s.codecs,
      undecodable: s.undecodable,
      sampleRate: s.sampleRate,
      start: iso(s.firstArrival),
      offsetSeconds: plan ? round(s.firstArrival - plan.start) : null,
      durationSeconds: s.sampleRate > 0 ? round(s.frames / s.sampleRate) : 0,
      packets: s.packets,
      lost: s.lost,
    };
  }

  #writeSidecar(name: string, data: unknown): void {
    this.#files.writeFile(
      join(this.#settings.dir, name),
      this.#encoder.encode(JSON.stringify(data, null, 2) + "\n"),
    );
  }

  /** Removes the files of a leg recording was switched off for. */
  #discard(legId: string): void {
    for (const s of this.#finished.get(legId) ?? []) {
      const writer = s.writer;
      if (writer) this.#afterMixes(() => writer.discard());
      if (s.pcap) removeQuietly(s.pcap);
    }
  }

  /** Drops what was kept for a leg (and its stream files when they are not wanted). */
  #forget(legId: string): void {
    for (const s of this.#finished.get(legId) ?? []) {
      const writer = s.writer;
      if (!writer) continue;
      writer.release();
      if (!this.#settings.streams) this.#afterMixes(() => writer.discard());
    }
    this.#finished.delete(legId);
    this.#legs.delete(legId);
  }

  /** Runs `fn` now, or once the call files waiting for stream files are written. */
  #afterMixes(fn: () => void): void {
    if (this.#deferred.size === 0) return fn();
    this.#files.track(Promise.allSettled([...this.#deferred]).then(fn));
  }

  /** Keeps a pcap file's completion until it is done (for `close`). */
  #pending(done: Promise<unknown>): void {
    const settled: Promise<unknown> = done.catch((error) => {
      this.#context.warn(`cannot finish a pcap file: ${String(error)}`);
    }).finally(() => this.#keepers.delete(settled));
    this.#keepers.add(settled);
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#context.warn(message);
  }
}

function legInfoOf(leg: CallLeg): LegInfo {
  return {
    id: leg.id,
    callId: leg.callId,
    caller: leg.caller.user,
    callee: leg.callee.user,
    startTs: leg.startTs,
  };
}

function iso(ts: number): string | null {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // not there
  }
}
