import assert from "node:assert/strict";
import { decodeRtcpCompound, NTP_UNIX_OFFSET_SECONDS } from "./rtcp.ts";
import { CAPTURES_DIR, capturesPresent, readUdpDatagrams } from "./testing_captures.ts";

/** A little big-endian byte writer for hand-made packets. */
class Bytes {
  data: number[] = [];
  u8(...values: number[]): this {
    for (const v of values) this.data.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8, v);
  }
  u24(v: number): this {
    return this.u8(v >>> 16, v >>> 8, v);
  }
  u32(v: number): this {
    return this.u8(v >>> 24, v >>> 16, v >>> 8, v);
  }
  text(s: string): this {
    return this.u8(...new TextEncoder().encode(s));
  }
  get length(): number {
    return this.data.length;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.data);
  }
}

/** An RTCP packet: header with the length word computed, body padded to 32 bits. */
function rtcp(count: number, type: number, body: Bytes): Bytes {
  while (body.length % 4 !== 0) body.u8(0);
  return new Bytes().u8(0x80 | count, type).u16(body.length / 4).u8(...body.data);
}

function compound(...packets: Bytes[]): Uint8Array {
  return new Uint8Array(packets.flatMap((p) => p.data));
}

const SR = rtcp(
  1,
  200,
  new Bytes()
    .u32(0x11111111) // sender SSRC
    .u32(3900000000).u32(0x80000000) // NTP: 3900000000.5
    .u32(12345).u32(100).u32(16000) // RTP ts, packets, octets
    .u32(0x22222222).u8(0x40).u24(0xfffffe).u32(0x00010005).u32(77).u32(0).u32(0),
);
const SDES = rtcp(
  1,
  202,
  new Bytes().u32(0x11111111).u8(1, 10).text("alice@host").u8(7, 2).text("hi").u8(0),
);
const BYE = rtcp(1, 203, new Bytes().u32(0x11111111).u8(7).text("bye now"));
const APP = rtcp(0, 204, new Bytes().u32(0x11111111).text("TEST").u32(0xdeadbeef));

Deno.test("decodeRtcpCompound reads SR, report blocks, SDES, BYE and APP", () => {
  const data = compound(SR, SDES, BYE, APP);
  const c = decodeRtcpCompound(data, 0, data.length);
  assert.ok(c);
  assert.equal(c.malformed, null);
  assert.deepEqual(c.kinds, ["sr", "sdes", "bye", "app"]);
  assert.equal(c.ssrc, 0x11111111);
  assert.deepEqual(c.reports, [{
    ssrc: 0x22222222,
    fractionLost: 0.25,
    cumulativeLost: -2, // signed 24-bit
    highestSeq: 0x00010005,
    jitter: 77,
  }]);
  assert.equal(c.cname, "alice@host");
  assert.deepEqual(c.senderInfo, {
    ntpTime: 3900000000 - NTP_UNIX_OFFSET_SECONDS + 0.5,
    ntpMiddle: ((3900000000 & 0xffff) << 16 | 0x8000) >>> 0,
    rtpTimestamp: 12345,
    packetCount: 100,
    octetCount: 16000,
  });
  assert.deepEqual(c.byeSsrcs, [0x11111111]);
  assert.equal(c.byeReason, "bye now");
  assert.deepEqual(c.appNames, ["TEST"]);
});

Deno.test("decodeRtcpCompound: RR, several chunks, and reduced-size RTCP", () => {
  const rr = rtcp(0, 201, new Bytes().u32(0x33));
  const twoChunks = rtcp(
    2,
    202,
    new Bytes().u32(0x44).u8(2, 3).text("Bob").u8(0, 0, 0).u32(0x55).u8(1, 3).text("c@d").u8(0),
  );
  let data = compound(rr, twoChunks);
  let c = decodeRtcpCompound(data, 0, data.length);
  assert.deepEqual(c?.kinds, ["rr", "sdes"]);
  assert.equal(c?.ssrc, 0x33);
  assert.equal(c?.cname, "c@d"); // the first CNAME, in the second chunk
  assert.deepEqual(c?.reports, []);
  // RFC 5506: a compound may start with something other than SR/RR.
  data = compound(BYE);
  c = decodeRtcpCompound(data, 0, data.length);
  assert.deepEqual(c?.kinds, ["bye"]);
  assert.equal(c?.ssrc, 0x11111111);
  assert.equal(c?.malformed, null);
  // Feedback (205) counts as "other" and still gives the sender SSRC.
  data = compound(rtcp(1, 205, new Bytes().u32(0x66).u32(0x77)));
  c = decodeRtcpCompound(data, 0, data.length);
  assert.deepEqual(c?.kinds, ["other"]);
  assert.equal(c?.ssrc, 0x66);
});

