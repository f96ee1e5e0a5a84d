/**
 * Finds the call leg a SIP message belongs to, as the call tracker decides
 * it, from events alone. `sip.request` and `sip.response` are raised
 * *before* the tracker handles the message (a new INVITE's leg does not
 * exist yet when its event arrives), so the router holds each message's
 * item until the tracker is done with it — the next SIP message, or a leg
 * completing outside the current frame — and then files it under the leg
 * its Call-ID belongs to at that moment. Like the tracker it ignores
 * REGISTER requests, messages of Call-IDs without a leg, and messages after
 * a leg completed.
 *
 * @module
 */

import type { CallLeg } from "../../engine/calls/leg.ts";
import type { Frame } from "../../engine/capture/frame.ts";

interface Pending<T> {
  callId: string;
  frame: number;
  ts: number;
  item: T;
}

/** Files per-message items (frames, message summaries) under call legs. */
export class SipLegRouter<T> {
  readonly #legByCallId = new Map<string, string>();
  readonly #deliver: (legId: string, item: T) => void;
  #pending: Pending<T>[] = [];

  /** @param deliver Receives each item with the id of the leg it belongs to. */
  constructor(deliver: (legId: string, item: T) => void) {
    this.#deliver = deliver;
  }

  /** Legs whose messages are being filed. */
  get activeLegs(): number {
    return this.#legByCallId.size;
  }

  /**
   * A SIP message was seen (call from the `sip.request` / `sip.response` handler).
   *
   * @param callId Its Call-ID.
   * @param registerRequest Whether it is a REGISTER request (never part of a leg).
   * @param frame The frame being processed, or `null`.
   * @param item What to file under its leg.
   */
  message(callId: string, registerRequest: boolean, frame: Frame | null, item: T): void {
    this.resolve();
    if (callId === "" || registerRequest) return;
    this.#pending.push({ callId, frame: frame?.number ?? -1, ts: frame?.ts ?? NaN, item });
  }

  /**
   * A leg started (`call.started`): its Call-ID's messages go to it from now on.
   *
   * @param leg The leg.
   */
  started(leg: CallLeg): void {
    this.#legByCallId.set(leg.callId, leg.id);
  }

  /**
   * A leg completed (`call.completed`). Messages of earlier frames are filed
   * first; a message of the frame being processed is not the leg's (the
   * tracker completed the leg before placing that message).
   *
   * @param leg The leg.
   * @param frame The frame being processed, or `null` (end of input, a timer).
   */
  completed(leg: CallLeg, frame: Frame | null): void {
    if (this.#pending.length > 0) {
      const keep: Pending<T>[] = [];
      for (const p of this.#pending) {
        if (frame !== null && p.frame === frame.number && p.ts === frame.ts) keep.push(p);
        else this.#file(p);
      }
      this.#pending = keep;
    }
    if (this.#legByCallId.get(leg.callId) === leg.id) this.#legByCallId.delete(leg.callId);
  }

  /** Files every held message now (the tracker has handled them all). */
  resolve(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) this.#file(p);
  }

  #file(p: Pending<T>): void {
    const legId = this.#legByCallId.get(p.callId);
    if (legId !== undefined) this.#deliver(legId, p.item);
  }
}
