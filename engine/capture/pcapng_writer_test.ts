import { toolWorks } from "../../tests/support/tools.ts";
import assert from "node:assert/strict";
import {
  PCAPNG_BLOCK_EPB,
  PCAPNG_BLOCK_IDB,
  PCAPNG_BLOCK_SHB,
  PCAPNG_BYTE_ORDER_MAGIC,
  PcapngWriter,
} from "./pcapng_writer.ts";

const hasTshark = toolWorks("tshark", ["--version"]);
const hasCapinfos = toolWorks("capinfos", ["-h"]);
if (!hasTshark) console.warn("pcapng_writer_test: tshark not found, skipping tshark checks");
if (!hasCapinfos) console.warn("pcapng_writer_test: capinfos not found, skipping capinfos checks");

interface Block {
  type: number;
  body: DataView;
}

/** A deliberately naive block walker, enough to check what the writer laid out. */
function blocks(file: Uint8Array): { blocks: Block[]; le: boolean } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const le = view.getUint32(8, true) === PCAPNG_BYTE_ORDER_MAGIC;
  const out: Block[] = [];
  let at = 0;
  while (at < file.length) {
    const type = view.getUint32(at, le);
    const size = view.getUint32(at + 4, le);
    assert.equal(size % 4, 0, `block at ${at} is not padded`);
    assert.equal(view.getUint32(at + size - 4, le), size, `trailing length of block at ${at}`);
    out.push({ type, body: new DataView(file.buffer, file.byteOffset + at + 8, size - 12) });
    at += size;
  }
  assert.equal(at, file.length);
  return { blocks: out, le };
}

/** Options of a block body starting at `from`, code → values as text. */
function options(body: DataView, from: number, le: boolean): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let p = from;
  while (p + 4 <= body.byteLength) {
    const code = body.getUint16(p, le);
    const len = body.getUint16(p + 2, le);
    if (code === 0) break;
    const value = new Uint8Array(body.buffer, body.byteOffset + p + 4, len);
    out.set(code, [...(out.get(code) ?? []), value]);
    p += 4 + ((len + 3) & ~3);
  }
  return out;
}

const decoder = new TextDecoder();

Deno.test("pcapng writer lays out SHB, IDB and EPB with options", async () => {
  const writer = PcapngWriter.inMemory({
    section: { comment: "seed file", application: "packetwave test" },
  });
  const eth = await writer.addInterface({ name: "eth0", description: "LAN" });
  const raw = await writer.addInterface({ linkType: 101, tsResolution: 9, snaplen: 8 });
  assert.deepEqual([eth, raw], [0, 1]);
  await writer.writePacket(1742358535.736, new Uint8Array([1, 2, 3, 4, 5]), {
    comment: "INVITE",
  });
  await writer.writePacket(1742358535_736123456n, new Uint8Array(20).fill(7), {
    interfaceId: raw,
    flags: 1,
  });
  await writer.close();
  const file = writer.bytes();
  assert.equal(writer.bytesWritten, file.length);
  const { blocks: list, le } = blocks(file);
  assert.equal(le, true);
  assert.deepEqual(list.map((b) => b.type), [
    PCAPNG_BLOCK_SHB,
    PCAPNG_BLOCK_IDB,
    PCAPNG_BLOCK_IDB,
    PCAPNG_BLOCK_EPB,
    PCAPNG_BLOCK_EPB,
  ]);
  const [shb, idb0, idb1, epb0, epb1] = list as [Block, Block, Block, Block, Block];
  assert.equal(shb.body.getUint16(4, le), 1);
  assert.equal(shb.body.getUint16(6, le), 0);
  const shbOpts = options(shb.body, 16, le);
  assert.equal(decoder.decode(shbOpts.get(1)?.[0]), "seed file");
  assert.equal(decoder.decode(shbOpts.get(4)?.[0]), "packetwave test");

  assert.equal(idb0.body.getUint16(0, le), 1);
  assert.equal(idb0.body.getUint32(4, le), 262144);
  const idb0Opts = options(idb0.body, 8, le);
  assert.equal(decoder.decode(idb0Opts.get(2)?.[0]), "eth0");
  assert.equal(decoder.decode(idb0Opts.get(3)?.[0]), "LAN");
  assert.deepEqual([...(idb0Opts.get(9)?.[0] ?? [])], [6]);
  assert.equal(idb1.body.getUint16(0, le), 101);
  assert.deepEqual([...(options(idb1.body, 8, le).get(9)?.[0] ?? [])], [9]);

  // µs timestamp: 1742358535.736 s = 1742358535736000 µs.
  const us = 1742358535736000n;
  assert.equal(epb0.body.getUint32(0, le), 0);
  assert.equal(epb0.body.getUint32(4, le), Number(us >> 32n));
  assert.equal(epb0.body.getUint32(8, le), Number(us & 0xffffffffn));
  assert.equal(epb0.body.getUint32(12, le), 5);
  assert.equal(decoder.decode(options(epb0.body, 20 + 8, le).get(1)?.[0]), "INVITE");
  // ns timestamp is exact from a bigint; the 20-byte packet is cut to snaplen 8.
  const ns = 1742358535736123456n;
  assert.equal(epb1.body.getUint32(0, le), 1);
  assert.equal(epb1.body.getUint32(4, le), Number(ns >> 32n));
  assert.equal(epb1.body.getUint32(8, le), Number(ns & 0xffffffffn));
  assert.equal(epb1.body.getUint32(12, le), 8);
  assert.equal(epb1.body.getUint32(16, le), 20);
  assert.equal(options(epb1.body, 20 + 8, le).get(2)?.[0]?.length, 4);
});

