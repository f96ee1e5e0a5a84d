import assert from "node:assert/strict";
import { DECODABLE_ENCODINGS, decoderFor } from "./decoder_for.ts";
import { Dvi4Decoder } from "./dvi4.ts";
import { G722Decoder } from "./g722.ts";
import { PcmaDecoder, PcmuDecoder } from "./g711.ts";
import { L16Decoder } from "./l16.ts";

Deno.test("decoderFor: each decodable encoding, by name in any case", () => {
  assert.ok(decoderFor("PCMU", 8000) instanceof PcmuDecoder);
  assert.ok(decoderFor("pcma", 8000) instanceof PcmaDecoder);
  assert.ok(decoderFor("G722", 8000) instanceof G722Decoder);
  assert.ok(decoderFor("dvi4", 16000) instanceof Dvi4Decoder);
  assert.ok(decoderFor("L16", 44100, 2) instanceof L16Decoder);
  assert.deepEqual([...DECODABLE_ENCODINGS].sort(), ["DVI4", "G722", "L16", "PCMA", "PCMU"]);
});

Deno.test("decoderFor: rates and channels of the decoded audio", () => {
  assert.equal(decoderFor("G722", 8000)?.sampleRate, 16000); // RTP clock 8000, audio 16 kHz
  assert.equal(decoderFor("G722", 16000)?.sampleRate, 16000); // peers that announce 16000
  assert.equal(decoderFor("DVI4", 16000)?.sampleRate, 16000);
  assert.equal(decoderFor("DVI4", 11025)?.sampleRate, 11025);
  assert.equal(decoderFor("L16", 48000)?.channels, 1);
  assert.equal(decoderFor("L16", 16000, 2)?.channels, 2);
  assert.equal(decoderFor("PCMU", 8000, 2)?.channels, 2);
});

Deno.test("decoderFor: null for what cannot be decoded here", () => {
  for (
    const name of ["G729", "GSM", "opus", "AMR", "AMR-WB", "iLBC", "telephone-event", "CN", ""]
  ) {
    assert.equal(decoderFor(name, 8000), null, name);
  }
  // Names from the wire cannot reach Object.prototype.
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    assert.equal(decoderFor(name, 8000), null, name);
  }
  assert.equal(decoderFor("DVI4", 8000, 2), null); // multi-channel DVI4 is not specified
  assert.equal(decoderFor("G722", 8000, 2), null);
  assert.equal(decoderFor("G722", 44100), null);
  for (const rate of [0, -8000, 8000.5, NaN, Infinity, 999, 10_000_000]) {
    assert.equal(decoderFor("PCMU", rate), null, `rate ${rate}`);
  }
  for (const channels of [0, -1, 1.5, NaN, 9]) {
    assert.equal(decoderFor("L16", 8000, channels), null, `channels ${channels}`);
  }
});

Deno.test("decoderFor: every decoder is fresh and decodes into a caller's buffer", () => {
  const a = decoderFor("G722", 8000)!;
  const b = decoderFor("G722", 8000)!;
  assert.notEqual(a, b);
  for (const name of DECODABLE_ENCODINGS) {
    const decoder = decoderFor(name, 8000)!;
    const payload = new Uint8Array(164).fill(0x55);
    const out = new Int16Array(decoder.samplesFor(payload.length));
    assert.equal(decoder.decode(payload, out), out.length, name);
    decoder.reset();
  }
});

Deno.test("every decoder: decode writes exactly samplesFor(length) for any payload, never throws", () => {
  let seed = 3;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const configs: [string, number, number][] = [
    ["PCMU", 8000, 1],
    ["PCMA", 8000, 2],
    ["G722", 8000, 1],
    ["DVI4", 8000, 1],
    ["DVI4", 16000, 1],
    ["L16", 8000, 1],
    ["L16", 44100, 2],
    ["L16", 48000, 6],
  ];
  for (const [name, rate, channels] of configs) {
    const decoder = decoderFor(name, rate, channels)!;
    for (let length = 0; length < 400; length += 1 + (length >> 4)) {
      const payload = Uint8Array.from({ length }, random);
      const expected = decoder.samplesFor(length);
      const out = new Int16Array(expected + 3).fill(12345);
      assert.equal(decoder.decode(payload, out, 1), expected, `${name}/${channels} ${length} B`);
      assert.equal(out[0], 12345);
      assert.equal(out[expected + 1], 12345, `${name} wrote past its count`);
    }
  }
});
