/**
 * Leg views: the plain, documented objects rules read (`leg`, `other`, …),
 * built from live call legs with the site's number rules and the derived
 * fields rules have set so far. See `context_schema.ts` for every field.
 *
 * @module
 */

import type { CallLeg, Party, Side } from "../calls/leg.ts";
import { HEADERS, type HeaderSource } from "./logic.ts";
import { extensionOf, type NumberRules, partyNumber } from "./numbers.ts";

/** Fields rules set on a leg. */
export interface DerivedFields {
  /** The real caller, in the logical call's direction. */
  realCaller: string | null;
  /** The real callee, in the logical call's direction. */
  realCallee: string | null;
  /** Whether to record the leg (`null`: the recording plugin's default). */
  record: boolean | null;
  /** The real party on each side, where the wire shows something else (a feature code). */
  party: { caller: string | null; callee: string | null };
}

/** New, empty derived fields. */
export function emptyDerived(): DerivedFields {
  return {
    realCaller: null,
    realCallee: null,
    record: null,
    party: { caller: null, callee: null },
  };
}

/** What a view needs beyond the leg. */
export interface ViewSources {
  /** The site's numbering. */
  numbers: NumberRules;
  /** Derived fields of a leg, if any. */
  derived(legId: string): DerivedFields | undefined;
  /** The logical call of a leg: id, scenarios, relations from the leg. */
  logicalOf(
    legId: string,
  ): { id: string; scenarios: string[]; relations: { relation: string; to: string }[] };
}

/**
 * The user part of a request URI (`sip:1001@host` → `1001`), or `null`: what
 * `/^[a-z]+:([^@;?]+)@/i` captures, read without a match object (it runs for
 * every attempt of every leg rules look at).
 */
export function targetUser(uri: string): string | null {
  const colon = uri.indexOf(":");
  if (colon < 1) return null;
  for (let i = 0; i < colon; i++) {
    const c = uri.charCodeAt(i) | 0x20;
    if (c < 0x61 || c > 0x7a) return null;
  }
  for (let i = colon + 1; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === 0x40) return i > colon + 1 ? uri.slice(colon + 1, i) : null; // @
    if (c === 0x3b || c === 0x3f) return null; // ; ?
  }
  return null;
}

/** A party as rules see it; computed on first read, the tag read live. */
class PartyView {
  readonly #party: Party;
  readonly #numbers: NumberRules;
  #number: string | null | undefined;
  #extension: string | null | undefined;

