import assert from "node:assert/strict";
import {
  compareSignals,
  longestClippedRun,
  rms,
  spectralFlatness,
  zeroCrossingRate,
} from "../tone_analysis.ts";
import { Dvi4Decoder, IMA_STEP_SIZES } from "./dvi4.ts";
import { referenceAudio } from "./testing_reference.ts";
import {
  CAPTURES_DIR,
  capturesPresent,
  decodeAll,
  int16FromLittleEndian,
  type RtpPayload,
  rtpPayloads,
  run,
  toolWorks,
} from "./testing_rtp.ts";

const hasSox = toolWorks("sox", ["--version"]);
const hasTshark = toolWorks("tshark", ["--version"]);
const hasCaptures = capturesPresent();
if (!hasSox) console.warn("dvi4_test: sox not found, skipping the sox agreement test");
if (!hasTshark) console.warn("dvi4_test: tshark not found, skipping the payload extraction check");
if (!hasCaptures) console.warn("dvi4_test: ../shared/captures missing, skipping capture tests");

const DVI4_CAPTURE = "redrabbit__sip-rtp-dvi4.pcap";
const STREAMS = [
  { ssrc: 0x043dab09, payloadType: 5, sampleRate: 8000 },
  { ssrc: 0x043ffba2, payloadType: 6, sampleRate: 16000 },
] as const;

function decodeOne(payload: number[]): number[] {
  const out = new Int16Array(64);
  const n = new Dvi4Decoder().decode(Uint8Array.from(payload), out);
  return [...out.subarray(0, n)];
}

Deno.test("DVI4 hand-computed vectors of the IMA algorithm (RFC 3551 §4.5.1)", () => {
  // Predictor 0, index 0 (step 7). Codes high nibble first: 0, 1, 2, 3, 4, C.
  // 0: +7>>3 = 0 → 0        1: +0 + 7>>2 = 1 → 1     2: +0 + 7>>1 = 3 → 4
  // 3: +0 + 3 + 1 = 4 → 8   4: +0 + 7 = 7 → 15, index 2 (step 9)
  // C: −(9>>3 + 9) = −10 → 5, index 4
  assert.deepEqual(decodeOne([0x00, 0x00, 0x00, 0x00, 0x01, 0x23, 0x4c]), [0, 1, 4, 8, 15, 5]);
  // Predictor −5, index 88 (step 32767): 7 adds 4095 + 32767 + 16383 + 8191 and
  // saturates at 32767; F then subtracts the same 61436 → −28669.
  assert.deepEqual(decodeOne([0xff, 0xfb, 88, 0x00, 0x7f]), [32767, -28669]);
  // And back down to the floor: −28669 − 61436 saturates at −32768.
  assert.deepEqual(decodeOne([0x90, 0x03, 88, 0x00, 0xff]), [-32768, -32768]);
  assert.equal(IMA_STEP_SIZES.length, 89);
});

Deno.test("DVI4 header edge cases: short payloads, step index above 88, reserved byte ignored", () => {
  const out = new Int16Array(8);
  const decoder = new Dvi4Decoder(16000);
  assert.equal(decoder.decode(new Uint8Array(0), out), 0);
  assert.equal(decoder.decode(new Uint8Array([1, 2, 3]), out), 0);
  assert.equal(decoder.decode(new Uint8Array([1, 2, 3, 4]), out), 0);
  assert.deepEqual(decodeOne([0xff, 0xfb, 200, 0x00, 0x7f]), [32767, -28669]); // 200 → 88
  assert.deepEqual(decodeOne([0, 0, 0, 0xab, 0x01]), decodeOne([0, 0, 0, 0x00, 0x01]));
  // Only as many samples as fit.
  assert.equal(decoder.decode(new Uint8Array(84), out, 3), 5);
  assert.equal(decoder.samplesFor(84), 160);
  assert.equal(decoder.samplesFor(2), 0);
});

/**
 * Decodes a DVI4 stream and counts packets whose state header equals the
 * decoder's state after the previous packet. A continuous encoder writes
 * exactly that state, so every boundary matches only when the decoder
 * reproduces the encoder's arithmetic bit for bit.
 */
function headerContinuity(packets: readonly RtpPayload[], transform = (p: Uint8Array) => p) {
  const decoder = new Dvi4Decoder();
  const out = new Int16Array(decoder.samplesFor(packets[0]!.payload.length));
  let matching = 0;
  let previous: { predicted: number; index: number } | null = null;
  for (const { payload } of packets) {
    const predicted = (payload[0]! << 24 >> 16) | payload[1]!;
    if (previous !== null && previous.predicted === predicted && previous.index === payload[2]) {
      matching++;
    }
    decoder.decode(transform(payload), out);
    previous = { ...decoder.state };
  }
  return { boundaries: packets.length - 1, matching };
}

Deno.test({
  name: "DVI4 capture: every packet's header equals our decoder state after the previous packet",
  ignore: !hasCaptures,
  fn() {
    for (const stream of STREAMS) {
      const packets = rtpPayloads(DVI4_CAPTURE, stream);
      assert.equal(packets.length, 425);
      const { boundaries, matching } = headerContinuity(packets);
      assert.equal(matching, boundaries, `PT ${stream.payloadType}`);
      // The check can fail: the other nibble order breaks nearly every boundary.
      const swapped = headerContinuity(packets, (p) => {
        const q = p.slice();
        for (let i = 4; i < q.length; i++) q[i] = ((q[i]! & 15) << 4) | (q[i]! >> 4);
        return q;
      });
      assert.ok(swapped.matching < boundaries / 10, `swapped: ${swapped.matching}`);
    }
  },
});

