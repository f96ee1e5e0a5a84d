/**
 * The call tracker: follows INVITE dialogs by Call-ID through their states,
 * attempts, holds, DTMF over SIP INFO and endings, and raises `call.*`
 * events. Legs time out when silent, the table is capped, and everything
 * still open is flushed at the end of input.
 *
 * @module
 */

import type { EventBus } from "../event_bus.ts";
import type { CallEvent, Endpoint, SipRequestEvent, SipResponseEvent } from "../events.ts";
import { sdpFromMessage, type SdpMedia, type SdpSummary } from "../sip/sdp.ts";
import { parseNameAddr } from "../sip/name_addr.ts";
import type { SipMessage } from "../sip/types.ts";
import {
  type Attempt,
  CallLeg,
  type HoldInterval,
  type LegState,
  type ReasonHeader,
  replacesCallId,
  type Side,
} from "./leg.ts";

/** Timeouts and caps of the tracker. */
export interface CallTrackerOptions {
  /** Seconds without any message before an unanswered leg times out. */
  setupTimeoutSeconds: number;
  /** Seconds without SIP or media before an answered leg is ended by timeout. */
  idleTimeoutSeconds: number;
  /** Seconds a final leg waits for trailing messages and media before its record completes. */
  completionGraceSeconds: number;
  /** Seconds after a non-2xx final within which a new INVITE with the same Call-ID retries the same leg. */
  retryWindowSeconds: number;
  /** Legs tracked at once; past it, the oldest final legs complete first, then the oldest open ones. */
  maxLegs: number;
}

/** Defaults: 3 minutes to answer, an hour of silence on an answered call, 2 s of grace. */
export const DEFAULT_CALL_TRACKER_OPTIONS: CallTrackerOptions = {
  setupTimeoutSeconds: 180,
  idleTimeoutSeconds: 3600,
  completionGraceSeconds: 2,
  retryWindowSeconds: 32,
  maxLegs: 50000,
};

/** Hooks through which the tracker reaches the media stage and the report. */
export interface CallTrackerHooks {
  /** A side of a leg announced media (an offer or an answer). */
  onSdp?(leg: CallLeg, side: Side, sdp: SdpSummary, ts: number): void;
  /** A leg's record is about to complete: finish its media now. */
  beforeComplete?(leg: CallLeg): void;
}

/** Follows calls and raises `call.*` events on the bus. */
export class CallTracker {
  readonly #bus: EventBus;
  readonly #options: CallTrackerOptions;
  readonly #hooks: CallTrackerHooks;
  /** Open and recently final legs by Call-ID (the newest leg of that Call-ID). */
  readonly #legs = new Map<string, CallLeg>();
  /** How many legs each recent Call-ID has had, for unique ids on reuse. */
  readonly #reuse = new Map<string, number>();
  #now = 0;
  #lastSweep = 0;

  /**
   * @param bus Where `call.*` events go.
   * @param hooks Media and report hooks.
   * @param options Timeouts and caps.
   */
  constructor(
    bus: EventBus,
    hooks: CallTrackerHooks = {},
    options: Partial<CallTrackerOptions> = {},
  ) {
    this.#bus = bus;
    this.#hooks = hooks;
    this.#options = { ...DEFAULT_CALL_TRACKER_OPTIONS, ...options };
  }

  /** Legs being tracked (open, or final and waiting to complete). */
  get size(): number {
    return this.#legs.size;
  }

  /**
   * The leg a Call-ID belongs to now, if tracked.
   *
   * @param callId A Call-ID.
   * @returns The newest leg of that Call-ID.
   */
  leg(callId: string): CallLeg | undefined {
    return this.#legs.get(callId);
  }

  /** Every tracked leg, oldest first. */
  legs(): IterableIterator<CallLeg> {
    return this.#legs.values();
  }

