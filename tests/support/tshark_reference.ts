/**
 * Readers of Wireshark's reference outputs stored beside the captures:
 * `tshark -q -z sip,stat` and `tshark -q -z rtp,streams`.
 *
 * @module
 */

/** What `tshark -z sip,stat` printed. */
export interface SipStatReference {
  /** "Number of SIP messages". */
  messages: number;
  /** "Number of resent SIP messages". */
  resent: number;
  /** Requests per method, as printed. */
  requests: Map<string, number>;
  /** Responses per status code. */
  responses: Map<number, number>;
}

/**
 * Parses the text of `tshark -q -z sip,stat`.
 *
 * @param text The reference file's text.
 * @returns The counts.
 */
export function parseSipStat(text: string): SipStatReference {
  const ref: SipStatReference = {
    messages: 0,
    resent: 0,
    requests: new Map(),
    responses: new Map(),
  };
  let section: "none" | "status" | "methods" = "none";
  for (const line of text.split("\n")) {
    let m;
    if ((m = line.match(/^Number of SIP messages: (\d+)/))) ref.messages = Number(m[1]);
    else if ((m = line.match(/^Number of resent SIP messages: (\d+)/))) ref.resent = Number(m[1]);
    else if (line.startsWith("* SIP Status Codes")) section = "status";
    else if (line.startsWith("* List of SIP Request methods")) section = "methods";
    else if (line.startsWith("*")) section = "none";
    else if (section === "status" && (m = line.match(/^\s+SIP (\d{3}) .*:\s+(\d+) Packets/))) {
      const code = Number(m[1]);
      ref.responses.set(code, (ref.responses.get(code) ?? 0) + Number(m[2]));
    } else if (section === "methods" && (m = line.match(/^\s+(\S+)\s+:\s+(\d+) Packets/))) {
      ref.requests.set(m[1]!, (ref.requests.get(m[1]!) ?? 0) + Number(m[2]));
    }
  }
  return ref;
}

/** One row of `tshark -z rtp,streams`. */
export interface RtpStreamReference {
  /** Start time, seconds relative to the first frame. */
  start: number;
  /** End time, seconds relative to the first frame. */
  end: number;
  /** Source address. */
  srcIp: string;
  /** Source port. */
  srcPort: number;
  /** Destination address. */
  dstIp: string;
  /** Destination port. */
  dstPort: number;
  /** SSRC. */
  ssrc: number;
  /** Payload description as printed (`g711A`, `g711A, rtp.rfc2198`). */
  payload: string;
  /** Packets. */
  packets: number;
  /** Lost (may be negative). */
  lost: number;
  /** Min/mean/max delta in ms (min is -1 for a one-packet stream). */
  minDelta: number;
  /** Mean delta. */
  meanDelta: number;
  /** Max delta. */
  maxDelta: number;
  /** Min jitter in ms. */
  minJitter: number;
  /** Mean jitter. */
  meanJitter: number;
  /** Max jitter. */
  maxJitter: number;
  /** Whether tshark flagged a problem (`X`). */
  problem: boolean;
}

/**
 * Parses the text of `tshark -q -z rtp,streams`.
 *
 * @param text The reference file's text.
 * @returns One entry per stream row.
 */
export function parseRtpStreams(text: string): RtpStreamReference[] {
  const rows: RtpStreamReference[] = [];
  const re =
    /^\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+(.+?)\s+(\d+)\s+(-?\d+) \([^)]*\)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*(X?)\s*$/;
  for (const line of text.split("\n")) {
    const m = line.match(re);
    if (!m) continue;
    rows.push({
      start: Number(m[1]),
      end: Number(m[2]),
      srcIp: m[3]!,
      srcPort: Number(m[4]),
      dstIp: m[5]!,
      dstPort: Number(m[6]),
      ssrc: parseInt(m[7]!, 16),
      payload: m[8]!,
      packets: Number(m[9]),
      lost: Number(m[10]),
      minDelta: Number(m[11]),
      meanDelta: Number(m[12]),
      maxDelta: Number(m[13]),
      minJitter: Number(m[14]),
      meanJitter: Number(m[15]),
      maxJitter: Number(m[16]),
      problem: m[17] === "X",
    });
  }
  return rows;
}
