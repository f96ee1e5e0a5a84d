/**
 * The normalized event stream: one typed union every stage of the pipeline
 * speaks. Event types are dotted names; `type` is the discriminant.
 *
 * Per-RTP-packet work does not travel here: it stays on the fast path, and
 * only plugins that subscribe to packets explicitly see single RTP packets.
 *
 * @module
 */

import type { CallLeg, Side } from "./calls/leg.ts";
import type { SipRequest, SipResponse } from "./sip/types.ts";
import type { RtpStreamRecord } from "./calls/stream.ts";
import type { Registration } from "./calls/registrations.ts";
import type { LogicalCallRecord } from "./rules/logical_calls.ts";

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

/**
 * A change in a call leg. `leg` is the live leg (read it during the call;
 * `leg.toJSON()` for a copy to keep).
 *
 * - `call.started`: the first INVITE of a leg.
 * - `call.ringing`: the first 180 (or 183 while still trying).
 * - `call.answered`: the first 2xx to the INVITE.
 * - `call.held` / `call.resumed`: a re-INVITE or UPDATE put the call on hold or took it off.
 * - `call.referred`: a REFER (transfer request) was sent on the leg.
 * - `call.ended`: the leg reached a final state (BYE, CANCEL, a final failure, a timeout).
 * - `call.completed`: the leg's record is complete (its media finished too): export it now.
 */
export interface CallEvent {
  /** Discriminant. */
  type:
    | "call.started"
    | "call.ringing"
    | "call.answered"
    | "call.held"
    | "call.resumed"
    | "call.referred"
    | "call.ended"
    | "call.completed";
  /** Capture time of the change. */
  ts: number;
  /** The leg. */
  leg: CallLeg;
}

/** An RTP stream began (its first packet) or ended (its leg completed, it went idle, or input ended). */
export interface RtpStreamEvent {
  /** Discriminant. */
  type: "rtp.stream.started" | "rtp.stream.ended";
  /** Capture time. */
  ts: number;
  /** The stream's record (statistics are final on `rtp.stream.ended`). */
  stream: RtpStreamRecord;
}

/** A DTMF digit, from RFC 4733 events in RTP or from SIP INFO. */
export interface DtmfEvent {
  /** Discriminant. */
  type: "dtmf";
  /** When the digit started. */
  ts: number;
  /** Leg it belongs to, or `null` for a stream without signalling. */
  legId: string | null;
  /** The digit: 0-9, *, #, A-D or `flash`. */
  digit: string;
  /** Duration in ms, when known. */
  durationMs: number | null;
  /** Sending side. */
  from: Side;
  /** How it was sent. */
  source: "rfc4733" | "sip-info";
}

/** A registration completed, was refused, or was removed. */
export interface RegistrationEvent {
  /** Discriminant. */
  type: "registration";
  /** Time of the final response. */
  ts: number;
  /** The registration. */
  registration: Registration;
}

/** A rule gave a logical call a scenario (the first time that scenario was given). */
export interface ScenarioMatchedEvent {
  /** Discriminant. */
  type: "scenario.matched";
  /** Time of the triggering event. */
  ts: number;
  /** The scenario. */
  scenario: string;
  /** The rule. */
  rule: string;
  /** The logical call. */
  logicalId: string;
  /** Legs the rule bound (the trigger's leg first). */
  legIds: string[];
}

/** A custom event a rule emitted (`then: { emit: label }`). */
export interface RuleCustomEvent {
  /** Discriminant. */
  type: "rule.event";
  /** Time of the triggering event. */
  ts: number;
  /** The rule. */
  rule: string;
  /** The label the rule gave. */
  label: string;
  /** The logical call. */
  logicalId: string;
  /** Legs the rule bound. */
  legIds: string[];
}

/** A logical call is complete: its legs ended and the correlation window passed. */
export interface LogicalCallEvent {
  /** Discriminant. */
  type: "logical.completed";
  /** Time it was written. */
  ts: number;
  /** Its record. */
  call: LogicalCallRecord;
}

/** Every event of the normalized stream. */
export type PacketwaveEvent =
  | SipRequestEvent
  | SipResponseEvent
  | RtcpEvent
  | AnomalyEvent
  | CallEvent
  | RtpStreamEvent
  | DtmfEvent
  | RegistrationEvent
  | ScenarioMatchedEvent
  | RuleCustomEvent
  | LogicalCallEvent;

/** The `type` names of all events. */
export type PacketwaveEventType = PacketwaveEvent["type"];
