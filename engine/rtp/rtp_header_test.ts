import assert from "node:assert/strict";
import {
  decodeRtpHeader,
  isRtcpPacketType,
  RTCP_PACKET_TYPE_MAX,
  RTCP_PACKET_TYPE_MIN,
  RtpHeader,
} from "./rtp_header.ts";
import { CAPTURES_DIR, capturesPresent, readUdpDatagrams } from "./testing_captures.ts";

/** Builds an RTP packet: header fields, then optional CSRCs, extension, payload and padding. */
function packet(options: {
  version?: number;
  marker?: boolean;
  pt?: number;
  seq?: number;
  ts?: number;
  ssrc?: number;
  csrcs?: number[];
  extension?: { profile: number; words: number[] };
  payload?: number[];
  padding?: number;
}): Uint8Array {
  const csrcs = options.csrcs ?? [];
  const ext = options.extension;
  const payload = options.payload ?? [];
  const padding = options.padding ?? 0;
  const size = 12 + 4 * csrcs.length + (ext ? 4 + 4 * ext.words.length : 0) + payload.length +
    padding;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = ((options.version ?? 2) << 6) | (padding > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) |
    csrcs.length;
  out[1] = (options.marker ? 0x80 : 0) | (options.pt ?? 0);
  view.setUint16(2, options.seq ?? 0);
  view.setUint32(4, options.ts ?? 0);
  view.setUint32(8, options.ssrc ?? 0);
  let at = 12;
  for (const c of csrcs) {
    view.setUint32(at, c);
    at += 4;
  }
  if (ext) {
    view.setUint16(at, ext.profile);
    view.setUint16(at + 2, ext.words.length);
    at += 4;
    for (const w of ext.words) {
      view.setUint32(at, w);
      at += 4;
    }
  }
  out.set(payload, at);
  at += payload.length;
  if (padding > 0) out[size - 1] = padding;
  return out;
}

Deno.test("decodeRtpHeader reads every fixed-header field, uint32s unsigned", () => {
  const data = packet({
    marker: true,
    pt: 101,
    seq: 65535,
    ts: 0xfffffff0,
    ssrc: 0x80000001,
    payload: [1, 2, 3],
  });
  const h = new RtpHeader();
  assert.equal(decodeRtpHeader(data, 0, data.length, h), true);
  assert.equal(h.version, 2);
  assert.equal(h.padding, false);
  assert.equal(h.extension, false);
  assert.equal(h.csrcCount, 0);
  assert.equal(h.marker, true);
  assert.equal(h.payloadType, 101);
  assert.equal(h.sequence, 65535);
  assert.equal(h.timestamp, 0xfffffff0);
  assert.equal(h.ssrc, 0x80000001);
  assert.equal(h.headerLength, 12);
  assert.equal(h.payloadOffset, 12);
  assert.equal(h.payloadLength, 3);
});

Deno.test("decodeRtpHeader skips the CSRC list", () => {
  const data = packet({ csrcs: [0x11, 0x22], payload: [9, 9, 9, 9] });
  const h = new RtpHeader();
  assert.equal(decodeRtpHeader(data, 0, data.length, h), true);
  assert.equal(h.csrcCount, 2);
  assert.equal(h.headerLength, 20);
  assert.equal(h.payloadOffset, 20);
  assert.equal(h.payloadLength, 4);
});

Deno.test("decodeRtpHeader skips a header extension by its length word (RFC 3550 §5.3.1)", () => {
  const data = packet({
    csrcs: [7],
    extension: { profile: 0xbede, words: [0x10ff0000, 0] },
    payload: [0xaa],
  });
  const h = new RtpHeader();
  assert.equal(decodeRtpHeader(data, 0, data.length, h), true);
  assert.equal(h.extension, true);
  assert.equal(h.extensionProfile, 0xbede);
  assert.equal(h.extensionOffset, 12 + 4 + 4);
  assert.equal(h.extensionLength, 8);
  assert.equal(h.headerLength, 12 + 4 + 4 + 8);
  assert.equal(data[h.payloadOffset], 0xaa);
  assert.equal(h.payloadLength, 1);
});

Deno.test("decodeRtpHeader removes padding counted by the last byte", () => {
  const data = packet({ payload: [1, 2, 3, 4, 5], padding: 3 });
  const h = new RtpHeader();
  assert.equal(decodeRtpHeader(data, 0, data.length, h), true);
  assert.equal(h.padding, true);
  assert.equal(h.paddingLength, 3);
  assert.equal(h.payloadLength, 5);
});

