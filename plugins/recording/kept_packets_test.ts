import assert from "node:assert/strict";
import { Frame } from "../../engine/capture/frame.ts";
import { openCapture } from "../../engine/capture/open.ts";
import { PacketDecoder } from "../../engine/decode/decoder.ts";
import type { DecodedPacket } from "../../engine/decode/packet.ts";
import { PacketKeeper, udpFrame } from "./kept_packets.ts";

const RTP = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0x80 : i));

function decode(linkType: number, bytes: Uint8Array): DecodedPacket[] {
  const out: DecodedPacket[] = [];
  const decoder = new PacketDecoder({
    onPacket: (p) =>
      out.push({
        ...p,
        srcAddress: p.srcAddress.bind(p),
        dstAddress: p.dstAddress.bind(p),
        payload: p.bytes.slice(p.payloadStart, p.payloadEnd),
      } as unknown as DecodedPacket),
    onAnomaly: (_layer, reason) => assert.fail(reason),
  });
  const frame = new Frame();
  frame.linkType = linkType;
  frame.bytes = bytes;
  frame.start = 0;
  frame.end = bytes.length;
  frame.origLen = bytes.length;
  frame.ts = 1;
  decoder.decode(frame);
  return out;
}

function sum16(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length % 2) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

Deno.test("kept packets: rebuilt frames decode back to the same datagram, per link type", () => {
  const v4 = [{ ip: "192.0.2.1", port: 4000 }, { ip: "198.51.100.2", port: 5000 }] as const;
  const v6 = [{ ip: "2001:db8::1", port: 4000 }, { ip: "2001:db8::2", port: 5000 }] as const;
  for (const linkType of [0, 1, 101, 113, 228, 229, 276]) {
    for (const [src, dst] of [v4, v6]) {
      const frame = udpFrame(linkType, src, dst, RTP);
      const v6only = linkType === 229;
      const v4only = linkType === 228;
      if ((v6only && src === v4[0]) || (v4only && src === v6[0])) {
        assert.equal(frame, null);
        continue;
      }
      assert.ok(frame, `link type ${linkType}`);
      const [p] = decode(linkType, frame);
      assert.ok(p, `link type ${linkType}: nothing decoded`);
      assert.equal(p.srcAddress(), src.ip);
      assert.equal(p.dstAddress(), dst.ip);
      assert.deepEqual([p.srcPort, p.dstPort], [4000, 5000]);
      assert.deepEqual((p as unknown as { payload: Uint8Array }).payload, RTP);
    }
  }
  // Checksums: the IPv4 header sums to 0xffff; so do the IPv6 pseudo-header and the UDP datagram.
  const ip4 = udpFrame(101, v4[0], v4[1], RTP)!;
  assert.equal(sum16(ip4.subarray(0, 20)), 0xffff);
  const ip6 = udpFrame(101, v6[0], v6[1], RTP)!;
  const pseudo = new Uint8Array(40 + ip6.length - 40);
  pseudo.set(ip6.subarray(8, 40), 0);
  new DataView(pseudo.buffer).setUint32(32, ip6.length - 40);
  pseudo[39] = 17;
  const total = sum16(pseudo) + sum16(ip6.subarray(40));
  assert.equal((total & 0xffff) + (total >>> 16), 0xffff);
  assert.equal(udpFrame(147, v4[0], v4[1], RTP), null);
  assert.equal(udpFrame(1, { ip: "not an address", port: 1 }, v4[1], RTP), null);
});

Deno.test("kept packets: frames are copied while valid and written as captured", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keeper = new PacketKeeper(`${dir}/s.pcap`);
    const frame = new Frame();
    const bytes = new Uint8Array(200);
    const original = udpFrame(1, { ip: "10.0.0.1", port: 1 }, { ip: "10.0.0.2", port: 2 }, RTP)!;
    for (let i = 0; i < 3; i++) {
      bytes.fill(0);
      bytes.set(original, 10);
      bytes[10 + original.length - 1] = i; // each packet differs
      Object.assign(frame, { linkType: 1, bytes, start: 10, end: 10 + original.length, ts: 5 + i });
      frame.origLen = original.length;
      keeper.keep(frame, bytes, 10 + 42, 10 + original.length, 5 + i, { ip: "x", port: 0 }, {
        ip: "y",
        port: 0,
      });
      bytes.fill(0xee); // the source reuses its buffer
    }
    // A packet without its frame (replayed): rebuilt from the addresses.
    keeper.keep(frame, RTP, 0, RTP.length, 9, { ip: "10.0.0.1", port: 1 }, {
      ip: "10.0.0.2",
      port: 2,
    });
    const summary = await keeper.close();
    assert.deepEqual(summary, { path: `${dir}/s.pcap`, packets: 4, missed: 0, error: null });
    const opened = await openCapture(`${dir}/s.pcap`);
    const seen: { ts: number; data: Uint8Array }[] = [];
    await opened.source.run({ onFrame: (f) => seen.push({ ts: f.ts, data: f.data.slice() }) });
    opened.close();
    assert.deepEqual(seen.map((s) => s.ts), [5, 6, 7, 9]);
    for (let i = 0; i < 3; i++) {
      assert.equal(seen[i]!.data.length, original.length);
      assert.equal(seen[i]!.data.at(-1), i);
    }
    assert.deepEqual(seen[3]!.data, original);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
