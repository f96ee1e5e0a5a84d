import assert from "node:assert/strict";
import { decodeRtpHeader, RtpHeader } from "./rtp_header.ts";
import { RtpStreamStats, SEQUENCE_WINDOW, wiresharkClockRate } from "./stream_stats.ts";
import {
  CAPTURES_DIR,
  capturesPresent,
  parseRtpStreamsReport,
  readUdpDatagrams,
} from "./testing_captures.ts";

// A small time origin keeps the hand-computed figures exact: epoch seconds as
// doubles resolve only ~0.24 µs, which is below tshark's printed precision anyway.
const T0 = 1000;
const G711 = () => 8000;

/** Feeds [seq, timestamp, arrival ms, payload type?, marker?] rows to a new RtpStreamStats. */
function run(
  rows: [number, number, number, number?, boolean?][],
  clockRateOf: (pt: number) => number = G711,
): RtpStreamStats {
  const stats = new RtpStreamStats(clockRateOf);
  const header = new RtpHeader();
  header.ssrc = 0xabcdef01;
  for (const [seq, ts, ms, pt, marker] of rows) {
    header.sequence = seq;
    header.timestamp = ts >>> 0;
    header.payloadType = pt ?? 0;
    header.marker = marker ?? false;
    stats.update(T0 + ms / 1000, header, 200);
  }
  return stats;
}

