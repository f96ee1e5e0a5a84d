import assert from "node:assert/strict";
import { ulawToLinear } from "../synth/rtp_builder.ts";
import {
  buildAllClips,
  buildStreamClips,
  CALLER_HZ,
  fnv1a32,
  OTHER_CALLER_HZ,
  PHONE_A_HZ,
  PHONE_B_HZ,
  REALSTACK_STREAMS,
  RINGBACK_HZ,
  STOP_CLIP,
  type StreamSpec,
  streamStart,
} from "./rtp_clips.ts";

const HERE = new URL("./", import.meta.url);
const EXPECTED_DIR = new URL("../../fixtures/realstack/expected/", import.meta.url);
const TONES = [OTHER_CALLER_HZ, CALLER_HZ, RINGBACK_HZ, PHONE_B_HZ, PHONE_A_HZ];

interface ClipPacket {
  time: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

/** Reads a little-endian µs pcap of Ethernet/IPv4/UDP/RTP frames, as rtp_clips.ts writes them. */
function readClip(bytes: Uint8Array): ClipPacket[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint32(0, true), 0xa1b2c3d4);
  assert.equal(view.getUint32(20, true), 1, "link type Ethernet");
  const packets: ClipPacket[] = [];
  let at = 24;
  while (at < bytes.length) {
    const time = view.getUint32(at, true) + view.getUint32(at + 4, true) / 1e6;
    const length = view.getUint32(at + 8, true);
    const frame = bytes.subarray(at + 16, at + 16 + length);
    const fv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    assert.equal(fv.getUint16(12), 0x0800, "IPv4");
    assert.equal(frame[23], 17, "UDP");
    const rtp = frame.subarray(14 + 20 + 8);
    const rv = new DataView(rtp.buffer, rtp.byteOffset, rtp.byteLength);
    assert.equal(rtp[0], 0x80, "RTP version 2, no padding, extension or CSRC");
    packets.push({
      time,
      marker: (rtp[1]! & 0x80) !== 0,
      payloadType: rtp[1]! & 0x7f,
      sequence: rv.getUint16(2),
      timestamp: rv.getUint32(4),
      ssrc: rv.getUint32(8),
      payload: rtp.subarray(12),
    });
    at += 16 + length;
  }
  return packets;
}