  /**
   * Handles a SIP request.
   *
   * @param e The request event.
   */
  onRequest(e: SipRequestEvent): void {
    this.#advance(e.ts);
    const m = e.message;
    const method = m.method.toUpperCase();
    if (method === "REGISTER" || !m.callId) return;
    let leg = this.#legs.get(m.callId);
    const inDialog = m.to?.tag != null;
    if (method === "INVITE" && !inDialog) {
      leg = this.#initialInvite(e, leg);
    } else if (!leg) {
      // A call already up when the capture started: adopt it from an in-dialog INVITE or BYE.
      if (!inDialog || (method !== "INVITE" && method !== "BYE")) return;
      leg = this.#adopt(e);
    }
    leg.messages++;
    leg.lastActivityTs = e.ts;
    const from = sideOfRequest(leg, m, e.src);
    if (leg.userAgents[from] === null) leg.userAgents[from] = m.headers.get("user-agent") ?? null;
    const sdp = sdpFromMessage(m);
    if (sdp) {
      if ((method === "INVITE" && inDialog || method === "UPDATE") && m.cseq) {
        // A re-offer counts once answered: a rejected hold (488, 491) changes nothing.
        leg.pendingOffers.set(`${m.cseq.seq} ${method}`, { side: from, sdp, ts: e.ts });
      } else {
        this.#sdp(leg, from, sdp, e.ts);
      }
    }
    switch (method) {
      case "CANCEL":
        if (!leg.isFinal && leg.cancelledBy === null) leg.cancelledBy = from;
        leg.reason ??= parseReason(m);
        break;
      case "BYE":
        if (!leg.isFinal) {
          this.#end(leg, "ended", e.ts, from, "BYE");
          leg.reason = parseReason(m);
        }
        break;
      case "INFO":
        this.#infoDtmf(leg, m, from, e.ts);
        break;
      case "REFER":
        this.#refer(leg, m, from, e.ts);
        break;
      case "NOTIFY":
        this.#notify(leg, m);
        break;
    }
  }

