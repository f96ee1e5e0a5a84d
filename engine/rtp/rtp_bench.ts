/**
 * Per-packet cost of the RTP fast path. Run with
 * `deno bench -A engine/rtp/rtp_bench.ts`; each bench processes one run of
 * {@linkcode PACKETS} packets, so divide the time per iteration by it.
 *
 * @module
 */

import { RtpFlowHeuristic } from "./heuristic.ts";
import { decodeRtpHeader, RtpHeader } from "./rtp_header.ts";
import { RtpStreamStats } from "./stream_stats.ts";

/** Packets per bench iteration: one full cycle of sequence numbers. */
export const PACKETS = 65536;
const SIZE = 172; // 12-byte header + 160 bytes of G.711

// One buffer holding a G.711 stream: 2 % loss, a few swaps, ±2 ms arrival jitter.
const buffer = new Uint8Array(PACKETS * SIZE);
const arrivals = new Float64Array(PACKETS);
{
  const view = new DataView(buffer.buffer);
  let seed = 1;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  let seq = 0;
  for (let i = 0; i < PACKETS; i++) {
    if (random() < 0.02) seq++;
    const at = i * SIZE;
    buffer[at] = 0x80;
    buffer[at + 1] = 8;
    view.setUint16(at + 2, seq & 0xffff);
    view.setUint32(at + 4, (seq * 160) >>> 0);
    view.setUint32(at + 8, 0x5eed5eed);
    arrivals[i] = 1_700_000_000 + seq * 0.02 + (random() - 0.5) * 0.004;
    seq++;
  }
}

const header = new RtpHeader();
let sink = 0;

Deno.bench({
  name: `decodeRtpHeader + RtpStreamStats.update (${PACKETS} packets)`,
  group: "fast path",
  baseline: true,
  fn() {
    const stats = new RtpStreamStats(() => 8000);
    for (let i = 0; i < PACKETS; i++) {
      if (decodeRtpHeader(buffer, i * SIZE, SIZE, header)) stats.update(arrivals[i]!, header, 214);
    }
    sink += stats.packets;
  },
});

Deno.bench({
  name: `decodeRtpHeader only (${PACKETS} packets)`,
  group: "fast path",
  fn() {
    let ok = 0;
    for (let i = 0; i < PACKETS; i++) if (decodeRtpHeader(buffer, i * SIZE, SIZE, header)) ok++;
    sink += ok;
  },
});

Deno.bench({
  name: `RtpFlowHeuristic.push, decided flow (${PACKETS} packets)`,
  group: "fast path",
  fn() {
    const flow = new RtpFlowHeuristic();
    for (let i = 0; i < PACKETS; i++) flow.push(buffer, i * SIZE, SIZE);
    sink += flow.chainLength;
  },
});

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
