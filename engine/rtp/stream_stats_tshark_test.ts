/**
 * Validation harness: RtpStreamStats against Wireshark's own figures.
 *
 * For every capture in ../shared/captures whose `.rtpstreams.txt` (tshark
 * 4.0.17 `-z rtp,streams`) lists streams, tshark gives us the per-packet
 * RTP fields, we feed them to RtpStreamStats per stream, and compare with
 * the reference: same packets, lost and problems flag, same start time, and
 * min/mean/max delta and jitter within 0.1 ms or 1 %, whichever is larger.
 *
 * A second test writes a synthetic capture with the hard cases the real
 * ones lack (sequence and timestamp wraparound, loss, duplicates,
 * reordering, a very late packet, markers, comfort noise, telephone-events,
 * a timestamp reset, a 44.1 kHz clock, a dynamic type without SDP), has
 * tshark analyse it, and holds us to tshark's figures within its printed
 * precision.
 *
 * Skipped, with a message, when tshark or the captures are missing.
 */

import assert from "node:assert/strict";
import { decodeRtpHeader, RtpHeader } from "./rtp_header.ts";
import { RtpStreamStats, type RtpStreamSummary, wiresharkClockRate } from "./stream_stats.ts";
import {
  CAPTURES_DIR,
  capturesPresent,
  parseRtpStreamsReport,
  type RtpStreamsRow,
} from "./testing_captures.ts";

const CAPTURES = CAPTURES_DIR;