Deno.test("pcapng writer converts fractional seconds exactly to ns", async () => {
  const writer = PcapngWriter.inMemory();
  await writer.addInterface({ tsResolution: 9 });
  // 0.5 is exact in binary, so the ns count must be exact too.
  await writer.writePacket(4000000000.5, new Uint8Array(1));
  await writer.close();
  const epb = blocks(writer.bytes()).blocks[2] as Block;
  const units = (BigInt(epb.body.getUint32(4, true)) << 32n) | BigInt(epb.body.getUint32(8, true));
  assert.equal(units, 4000000000_500000000n);
});

Deno.test("pcapng writer gives the same bytes to every kind of sink", async () => {
  async function fill(writer: PcapngWriter): Promise<void> {
    await writer.addInterface({ name: "lo" });
    for (let i = 0; i < 50; i++) {
      await writer.writePacket(1700000000 + i / 50, new Uint8Array(100 + i).fill(i));
    }
    await writer.writePacket(1700000002, new Uint8Array(3000).fill(9)); // larger than the buffer
    await writer.close();
  }
  const reference = PcapngWriter.inMemory({ bufferBytes: 256 });
  await fill(reference);
  const expected = reference.bytes();

  const kept: Uint8Array[] = [];
  await fill(new PcapngWriter({ write: (p) => void kept.push(p) }, { bufferBytes: 256 }));
  assert.deepEqual(concat(kept), expected);

  // A sink that takes at most 7 bytes per call, asynchronously.
  const partial: Uint8Array[] = [];
  let closed = false;
  const slow = {
    write(p: Uint8Array): Promise<number> {
      const n = Math.min(7, p.length);
      partial.push(p.slice(0, n));
      return Promise.resolve(n);
    },
    close(): void {
      closed = true;
    },
  };
  await fill(new PcapngWriter(slow, { bufferBytes: 256 }));
  assert.deepEqual(concat(partial), expected);
  assert.equal(closed, true);

  const streamed: Uint8Array[] = [];
  await fill(
    new PcapngWriter(new WritableStream({ write: (chunk) => void streamed.push(chunk) }), {
      bufferBytes: 256,
    }),
  );
  assert.deepEqual(concat(streamed), expected);
});