function near(actual: number, expected: number, why: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${why}: ${actual} vs ${expected}`);
}

Deno.test("RtpStreamStats delta and jitter, computed by hand (RFC 3550 §6.4.1)", () => {
  // PCMU, 160 samples per packet = 20 ms; arrivals at 0, 20, 45, 60 ms.
  const s = run([[1, 0, 0], [2, 160, 20], [3, 320, 45], [4, 480, 60]]).summary();
  // Packet 2: D = 0, J = 0. Packet 3: D = |45 − 40| = 5, J = 5/16 = 0.3125.
  // Packet 4: expected 45 + 20 = 65, D = 5, J = (15 × 0.3125 + 5) / 16 = 0.60546875.
  near(s.maxJitterMs, 0.60546875, "max jitter");
  near(s.lastJitterMs, 0.60546875, "last jitter");
  near(s.minJitterMs, 0, "min jitter");
  near(s.meanJitterMs, (0 + 0.3125 + 0.60546875) / 3, "mean jitter");
  near(s.minDeltaMs, 15, "min delta");
  near(s.maxDeltaMs, 25, "max delta");
  near(s.meanDeltaMs, 20, "mean delta");
  assert.equal(s.packets, 4);
  assert.equal(s.expected, 4);
  assert.equal(s.lost, 0);
  assert.equal(s.problems, false);
  assert.equal(s.ssrc, 0xabcdef01);
  assert.equal(s.bytes, 800);
  assert.equal(s.firstArrival, T0);
  near(s.lastArrival - T0, 0.06, "last arrival");
  assert.equal(s.clockRate, 8000);
});

Deno.test("RtpStreamStats counts loss, a duplicate and a swap exactly", () => {
  // Sent 100..119; 105 and 106 lost, 110 duplicated, 115/116 swapped.
  const order = [
    100,
    101,
    102,
    103,
    104,
    107,
    108,
    109,
    110,
    110,
    111,
    112,
    113,
    114,
    116,
    115,
    117,
    118,
    119,
  ];
  const s = run(order.map((seq, i) => [seq, (seq - 100) * 160, i * 20])).summary();
  assert.equal(s.packets, 19);
  assert.equal(s.expected, 20); // 119 − 100 + 1
  assert.equal(s.lost, 1); // 2 lost − 1 duplicate, as tshark shows it
  near(s.lostPercent, 5, "lost %");
  // Wireshark's sequence errors: the jump to 107, the duplicate 110, the jump to 116, the late 115.
  assert.equal(s.sequenceErrors, 4);
  assert.equal(s.problems, true);
  assert.equal(s.duplicates, 1);
  assert.equal(s.outOfOrder, 1);
  assert.equal(s.maxConsecutiveLost, 2);
  assert.deepEqual(s.payloadTypes, [0]);
});

Deno.test("RtpStreamStats: lost is negative with duplicates only", () => {
  const s = run([[1, 0, 0], [2, 160, 20], [2, 160, 21], [2, 160, 22], [3, 320, 40]]).summary();
  assert.equal(s.packets, 5);
  assert.equal(s.expected, 3);
  assert.equal(s.lost, -2);
  near(s.lostPercent, -200 / 3, "lost %");
  assert.equal(s.duplicates, 2);
  assert.equal(s.maxConsecutiveLost, 0);
});

Deno.test("RtpStreamStats: sequence numbers wrap around 65535", () => {
  let s = run([[65534, 0, 0], [65535, 160, 20], [0, 320, 40], [1, 480, 60], [2, 640, 80]])
    .summary();
  assert.deepEqual([s.packets, s.expected, s.lost, s.sequenceErrors, s.problems], [
    5,
    5,
    0,
    0,
    false,
  ]);
  // Lost across the wrap: 65534, 65535, (0 lost), 1, 2.
  s = run([[65534, 0, 0], [65535, 160, 20], [1, 480, 60], [2, 640, 80]]).summary();
  assert.deepEqual([s.packets, s.expected, s.lost, s.sequenceErrors, s.maxConsecutiveLost], [
    4,
    5,
    1,
    1,
    1,
  ]);
});

Deno.test("RtpStreamStats: timestamps wrap around 2^32 and stay in sequence", () => {
  const s = run([[1, 0xffffff60, 0], [2, 0, 20], [3, 160, 40], [4, 320, 60]]).summary();
  assert.equal(s.problems, false);
  near(s.maxJitterMs, 0, "no jitter across the wrap");
  near(s.maxDeltaMs, 20, "max delta");
});

Deno.test("RtpStreamStats: a timestamp behind the first one is out of time sequence", () => {
  // Wireshark compares with the first packet's timestamp: packet 3 restarts at 0.
  const s = run([[1, 8000, 0], [2, 8160, 20], [3, 0, 40], [4, 160, 60], [5, 8480, 80]]).summary();
  assert.equal(s.problems, true);
  // Out-of-time packets do not advance the in-order sequence number, so packet 5
  // looks like a jump from 2 to 5: one sequence error, as in Wireshark.
  assert.equal(s.sequenceErrors, 1);
  assert.equal(s.lost, 0);
  // Packets 3 and 4 are skipped; packet 5's delta runs from packet 2 (60 ms).
  near(s.maxDeltaMs, 60, "delta from the last in-sequence packet");
});

Deno.test("RtpStreamStats: marker packets are left out of the deltas, not of the jitter", () => {
  // A talkspurt starts after 80 ms of silence with the marker bit and a matching timestamp.
  const s = run([[1, 0, 0], [2, 160, 20], [3, 800, 100, 0, true], [4, 960, 121]]).summary();
  near(s.maxDeltaMs, 21, "the 80 ms marker gap is not a delta");
  near(s.minDeltaMs, 20, "min delta");
  near(s.maxJitterMs, 1 / 16, "packet 4 is 1 ms late");
  assert.equal(s.markers, 1);
});

Deno.test("RtpStreamStats: comfort noise and the packet after it are skipped; Wireshark's running mean", () => {
  const s = run([
    [1, 0, 0, 8],
    [2, 160, 20, 8], // regular, n = 1: mean = 20
    [3, 320, 40, 8], // regular, n = 2: mean = 20
    [4, 480, 60, 13], // comfort noise: skipped (n = 3)
    [5, 1600, 200, 8], // follows CN: skipped (n = 4)
    [6, 1760, 230, 8], // regular, n = 5: mean = (20 × 4 + 30) / 5 = 22
  ]).summary();
  near(s.meanDeltaMs, 22, "Wireshark's running mean, not (20 + 20 + 30) / 3");
  near(s.maxDeltaMs, 30, "max delta");
  assert.deepEqual(s.payloadTypes, [8, 13]);
});

Deno.test("RtpStreamStats: telephone-event (clock 0) leaves the jitter alone but counts deltas", () => {
  const clock = (pt: number) => wiresharkClockRate(pt, pt === 101 ? "telephone-event" : null, 8000);
  const s = run([
    [1, 0, 0, 0],
    [2, 160, 20, 0],
    [3, 320, 47, 101, true], // event start, marker: not a delta
    [4, 320, 63, 101], // event packets keep the start timestamp
    [5, 320, 84, 101],
  ], clock).summary();
  near(s.maxJitterMs, 0, "the event packets never touched the jitter");
  near(s.maxDeltaMs, 21, "event deltas count");
  near(s.minDeltaMs, 16, "event deltas count");
  assert.equal(s.clockRate, 8000);
  assert.deepEqual(s.payloadTypes, [0, 101]);
});

Deno.test("RtpStreamStats with epoch arrival times stays within 0.001 ms", () => {
  const stats = new RtpStreamStats(G711);
  const header = new RtpHeader();
  for (let i = 0; i < 3; i++) {
    header.sequence = i;
    header.timestamp = i * 160;
    stats.update(1_700_000_000.123456 + i * 0.02, header, 100);
  }
  const s = stats.summary();
  assert.ok(Math.abs(s.maxDeltaMs - 20) < 0.001 && s.maxJitterMs < 0.001, JSON.stringify(s));
});

Deno.test("RtpStreamStats: one packet only gives tshark's −1 minimums", () => {
  const s = run([[7, 0, 0]]).summary();
  assert.deepEqual(
    [s.packets, s.expected, s.lost, s.minDeltaMs, s.meanDeltaMs, s.maxDeltaMs, s.minJitterMs],
    [1, 1, 0, -1, 0, 0, -1],
  );
  const empty = new RtpStreamStats(G711).summary();
  assert.deepEqual([empty.packets, empty.expected, empty.lost, empty.lostPercent], [0, 0, 0, 0]);
});

Deno.test("RtpStreamStats: Wireshark's integer ms clock (44.1 kHz counts as 44 per ms)", () => {
  // L16 mono at 44100 Hz, 882 samples every 20 ms exactly.
  const s = run([[1, 0, 0, 11], [2, 882, 20, 11]], (pt) => wiresharkClockRate(pt, null, 0))
    .summary();
  near(s.maxJitterMs, Math.abs(20 - 882 / 44) / 16, "882 / 44 ms, not 882 / 44.1 ms");
});

Deno.test("RtpStreamStats asks for a clock rate only when the payload type changes", () => {
  const asked: number[] = [];
  const stats = new RtpStreamStats((pt) => {
    asked.push(pt);
    return 8000;
  });
  const header = new RtpHeader();
  const feed = (seq: number, pt: number) => {
    header.sequence = seq;
    header.timestamp = seq * 160;
    header.payloadType = pt;
    stats.update(T0 + seq * 0.02, header, 100);
  };
  feed(1, 0);
  feed(2, 0);
  feed(3, 0);
  feed(4, 101);
  feed(5, 101);
  feed(6, 0);
  stats.clockRatesChanged();
  feed(7, 0);
  assert.deepEqual(asked, [0, 101, 0, 0]);
});

Deno.test("RtpStreamStats: loss bursts, late arrivals and the window", () => {
  // 1..10, then 20 (11..19 missing), then 15 arrives late, then 21..25.
  const rows: [number, number, number][] = [];
  let ms = 0;
  for (let seq = 1; seq <= 10; seq++) rows.push([seq, seq * 160, ms += 20]);
  rows.push([20, 20 * 160, ms += 20]);
  rows.push([15, 15 * 160, ms += 20]);
  for (let seq = 21; seq <= 25; seq++) rows.push([seq, seq * 160, ms += 20]);
  let s = run(rows).summary();
  assert.equal(s.maxConsecutiveLost, 4); // 11–14 and 16–19
  assert.equal(s.outOfOrder, 1);
  assert.equal(s.duplicates, 0);
  // A jump far beyond the window: every skipped number is counted.
  s = run([[1, 0, 0], [2, 160, 20], [5000, 800000, 40], [5001, 800160, 60]]).summary();
  assert.equal(s.maxConsecutiveLost, 4997);
  // A packet older than the window is late; whether it is a duplicate can no longer be told.
  const old: [number, number, number][] = [];
  for (let seq = 1; seq <= SEQUENCE_WINDOW + 50; seq++) old.push([seq, seq * 160, seq * 20]);
  old.push([3, 3 * 160, 1e6]);
  s = run(old).summary();
  assert.equal(s.outOfOrder, 1);
  assert.equal(s.duplicates, 0);
  assert.equal(s.maxConsecutiveLost, 0);
  // Two in a row that far behind: the sender restarted its numbering; nothing is late.
  const restart: [number, number, number][] = [];
  for (let seq = 30000; seq < 32000; seq++) restart.push([seq, seq * 160, seq * 20]);
  for (let seq = 100; seq < 200; seq++) {
    restart.push([seq, (seq + 40000) * 160, (seq + 40000) * 20]);
  }
  restart.splice(2100 - 30, 1); // and one loss after the restart
  s = run(restart).summary();
  assert.equal(s.outOfOrder, 0);
  assert.equal(s.duplicates, 0);
  assert.equal(s.maxConsecutiveLost, 1);
});

Deno.test("wiresharkClockRate follows Wireshark's table and rules", () => {
  assert.equal(wiresharkClockRate(0, null, 0), 8000);
  assert.equal(wiresharkClockRate(2, null, 0), 8000); // G721, historic
  assert.equal(wiresharkClockRate(19, null, 0), 8000); // old CN
  assert.equal(wiresharkClockRate(11, null, 0), 44100);
  assert.equal(wiresharkClockRate(34, null, 0), 90000);
  assert.equal(wiresharkClockRate(42, null, 0), 0); // unassigned
  assert.equal(wiresharkClockRate(8, "whatever", 16000), 8000); // static types ignore SDP
  assert.equal(wiresharkClockRate(101, "TELEPHONE-EVENT", 8000), 0);
  assert.equal(wiresharkClockRate(96, "opus", 48000), 48000);
  assert.equal(wiresharkClockRate(96, "opus", 0), 0);
  assert.equal(wiresharkClockRate(96, null, 8000), 0);
});

/**
 * Clock rates of the dynamic payload types of the pcap captures, by RTP
 * source port, from the SDP of each call (see stream_stats_tshark_test.ts).
 */
const DYNAMIC_CLOCKS: Record<string, Record<number, number>> = {
  "lundgrel__sip-rtp-l16.pcap": { 26628: 8000, 24082: 16000, 32682: 11025, 31026: 48000 },
  "redrabbit__sip-rtp-opus.pcap": { 24196: 48000 },
  "sipnab__sip-rtp-opus-hybrid.pcap": { 24196: 48000 },
  "sipnab__register-invite-reinvite-bye.pcap": { 5084: 48000, 5094: 48000 },
};

const FUZZ_BAD_PADDING_STREAM = "192.168.1.2|30000|212.242.33.36|40392|2863311530";
const FAX_T38_STREAM = "10.35.60.100|15580|10.23.1.52|16756|246353583";

Deno.test({
  name: "RtpStreamStats matches the tshark reports of the pcap captures (no tshark needed)",
  ignore: !capturesPresent(),
  fn() {
    let compared = 0;
    for (const entry of Deno.readDirSync(CAPTURES_DIR)) {
      const name = entry.name;
      if (!name.endsWith(".pcap") || name.startsWith("arkime__")) continue; // GTP: not read here
      const refs = parseRtpStreamsReport(
        Deno.readTextFileSync(new URL(`${name}.rtpstreams.txt`, CAPTURES_DIR)),
      );
      if (refs.length === 0) continue;
      const wanted = new Map(refs.map((r) => [r.key, r]));
      const streams = new Map<string, RtpStreamStats>();
      const header = new RtpHeader();
      const datagrams = readUdpDatagrams(new URL(name, CAPTURES_DIR));
      const starts = new Map<string, number>();
      for (const d of datagrams) {
        if (!decodeRtpHeader(d.payload, 0, d.payload.length, header)) continue;
        const key = `${d.src}|${d.srcPort}|${d.dst}|${d.dstPort}|${header.ssrc}`;
        if (!wanted.has(key)) continue;
        let stats = streams.get(key);
        if (stats === undefined) {
          const rate = DYNAMIC_CLOCKS[name]?.[d.srcPort] ?? 0;
          stats = new RtpStreamStats((pt) =>
            pt >= 96 ? (rate > 0 && pt !== 101 ? rate : 0) : wiresharkClockRate(pt, null, 0)
          );
          streams.set(key, stats);
          starts.set(key, d.relative);
        }
        stats.update(d.time, header, d.payload.length);
      }
      for (const ref of refs) {
        const s = streams.get(ref.key)?.summary();
        if (ref.key === FUZZ_BAD_PADDING_STREAM) {
          // Frame 630 of the fuzzed capture: P bit, 10 CSRCs of 0xAAAAAAAA and a padding
          // count of 170 in a 162-byte datagram. tshark clips the padding and reports a
          // one-packet stream; decodeRtpHeader rejects the packet.
          assert.equal(s, undefined);
          continue;
        }
        assert.ok(s, `${name} ${ref.key}`);
        const where = `${name} ${ref.key}`;
        if (ref.key === FAX_T38_STREAM) {
          // The SDP at frames 3127 and 3147 offers "m=image 16756 udptl t38", and tshark
          // from then on dissects 2010 of this stream's PCMA packets as (malformed) T.38.
          // They are RTP with the same SSRC; we count them. (The tshark harness, which
          // takes tshark's own packet selection, agrees on the 1838.)
          assert.deepEqual([s.packets, ref.packets], [3848, 1838]);
          continue;
        }
        assert.equal(s.packets, ref.packets, `${where} packets`);
        assert.equal(s.lost, ref.lost, `${where} lost`);
        assert.equal(s.problems, ref.problems, `${where} problems`);
        assert.ok(Math.abs(starts.get(ref.key)! - ref.start) < 1e-6, `${where} start`);
        for (
          const [ours, theirs, what] of [
            [s.minDeltaMs, ref.minDelta, "min delta"],
            [s.meanDeltaMs, ref.meanDelta, "mean delta"],
            [s.maxDeltaMs, ref.maxDelta, "max delta"],
            [s.minJitterMs, ref.minJitter, "min jitter"],
            [s.meanJitterMs, ref.meanJitter, "mean jitter"],
            [s.maxJitterMs, ref.maxJitter, "max jitter"],
          ] as const
        ) {
          assert.ok(Math.abs(ours - theirs) < 0.0006, `${where} ${what}: ${ours} vs ${theirs}`);
        }
        compared++;
      }
    }
    // All 42 reference streams but arkime's two (GTP), sipnab b2bua's two (pcapng: the
    // small reader does not read pcapng) and the two above.
    assert.equal(compared, 36);
  },
});
