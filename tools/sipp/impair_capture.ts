/**
 * Makes an IMPAIRED copy of a capture: in every RTP stream long enough to
 * take it, fixed packets (by their index in the stream) are dropped,
 * duplicated or swapped with the next one, always the same ones, so the
 * expected loss, duplicate and reorder counts are known in advance.
 * Everything else (SIP, short streams such as a lone DTMF burst) is copied
 * unchanged.
 *
 * A stream is the packets with one UDP 5-tuple and one SSRC, in file order.
 * Dropped packets vanish; a duplicate follows its original 0.5 ms later; a
 * swapped pair keeps its two time slots but trades contents, as when the
 * later packet overtakes the earlier one on the way.
 *
 * ```sh
 * deno run -R -W tools/sipp/impair_capture.ts IN.pcap OUT.pcap [--report OUT.impair.json]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type CapturedPacket, loadCapture, locateUdp, saveCapture } from "./udp_frames.ts";

/** Which packets of a stream to damage, by 0-based index within the stream. */
export interface ImpairPlan {
  /** Streams with fewer packets than this are left alone. */
  minPackets: number;
  /** Indices of packets to drop. */
  drop: readonly number[];
  /** Indices of packets to send twice. */
  duplicate: readonly number[];
  /** Indices `i` whose packet trades places with packet `i + 1`. */
  swapWithNext: readonly number[];
}

/**
 * The plan the fixtures use: a burst of three losses and a single loss, two
 * duplicates, two swapped pairs — all within the first 80 packets, none
 * touching another.
 */
export const DEFAULT_PLAN: ImpairPlan = {
  minPackets: 80,
  drop: [10, 11, 12, 40],
  duplicate: [20, 60],
  swapWithNext: [30, 70],
};

/** Delay of a duplicate after its original, in seconds. */
export const DUPLICATE_DELAY_SECONDS = 0.0005;

/** What was done to one stream, with the RTP sequence numbers concerned. */
export interface StreamImpairment {
  /** `src:port > dst:port`. */
  flow: string;
  /** SSRC, as 0x-prefixed hex. */
  ssrc: string;
  /** Packets in the input stream. */
  packetsIn: number;
  /** Packets in the output stream (duplicates counted). */
  packetsOut: number;
  /** Sequence numbers of the dropped packets. */
  droppedSeqs: number[];
  /** Sequence numbers of the duplicated packets. */
  duplicatedSeqs: number[];
  /** Sequence number pairs `[a, b]`: b now arrives before a. */
  swappedSeqs: [number, number][];
}

/** Result of {@link impairPackets}. */
export interface ImpairResult {
  /** The output packets, in time order. */
  packets: CapturedPacket[];
  /** One entry per RTP stream that was changed, in order of first packet. */
  streams: StreamImpairment[];
}

/** The plan does not fit the streams it was asked to change. */
export class ImpairPlanError extends RangeError {
  /**
   * @param reason What is wrong with the plan.
   */
  constructor(reason: string) {
    super(`Invalid impairment plan: ${reason}`);
    this.name = "ImpairPlanError";
  }
}

interface RtpInfo {
  key: string;
  flow: string;
  ssrc: number;
  seq: number;
}

function rtpInfo(data: Uint8Array, linkType: number): RtpInfo | null {
  const at = locateUdp(data, linkType);
  if (at === null || at.payloadLength < 12) return null;
  if (at.srcPort === 5060 || at.dstPort === 5060) return null;
  const p = at.payloadOffset;
  if (data[p]! >> 6 !== 2) return null;
  const payloadType = data[p + 1]! & 0x7f;
  if (payloadType >= 72 && payloadType <= 76) return null; // RTCP
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ssrc = v.getUint32(p + 8);
  const flow = `${at.src}:${at.srcPort} > ${at.dst}:${at.dstPort}`;
  return { key: `${flow} ${ssrc}`, flow, ssrc, seq: v.getUint16(p + 2) };
}

function checkPlan(plan: ImpairPlan): void {
  const touched = new Set<number>();
  const claim = (i: number) => {
    if (!Number.isInteger(i) || i < 0) throw new ImpairPlanError(`bad index ${i}`);
    if (i >= plan.minPackets) {
      throw new ImpairPlanError(`index ${i} is not below minPackets ${plan.minPackets}`);
    }
    if (touched.has(i)) throw new ImpairPlanError(`index ${i} is used twice`);
    touched.add(i);
  };
  for (const i of plan.drop) claim(i);
  for (const i of plan.duplicate) claim(i);
  for (const i of plan.swapWithNext) {
    claim(i);
    claim(i + 1);
  }
}

