/**
 * One RTP stream recorded to a mono 16-bit WAV file while the capture is
 * read. Packets are placed by their RTP timestamp relative to the stream's
 * first packet, whose arrival is sample 0 of the file, so loss and gaps
 * (hold) become silence and the streams of a call stay in step. A small
 * reorder window (the jitter buffer) holds the raw payloads; they are
 * decoded in timestamp order when they leave it (stateful codecs such as
 * G.722 see their packets in order), duplicates and packets older than what
 * was already written are dropped, and timestamp wrap is handled. When the
 * RTP timestamp drifts implausibly far from the arrival time (a new
 * timestamp base, a sender that keeps its clock still through silence), the
 * stream is re-anchored to the arrival time.
 *
 * Built for the per-packet fast path: nothing is allocated per packet but
 * the payload view handed to the decoder. A packet of a stateless codec
 * (G.711, L16, DVI4) that extends the stream, the usual case, is decoded at
 * once into its place in the chunk the file is written from (see
 * {@linkcode ChunkedWavWriter}), ahead of what the window has released;
 * the others (reordered packets, G.722, several channels) are copied into
 * a reused pool and decoded when they leave the window. Where two packets
 * overlap, the one with the earlier position wins, as when everything is
 * decoded in order. By default the file is written synchronously; the
 * recorder hands in writers whose files are created in the background and
 * whose audio stays in memory (within a budget) for the call files.
 *
 * @module
 */

import type { PayloadInfo } from "../../engine/calls/stream.ts";
import type { RtpHeader } from "../../engine/rtp/rtp_header.ts";
import { staticPayloadFormat } from "../../engine/rtp/payload_types.ts";
import { ChunkedWavWriter, SyncFileSink } from "./chunked_wav_writer.ts";
import type { AudioDecoder } from "./codecs/audio_decoder.ts";
import { decoderFor } from "./codecs/decoder_for.ts";

/** {@linkcode StreamTrack.push} result: the packet is audio and was taken. */
export const PUSH_AUDIO = 0;
/** {@linkcode StreamTrack.push} result: not audio (telephone-event, comfort noise, video): skipped. */
export const PUSH_SKIPPED = 1;
/** {@linkcode StreamTrack.push} result: audio in an encoding that cannot be decoded here. */
export const PUSH_UNDECODABLE = 2;
/** {@linkcode StreamTrack.push} result: a duplicate, or too late to be written: dropped. */
export const PUSH_DROPPED = 3;

/** Default reorder window in milliseconds. */
export const DEFAULT_JITTER_MS = 200;
/** Default drift between RTP time and arrival time, in seconds, past which a stream is re-anchored. */
export const DEFAULT_REANCHOR_SECONDS = 3;
/** Gaps shorter than this (seconds) do not split a stream's coverage (lost packets stay "covered"). */
export const COVERAGE_GAP_SECONDS = 0.25;
/** Most packets held in the reorder window, whatever their duration. */
export const MAX_WINDOW_PACKETS = 2048;
/** Most coverage intervals kept per stream; past it, the last one is extended. */
export const MAX_COVERAGE_INTERVALS = 100000;

const KIND_UNKNOWN = 0;
const KIND_AUDIO = 1;
const KIND_SKIP = 2;
const KIND_UNDECODABLE = 3;
const KIND_OTHER_RATE = 4;

const NOT_AUDIO = /^(telephone-event|CN|red|ulpfec|flexfec|rtx)$/i;
const INITIAL_SLOTS = 16;
const INITIAL_SLOT_BYTES = 512;
const MIN_CHUNK_FRAMES = 256;
const MAX_CHUNK_BYTES = 1 << 22;

/** What a stream announces about its payload types (an `RtpStream` satisfies it). */
export interface PayloadSource {
  /** Payload types by number, from SDP (may change when SDP comes later). */
  readonly payloads: ReadonlyMap<number, PayloadInfo>;
  /** Payload type of telephone-event, or -1. */
  readonly telephoneEvent: number;
}

