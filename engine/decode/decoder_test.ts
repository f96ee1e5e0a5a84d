import assert from "node:assert/strict";
import { buildTcpFrame, buildUdpFrame } from "../../tools/synth/packet_builder.ts";
import { Frame } from "../capture/frame.ts";
import * as LT from "../capture/link_types.ts";
import { concatBytes } from "../capture/test_support.ts";
import { PacketDecoder } from "./decoder.ts";
import type { DecodedPacket } from "./packet.ts";

interface Seen {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  payload: Uint8Array;
  vlan: number;
  tunnels: number;
  reassembled: boolean;
}

function decoderFor() {
  const seen: Seen[] = [];
  const anomalies: string[] = [];
  const decoder = new PacketDecoder({
    onPacket: (p: DecodedPacket) =>
      seen.push({
        src: p.srcAddress(),
        dst: p.dstAddress(),
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        protocol: p.protocol,
        payload: p.payload.slice(),
        vlan: p.vlan,
        tunnels: p.tunnels,
        reassembled: p.reassembled,
      }),
    onAnomaly: (_layer, reason) => anomalies.push(reason),
  });
  let number = 0;
  const feed = (linkType: number, data: Uint8Array, ts = 1000) => {
    const f = new Frame();
    f.linkType = linkType;
    f.bytes = data;
    f.start = 0;
    f.end = data.length;
    f.ts = ts;
    f.number = ++number;
    decoder.decode(f);
  };
  return { decoder, seen, anomalies, feed };
}

const TEXT = new TextEncoder();
const PAYLOAD = TEXT.encode("OPTIONS sip:1427@112.222.225.104 SIP/2.0\r\n\r\n");
const V4 = { src: { ip: "192.168.0.54", port: 5060 }, dst: { ip: "112.222.225.104", port: 5062 } };
const V6 = { src: { ip: "2001:db8::54", port: 5060 }, dst: { ip: "2001:db8::104", port: 5062 } };

/** The IP packet inside an Ethernet frame built by the synth builder. */
function ipOf(frame: Uint8Array): Uint8Array {
  return frame.subarray(14);
}

const udp4 = buildUdpFrame({ ...V4, payload: PAYLOAD });
const udp6 = buildUdpFrame({ ...V6, payload: PAYLOAD });

function assertOne(seen: Seen[], expected: Partial<Seen>) {
  assert.equal(seen.length, 1, `one payload expected, got ${seen.length}`);
  const s = seen[0]!;
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(s[k as keyof Seen], v, k);
  assert.deepEqual(s.payload, PAYLOAD);
}

Deno.test("decoder: Ethernet, IPv4, UDP", () => {
  const { seen, anomalies, feed } = decoderFor();
  feed(LT.LINKTYPE_ETHERNET, udp4);
  assert.deepEqual(anomalies, []);
  assertOne(seen, {
    src: "192.168.0.54",
    dst: "112.222.225.104",
    srcPort: 5060,
    dstPort: 5062,
    protocol: 17,
  });
});

Deno.test("decoder: Ethernet padding after a short IPv4 packet is not payload", () => {
  const { seen, feed } = decoderFor();
  feed(LT.LINKTYPE_ETHERNET, concatBytes(udp4, new Uint8Array(6)));
  assertOne(seen, {});
});

Deno.test("decoder: 802.1Q and QinQ keep the outer VLAN id", () => {
  const { seen, feed } = decoderFor();
  const ethernetHeader = udp4.subarray(0, 12);
  const qinq = concatBytes(
    ethernetHeader,
    Uint8Array.from([0x88, 0xa8, 0x00, 0x64]), // S-tag, VLAN 100
    Uint8Array.from([0x81, 0x00, 0x00, 0xc8]), // C-tag, VLAN 200
    Uint8Array.from([0x08, 0x00]),
    ipOf(udp4),
  );
  feed(LT.LINKTYPE_ETHERNET, qinq);
  assertOne(seen, { vlan: 100 });
});

Deno.test("decoder: Linux SLL and SLL2", () => {
  const { seen, feed } = decoderFor();
  const sll = new Uint8Array(16);
  sll[14] = 0x86;
  sll[15] = 0xdd;
  feed(LT.LINKTYPE_LINUX_SLL, concatBytes(sll, ipOf(udp6)));
  const sll2 = new Uint8Array(20);
  sll2[0] = 0x08;
  feed(LT.LINKTYPE_LINUX_SLL2, concatBytes(sll2, ipOf(udp4)));
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.src, "2001:db8::54");
  assert.equal(seen[1]!.src, "192.168.0.54");
});

