/**
 * The RTP that the sipp instances of `make_captures.sh` play with
 * `play_pcap_audio`: one pcap clip per stretch of talk, each one direction
 * of one call leg, in G.711 µ-law (PT 0), 20 ms packets, carrying a sine
 * tone that stands for the sender's voice (the same tones as the seed
 * fixtures: caller 01077141436 440 Hz, 0212345678 370 Hz, phone B 660 Hz,
 * phone A 880 Hz, ringback 480 Hz). sipp rewrites the addresses and ports
 * when it plays a clip; SSRC, sequence numbers, timestamps and marker bits
 * are played as written here.
 *
 * `stop.pcap` holds no packet: playing it ends the clip a call is playing
 * (SIPp runs one audio player per call), which is how a phone falls silent
 * at a hold or when a BYE ends one of its lines.
 *
 * Every stream has its own SSRC. A stream cut into several clips (talk
 * before a hold, talk after the resume) keeps its SSRC, its sequence
 * numbers run on, and its RTP timestamp jumps by the designed gap; the first
 * packet of each clip has the marker bit.
 *
 * ```sh
 * deno run --allow-write tools/realstack/rtp_clips.ts OUTDIR   # writes OUTDIR/<clip>.pcap
 * ```
 *
 * @module
 */

import { PcapWriter } from "../../engine/capture/pcap_writer.ts";
import { buildUdpFrame } from "../synth/packet_builder.ts";
import { PAYLOAD_TYPE_PCMU, RtpSender } from "../synth/rtp_builder.ts";

/** Voice of the external caller 01077141436. */
export const CALLER_HZ = 440;
/** Voice of the other external caller, 0212345678 (sequential ring, first call). */
export const OTHER_CALLER_HZ = 370;
/** Voice of phone B, extension 1427. */
export const PHONE_B_HZ = 660;
/** Voice of phone A, extension 1428. */
export const PHONE_A_HZ = 880;
/** Ringback the server plays to B as early media (conference, 183). */
export const RINGBACK_HZ = 480;
/** Name of the clip without packets that stops a call's playing clip. */
export const STOP_CLIP = "stop";
/** Packet interval of every clip, in seconds. */
export const PACKET_INTERVAL_SECONDS = 0.02;
/** Capture time of the first packet of every clip (sipp keeps only the spacing). */
const CLIP_EPOCH_SECONDS = 1_700_000_000;
/** Placeholder addresses: sipp replaces them with the call's media addresses. */
const CLIP_SOURCE = { ip: "10.0.0.1", port: 4000 };
const CLIP_DESTINATION = { ip: "10.0.0.2", port: 4000 };

/** One clip of a stream: how long it plays, and the RTP time skipped before it. */
export interface ClipSpec {
  /** File name, without `.pcap`, that the scenario XML plays. */
  file: string;
  /** Length of the clip in seconds (a multiple of 20 ms). */
  seconds: number;
  /**
   * Seconds of RTP time between the end of the previous clip and the start of this one
   * (the hold); 0 or absent for the first clip.
   */
  gapSeconds?: number;
}

/** One direction of one leg: who sends it, its tone and its clips. */
export interface StreamSpec {
  /** Capture it belongs to, such as `4-conference`. */
  capture: string;
  /** Unique name; the SSRC, first sequence number and timestamp derive from it. */
  name: string;
  /** Sender of the stream: `server`, `A` or `B`. */
  sender: "server" | "A" | "B";
  /** Tone frequency in Hz (the voice it stands for). */
  hz: number;
  /** The clips, in playing order. */
  clips: ClipSpec[];
}

/**
 * Every stream of the five captures. A clip is longer than the talk it
 * covers when the call ends with a BYE (sipp stops playing when the call
 * ends), and shorter than the talk before a hold (the phone and the server
 * fall silent at the hold re-INVITE).
 */
