import assert from "node:assert/strict";
import {
  DEFAULT_PLAN,
  DUPLICATE_DELAY_SECONDS,
  impairPackets,
  ImpairPlanError,
} from "./impair_capture.ts";
import { readRtpHeader } from "./rtp_clip.ts";
import { rtpStream, sipFrame } from "./test_packets.ts";
import type { CapturedPacket } from "./udp_frames.ts";

const ETHERNET = 1;
const CALLER = { src: "127.0.0.10", srcPort: 16002, dst: "127.0.0.20", dstPort: 20002 };
const CALLEE = { src: "127.0.0.20", srcPort: 20002, dst: "127.0.0.10", dstPort: 16002 };

/** A call-like capture: SIP, two 100-packet streams 5 ms apart, a 10-packet DTMF burst. */
function callCapture(): CapturedPacket[] {
  const invite = sipFrame("INVITE sip:1002@127.0.0.20 SIP/2.0\r\nCall-ID: x\r\n\r\n");
  const caller = rtpStream(100, { ...CALLER, seq: 65500, timestamp: 0, ssrc: 0xa11ce001 }, 10);
  const callee = rtpStream(100, { ...CALLEE, seq: 1000, timestamp: 0, ssrc: 0xb0b00001 }, 10.005);
  const dtmf = rtpStream(10, {
    ...CALLER,
    seq: 1,
    timestamp: 0,
    ssrc: 0x0e05384e,
    payloadType: 101,
    payloadLength: 4,
  }, 13);
  return [{ ts: 9, data: invite, origLen: invite.length }, ...caller, ...callee, ...dtmf]
    .sort((a, b) => a.ts - b.ts);
}

function seqsOf(packets: CapturedPacket[], ssrc: number): number[] {
  return packets
    .map((p) => readRtpHeader(p.data, ETHERNET))
    .filter((h) => h !== null && h.ssrc === ssrc)
    .map((h) => h!.seq);
}

Deno.test("impair: drops, duplicates and swaps the planned packets of each long stream", () => {
  const input = callCapture();
  const { packets, streams } = impairPackets(input, ETHERNET);
  assert.equal(streams.length, 2); // the 10-packet DTMF burst is too short to touch
  const caller = streams.find((s) => s.ssrc === "0xA11CE001")!;
  assert.equal(caller.flow, "127.0.0.10:16002 > 127.0.0.20:20002");
  assert.deepEqual([caller.packetsIn, caller.packetsOut], [100, 98]);
  // seq 65500 + index, wrapping after 65535
  assert.deepEqual(caller.droppedSeqs, [65510, 65511, 65512, 4]);
  assert.deepEqual(caller.duplicatedSeqs, [65520, 24]);
  assert.deepEqual(caller.swappedSeqs, [[65530, 65531], [34, 35]]);
  const seqs = seqsOf(packets, 0xa11ce001);
  assert.equal(seqs.length, 98);
  assert.ok(!seqs.includes(65510) && !seqs.includes(4));
  assert.equal(seqs.filter((s) => s === 65520).length, 2);
  const at = seqs.indexOf(65530);
  assert.equal(seqs[at - 1], 65531); // 65531 arrives first
  const callee = streams.find((s) => s.ssrc === "0xB0B00001")!;
  assert.deepEqual(callee.droppedSeqs, [1010, 1011, 1012, 1040]);
  assert.equal(seqsOf(packets, 0xb0b00001).length, 98);
  assert.equal(packets.length, input.length - 4);
});

Deno.test("impair: keeps time order, slots and everything that is not a long RTP stream", () => {
  const input = callCapture();
  const { packets } = impairPackets(input, ETHERNET);
  for (let i = 1; i < packets.length; i++) assert.ok(packets[i - 1]!.ts <= packets[i]!.ts);
  assert.deepEqual(packets[0]!.data, input[0]!.data); // SIP untouched
  assert.deepEqual(seqsOf(packets, 0x0e05384e), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // a duplicate follows its original by DUPLICATE_DELAY_SECONDS
  const dups = packets.filter((p) => readRtpHeader(p.data, ETHERNET)?.seq === 65520);
  assert.equal(dups.length, 2);
  assert.ok(Math.abs(dups[1]!.ts - dups[0]!.ts - DUPLICATE_DELAY_SECONDS) < 1e-9);
  // a swapped pair keeps both time slots of the input
  const slot = input.find((p) => readRtpHeader(p.data, ETHERNET)?.seq === 65530)!.ts;
  const inSlot = packets.find((p) => p.ts === slot)!;
  assert.equal(readRtpHeader(inSlot.data, ETHERNET)?.seq, 65531);
});

Deno.test("impair: a plan must be consistent", () => {
  const input = callCapture();
  const plan = { ...DEFAULT_PLAN, duplicate: [10] }; // 10 is also dropped
  assert.throws(() => impairPackets(input, ETHERNET, plan), ImpairPlanError);
  const late = { ...DEFAULT_PLAN, drop: [85] }; // beyond minPackets
  assert.throws(() => impairPackets(input, ETHERNET, late), /minPackets/);
  const swapOverlap = { ...DEFAULT_PLAN, swapWithNext: [29, 30] };
  assert.throws(() => impairPackets(input, ETHERNET, swapOverlap), /used twice/);
});