Deno.test("decoder: raw IP under every link type number that means it", () => {
  for (const linkType of [LT.LINKTYPE_RAW, LT.LINKTYPE_RAW_BSD12, LT.LINKTYPE_RAW_BSD14]) {
    const { seen, feed } = decoderFor();
    feed(linkType, ipOf(udp4));
    feed(linkType, ipOf(udp6));
    assert.deepEqual(
      seen.map((s) => s.src),
      ["192.168.0.54", "2001:db8::54"],
      `linktype ${linkType}`,
    );
  }
  const { seen, feed } = decoderFor();
  feed(LT.LINKTYPE_IPV4, ipOf(udp4));
  feed(LT.LINKTYPE_IPV6, ipOf(udp6));
  assert.equal(seen.length, 2);
});

Deno.test("decoder: BSD null/loop headers in either byte order", () => {
  const { seen, feed } = decoderFor();
  feed(LT.LINKTYPE_NULL, concatBytes(Uint8Array.from([2, 0, 0, 0]), ipOf(udp4))); // little-endian AF_INET
  feed(LT.LINKTYPE_NULL, concatBytes(Uint8Array.from([0, 0, 0, 2]), ipOf(udp4))); // big-endian
  feed(LT.LINKTYPE_NULL, concatBytes(Uint8Array.from([30, 0, 0, 0]), ipOf(udp6))); // macOS AF_INET6
  feed(LT.LINKTYPE_LOOP, concatBytes(Uint8Array.from([0, 0, 0, 24]), ipOf(udp6))); // OpenBSD
  assert.equal(seen.length, 4);
});

Deno.test("decoder: PPPoE and MPLS", () => {
  const { seen, feed } = decoderFor();
  const mac = udp4.subarray(0, 12);
  feed(
    LT.LINKTYPE_ETHERNET,
    concatBytes(mac, Uint8Array.from([0x88, 0x64, 0x11, 0, 0, 1, 0, 0, 0x00, 0x21]), ipOf(udp4)),
  );
  feed(
    LT.LINKTYPE_ETHERNET,
    concatBytes(mac, Uint8Array.from([0x88, 0x47, 0, 1, 0, 64, 0, 2, 1, 64]), ipOf(udp4)),
  );
  assert.equal(seen.length, 2);
});

Deno.test("decoder: IPv4 options and IPv6 extension headers are stepped over", () => {
  const { seen, anomalies, feed } = decoderFor();
  const ip = ipOf(udp4);
  const withOptions = concatBytes(
    ip.subarray(0, 20),
    Uint8Array.from([1, 1, 1, 0]),
    ip.subarray(20),
  );
  withOptions[0] = 0x46;
  new DataView(withOptions.buffer).setUint16(2, withOptions.length);
  feed(LT.LINKTYPE_RAW, withOptions);

  const ip6 = ipOf(udp6);
  const hopByHop = Uint8Array.from([60, 0, 1, 4, 0, 0, 0, 0]); // next: destination options
  const destination = Uint8Array.from([17, 0, 1, 4, 0, 0, 0, 0]); // next: UDP
  const withExtensions = concatBytes(ip6.subarray(0, 40), hopByHop, destination, ip6.subarray(40));
  withExtensions[6] = 0; // next header: hop-by-hop
  new DataView(withExtensions.buffer).setUint16(4, withExtensions.length - 40);
  feed(LT.LINKTYPE_RAW, withExtensions);
  assert.deepEqual(anomalies, []);
  assert.equal(seen.length, 2);
  for (const s of seen) assert.deepEqual(s.payload, PAYLOAD);
});

/** Splits an IPv4 packet into fragments carrying `size` payload bytes each. */
function fragmentIPv4(ip: Uint8Array, size: number, id: number): Uint8Array[] {
  const body = ip.subarray(20);
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < body.length; offset += size) {
    const part = body.subarray(offset, Math.min(body.length, offset + size));
    const header = ip.slice(0, 20);
    const view = new DataView(header.buffer);
    view.setUint16(2, 20 + part.length);
    view.setUint16(4, id);
    view.setUint16(6, (offset + size < body.length ? 0x2000 : 0) | (offset / 8));
    pieces.push(concatBytes(header, part));
  }
  return pieces;
}

