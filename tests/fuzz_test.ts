/**
 * Truncated and fuzzed versions of real captures go through the whole
 * pipeline: nothing throws, every anomaly raised is counted, and the good
 * packets before (and after) the damage are still read.
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import { openBytes } from "../engine/capture/open.ts";
import type { AnalysisSummary } from "../engine/summary.ts";
import { SHARED_CAPTURES, sharedCaptures } from "./support/shared_captures.ts";

interface Run {
  summary: AnalysisSummary;
  anomalyEvents: number;
  frames: { offset: number; length: number }[];
}

async function analyzeBytes(bytes: Uint8Array): Promise<Run> {
  // Where each record starts, from a plain read of the same bytes.
  const frames: { offset: number; length: number }[] = [];
  await (await openBytes(bytes)).source.run({
    onFrame: (f) => frames.push({ offset: f.offset, length: f.length }),
  });
  const analyzer = new Analyzer();
  let anomalyEvents = 0;
  analyzer.bus.on("anomaly", () => anomalyEvents++);
  await analyzer.analyzeSource((await openBytes(bytes)).source);
  const summary = analyzer.finish();
  assert.equal(summary.packets.total, frames.length);
  return { summary, anomalyEvents, frames };
}

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 0x100000000;
  };
}

const captures = await sharedCaptures();

Deno.test({
  name: "fuzz: truncated captures keep every complete record before the cut",
  ignore: captures.length === 0,
  async fn() {
    const next = random(1);
    for (const name of captures) {
      const bytes = await Deno.readFile(`${SHARED_CAPTURES}/${name}`);
      const clean = await analyzeBytes(bytes);
      for (let i = 0; i < 4; i++) {
        const cut = 24 + Math.floor(next() * (bytes.length - 24));
        const run = await analyzeBytes(bytes.subarray(0, cut));
        const complete = clean.frames.filter((_f, j) =>
          (clean.frames[j + 1]?.offset ?? bytes.length) <= cut
        );
        const started = clean.frames.filter((f) => f.offset < cut);
        assert.ok(
          run.frames.length >= complete.length && run.frames.length <= started.length,
          `${name} cut at ${cut}: read ${run.frames.length}, expected ${complete.length}..${started.length}`,
        );
        if (name.endsWith(".pcap")) {
          const exact = clean.frames.filter((f) => f.offset + 16 + f.length <= cut).length;
          assert.equal(run.frames.length, exact, `${name} cut at ${cut}`);
          const onBoundary = cut === 24 ||
            clean.frames.some((f) => f.offset + 16 + f.length === cut);
          if (!onBoundary) {
            assert.ok(
              run.summary.anomalies.byReason["pcap.truncated"],
              `${name} cut at ${cut}: not reported`,
            );
          }
        }
        assert.equal(run.summary.anomalies.total, run.anomalyEvents);
      }
    }
  },
});

Deno.test({
  name: "fuzz: random bytes inside packets never lose a frame, and every anomaly is counted",
  ignore: captures.length === 0,
  async fn() {
    const next = random(2);
    for (const name of captures) {
      const bytes = await Deno.readFile(`${SHARED_CAPTURES}/${name}`);
      const clean = await analyzeBytes(bytes);
      for (let round = 0; round < 3; round++) {
        const fuzzed = bytes.slice();
        for (const f of clean.frames) {
          // Damage about one packet in three, in 1 to 8 places, never the record headers.
          if (next() > 0.33 || f.length === 0) continue;
          const dataStart = name.endsWith(".pcap") ? f.offset + 16 : f.offset + 28;
          const places = 1 + Math.floor(next() * 8);
          for (let k = 0; k < places; k++) {
            fuzzed[dataStart + Math.floor(next() * f.length)] = Math.floor(next() * 256);
          }
        }
        const run = await analyzeBytes(fuzzed);
        assert.equal(run.frames.length, clean.frames.length, `${name} round ${round}`);
        assert.equal(run.summary.anomalies.total, run.anomalyEvents, `${name} round ${round}`);
      }
    }
  },
});

Deno.test({
  name: "fuzz: damaged record headers are stepped over and later records still read",
  ignore: captures.length === 0,
  async fn() {
    for (const name of captures.filter((n) => n.endsWith(".pcap"))) {
      const bytes = await Deno.readFile(`${SHARED_CAPTURES}/${name}`);
      const clean = await analyzeBytes(bytes);
      if (clean.frames.length < 10) continue;
      const fuzzed = bytes.slice();
      const victim = clean.frames[Math.floor(clean.frames.length / 2)]!;
      // An absurd captured length in the middle record's header.
      new DataView(fuzzed.buffer).setUint32(victim.offset + 8, 0xfffffff0, bytes[0] === 0xd4);
      const run = await analyzeBytes(fuzzed);
      const after = clean.frames.filter((f) => f.offset > victim.offset).length;
      const before = clean.frames.filter((f) => f.offset < victim.offset).length;
      assert.ok(
        run.frames.length >= before + after - 1,
        `${name}: read ${run.frames.length} of ${clean.frames.length}`,
      );
      assert.ok(run.summary.anomalies.byReason["pcap.record.bad-length"]! >= 1);
    }
  },
});