async function commandWorks(command: string, args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

const hasTshark = await commandWorks("tshark", ["--version"]);

/** The installed tshark's "major.minor", or "" (the synthetic test needs 4.0's definitions). */
async function tsharkVersion(): Promise<string> {
  if (!hasTshark) return "";
  const out = await new Deno.Command("tshark", { args: ["--version"], stdout: "piped" }).output();
  return /TShark \(Wireshark\) (\d+\.\d+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? "";
}
const tshark40 = (await tsharkVersion()) === "4.0";
if (hasTshark && !tshark40) {
  console.log(
    "stream_stats_tshark_test: tshark is not 4.0 (whose definitions RtpStreamStats follows), " +
      "skipping the live synthetic comparison",
  );
}
const hasCaptures = capturesPresent();
if (!hasTshark) console.log("stream_stats_tshark_test: tshark not found, skipping the harness");
if (!hasCaptures) console.log("stream_stats_tshark_test: ../shared/captures missing, skipping");

/**
 * Dynamic payload types as the SDP that set each stream up maps them,
 * keyed by capture, then by the SDP frame (tshark's `rtp.setup-frame`),
 * then by payload type: [encoding name, clock rate]. Where the setup SDP
 * does not map a type, tshark has no name and no clock for it (jitter 0).
 */
const SDP_RTPMAPS: Record<string, Record<number, Record<number, [string, number]>>> = {
  "arkime__gtp-iphone.pcap": {
    40: { 102: ["AMR", 8000] }, // frame 40: a=rtpmap:102 AMR/8000
    47: { 102: ["AMR", 8000] }, // frame 47: a=rtpmap:102 AMR/8000
  },
  "lundgrel__sip-rtp-l16.pcap": {
    1: { 99: ["L16", 8000] }, // frame 1: a=rtpmap:99 L16/8000/2
    434: { 99: ["L16", 16000] }, // frame 434: a=rtpmap:99 L16/16000/2
    867: { 99: ["L16", 11025] }, // frame 867: a=rtpmap:99 L16/11025
    1241: { 99: ["L16", 48000] }, // frame 1241: a=rtpmap:99 L16/48000
  },
  "redrabbit__sip-rtp-opus.pcap": {
    1: { 99: ["opus", 48000] }, // frame 1: a=rtpmap:99 opus/48000/2
  },
  "sipnab__register-invite-reinvite-bye.pcap": {
    162: { 96: ["opus", 48000] }, // frame 162: a=rtpmap:96 opus/48000
  },
  "sipnab__sip-rtp-opus-hybrid.pcap": {
    1: { 99: ["opus", 48000] }, // frame 1: a=rtpmap:99 opus/48000/2
  },
  // heplify FAX: PT 102 arrives on setup frame 60 (m=audio 16756 RTP/AVP 8, no rtpmap:102)
  // and PT 100 on setup frame 176 (RTP/AVP 8 only): unmapped, clock 0.
  // ndpi fuzz: PT 99 on a heuristic stream has no SDP (tshark names it rtp.rfc2198): clock 0.
};

const FIELDS = [
  "frame.time_epoch",
  "frame.time_relative",
  "ip.src",
  "ipv6.src",
  "udp.srcport",
  "ip.dst",
  "ipv6.dst",
  "udp.dstport",
  "rtp.ssrc",
  "rtp.seq",
  "rtp.timestamp",
  "rtp.p_type",
  "rtp.marker",
  "frame.len",
  "rtp.setup-frame",
  "icmp.type",
  "icmpv6.type",
];

interface Packet {
  epoch: number;
  relative: number;
  key: string;
  ssrc: number;
  seq: number;
  timestamp: number;
  payloadType: number;
  marker: boolean;
  bytes: number;
  setupFrame: number;
}

function first(cell: string | undefined): string {
  return (cell ?? "").split(",")[0] ?? "";
}

function last(cell: string | undefined): string {
  const parts = (cell ?? "").split(",");
  return parts[parts.length - 1] ?? "";
}

async function tsharkPackets(file: string): Promise<Packet[]> {
  const args = ["-r", file, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp", "-T", "fields"];
  for (const field of FIELDS) args.push("-e", field);
  const output = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "null" })
    .output();
  const packets: Packet[] = [];
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    if (line === "") continue;
    const c = line.split("\t");
    // "Unknown RTP version" frames match the filter but are not tapped.
    if (first(c[8]) === "") continue;
    // RTP quoted inside an ICMP error is dissected but not tapped (pinfo->flags.in_error_pkt).
    if ((c[15] ?? "") !== "" || (c[16] ?? "") !== "") continue;
    // Innermost addresses (GTP/IP-in-IP), outermost RTP header (RFC 2198 blocks repeat p_type).
    const src = last(c[3]) !== "" ? last(c[3]) : last(c[2]);
    const dst = last(c[6]) !== "" ? last(c[6]) : last(c[5]);
    const ssrc = parseInt(first(c[8]), 16);
    packets.push({
      epoch: Number(c[0]),
      relative: Number(c[1]),
      key: `${src}|${last(c[4])}|${dst}|${last(c[7])}|${ssrc}`,
      ssrc,
      seq: Number(first(c[9])),
      timestamp: Number(first(c[10])),
      payloadType: Number(first(c[11])),
      marker: first(c[12]) === "1" || first(c[12]) === "True",
      bytes: Number(c[13]),
      setupFrame: Number(first(c[14]) || "0"),
    });
  }
  return packets;
}

interface Computed {
  summary: RtpStreamSummary;
  startRelative: number;
}

function computeStreams(capture: string, packets: Packet[]): Map<string, Computed> {
  const maps = SDP_RTPMAPS[capture] ?? {};
  const streams = new Map<string, { stats: RtpStreamStats; setup: { frame: number } }>();
  const starts = new Map<string, number>();
  const header = new RtpHeader();
  for (const p of packets) {
    let entry = streams.get(p.key);
    if (entry === undefined) {
      const setup = { frame: p.setupFrame };
      const stats = new RtpStreamStats((pt) => {
        const mapping = maps[setup.frame]?.[pt];
        return wiresharkClockRate(pt, mapping?.[0] ?? null, mapping?.[1] ?? 0);
      });
      entry = { stats, setup };
      streams.set(p.key, entry);
      starts.set(p.key, p.relative);
    }
    if (entry.setup.frame !== p.setupFrame) {
      entry.setup.frame = p.setupFrame;
      entry.stats.clockRatesChanged();
    }
    header.ssrc = p.ssrc;
    header.sequence = p.seq;
    header.timestamp = p.timestamp;
    header.payloadType = p.payloadType;
    header.marker = p.marker;
    entry.stats.update(p.epoch, header, p.bytes);
  }
  const result = new Map<string, Computed>();
  for (const [key, entry] of streams) {
    result.set(key, { summary: entry.stats.summary(), startRelative: starts.get(key)! });
  }
  return result;
}

