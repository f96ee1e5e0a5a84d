import assert from "node:assert/strict";
import {
  alawToLinear,
  buildRtpPacket,
  buildTelephoneEventPayload,
  encodeG711,
  type G711Law,
  linearToAlaw,
  linearToUlaw,
  RtpSender,
  ToneGenerator,
  ulawToLinear,
} from "./rtp_builder.ts";

const hasSox = (() => {
  try {
    return new Deno.Command("sox", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!hasSox) console.warn("rtp_builder_test: sox not found, skipping the comparison with sox");

const DECODE: Record<G711Law, (c: number) => number> = { ulaw: ulawToLinear, alaw: alawToLinear };
const ENCODE: Record<G711Law, (s: number) => number> = { ulaw: linearToUlaw, alaw: linearToAlaw };

Deno.test("G.711 decode then encode gives back every code", () => {
  for (const law of ["ulaw", "alaw"] as const) {
    for (let c = 0; c < 256; c++) {
      // µ-law has two zeros (0x7f is -0, 0xff is +0); 0 encodes as +0.
      const expected = law === "ulaw" && c === 0x7f ? 0xff : c;
      assert.equal(ENCODE[law](DECODE[law](c)), expected, `${law} code ${c}`);
    }
  }
});

Deno.test("G.711 quantization error stays within the segment step", () => {
  for (const law of ["ulaw", "alaw"] as const) {
    let previous = -Infinity;
    for (let x = -32768; x <= 32767; x++) {
      const y = DECODE[law](ENCODE[law](x));
      assert.ok(y >= previous, `${law}: decoding is not monotonic at ${x}`);
      previous = y;
      const bound = Math.abs(x) / 16 + 16;
      assert.ok(Math.abs(y - x) <= bound, `${law}: ${x} came back as ${y}`);
    }
  }
});

Deno.test({
  name: "G.711 encoders agree with sox on all 65536 sample values",
  ignore: !hasSox,
  async fn() {
    const samples = new Int16Array(65536);
    for (let i = 0; i < samples.length; i++) samples[i] = i - 32768;
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/in.raw`, new Uint8Array(samples.buffer));
      for (const [law, encoding] of [["ulaw", "u-law"], ["alaw", "a-law"]] as const) {
        const out = new Deno.Command("sox", {
          args: [
            "-D",
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            "-L",
            `${dir}/in.raw`,
            "-t",
            "raw",
            "-e",
            encoding,
            "-b",
            "8",
            `${dir}/${law}.raw`,
          ],
          stderr: "piped",
        }).outputSync();
        assert.equal(out.success, true, new TextDecoder().decode(out.stderr));
        const theirs = await Deno.readFile(`${dir}/${law}.raw`);
        // sox rounds 16-bit samples to the law's 14 (µ) or 13 (A) bits and takes a negative
        // µ-law value's magnitude by negation; G.191, as we do, truncates and complements.
        // Given input prepared the sox way, our encoder must agree on every value.
        const step = law === "ulaw" ? 4 : 8;
        const rounded = samples.map((x) => {
          const v = Math.floor(x / step + 0.5);
          const x2 = law === "ulaw" && v < 0 ? v * step - 1 : v * step;
          return Math.max(-32768, Math.min(32767, x2));
        });
        const ours = encodeG711(rounded, law);
        let differ = 0;
        for (let i = 0; i < ours.length; i++) if (ours[i] !== theirs[i]) differ++;
        assert.equal(differ, 0, `${law}: ${differ} of 65536 values differ from sox`);
        // Unprepared, only values next to a decision boundary may differ (under 2 %).
        const raw = encodeG711(samples, law);
        let boundary = 0;
        for (let i = 0; i < raw.length; i++) if (raw[i] !== theirs[i]) boundary++;
        assert.ok(boundary < 65536 / 50, `${law}: ${boundary} values differ`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Power of one frequency in a block (Goertzel). */
function goertzel(samples: ArrayLike<number>, frequency: number, rate = 8000): number {
  const k = 2 * Math.cos((2 * Math.PI * frequency) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]! + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

Deno.test("RtpSender packets carry an audible tone of the requested frequency", () => {
  for (const [payloadType, law] of [[0, "ulaw"], [8, "alaw"]] as const) {
    const sender = new RtpSender({ ssrc: 7, payloadType, frequency: 697, amplitude: 12000 });
    const decoded: number[] = [];
    for (const { packet } of sender.span(0, 1)) {
      assert.equal(packet[1]! & 0x7f, payloadType);
      for (const code of packet.subarray(12)) decoded.push(DECODE[law](code));
    }
    assert.equal(decoded.length, 8000);
    const at = goertzel(decoded, 697);
    for (const other of [350, 1209, 1633]) {
      assert.ok(at > 1000 * goertzel(decoded, other), `${law}: 697 Hz does not dominate ${other}`);
    }
    const peak = decoded.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(peak > 11000 && peak < 13000, `${law}: peak ${peak}`);
  }
});

Deno.test("RtpSender numbers packets and follows time across a gap", () => {
  const sender = new RtpSender({ ssrc: 0xdeadbeef, sequence: 65534, timestamp: 2 ** 32 - 160 });
  const first = [...sender.span(1000, 1000.06)];
  assert.equal(first.length, 3);
  const fields = (p: Uint8Array) => {
    const v = new DataView(p.buffer);
    return { m: p[1]! >> 7, seq: v.getUint16(2), ts: v.getUint32(4), ssrc: v.getUint32(8) };
  };
  assert.deepEqual(first.map((p) => fields(p.packet)), [
    { m: 1, seq: 65534, ts: 2 ** 32 - 160, ssrc: 0xdeadbeef },
    { m: 0, seq: 65535, ts: 0, ssrc: 0xdeadbeef },
    { m: 0, seq: 0, ts: 160, ssrc: 0xdeadbeef },
  ]);
  assert.deepEqual(first.map((p) => Math.round((p.time - 1000) * 1000)), [0, 20, 40]);
  // After 10 s of hold the timestamp jumps by 80000 samples; sequence numbers do not.
  const second = [...sender.span(1010, 1010.04)];
  assert.deepEqual(second.map((p) => fields(p.packet)), [
    { m: 1, seq: 1, ts: 80000 - 160, ssrc: 0xdeadbeef },
    { m: 0, seq: 2, ts: 80000, ssrc: 0xdeadbeef },
  ]);
  assert.equal(sender.packetsProduced, 5);
});

Deno.test("RtpSender jitter and loss change capture times and gaps only", () => {
  const sender = new RtpSender({ ssrc: 1, frequency: 1000 });
  const packets = [
    ...sender.span(50, 50.2, { jitter: (i) => (i % 2) * 0.001, drop: (i) => i === 3 }),
  ];
  assert.equal(packets.length, 9);
  const seqs = packets.map((p) => new DataView(p.packet.buffer).getUint16(2));
  assert.deepEqual(seqs, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
  assert.equal(Math.round((packets[1]!.time - 50) * 1e6), 21000);
  assert.equal(Math.round((packets[2]!.time - 50) * 1e6), 40000);
});

Deno.test("ToneGenerator keeps phase across blocks", () => {
  const whole = new ToneGenerator(440).fill(new Int16Array(320));
  const tone = new ToneGenerator(440);
  const parts = [...tone.fill(new Int16Array(160)), ...tone.fill(new Int16Array(160))];
  assert.deepEqual(parts, [...whole]);
});

Deno.test("RTP header and telephone-event payload bytes", () => {
  const p = buildRtpPacket(
    { payloadType: 101, sequence: 0x1234, timestamp: 0x01020304, ssrc: 0x0a0b0c0d, marker: true },
    buildTelephoneEventPayload({ event: 5, end: false, volume: 7, duration: 160 }),
  );
  assert.deepEqual([...p], [
    0x80,
    0xe5,
    0x12,
    0x34,
    1,
    2,
    3,
    4,
    0x0a,
    0x0b,
    0x0c,
    0x0d,
    5,
    7,
    0,
    160,
  ]);
});