export const REALSTACK_STREAMS: readonly StreamSpec[] = [
  // 1-normal: S -> B, answered, B talks 4 s and hangs up.
  stream("1-normal", "s1_srv_leg1", "server", CALLER_HZ, [{ file: "s1_srv_leg1", seconds: 6 }]),
  stream("1-normal", "s1_b_leg1", "B", PHONE_B_HZ, [{ file: "s1_b_leg1", seconds: 6 }]),
  // 2-transfer: 2.4 s of talk on B's leg before the hold; then S -> A until the caller hangs up.
  stream("2-transfer", "s2_srv_leg1", "server", CALLER_HZ, [{ file: "s2_srv_leg1", seconds: 2.4 }]),
  stream("2-transfer", "s2_b_leg1", "B", PHONE_B_HZ, [{ file: "s2_b_leg1", seconds: 2.4 }]),
  stream("2-transfer", "s2_srv_leg2", "server", CALLER_HZ, [{ file: "s2_srv_leg2", seconds: 6 }]),
  stream("2-transfer", "s2_a_leg2", "A", PHONE_A_HZ, [{ file: "s2_a_leg2", seconds: 6 }]),
  // 3-pickup: only A's pickup leg is answered.
  stream("3-pickup", "s3_srv_leg2", "server", CALLER_HZ, [{ file: "s3_srv_leg2", seconds: 6 }]),
  stream("3-pickup", "s3_a_leg2", "A", PHONE_A_HZ, [{ file: "s3_a_leg2", seconds: 6 }]),
  // 4-conference: master leg 2 s before the hold, then again after the resume (~4.5 s later).
  stream("4-conference", "s4_srv_leg1", "server", CALLER_HZ, [
    { file: "s4_srv_leg1_1", seconds: 2 },
    { file: "s4_srv_leg1_2", seconds: 10, gapSeconds: 4.5 },
  ]),
  stream("4-conference", "s4_b_leg1", "B", PHONE_B_HZ, [
    { file: "s4_b_leg1_1", seconds: 2 },
    { file: "s4_b_leg1_2", seconds: 10, gapSeconds: 4.5 },
  ]),
  stream("4-conference", "s4_srv_leg2_ringback", "server", RINGBACK_HZ, [
    { file: "s4_srv_leg2_ringback", seconds: 6 },
  ]),
  stream("4-conference", "s4_srv_leg2", "server", PHONE_A_HZ, [{
    file: "s4_srv_leg2",
    seconds: 12,
  }]),
  stream("4-conference", "s4_b_leg2", "B", PHONE_B_HZ, [{ file: "s4_b_leg2", seconds: 12 }]),
  stream("4-conference", "s4_srv_leg3", "server", PHONE_B_HZ, [{
    file: "s4_srv_leg3",
    seconds: 12,
  }]),
  stream("4-conference", "s4_a_leg3", "A", PHONE_A_HZ, [{ file: "s4_a_leg3", seconds: 12 }]),
  // 5-sequential: B's first call runs while the second caller is sent on to A.
  stream("5-sequential", "s5_srv_leg1", "server", OTHER_CALLER_HZ, [
    { file: "s5_srv_leg1", seconds: 10 },
  ]),
  stream("5-sequential", "s5_b_leg1", "B", PHONE_B_HZ, [{ file: "s5_b_leg1", seconds: 10 }]),
  stream("5-sequential", "s5_srv_leg3", "server", CALLER_HZ, [{
    file: "s5_srv_leg3",
    seconds: 10,
  }]),
  stream("5-sequential", "s5_a_leg3", "A", PHONE_A_HZ, [{ file: "s5_a_leg3", seconds: 10 }]),
];

function stream(
  capture: string,
  name: string,
  sender: StreamSpec["sender"],
  hz: number,
  clips: ClipSpec[],
): StreamSpec {
  return { capture, name, sender, hz, clips };
}

/**
 * FNV-1a hash of a text, 32 bits: a fixed, well-spread number per stream name.
 *
 * @param text Any text.
 * @param seed Start value, to draw several numbers from one text.
 * @returns An unsigned 32-bit number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(fnv1a32(""), 0x811c9dc5);
 * assert.notEqual(fnv1a32("a"), fnv1a32("b"));
 * ```
 */
