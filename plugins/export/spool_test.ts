import assert from "node:assert/strict";
import { openCapture } from "../../engine/capture/open.ts";
import {
  type FrameSpool,
  SPOOL_BUFFER_MAX_BYTES,
  SPOOL_BUFFER_MIN_BYTES,
  SPOOL_OPEN_FILES,
  SPOOL_SNAPLEN,
  SpoolReader,
  SpoolStore,
} from "./spool.ts";

interface Back {
  ts: number;
  origLen: number;
  data: number[];
}

function readFile(spool: FrameSpool, linkType: number): Back[] {
  const file = spool.files.get(linkType);
  if (!file || !file.created) return [];
  const reader = new SpoolReader(file);
  const out: Back[] = [];
  while (reader.next()) {
    const c = reader.current;
    out.push({ ts: c.seconds + c.micros / 1e6, origLen: c.origLen, data: [...c.data] });
  }
  reader.close();
  return out;
}

Deno.test("spool: frames come back in order, bit for bit, per link type, across flushes and large frames", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SpoolStore(dir);
    const spool = store.create();
    const buffer = new Uint8Array(300_000);
    for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 7) & 0xff;
    const sizes = [60, 1500, 0, 9000, 280_000, 214, 65_600, 1];
    let offset = 0;
    sizes.forEach((size, i) => {
      const ts = 1_700_000_000 + i * 0.02;
      spool.append(ts, 10 + i, i % 2 ? 113 : 1, size + 4, buffer, offset, offset + size);
      offset += 13;
    });
    spool.append(0, 10 + sizes.length - 1, 1, 1, buffer, 0, 1); // the same frame again: ignored
    assert.equal(spool.frames, sizes.length);
    assert.deepEqual([...spool.files.keys()], [1, 113]);
    spool.finish();
    const expected = (linkType: number) =>
      sizes.flatMap((size, i) =>
        (i % 2 ? 113 : 1) === linkType
          ? [{
            ts: 1_700_000_000 + i * 0.02,
            origLen: size + 4,
            data: [...buffer.subarray(13 * i, 13 * i + size)],
          }]
          : []
      );
    for (const linkType of [1, 113]) {
      const back = readFile(spool, linkType);
      const want = expected(linkType);
      assert.equal(back.length, want.length);
      back.forEach((r, i) => {
        assert.ok(Math.abs(r.ts - want[i]!.ts) < 1e-6);
        assert.equal(r.origLen, want[i]!.origLen);
        assert.deepEqual(r.data, want[i]!.data);
      });
    }
    // Each spool file is a pcap file our reader (and any other) opens.
    const opened = await openCapture(spool.files.get(113)!.path);
    const seen: { linkType: number; length: number }[] = [];
    await opened.source.run({
      onFrame: (f) => seen.push({ linkType: f.linkType, length: f.length }),
    });
    opened.close();
    assert.deepEqual(seen.map((f) => f.linkType), [113, 113, 113, 113]);
    assert.deepEqual(seen.map((f) => f.length), [1500, 9000, 214, 1]);
    // The snapshot length is raised to the longest frame when one is longer than the default.
    const big = spool.files.get(1)!;
    assert.equal(big.maxCapLen, 280_000);
    assert.ok(big.maxCapLen > SPOOL_SNAPLEN);
    const header = new DataView(Deno.readFileSync(big.path).buffer);
    assert.equal(header.getUint32(16, true), 280_000);
    assert.equal(
      new DataView(Deno.readFileSync(spool.files.get(113)!.path).buffer).getUint32(16, true),
      SPOOL_SNAPLEN,
    );
    spool.remove();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.equal(store.activeBuffers, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: many legs at once stay within the open-file cap and share the buffer budget", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SpoolStore(dir);
    const spools = Array.from({ length: SPOOL_OPEN_FILES * 3 }, () => store.create());
    const frame = new Uint8Array(200).fill(0xab);
    let seq = 0;
    for (let round = 0; round < 40; round++) {
      for (const s of spools) s.append(round, seq++, 1, 200, frame, 0, 200);
    }
    assert.equal(store.activeBuffers, spools.length);
    for (const s of spools) s.flush();
    // Only this store's files: other tests run in the same process at the same time.
    const fds = [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith(dir);
      } catch {
        return false;
      }
    }).length;
    assert.ok(fds > 0 && fds <= SPOOL_OPEN_FILES, `${fds} spool files open`);
    for (const s of spools) {
      const back = readFile(s, 1);
      assert.deepEqual(back.map((r) => r.ts), Array.from({ length: 40 }, (_, i) => i));
    }
    assert.equal(store.activeBuffers, 0);
    for (const s of spools) s.remove();
    store.closeAll();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // The budget: the more buffers held, the smaller a new one.
    const budget = new SpoolStore(dir);
    const first = budget.takeBuffer().length;
    for (let i = 0; i < 5000; i++) budget.takeBuffer();
    const late = budget.takeBuffer().length;
    assert.equal(first, SPOOL_BUFFER_MAX_BYTES);
    assert.equal(late, SPOOL_BUFFER_MIN_BYTES);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: a spool that never reached the disk has no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spool = new SpoolStore(dir).create();
    spool.finish();
    assert.equal(spool.files.size, 0);
    spool.remove();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
