import assert from "node:assert/strict";
import { compareSignals } from "../tone_analysis.ts";
import { A_LAW_TO_LINEAR, MU_LAW_TO_LINEAR, PcmaDecoder, PcmuDecoder } from "./g711.ts";
import { referenceAudio } from "./testing_reference.ts";
import {
  capturesPresent,
  decodeAll,
  int16FromLittleEndian,
  rtpPayloads,
  run,
  toolWorks,
} from "./testing_rtp.ts";

const hasSox = toolWorks("sox", ["--version"]);
const hasCaptures = capturesPresent();
if (!hasSox) console.warn("g711_test: sox not found, skipping the sox agreement tests");
if (!hasCaptures) console.warn("g711_test: ../shared/captures missing, skipping capture tests");

const G711_CAPTURE = "sipnab__sip-rtp-g711.pcap";
const PCMU_STREAM = { ssrc: 0x343da99b, payloadType: 0 };
const PCMA_STREAM = { ssrc: 0x343ffa34, payloadType: 8 };

/** Decodes raw G.711 bytes with sox (`-t ul` or `-t al`). */
function soxDecode(type: "ul" | "al", bytes: Uint8Array): Int16Array {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/in.raw`, bytes);
    run("sox", [
      "-t",
      type,
      "-r",
      "8000",
      "-c",
      "1",
      `${dir}/in.raw`,
      "-t",
      "s16",
      "-L",
      `${dir}/out.raw`,
    ]);
    return int16FromLittleEndian(Deno.readFileSync(`${dir}/out.raw`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("G.711 tables: known codes, odd symmetry, zero only at the two zero codes", () => {
  assert.equal(MU_LAW_TO_LINEAR[0xff], 0);
  assert.equal(MU_LAW_TO_LINEAR[0x7f], 0);
  assert.equal(MU_LAW_TO_LINEAR[0x00], -32124);
  assert.equal(MU_LAW_TO_LINEAR[0x80], 32124);
  assert.equal(MU_LAW_TO_LINEAR[0xfe], 8); // smallest positive step of segment 0 (bias removed)
  assert.equal(A_LAW_TO_LINEAR[0xd5], 8);
  assert.equal(A_LAW_TO_LINEAR[0x55], -8);
  assert.equal(A_LAW_TO_LINEAR[0xaa], 32256);
  assert.equal(A_LAW_TO_LINEAR[0x2a], -32256);
  for (let code = 0; code < 128; code++) {
    assert.equal(MU_LAW_TO_LINEAR[code]! + MU_LAW_TO_LINEAR[code | 0x80]!, 0, `µ-law ${code}`);
    assert.equal(A_LAW_TO_LINEAR[code]! + A_LAW_TO_LINEAR[code | 0x80]!, 0, `A-law ${code}`);
  }
  assert.equal(new Set(MU_LAW_TO_LINEAR).size, 255); // ±0 collapse, every other code distinct
  assert.equal(new Set(A_LAW_TO_LINEAR).size, 256); // A-law has no zero level
});

Deno.test("G.711 decoders honour outOffset and never write past the end of out", () => {
  const out = new Int16Array(5).fill(7);
  const n = new PcmuDecoder().decode(new Uint8Array([0x00, 0x80, 0xff, 0x00]), out, 2);
  assert.equal(n, 3);
  assert.deepEqual([...out], [7, 7, -32124, 32124, 0]);
  assert.equal(new PcmaDecoder().decode(new Uint8Array(10), out, 5), 0);
  assert.equal(new PcmaDecoder().decode(new Uint8Array(10), out, 9), 0);
  assert.equal(new PcmuDecoder().samplesFor(160), 160);
});

Deno.test({
  name: "G.711 agrees with sox sample for sample on all 256 codes",
  ignore: !hasSox,
  fn() {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = new Int16Array(256);
    new PcmuDecoder().decode(codes, out);
    assert.deepEqual(out, soxDecode("ul", codes));
    new PcmaDecoder().decode(codes, out);
    assert.deepEqual(out, soxDecode("al", codes));
  },
});

Deno.test({
  name: "G.711 agrees with sox on the PCMU and PCMA streams of a real capture",
  ignore: !hasSox || !hasCaptures,
  fn() {
    for (
      const [type, stream, decoder] of [
        ["ul", PCMU_STREAM, new PcmuDecoder()],
        ["al", PCMA_STREAM, new PcmaDecoder()],
      ] as const
    ) {
      const packets = rtpPayloads(G711_CAPTURE, stream);
      assert.ok(packets.length > 400, `${type}: ${packets.length} packets`);
      const bytes = new Uint8Array(packets.reduce((n, p) => n + p.payload.length, 0));
      let at = 0;
      for (const p of packets) {
        bytes.set(p.payload, at);
        at += p.payload.length;
      }
      assert.deepEqual(decodeAll(decoder, packets), soxDecode(type, bytes), type);
    }
  },
});

Deno.test({
  name: "decoded PCMU and PCMA match the same recording sent as L16 (SNR > 33 dB at lag 0)",
  ignore: !hasCaptures,
  fn() {
    const reference = referenceAudio(8000);
    for (
      const [stream, decoder] of [
        [PCMU_STREAM, new PcmuDecoder()],
        [PCMA_STREAM, new PcmaDecoder()],
      ] as const
    ) {
      const decoded = decodeAll(decoder, rtpPayloads(G711_CAPTURE, stream));
      const result = compareSignals(reference, decoded, 40);
      assert.equal(result.lag, 0, decoder.encodingName);
      // G.711 on speech gives about 37 dB; a wrong table or byte order gives < 10.
      assert.ok(result.snrDb > 33, `${decoder.encodingName}: ${result.snrDb.toFixed(1)} dB`);
      assert.ok(Math.abs(result.gain - 1) < 0.01, `${decoder.encodingName} gain ${result.gain}`);
    }
  },
});