function close(ours: number, theirs: number): boolean {
  // The reference prints 3 decimals; allow 0.1 ms or 1 %, whichever is larger.
  return Math.abs(ours - theirs) <= Math.max(0.1, Math.abs(theirs) * 0.01);
}

/** Largest absolute difference of a timing figure seen so far, for the log. */
const largest = { diff: 0, where: "" };

/** Compares one stream; returns the list of disagreeing fields. */
function compare(ours: Computed, ref: RtpStreamsRow): string[] {
  const s = ours.summary;
  const problems: string[] = [];
  const exact = (name: string, a: number | boolean, b: number | boolean) => {
    if (a !== b) problems.push(`${name}: ours ${a}, tshark ${b}`);
  };
  const near = (name: string, a: number, b: number) => {
    if (Math.abs(a - b) > largest.diff) {
      largest.diff = Math.abs(a - b);
      largest.where = `${name} of ${ref.key}`;
    }
    if (!close(a, b)) problems.push(`${name}: ours ${a.toFixed(3)}, tshark ${b.toFixed(3)}`);
  };
  exact("packets", s.packets, ref.packets);
  exact("lost", s.lost, ref.lost);
  exact("problems", s.problems, ref.problems);
  if (Math.abs(ours.startRelative - ref.start) > 1e-6) {
    problems.push(`start: ours ${ours.startRelative}, tshark ${ref.start}`);
  }
  if (Math.abs(s.lostPercent - ref.lostPercent) > 0.05 + 1e-9) {
    problems.push(`lost%: ours ${s.lostPercent.toFixed(1)}, tshark ${ref.lostPercent}`);
  }
  near("min delta", s.minDeltaMs, ref.minDelta);
  near("mean delta", s.meanDeltaMs, ref.meanDelta);
  near("max delta", s.maxDeltaMs, ref.maxDelta);
  near("min jitter", s.minJitterMs, ref.minJitter);
  near("mean jitter", s.meanJitterMs, ref.meanJitter);
  near("max jitter", s.maxJitterMs, ref.maxJitter);
  return problems;
}

function capturesWithStreams(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(CAPTURES)) {
    if (!entry.name.endsWith(".rtpstreams.txt")) continue;
    const text = Deno.readTextFileSync(new URL(entry.name, CAPTURES));
    if (parseRtpStreamsReport(text).length > 0) {
      names.push(entry.name.slice(0, -".rtpstreams.txt".length));
    }
  }
  return names.sort();
}

Deno.test({
  name: "RtpStreamStats agrees with tshark -z rtp,streams on every reference capture",
  ignore: !hasTshark || !hasCaptures,
  async fn() {
    const disagreements: string[] = [];
    let streamCount = 0;
    const captures = capturesWithStreams();
    assert.ok(captures.length >= 15, `expected the reference captures, found ${captures.length}`);
    for (const capture of captures) {
      const refs = parseRtpStreamsReport(
        Deno.readTextFileSync(new URL(`${capture}.rtpstreams.txt`, CAPTURES)),
      );
      const packets = await tsharkPackets(new URL(capture, CAPTURES).pathname);
      const computed = computeStreams(capture, packets);
      if (computed.size !== refs.length) {
        disagreements.push(`${capture}: ${computed.size} streams, tshark ${refs.length}`);
      }
      for (const ref of refs) {
        streamCount++;
        const ours = computed.get(ref.key);
        if (ours === undefined) {
          disagreements.push(`${capture} ${ref.key}: stream not found`);
          continue;
        }
        const diffs = compare(ours, ref);
        if (diffs.length > 0) disagreements.push(`${capture} ${ref.key}: ${diffs.join("; ")}`);
      }
    }
    console.log(`compared ${streamCount} streams in ${captures.length} captures`);
    console.log(`largest timing difference: ${largest.diff.toFixed(6)} ms (${largest.where})`);
    assert.deepEqual(disagreements, []);
  },
});

// ---------------------------------------------------------------------------
// Synthetic capture cross-checked against tshark.

