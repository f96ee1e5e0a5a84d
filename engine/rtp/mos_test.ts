import assert from "node:assert/strict";
import { CODEC_IMPAIRMENTS, delayImpairment, estimateMos, R_DEFAULT, rFactorToMos } from "./mos.ts";

function near(actual: number, expected: number, tolerance: number, why: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${why}: ${actual} vs ${expected}`);
}

Deno.test("rFactorToMos hits the known points of the G.107 curve", () => {
  near(rFactorToMos(93.2), 4.41, 0.005, "R 93.2 (all defaults)");
  near(rFactorToMos(90), 4.34, 0.005, "R 90 (users very satisfied)");
  near(rFactorToMos(80), 4.02, 0.005, "R 80 (satisfied)");
  near(rFactorToMos(70), 3.6, 0.005, "R 70 (some users dissatisfied)");
  near(rFactorToMos(60), 3.1, 0.005, "R 60 (many dissatisfied)");
  near(rFactorToMos(50), 2.58, 0.005, "R 50 (nearly all dissatisfied)");
  assert.equal(rFactorToMos(0), 1);
  assert.equal(rFactorToMos(-5), 1);
  assert.equal(rFactorToMos(Number.NaN), 1);
  assert.equal(rFactorToMos(100), 4.5);
  // Monotonic over the useful range.
  for (let r = 7; r < 100; r++) assert.ok(rFactorToMos(r) < rFactorToMos(r + 1), `at R ${r}`);
});

Deno.test("estimateMos: G.711 without loss, jitter or delay is the E-model ceiling", () => {
  const e = estimateMos({ codec: "PCMU", lossPercent: 0, jitterMs: 0 });
  assert.equal(e.rFactor, R_DEFAULT);
  near(e.mos, 4.41, 0.005, "MOS");
});

Deno.test("estimateMos: Ie and Bpl from G.113 (G.729: Ie 11, Bpl 19)", () => {
  assert.equal(estimateMos({ codec: "g729", lossPercent: 0, jitterMs: 0 }).rFactor, 82.2);
  // Ie,eff = 11 + 84 × 2 / (2 + 19) = 19.
  assert.equal(estimateMos({ codec: "G729", lossPercent: 2, jitterMs: 0 }).rFactor, 74.2);
  // G.711 with PLC, 1 % loss: Ie,eff = 95 × 1 / 26.1.
  near(
    estimateMos({ codec: "PCMA", lossPercent: 1, jitterMs: 0 }).rFactor,
    93.2 - 95 / 26.1,
    0.005,
    "G.711 1 %",
  );
  // Bursty loss hurts more than random loss.
  const random = estimateMos({ codec: "PCMA", lossPercent: 5, jitterMs: 0 });
  const bursty = estimateMos({ codec: "PCMA", lossPercent: 5, jitterMs: 0, burstRatio: 2 });
  assert.ok(bursty.rFactor < random.rFactor);
  assert.deepEqual(CODEC_IMPAIRMENTS.get("g723"), { ie: 15, bpl: 16.1 });
});

Deno.test("estimateMos: delay from jitter and the 177.3 ms knee", () => {
  near(delayImpairment(100), 2.4, 1e-12, "Id below the knee");
  near(delayImpairment(277.3), 0.024 * 277.3 + 11, 1e-12, "Id above the knee");
  // Jitter 25 ms → 50 ms jitter buffer → Id 1.2.
  assert.equal(estimateMos({ codec: "PCMU", lossPercent: 0, jitterMs: 25 }).rFactor, 92);
  // Plus a known 150 ms one-way delay: d = 200 ms, Id = 4.8 + 0.11 × 22.7.
  near(
    estimateMos({ codec: "PCMU", lossPercent: 0, jitterMs: 25, delayMs: 150 }).rFactor,
    93.2 - 4.8 - 0.11 * 22.7,
    0.005,
    "with delay",
  );
});

Deno.test("estimateMos: hostile inputs stay in range", () => {
  for (
    const input of [
      { codec: "nonsense", lossPercent: -3, jitterMs: -1 },
      { codec: "__proto__", lossPercent: Number.NaN, jitterMs: Number.POSITIVE_INFINITY },
      { codec: "PCMU", lossPercent: 250, jitterMs: 5000, delayMs: 9999 },
    ]
  ) {
    const e = estimateMos(input);
    assert.ok(e.rFactor >= 0 && e.rFactor <= R_DEFAULT, JSON.stringify(e));
    assert.ok(e.mos >= 1 && e.mos <= 4.5, JSON.stringify(e));
  }
  assert.equal(
    estimateMos({ codec: "PCMU", lossPercent: 0, jitterMs: Number.POSITIVE_INFINITY }).mos,
    1,
  );
  // Negative loss (tshark's negative "lost" with duplicates) counts as none.
  assert.equal(estimateMos({ codec: "nonsense", lossPercent: -3, jitterMs: 0 }).rFactor, 93.2);
});
