/**
 * A call leg: the INVITE dialog(s) of one Call-ID, with its state, times,
 * parties, attempts (auth re-sends, proxy hops, serial forks), hold
 * intervals, media offers and DTMF. The tracker mutates legs; everything
 * else reads them (events carry the live object — copy what you keep).
 *
 * @module
 */

import type { Endpoint, SipTransport } from "../events.ts";
import type { NameAddr, SipRequest } from "../sip/types.ts";
import type { SdpMedia, SdpSummary } from "../sip/sdp.ts";

/**
 * Where a leg stands. `trying` → `early` (183) / `ringing` (180) →
 * `answered` → `ended`; or a final outcome without answer: `cancelled`
 * (CANCEL / 487), `busy` (486, 600), `rejected` (other 4xx and 6xx),
 * `failed` (5xx), `timed-out` (408, or no final answer before the timeout).
 */
export type LegState =
  | "trying"
  | "early"
  | "ringing"
  | "answered"
  | "ended"
  | "cancelled"
  | "busy"
  | "rejected"
  | "failed"
  | "timed-out";

/** States after which a leg carries no more call (it may still get late messages). */
export const FINAL_STATES: ReadonlySet<LegState> = new Set([
  "ended",
  "cancelled",
  "busy",
  "rejected",
  "failed",
  "timed-out",
]);

/** One side of a leg. */
export type Side = "caller" | "callee";

/** A party as the signalling names it. */
export interface Party {
  /** User part of the URI (`01077141436`, `109Q1427`, `*8`), or `null`. */
  user: string | null;
  /** Display name, unquoted (`07086661427,1427`), or `null`. */
  displayName: string | null;
  /** The URI as written, or `null`. */
  uri: string | null;
  /** Host part of the URI, or `null`. */
  host: string | null;
  /** The dialog tag, once known. */
  tag: string | null;
}

/** One INVITE client transaction of the leg: the first send, an auth re-send, a proxy hop or a serial fork. */
export interface Attempt {
  /** Top Via branch of the INVITE. */
  branch: string;
  /** CSeq number. */
  cseq: number;
  /** When the INVITE was seen. */
  ts: number;
  /** Frame of the INVITE. */
  frame: number;
  /** Sender of the INVITE. */
  src: Endpoint;
  /** Receiver of the INVITE. */
  dst: Endpoint;
  /** Request-URI as written. */
  requestUri: string;
  /** Highest provisional status seen (100–199), or `null`. */
  provisional: number | null;
  /** Final status, or `null` while pending. */
  status: number | null;
  /** Reason phrase of the final status. */
  reason: string | null;
  /** When the final response was seen. */
  finalTs: number | null;
  /** To-tags seen in responses (several with parallel forking). */
  toTags: string[];
  /** Whether the final response was an auth challenge (401/407) — not a failure. */
  challenged: boolean;
}

/** An interval during which one side held the other. */
export interface HoldInterval {
  /** Who put the call on hold. */
  by: Side;
  /** Start of the hold (time of the offer). */
  start: number;
  /** End of the hold, or `null` while still held. */
  end: number | null;
  /** Whether an offer took the call off hold (else the call ended while held). */
  resumed: boolean;
  /** How the offer said it: `sendonly`, `inactive`, `recvonly`, or `null-address` (c=0.0.0.0). */
  how: "sendonly" | "inactive" | "recvonly" | "null-address";
}

/** A digit sent during the call. */
export interface DtmfRecord {
  /** The digit: 0-9, *, #, A-D, or `flash`. */
  digit: string;
  /** When it started. */
  ts: number;
  /** Duration in ms, when known. */
  durationMs: number | null;
  /** Who sent it. */
  from: Side;
  /** How: RFC 4733 RTP events or SIP INFO. */
  source: "rfc4733" | "sip-info";
}

/** Media a side announced in SDP (the latest offer or answer). */
export interface MediaOffer {
  /** When the SDP was seen. */
  ts: number;
  /** Media sections. */
  media: SdpMedia[];
}