Deno.test({
  name: "DVI4 capture decodes to plausible speech that matches the L16 original",
  ignore: !hasCaptures,
  fn() {
    for (const stream of STREAMS) {
      const decoder = new Dvi4Decoder(stream.sampleRate);
      const samples = decodeAll(decoder, rtpPayloads(DVI4_CAPTURE, stream));
      assert.equal(samples.length, 425 * 20 * stream.sampleRate / 1000);
      const label = `${stream.sampleRate} Hz`;
      // Speech level, not silence and not a decoder that ran off to full scale.
      const level = rms(samples);
      assert.ok(level > 300 && level < 8000, `${label}: RMS ${level}`);
      assert.ok(longestClippedRun(samples, 32000) === 0, `${label}: clipping`);
      // Not noise: speech measures flatness 0.10 (8 kHz) and 0.06 (16 kHz)
      // with 0.15 and 0.13 zero crossings per sample; white noise measures
      // about 0.97 and 0.5.
      const flatness = spectralFlatness(samples, stream.sampleRate);
      assert.ok(flatness < 0.3, `${label}: flatness ${flatness}`);
      const zcr = zeroCrossingRate(samples);
      assert.ok(zcr < 0.25, `${label}: zero crossings ${zcr}`);
      // The same recording was sent as L16 in a sibling capture: 4-bit ADPCM
      // of speech keeps 19.8 dB (8 kHz) and 24.7 dB (16 kHz) of SNR. Those
      // checks above pass even for the wrong nibble order; this one does not
      // (it measures 3 dB then).
      const reference = referenceAudio(stream.sampleRate);
      const result = compareSignals(reference, samples, 40);
      assert.equal(result.lag, 0, label);
      const minimum = stream.sampleRate === 8000 ? 17 : 21;
      assert.ok(result.snrDb > minimum, `${label}: SNR ${result.snrDb.toFixed(1)} dB`);
    }
  },
});

/**
 * Repackages DVI4 packets as an IMA ADPCM WAV (format 0x11) that sox can
 * read: each packet becomes one block whose header "first sample" is the
 * DVI4 predicted value (little-endian) and whose nibbles are swapped to the
 * low-first order of WAV. sox then outputs that sample plus our 2 × (n − 4)
 * samples per block.
 */
function imaAdpcmWav(packets: readonly RtpPayload[], sampleRate: number): Uint8Array {
  const blockAlign = packets[0]!.payload.length;
  const samplesPerBlock = 1 + 2 * (blockAlign - 4);
  const data = blockAlign * packets.length;
  const bytes = new Uint8Array(60 + data);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < 4; i++) bytes[at + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 52 + data, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 20, true);
  view.setUint16(20, 0x11, true); // WAVE_FORMAT_IMA_ADPCM
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, Math.round(sampleRate * blockAlign / samplesPerBlock), true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 4, true);
  view.setUint16(36, 2, true);
  view.setUint16(38, samplesPerBlock, true);
  ascii(40, "fact");
  view.setUint32(44, 4, true);
  view.setUint32(48, samplesPerBlock * packets.length, true);
  ascii(52, "data");
  view.setUint32(56, data, true);
  packets.forEach(({ payload }, k) => {
    const at = 60 + k * blockAlign;
    bytes[at] = payload[1]!;
    bytes[at + 1] = payload[0]!;
    bytes[at + 2] = payload[2]!;
    for (let i = 4; i < blockAlign; i++) {
      bytes[at + i] = ((payload[i]! & 15) << 4) | (payload[i]! >> 4);
    }
  });
  return bytes;
}

Deno.test({
  name: "DVI4 capture agrees sample for sample with sox's IMA ADPCM decoder",
  ignore: !hasSox || !hasCaptures,
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      for (const stream of STREAMS) {
        const packets = rtpPayloads(DVI4_CAPTURE, stream);
        const ours = decodeAll(new Dvi4Decoder(stream.sampleRate), packets);
        Deno.writeFileSync(`${dir}/in.wav`, imaAdpcmWav(packets, stream.sampleRate));
        run("sox", [`${dir}/in.wav`, "-t", "s16", "-L", `${dir}/out.raw`]);
        const sox = int16FromLittleEndian(Deno.readFileSync(`${dir}/out.raw`));
        const perPacket = ours.length / packets.length;
        assert.equal(sox.length, packets.length * (perPacket + 1));
        for (let k = 0; k < packets.length; k++) {
          const theirs = sox.subarray(k * (perPacket + 1) + 1, (k + 1) * (perPacket + 1));
          assert.deepEqual(
            ours.subarray(k * perPacket, (k + 1) * perPacket),
            theirs,
            `packet ${k}`,
          );
        }
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "DVI4 capture: the payloads the tests decode are the ones tshark dissects",
  ignore: !hasTshark || !hasCaptures,
  fn() {
    const text = new TextDecoder().decode(run("tshark", [
      ...["-r", new URL(DVI4_CAPTURE, CAPTURES_DIR).pathname, "-Y", "rtp"],
      ...["-T", "fields", "-e", "rtp.ssrc", "-e", "rtp.p_type", "-e", "rtp.payload"],
    ]));
    for (const stream of STREAMS) {
      const theirs = text.split("\n").map((line) => line.split("\t"))
        .filter(([ssrc, pt]) => Number(ssrc) === stream.ssrc && Number(pt) === stream.payloadType)
        .map(([, , hex]) => hex!.replaceAll(":", ""));
      const ours = rtpPayloads(DVI4_CAPTURE, stream).map(({ payload }) =>
        Array.from(payload, (b) => b.toString(16).padStart(2, "0")).join("")
      );
      assert.equal(ours.length, 425);
      assert.deepEqual(ours, theirs);
    }
  },
});
