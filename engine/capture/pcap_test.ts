import assert from "node:assert/strict";
import { CaptureFormatError } from "./frame.ts";
import { openBytes } from "./open.ts";
import { buildPcap, concatBytes, packet, readAll } from "./test_support.ts";

const RECORDS = [
  { sec: 1700000000, frac: 250000, data: packet(60, 1) },
  { sec: 1700000001, frac: 999999, data: packet(1514, 2) },
  { sec: 1700000002, frac: 0, data: packet(42, 3), origLen: 9000 },
];

for (const littleEndian of [true, false]) {
  Deno.test(`pcap: reads ${littleEndian ? "little" : "big"}-endian microsecond records`, async () => {
    const bytes = buildPcap({ littleEndian, linkType: 113, records: RECORDS });
    const { frames, anomalies, summary } = await readAll(bytes, 7);
    assert.equal(frames.length, 3);
    assert.deepEqual(anomalies, []);
    assert.equal(summary.format, "pcap");
    assert.deepEqual([...summary.linkTypes], [[113, 3]]);
    assert.equal(summary.bytes, bytes.length);
    for (const [i, f] of frames.entries()) {
      const r = RECORDS[i]!;
      assert.equal(f.linkType, 113);
      assert.equal(f.number, i + 1);
      assert.deepEqual(f.data, r.data);
      assert.equal(f.origLen, r.origLen ?? r.data.length);
      assert.ok(Math.abs(f.ts - (r.sec + r.frac / 1e6)) < 1e-6);
    }
    assert.equal(frames[0]!.offset, 24);
    assert.equal(frames[1]!.offset, 24 + 16 + 60);
  });
}

Deno.test("pcap: nanosecond resolution keeps sub-microsecond time", async () => {
  const bytes = buildPcap({
    nanos: true,
    littleEndian: false,
    records: [{ sec: 100, frac: 123456789, data: packet(20) }],
  });
  const { frames } = await readAll(bytes);
  assert.ok(Math.abs(frames[0]!.ts - 100.123456789) < 1e-9);
});

Deno.test("pcap: a truncated last record is reported and the earlier ones kept", async () => {
  const whole = buildPcap({ records: RECORDS });
  const cut = whole.subarray(0, whole.length - 10);
  const { frames, anomalies } = await readAll(cut, 5);
  assert.equal(frames.length, 2);
  assert.equal(anomalies.length, 1);
  assert.equal(anomalies[0]!.reason, "pcap.truncated");
  assert.equal(anomalies[0]!.offset, 24 + 16 + 60 + 16 + 1514);
});

Deno.test("pcap: a record with an absurd length is skipped and reading resumes after it", async () => {
  const good = buildPcap({ records: RECORDS });
  // Damage the second record's captured length, then append two more good records.
  const damaged = good.slice();
  const second = 24 + 16 + 60;
  new DataView(damaged.buffer).setUint32(second + 8, 0x7fffffff, true);
  const more = buildPcap({
    records: [
      { sec: 1700000003, frac: 1, data: packet(100, 4) },
      { sec: 1700000004, frac: 2, data: packet(100, 5) },
    ],
  }).subarray(24);
  const { frames, anomalies } = await readAll(concatBytes(damaged, more), 64);
  const reasons = anomalies.map((a) => a.reason);
  assert.equal(reasons[0], "pcap.record.bad-length");
  assert.equal(anomalies[0]!.offset, second);
  assert.ok(reasons.includes("pcap.resync"));
  // Record 1 before the damage; records 3, 4 and 5 after it.
  assert.deepEqual(frames.map((f) => f.data[0]), [1, 3, 4, 5]);
});

Deno.test("pcap: a wrong magic number is a CaptureFormatError at byte 0", async () => {
  const bytes = new TextEncoder().encode("this is not a capture file at all");
  await assert.rejects(() => openBytes(bytes, "notes.txt"), (error: unknown) => {
    assert.ok(error instanceof CaptureFormatError);
    assert.equal(error.offset, 0);
    assert.match(error.message, /notes\.txt.*not a pcap or pcapng file/);
    return true;
  });
});

Deno.test("pcap: a file cut inside its header is a CaptureFormatError", async () => {
  const bytes = buildPcap({ records: [] }).subarray(0, 10);
  const opened = await openBytes(bytes);
  await assert.rejects(() => opened.source.run({ onFrame() {} }), CaptureFormatError);
});

Deno.test("pcap: zero-length and over-snaplen records are delivered, the latter flagged", async () => {
  const bytes = buildPcap({
    snapLen: 64,
    records: [
      { sec: 1, frac: 0, data: new Uint8Array(0) },
      { sec: 2, frac: 0, data: packet(100) },
    ],
  });
  const { frames, anomalies } = await readAll(bytes);
  assert.deepEqual(frames.map((f) => f.data.length), [0, 100]);
  assert.deepEqual(anomalies.map((a) => a.reason), ["pcap.record.exceeds-snaplen"]);
});

Deno.test("pcap: gzip-compressed files are read transparently", async () => {
  const plain = buildPcap({ records: RECORDS });
  const gz = new Uint8Array(
    await new Response(
      new Blob([plain as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    )
      .arrayBuffer(),
  );
  const opened = await openBytes(gz);
  assert.equal(opened.gzip, true);
  let n = 0;
  await opened.source.run({ onFrame: () => n++ });
  assert.equal(n, 3);
});