/** mulberry32: a small seeded PRNG, so the synthetic capture is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SyntheticPacket {
  time: number;
  src: [number, number, number, number];
  sport: number;
  dst: [number, number, number, number];
  dport: number;
  payload: Uint8Array;
}

function rtpBytes(
  pt: number,
  marker: boolean,
  seq: number,
  ts: number,
  ssrc: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = (marker ? 0x80 : 0) | pt;
  view.setUint16(2, seq & 0xffff);
  view.setUint32(4, ts >>> 0);
  view.setUint32(8, ssrc >>> 0);
  out.set(payload, 12);
  return out;
}

function sipWithSdp(firstLine: string, from: string, port: number, callId: string): Uint8Array {
  const sdp = [
    "v=0",
    `o=- 1 1 IN IP4 ${from}`,
    "s=-",
    `c=IN IP4 ${from}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 8 101 13`,
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=rtpmap:13 CN/8000",
    "",
  ].join("\r\n");
  const headers = [
    firstLine,
    `Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-${callId}`,
    "From: <sip:alice@10.0.0.1>;tag=a1",
    `To: <sip:bob@10.0.0.2>${firstLine.startsWith("SIP") ? ";tag=b1" : ""}`,
    `Call-ID: ${callId}`,
    "CSeq: 1 INVITE",
    `Contact: <sip:x@${from}:5060>`,
    "Content-Type: application/sdp",
    `Content-Length: ${sdp.length}`,
    "",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(headers + sdp);
}

/** Ethernet + IPv4 + UDP frame; checksums left 0 (tshark does not verify them by default). */
function udpFrame(p: SyntheticPacket): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + p.payload.length);
  const view = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  view.setUint16(12, 0x0800);
  frame[14] = 0x45;
  view.setUint16(16, 20 + 8 + p.payload.length);
  frame[22] = 64;
  frame[23] = 17;
  frame.set(p.src, 26);
  frame.set(p.dst, 30);
  view.setUint16(34, p.sport);
  view.setUint16(36, p.dport);
  view.setUint16(38, 8 + p.payload.length);
  frame.set(p.payload, 42);
  return frame;
}

function pcapBytes(packets: SyntheticPacket[]): Uint8Array {
  const frames = packets.map(udpFrame);
  const total = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 65535, true);
  view.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let at = 24;
  packets.forEach((p, i) => {
    const frame = frames[i]!;
    const micros = Math.round(p.time * 1e6);
    view.setUint32(at, Math.floor(micros / 1e6), true);
    view.setUint32(at + 4, micros % 1e6, true);
    view.setUint32(at + 8, frame.length, true);
    view.setUint32(at + 12, frame.length, true);
    out.set(frame, at + 16);
    at += 16 + frame.length;
  });
  return out;
}

interface SyntheticRtp {
  time: number;
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  payload: Uint8Array;
}