const BIG = TEXT.encode(
  `INVITE sip:*8@112.222.225.104 SIP/2.0\r\n${"X-Pad: 0123456789\r\n".repeat(200)}\r\n`,
);

Deno.test("decoder: IPv4 fragments in any order are reassembled", () => {
  const { seen, anomalies, feed, decoder } = decoderFor();
  const ip = ipOf(buildUdpFrame({ ...V4, payload: BIG }));
  const pieces = fragmentIPv4(ip, 1480, 0x1234);
  assert.equal(pieces.length, 3);
  for (const i of [2, 0, 1]) feed(LT.LINKTYPE_RAW, pieces[i]!);
  assert.deepEqual(anomalies, []);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.reassembled, true);
  assert.deepEqual(seen[0]!.payload, BIG);
  assert.equal(decoder.counters.fragments, 3);
  assert.equal(decoder.counters.reassembled, 1);
});

Deno.test("decoder: a fragment that never completes times out, and is flushed at the end", () => {
  const { seen, anomalies, feed, decoder } = decoderFor();
  const ip = ipOf(buildUdpFrame({ ...V4, payload: BIG }));
  const [first, second] = fragmentIPv4(ip, 1480, 7);
  feed(LT.LINKTYPE_RAW, first!, 1000);
  feed(LT.LINKTYPE_RAW, ipOf(udp4), 1100); // 100 s later: the first datagram has timed out
  const [, , lastOfAnother] = fragmentIPv4(ip, 1480, 8);
  feed(LT.LINKTYPE_RAW, lastOfAnother!, 1100);
  feed(LT.LINKTYPE_RAW, second!, 1101);
  decoder.flush();
  assert.equal(seen.length, 1); // only the unfragmented datagram
  assert.ok(anomalies.includes("ip.fragment.timeout"));
  assert.ok(anomalies.includes("ip.fragment.incomplete"));
});

Deno.test("decoder: IPv6 fragments are reassembled", () => {
  const { seen, anomalies, feed } = decoderFor();
  const ip6 = ipOf(buildUdpFrame({ ...V6, payload: BIG }));
  const body = ip6.subarray(40);
  const pieces: Uint8Array[] = [];
  const size = 1232;
  for (let offset = 0; offset < body.length; offset += size) {
    const part = body.subarray(offset, Math.min(body.length, offset + size));
    const more = offset + size < body.length ? 1 : 0;
    const fragmentHeader = Uint8Array.from([
      17,
      0,
      (offset >> 8) & 0xff,
      (offset & 0xf8) | more,
      0,
      0,
      0xbe,
      0xef,
    ]);
    const header = ip6.slice(0, 40);
    header[6] = 44;
    new DataView(header.buffer).setUint16(4, 8 + part.length);
    pieces.push(concatBytes(header, fragmentHeader, part));
  }
  for (const piece of pieces.reverse()) feed(LT.LINKTYPE_RAW, piece);
  assert.deepEqual(anomalies, []);
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0]!.payload, BIG);
});

function greIPv4(inner: Uint8Array, greHeader: number[]): Uint8Array {
  const outer = ipOf(
    buildUdpFrame({
      src: { ip: "10.1.1.1", port: 1 },
      dst: { ip: "10.2.2.2", port: 2 },
      payload: new Uint8Array(0),
    }),
  ).slice(0, 20);
  const packet = concatBytes(outer, Uint8Array.from(greHeader), inner);
  packet[9] = 47;
  new DataView(packet.buffer).setUint16(2, packet.length);
  return packet;
}