/** A REFER sent on the leg (a transfer request, RFC 3515). */
export interface ReferRecord {
  /** When the REFER was seen. */
  ts: number;
  /** Which side sent it (the transferor). */
  by: Side;
  /** The Refer-To URI as written. */
  referTo: string;
  /** User part of the Refer-To URI (the transfer target). */
  targetUser: string | null;
  /** Call-ID named by a `Replaces` parameter in the Refer-To URI (an attended transfer), or `null`. */
  replaces: string | null;
  /** User of the Referred-By header, when present (some phones omit it). */
  referredByUser: string | null;
  /** Final status of the REFER (202 accepted), or `null` while pending. */
  status: number | null;
  /** Last status line reported by NOTIFY sipfrag bodies (100, 180, 200, ...), or `null`. */
  progress: number | null;
}

/** Q.850 / SIP cause from a Reason header (RFC 3326). */
export interface ReasonHeader {
  /** `Q.850` or `SIP`. */
  protocol: string;
  /** The cause value. */
  cause: number | null;
  /** The text parameter. */
  text: string | null;
}

/** Turns a NameAddr into a {@link Party}. */
export function partyOf(nameAddr: NameAddr | null): Party {
  return {
    user: nameAddr?.uri?.user ?? null,
    displayName: nameAddr?.displayName ?? null,
    uri: nameAddr?.uri?.raw ?? nameAddr?.rawUri ?? null,
    host: nameAddr?.uri?.host ?? null,
    tag: nameAddr?.tag ?? null,
  };
}

/** The state and history of one call leg. */
export class CallLeg {
  /** Unique id: the Call-ID, with `#2`, `#3`… when a Call-ID is reused for a new call. */
  readonly id: string;
  /** The Call-ID. */
  readonly callId: string;
  /** Current state. */
  state: LegState = "trying";
  /** Who called (From of the first INVITE). */
  readonly caller: Party;
  /** Who was called (To of the first INVITE). */
  readonly callee: Party;
  /** Request-URI of the first INVITE. */
  readonly requestUri: string;
  /** User part of the Request-URI: the number dialled. */
  readonly dialled: string | null;
  /** Signalling address of the caller side (sender of the first INVITE). */
  readonly callerAddress: Endpoint;
  /** Signalling address of the callee side (receiver of the first INVITE). */
  readonly calleeAddress: Endpoint;
  /** Transport of the first INVITE. */
  readonly transport: SipTransport;
  /** The first INVITE, for rules and exports that read its headers. */
  readonly invite: SipRequest;
  /** Time of the first INVITE. */
  readonly startTs: number;
  /** Frame of the first INVITE. */
  readonly startFrame: number;
  /** First provisional response other than 100. */
  progressTs: number | null = null;
  /** First 180 Ringing. */
  ringingTs: number | null = null;
  /** First 183 Session Progress. */
  earlyMediaTs: number | null = null;
  /** First 2xx to the INVITE. */
  answerTs: number | null = null;
  /** When the leg reached its final state. */
  endTs: number | null = null;
  /** Last SIP message or media packet of the leg. */
  lastActivityTs: number;
  /** Who ended it. */
  endedBy: Side | "timeout" | null = null;
  /** How it ended. */
  endMethod: "BYE" | "CANCEL" | "response" | "timeout" | null = null;
  /** Final status of the INVITE (200 when answered), or `null`. */
  finalStatus: number | null = null;
  /** Reason phrase of the final status. */
  finalReason: string | null = null;
  /** The Reason header of the BYE, CANCEL or final response, when present. */
  reason: ReasonHeader | null = null;
  /** INVITE transactions, in order. */
  readonly attempts: Attempt[] = [];
  /** Hold intervals, in order. */
  readonly holds: HoldInterval[] = [];
  /** Latest SDP per side. */
  readonly media: { caller: MediaOffer | null; callee: MediaOffer | null } = {
    caller: null,
    callee: null,
  };
  /** Digits sent, in order. */
  readonly dtmf: DtmfRecord[] = [];
  /** REFERs sent on the leg, in order. */
  readonly refers: ReferRecord[] = [];
  /** Call-ID named by the INVITE's Replaces header (RFC 3891), or `null`. */
  readonly replaces: string | null;
  /** Ids of the RTP streams bound to the leg. */
  readonly streams: string[] = [];
  /** User-Agent / Server of each side, when seen. */
  readonly userAgents: { caller: string | null; callee: string | null } = {
    caller: null,
    callee: null,
  };
  /** SIP messages seen on the leg. */
  messages = 0;
  /** CSeq numbers of the initial INVITEs (first send and auth re-sends). */
  readonly initialCSeqs: Set<number> = new Set();
  /** SDP offers of re-INVITEs and UPDATEs waiting for their answer, by `CSeq method`. */
  readonly pendingOffers: Map<string, { side: Side; sdp: SdpSummary; ts: number }> = new Map();
  /** Whether a CANCEL was seen, and from whom. */
  cancelledBy: Side | null = null;
  /** Set once the leg's record has been completed and handed out. */
  completed = false;
  /** Whether the capture ended while the leg was still in progress (its state is the last seen). */
  openAtEnd = false;