Deno.test("decodeRtpHeader works at an offset inside a larger buffer and clips the length", () => {
  const inner = packet({ pt: 8, seq: 42, payload: [1, 2] });
  const buffer = new Uint8Array(100);
  buffer.set(inner, 60);
  const h = new RtpHeader();
  assert.equal(decodeRtpHeader(buffer, 60, inner.length, h), true);
  assert.equal(h.sequence, 42);
  assert.equal(h.payloadOffset, 72);
  assert.equal(h.payloadLength, 2);
  // A length past the end of the buffer is clipped to it.
  assert.equal(decodeRtpHeader(buffer, 60, 1000, h), true);
  assert.equal(h.payloadLength, 100 - 72);
});

Deno.test("decodeRtpHeader rejects what is not a valid RTP v2 packet", () => {
  const h = new RtpHeader();
  const reject = (data: Uint8Array, why: string) =>
    assert.equal(decodeRtpHeader(data, 0, data.length, h), false, why);
  reject(packet({}).subarray(0, 11), "shorter than 12 bytes");
  reject(packet({ version: 1 }), "version 1");
  reject(packet({ version: 0 }), "version 0 (STUN, ZRTP)");
  reject(packet({ version: 3 }), "version 3");
  reject(packet({ csrcs: [1, 2] }).subarray(0, 16), "CSRC list overruns");
  const noExtHeader = packet({ payload: [] });
  noExtHeader[0]! |= 0x10;
  reject(noExtHeader, "X bit but no room for the extension header");
  reject(
    packet({ extension: { profile: 1, words: [1, 2, 3] } }).subarray(0, 20),
    "extension overruns",
  );
  const zeroPad = packet({ payload: [1, 2, 3, 0] });
  zeroPad[0]! |= 0x20;
  reject(zeroPad, "padding count 0");
  const bigPad = packet({ payload: [1, 2, 3, 50] });
  bigPad[0]! |= 0x20;
  reject(bigPad, "padding count larger than the payload");
  assert.equal(decodeRtpHeader(packet({}), -1, 12, h), false, "negative offset");
  assert.equal(decodeRtpHeader(packet({}), 0, -5, h), false, "negative length");
});

Deno.test("decodeRtpHeader never throws on random input and keeps its invariants", () => {
  const h = new RtpHeader();
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const data = new Uint8Array(Math.floor(random() * 64));
    for (let j = 0; j < data.length; j++) data[j] = Math.floor(random() * 256);
    if (data.length > 0 && random() < 0.5) data[0] = (data[0]! & 0x3f) | 0x80;
    const offset = Math.floor(random() * 4);
    const length = Math.floor(random() * 70) - 3;
    if (decodeRtpHeader(data, offset, length, h)) {
      accepted++;
      const end = Math.min(data.length, offset + length);
      assert.equal(h.version, 2);
      assert.equal(h.headerLength + h.payloadLength + h.paddingLength, end - offset);
      assert.ok(h.payloadLength >= 0 && h.payloadOffset + h.payloadLength <= data.length);
    }
  }
  assert.ok(accepted > 100, `some random packets should pass (${accepted})`);
});

Deno.test("isRtcpPacketType follows the RFC 5761 range", () => {
  assert.equal(RTCP_PACKET_TYPE_MIN, 192);
  assert.equal(RTCP_PACKET_TYPE_MAX, 223);
  assert.equal(isRtcpPacketType(191), false);
  for (let pt = 192; pt <= 223; pt++) assert.equal(isRtcpPacketType(pt), true);
  assert.equal(isRtcpPacketType(224), false);
  assert.equal(isRtcpPacketType(0x80 | 8), false); // PCMA with the marker bit
  assert.equal(isRtcpPacketType(0x80 | 101), false); // telephone-event with the marker bit
});

Deno.test({
  name: "decodeRtpHeader on a real capture: every RTP datagram decodes, nothing else does",
  ignore: !capturesPresent(),
  fn() {
    const datagrams = readUdpDatagrams(new URL("sipnab__sip-rtp-g711.pcap", CAPTURES_DIR));
    const h = new RtpHeader();
    const perSsrc = new Map<number, number>();
    let others = 0;
    for (const d of datagrams) {
      const ok = decodeRtpHeader(d.payload, 0, d.payload.length, h);
      if (d.dstPort !== 6000) {
        // SIP on 5060, two 5-byte port probes (frames 3 and 436) and a datagram
        // tshark shows as "Unknown RTP version 3" (frame 431).
        others++;
        assert.equal(ok, false, `frame ${d.frame} must not decode as RTP`);
        continue;
      }
      assert.equal(ok, true, `frame ${d.frame}`);
      assert.equal(h.payloadLength, 160);
      perSsrc.set(h.ssrc, (perSsrc.get(h.ssrc) ?? 0) + 1);
    }
    assert.equal(others, 13);
    // tshark -z rtp,streams: 0x343DA99B 425 packets (g711U), 0x343FFA34 414 packets (g711A).
    assert.deepEqual([...perSsrc].sort(), [[0x343da99b, 425], [0x343ffa34, 414]]);
  },
});
