/**
 * tshark checks of extracted capture files, for tests: SIP message counts
 * (`-z sip,stat`) and RTP streams (`-z rtp,streams`). Tests that use them
 * skip when tshark is missing ({@link HAS_TSHARK}).
 *
 * @module
 */

import { toolWorks } from "../../tests/support/tools.ts";
import {
  parseRtpStreams,
  parseSipStat,
  type RtpStreamReference,
  type SipStatReference,
} from "../../tests/support/tshark_reference.ts";

/** Whether tshark can be run here. */
export const HAS_TSHARK: boolean = toolWorks("tshark");

/** What tshark says about a capture file. */
export interface TsharkView {
  /** `-z sip,stat`. */
  sip: SipStatReference;
  /** `-z rtp,streams`. */
  streams: RtpStreamReference[];
  /** Frames in the file. */
  frames: number;
}

/**
 * Reads a capture with tshark: SIP statistics, RTP streams and the frame count.
 *
 * @param path A pcap or pcapng file.
 * @returns What tshark printed, parsed.
 * @throws {Error} When tshark fails on the file.
 */
export async function tsharkView(path: string): Promise<TsharkView> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`tshark ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  };
  const stats = await run([
    "-n",
    "-r",
    path,
    "-q",
    "-z",
    "io,stat,0",
    "-z",
    "sip,stat",
    "-z",
    "rtp,streams",
  ]);
  // io,stat with one interval: "|  0.0 <> 27.7 |    572 | 130987 |"; no row when the file
  // spans no time (one frame): then the frames are counted one by one.
  const io = /^\|\s*[\d.]+\s*<>\s*[\d.]+\s*\|\s*(\d+)\s*\|/m.exec(stats);
  const frames = io
    ? Number(io[1])
    : (await run(["-n", "-r", path, "-T", "fields", "-e", "frame.number"])).split("\n")
      .filter((l) => l.trim() !== "").length;
  return { sip: parseSipStat(stats), streams: parseRtpStreams(stats), frames };
}
