import assert from "node:assert/strict";
import { PcapngWriter } from "../../engine/capture/pcapng_writer.ts";
import {
  buildTcpFrame,
  buildUdpFrame,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  internetChecksum,
  ipv4Bytes,
  ipv6Bytes,
  macForIp,
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
} from "./packet_builder.ts";

const hasTshark = (() => {
  try {
    return new Deno.Command("tshark", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!hasTshark) console.warn("packet_builder_test: tshark not found, skipping tshark checks");

const text = (s: string) => new TextEncoder().encode(s);

/**
 * Independent UDP/TCP checksum check: the sum over the pseudo-header (addresses, zero,
 * protocol, length: the same word sum for IPv4 and IPv6) and the segment must be 0xffff.
 */
function transportSumOk(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  segment: Uint8Array,
): boolean {
  const all = new Uint8Array(src.length + dst.length + 4 + segment.length);
  all.set(src, 0);
  all.set(dst, src.length);
  const at = src.length + dst.length;
  all[at + 1] = protocol;
  new DataView(all.buffer).setUint16(at + 2, segment.length);
  all.set(segment, at + 4);
  return internetChecksum(all) === 0;
}

Deno.test("IPv4 UDP frame has valid IPv4 and UDP checksums and the right fields", () => {
  const payload = text("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  const frame = buildUdpFrame({
    src: { ip: "112.222.225.104", port: 5060 },
    dst: { ip: "192.168.0.54", port: 5062 },
    payload,
    ipId: 0x1234,
    dscp: 46,
  });
  const v = new DataView(frame.buffer);
  assert.deepEqual([...frame.subarray(0, 6)], [2, 0, 192, 168, 0, 54]);
  assert.deepEqual([...frame.subarray(6, 12)], [2, 0, 112, 222, 225, 104]);
  assert.equal(v.getUint16(12), 0x0800);
  assert.equal(frame[15], 46 << 2);
  assert.equal(v.getUint16(16), 20 + 8 + payload.length);
  assert.equal(v.getUint16(18), 0x1234);
  assert.equal(v.getUint16(20), 0x4000);
  assert.equal(frame[23], 17);
  assert.equal(internetChecksum(frame.subarray(14, 34)), 0);
  assert.notEqual(v.getUint16(24), 0);
  assert.equal(v.getUint16(34), 5060);
  assert.equal(v.getUint16(36), 5062);
  assert.equal(v.getUint16(38), 8 + payload.length);
  assert.notEqual(v.getUint16(40), 0);
  assert.ok(transportSumOk(frame.subarray(26, 30), frame.subarray(30, 34), 17, frame.subarray(34)));
  assert.deepEqual(frame.subarray(42), payload);
  // Flip one payload bit: the checksum must no longer match.
  const bad = frame.slice();
  bad[bad.length - 1]! ^= 1;
  assert.ok(!transportSumOk(bad.subarray(26, 30), bad.subarray(30, 34), 17, bad.subarray(34)));
});

Deno.test("IPv6 UDP frame and VLAN tag", () => {
  const frame = buildUdpFrame({
    src: { ip: "2001:db8::54", port: 5060 },
    dst: { ip: "2001:db8::104", port: 5060 },
    payload: text("odd"),
    vlan: 100,
  });
  const v = new DataView(frame.buffer);
  assert.equal(v.getUint16(12), ETHERTYPE_VLAN);
  assert.equal(v.getUint16(14) & 0xfff, 100);
  assert.equal(v.getUint16(16), ETHERTYPE_IPV6);
  const ip = frame.subarray(18);
  assert.equal(ip[0]! >> 4, 6);
  assert.equal(new DataView(ip.buffer, ip.byteOffset).getUint16(4), 8 + 3);
  assert.equal(ip[6], 17);
  assert.ok(transportSumOk(ip.subarray(8, 24), ip.subarray(24, 40), 17, ip.subarray(40)));
});

Deno.test("TCP frames carry seq, ack, flags, MSS and a valid checksum", () => {
  const syn = buildTcpFrame({
    src: { ip: "192.168.0.55", port: 40123 },
    dst: { ip: "112.222.225.104", port: 5060 },
    seq: 0xfffffff0,
    flags: TCP_SYN,
    mss: 1460,
  });
  const v = new DataView(syn.buffer);
  assert.equal(v.getUint32(34 + 4), 0xfffffff0);
  assert.equal(syn[34 + 12]! >> 4, 6);
  assert.equal(v.getUint16(34 + 22), 1460);
  assert.ok(transportSumOk(syn.subarray(26, 30), syn.subarray(30, 34), 6, syn.subarray(34)));
  const data = buildTcpFrame({
    src: { ip: "::1", port: 5060 },
    dst: { ip: "::2", port: 40000 },
    seq: 1,
    ack: 2,
    flags: TCP_PSH | TCP_ACK,
    payload: text("REGISTER"),
  });
  const ip = data.subarray(14);
  assert.ok(transportSumOk(ip.subarray(8, 24), ip.subarray(24, 40), 6, ip.subarray(40)));
});

Deno.test("address parsing and MACs", () => {
  assert.deepEqual([...ipv4Bytes("0.0.0.255")], [0, 0, 0, 255]);
  assert.throws(() => ipv4Bytes("1.2.3"), RangeError);
  assert.throws(() => ipv4Bytes("1.2.3.256"), RangeError);
  assert.deepEqual([...ipv6Bytes("::")], new Array(16).fill(0));
  assert.deepEqual(
    [...ipv6Bytes("::ffff:192.0.2.1")],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1],
  );
  assert.deepEqual([...ipv6Bytes("1:2:3:4:5:6:7:8")].filter((_, i) => i % 2 === 1), [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  assert.throws(() => ipv6Bytes("1::2::3"), RangeError);
  assert.throws(() => ipv6Bytes("1:2:3"), RangeError);
  assert.throws(() => ipv6Bytes("12345::"), RangeError);
  assert.deepEqual(macForIp("2001:db8::1"), macForIp("2001:db8::1"));
  assert.notDeepEqual(macForIp("2001:db8::1"), macForIp("2001:db8::2"));
  assert.throws(
    () =>
      buildUdpFrame({
        src: { ip: "10.0.0.1", port: 1 },
        dst: { ip: "::1", port: 1 },
        payload: new Uint8Array(0),
      }),
    RangeError,
  );
});

Deno.test({
  name: "tshark validates every checksum the builder writes",
  ignore: !hasTshark,
  async fn() {
    const frames = [
      buildUdpFrame({
        src: { ip: "192.168.0.54", port: 5060 },
        dst: { ip: "112.222.225.104", port: 5060 },
        payload: text("x".repeat(333)),
        ipId: 7,
      }),
      buildUdpFrame({
        src: { ip: "2001:db8::1", port: 4000 },
        dst: { ip: "2001:db8::2", port: 4002 },
        payload: text("yy"),
      }),
      buildUdpFrame({
        src: { ip: "10.1.1.1", port: 1 },
        dst: { ip: "10.1.1.2", port: 2 },
        payload: text("tagged"),
        vlan: 42,
      }),
      buildTcpFrame({
        src: { ip: "10.0.0.1", port: 40000 },
        dst: { ip: "10.0.0.2", port: 5060 },
        seq: 100,
        flags: TCP_SYN,
        mss: 1460,
      }),
      buildTcpFrame({
        src: { ip: "2001:db8::1", port: 40000 },
        dst: { ip: "2001:db8::2", port: 5060 },
        seq: 101,
        ack: 9,
        flags: TCP_PSH | TCP_ACK,
        payload: text("hello over tcp, odd length"),
      }),
    ];
    const writer = PcapngWriter.inMemory();
    for (const [i, f] of frames.entries()) await writer.writePacket(1700000000 + i, f);
    await writer.close();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/c.pcapng`, writer.bytes());
      const out = new Deno.Command("tshark", {
        args: [
          "-r",
          `${dir}/c.pcapng`,
          "-o",
          "ip.check_checksum:TRUE",
          "-o",
          "udp.check_checksum:TRUE",
          "-o",
          "tcp.check_checksum:TRUE",
          "-T",
          "fields",
          "-E",
          "separator=|",
          "-e",
          "ip.checksum.status",
          "-e",
          "udp.checksum.status",
          "-e",
          "tcp.checksum.status",
          "-e",
          "vlan.id",
        ],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      assert.equal(out.success, true, new TextDecoder().decode(out.stderr));
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      // 1 = "Good" in Wireshark's checksum status; IPv6 has no header checksum.
      assert.deepEqual(lines, ["1|1||", "|1||", "1|1||42", "1||1|", "||1|"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
