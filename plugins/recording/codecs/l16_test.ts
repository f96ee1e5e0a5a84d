import assert from "node:assert/strict";
import { channelOf, compareSignals, rms, spectralFlatness } from "../tone_analysis.ts";
import { L16Decoder } from "./l16.ts";
import { referenceAudio } from "./testing_reference.ts";
import { capturesPresent, decodeAll, rtpPayloads } from "./testing_rtp.ts";

const hasCaptures = capturesPresent();
if (!hasCaptures) console.warn("l16_test: ../shared/captures missing, skipping capture tests");

const L16_CAPTURE = "lundgrel__sip-rtp-l16.pcap";

Deno.test("L16 is big-endian and keeps channels interleaved", () => {
  const mono = new L16Decoder(8000);
  const out = new Int16Array(4);
  assert.equal(mono.decode(new Uint8Array([0x12, 0x34, 0xfe, 0xdc]), out), 2);
  assert.deepEqual([...out.subarray(0, 2)], [0x1234, -292]);
  const stereo = new L16Decoder(44100, 2);
  assert.equal(stereo.channels, 2);
  assert.equal(stereo.decode(new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4]), out), 4);
  assert.deepEqual([...out], [1, 2, 3, 4]);
});

Deno.test("L16 drops torn frames and respects the room in out", () => {
  const stereo = new L16Decoder(16000, 2);
  const out = new Int16Array(8).fill(9);
  // 7 bytes: one whole stereo frame (4 bytes) and a torn one.
  assert.equal(stereo.decode(new Uint8Array([0, 1, 0, 2, 0, 3, 0]), out), 2);
  assert.deepEqual([...out.subarray(0, 3)], [1, 2, 9]);
  // Room for 3 values is room for one stereo frame only.
  assert.equal(stereo.decode(new Uint8Array(16), out, 5), 2);
  assert.equal(out[7], 9);
  assert.equal(stereo.samplesFor(7), 2);
  assert.equal(new L16Decoder(8000).samplesFor(641), 320);
});

Deno.test({
  name: "L16 capture: every stream decodes to its packet count, stereo channels are equal",
  ignore: !hasCaptures,
  fn() {
    const streams = [
      { ssrc: 0x043da974, rate: 8000, channels: 2, packets: 425, perPacket: 160 },
      { ssrc: 0x043ffa0c, rate: 16000, channels: 2, packets: 425, perPacket: 320 },
      { ssrc: 0x043ffa21, rate: 48000, channels: 1, packets: 425, perPacket: 960 },
      { ssrc: 0x043da985, rate: 11025, channels: 1, packets: 366, perPacket: 256 },
    ];
    for (const s of streams) {
      const packets = rtpPayloads(L16_CAPTURE, { ssrc: s.ssrc, payloadType: 99 });
      assert.equal(packets.length, s.packets);
      const samples = decodeAll(new L16Decoder(s.rate, s.channels), packets);
      assert.equal(samples.length, s.packets * s.perPacket * s.channels, `L16/${s.rate}`);
      if (s.channels === 2) {
        assert.deepEqual(channelOf(samples, 0, 2), channelOf(samples, 1, 2), `L16/${s.rate}/2`);
      }
    }
  },
});

Deno.test({
  name: "L16 capture: the 48 kHz stream is the same utterance as the 8 kHz one",
  ignore: !hasCaptures,
  fn() {
    const packets = rtpPayloads(L16_CAPTURE, { ssrc: 0x043ffa21, payloadType: 99 });
    const at48 = decodeAll(new L16Decoder(48000), packets);
    // A wideband recording of the same speech (energy up to 16 kHz), not a
    // resampled copy, so compare loudness envelopes per 20 ms frame.
    const envelope = (x: Int16Array, per: number) =>
      Float64Array.from(
        { length: Math.floor(x.length / per) },
        (_, k) => rms(x, k * per, (k + 1) * per),
      );
    const result = compareSignals(envelope(referenceAudio(8000), 160), envelope(at48, 960), 5);
    assert.equal(result.lag, 0);
    assert.ok(result.correlation > 0.9, `envelope correlation ${result.correlation}`);
    // Speech has a peaky spectrum; the same bytes read little-endian measure 0.91.
    assert.ok(spectralFlatness(at48, 48000) < 0.05);
  },
});