Deno.test("decoder: GRE, ERSPAN II and III, IP-in-IP, GTP-U and VXLAN tunnels", () => {
  const { seen, anomalies, feed } = decoderFor();
  feed(LT.LINKTYPE_RAW, greIPv4(ipOf(udp4), [0, 0, 0x08, 0x00]));
  feed(
    LT.LINKTYPE_RAW,
    greIPv4(udp4, [0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 1, 0, 0, 0, 0]),
  );
  feed(LT.LINKTYPE_RAW, greIPv4(udp4, [0x10, 0, 0x22, 0xeb, 0, 0, 0, 1, ...new Array(12).fill(0)]));
  feed(LT.LINKTYPE_RAW, greIPv4(udp4, [0x20, 0, 0x65, 0x58, 0, 0, 0, 9])); // keyed, transparent Ethernet
  const ipip = greIPv4(ipOf(udp4), []);
  ipip[9] = 4;
  feed(LT.LINKTYPE_RAW, ipip);
  const gtpHeader = Uint8Array.from([0x30, 0xff, 0, 0, 0, 0, 0, 1]);
  new DataView(gtpHeader.buffer).setUint16(2, ipOf(udp4).length);
  feed(
    LT.LINKTYPE_ETHERNET,
    buildUdpFrame({
      src: { ip: "10.0.0.1", port: 2152 },
      dst: { ip: "10.0.0.2", port: 2152 },
      payload: concatBytes(gtpHeader, ipOf(udp4)),
    }),
  );
  feed(
    LT.LINKTYPE_ETHERNET,
    buildUdpFrame({
      src: { ip: "10.0.0.1", port: 40000 },
      dst: { ip: "10.0.0.2", port: 4789 },
      payload: concatBytes(Uint8Array.from([8, 0, 0, 0, 0, 0, 1, 0]), udp4),
    }),
  );
  assert.deepEqual(anomalies, []);
  assert.equal(seen.length, 7);
  for (const s of seen) {
    assert.equal(s.src, "192.168.0.54");
    assert.equal(s.tunnels, 1);
    assert.deepEqual(s.payload, PAYLOAD);
  }
});

Deno.test("decoder: TCP segment fields", () => {
  const { seen, feed } = decoderFor();
  feed(
    LT.LINKTYPE_ETHERNET,
    buildTcpFrame({ ...V4, seq: 0xfffffff0, flags: 0x18, payload: PAYLOAD }),
  );
  assertOne(seen, { protocol: 6, srcPort: 5060 });
});

Deno.test("decoder: SCTP DATA chunks, whole and fragmented", () => {
  const { seen, feed } = decoderFor();
  const chunk = (flags: number, tsn: number, data: Uint8Array) => {
    const header = new Uint8Array(16);
    const view = new DataView(header.buffer);
    header[0] = 0;
    header[1] = flags;
    view.setUint16(2, 16 + data.length);
    view.setUint32(4, tsn);
    view.setUint16(8, 1); // stream
    view.setUint16(10, 9); // stream sequence number
    const padded = new Uint8Array((data.length + 3) & ~3);
    padded.set(data);
    return concatBytes(header, padded);
  };
  const sctp = (...chunks: Uint8Array[]) => {
    const common = Uint8Array.from([0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0]);
    const ip = ipOf(udp4).slice(0, 20);
    const packet = concatBytes(ip, common, ...chunks);
    packet[9] = 132;
    new DataView(packet.buffer).setUint16(2, packet.length);
    return packet;
  };
  feed(LT.LINKTYPE_RAW, sctp(chunk(3, 1, PAYLOAD)));
  feed(LT.LINKTYPE_RAW, sctp(chunk(1, 11, PAYLOAD.subarray(20))));
  feed(LT.LINKTYPE_RAW, sctp(chunk(2, 10, PAYLOAD.subarray(0, 20))));
  assert.equal(seen.length, 2);
  for (const s of seen) {
    assert.equal(s.protocol, 132);
    assert.deepEqual(s.payload, PAYLOAD);
  }
});

Deno.test("decoder: truncated and garbage frames become anomalies, never exceptions", () => {
  const { anomalies, feed } = decoderFor();
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const linkTypes = [0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276, 147];
  const sources = [
    udp4,
    udp6,
    greIPv4(udp4, [0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 1, 0, 0, 0, 0]),
  ];
  for (let i = 0; i < 5000; i++) {
    const base = sources[i % sources.length]!;
    const cut = base.slice(0, Math.floor(random() * base.length));
    for (let j = 0; j < 3; j++) cut[Math.floor(random() * cut.length)] = Math.floor(random() * 256);
    feed(linkTypes[i % linkTypes.length]!, cut);
  }
  assert.ok(anomalies.length > 1000, `anomalies counted: ${anomalies.length}`);
});
