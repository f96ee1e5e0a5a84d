/**
 * Shared by the G.722 tests and the script that makes their reference
 * data with ffmpeg (plugins/recording/testdata/make_g722_reference.ts).
 *
 * @module
 */

/** The real G.722 stream: one direction of a call in the shared captures. */
export const G722_STREAM = {
  capture: "sipnab__codec-negotiation.pcap",
  ssrc: 0x2d374e76,
  payloadType: 9,
  srcPort: 5084,
} as const;

/** Where the reference data lives. */
export const G722_REFERENCE_FILE: URL = new URL(
  "../testdata/g722_reference.json",
  import.meta.url,
);

/** The reference data (see the script that writes it). */
export interface G722Reference {
  /** What made it, e.g. `ffmpeg version 5.1.9-0+deb12u1`. */
  tool: string;
  /** The capture stream: packets, and the SHA-256 of ffmpeg's s16le decoding of it. */
  capture: { packets: number; samples: number; decodedSha256: string };
  /** The synthetic signal: SHA-256 of ffmpeg's G.722 encoding and of ffmpeg's decoding of that. */
  synthetic: { samples: number; encodedSha256: string; decodedSha256: string };
}

/**
 * A deterministic, integer-only 16 kHz test signal that exercises both
 * sub-bands: a 1480 Hz sawtooth (harmonics up to 8 kHz) under a slow
 * triangular envelope, plus pseudo-random broadband noise and a few
 * full-scale bursts. No floating point, so it is the same bit for bit on
 * every machine.
 *
 * @param samples Length.
 * @returns The signal.
 */
export function syntheticSignal(samples: number): Int16Array {
  const out = new Int16Array(samples);
  let seed = 12345;
  for (let n = 0; n < samples; n++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const noise = ((seed >>> 16) & 0xfff) - 0x800; // ±2048
    const saw = ((n * 37) % 400) - 200; // period 400/37 samples
    const phase = n % 16000;
    const envelope = phase < 8000 ? phase : 16000 - phase; // 0…8000…0 each second
    let x = Math.trunc((saw * envelope) / 64) + noise;
    if (n % 4000 < 40) x = (n & 8) !== 0 ? 32767 : -32768; // bursts at full scale
    out[n] = x > 32767 ? 32767 : x < -32768 ? -32768 : x;
  }
  return out;
}

/** Length of the synthetic signal used for the reference (2 s at 16 kHz). */
export const SYNTHETIC_SAMPLES = 32000;

/**
 * SHA-256 of bytes as lower-case hex.
 *
 * @param bytes Anything.
 * @returns The digest.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * 16-bit samples as little-endian bytes (what ffmpeg's `s16le` writes).
 *
 * @param samples PCM.
 * @returns The bytes.
 */
export function littleEndianBytes(samples: Int16Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(2 * i, samples[i]!, true);
  return bytes;
}
