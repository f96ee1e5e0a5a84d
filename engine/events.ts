/**
 * The normalized event stream: one typed union every stage of the pipeline
 * speaks. Event types are dotted names; `type` is the discriminant.
 *
 * Per-RTP-packet work does not travel here: it stays on the fast path, and
 * only plugins that subscribe to packets explicitly see single RTP packets.
 *
 * @module
 */

import type { SipRequest, SipResponse } from "./sip/types.ts";

/** An IP address and port. */
export interface Endpoint {
  /** Address in its usual text form: dotted quad or compressed IPv6. */
  ip: string;
  /** UDP/TCP/SCTP port. */
  port: number;
}

/** Transport a SIP message was carried over. */
export type SipTransport = "udp" | "tcp" | "sctp" | "ws";

/** Where and when a message was seen: fields shared by every packet-derived event. */
export interface Observed {
  /** Capture time, seconds since the Unix epoch. */
  ts: number;
  /** Frame number (1-based) of the packet that completed the message. */
  frame: number;
}

/** A SIP request as seen on the wire. */
export interface SipRequestEvent extends Observed {
  /** Discriminant. */
  type: "sip.request";
  /** Sender. */
  src: Endpoint;
  /** Receiver. */
  dst: Endpoint;
  /** Transport. */
  transport: SipTransport;
  /** The parsed request. */
  message: SipRequest;
}

/** A SIP response as seen on the wire. */
export interface SipResponseEvent extends Observed {
  /** Discriminant. */
  type: "sip.response";
  /** Sender. */
  src: Endpoint;
  /** Receiver. */
  dst: Endpoint;
  /** Transport. */
  transport: SipTransport;
  /** The parsed response. */
  message: SipResponse;
}

/** Layer of the pipeline that found an anomaly. */
export type AnomalyLayer =
  | "capture"
  | "link"
  | "ip"
  | "udp"
  | "tcp"
  | "sip"
  | "sdp"
  | "rtp"
  | "rtcp"
  | "calls"
  | "rules"
  | "plugin";

/**
 * Something odd in the input that the pipeline stepped over: a truncated
 * packet, a malformed SIP message, a fragment that never completed.
 */
export interface AnomalyEvent extends Observed {
  /** Discriminant. */
  type: "anomaly";
  /** Layer that found it. */
  layer: AnomalyLayer;
  /** Short machine-readable reason, such as `sip.bad-start-line`; counted per reason in reports. */
  reason: string;
  /** Human-readable detail. */
  detail: string;
  /** Byte offset in the input file, when the anomaly is about the file itself. */
  offset?: number;
}

/** RTCP packet types this pipeline reports (RFC 3550). */
export type RtcpKind = "sr" | "rr" | "sdes" | "bye" | "app" | "other";

/** One RTCP compound packet, summarized. */
export interface RtcpEvent extends Observed {
  /** Discriminant. */
  type: "rtcp.packet";
  /** Sender. */
  src: Endpoint;
  /** Receiver. */
  dst: Endpoint;
  /** SSRC of the sender of the first report. */
  ssrc: number;
  /** Kinds of the packets in the compound, in order. */
  kinds: RtcpKind[];
  /** Reception reports carried (from SR and RR blocks). */
  reports: RtcpReportBlock[];
  /** CNAME from SDES, when present. */
  cname: string | null;
}

/** One reception report block of an RTCP SR or RR. */
export interface RtcpReportBlock {
  /** SSRC of the source the report is about. */
  ssrc: number;
  /** Fraction lost since the last report, 0 to 1. */
  fractionLost: number;
  /** Cumulative packets lost (signed 24-bit). */
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
}

/** Every event of the normalized stream. */
export type PacketwaveEvent =
  | SipRequestEvent
  | SipResponseEvent
  | RtcpEvent
  | AnomalyEvent;

/** The `type` names of all events. */
export type PacketwaveEventType = PacketwaveEvent["type"];