Deno.test("decodeRtcpCompound stops at a malformed packet and names the fault", () => {
  // Length word pointing past the end.
  let data = compound(SR, SDES);
  data[SR.length + 3] = 40;
  let c = decodeRtcpCompound(data, 0, data.length);
  assert.deepEqual(c?.kinds, ["sr"]);
  assert.equal(c?.malformed, "rtcp.bad-length");
  assert.equal(c?.reports.length, 1);
  // A later packet with version 1.
  data = compound(SR, SDES);
  data[SR.length] = 0x41;
  c = decodeRtcpCompound(data, 0, data.length);
  assert.equal(c?.malformed, "rtcp.bad-version");
  assert.deepEqual(c?.kinds, ["sr"]);
  // Report count larger than the body.
  data = compound(SR);
  data[0] = 0x82;
  c = decodeRtcpCompound(data, 0, data.length);
  assert.equal(c?.malformed, "rtcp.short-packet");
  // Padding on a packet that is not the last.
  data = compound(rtcp(0, 201, new Bytes().u32(1).u8(0, 0, 0, 4)), SDES);
  data[0]! |= 0x20;
  c = decodeRtcpCompound(data, 0, data.length);
  assert.equal(c?.malformed, "rtcp.bad-padding");
  // Trailing bytes shorter than a header.
  data = new Uint8Array([...compound(SDES), 0x80, 201]);
  c = decodeRtcpCompound(data, 0, data.length);
  assert.equal(c?.malformed, "rtcp.trailing-bytes");
  assert.equal(c?.cname, "alice@host");
});

Deno.test("decodeRtcpCompound returns null for what is not RTCP", () => {
  const rtpPcma = new Uint8Array([0x80, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4]);
  assert.equal(decodeRtcpCompound(rtpPcma, 0, rtpPcma.length), null);
  assert.equal(decodeRtcpCompound(new Uint8Array([0x80, 200, 0]), 0, 3), null);
  assert.equal(decodeRtcpCompound(new Uint8Array([0x40, 200, 0, 0]), 0, 4), null);
  assert.equal(decodeRtcpCompound(SR.bytes(), 10, 100), null);
  assert.equal(decodeRtcpCompound(SR.bytes(), 99, 4), null);
});

Deno.test("decodeRtcpCompound honours offset and length", () => {
  const inner = compound(SR, SDES);
  const buffer = new Uint8Array(inner.length + 20);
  buffer.set(inner, 10);
  const c = decodeRtcpCompound(buffer, 10, SR.length);
  assert.deepEqual(c?.kinds, ["sr"]);
  assert.equal(c?.malformed, null);
});

Deno.test("decodeRtcpCompound never throws on random input", () => {
  let seed = 99;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const base = compound(SR, SDES, BYE, APP);
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    const data = base.slice(0, Math.floor(random() * (base.length + 1)));
    for (let k = Math.floor(random() * 4); k > 0; k--) {
      data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
    }
    const c = decodeRtcpCompound(data, 0, data.length);
    if (c) {
      decoded++;
      assert.ok(c.kinds.length >= 0 && Array.isArray(c.reports));
    }
  }
  assert.ok(decoded > 1000);
});