/** Options of a {@linkcode StreamTrack}. */
export interface StreamTrackOptions {
  /** Where the WAV file goes (created on the first decodable packet). */
  path: string;
  /** The stream's payload types. */
  source: PayloadSource;
  /** Reorder window in milliseconds (default 200). */
  jitterMs?: number;
  /** Drift in seconds between RTP and arrival time that re-anchors the stream (default 3). */
  reanchorSeconds?: number;
  /**
   * Seconds of audio buffered between writes to the file, each followed by a
   * header update (default 1); only for the default writer.
   */
  flushSeconds?: number;
  /**
   * Makes the file's writer when the first decodable packet comes (default: a
   * synchronous file at `path`, written every `flushSeconds`).
   */
  writer?: (sampleRate: number) => ChunkedWavWriter;
  /**
   * Decode packets of stateless codecs as they arrive, in their place
   * (default true); false: every packet waits in the window as a payload.
   * The file is the same either way.
   */
  decodeOnArrival?: boolean;
  /** Called once per payload type that is audio but not decodable (G.729, GSM, opus...). */
  onUndecodable?: (payloadType: number, encoding: string) => void;
  /** Called once per payload type whose sample rate differs from the file's (its packets are skipped). */
  onOtherRate?: (payloadType: number, encoding: string, sampleRate: number) => void;
}

/** Packet counts of a track. */
export interface TrackCounts {
  /** Audio packets written. */
  audio: number;
  /** Packets skipped as not audio (telephone-event, CN) or at another sample rate. */
  skipped: number;
  /** Audio packets in an encoding not decodable here. */
  undecodable: number;
  /** Duplicates dropped. */
  duplicates: number;
  /** Packets that came after their place had been written (beyond the reorder window). */
  late: number;
  /** Times the stream was re-anchored to the arrival time. */
  reanchored: number;
}

/** What a finished track wrote. */
export interface TrackSummary {
  /** The WAV file, or `null` when no decodable audio came (nothing was written). */
  path: string | null;
  /** Sample rate of the file (0 without a file). */
  sampleRate: number;
  /** Frames in the file. */
  frames: number;
  /** Arrival time of the stream's first packet: the time of the file's sample 0. */
  firstArrival: number;
  /** Arrival time of the last packet. */
  lastArrival: number;
  /** Encodings decoded into the file. */
  codecs: string[];
  /** Audio encodings that could not be decoded. */
  undecodable: string[];
  /** Packet counts. */
  counts: TrackCounts;
  /** Frame intervals holding received audio: `[start, end)` pairs, flattened, in order. */
  coverage: number[];
  /** Whether the WAV size cap cut the recording. */
  truncated: boolean;
}

/** Records one RTP stream into a mono WAV file. */
export class StreamTrack {
  readonly #path: string;
  readonly #source: PayloadSource;
  readonly #jitterSeconds: number;
  readonly #reanchorSeconds: number;
  readonly #flushSeconds: number;
  readonly #makeWriter: StreamTrackOptions["writer"];
  readonly #decodeOnArrival: boolean;
  readonly #onUndecodable: StreamTrackOptions["onUndecodable"];
  readonly #onOtherRate: StreamTrackOptions["onOtherRate"];

  // Payload types, resolved on first sight.
  readonly #kinds = new Uint8Array(128);
  #payloadsSeen: ReadonlyMap<number, PayloadInfo> | null = null;
  readonly #decoders: (AudioDecoder | null)[] = new Array(128).fill(null);
  readonly #ratios = new Float64Array(128);
  /** 1 for payload types whose packets can be decoded as they come (stateless, mono). */
  readonly #stageable = new Uint8Array(128);
  readonly #codecs: string[] = [];
  readonly #undecodable: string[] = [];

  // Timeline: RTP time extended past 32 bits, anchored to arrival time.
  #started = false;
  #firstArrival = 0;
  #lastArrival = 0;
  #lastRawTs = 0;
  #lastExtTs = 0;
  #firstExtTs = 0;
  #anchorExtTs = 0;
  #anchorPos = 0;

  // Output.
  #writer: ChunkedWavWriter | null = null;
  #rate = 0;
  #windowFrames = 0;
  #reanchorFrames = 0;
  #gapFrames = 0;
  #written = 0; // frames committed to the writer
  #maxEnd = 0; // end of the furthest packet taken
  /** End of the furthest packet already decoded into the chunk ahead of `#written`. */
  #stagedEnd = 0;
  /** Most frames ahead of `#written` a packet is decoded at on arrival. */
  #stageFrames = 0;
  /** Decoding room of the slow path (stereo, overlaps); made when first needed. */
  #pcm = new Int16Array(0);
  readonly #coverage: number[] = [];
  #summary: TrackSummary | null = null;

