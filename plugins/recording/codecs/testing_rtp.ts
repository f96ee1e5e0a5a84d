/**
 * Test support for the codec tests: the RTP payloads of one stream of a
 * shared reference capture, read with the small test-only pcap reader of
 * engine/rtp (no tshark needed), and a check for external tools.
 *
 * @module
 */

import { decodeRtpHeader, RtpHeader } from "../../../engine/rtp/rtp_header.ts";
import {
  CAPTURES_DIR,
  capturesPresent,
  readUdpDatagrams,
} from "../../../engine/rtp/testing_captures.ts";

export { CAPTURES_DIR, capturesPresent };

/** One RTP packet's payload and the header fields the tests look at. */
export interface RtpPayload {
  /** Sequence number. */
  sequence: number;
  /** RTP timestamp. */
  timestamp: number;
  /** Payload type. */
  payloadType: number;
  /** The payload (a view into the capture's bytes). */
  payload: Uint8Array;
}

/** Which packets of a capture {@linkcode rtpPayloads} returns. */
export interface RtpSelector {
  /** SSRC of the stream. */
  ssrc: number;
  /** Only this payload type (telephone-event packets share the SSRC). */
  payloadType: number;
  /** Only packets from this UDP source port (both directions may share an SSRC). */
  srcPort?: number;
}

/**
 * Reads the payloads of one RTP stream from a shared capture, in capture order.
 *
 * @param capture File name in the shared captures directory.
 * @param selector The stream and payload type.
 * @returns The packets.
 */
export function rtpPayloads(capture: string, selector: RtpSelector): RtpPayload[] {
  const header = new RtpHeader();
  const out: RtpPayload[] = [];
  for (const datagram of readUdpDatagrams(new URL(capture, CAPTURES_DIR))) {
    const data = datagram.payload;
    if (selector.srcPort !== undefined && datagram.srcPort !== selector.srcPort) continue;
    if (!decodeRtpHeader(data, 0, data.length, header)) continue;
    if (header.ssrc !== selector.ssrc || header.payloadType !== selector.payloadType) continue;
    out.push({
      sequence: header.sequence,
      timestamp: header.timestamp,
      payloadType: header.payloadType,
      payload: data.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
    });
  }
  return out;
}

/** Whether an external program runs (from the tests' support). */
export { toolWorks } from "../../../tests/support/tools.ts";

/**
 * Runs a program and fails loudly when it fails.
 *
 * @param name Program name.
 * @param args Arguments.
 * @returns Its standard output.
 */
export function run(name: string, args: string[]): Uint8Array {
  const result = new Deno.Command(name, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!result.success) {
    throw new Error(`${name} ${args.join(" ")} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  return result.stdout;
}

/**
 * Decodes every payload of a stream back to back with one decoder.
 *
 * @param decoder Anything with `decode` and `samplesFor`.
 * @param packets The payloads.
 * @returns All samples.
 */
export function decodeAll(
  decoder: {
    decode(payload: Uint8Array, out: Int16Array, outOffset?: number): number;
    samplesFor(bytes: number): number;
  },
  packets: readonly { payload: Uint8Array }[],
): Int16Array {
  let total = 0;
  for (const p of packets) total += decoder.samplesFor(p.payload.length);
  const out = new Int16Array(total);
  let at = 0;
  for (const p of packets) at += decoder.decode(p.payload, out, at);
  return out.subarray(0, at);
}

/**
 * Reinterprets little-endian 16-bit PCM bytes (sox `-t s16 -L`, ffmpeg `s16le`).
 *
 * @param bytes Raw PCM bytes.
 * @returns The samples (a copy).
 */
export function int16FromLittleEndian(bytes: Uint8Array): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int16Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true);
  return out;
}
