import assert from "node:assert/strict";
import { type ByteWriter, PcapWriter } from "./pcap_writer.ts";
import { PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS } from "./pcap.ts";

const CAPTURES = new URL("../../../shared/captures/", import.meta.url);
const ROUND_TRIP_FILE = new URL("sipnab__sip-rtp-g711.pcap", CAPTURES);

function toolAvailable(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["-v"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

const hasTshark = toolAvailable("tshark");
const hasCapinfos = toolAvailable("capinfos");
if (!hasTshark || !hasCapinfos) {
  console.log("pcap_writer_test: tshark/capinfos not installed; skipping the Wireshark checks");
}

function fileExists(url: URL): boolean {
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

const hasRoundTripFile = fileExists(ROUND_TRIP_FILE);
if (!hasRoundTripFile) {
  console.log(`pcap_writer_test: ${ROUND_TRIP_FILE.pathname} missing; skipping the round trip`);
}

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** An Ethernet/IPv4/UDP frame from 10.0.0.1:4000 to 10.0.0.2:`dstPort` with `payloadLen` bytes. */
function udpFrame(dstPort: number, payloadLen: number): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + payloadLen);
  const v = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x0800);
  frame[14] = 0x45;
  v.setUint16(16, 20 + 8 + payloadLen);
  frame[22] = 64;
  frame[23] = 17;
  frame.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(24, ~sum & 0xffff);
  v.setUint16(34, 4000);
  v.setUint16(36, dstPort);
  v.setUint16(38, 8 + payloadLen);
  for (let i = 0; i < payloadLen; i++) frame[42 + i] = i & 0xff;
  return frame;
}

/** A sink that writes at most `limit` bytes per call and counts its calls. */
class TrickleSink implements ByteWriter {
  calls = 0;
  closed = false;
  readonly chunks: Uint8Array[] = [];
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  write(p: Uint8Array): Promise<number> {
    this.calls += 1;
    const n = Math.min(p.length, this.#limit);
    this.chunks.push(p.slice(0, n));
    return Promise.resolve(n);
  }
  close(): void {
    this.closed = true;
  }
  joined(): Uint8Array {
    const total = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

Deno.test("pcap writer: header fields for microsecond and nanosecond files", async () => {
  for (const nanoseconds of [false, true]) {
    const w = PcapWriter.inMemory({ linkType: 113, snaplen: 1500, nanoseconds });
    await w.writeHeader();
    await w.writeHeader(); // a second call writes nothing
    const b = w.bytes();
    assert.equal(b.length, 24);
    const v = new DataView(b.buffer);
    assert.equal(
      v.getUint32(0, true),
      nanoseconds ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS,
    );
    assert.deepEqual([v.getUint16(4, true), v.getUint16(6, true)], [2, 4]);
    assert.equal(v.getInt32(8, true), 0);
    assert.equal(v.getUint32(16, true), 1500);
    assert.equal(v.getUint32(20, true), 113);
  }
});

Deno.test("pcap writer: record header, timestamp rounding and snaplen", async () => {
  const w = PcapWriter.inMemory({ snaplen: 60 });
  await w.writePacket(1134424480.553878, udpFrame(5060, 10));
  await w.writePacket(7.9999996, udpFrame(5060, 10)); // rounds up into the next second
  await w.writePacket(8, udpFrame(5060, 100), 200); // cut to 60 bytes, 200 on the wire
  const b = w.bytes();
  const v = new DataView(b.buffer);
  let at = 24;
  assert.deepEqual([v.getUint32(at, true), v.getUint32(at + 4, true)], [1134424480, 553878]);
  assert.deepEqual([v.getUint32(at + 8, true), v.getUint32(at + 12, true)], [52, 52]);
  at += 16 + 52;
  assert.deepEqual([v.getUint32(at, true), v.getUint32(at + 4, true)], [8, 0]);
  at += 16 + 52;
  assert.deepEqual([v.getUint32(at + 8, true), v.getUint32(at + 12, true)], [60, 200]);
  assert.equal(b.length, at + 16 + 60);
  assert.equal(w.packetsWritten, 3);
  assert.equal(w.bytesWritten, b.length);
});

Deno.test("pcap writer: nanosecond fractions", async () => {
  const w = PcapWriter.inMemory({ nanoseconds: true });
  await w.writePacket(1.000000123, new Uint8Array(1));
  const v = new DataView(w.bytes().buffer);
  assert.deepEqual([v.getUint32(24, true), v.getUint32(28, true)], [1, 123]);
});

Deno.test("pcap writer: bad arguments are range errors", async () => {
  const w = PcapWriter.inMemory();
  await assert.rejects(w.writePacket(-1, new Uint8Array(4)), RangeError);
  await assert.rejects(w.writePacket(Number.NaN, new Uint8Array(4)), RangeError);
  await assert.rejects(w.writePacket(1, new Uint8Array(4), 3), RangeError);
  assert.throws(() => PcapWriter.inMemory({ snaplen: 0 }), RangeError);
  assert.throws(() => PcapWriter.inMemory({ linkType: -1 }), RangeError);
  await w.close();
  await assert.rejects(w.writePacket(1, new Uint8Array(4)), /closed/);
  assert.throws(() => new PcapWriter(new TrickleSink(8)).bytes(), TypeError);
});

Deno.test("pcap writer: buffered, handles partial writes, closes the sink", async () => {
  const memory = PcapWriter.inMemory();
  const whole = new TrickleSink(1 << 30);
  const trickle = new TrickleSink(7);
  const writers = [memory, new PcapWriter(whole), new PcapWriter(trickle, { bufferBytes: 100 })];
  for (let i = 0; i < 200; i++) {
    // the 2000-byte packets do not fit the 100-byte buffer and go straight through
    const frame = udpFrame(6000 + i, i % 50 === 0 ? 2000 : 172);
    for (const w of writers) await w.writePacket(1700000000 + i * 0.02, frame);
  }
  for (const w of writers) await w.close();
  const expected = memory.bytes();
  assert.equal(expected.length, 24 + 196 * (16 + 214) + 4 * (16 + 2042));
  assert.deepEqual(whole.joined(), expected);
  assert.deepEqual(trickle.joined(), expected);
  // 64 KiB buffer: one write per buffer-full, not one per packet
  assert.equal(whole.calls, Math.ceil(expected.length / (64 * 1024)));
  assert.ok(whole.closed && trickle.closed);
});

Deno.test("pcap writer: WritableStream sink gets copies of the reused buffer", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(chunk);
    },
  });
  const w = new PcapWriter(stream, { bufferBytes: 256 });
  const mem = PcapWriter.inMemory();
  for (let i = 0; i < 20; i++) {
    await w.writePacket(i, udpFrame(5060, 50 + i));
    await mem.writePacket(i, udpFrame(5060, 50 + i));
  }
  await w.close();
  assert.ok(chunks.length > 5);
  const joined = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.length;
  }
  assert.deepEqual(joined, mem.bytes());
});

