import { toolWorks } from "../../tests/support/tools.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Frame } from "./frame.ts";
import { openCapture } from "./open.ts";
import { PCAP_FILE_HEADER_BYTES } from "./pcap_writer.ts";
import { RotatingPcapWriter, type RotatingPcapWriterOptions } from "./rotating_writer.ts";
import { type CollectedFrame, readAll } from "./test_support.ts";

const PICKUP = new URL("../../fixtures/seed/3-pickup.pcapng", import.meta.url).pathname;

const hasCapinfos = toolWorks("capinfos", ["-v"]);
const hasTshark = toolWorks("tshark", ["-v"]);
if (!hasCapinfos || !hasTshark) {
  console.warn("rotating_writer_test: capinfos/tshark not found, skipping their checks");
}

/** Every frame of the seed capture, copied. */
async function inputFrames(): Promise<CollectedFrame[]> {
  return (await readAll(await Deno.readFile(PICKUP))).frames;
}

/** Runs the seed capture through a rotating writer, as live capture would feed it. */
async function rotate(
  options: Omit<RotatingPcapWriterOptions, "linkType">,
): Promise<RotatingPcapWriter> {
  const writer = new RotatingPcapWriter({ ...options, linkType: 1 });
  const opened = await openCapture(PICKUP);
  try {
    await opened.source.run({ onFrame: (f) => writer.write(f) });
  } finally {
    opened.close();
  }
  await writer.close();
  return writer;
}

/** The capture files in a directory, in name order. */
function captureFiles(dir: string, prefix = "voip"): string[] {
  return [...Deno.readDirSync(dir)]
    .map((e) => e.name)
    .filter((n) => n.startsWith(`${prefix}-`) && n.endsWith(".pcap"))
    .sort()
    .map((n) => join(dir, n));
}

/** Frames of several files, in order. */
async function framesOf(paths: string[]): Promise<CollectedFrame[][]> {
  const out: CollectedFrame[][] = [];
  for (const path of paths) {
    const { frames, anomalies } = await readAll(await Deno.readFile(path));
    assert.deepEqual(anomalies, [], `${path} reads without anomalies`);
    out.push(frames);
  }
  return out;
}

function assertSameFrames(actual: CollectedFrame[], expected: CollectedFrame[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a.ts - e.ts) < 1e-6, `frame ${i}: ts ${a.ts} vs ${e.ts}`);
    assert.equal(a.origLen, e.origLen, `frame ${i}: original length`);
    assert.deepEqual(a.data, e.data, `frame ${i}: bytes`);
  }
}

function capinfosPackets(path: string): number {
  const out = new Deno.Command("capinfos", { args: ["-c", "-T", "-r", "-M", path] }).outputSync();
  assert.ok(out.success, `capinfos reads ${path}`);
  return Number(new TextDecoder().decode(out.stdout).trim().split("\t")[1]);
}