/**
 * Applies an impairment plan to every RTP stream of a capture.
 *
 * @param packets The input packets in file order (not changed).
 * @param linkType Their LINKTYPE_*.
 * @param plan Which stream positions to drop, duplicate or swap.
 * @returns The output packets and what was done.
 */
export function impairPackets(
  packets: readonly CapturedPacket[],
  linkType: number,
  plan: ImpairPlan = DEFAULT_PLAN,
): ImpairResult {
  checkPlan(plan);
  const infos = packets.map((p) => rtpInfo(p.data, linkType));
  // Index of every packet in its stream, and the packets of each stream.
  const members = new Map<string, number[]>();
  const position = infos.map((info, g) => {
    if (info === null) return -1;
    let list = members.get(info.key);
    if (list === undefined) members.set(info.key, list = []);
    list.push(g);
    return list.length - 1;
  });
  const drop = new Set(plan.drop);
  const duplicate = new Set(plan.duplicate);
  const swapFirst = new Set(plan.swapWithNext);
  const swapSecond = new Set(plan.swapWithNext.map((i) => i + 1));
  const reports = new Map<string, StreamImpairment>();
  const out: CapturedPacket[] = [];
  packets.forEach((packet, g) => {
    const info = infos[g];
    const list = info ? members.get(info.key) : undefined;
    if (info === null || info === undefined || list === undefined) {
      out.push(packet);
      return;
    }
    if (list.length < plan.minPackets) {
      out.push(packet);
      return;
    }
    let report = reports.get(info.key);
    if (report === undefined) {
      report = {
        flow: info.flow,
        ssrc: `0x${info.ssrc.toString(16).toUpperCase().padStart(8, "0")}`,
        packetsIn: list.length,
        packetsOut: 0,
        droppedSeqs: [],
        duplicatedSeqs: [],
        swappedSeqs: [],
      };
      reports.set(info.key, report);
    }
    const i = position[g]!;
    if (drop.has(i)) {
      report.droppedSeqs.push(info.seq);
      return;
    }
    if (swapFirst.has(i) || swapSecond.has(i)) {
      const partner = list[swapFirst.has(i) ? i + 1 : i - 1]!;
      if (swapFirst.has(i)) report.swappedSeqs.push([info.seq, infos[partner]!.seq]);
      out.push({ ts: packet.ts, data: packets[partner]!.data, origLen: packets[partner]!.origLen });
      report.packetsOut += 1;
      return;
    }
    out.push(packet);
    report.packetsOut += 1;
    if (duplicate.has(i)) {
      out.push({
        ts: packet.ts + DUPLICATE_DELAY_SECONDS,
        data: packet.data,
        origLen: packet.origLen,
      });
      report.duplicatedSeqs.push(info.seq);
      report.packetsOut += 1;
    }
  });
  // Duplicates may land after a packet of another stream: keep the file in time order.
  const order = out.map((p, i) => [p.ts, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { packets: order.map(([, i]) => out[i]!), streams: [...reports.values()] };
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { report: { type: "string" } },
  });
  const [input, output] = positionals;
  if (input === undefined || output === undefined) {
    console.error("usage: impair_capture.ts IN.pcap OUT.pcap [--report OUT.impair.json]");
    Deno.exit(2);
  }
  const capture = await loadCapture(input);
  const result = impairPackets(capture.packets, capture.linkType);
  if (result.streams.length === 0) {
    console.error(
      `impair_capture: no RTP stream of ${DEFAULT_PLAN.minPackets}+ packets in ${input}`,
    );
    Deno.exit(1);
  }
  await saveCapture(output, capture.linkType, result.packets);
  const report = { input: input.split("/").pop(), plan: DEFAULT_PLAN, streams: result.streams };
  const text = JSON.stringify(report, null, 2) + "\n";
  if (values.report !== undefined) await Deno.writeTextFile(values.report, text);
  else console.log(text);
}

if (import.meta.main) await main(Deno.args);