/** Builds the synthetic streams; returns packets in capture (time) order. */
function syntheticCapture(): {
  packets: SyntheticPacket[];
  clock: Map<string, (pt: number) => number>;
} {
  const random = prng(4733);
  const packets: SyntheticPacket[] = [];
  const clock = new Map<string, (pt: number) => number>();
  const alice: [number, number, number, number] = [10, 0, 0, 1];
  const bob: [number, number, number, number] = [10, 0, 0, 2];
  const t0 = 1700000000;
  packets.push({
    time: t0,
    src: alice,
    sport: 5060,
    dst: bob,
    dport: 5060,
    payload: sipWithSdp("INVITE sip:bob@10.0.0.2 SIP/2.0", "10.0.0.1", 40000, "synthetic-1"),
  });
  packets.push({
    time: t0 + 0.5,
    src: bob,
    sport: 5060,
    dst: alice,
    dport: 5060,
    payload: sipWithSdp("SIP/2.0 200 OK", "10.0.0.2", 50000, "synthetic-1"),
  });
  const sdpClock = (pt: number) =>
    wiresharkClockRate(pt, pt === 101 ? "telephone-event" : null, pt === 101 ? 8000 : 0);
  const audio = new Uint8Array(160).fill(0xd5);

  const emit = (
    list: SyntheticRtp[],
    src: [number, number, number, number],
    sport: number,
    dst: [number, number, number, number],
    dport: number,
    ssrc: number,
    clockOf: (pt: number) => number,
  ) => {
    clock.set(`${src.join(".")}|${sport}|${dst.join(".")}|${dport}|${ssrc}`, clockOf);
    for (const r of list) {
      packets.push({
        time: r.time,
        src,
        sport,
        dst,
        dport,
        payload: rtpBytes(r.pt, r.marker, r.seq, r.ts, ssrc, r.payload),
      });
    }
  };

  // Stream 1, bob -> alice: PCMA with sequence and timestamp wrap, loss, duplicates,
  // reordering, comfort noise and DTMF.
  {
    const list: SyntheticRtp[] = [];
    let seq = 65200;
    let ts = 0xffff0000;
    let time = t0 + 1;
    for (let i = 0; i < 700; i++) {
      const jitter = (random() - 0.5) * 0.006;
      if (i >= 200 && i < 230) {
        // Comfort noise: one CN packet every 5 frames of silence.
        if (i % 5 === 0) {
          list.push({
            time: time + jitter,
            pt: 13,
            marker: false,
            seq,
            ts,
            payload: new Uint8Array([40]),
          });
          seq++;
        }
      } else if (i >= 400 && i < 410) {
        // A DTMF "5": same timestamp, growing duration, end packet three times.
        const eventTs = ts - (i - 400) * 160;
        const end = i === 409;
        const body = new Uint8Array([5, (end ? 0x80 : 0) | 10, 0, 0]);
        new DataView(body.buffer).setUint16(2, (i - 399) * 160);
        const copies = end ? 3 : 1;
        for (let c = 0; c < copies; c++) {
          list.push({
            time: time + jitter + c * 0.001,
            pt: 101,
            marker: i === 400,
            seq,
            ts: eventTs,
            payload: body,
          });
          seq++;
        }
      } else if (random() < 0.02) {
        seq++; // lost
      } else {
        list.push({
          time: time + jitter,
          pt: 8,
          marker: i === 0 || i === 230 || i === 410,
          seq,
          ts,
          payload: audio,
        });
        if (random() < 0.01) {
          list.push({
            time: time + jitter + 0.0005,
            pt: 8,
            marker: false,
            seq,
            ts,
            payload: audio,
          });
        }
        seq++;
      }
      ts = (ts + 160) >>> 0;
      time += 0.02;
    }
    // Five adjacent swaps (reordering) by arrival order.
    for (const at of [50, 150, 300, 450, 600]) {
      const a = list[at]!;
      const b = list[at + 1]!;
      list[at] = { ...b, time: a.time };
      list[at + 1] = { ...a, time: b.time };
    }
    emit(list, bob, 50000, alice, 40000, 0x11111111, sdpClock);
  }

  // Stream 2, alice -> bob: a timestamp reset backwards and a big sequence jump.
  {
    const list: SyntheticRtp[] = [];
    let seq = 1000;
    let ts = 500000;
    let time = t0 + 1.01;
    for (let i = 0; i < 500; i++) {
      if (i === 200) ts = 1000; // the sender restarts its timestamps
      if (i === 300) seq += 30000; // and jumps in sequence
      list.push({
        time: time + (random() - 0.5) * 0.004,
        pt: 8,
        marker: false,
        seq,
        ts,
        payload: audio,
      });
      seq = (seq + 1) & 0xffff;
      ts = (ts + 160) >>> 0;
      time += 0.02;
    }
    emit(list, alice, 40000, bob, 50000, 0x22222222, sdpClock);
  }

  // Stream 3, no SDP (found by the heuristic): dynamic type, no clock, one very late packet.
  {
    const list: SyntheticRtp[] = [];
    let time = t0 + 2;
    for (let i = 0; i < 300; i++) {
      list.push({ time, pt: 96, marker: false, seq: 7 + i, ts: 960 * i, payload: audio });
      time += 0.02 + (random() - 0.5) * 0.002;
    }
    const late = list.splice(100, 1)[0]!;
    list.splice(160, 0, { ...late, time: list[159]!.time + 0.0001 });
    for (let i = 161; i < list.length; i++) list[i]!.time += 0.0002;
    emit(list, [10, 0, 0, 3], 30000, [10, 0, 0, 4], 30002, 0x33333333, () => 0);
  }

  // Stream 4, no SDP: static L16 mono at 44.1 kHz (Wireshark's integer ms division).
  {
    const list: SyntheticRtp[] = [];
    let time = t0 + 3;
    for (let i = 0; i < 300; i++) {
      list.push({ time, pt: 11, marker: false, seq: 60000 + i, ts: 882 * i, payload: audio });
      time += 0.02 + (random() - 0.5) * 0.003;
    }
    emit(
      list,
      [10, 0, 0, 5],
      20000,
      [10, 0, 0, 6],
      20002,
      0x44444444,
      (pt) => wiresharkClockRate(pt, null, 0),
    );
  }

  packets.sort((a, b) => a.time - b.time);
  return { packets, clock };
}