  /**
   * @param id Unique leg id.
   * @param invite The first INVITE.
   * @param ts Its capture time.
   * @param frame Its frame number.
   * @param src Its sender.
   * @param dst Its receiver.
   * @param transport Its transport.
   */
  constructor(
    id: string,
    invite: SipRequest,
    ts: number,
    frame: number,
    src: Endpoint,
    dst: Endpoint,
    transport: SipTransport,
  ) {
    this.id = id;
    this.callId = invite.callId;
    this.invite = invite;
    this.caller = partyOf(invite.from);
    this.callee = partyOf(invite.to);
    this.requestUri = invite.requestUriRaw;
    this.dialled = invite.requestUri?.user ?? null;
    this.replaces = replacesCallId(invite.headers.get("replaces"));
    this.callerAddress = src;
    this.calleeAddress = dst;
    this.transport = transport;
    this.startTs = ts;
    this.startFrame = frame;
    this.lastActivityTs = ts;
  }

  /** Whether the leg has reached a final state. */
  get isFinal(): boolean {
    return FINAL_STATES.has(this.state);
  }

  /** Seconds from the INVITE to the answer, or `null`. */
  get setupDelay(): number | null {
    return this.answerTs === null ? null : this.answerTs - this.startTs;
  }

  /** Seconds from the INVITE to the first provisional other than 100 (post-dial delay), or `null`. */
  get postDialDelay(): number | null {
    return this.progressTs === null ? null : this.progressTs - this.startTs;
  }

  /** Seconds from the answer to the end, or `null` when not answered or not ended. */
  get talkTime(): number | null {
    return this.answerTs === null || this.endTs === null ? null : this.endTs - this.answerTs;
  }

  /** Seconds from the INVITE to the end (or to the last activity while open). */
  get duration(): number {
    return (this.endTs ?? this.lastActivityTs) - this.startTs;
  }

  /** The plain-data form of the leg, for JSON and exports. */
  toJSON(): CallRecord {
    return {
      id: this.id,
      callId: this.callId,
      state: this.state,
      caller: { ...this.caller },
      callee: { ...this.callee },
      requestUri: this.requestUri,
      dialled: this.dialled,
      callerAddress: this.callerAddress,
      calleeAddress: this.calleeAddress,
      transport: this.transport,
      startTs: this.startTs,
      progressTs: this.progressTs,
      ringingTs: this.ringingTs,
      earlyMediaTs: this.earlyMediaTs,
      answerTs: this.answerTs,
      endTs: this.endTs,
      setupDelay: this.setupDelay,
      postDialDelay: this.postDialDelay,
      talkTime: this.talkTime,
      duration: this.duration,
      endedBy: this.endedBy,
      endMethod: this.endMethod,
      finalStatus: this.finalStatus,
      finalReason: this.finalReason,
      reason: this.reason,
      attempts: this.attempts.map((a) => ({ ...a, toTags: [...a.toTags] })),
      holds: this.holds.map((h) => ({ ...h })),
      dtmf: this.dtmf.map((d) => ({ ...d })),
      refers: this.refers.map((r) => ({ ...r })),
      replaces: this.replaces,
      codecs: negotiatedCodecs(this),
      streams: [...this.streams],
      userAgents: { ...this.userAgents },
      messages: this.messages,
      openAtEnd: this.openAtEnd,
    };
  }
}

