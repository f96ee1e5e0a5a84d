/**
 * Decode speed of each codec: one iteration decodes one second of audio in
 * 20 ms RTP packets into a reused buffer, the way the recorder does. Samples
 * per second = samples per iteration (the group name says how many) ×
 * iterations per second (`deno bench` prints iter/s).
 *
 * Run: `deno bench plugins/recording/codecs/codecs_bench.ts`
 *
 * @module
 */

import type { AudioDecoder } from "./audio_decoder.ts";
import { Dvi4Decoder } from "./dvi4.ts";
import { G722Decoder } from "./g722.ts";
import { G722Encoder } from "./g722_encoder.ts";
import { PcmaDecoder, PcmuDecoder } from "./g711.ts";
import { L16Decoder } from "./l16.ts";

const PACKETS_PER_SECOND = 50;

/** Pseudo-random payload bytes (a worst case for nothing; codecs do not branch on data much). */
function randomBytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  });
}

/** One second of packets; DVI4 packets get a valid state header each. */
function packets(bytes: number, dvi4 = false): Uint8Array[] {
  return Array.from({ length: PACKETS_PER_SECOND }, (_, k) => {
    const p = randomBytes(bytes, k + 1);
    if (dvi4) p.set([0, 0, 20, 0]);
    return p;
  });
}

/** Real G.722 (encoded speech-like chirp) rather than random octets. */
function g722Packets(): Uint8Array[] {
  const pcm = Int16Array.from(
    { length: 16000 },
    (_, n) =>
      Math.round(
        8000 * Math.sin(2 * Math.PI * (200 * n / 16000 + 0.05 * (n / 16000) ** 2 * 16000)),
      ),
  );
  const octets = new Uint8Array(8000);
  new G722Encoder().encode(pcm, octets);
  return Array.from(
    { length: PACKETS_PER_SECOND },
    (_, k) => octets.subarray(160 * k, 160 * k + 160),
  );
}

function bench(name: string, decoder: AudioDecoder, payloads: Uint8Array[]): void {
  const out = new Int16Array(decoder.samplesFor(payloads[0]!.length));
  const perSecond = decoder.samplesFor(payloads[0]!.length) * payloads.length;
  Deno.bench(`${name} (${perSecond} samples per iteration)`, { group: "decode 1 s" }, () => {
    for (const payload of payloads) decoder.decode(payload, out);
  });
}

bench("PCMU 8 kHz", new PcmuDecoder(), packets(160));
bench("PCMA 8 kHz", new PcmaDecoder(), packets(160));
bench("DVI4 8 kHz", new Dvi4Decoder(8000), packets(84, true));
bench("DVI4 16 kHz", new Dvi4Decoder(16000), packets(164, true));
bench("G722 16 kHz", new G722Decoder(), g722Packets());
bench("L16 8 kHz mono", new L16Decoder(8000), packets(320));
bench("L16 48 kHz stereo", new L16Decoder(48000, 2), packets(3840));