export function fnv1a32(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The RTP header values a stream starts with. */
export interface StreamStart {
  /** Synchronization source. */
  ssrc: number;
  /** Sequence number of the first packet. */
  sequence: number;
  /** RTP timestamp of the first packet. */
  timestamp: number;
}

/**
 * SSRC, first sequence number and first timestamp of a stream, derived from its name.
 *
 * @param name The stream's name.
 * @returns The values (SSRC never 0).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const start = streamStart("s1_b_leg1");
 * assert.deepEqual(streamStart("s1_b_leg1"), start);
 * assert.ok(start.sequence < 0x8000);
 * ```
 */
export function streamStart(name: string): StreamStart {
  const ssrc = fnv1a32(`ssrc:${name}`) || 1;
  // Below 2^15, as RFC 3550 advises for a random start, so a clip never wraps.
  const sequence = fnv1a32(`seq:${name}`) & 0x7fff;
  const timestamp = fnv1a32(`ts:${name}`);
  return { ssrc, sequence, timestamp };
}

/**
 * Builds the pcap files of one stream, one per clip: Ethernet/IPv4/UDP frames
 * with placeholder addresses, 20 ms apart.
 *
 * @param spec The stream.
 * @returns Clip file name (without `.pcap`) → file bytes, in playing order.
 * @throws {RangeError} When a clip's length is not a positive multiple of 20 ms.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const files = await buildStreamClips({
 *   capture: "x", name: "x", sender: "A", hz: 880,
 *   clips: [{ file: "x1", seconds: 0.1 }, { file: "x2", seconds: 0.04, gapSeconds: 1 }],
 * });
 * assert.deepEqual([...files.keys()], ["x1", "x2"]);
 * assert.equal(files.get("x1")?.length, 24 + 5 * (16 + 214));
 * ```
 */
export async function buildStreamClips(spec: StreamSpec): Promise<Map<string, Uint8Array>> {
  const start = streamStart(spec.name);
  const sender = new RtpSender({
    ssrc: start.ssrc,
    payloadType: PAYLOAD_TYPE_PCMU,
    sequence: start.sequence,
    timestamp: start.timestamp,
    frequency: spec.hz,
  });
  const files = new Map<string, Uint8Array>();
  // The stream's own clock, in seconds from its first packet: clip i starts where
  // clip i-1 ended plus its gap.
  let streamTime = 0;
  for (const clip of spec.clips) {
    const packets = Math.round(clip.seconds / PACKET_INTERVAL_SECONDS);
    if (packets < 1 || Math.abs(packets * PACKET_INTERVAL_SECONDS - clip.seconds) > 1e-9) {
      throw new RangeError(`Invalid clip length for ${clip.file}: ${clip.seconds} s`);
    }
    streamTime += clip.gapSeconds ?? 0;
    const writer = PcapWriter.inMemory();
    let index = 0;
    // Half a packet short of the end, so that rounding never adds a packet.
    const end = streamTime + (packets - 0.5) * PACKET_INTERVAL_SECONDS;
    for (const p of sender.span(streamTime, end)) {
      // Each file starts at the same capture time: sipp plays it from its first packet.
      const time = CLIP_EPOCH_SECONDS + index * PACKET_INTERVAL_SECONDS;
      const frame = buildUdpFrame({
        src: CLIP_SOURCE,
        dst: CLIP_DESTINATION,
        ipId: index & 0xffff,
        dscp: 46,
        payload: p.packet,
      });
      await writer.writePacket(time, frame);
      index += 1;
    }
    await writer.close();
    files.set(clip.file, writer.bytes());
    streamTime += clip.seconds;
  }
  return files;
}

/**
 * Builds the clips of every stream in {@link REALSTACK_STREAMS}, and the
 * empty {@link STOP_CLIP}.
 *
 * @param streams The streams (default all of them).
 * @returns Clip file name (without `.pcap`) → file bytes.
 * @throws {RangeError} When two clips have the same file name.
 */
export async function buildAllClips(
  streams: readonly StreamSpec[] = REALSTACK_STREAMS,
): Promise<Map<string, Uint8Array>> {
  const all = new Map<string, Uint8Array>();
  const stop = PcapWriter.inMemory();
  await stop.close();
  all.set(STOP_CLIP, stop.bytes());
  for (const spec of streams) {
    for (const [file, bytes] of await buildStreamClips(spec)) {
      if (all.has(file)) throw new RangeError(`Duplicate clip file name: ${file}`);
      all.set(file, bytes);
    }
  }
  return all;
}

async function main(args: string[]): Promise<number> {
  const outDir = args[0];
  if (outDir === undefined || args.length !== 1) {
    console.error("Usage: deno run --allow-write tools/realstack/rtp_clips.ts OUTDIR");
    return 2;
  }
  await Deno.mkdir(outDir, { recursive: true });
  const clips = await buildAllClips();
  for (const [file, bytes] of clips) await Deno.writeFile(`${outDir}/${file}.pcap`, bytes);
  console.log(`Wrote ${clips.size} RTP clips to ${outDir}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
