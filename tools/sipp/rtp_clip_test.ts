import assert from "node:assert/strict";
import { ClipRangeError, cutClip, readRtpHeader } from "./rtp_clip.ts";
import { rtpStream, udpChecksumOk } from "./test_packets.ts";
import { fixUdpChecksum, loadCapture, locateUdp, saveCapture } from "./udp_frames.ts";

const ETHERNET = 1;
const SIPP_G711A = "/usr/share/sip-tester/g711a.pcap";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
const hasSippMedia = exists(SIPP_G711A);
if (!hasSippMedia) console.log(`rtp_clip_test: ${SIPP_G711A} missing (sip-tester); skipping`);

const BASE = {
  src: "10.1.3.143",
  srcPort: 49176,
  dst: "10.1.6.18",
  dstPort: 10000,
  seq: 65530,
  timestamp: 4294967000,
  ssrc: 0xdee0ee8f,
};

Deno.test("rtp clip: cuts a range and keeps it as it was without edits", () => {
  const input = rtpStream(20, BASE, 1000);
  const clip = cutClip(input, ETHERNET, { first: 5, count: 3 });
  assert.equal(clip.length, 3);
  assert.deepEqual(clip.map((p) => p.ts), [input[5]!.ts, input[6]!.ts, input[7]!.ts]);
  assert.deepEqual(clip[0]!.data, input[5]!.data);
  assert.notEqual(clip[0]!.data, input[5]!.data); // a copy
});

Deno.test("rtp clip: new SSRC, rebased sequence and timestamp with wrap-around, marker", () => {
  const input = rtpStream(20, BASE, 1000);
  const before = input.map((p) => p.data.slice());
  const clip = cutClip(input, ETHERNET, {
    first: 2,
    count: 10,
    ssrc: 0xa11ce001,
    seq: 65534,
    timestamp: 4294967200,
    marker: true,
  });
  const headers = clip.map((p) => readRtpHeader(p.data, ETHERNET)!);
  assert.deepEqual(headers.map((h) => h.seq), [65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(headers[0]!.timestamp, 4294967200);
  assert.equal(headers[2]!.timestamp, (4294967200 + 320) % 2 ** 32);
  assert.ok(headers.every((h) => h.ssrc === 0xa11ce001));
  assert.equal(clip[0]!.data[43]! & 0x80, 0x80);
  assert.equal(clip[1]!.data[43]! & 0x80, 0);
  assert.ok(clip.every((p) => udpChecksumOk(p.data)));
  assert.deepEqual(input.map((p) => p.data), before); // input untouched
});

Deno.test("rtp clip: out-of-range cuts are range errors", () => {
  const input = rtpStream(5, BASE, 0);
  assert.throws(() => cutClip(input, ETHERNET, { first: 3, count: 3 }), ClipRangeError);
  assert.throws(() => cutClip(input, ETHERNET, { first: -1, count: 1 }), ClipRangeError);
  assert.throws(() => cutClip(input, ETHERNET, { first: 0, count: 0 }), RangeError);
});

Deno.test("udp frames: checksum fix verifies, locateUdp rejects non-UDP", () => {
  const [p] = rtpStream(1, BASE, 0);
  const data = p!.data;
  data[60] = 0x11; // edit the payload: checksum now stale
  const at = locateUdp(data, ETHERNET)!;
  fixUdpChecksum(data, at);
  assert.ok(udpChecksumOk(data));
  assert.equal(at.src, "10.1.3.143");
  assert.equal(at.dstPort, 10000);
  const tcp = data.slice();
  tcp[23] = 6;
  assert.equal(locateUdp(tcp, ETHERNET), null);
  assert.equal(locateUdp(data.subarray(0, 30), ETHERNET), null);
  assert.equal(locateUdp(data, 9999), null);
});

Deno.test({
  name: "rtp clip: sipp's g711a.pcap round trip through loadCapture/saveCapture",
  ignore: !hasSippMedia,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "rtp_clip_test" });
    try {
      const g711a = await loadCapture(SIPP_G711A);
      assert.equal(g711a.packets.length, 236);
      const clip = cutClip(g711a.packets, g711a.linkType, {
        first: 118,
        count: 100,
        ssrc: 0xb0b00001,
        marker: true,
      });
      await saveCapture(`${dir}/clip.pcap`, g711a.linkType, clip);
      const back = await loadCapture(`${dir}/clip.pcap`);
      assert.equal(back.packets.length, 100);
      const first = readRtpHeader(back.packets[0]!.data, back.linkType)!;
      const last = readRtpHeader(back.packets[99]!.data, back.linkType)!;
      // g711a.pcap: seq 59133 + i, timestamp 240 * (i + 1), 30 ms packets
      assert.deepEqual(first, { seq: 59133 + 118, timestamp: 240 * 119, ssrc: 0xb0b00001 });
      assert.equal(last.seq, 59133 + 217);
      assert.equal(back.packets[0]!.ts, g711a.packets[118]!.ts);
      assert.ok(back.packets.every((p) => udpChecksumOk(p.data)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