Deno.test({
  name: "pcap writer: capinfos and tshark read what it writes (µs and ns)",
  ignore: !hasTshark || !hasCapinfos,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pcap_writer_test" });
    try {
      for (const nanoseconds of [false, true]) {
        const path = `${dir}/out_${nanoseconds ? "ns" : "us"}.pcap`;
        const file = await Deno.open(path, { write: true, create: true, truncate: true });
        const w = new PcapWriter(file, { nanoseconds, snaplen: 128 });
        // A double holds a 2023 epoch time to ~0.2 µs only: use a small base for exact ns.
        const base = nanoseconds ? 1000000 : 1700000000;
        for (let i = 0; i < 50; i++) {
          const ts = base + i * (nanoseconds ? 0.020000001 : 0.020001);
          await w.writePacket(ts, udpFrame(10000 + i, i === 7 ? 300 : 160));
        }
        await w.close(); // closes the file too
        const info = run("capinfos", ["-c", "-E", "-l", "-i", path]);
        assert.match(info, /Number of packets:\s+50\n/);
        assert.match(info, /File encapsulation:\s+Ethernet/);
        assert.match(info, /Packet size limit:\s+file hdr: 128 bytes/);
        const fields = run("tshark", [
          "-r",
          path,
          "-T",
          "fields",
          "-e",
          "frame.time_epoch",
          "-e",
          "frame.len",
          "-e",
          "frame.cap_len",
          "-e",
          "udp.dstport",
        ]).trim().split("\n").map((line) => line.split("\t"));
        assert.equal(fields.length, 50);
        assert.deepEqual(fields[0], [`${base}.000000000`, "202", "128", "10000"]);
        const t7 = nanoseconds ? "140000007" : "140007000";
        assert.deepEqual(fields[7], [`${base}.${t7}`, "342", "128", "10007"]);
        assert.deepEqual(fields[49]?.slice(1), ["202", "128", "10049"]);
        assert.equal(fields[49]?.[0], `${base}.${nanoseconds ? "980000049" : "980049000"}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "pcap writer: rewriting a real capture record by record gives the same bytes",
  ignore: !hasRoundTripFile,
  async fn() {
    const original = await Deno.readFile(ROUND_TRIP_FILE);
    const v = new DataView(original.buffer);
    assert.equal(v.getUint32(0, true), PCAP_MAGIC_MICROS);
    const w = PcapWriter.inMemory({
      snaplen: v.getUint32(16, true),
      linkType: v.getUint32(20, true),
    });
    let at = 24;
    let records = 0;
    while (at + 16 <= original.length) {
      const ts = v.getUint32(at, true) + v.getUint32(at + 4, true) / 1e6;
      const incl = v.getUint32(at + 8, true);
      await w.writePacket(
        ts,
        original.subarray(at + 16, at + 16 + incl),
        v.getUint32(at + 12, true),
      );
      at += 16 + incl;
      records += 1;
    }
    await w.close();
    assert.equal(records, 852); // MANIFEST.tsv: 852 packets
    assert.deepEqual(w.bytes(), original);
  },
});

Deno.test("pcap writer: the project's own reader reads back what it writes", async () => {
  const { openCapture } = await import("./open.ts");
  const dir = await Deno.makeTempDir({ prefix: "pcap_writer_test" });
  try {
    for (const nanoseconds of [false, true]) {
      const path = `${dir}/back.pcap`;
      const w = new PcapWriter(
        await Deno.open(path, { write: true, create: true, truncate: true }),
        {
          nanoseconds,
          linkType: 276,
          snaplen: 100,
        },
      );
      const sizes = [40, 150, 50];
      for (const [i, n] of sizes.entries()) await w.writePacket(1000 + i * 0.25, udpFrame(9, n));
      await w.close();
      const opened = await openCapture(path);
      const seen: [number, number, number, number][] = [];
      await opened.source.run({
        onFrame(f) {
          seen.push([f.ts, f.data.length, f.origLen, f.linkType]);
        },
      });
      opened.close();
      assert.deepEqual(seen, [
        [1000, 82, 82, 276],
        [1000.25, 100, 192, 276],
        [1000.5, 92, 92, 276],
      ]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