  /**
   * Handles a SIP response.
   *
   * @param e The response event.
   */
  onResponse(e: SipResponseEvent): void {
    this.#advance(e.ts);
    const m = e.message;
    const leg = this.#legs.get(m.callId);
    if (!leg) return;
    leg.messages++;
    leg.lastActivityTs = e.ts;
    // The responder is the side opposite the request's sender.
    const requester = sideOfTag(leg, m.from?.tag ?? null) ?? "caller";
    const responder: Side = requester === "caller" ? "callee" : "caller";
    if (leg.userAgents[responder] === null) {
      leg.userAgents[responder] = m.headers.get("server") ?? null;
    }
    const sdp = sdpFromMessage(m);
    const method = m.cseq?.method.toUpperCase();
    if (m.cseq && m.status >= 200) {
      const key = `${m.cseq.seq} ${method}`;
      const offer = leg.pendingOffers.get(key);
      if (offer) {
        leg.pendingOffers.delete(key);
        if (m.status < 300) {
          this.#holdFromOffer(leg, offer.side, offer.sdp, offer.ts);
          this.#sdp(leg, offer.side, offer.sdp, offer.ts);
        }
      }
    }
    if (sdp && m.status < 300) this.#sdp(leg, responder, sdp, e.ts);
    if (method === "REFER" && m.status >= 200) {
      const refer = leg.refers.findLast((r) => r.status === null);
      if (refer) refer.status = m.status;
    }
    if (method !== "INVITE" || !m.cseq) return;
    const initial = leg.initialCSeqs.has(m.cseq.seq);
    if (!initial) return; // a re-INVITE's response does not change the leg's state
    const attempt = findAttempt(leg, m.vias[0]?.branch ?? null, m.cseq.seq);
    const status = m.status;
    if (responder === "callee" && leg.callee.tag === null && m.to?.tag) leg.callee.tag = m.to.tag;
    if (attempt && m.to?.tag && !attempt.toTags.includes(m.to.tag)) attempt.toTags.push(m.to.tag);
    if (status < 200) {
      if (attempt) attempt.provisional = Math.max(attempt.provisional ?? 0, status);
      this.#provisional(leg, status, e.ts);
      return;
    }
    if (attempt && attempt.status === null) {
      attempt.status = status;
      attempt.reason = m.reason;
      attempt.finalTs = e.ts;
      attempt.challenged = status === 401 || status === 407;
    }
    if (status < 300) {
      if (leg.answerTs === null) {
        leg.answerTs = e.ts;
        if (leg.isFinal) leg.endTs = null; // a 200 that crossed a CANCEL wins
        leg.state = "answered";
        leg.finalStatus = status;
        leg.finalReason = m.reason;
        if (m.to?.tag) leg.callee.tag = m.to.tag;
        this.#emit("call.answered", leg, e.ts);
      }
      return;
    }
    if (status === 401 || status === 407) return; // a challenge: the re-sent INVITE goes on
    if (leg.answerTs !== null || leg.isFinal) return;
    if (leg.attempts.some((a) => a !== attempt && a.status === null && a.ts <= e.ts)) return;
    leg.finalStatus = status;
    leg.finalReason = m.reason;
    leg.reason = parseReason(m) ?? leg.reason;
    const state = stateOfFinal(status);
    const endedBy: Side = state === "cancelled" && leg.cancelledBy ? leg.cancelledBy : "callee";
    this.#end(
      leg,
      state,
      e.ts,
      endedBy,
      state === "cancelled" && leg.cancelledBy ? "CANCEL" : "response",
    );
  }

  /**
   * Advances the tracker's clock without traffic (live capture): times out and completes legs.
   *
   * @param now Current time, seconds since the epoch.
   */
  tick(now: number): void {
    this.#advance(now, true);
  }

  /**
   * Completes every leg (end of input). A leg still in progress keeps its
   * state and is marked `openAtEnd`: the capture ended, not the call.
   */
  flush(): void {
    for (const leg of [...this.#legs.values()]) {
      if (!leg.isFinal) {
        leg.openAtEnd = true;
        for (const hold of leg.holds) if (hold.end === null) hold.end = leg.lastActivityTs;
      }
      this.#complete(leg);
    }
  }

  /**
   * Notes media activity on a leg, so an answered call with RTP does not time out.
   *
   * @param leg The leg.
   * @param ts Time of the latest packet.
   */
  touch(leg: CallLeg, ts: number): void {
    if (ts > leg.lastActivityTs) leg.lastActivityTs = ts;
  }

  #advance(ts: number, force = false): void {
    if (ts > this.#now) this.#now = ts;
    if (!force && this.#now - this.#lastSweep < 1) return;
    this.#lastSweep = this.#now;
    const o = this.#options;
    for (const leg of [...this.#legs.values()]) {
      if (leg.isFinal) {
        if (this.#now - (leg.endTs ?? leg.lastActivityTs) >= o.completionGraceSeconds) {
          this.#complete(leg);
        }
      } else {
        const idle = this.#now - leg.lastActivityTs;
        const limit = leg.answerTs === null ? o.setupTimeoutSeconds : o.idleTimeoutSeconds;
        if (idle >= limit) this.#end(leg, "timed-out", leg.lastActivityTs, "timeout", "timeout");
      }
    }
  }

  #initialInvite(e: SipRequestEvent, existing: CallLeg | undefined): CallLeg {
    const m = e.message;
    const branch = m.vias[0]?.branch ?? `cseq-${m.cseq?.seq ?? 0}`;
    let leg = existing;
    if (leg) {
      if (
        leg.attempts.some((a) =>
          a.branch === branch && a.dst.ip === e.dst.ip && a.dst.port === e.dst.port
        )
      ) {
        return leg; // a retransmission
      }
      const retry = leg.isFinal && leg.answerTs === null && leg.endTs !== null &&
        e.ts - leg.endTs <= this.#options.retryWindowSeconds;
      if (leg.isFinal && !retry) {
        this.#complete(leg);
        leg = undefined;
      } else if (retry) {
        // Serial forking or a retry of the same call: the leg opens again.
        leg.state = "trying";
        leg.endTs = null;
        leg.endedBy = null;
        leg.endMethod = null;
        leg.finalStatus = null;
        leg.finalReason = null;
      }
    }
    if (!leg) {
      leg = new CallLeg(this.#nextLegId(m.callId), m, e.ts, e.frame, e.src, e.dst, e.transport);
      this.#insert(leg);
      this.#emit("call.started", leg, e.ts);
    }
    if (m.cseq) leg.initialCSeqs.add(m.cseq.seq);
    leg.attempts.push({
      branch,
      cseq: m.cseq?.seq ?? 0,
      ts: e.ts,
      frame: e.frame,
      src: e.src,
      dst: e.dst,
      requestUri: m.requestUriRaw,
      provisional: null,
      status: null,
      reason: null,
      finalTs: null,
      toTags: [],
      challenged: false,
    });
    return leg;
  }

  #adopt(e: SipRequestEvent): CallLeg {
    const m = e.message;
    const leg = new CallLeg(this.#nextLegId(m.callId), m, e.ts, e.frame, e.src, e.dst, e.transport);
    leg.state = "answered";
    leg.answerTs = e.ts;
    leg.caller.tag = m.from?.tag ?? null;
    leg.callee.tag = m.to?.tag ?? null;
    this.#insert(leg);
    this.#emit("call.started", leg, e.ts);
    this.#emit("call.answered", leg, e.ts);
    return leg;
  }

  /** The id of a new leg: the Call-ID, with `#2`, `#3`... when the Call-ID was used before. */
  #nextLegId(callId: string): string {
    const count = (this.#reuse.get(callId) ?? 0) + 1;
    this.#reuse.set(callId, count);
    return count === 1 ? callId : `${callId}#${count}`;
  }

  #insert(leg: CallLeg): void {
    if (this.#legs.size >= this.#options.maxLegs) {
      const victim = [...this.#legs.values()].find((l) => l.isFinal) ??
        this.#legs.values().next().value;
      if (victim) {
        if (!victim.isFinal) {
          this.#end(victim, "timed-out", victim.lastActivityTs, "timeout", "timeout");
        }
        this.#complete(victim);
        this.#bus.emit({
          type: "anomaly",
          ts: this.#now,
          frame: 0,
          layer: "calls",
          reason: "calls.table-full",
          detail: `more than ${this.#options.maxLegs} legs at once; completed ${victim.id} early`,
        });
      }
    }
    this.#legs.set(leg.callId, leg);
  }

  #provisional(leg: CallLeg, status: number, ts: number): void {
    if (status === 100) return;
    if (leg.progressTs === null) leg.progressTs = ts;
    if (status === 180 || status === 181 || status === 182) {
      if (leg.ringingTs === null) leg.ringingTs = ts;
      if (leg.state === "trying" || leg.state === "early") {
        leg.state = "ringing";
        this.#emit("call.ringing", leg, ts);
      }
    } else if (status === 183) {
      if (leg.earlyMediaTs === null) leg.earlyMediaTs = ts;
      if (leg.state === "trying") {
        leg.state = "early";
        this.#emit("call.ringing", leg, ts);
      }
    }
  }

  #end(
    leg: CallLeg,
    state: LegState,
    ts: number,
    by: Side | "timeout",
    how: CallLeg["endMethod"],
  ): void {
    leg.state = state;
    leg.endTs = ts;
    leg.endedBy = by;
    leg.endMethod = how;
    for (const hold of leg.holds) if (hold.end === null) hold.end = ts;
    this.#emit("call.ended", leg, ts);
  }

  #complete(leg: CallLeg): void {
    if (leg.completed) return;
    this.#hooks.beforeComplete?.(leg);
    leg.completed = true;
    if (this.#legs.get(leg.callId) === leg) this.#legs.delete(leg.callId);
    if (this.#reuse.size > this.#options.maxLegs * 2) this.#reuse.clear();
    this.#emit("call.completed", leg, this.#now);
  }

  #sdp(leg: CallLeg, side: Side, sdp: SdpSummary, ts: number): void {
    leg.media[side] = { ts, media: sdp.media };
    this.#hooks.onSdp?.(leg, side, sdp, ts);
  }

  #holdFromOffer(leg: CallLeg, by: Side, sdp: SdpSummary, ts: number): void {
    const audio = sdp.media.find((m) => m.type === "audio" && m.port !== 0) ?? sdp.media[0];
    if (!audio) return;
    const open = leg.holds.find((h) => h.by === by && h.end === null);
    const how = holdOf(audio);
    if (how !== null && !open) {
      leg.holds.push({ by, start: ts, end: null, how, resumed: false });
      this.#emit("call.held", leg, ts);
    } else if (how === null && open) {
      open.end = ts;
      open.resumed = true;
      this.#emit("call.resumed", leg, ts);
    }
  }

  #refer(leg: CallLeg, m: SipMessage, by: Side, ts: number): void {
    const target = m.headers.get("refer-to");
    if (!target) return;
    const referTo = parseNameAddr(target);
    const referredBy = m.headers.get("referred-by");
    leg.refers.push({
      ts,
      by,
      referTo: referTo?.rawUri ?? target,
      targetUser: referTo?.uri?.user ?? null,
      replaces: replacesCallId(
        referTo?.uri?.headers.get("Replaces") ?? referTo?.uri?.headers.get("replaces"),
      ),
      referredByUser: referredBy ? parseNameAddr(referredBy)?.uri?.user ?? null : null,
      status: null,
      progress: null,
    });
    this.#emit("call.referred", leg, ts);
  }

  #notify(leg: CallLeg, m: SipMessage): void {
    const refer = leg.refers.at(-1);
    if (!refer || m.contentType !== "message/sipfrag") return;
    const match = /^SIP\/2\.0\s+(\d{3})/.exec(new TextDecoder().decode(m.body.subarray(0, 64)));
    if (match) refer.progress = Number(match[1]);
  }

  #infoDtmf(leg: CallLeg, m: SipMessage, from: Side, ts: number): void {
    const type = m.contentType;
    if (type !== "application/dtmf-relay" && type !== "application/dtmf") return;
    const text = new TextDecoder().decode(m.body).trim();
    let digit: string | null = null;
    let durationMs: number | null = null;
    if (type === "application/dtmf") {
      digit = text.slice(0, 1) || null;
    } else {
      for (const line of text.split(/\r?\n/)) {
        const [key, value] = line.split("=").map((s) => s.trim());
        if (key?.toLowerCase() === "signal" && value) digit = value.slice(0, 1);
        if (key?.toLowerCase() === "duration" && value && /^\d+$/.test(value)) {
          durationMs = Number(value);
        }
      }
    }
    if (digit === null || !/^[0-9*#A-Da-d!]$/.test(digit)) return;
    const record = {
      digit: digit === "!" ? "flash" : digit.toUpperCase(),
      ts,
      durationMs,
      from,
      source: "sip-info" as const,
    };
    leg.dtmf.push(record);
    this.#bus.emit({ type: "dtmf", legId: leg.id, ...record });
  }

  #emit(type: CallEvent["type"], leg: CallLeg, ts: number): void {
    this.#bus.emit({ type, ts, leg });
  }
}

