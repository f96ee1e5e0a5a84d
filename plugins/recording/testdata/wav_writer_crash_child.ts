/**
 * Child process of wav_writer_test.ts: writes a tone with WavWriter, never
 * calls close(), prints "ready" and waits to be killed with SIGKILL, so
 * the test can check that the file left behind is a valid WAV.
 *
 * Usage: `deno run --allow-write wav_writer_crash_child.ts PATH RATE SECONDS FLUSH_SECONDS`
 *
 * @module
 */

import { WavWriter } from "../wav_writer.ts";

const [path, rate, seconds, flushSeconds] = Deno.args;
const sampleRate = Number(rate);
const writer = WavWriter.create(path!, { sampleRate, flushSeconds: Number(flushSeconds) });
const chunk = new Int16Array(sampleRate / 50); // 20 ms, like one RTP packet
let n = 0;
for (let packet = 0; packet < Number(seconds) * 50; packet++) {
  for (let i = 0; i < chunk.length; i++, n++) {
    chunk[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * n / sampleRate));
  }
  writer.write(chunk);
}
console.log("ready");
// A pending timer keeps the process alive until the kill (a promise that never settles does not:
// Deno ends a program whose top-level await can no longer resolve, and the test would race it).
// Not killed within a minute, it leaves with an error of its own.
setTimeout(() => Deno.exit(1), 60_000);