/** The JSON form of a {@link CallLeg}. */
export interface CallRecord {
  /** Unique leg id. */
  id: string;
  /** Call-ID. */
  callId: string;
  /** Final or current state. */
  state: LegState;
  /** From of the first INVITE. */
  caller: Party;
  /** To of the first INVITE. */
  callee: Party;
  /** Request-URI of the first INVITE. */
  requestUri: string;
  /** User part of the Request-URI. */
  dialled: string | null;
  /** Signalling address of the caller side. */
  callerAddress: Endpoint;
  /** Signalling address of the callee side. */
  calleeAddress: Endpoint;
  /** Transport. */
  transport: SipTransport;
  /** First INVITE time. */
  startTs: number;
  /** First provisional other than 100. */
  progressTs: number | null;
  /** First 180. */
  ringingTs: number | null;
  /** First 183. */
  earlyMediaTs: number | null;
  /** Answer time. */
  answerTs: number | null;
  /** End time. */
  endTs: number | null;
  /** Seconds from INVITE to answer. */
  setupDelay: number | null;
  /** Seconds from INVITE to first ringing or progress. */
  postDialDelay: number | null;
  /** Seconds from answer to end. */
  talkTime: number | null;
  /** Seconds from INVITE to end. */
  duration: number;
  /** Who ended the call. */
  endedBy: Side | "timeout" | null;
  /** How it ended. */
  endMethod: "BYE" | "CANCEL" | "response" | "timeout" | null;
  /** Final INVITE status. */
  finalStatus: number | null;
  /** Its reason phrase. */
  finalReason: string | null;
  /** Reason header, when present. */
  reason: ReasonHeader | null;
  /** INVITE transactions. */
  attempts: Attempt[];
  /** Hold intervals. */
  holds: HoldInterval[];
  /** DTMF digits. */
  dtmf: DtmfRecord[];
  /** REFERs sent on the leg. */
  refers: ReferRecord[];
  /** Call-ID the INVITE's Replaces header names. */
  replaces: string | null;
  /** Codecs in use (from the answer), such as `PCMA/8000`. */
  codecs: string[];
  /** Ids of the bound RTP streams. */
  streams: string[];
  /** User agents. */
  userAgents: { caller: string | null; callee: string | null };
  /** SIP messages on the leg. */
  messages: number;
  /** Whether the capture ended while the leg was still in progress. */
  openAtEnd: boolean;
}

/**
 * The Call-ID of a Replaces value (`call-id;to-tag=...;from-tag=...`), unescaped.
 *
 * @param value A Replaces header value or URI header parameter.
 * @returns The Call-ID, or `null`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(replacesCallId("abc%40host;to-tag=1;from-tag=2"), "abc@host");
 * ```
 */
export function replacesCallId(value: string | undefined | null): string | null {
  if (!value) return null;
  const callId = value.split(";")[0]!.trim();
  if (callId === "") return null;
  try {
    return decodeURIComponent(callId);
  } catch {
    return callId;
  }
}

/**
 * Codecs in use: the first audio payload of each side's latest SDP (the
 * answer's first payload is what both ends send), telephone-event left out.
 */
export function negotiatedCodecs(leg: CallLeg): string[] {
  const names = new Set<string>();
  for (const offer of [leg.media.callee, leg.media.caller]) {
    for (const media of offer?.media ?? []) {
      if (media.port === 0) continue;
      const first = media.payloads.find((p) =>
        p.encodingName?.toLowerCase() !== "telephone-event" &&
        p.encodingName?.toUpperCase() !== "CN"
      );
      if (first?.encodingName) names.add(`${first.encodingName}/${first.clockRate ?? "?"}`);
    }
    if (names.size > 0) break;
  }
  return [...names];
}