function tsharkPackets(path: string): number {
  const out = new Deno.Command("tshark", {
    args: ["-r", path, "-T", "fields", "-e", "frame.number"],
  })
    .outputSync();
  assert.ok(out.success, `tshark reads ${path}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").length;
}

/** `YYYYMMDDTHHMMSSZ` of a time, computed apart from the writer's own code. */
function stampOf(ts: number): string {
  return new Date(Math.floor(ts) * 1000).toISOString().replace(/[-:]/g, "").replace(
    /\.\d{3}Z$/,
    "Z",
  );
}

Deno.test("rotating writer: size rotation keeps every packet, in order, in files under the limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await inputFrames();
    const closed: Array<[string, number]> = [];
    const writer = await rotate({
      dir,
      prefix: "voip",
      maxBytes: 20_000,
      onFileClosed: (path, packets) => closed.push([path, packets]),
    });
    const files = captureFiles(dir);
    const perFile = await framesOf(files);
    // 130 kB of packets cannot fit in fewer than 7 files of 20 kB.
    assert.ok(files.length >= 7, `${files.length} files`);
    assert.equal(writer.stats.files, files.length);
    assert.equal(writer.stats.packets, input.length);
    assert.equal(writer.stats.written, input.length);
    assert.equal(writer.stats.dropped, 0);
    assert.equal(writer.stats.errors, 0);
    for (const [i, path] of files.entries()) {
      const size = Deno.statSync(path).size;
      assert.ok(size <= 20_000, `${path} is ${size} bytes`);
      // Not closed early: the next file's first packet would not have fitted.
      const next = perFile[i + 1]?.[0];
      if (next) assert.ok(size + 16 + next.data.length > 20_000, `${path} rotated early`);
      // The name carries the UTC time of the file's first packet.
      assert.ok(path.includes(`voip-${stampOf(perFile[i]![0]!.ts)}-`), path);
    }
    assertSameFrames(perFile.flat(), input);
    assert.deepEqual(closed.map(([p]) => p), files);
    assert.deepEqual(closed.map(([, n]) => n), perFile.map((f) => f.length));
    if (hasCapinfos && hasTshark) {
      const counts = files.map(capinfosPackets);
      assert.deepEqual(counts, perFile.map((f) => f.length));
      assert.equal(counts.reduce((a, b) => a + b, 0), input.length);
      assert.deepEqual(files.map(tsharkPackets), counts);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating writer: time rotation starts a file every maxSeconds of capture time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await inputFrames();
    await rotate({ dir, prefix: "voip", maxSeconds: 5 });
    const files = captureFiles(dir);
    const perFile = await framesOf(files);
    // Expected split, computed from the input timestamps.
    const expected: number[] = [];
    let start = -1;
    for (const f of input) {
      if (start < 0 || f.ts - start >= 5) {
        expected.push(0);
        start = f.ts;
      }
      expected[expected.length - 1]!++;
    }
    // 27.7 s with quiet gaps: tshark's frame.time_relative gives four 5 s windows.
    assert.equal(expected.length, 4);
    assert.deepEqual(perFile.map((f) => f.length), expected);
    for (const frames of perFile) {
      assert.ok(frames.at(-1)!.ts - frames[0]!.ts < 5, "a file spans less than 5 s");
    }
    assertSameFrames(perFile.flat(), input);
    if (hasCapinfos) assert.deepEqual(files.map(capinfosPackets), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating writer: maxFiles deletes the oldest files of its prefix only, older runs included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await inputFrames();
    // Files of an earlier run (2001) and files that are not the writer's.
    const old1 = join(dir, "voip-20010101T000000Z-000001.pcap");
    const old2 = join(dir, "voip-20010101T000000Z-000002.pcap");
    Deno.writeFileSync(old1, new Uint8Array(24));
    Deno.writeFileSync(old2, new Uint8Array(24));
    const foreign = ["notes.txt", "voip-notes.pcap", "other-20010101T000000Z-000001.pcap"];
    for (const name of foreign) Deno.writeTextFileSync(join(dir, name), "keep me");
    const writer = await rotate({ dir, prefix: "voip", maxBytes: 20_000, maxFiles: 3 });
    const files = captureFiles(dir).filter((p) => !p.endsWith("voip-notes.pcap"));
    assert.equal(files.length, 3);
    assert.ok(!files.includes(old1) && !files.includes(old2), "the earlier run's files went first");
    assert.equal(writer.stats.deleted, writer.stats.files - 3 + 2);
    for (const name of foreign) {
      assert.equal(Deno.readTextFileSync(join(dir, name)), "keep me", `${name} untouched`);
    }
    // What is left is the newest part of the capture, with nothing missing at its end.
    const kept = (await framesOf(files)).flat();
    assertSameFrames(kept, input.slice(input.length - kept.length));
    if (hasCapinfos) {
      assert.equal(files.map(capinfosPackets).reduce((a, b) => a + b, 0), kept.length);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating writer: a full pending buffer drops and counts; nothing accepted is lost", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await inputFrames();
    // Frames written synchronously, no await in between: the disk never gets a turn.
    const writer = new RotatingPcapWriter({
      dir,
      prefix: "voip",
      linkType: 1,
      maxPendingBytes: 30_000,
    });
    const frame = new Frame();
    for (const f of input) {
      frame.ts = f.ts;
      frame.linkType = f.linkType;
      frame.bytes = f.data;
      frame.start = 0;
      frame.end = f.data.length;
      frame.origLen = f.origLen;
      writer.write(frame);
    }
    await writer.close();
    const { packets, dropped, written } = writer.stats;
    assert.ok(dropped > 0, "some frames were dropped");
    assert.ok(packets > 0, "some frames were kept");
    assert.equal(packets + dropped, input.length);
    assert.equal(written, packets);
    const kept = (await framesOf(captureFiles(dir))).flat();
    assertSameFrames(kept, input.slice(0, packets));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating writer: tick rotates a quiet file; writes after close are dropped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const writer = new RotatingPcapWriter({ dir, prefix: "voip", linkType: 101, maxSeconds: 60 });
    const frame = new Frame();
    frame.linkType = 101;
    frame.bytes = new Uint8Array([0x45, 0, 0, 20, 1, 2, 3, 4]);
    frame.end = frame.origLen = 8;
    frame.ts = 1_700_000_000;
    writer.write(frame);
    writer.tick(1_700_000_030); // not yet
    frame.ts = 1_700_000_031;
    writer.write(frame);
    writer.tick(1_700_000_061); // the file is a minute old: the next packet starts a new one
    frame.ts = 1_700_000_061.5;
    writer.write(frame);
    frame.linkType = 1; // not the files' link type
    writer.write(frame);
    await writer.close();
    frame.linkType = 101;
    writer.write(frame);
    const files = captureFiles(dir);
    assert.deepEqual(files.map((p) => p.slice(dir.length + 1)), [
      "voip-20231114T221320Z-000001.pcap",
      "voip-20231114T221421Z-000002.pcap",
    ]);
    assert.deepEqual((await framesOf(files)).map((f) => f.length), [2, 1]);
    assert.equal(writer.stats.skipped, 1);
    assert.equal(writer.stats.dropped, 1);
    assert.equal(
      Deno.statSync(files[1]!).size,
      PCAP_FILE_HEADER_BYTES + 16 + 8,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating writer: low traffic is flushed by the timer, before close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const writer = new RotatingPcapWriter({ dir, prefix: "voip", linkType: 101, flushMs: 20 });
    const frame = new Frame();
    frame.linkType = 101;
    frame.bytes = new Uint8Array([0x45, 0, 0, 20]);
    frame.end = frame.origLen = 4;
    frame.ts = 1_700_000_000;
    writer.write(frame);
    await new Promise((r) => setTimeout(r, 200));
    const [file] = captureFiles(dir);
    assert.ok(file, "the file exists before close");
    assert.equal(Deno.statSync(file).size, PCAP_FILE_HEADER_BYTES + 16 + 4);
    await writer.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating writer: a prefix that could leave the directory is refused", () => {
  for (const prefix of ["../x", "a/b", "", ".hidden", "x\u0000"]) {
    assert.throws(
      () => new RotatingPcapWriter({ dir: "/tmp", prefix, linkType: 1 }),
      TypeError,
      prefix,
    );
  }
  assert.throws(
    () => new RotatingPcapWriter({ dir: "/tmp", prefix: "ok", linkType: 1, maxBytes: -1 }),
    RangeError,
  );
  assert.throws(
    () => new RotatingPcapWriter({ dir: "/tmp", prefix: "ok", linkType: 1, maxFiles: 2.5 }),
    RangeError,
  );
  assert.throws(
    () => new RotatingPcapWriter({ dir: "/tmp", prefix: "ok", linkType: 70000 }),
    RangeError,
  );
  // 0 means no limit, as the command line takes it.
  new RotatingPcapWriter({ dir: "/tmp", prefix: "ok", linkType: 1, maxBytes: 0, maxFiles: 0 });
});

Deno.test("rotating writer: an unwritable directory is reported, not thrown", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const blocker = join(dir, "file");
    Deno.writeTextFileSync(blocker, "x"); // a file where the directory should be
    const errors: Error[] = [];
    const writer = new RotatingPcapWriter({
      dir: join(blocker, "sub"),
      prefix: "voip",
      linkType: 101,
      onError: (e) => errors.push(e),
    });
    const frame = new Frame();
    frame.linkType = 101;
    frame.bytes = new Uint8Array([0x45, 0, 0, 20]);
    frame.end = frame.origLen = 4;
    frame.ts = 1_700_000_000;
    writer.write(frame);
    await writer.close();
    assert.ok(errors.length > 0);
    assert.equal(writer.stats.written, 0);
    assert.equal(writer.stats.dropped, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