  // Reorder window: slots of raw payloads; `#order` is a ring of slots sorted
  // by position, from `#head` (its length, a power of two, is the slot count).
  #slotBytes = INITIAL_SLOT_BYTES;
  #pool = new Uint8Array(INITIAL_SLOTS * INITIAL_SLOT_BYTES);
  #slotPos = new Float64Array(INITIAL_SLOTS);
  #slotFrames = new Int32Array(INITIAL_SLOTS);
  #slotLength = new Int32Array(INITIAL_SLOTS);
  #slotType = new Uint8Array(INITIAL_SLOTS);
  /** Frames decoded on arrival into the chunk (-1: the payload waits in the pool). */
  #slotDecoded = new Int32Array(INITIAL_SLOTS);
  #order = new Int32Array(INITIAL_SLOTS);
  #free = new Int32Array(INITIAL_SLOTS);
  #freeCount = INITIAL_SLOTS;
  #head = 0;
  #count = 0;

  readonly #counts: TrackCounts = {
    audio: 0,
    skipped: 0,
    undecodable: 0,
    duplicates: 0,
    late: 0,
    reanchored: 0,
  };

  /** @param options Path, payload types, window and callbacks. */
  constructor(options: StreamTrackOptions) {
    this.#path = options.path;
    this.#source = options.source;
    this.#jitterSeconds = Math.max(0, (options.jitterMs ?? DEFAULT_JITTER_MS) / 1000);
    this.#reanchorSeconds = Math.max(0.5, options.reanchorSeconds ?? DEFAULT_REANCHOR_SECONDS);
    this.#flushSeconds = options.flushSeconds ?? 1;
    this.#makeWriter = options.writer;
    this.#decodeOnArrival = options.decodeOnArrival ?? true;
    this.#onUndecodable = options.onUndecodable;
    this.#onOtherRate = options.onOtherRate;
    for (let i = 0; i < INITIAL_SLOTS; i++) this.#free[i] = INITIAL_SLOTS - 1 - i;
  }

  /** Sample rate of the file, 0 before the first decodable packet. */
  get sampleRate(): number {
    return this.#rate;
  }

  /** Frames written to the file so far (the reorder window not included). */
  get framesWritten(): number {
    return this.#written;
  }

  /** Packet counts so far. */
  get counts(): Readonly<TrackCounts> {
    return this.#counts;
  }

  /**
   * Takes one RTP packet of the stream.
   *
   * @param header The decoded header (offsets absolute into `bytes`).
   * @param bytes The buffer holding the packet (only read during the call).
   * @param arrival Capture time of the packet.
   * @returns {@linkcode PUSH_AUDIO}, {@linkcode PUSH_SKIPPED}, {@linkcode PUSH_UNDECODABLE} or
   *   {@linkcode PUSH_DROPPED}.
   * @throws {TypeError} After {@linkcode StreamTrack.finish}; file system errors pass through.
   */
  push(header: RtpHeader, bytes: Uint8Array, arrival: number): number {
    if (this.#summary !== null) throw new TypeError("Cannot record: the track is finished");
    const ts = header.timestamp;
    if (!this.#started) {
      this.#started = true;
      this.#firstArrival = arrival;
      this.#lastRawTs = ts;
      this.#lastExtTs = ts;
      this.#firstExtTs = ts;
      this.#anchorExtTs = ts;
    }
    if (arrival > this.#lastArrival) this.#lastArrival = arrival;
    // Signed 32-bit difference: wrap-around keeps the extended timestamp monotonic.
    const delta = (ts - this.#lastRawTs) | 0;
    const ext = this.#lastExtTs + delta;
    if (delta > 0) {
      this.#lastRawTs = ts;
      this.#lastExtTs = ext;
    }
    if (this.#source.payloads !== this.#payloadsSeen) {
      // SDP came (or changed) after the stream began: look the payload types up again.
      this.#payloadsSeen = this.#source.payloads;
      this.#kinds.fill(KIND_UNKNOWN);
    }
    const pt = header.payloadType;
    let kind = this.#kinds[pt]!;
    if (kind === KIND_UNKNOWN) kind = this.#resolve(pt);
    if (kind !== KIND_AUDIO) {
      if (kind === KIND_UNDECODABLE) {
        this.#counts.undecodable++;
        return PUSH_UNDECODABLE;
      }
      this.#counts.skipped++;
      return PUSH_SKIPPED;
    }
    const decoder = this.#decoders[pt]!;
    if (this.#writer === null) {
      this.#open(decoder.sampleRate);
      if (this.#writer === null) return PUSH_DROPPED;
    } else if (decoder.sampleRate !== this.#rate) {
      this.#kinds[pt] = KIND_OTHER_RATE;
      this.#onOtherRate?.(pt, decoder.encodingName, decoder.sampleRate);
      this.#counts.skipped++;
      return PUSH_SKIPPED;
    }
    const length = header.payloadLength;
    const frames = Math.floor(decoder.samplesFor(length) / decoder.channels);
    if (frames <= 0) {
      this.#counts.skipped++;
      return PUSH_SKIPPED;
    }
    const rate = this.#rate;
    let pos = Math.round(this.#anchorPos + (ext - this.#anchorExtTs) * this.#ratios[pt]!);
    const arrivalPos = (arrival - this.#firstArrival) * rate;
    if (Math.abs(pos - arrivalPos) > this.#reanchorFrames) {
      if (delta <= 0) {
        // An old packet whose time makes no sense any more (from before a re-anchor).
        this.#counts.late++;
        return PUSH_DROPPED;
      }
      this.#anchorExtTs = ext;
      this.#anchorPos = Math.max(Math.round(arrivalPos), this.#maxEnd);
      pos = this.#anchorPos;
      this.#counts.reanchored++;
    }
    if (pos + frames <= this.#written) {
      this.#counts.late++;
      return PUSH_DROPPED;
    }
    if (!this.#insert(pos, frames, pt, bytes, header.payloadOffset, length, decoder)) {
      this.#counts.duplicates++;
      return PUSH_DROPPED;
    }
    this.#counts.audio++;
    if (pos + frames > this.#maxEnd) this.#maxEnd = pos + frames;
    const releaseBefore = this.#maxEnd - this.#windowFrames;
    while (this.#count > 0) {
      const first = this.#order[this.#head]!;
      if (
        this.#count < MAX_WINDOW_PACKETS &&
        this.#slotPos[first]! + this.#slotFrames[first]! > releaseBefore
      ) break;
      this.#release();
    }
    return PUSH_AUDIO;
  }

  /**
   * Writes what the reorder window still holds and closes the file. Later
   * calls return the same summary.
   *
   * @returns What the track wrote.
   */
  finish(): TrackSummary {
    if (this.#summary !== null) return this.#summary;
    let frames = 0;
    let truncated = false;
    try {
      while (this.#count > 0) this.#release();
    } finally {
      if (this.#writer !== null) {
        const s = this.#writer.close();
        frames = s.frames;
        truncated = s.truncated;
      }
    }
    this.#summary = {
      path: this.#writer === null ? null : this.#path,
      sampleRate: this.#rate,
      frames,
      firstArrival: this.#firstArrival,
      lastArrival: this.#lastArrival,
      codecs: [...this.#codecs],
      undecodable: [...this.#undecodable],
      counts: { ...this.#counts },
      coverage: this.#coverage.slice(),
      truncated,
    };
    this.#pool = new Uint8Array(0);
    return this.#summary;
  }

  #resolve(pt: number): number {
    const announced = this.#source.payloads.get(pt);
    const known = staticPayloadFormat(pt);
    const name = announced?.name ?? known?.name ?? null;
    let kind: number;
    if (pt === this.#source.telephoneEvent || name === null || NOT_AUDIO.test(name)) {
      kind = KIND_SKIP;
    } else if (known?.media === "video" && !announced) {
      kind = KIND_SKIP;
    } else {
      const clockRate = announced?.clockRate || known?.clockRate || 8000;
      // SDP's channel count does not reach the stream; the static table knows PT 10 (L16 stereo).
      const channels = known !== undefined && known.name.toUpperCase() === name.toUpperCase()
        ? known.channels
        : 1;
      const decoder = decoderFor(name, clockRate, channels);
      if (decoder === null) {
        kind = KIND_UNDECODABLE;
        if (!this.#undecodable.includes(name)) {
          this.#undecodable.push(name);
          this.#onUndecodable?.(pt, name);
        }
      } else {
        kind = KIND_AUDIO;
        this.#decoders[pt] = decoder;
        this.#stageable[pt] =
          this.#decodeOnArrival && decoder.stateless === true && decoder.channels === 1 ? 1 : 0;
        this.#ratios[pt] = decoder.sampleRate / clockRate;
        if (!this.#codecs.includes(decoder.encodingName)) this.#codecs.push(decoder.encodingName);
      }
    }
    this.#kinds[pt] = kind;
    return kind;
  }

  #open(sampleRate: number): void {
    if (this.#makeWriter) {
      this.#writer = this.#makeWriter(sampleRate);
    } else {
      let chunkFrames = Math.round(this.#flushSeconds * sampleRate);
      if (!(chunkFrames >= MIN_CHUNK_FRAMES)) chunkFrames = MIN_CHUNK_FRAMES;
      chunkFrames = Math.min(chunkFrames, MAX_CHUNK_BYTES / 2);
      this.#writer = new ChunkedWavWriter({
        sampleRate,
        channels: 1,
        chunkFrames,
        sink: new SyncFileSink(this.#path),
        headerEveryBytes: 0,
      });
    }
    this.#rate = sampleRate;
    this.#windowFrames = Math.round(this.#jitterSeconds * sampleRate);
    this.#reanchorFrames = Math.round(this.#reanchorSeconds * sampleRate);
    this.#gapFrames = Math.round(COVERAGE_GAP_SECONDS * sampleRate);
    this.#stageFrames = Math.max(4 * this.#windowFrames, sampleRate);
    // The file's sample 0 is the first packet's arrival, whatever its payload type.
    this.#anchorExtTs = this.#firstExtTs;
    this.#anchorPos = 0;
  }

  /**
   * Puts a packet in the window; false when a packet already holds that
   * position. A stateless packet beyond everything taken is decoded now,
   * into its place in the chunk; others wait in the pool.
   */
  #insert(
    pos: number,
    frames: number,
    pt: number,
    bytes: Uint8Array,
    offset: number,
    length: number,
    decoder: AudioDecoder,
  ): boolean {
    const order = this.#order;
    const mask = order.length - 1;
    const head = this.#head;
    let at = this.#count;
    while (at > 0 && this.#slotPos[order[(head + at - 1) & mask]!]! > pos) at--;
    if (at > 0 && this.#slotPos[order[(head + at - 1) & mask]!]! === pos) return false;
    if (this.#freeCount === 0) this.#growSlots();
    const slot = this.#free[--this.#freeCount]!;
    const end = Math.min(offset + length, bytes.length);
    const ahead = pos - this.#written;
    if (
      this.#stageable[pt] === 1 && pos >= this.#maxEnd && ahead + frames <= this.#stageFrames
    ) {
      // No packet in the window reaches this far: decode it in its place now.
      const writer = this.#writer!;
      writer.reserve(ahead + frames, Math.max(0, this.#stagedEnd - this.#written));
      const n = decoder.decode(bytes.subarray(offset, end), writer.chunk, writer.at + ahead);
      this.#slotDecoded[slot] = n;
      if (pos + n > this.#stagedEnd) this.#stagedEnd = pos + n;
    } else {
      if (length > this.#slotBytes) this.#growPool(length);
      this.#pool.set(bytes.subarray(offset, end), slot * this.#slotBytes);
      this.#slotDecoded[slot] = -1;
    }
    this.#slotPos[slot] = pos;
    this.#slotFrames[slot] = frames;
    this.#slotLength[slot] = end - offset;
    this.#slotType[slot] = pt;
    const ring = this.#order; // (grown above if the slots ran out)
    const ringMask = ring.length - 1;
    const first = this.#head;
    for (let i = this.#count; i > at; i--) {
      ring[(first + i) & ringMask] = ring[(first + i - 1) & ringMask]!;
    }
    ring[(first + at) & ringMask] = slot;
    this.#count++;
    return true;
  }

  /** Writes the earliest packet of the window (decoding it if it waited in the pool). */
  #release(): void {
    const slot = this.#order[this.#head]!;
    this.#head = (this.#head + 1) & (this.#order.length - 1);
    this.#count--;
    this.#free[this.#freeCount++] = slot;
    const writer = this.#writer!;
    let pos = this.#slotPos[slot]!;
    const decoded = this.#slotDecoded[slot]!;
    if (decoded >= 0) {
      // Already in its place, ahead of what was written.
      let frames = decoded;
      if (pos < this.#written) {
        const skip = this.#written - pos;
        if (skip >= frames) return;
        frames -= skip;
        pos = this.#written;
      } else if (pos > this.#written) {
        writer.writeSilence(pos - this.#written);
      }
      writer.commit(frames);
      const end = pos + frames;
      this.#written = end;
      this.#cover(pos, end);
      return;
    }
    const decoder = this.#decoders[this.#slotType[slot]!]!;
    const base = slot * this.#slotBytes;
    const payload = this.#pool.subarray(base, base + this.#slotLength[slot]!);
    const needed = decoder.samplesFor(payload.length);
    if (pos >= this.#written && decoder.channels === 1) {
      // Decode straight into the file's chunk (over packets decoded ahead with later positions).
      if (pos > this.#written) writer.writeSilence(pos - this.#written);
      writer.reserve(needed, Math.max(0, this.#stagedEnd - pos));
      const frames = decoder.decode(payload, writer.chunk, writer.at);
      writer.commit(frames);
      const end = pos + frames;
      this.#written = end;
      this.#cover(pos, end);
      return;
    }
    if (needed > this.#pcm.length) this.#pcm = new Int16Array(needed * 2);
    const pcm = this.#pcm;
    const values = decoder.decode(payload, pcm, 0);
    const channels = decoder.channels;
    let frames = Math.floor(values / channels);
    if (channels > 1) {
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += pcm[f * channels + c]!;
        pcm[f] = Math.round(sum / channels);
      }
    }
    if (pos < this.#written) {
      const skip = this.#written - pos;
      if (skip >= frames) return;
      pcm.copyWithin(0, skip, frames);
      frames -= skip;
      pos = this.#written;
    } else if (pos > this.#written) {
      writer.writeSilence(pos - this.#written);
    }
    writer.write(pcm, frames);
    const end = pos + frames;
    this.#written = end;
    this.#cover(pos, end);
  }

  #cover(start: number, end: number): void {
    const c = this.#coverage;
    const n = c.length;
    if (n > 0 && (start - c[n - 1]! <= this.#gapFrames || n >= 2 * MAX_COVERAGE_INTERVALS)) {
      c[n - 1] = end;
    } else {
      c.push(start, end);
    }
  }

  #growSlots(): void {
    const old = this.#slotPos.length;
    const size = old * 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ) => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.#slotPos = grow(this.#slotPos, (n) => new Float64Array(n));
    this.#slotFrames = grow(this.#slotFrames, (n) => new Int32Array(n));
    this.#slotLength = grow(this.#slotLength, (n) => new Int32Array(n));
    this.#slotType = grow(this.#slotType, (n) => new Uint8Array(n));
    this.#slotDecoded = grow(this.#slotDecoded, (n) => new Int32Array(n));
    // The ring, from its head, to the start of a longer one.
    const order = new Int32Array(size);
    for (let i = 0; i < this.#count; i++) order[i] = this.#order[(this.#head + i) & (old - 1)]!;
    this.#order = order;
    this.#head = 0;
    this.#free = new Int32Array(size);
    for (let i = 0; i < size - old; i++) this.#free[i] = size - 1 - i;
    this.#freeCount = size - old;
    const pool = new Uint8Array(size * this.#slotBytes);
    pool.set(this.#pool);
    this.#pool = pool;
  }

  #growPool(length: number): void {
    let slotBytes = this.#slotBytes;
    while (slotBytes < length) slotBytes *= 2;
    const slots = this.#slotPos.length;
    const pool = new Uint8Array(slots * slotBytes);
    for (let s = 0; s < slots; s++) {
      pool.set(
        this.#pool.subarray(s * this.#slotBytes, s * this.#slotBytes + this.#slotLength[s]!),
        s * slotBytes,
      );
    }
    this.#pool = pool;
    this.#slotBytes = slotBytes;
  }
}