/** Power of one frequency in 8 kHz samples (Goertzel). */
function goertzel(samples: number[], hz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + coefficient * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

/** The tone among {@link TONES} that dominates µ-law payloads. */
function dominantTone(payloads: Uint8Array[]): number {
  const samples = payloads.flatMap((p) => [...p].map(ulawToLinear));
  let best = 0;
  let bestPower = -1;
  for (const hz of TONES) {
    const power = goertzel(samples, hz);
    if (power > bestPower) {
      bestPower = power;
      best = hz;
    }
  }
  return best;
}

Deno.test("buildStreamClips: clips run one stream on, with a timestamp jump over the gap", async () => {
  const spec: StreamSpec = {
    capture: "test",
    name: "test_stream",
    sender: "B",
    hz: PHONE_B_HZ,
    clips: [{ file: "first", seconds: 0.5 }, { file: "second", seconds: 0.2, gapSeconds: 3 }],
  };
  const files = await buildStreamClips(spec);
  assert.deepEqual([...files.keys()], ["first", "second"]);
  const first = readClip(files.get("first")!);
  const second = readClip(files.get("second")!);
  assert.equal(first.length, 25);
  assert.equal(second.length, 10);
  const start = streamStart("test_stream");
  for (const p of [...first, ...second]) {
    assert.equal(p.ssrc, start.ssrc);
    assert.equal(p.payloadType, 0);
    assert.equal(p.payload.length, 160);
  }
  assert.equal(first[0]!.sequence, start.sequence);
  assert.equal(first[0]!.timestamp, start.timestamp);
  assert.deepEqual(first.map((p) => p.marker), [true, ...Array(24).fill(false)]);
  assert.equal(second[0]!.marker, true, "a clip after a gap starts a talkspurt");
  const all = [...first, ...second];
  for (let i = 1; i < all.length; i++) {
    assert.equal(all[i]!.sequence, (all[i - 1]!.sequence + 1) & 0xffff, "sequence runs on");
  }
  for (let i = 1; i < first.length; i++) {
    assert.equal(first[i]!.timestamp - first[i - 1]!.timestamp, 160);
    assert.ok(Math.abs(first[i]!.time - first[i - 1]!.time - 0.02) < 2e-6, "20 ms apart");
  }
  // 0.5 s of clip plus 3 s of hold: 3.5 s of the 8 kHz clock after the first packet.
  assert.equal(second[0]!.timestamp - first[0]!.timestamp, 3.5 * 8000);
  assert.equal(second[0]!.time, first[0]!.time, "each file starts at the same capture time");
  assert.equal(dominantTone(first.map((p) => p.payload)), PHONE_B_HZ);
  assert.equal(dominantTone(second.map((p) => p.payload)), PHONE_B_HZ);
});

Deno.test("buildStreamClips: a clip length that is not whole packets is refused", async () => {
  const spec: StreamSpec = {
    capture: "test",
    name: "bad",
    sender: "A",
    hz: PHONE_A_HZ,
    clips: [{ file: "bad", seconds: 0.03 }],
  };
  await assert.rejects(() => buildStreamClips(spec), RangeError);
});

Deno.test("streamStart: fixed per name, distinct between names", () => {
  assert.deepEqual(streamStart("s1_b_leg1"), streamStart("s1_b_leg1"));
  assert.notEqual(streamStart("s1_b_leg1").ssrc, streamStart("s1_srv_leg1").ssrc);
  assert.equal(fnv1a32("a"), 0xe40c292c); // FNV-1a test vector
});

Deno.test("REALSTACK_STREAMS: unique names, SSRCs and clip files; the tones of each sender", () => {
  const names = REALSTACK_STREAMS.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  const ssrcs = REALSTACK_STREAMS.map((s) => streamStart(s.name).ssrc);
  assert.equal(new Set(ssrcs).size, ssrcs.length);
  const files = REALSTACK_STREAMS.flatMap((s) => s.clips.map((c) => c.file));
  assert.equal(new Set(files).size, files.length);
  assert.ok(!files.includes(STOP_CLIP));
  for (const s of REALSTACK_STREAMS) {
    if (s.sender === "A") assert.equal(s.hz, PHONE_A_HZ, s.name);
    if (s.sender === "B") assert.equal(s.hz, PHONE_B_HZ, s.name);
  }
});

Deno.test("buildAllClips: every stream's clips and an empty stop clip", async () => {
  const clips = await buildAllClips();
  const stop = clips.get(STOP_CLIP);
  assert.equal(stop?.length, 24, "file header only");
  assert.deepEqual(readClip(stop!), []);
  for (const spec of REALSTACK_STREAMS) {
    for (const clip of spec.clips) {
      const packets = readClip(clips.get(clip.file)!);
      assert.equal(packets.length, Math.round(clip.seconds / 0.02), clip.file);
      assert.equal(dominantTone(packets.slice(0, 25).map((p) => p.payload)), spec.hz, clip.file);
    }
  }
});

Deno.test("the scenario XMLs play exactly the clips the table makes", async () => {
  const made = new Set([
    STOP_CLIP,
    ...REALSTACK_STREAMS.flatMap((s) => s.clips.map((c) => c.file)),
  ]);
  const played = new Set<string>();
  for await (const entry of Deno.readDir(HERE)) {
    if (!entry.name.endsWith(".xml")) continue;
    const xml = await Deno.readTextFile(new URL(entry.name, HERE));
    for (const m of xml.matchAll(/play_pcap_audio="rtp\/([^"]+)\.pcap"/g)) played.add(m[1]!);
  }
  assert.deepEqual([...played].sort(), [...made].sort());
});

Deno.test("expected/*.json: every answered leg's tones are those of a stream of its capture", async () => {
  for (const capture of new Set(REALSTACK_STREAMS.map((s) => s.capture))) {
    const expected = JSON.parse(await Deno.readTextFile(new URL(`${capture}.json`, EXPECTED_DIR)));
    const streams = REALSTACK_STREAMS.filter((s) => s.capture === capture);
    const media = expected.legs.filter((l: { media?: unknown }) => l.media !== undefined);
    // One stream per direction of every answered leg, and one per early-media ringback.
    const early = expected.legs.filter((l: { earlyMedia?: unknown }) => l.earlyMedia).length;
    assert.equal(streams.length, 2 * media.length + early, capture);
    for (const leg of media) {
      const phoneSender = leg.phone === "127.0.1.54" ? "A" : "B";
      assert.ok(
        streams.some((s) => s.sender === phoneSender && s.hz === leg.media.phoneHz),
        `${capture} ${leg.callId}: phone tone`,
      );
      assert.ok(
        streams.some((s) => s.sender === "server" && s.hz === leg.media.serverHz),
        `${capture} ${leg.callId}: server tone`,
      );
    }
  }
});