Deno.test("pcapng writer writes big-endian sections and raw blocks", async () => {
  const writer = PcapngWriter.inMemory({ bigEndian: true });
  await writer.writePacket(1, new Uint8Array(14));
  await writer.writeBlock(0x0bad, new Uint8Array([1, 2, 3]));
  await writer.close();
  const { blocks: list, le } = blocks(writer.bytes());
  assert.equal(le, false);
  assert.deepEqual(list.map((b) => b.type), [PCAPNG_BLOCK_SHB, PCAPNG_BLOCK_IDB, 6, 0x0bad]);
});

Deno.test("pcapng writer rejects what it cannot write", async () => {
  const writer = PcapngWriter.inMemory();
  await assert.rejects(writer.writePacket(1, new Uint8Array(4), { interfaceId: 3 }), RangeError);
  await assert.rejects(writer.addInterface({ tsResolution: 12 }), RangeError);
  await assert.rejects(writer.writePacket(-1, new Uint8Array(4)), RangeError);
  await assert.rejects(writer.writePacket(1, new Uint8Array(4), { origLen: 2 }), RangeError);
  await writer.close();
  await assert.rejects(writer.writePacket(1, new Uint8Array(4)), Error);
  assert.throws(() => new PcapngWriter({ write() {} }).bytes(), TypeError);
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An Ethernet + IPv4 + UDP frame with a zero UDP checksum, enough for tshark to decode. */
function udpFrame(payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const frame = new Uint8Array(14 + 20 + 8 + body.length);
  const v = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x0800);
  frame.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  v.setUint16(16, 20 + 8 + body.length);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(24, ~sum & 0xffff);
  v.setUint16(34, 40000);
  v.setUint16(36, 40001);
  v.setUint16(38, 8 + body.length);
  frame.set(body, 42);
  return frame;
}

Deno.test({
  name: "pcapng writer output reads in tshark with interfaces, resolutions and comments",
  ignore: !hasTshark,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const bigEndian of [false, true]) {
        const path = `${dir}/t-${bigEndian}.pcapng`;
        const file = await Deno.open(path, { write: true, create: true, truncate: true });
        const writer = new PcapngWriter(file, { bigEndian, section: { comment: "hello" } });
        const eth = await writer.addInterface({ name: "eth0" });
        const raw = await writer.addInterface({ linkType: 101, name: "tun0", tsResolution: 9 });
        await writer.writePacket(1742358535.736, udpFrame("one"), {
          interfaceId: eth,
          comment: "first packet",
        });
        await writer.writePacket(1742358535_736123457n, udpFrame("two").subarray(14), {
          interfaceId: raw,
        });
        await writer.close();
        const out = new Deno.Command("tshark", {
          args: [
            "-r",
            path,
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.comment",
            "-e",
            "udp.length",
          ],
          stdout: "piped",
          stderr: "piped",
        }).outputSync();
        assert.equal(out.success, true, decoder.decode(out.stderr));
        const lines = decoder.decode(out.stdout).trim().split("\n");
        assert.deepEqual(lines, [
          "1742358535.736000000|eth0|first packet|11",
          "1742358535.736123457|tun0||11",
        ]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "pcapng writer output passes capinfos",
  ignore: !hasCapinfos,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const writer = PcapngWriter.inMemory();
      await writer.addInterface({ tsResolution: 9 });
      for (let i = 0; i < 10; i++) await writer.writePacket(1700000000 + i, udpFrame(`p${i}`));
      await writer.close();
      await Deno.writeFile(`${dir}/c.pcapng`, writer.bytes());
      const out = new Deno.Command("capinfos", {
        args: ["-M", "-c", "-t", "-u", `${dir}/c.pcapng`],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      assert.equal(out.success, true, decoder.decode(out.stderr));
      const text = decoder.decode(out.stdout);
      assert.match(text, /Number of packets:\s+10\n/);
      assert.match(text, /File type:\s+pcapng\n/);
      assert.match(text, /Capture duration:\s+9(\.0+)? seconds/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