Deno.test({
  name: "decodeRtcpCompound on real RTCP (heplify rtp_rtcp_sip.pcap)",
  ignore: !capturesPresent(),
  fn() {
    const datagrams = readUdpDatagrams(new URL("heplify__rtp_rtcp_sip.pcap", CAPTURES_DIR));
    const frame = (n: number) => {
      const d = datagrams.find((x) => x.frame === n)!;
      return decodeRtcpCompound(d.payload, 0, d.payload.length);
    };
    // Values as tshark shows them (rtcp.pt, rtcp.senderssrc, rtcp.ssrc.*, rtcp.sdes.text).
    const f529 = frame(529);
    assert.deepEqual(f529?.kinds, ["sr", "rr", "sdes"]);
    assert.equal(f529?.malformed, "rtcp.trailing-bytes"); // 118-byte datagram, 116-byte compound
    assert.equal(f529?.ssrc, 0xd2bd4e3e);
    assert.equal(f529?.cname, "unknown@200.57.7.204");
    assert.deepEqual(f529?.reports.map((r) => [r.ssrc, r.highestSeq]), [
      [0xd2bd4e3e, 262148],
      [0x58f33dea, 11332],
    ]);
    const f1181 = frame(1181);
    assert.deepEqual(f1181?.kinds, ["sr", "rr"]);
    assert.deepEqual(f1181?.reports.map((r) => r.jitter), [0, 1888]);
    const f521 = frame(521);
    assert.deepEqual(f521?.kinds, ["sr", "sdes"]);
    assert.equal(f521?.ssrc, 0x58f33dea);
    assert.equal(f521?.malformed, null);
  },
});

async function hasTshark(): Promise<boolean> {
  try {
    return (await new Deno.Command("tshark", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const tshark = await hasTshark();
if (!tshark) console.log("rtcp_test: tshark not found, skipping the tshark cross-check");

Deno.test({
  name: "decodeRtcpCompound agrees with tshark on every RTCP packet of the pcap captures",
  ignore: !tshark || !capturesPresent(),
  async fn() {
    let checked = 0;
    const trailing: number[] = [];
    for (
      const name of [
        "heplify__rtp_rtcp_sip.pcap",
        "heplify__sip_ipv4_tcp.pcap",
        "sngrep__aaa.pcap",
      ]
    ) {
      const path = new URL(name, CAPTURES_DIR);
      const fields = [
        "frame.number",
        "rtcp.pt",
        "rtcp.senderssrc",
        "rtcp.ssrc.fraction",
        "rtcp.ssrc.cum_nr",
        "rtcp.ssrc.ext_high",
        "rtcp.ssrc.jitter",
        "rtcp.ssrc.identifier",
      ];
      const args = ["-r", path.pathname, "-Y", "rtcp", "-T", "fields"];
      for (const f of fields) args.push("-e", f);
      const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "null" })
        .output();
      const datagrams = new Map(readUdpDatagrams(path).map((d) => [d.frame, d]));
      const list = (cell: string | undefined) => (cell ?? "") === "" ? [] : cell!.split(",");
      for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
        if (line === "") continue;
        const c = line.split("\t");
        const d = datagrams.get(Number(c[0]));
        assert.ok(d, `frame ${c[0]} is UDP`);
        const ours = decodeRtcpCompound(d.payload, 0, d.payload.length);
        assert.ok(ours, `frame ${c[0]} decodes`);
        const kinds = list(c[1]).map((pt) =>
          ({ "200": "sr", "201": "rr", "202": "sdes", "203": "bye", "204": "app" })[pt] ?? "other"
        );
        assert.deepEqual(ours.kinds, kinds, `frame ${c[0]} kinds`);
        const senders = list(c[2]).map((x) => parseInt(x, 16));
        if (senders.length > 0) assert.equal(ours.ssrc, senders[0], `frame ${c[0]} ssrc`);
        const fractions = list(c[3]).map(Number);
        assert.deepEqual(ours.reports.map((r) => r.fractionLost * 256), fractions);
        assert.deepEqual(ours.reports.map((r) => r.cumulativeLost), list(c[4]).map(Number));
        assert.deepEqual(ours.reports.map((r) => r.highestSeq), list(c[5]).map(Number));
        assert.deepEqual(ours.reports.map((r) => r.jitter), list(c[6]).map(Number));
        const identifiers = list(c[7]).map((x) => parseInt(x, 16));
        assert.deepEqual(ours.reports.map((r) => r.ssrc), identifiers.slice(0, fractions.length));
        if (ours.malformed !== null) {
          assert.equal(ours.malformed, "rtcp.trailing-bytes", `frame ${c[0]}`);
          trailing.push(Number(c[0]));
        }
        checked++;
      }
    }
    assert.equal(checked, 29);
    // heplify frames 529 and 2644: UDP length two bytes past the compound (tshark is silent).
    assert.deepEqual(trailing, [529, 2644]);
  },
});
