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

function partyView(p: Party, numbers: NumberRules) {
  return {
    user: p.user,
    number: partyNumber(p.user, numbers),
    extension: p.user === null ? null : extensionOf(p.user, numbers),
    displayName: p.displayName,
    uri: p.uri,
    host: p.host,
    tag: p.tag,
  };
}

/** A plain object whose keys come from the wire, safe against `__proto__` and friends. */
function headerObject(leg: CallLeg): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of leg.invite.headers.entries()) {
    if (!(name in out)) {
      Object.defineProperty(out, name, { value, enumerable: true, writable: true });
    }
  }
  return out;
}

/**
 * Builds the view of a leg.
 *
 * @param leg The live leg.
 * @param sources Numbering, derived fields and logical calls.
 * @returns A plain object for json-logic (with a hidden link to the INVITE's headers for `pw.header`).
 */
export function legView(leg: CallLeg, sources: ViewSources): Record<string, unknown> {
  const n = sources.numbers;
  const derived = sources.derived(leg.id);
  const open = leg.holds.find((h) => h.end === null) ?? null;
  const lastHold = leg.holds.at(-1) ?? null;
  const refer = leg.refers.at(-1) ?? null;
  const logical = sources.logicalOf(leg.id);
  const targets: string[] = [];
  for (const a of leg.attempts) {
    const target = /^[a-z]+:([^@;?]+)@/i.exec(a.requestUri)?.[1] ?? null;
    if (target !== null && targets.at(-1) !== target) targets.push(target);
  }
  const view: Record<string, unknown> = {
    id: leg.id,
    callId: leg.callId,
    state: leg.state,
    final: leg.isFinal,
    answered: leg.answerTs !== null,
    caller: partyView(leg.caller, n),
    callee: partyView(leg.callee, n),
    dialled: leg.dialled,
    dialledNumber: partyNumber(leg.dialled, n),
    requestUri: leg.requestUri,
    callerAddress: { ...leg.callerAddress },
    calleeAddress: { ...leg.calleeAddress },
    transport: leg.transport,
    startTs: leg.startTs,
    progressTs: leg.progressTs,
    ringingTs: leg.ringingTs,
    earlyMediaTs: leg.earlyMediaTs,
    answerTs: leg.answerTs,
    endTs: leg.endTs,
    lastActivityTs: leg.lastActivityTs,
    setupDelay: leg.setupDelay,
    talkTime: leg.talkTime,
    finalStatus: leg.finalStatus,
    endedBy: leg.endedBy,
    endMethod: leg.endMethod,
    onHold: open !== null,
    heldBy: open?.by ?? null,
    holds: leg.holds.map((h) => ({ ...h })),
    lastHold: lastHold && {
      ...lastHold,
      byNumber: partyNumber(leg[lastHold.by].user, n),
    },
    focus: leg.invite.contacts.some((c) => c.params.has("isfocus") || c.uri?.params.has("isfocus")),
    attempts: leg.attempts.map((a) => ({
      target: /^[a-z]+:([^@;?]+)@/i.exec(a.requestUri)?.[1] ?? null,
      status: a.status,
      challenged: a.challenged,
      ts: a.ts,
    })),
    targets,
    refer: refer && {
      ts: refer.ts,
      by: refer.by,
      referTo: refer.referTo,
      target: refer.targetUser,
      targetNumber: partyNumber(refer.targetUser, n),
      replaces: refer.replaces,
      referredBy: refer.referredByUser,
      status: refer.status,
      progress: refer.progress,
    },
    replaces: leg.replaces,
    headers: headerObject(leg),
    realCaller: derived?.realCaller ?? null,
    realCallee: derived?.realCallee ?? null,
    logicalId: logical.id,
    scenarios: [...logical.scenarios],
    relations: logical.relations.map((r) => ({ ...r })),
  };
  Object.defineProperty(view, HEADERS, {
    value: leg.invite.headers satisfies HeaderSource,
    enumerable: false,
  });
  return view;
}

/**
 * The party on one side of a leg, as the logical call names it: a rule's
 * substitution (the real party behind a feature code), else the side's number.
 *
 * @param leg The leg.
 * @param side Which side.
 * @param derived Its derived fields.
 * @param numbers The site's numbering.
 * @returns A party number, or `null`.
 */
export function sideParty(
  leg: CallLeg,
  side: Side,
  derived: DerivedFields | undefined,
  numbers: NumberRules,
): string | null {
  return derived?.party[side] ?? partyNumber(leg[side].user, numbers);
}