/**
 * How an offer puts the call on hold (RFC 3264 §8.4, and the older RFC 2543
 * null address), or `null` when it does not: `sendonly` and `inactive`, a
 * `recvonly` offer (the offerer stops sending), or `c=0.0.0.0`.
 */
export function holdOf(media: SdpMedia): HoldInterval["how"] | null {
  if (media.connectionAddress === "0.0.0.0" || media.connectionAddress === "::") {
    return "null-address";
  }
  if (
    media.direction === "sendonly" || media.direction === "inactive" ||
    media.direction === "recvonly"
  ) {
    return media.direction;
  }
  return null;
}

/** Which side sent a request: by From tag, else by address, else the caller. */
function sideOfRequest(leg: CallLeg, m: SipMessage, src: Endpoint): Side {
  const byTag = sideOfTag(leg, m.from?.tag ?? null);
  if (byTag) return byTag;
  if (src.ip === leg.calleeAddress.ip && src.port === leg.calleeAddress.port) return "callee";
  return "caller";
}

function sideOfTag(leg: CallLeg, tag: string | null): Side | null {
  if (tag === null) return null;
  if (tag === leg.caller.tag) return "caller";
  if (tag === leg.callee.tag) return "callee";
  return null;
}

function findAttempt(leg: CallLeg, branch: string | null, cseq: number): Attempt | undefined {
  if (branch !== null) {
    for (let i = leg.attempts.length - 1; i >= 0; i--) {
      if (leg.attempts[i]!.branch === branch) return leg.attempts[i];
    }
  }
  for (let i = leg.attempts.length - 1; i >= 0; i--) {
    if (leg.attempts[i]!.cseq === cseq) return leg.attempts[i];
  }
  return undefined;
}

/** The state a final non-2xx status puts an unanswered leg in. */
export function stateOfFinal(status: number): LegState {
  if (status === 486 || status === 600) return "busy";
  if (status === 487) return "cancelled";
  if (status === 408) return "timed-out";
  if (status >= 500 && status < 600) return "failed";
  return "rejected";
}

/**
 * Parses a Reason header (RFC 3326): `Q.850;cause=16;text="NORMAL_CLEARING"`.
 *
 * @param m The message.
 * @returns The first reason, or `null`.
 */
export function parseReason(m: SipMessage): ReasonHeader | null {
  const value = m.headers.get("reason");
  if (!value) return null;
  const [protocol = "", ...params] = value.split(";");
  let cause: number | null = null;
  let text: string | null = null;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0) continue;
    const name = param.slice(0, eq).trim().toLowerCase();
    const raw = param.slice(eq + 1).trim();
    if (name === "cause" && /^\d+$/.test(raw)) cause = Number(raw);
    if (name === "text") text = raw.replace(/^"(.*)"$/, "$1");
  }
  return { protocol: protocol.trim(), cause, text };
}