Deno.test({
  name: "RtpStreamStats agrees with tshark on a synthetic capture of hard cases",
  ignore: !tshark40,
  async fn() {
    const { packets, clock } = syntheticCapture();
    const file = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(file, pcapBytes(packets));
      const output = await new Deno.Command("tshark", {
        args: ["-r", file, "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams"],
        stdout: "piped",
        stderr: "null",
      }).output();
      const table = new TextDecoder().decode(output.stdout);
      console.log(table);
      const refs = parseRtpStreamsReport(table);
      assert.equal(refs.length, 4, "tshark should see the four streams");

      const stats = new Map<string, RtpStreamStats>();
      const header = new RtpHeader();
      for (const p of packets) {
        if (p.sport === 5060) continue;
        const key = `${p.src.join(".")}|${p.sport}|${p.dst.join(".")}|${p.dport}|${
          new DataView(p.payload.buffer).getUint32(8)
        }`;
        let s = stats.get(key);
        if (s === undefined) {
          s = new RtpStreamStats(clock.get(key)!);
          stats.set(key, s);
        }
        const rtp = udpFrame(p).subarray(42);
        assert.ok(decodeRtpHeaderInto(rtp, header));
        // The capture holds microseconds: feed what tshark reads.
        s.update(Math.round(p.time * 1e6) / 1e6, header, 42 + rtp.length);
      }

      const disagreements: string[] = [];
      for (const ref of refs) {
        const s = stats.get(ref.key)?.summary();
        if (s === undefined) {
          disagreements.push(`${ref.key}: not found`);
          continue;
        }
        const check = (name: string, ours: number | boolean, theirs: number | boolean) => {
          const bad = typeof ours === "number" && typeof theirs === "number"
            ? Math.abs(ours - theirs) > 0.0006 // tshark prints 3 decimals
            : ours !== theirs;
          if (bad) disagreements.push(`${ref.key} ${name}: ours ${ours}, tshark ${theirs}`);
        };
        check("packets", s.packets, ref.packets);
        check("lost", s.lost, ref.lost);
        check("problems", s.problems, ref.problems);
        check("min delta", s.minDeltaMs, ref.minDelta);
        check("mean delta", s.meanDeltaMs, ref.meanDelta);
        check("max delta", s.maxDeltaMs, ref.maxDelta);
        check("min jitter", s.minJitterMs, ref.minJitter);
        check("mean jitter", s.meanJitterMs, ref.meanJitter);
        check("max jitter", s.maxJitterMs, ref.maxJitter);
      }
      assert.deepEqual(disagreements, []);
      // The synthetic streams do exercise what they claim to.
      const s1 = stats.get("10.0.0.2|50000|10.0.0.1|40000|286331153")!.summary();
      assert.ok(s1.duplicates >= 3 && s1.outOfOrder === 5, JSON.stringify(s1));
      assert.deepEqual(s1.payloadTypes, [8, 13, 101]);
      const s3 = stats.get("10.0.0.3|30000|10.0.0.4|30002|858993459")!.summary();
      assert.equal(s3.maxJitterMs, 0);
      assert.equal(s3.outOfOrder, 1);
    } finally {
      await Deno.remove(file);
    }
  },
});

function decodeRtpHeaderInto(rtp: Uint8Array, header: RtpHeader): boolean {
  return decodeRtpHeader(rtp, 0, rtp.length, header);
}
