/**
 * Cuts a clip out of an RTP pcap for sipp's `play_pcap_audio`: packets
 * `first .. first+count-1` (0-based), optionally rebased so that it belongs
 * to one designed RTP stream: a new SSRC (so the two sides of a call do not
 * share one), new first sequence number and timestamp (the others keep their
 * distance to the first), and the marker bit set on the first packet. UDP
 * checksums are recomputed after an edit.
 *
 * `--continue PREV.pcap --start-after-ms N` makes the clip carry on the
 * stream of an earlier clip as a real endpoint would: same SSRC, sequence
 * numbers going on from PREV's last one, and a timestamp N ms (of an 8 kHz
 * clock unless `--clock-rate` says otherwise) after PREV's first one, N being
 * the time the scenario waits between starting the two clips.
 *
 * ```sh
 * deno run -R -W tools/sipp/rtp_clip.ts IN.pcap OUT.pcap --first 0 --count 100 \
 *   [--ssrc 0xA1100101] [--seq N] [--timestamp N] [--marker] \
 *   [--continue PREV.pcap --start-after-ms N [--clock-rate 8000]]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type CapturedPacket,
  fixUdpChecksum,
  loadCapture,
  locateUdp,
  saveCapture,
} from "./udp_frames.ts";

/** What to cut and how to change it. */
export interface ClipOptions {
  /** Index of the first packet to keep (0-based). */
  first: number;
  /** Number of packets to keep. */
  count: number;
  /** New SSRC for every RTP packet of the clip, or `undefined` to keep it. */
  ssrc?: number;
  /** New sequence number of the first RTP packet; the rest keep their distance to it. */
  seq?: number;
  /** New RTP timestamp of the first RTP packet; the rest keep their distance to it. */
  timestamp?: number;
  /** Set the RTP marker bit on the clip's first packet. */
  marker?: boolean;
}

/** The header fields of an RTP packet this tool reads. */
export interface RtpHeaderFields {
  /** Sequence number. */
  seq: number;
  /** RTP timestamp. */
  timestamp: number;
  /** Synchronization source. */
  ssrc: number;
}

/** The clip asked for runs past the end of the input. */
export class ClipRangeError extends RangeError {
  /**
   * @param available Packets in the input.
   * @param options The clip asked for.
   */
  constructor(available: number, options: ClipOptions) {
    super(
      `Cannot cut packets ${options.first}..${options.first + options.count - 1}: ` +
        `the input has ${available}`,
    );
    this.name = "ClipRangeError";
  }
}

/**
 * Reads the RTP header of a packet, if it holds one.
 *
 * @param data A captured frame.
 * @param linkType Its LINKTYPE_*.
 * @returns Sequence number, timestamp and SSRC, or `null` when the frame is not RTP over UDP.
 */
export function readRtpHeader(data: Uint8Array, linkType: number): RtpHeaderFields | null {
  const at = locateUdp(data, linkType);
  if (at === null || at.payloadLength < 12 || data[at.payloadOffset]! >> 6 !== 2) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    seq: v.getUint16(at.payloadOffset + 2),
    timestamp: v.getUint32(at.payloadOffset + 4),
    ssrc: v.getUint32(at.payloadOffset + 8),
  };
}

/**
 * Cuts and edits a clip of RTP packets.
 *
 * @param packets All packets of the input (not changed).
 * @param linkType Their LINKTYPE_*.
 * @param options Range, SSRC, rebasing and marker.
 * @returns Copies of the selected packets, edited.
 */
export function cutClip(
  packets: readonly CapturedPacket[],
  linkType: number,
  options: ClipOptions,
): CapturedPacket[] {
  const { first, count } = options;
  if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1) {
    throw new ClipRangeError(packets.length, options);
  }
  if (first + count > packets.length) throw new ClipRangeError(packets.length, options);
  const edits = options.ssrc !== undefined || options.seq !== undefined ||
    options.timestamp !== undefined || options.marker === true;
  let seqShift = 0;
  let timestampShift = 0;
  let rtpSeen = false;
  return packets.slice(first, first + count).map((p, i) => {
    const data = p.data.slice();
    const at = locateUdp(data, linkType);
    const isRtp = at !== null && at.payloadLength >= 12 && data[at.payloadOffset]! >> 6 === 2;
    if (!edits || at === null || !isRtp) return { ts: p.ts, data, origLen: p.origLen };
    const rtp = at.payloadOffset;
    const v = new DataView(data.buffer);
    if (!rtpSeen) {
      rtpSeen = true;
      if (options.seq !== undefined) seqShift = options.seq - v.getUint16(rtp + 2);
      if (options.timestamp !== undefined) {
        timestampShift = options.timestamp - v.getUint32(rtp + 4);
      }
    }
    v.setUint16(rtp + 2, (v.getUint16(rtp + 2) + seqShift) & 0xffff);
    v.setUint32(rtp + 4, (v.getUint32(rtp + 4) + timestampShift) >>> 0);
    if (options.ssrc !== undefined) v.setUint32(rtp + 8, options.ssrc >>> 0);
    if (options.marker && i === 0) data[rtp + 1]! |= 0x80;
    fixUdpChecksum(data, at);
    return { ts: p.ts, data, origLen: p.origLen };
  });
}

function parseNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`Invalid --${name}: ${text}`);
  return n;
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      first: { type: "string", default: "0" },
      count: { type: "string" },
      ssrc: { type: "string" },
      seq: { type: "string" },
      timestamp: { type: "string" },
      marker: { type: "boolean", default: false },
      continue: { type: "string" },
      "start-after-ms": { type: "string" },
      "clock-rate": { type: "string", default: "8000" },
    },
  });
  const [input, output] = positionals;
  if (input === undefined || output === undefined) {
    console.error(
      "usage: rtp_clip.ts IN.pcap OUT.pcap [--first N] [--count M] [--ssrc 0xHEX] [--seq N]\n" +
        "       [--timestamp N] [--marker] [--continue PREV.pcap --start-after-ms N]",
    );
    Deno.exit(2);
  }
  const capture = await loadCapture(input);
  const first = parseNumber("first", values.first) ?? 0;
  const options: ClipOptions = {
    first,
    count: parseNumber("count", values.count) ?? capture.packets.length - first,
    ssrc: parseNumber("ssrc", values.ssrc),
    seq: parseNumber("seq", values.seq),
    timestamp: parseNumber("timestamp", values.timestamp),
    marker: values.marker,
  };
  if (values.continue !== undefined) {
    const previous = await loadCapture(values.continue);
    const headers = previous.packets
      .map((p) => readRtpHeader(p.data, previous.linkType))
      .filter((h) => h !== null);
    const head = headers[0];
    const tail = headers[headers.length - 1];
    if (head === undefined || tail === undefined) {
      throw new TypeError(`Cannot continue ${values.continue}: it holds no RTP`);
    }
    const afterMs = parseNumber("start-after-ms", values["start-after-ms"]) ?? 0;
    const rate = parseNumber("clock-rate", values["clock-rate"]) ?? 8000;
    options.ssrc ??= head.ssrc;
    options.seq ??= (tail.seq + 1) & 0xffff;
    options.timestamp ??= (head.timestamp + Math.round((afterMs * rate) / 1000)) >>> 0;
  }
  await saveCapture(output, capture.linkType, cutClip(capture.packets, capture.linkType, options));
}

if (import.meta.main) await main(Deno.args);