  constructor(party: Party, numbers: NumberRules) {
    this.#party = party;
    this.#numbers = numbers;
  }
  get user(): string | null {
    return this.#party.user;
  }
  get number(): string | null {
    if (this.#number === undefined) this.#number = partyNumber(this.#party.user, this.#numbers);
    return this.#number;
  }
  get extension(): string | null {
    if (this.#extension === undefined) {
      this.#extension = this.#party.user === null
        ? null
        : extensionOf(this.#party.user, this.#numbers);
    }
    return this.#extension;
  }
  get displayName(): string | null {
    return this.#party.displayName;
  }
  get uri(): string | null {
    return this.#party.uri;
  }
  get host(): string | null {
    return this.#party.host;
  }
  get tag(): string | null {
    return this.#party.tag;
  }
  toJSON(): Record<string, unknown> {
    return {
      user: this.user,
      number: this.number,
      extension: this.extension,
      displayName: this.displayName,
    };
  }
}

/**
 * The view of a leg rules read: every field a getter over the live leg, so
 * one view per leg serves every event and each condition pays only for the
 * fields it reads. Fields are documented in `context_schema.ts`.
 */
export class LegView {
  readonly #leg: CallLeg;
  readonly #sources: ViewSources;
  readonly #caller: PartyView;
  readonly #callee: PartyView;
  #headers: Record<string, string> | null = null;
  #targets: readonly string[] | null = null;
  /** How many attempts `#targets` was made from. */
  #targetsOf = 0;

  /**
   * @param leg The live leg.
   * @param sources Numbering, derived fields and logical calls.
   */
  constructor(leg: CallLeg, sources: ViewSources) {
    this.#leg = leg;
    this.#sources = sources;
    this.#caller = new PartyView(leg.caller, sources.numbers);
    this.#callee = new PartyView(leg.callee, sources.numbers);
  }

  /** The INVITE's headers, for `pw.header`. */
  get [HEADERS](): HeaderSource {
    return this.#leg.invite.headers;
  }
  get id(): string {
    return this.#leg.id;
  }
  get callId(): string {
    return this.#leg.callId;
  }
  get state(): string {
    return this.#leg.state;
  }
  get final(): boolean {
    return this.#leg.isFinal;
  }
  get answered(): boolean {
    return this.#leg.answerTs !== null;
  }
  get caller(): PartyView {
    return this.#caller;
  }
  get callee(): PartyView {
    return this.#callee;
  }
  get dialled(): string | null {
    return this.#leg.dialled;
  }
  get dialledNumber(): string | null {
    return partyNumber(this.#leg.dialled, this.#sources.numbers);
  }
  get requestUri(): string {
    return this.#leg.requestUri;
  }
  get callerAddress(): { ip: string; port: number } {
    return this.#leg.callerAddress;
  }
  get calleeAddress(): { ip: string; port: number } {
    return this.#leg.calleeAddress;
  }
  get transport(): string {
    return this.#leg.transport;
  }
  get startTs(): number {
    return this.#leg.startTs;
  }
  get progressTs(): number | null {
    return this.#leg.progressTs;
  }
  get ringingTs(): number | null {
    return this.#leg.ringingTs;
  }
  get earlyMediaTs(): number | null {
    return this.#leg.earlyMediaTs;
  }
  get answerTs(): number | null {
    return this.#leg.answerTs;
  }
  get endTs(): number | null {
    return this.#leg.endTs;
  }
  get lastActivityTs(): number {
    return this.#leg.lastActivityTs;
  }
  get setupDelay(): number | null {
    return this.#leg.setupDelay;
  }
  get talkTime(): number | null {
    return this.#leg.talkTime;
  }
  get finalStatus(): number | null {
    return this.#leg.finalStatus;
  }
  get endedBy(): string | null {
    return this.#leg.endedBy;
  }
  get endMethod(): string | null {
    return this.#leg.endMethod;
  }
  get onHold(): boolean {
    return this.#leg.holds.some((h) => h.end === null);
  }
  get heldBy(): Side | null {
    return this.#leg.holds.find((h) => h.end === null)?.by ?? null;
  }
  get holds(): Record<string, unknown>[] {
    return this.#leg.holds.map((h) => ({ ...h }));
  }
  get lastHold(): Record<string, unknown> | null {
    const h = this.#leg.holds.at(-1);
    return h ? { ...h, byNumber: partyNumber(this.#leg[h.by].user, this.#sources.numbers) } : null;
  }
  get focus(): boolean {
    return this.#leg.invite.contacts.some((c) =>
      c.params.has("isfocus") || c.uri?.params.has("isfocus")
    );
  }
  get attempts(): Record<string, unknown>[] {
    return this.#leg.attempts.map((a) => ({
      target: targetUser(a.requestUri),
      status: a.status,
      challenged: a.challenged,
      ts: a.ts,
    }));
  }
  get targets(): readonly string[] {
    // Attempts are only ever added: the list is built again when there are more.
    const attempts = this.#leg.attempts;
    if (this.#targets === null || this.#targetsOf !== attempts.length) {
      const targets: string[] = [];
      for (const a of attempts) {
        const target = targetUser(a.requestUri);
        if (target !== null && targets.at(-1) !== target) targets.push(target);
      }
      // Frozen: every read shares the one list.
      this.#targets = Object.freeze(targets);
      this.#targetsOf = attempts.length;
    }
    return this.#targets;
  }
  get refer(): Record<string, unknown> | null {
    const refer = this.#leg.refers.at(-1);
    if (!refer) return null;
    return {
      ts: refer.ts,
      by: refer.by,
      referTo: refer.referTo,
      target: refer.targetUser,
      targetNumber: partyNumber(refer.targetUser, this.#sources.numbers),
      replaces: refer.replaces,
      referredBy: refer.referredByUser,
      status: refer.status,
      progress: refer.progress,
    };
  }
  get replaces(): string | null {
    return this.#leg.replaces;
  }
  get headers(): Record<string, string> {
    if (this.#headers === null) {
      // Keys come from the wire: a null-prototype object, own properties only.
      const out = Object.create(null) as Record<string, string>;
      for (const [name, value] of this.#leg.invite.headers.entries()) {
        if (!(name in out)) Object.defineProperty(out, name, { value, enumerable: true });
      }
      this.#headers = out;
    }
    return this.#headers;
  }
  get realCaller(): string | null {
    return this.#sources.derived(this.#leg.id)?.realCaller ?? null;
  }
  get realCallee(): string | null {
    return this.#sources.derived(this.#leg.id)?.realCallee ?? null;
  }
  get logicalId(): string {
    return this.#sources.logicalOf(this.#leg.id).id;
  }
  get scenarios(): string[] {
    return [...this.#sources.logicalOf(this.#leg.id).scenarios];
  }
  get relations(): { relation: string; to: string }[] {
    return this.#sources.logicalOf(this.#leg.id).relations.map((r) => ({ ...r }));
  }
  /** A short JSON form for explanations. */
  toJSON(): string {
    return `<leg ${this.#leg.id}>`;
  }
}

/**
 * Builds the view of a leg.
 *
 * @param leg The live leg.
 * @param sources Numbering, derived fields and logical calls.
 * @returns The view (its fields read the live leg each time).
 */
export function legView(leg: CallLeg, sources: ViewSources): LegView {
  return new LegView(leg, sources);
}
