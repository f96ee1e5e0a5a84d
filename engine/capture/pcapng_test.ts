import assert from "node:assert/strict";
import { CaptureFormatError } from "./frame.ts";
import { openBytes } from "./open.ts";
import {
  Bytes,
  concatBytes,
  packet,
  pcapngBlock,
  pcapngInterface,
  pcapngPacket,
  pcapngSection,
  readAll,
} from "./test_support.ts";

for (const le of [true, false]) {
  Deno.test(`pcapng: ${le ? "little" : "big"}-endian, two interfaces with their own link type and resolution`, async () => {
    const bytes = concatBytes(
      pcapngSection(le),
      pcapngInterface(le, 1, { name: "eth0" }), // microseconds (default)
      pcapngInterface(le, 276, { tsresol: 9 }), // nanoseconds, Linux SLL2
      pcapngPacket(le, 0, 1700000000_250000n, packet(61, 1)),
      pcapngPacket(le, 1, 1700000000_123456789n, packet(62, 2), 1500),
      pcapngBlock(le, 0x7777, packet(10)), // unknown block type: skipped
      pcapngPacket(le, 0, 1700000001_000000n, packet(63, 3)),
    );
    const { frames, anomalies, summary } = await readAll(bytes, 13);
    assert.deepEqual(anomalies, []);
    assert.equal(summary.format, "pcapng");
    assert.deepEqual(frames.map((f) => f.linkType), [1, 276, 1]);
    assert.deepEqual(frames.map((f) => f.interfaceId), [0, 1, 0]);
    assert.deepEqual(frames.map((f) => f.data.length), [61, 62, 63]);
    assert.deepEqual(frames[1]!.data, packet(62, 2));
    assert.equal(frames[1]!.origLen, 1500);
    assert.ok(Math.abs(frames[0]!.ts - 1700000000.25) < 1e-6);
    assert.ok(Math.abs(frames[1]!.ts - 1700000000.123456789) < 1e-6);
    assert.deepEqual([...summary.linkTypes].sort(), [[1, 2], [276, 1]]);
  });
}

Deno.test("pcapng: a binary (2^-n) timestamp resolution", async () => {
  const bytes = concatBytes(
    pcapngSection(true),
    pcapngInterface(true, 1, { tsresol: 0x80 | 10 }), // 1/1024 s
    pcapngPacket(true, 0, 1024n * 50n + 512n, packet(20)),
  );
  const { frames } = await readAll(bytes);
  assert.equal(frames[0]!.ts, 50.5);
});

Deno.test("pcapng: simple and obsolete packet blocks", async () => {
  const le = true;
  const spb = pcapngBlock(le, 3, new Bytes(le).u32(70).raw(packet(70, 9)).bytes());
  const pb = pcapngBlock(
    le,
    2,
    new Bytes(le).u16(0).u16(0).u32(0).u32(5_000_000).u32(30).u32(30).raw(packet(30, 7)).bytes(),
  );
  const bytes = concatBytes(pcapngSection(le), pcapngInterface(le, 101, { snapLen: 64 }), spb, pb);
  const { frames, anomalies } = await readAll(bytes);
  assert.deepEqual(anomalies, []);
  // The SPB is cut to the interface's snapshot length; its wire length stays.
  assert.equal(frames[0]!.data.length, 64);
  assert.equal(frames[0]!.origLen, 70);
  assert.equal(frames[0]!.linkType, 101);
  assert.deepEqual(frames[1]!.data, packet(30, 7));
  assert.equal(frames[1]!.ts, 5);
});

Deno.test("pcapng: a second section starts a new interface list, in its own byte order", async () => {
  const bytes = concatBytes(
    pcapngSection(true),
    pcapngInterface(true, 1),
    pcapngPacket(true, 0, 1n, packet(10)),
    pcapngSection(false),
    pcapngInterface(false, 113),
    pcapngPacket(false, 0, 2n, packet(11)),
  );
  const { frames, anomalies } = await readAll(bytes, 9);
  assert.deepEqual(anomalies, []);
  assert.deepEqual(frames.map((f) => f.linkType), [1, 113]);
  assert.deepEqual(frames.map((f) => f.data.length), [10, 11]);
});

Deno.test("pcapng: a block with a bad length is skipped and the next good block read", async () => {
  const le = true;
  const bad = pcapngPacket(le, 0, 3n, packet(40, 50));
  new DataView(bad.buffer).setUint32(4, 0xfffffff0, le); // leading length damaged
  const bytes = concatBytes(
    pcapngSection(le),
    pcapngInterface(le, 1),
    pcapngPacket(le, 0, 1n, packet(40, 10)),
    bad,
    pcapngPacket(le, 0, 4n, packet(40, 20)),
    pcapngPacket(le, 0, 5n, packet(40, 30)),
  );
  const { frames, anomalies } = await readAll(bytes, 11);
  assert.equal(anomalies[0]!.reason, "pcapng.block.bad-length");
  assert.ok(anomalies.some((a) => a.reason === "pcapng.resync"));
  assert.deepEqual(frames.map((f) => f.data[0]), [10, 20, 30]);
});

Deno.test("pcapng: a packet on an undeclared interface is an anomaly, not a crash", async () => {
  const bytes = concatBytes(
    pcapngSection(true),
    pcapngInterface(true, 1),
    pcapngPacket(true, 3, 1n, packet(10)),
    pcapngPacket(true, 0, 2n, packet(12)),
  );
  const { frames, anomalies } = await readAll(bytes);
  assert.deepEqual(anomalies.map((a) => a.reason), ["pcapng.packet.no-interface"]);
  assert.deepEqual(frames.map((f) => f.data.length), [12]);
});

Deno.test("pcapng: a truncated file keeps every complete block", async () => {
  const whole = concatBytes(
    pcapngSection(true),
    pcapngInterface(true, 1),
    pcapngPacket(true, 0, 1n, packet(100)),
    pcapngPacket(true, 0, 2n, packet(100)),
  );
  const { frames, anomalies } = await readAll(whole.subarray(0, whole.length - 30));
  assert.equal(frames.length, 1);
  assert.deepEqual(anomalies.map((a) => a.reason), ["pcapng.truncated"]);
});

Deno.test("pcapng: a damaged first section header is a CaptureFormatError", async () => {
  const shb = pcapngSection(true);
  shb[8] = 0x99; // byte-order magic
  const opened = await openBytes(concatBytes(shb, pcapngInterface(true, 1)), "bad.pcapng");
  await assert.rejects(() => opened.source.run({ onFrame() {} }), (error: unknown) => {
    assert.ok(error instanceof CaptureFormatError);
    assert.equal(error.offset, 8);
    return true;
  });
});
