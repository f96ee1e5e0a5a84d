/**
 * Logical calls: the legs rules linked into one call (a transfer's legs, a
 * pickup, a conference's three Call-IDs, a hunt, a B2BUA's two sides), with
 * the relations between them, their scenarios and the real parties. A
 * logical call is written once all its legs have completed and the site's
 * correlation window has passed, so late links still join it.
 *
 * @module
 */

import type { CallLeg, CallRecord, Side } from "../calls/leg.ts";
import { type NumberRules, partyNumber } from "./numbers.ts";
import { type DerivedFields, emptyDerived } from "./views.ts";

/** A relation between two legs, recorded by a rule. */
export interface Relation {
  /** Leg the relation goes from. */
  from: string;
  /** Leg it points to. */
  to: string;
  /** Relation name. */
  relation: string;
  /** Rule that recorded it. */
  rule: string;
}

/** Relations whose legs join the call beside its main path (not instead of a leg on it). */
export const SIDE_RELATIONS: ReadonlySet<string> = new Set(["conference-member", "consultation"]);

/** One leg of a logical call record. */
export interface LogicalLeg {
  /** Leg id. */
  id: string;
  /** Call-ID. */
  callId: string;
  /** Its relations to other legs of the call (empty for the initial leg). */
  relations: { relation: string; to: string }[];
  /** Final state. */
  state: CallRecord["state"];
  /** Caller and callee as on the wire. */
  wire: { caller: string | null; callee: string | null };
  /** The real party on each side of the wire (a feature code replaced by whom it stands for). */
  parties: { caller: string | null; callee: string | null };
  /** Real caller and callee, in the logical call's direction. */
  realCaller: string | null;
  /** Real callee. */
  realCallee: string | null;
  /** Start, answer and end. */
  startTs: number;
  /** Answer time. */
  answerTs: number | null;
  /** End time. */
  endTs: number | null;
  /** Who ended it, as a party. */
  endedBy: string | null;
  /** Whether the recording plugin should record it (`null`: its default). */
  record: boolean | null;
}

/** A stretch of conversation between two parties. */
export interface Talk {
  /** One party (the leg's caller side). */
  from: string | null;
  /** The other party. */
  to: string | null;
  /** Leg that carried it. */
  leg: string;
  /** Start (answer time). */
  start: number;
  /** End. */
  end: number | null;
  /** Hold intervals within it. */
  held: { start: number; end: number | null; by: string | null }[];
}

/** The record of a logical call. */
export interface LogicalCallRecord {
  /** Id: `lc:` and the first leg's id. */
  id: string;
  /** Scenarios, in the order rules gave them; the first is the main one. */
  scenarios: string[];
  /** The main scenario (`normal`, `transfer`, `pickup`, `conference`, `sequential-ring`, …), or `null`. */
  scenario: string | null;
  /** Labels rules added. */
  labels: string[];
  /** The real caller. */
  caller: string | null;
  /** The real callee: who the call ended up with. */
  callee: string | null;
  /** Who answered first. */
  answeredBy: string | null;
  /** Who hung up last. */
  hungUpBy: string | null;
  /** First INVITE. */
  startTs: number;
  /** First answer. */
  answerTs: number | null;
  /** Last end. */
  endTs: number | null;
  /** Legs, in start order. */
  legs: LogicalLeg[];
  /** Relations, as recorded. */
  relations: Relation[];
  /** Who talked to whom, and when. */
  talks: Talk[];
  /** Transfer details, when a leg sent a REFER. */
  transfer: {
    /** `attended` when the Refer-To carried Replaces (after a consultation call), else `blind`. */
    kind: "blind" | "attended";
    /** The transferor. */
    by: string | null;
    /** The party the call was transferred away from (the transferor). */
    from: string | null;
    /** The transfer target. */
    to: string | null;
    /** Final status of the REFER (202 accepted), or `null`. */
    status: number | null;
    /** Last progress the transferee reported in NOTIFY (200 = the target answered), or `null`. */
    progress: number | null;
    /** Whether the capture shows the leg to the target. */
    completed: boolean;
  } | null;
  /** Pickup details, when a leg picked up another. */
  pickup: { code: string | null; by: string | null; from: string | null } | null;
  /** The hunt, when legs were tried one after another. */
  hunt: { extension: string | null; result: string }[] | null;
  /** Conference details, when legs joined as members. */
  conference: {
    master: string;
    startedAt: number | null;
    participants: {
      party: string;
      legs: string[];
      joinedAt: number | null;
      leftAt: number | null;
    }[];
  } | null;
  /** Rules that fired on the call. */
  rules: string[];
}

/** A leg of a logical call, and whether its record is complete. */
export interface Member {
  /** The leg. */
  leg: CallLeg;
  /** Whether its record is complete (`call.completed` was seen). */
  completed: boolean;
}

/** A logical call being built. */
export class LogicalCall {
  /** Id: `lc:` and the first leg's id. */
  readonly id: string;
  /** Legs by id. */
  readonly members: Map<string, Member> = new Map();
  /** Relations. */
  readonly relations: Relation[] = [];
  /** Scenarios, first given first. */
  readonly scenarios: string[] = [];
  /** Labels. */
  readonly labels: string[] = [];
  /** Rules that fired. */
  readonly rules: Set<string> = new Set();
  /** Fields rules set on the logical call. */
  readonly fields: { master: string | null; startedAt: number | null } = {
    master: null,
    startedAt: null,
  };
  /** When its last leg completed. */
  lastCompletedTs = 0;

  /** @param first The first leg. */
  constructor(first: CallLeg) {
    this.id = `lc:${first.id}`;
    this.members.set(first.id, { leg: first, completed: false });
  }

  /** Whether every leg has completed. */
  get complete(): boolean {
    let complete = true;
    this.members.forEach((m) => complete &&= m.completed);
    return complete;
  }
}

/** Keeps logical calls and the fields rules derive. */
export class LogicalCalls {
  readonly #byLeg = new Map<string, LogicalCall>();
  /** Calls whose legs have all completed: the only ones `ready` needs to look at. */
  readonly #complete = new Set<LogicalCall>();
  /**
   * No call of `#complete` completed before this (a lower bound): until the
   * window has passed since it, `ready` has nothing to look at.
   */
  #earliestCompleted = Infinity;
  readonly #derived = new Map<string, DerivedFields>();
  #numbers: NumberRules;
  #windowSeconds: number;
  #servers: ReadonlySet<string>;

  /**
   * @param numbers The site's numbering.
   * @param windowSeconds How long a logical call waits after its last leg completed.
   * @param servers The site's server addresses (empty: found per call).
   */
  constructor(numbers: NumberRules, windowSeconds: number, servers: readonly string[] = []) {
    this.#numbers = numbers;
    this.#windowSeconds = windowSeconds;
    this.#servers = new Set(servers);
  }

  /**
   * Changes the site settings used from now on (a reloaded site file).
   *
   * @param numbers The site's numbering.
   * @param windowSeconds The correlation window.
   * @param servers The site's server addresses.
   */
  configure(numbers: NumberRules, windowSeconds: number, servers: readonly string[]): void {
    this.#numbers = numbers;
    this.#windowSeconds = windowSeconds;
    this.#servers = new Set(servers);
  }

  /** Logical calls being built. */
  get size(): number {
    return new Set(this.#byLeg.values()).size;
  }

  /**
   * The logical call of a leg, created when the leg is new.
   *
   * @param leg The leg.
   * @returns Its logical call.
   */
  of(leg: CallLeg): LogicalCall {
    let call = this.#byLeg.get(leg.id);
    if (!call) {
      call = new LogicalCall(leg);
      this.#byLeg.set(leg.id, call);
    }
    return call;
  }

  /**
   * The logical call of a leg id, if it is still being built.
   *
   * @param legId A leg id.
   * @returns Its logical call.
   */
  byLegId(legId: string): LogicalCall | undefined {
    return this.#byLeg.get(legId);
  }

  /**
   * The derived fields of a leg, created on first use.
   *
   * @param legId A leg id.
   * @returns Its derived fields.
   */
  derived(legId: string): DerivedFields {
    let d = this.#derived.get(legId);
    if (!d) this.#derived.set(legId, d = emptyDerived());
    return d;
  }

  /**
   * The derived fields of a leg, when a rule set any.
   *
   * @param legId A leg id.
   * @returns Its derived fields, or `undefined`.
   */
  peekDerived(legId: string): DerivedFields | undefined {
    return this.#derived.get(legId);
  }

  /**
   * Records a relation and merges the two legs' logical calls.
   *
   * @param from Leg the relation goes from.
   * @param to Leg it points to.
   * @param relation Relation name.
   * @param rule The rule.
   * @returns The merged logical call.
   */
  link(from: CallLeg, to: CallLeg, relation: string, rule: string): LogicalCall {
    const a = this.of(from);
    const b = this.of(to);
    let merged = a;
    if (a !== b) {
      // Keep the call whose first leg started first, so ids stay stable.
      const [keep, drop] = firstStart(a) <= firstStart(b) ? [a, b] : [b, a];
      for (const [id, m] of drop.members) {
        keep.members.set(id, m);
        this.#byLeg.set(id, keep);
      }
      keep.relations.push(...drop.relations);
      for (const s of drop.scenarios) if (!keep.scenarios.includes(s)) keep.scenarios.push(s);
      for (const l of drop.labels) if (!keep.labels.includes(l)) keep.labels.push(l);
      for (const r of drop.rules) keep.rules.add(r);
      keep.fields.master ??= drop.fields.master;
      keep.fields.startedAt ??= drop.fields.startedAt;
      keep.lastCompletedTs = Math.max(keep.lastCompletedTs, drop.lastCompletedTs);
      this.#complete.delete(drop);
      if (!keep.complete) this.#complete.delete(keep);
      else this.#markComplete(keep);
      merged = keep;
    }
    if (
      !merged.relations.some((r) => r.from === from.id && r.to === to.id && r.relation === relation)
    ) {
      merged.relations.push({ from: from.id, to: to.id, relation, rule });
    }
    return merged;
  }

  /**
   * Notes that a leg's record is complete.
   *
   * @param leg The leg.
   * @param ts Completion time.
   */
  completed(leg: CallLeg, ts: number): void {
    const call = this.of(leg);
    const m = call.members.get(leg.id);
    if (m) m.completed = true;
    call.lastCompletedTs = Math.max(call.lastCompletedTs, ts);
    if (call.complete) this.#markComplete(call);
  }

  #markComplete(call: LogicalCall): void {
    this.#complete.add(call);
    if (call.lastCompletedTs < this.#earliestCompleted) {
      this.#earliestCompleted = call.lastCompletedTs;
    }
  }

  /**
   * Logical calls ready to be written: every leg completed and the window passed.
   *
   * @param now Current time; `Infinity` takes every complete call (end of input).
   * @returns The ready calls (not yet removed: the caller writes and removes each).
   */
  ready(now: number): LogicalCall[] {
    const out: LogicalCall[] = [];
    if (now - this.#earliestCompleted < this.#windowSeconds) return out;
    // The calls returned are written and removed by the caller: the bound is over the others.
    let earliest = Infinity;
    // forEach: the set is walked at each completion once the window has passed, without
    // an iterator each time.
    this.#complete.forEach((call) => {
      if (now - call.lastCompletedTs >= this.#windowSeconds) out.push(call);
      else if (call.lastCompletedTs < earliest) earliest = call.lastCompletedTs;
    });
    this.#earliestCompleted = earliest;
    return out;
  }

  /**
   * Every logical call still held (end of input).
   *
   * @returns The calls.
   */
  all(): LogicalCall[] {
    return [...new Set(this.#byLeg.values())];
  }

  /**
   * Forgets a written logical call and the derived fields of its legs.
   *
   * @param call The call.
   */
  remove(call: LogicalCall): void {
    this.#complete.delete(call);
    for (const id of call.members.keys()) {
      if (this.#byLeg.get(id) === call) this.#byLeg.delete(id);
      this.#derived.delete(id);
    }
  }

  /**
   * Builds the record of a logical call.
   *
   * @param call The call.
   * @returns Its record.
   */
  record(call: LogicalCall): LogicalCallRecord {
    const numbers = this.#numbers;
    const legs: CallLeg[] = [];
    call.members.forEach((m) => legs.push(m.leg));
    legs.sort((a, b) => a.startTs - b.startTs);
    const relations = call.relations;
    const derived = (leg: CallLeg) => this.#derived.get(leg.id);
    const party = (leg: CallLeg, side: Side) =>
      derived(leg)?.party[side] ?? partyNumber(leg[side].user, numbers);
    const realCaller = (leg: CallLeg) => derived(leg)?.realCaller ?? party(leg, "caller");
    const realCallee = (leg: CallLeg) => derived(leg)?.realCallee ?? party(leg, "callee");
    const endedBy = (leg: CallLeg) =>
      leg.endedBy === "caller" || leg.endedBy === "callee" ? party(leg, leg.endedBy) : null;
    const main = relations.length === 0 ? legs : mainPath(legs, relations);
    // Along the main path the call moves on by new legs (a transfer, a pickup, a hunt, a
    // B2BUA's second half): the last leg started that was answered is where it ended up.
    let firstAnswered: CallLeg | undefined;
    let reached: CallLeg | undefined;
    let lastEnded: CallLeg | undefined;
    for (const l of main) {
      if (l.answerTs !== null) {
        if (firstAnswered === undefined || l.answerTs < firstAnswered.answerTs!) firstAnswered = l;
        reached = l;
      }
      if (l.endTs !== null && (lastEnded === undefined || l.endTs >= lastEnded.endTs!)) {
        lastEnded = l;
      }
    }
    const first = main[0] ?? legs[0]!;
    let endTs: number | null = null;
    for (const l of legs) if (l.endTs !== null) endTs = Math.max(endTs ?? l.endTs, l.endTs);

    const transferred = (l: CallLeg) =>
      relations.some((r) => r.to === l.id && r.relation === "transferred-to");
    const referring = legs.find((l) => l.refers.length > 0 && transferred(l)) ??
      legs.find((l) => l.refers.length > 0);
    const refer = referring?.refers.findLast((r) => r.status !== null && r.status < 300) ??
      referring?.refers.at(-1);
    const transferTarget = relations.find((r) => r.relation === "transferred-to");
    const targetLeg = transferTarget ? call.members.get(transferTarget.from)?.leg : undefined;
    const pickupRel = relations.find((r) => r.relation === "picked-up-from");
    const pickupLeg = pickupRel ? call.members.get(pickupRel.from)?.leg : undefined;
    const pickedLeg = pickupRel ? call.members.get(pickupRel.to)?.leg : undefined;
    let huntIds: Set<string> | null = null;
    for (const r of relations) {
      if (r.relation === "next-in-hunt") (huntIds ??= new Set()).add(r.from).add(r.to);
    }
    const members = relations.filter((r) => r.relation === "conference-member");

    return {
      id: call.id,
      scenarios: [...call.scenarios],
      scenario: call.scenarios[0] ?? null,
      labels: [...call.labels],
      caller: realCaller(first),
      callee: reached ? realCallee(reached) : realCallee(main.at(-1) ?? first),
      answeredBy: firstAnswered ? realCallee(firstAnswered) : null,
      hungUpBy: lastEnded ? endedBy(lastEnded) : null,
      startTs: legs[0]!.startTs,
      answerTs: firstAnswered?.answerTs ?? null,
      endTs,
      legs: legs.map((l) => ({
        id: l.id,
        callId: l.callId,
        relations: relations.length === 0 ? [] : relations.filter((r) => r.from === l.id).map((
          r,
        ) => ({ relation: r.relation, to: r.to })),
        state: l.state,
        wire: { caller: l.caller.user, callee: l.callee.user },
        parties: { caller: party(l, "caller"), callee: party(l, "callee") },
        realCaller: realCaller(l),
        realCallee: realCallee(l),
        startTs: l.startTs,
        answerTs: l.answerTs,
        endTs: l.endTs,
        endedBy: endedBy(l),
        record: derived(l)?.record ?? null,
      })),
      relations: relations.map((r) => ({ ...r })),
      talks: talksOf(legs, party),
      transfer: refer && referring
        ? {
          kind: refer.replaces ? "attended" : "blind",
          by: party(referring, refer.by),
          from: party(referring, refer.by),
          to: targetLeg ? realCallee(targetLeg) : partyNumber(refer.targetUser, numbers),
          status: refer.status,
          progress: refer.progress,
          completed: transferred(referring),
        }
        : null,
      pickup: pickupLeg && pickedLeg
        ? {
          code: pickupLeg.dialled,
          by: party(pickupLeg, "caller"),
          from: party(pickedLeg, "callee"),
        }
        : null,
      hunt: huntIds !== null
        ? main.filter((l) => huntIds.has(l.id)).map((l) => ({
          extension: party(l, "callee"),
          result: huntResult(l),
        }))
        : null,
      conference: members.length > 0
        ? conferenceOf(call, legs, members, party, this.#servers)
        : null,
      rules: [...call.rules],
    };
  }
}

/** The legs of the main path: all but those beside it ({@link SIDE_RELATIONS}). */
function mainPath(legs: CallLeg[], relations: readonly Relation[]): CallLeg[] {
  const beside = new Set<string>();
  for (const r of relations) if (SIDE_RELATIONS.has(r.relation)) beside.add(r.from);
  return beside.size === 0 ? legs : legs.filter((l) => !beside.has(l.id));
}

/** Who talked to whom and when: one entry per answered leg. */
function talksOf(
  legs: CallLeg[],
  party: (leg: CallLeg, side: Side) => string | null,
): LogicalCallRecord["talks"] {
  const talks: LogicalCallRecord["talks"] = [];
  for (const l of legs) {
    if (l.answerTs === null) continue;
    talks.push({
      from: party(l, "caller"),
      to: party(l, "callee"),
      leg: l.id,
      start: l.answerTs,
      end: l.endTs,
      held: l.holds.map((h) => ({ start: h.start, end: h.end, by: party(l, h.by) })),
    });
  }
  return talks;
}

function firstStart(call: LogicalCall): number {
  let t = Infinity;
  for (const m of call.members.values()) t = Math.min(t, m.leg.startTs);
  return t;
}

/** How a hunt attempt went. */
function huntResult(leg: CallLeg): string {
  if (leg.answerTs !== null) return "answered";
  switch (leg.state) {
    case "busy":
      return "busy";
    case "cancelled":
    case "timed-out":
      return "no-answer";
    default:
      return leg.finalStatus === 480 || leg.finalStatus === 408 ? "no-answer" : leg.state;
  }
}

/**
 * A conference's participants: each party with the legs that carry its own
 * audio (the legs where it is the device end, else where a server
 * represents it), and when it joined (first answer) and left (last end).
 * Servers are the site's, or else the addresses present in every leg.
 */
function conferenceOf(
  call: LogicalCall,
  legs: CallLeg[],
  members: Relation[],
  party: (leg: CallLeg, side: Side) => string | null,
  siteServers: ReadonlySet<string>,
): NonNullable<LogicalCallRecord["conference"]> {
  const master = call.fields.master ?? members[0]!.to;
  let servers = siteServers;
  if (servers.size === 0) {
    const inEvery = legs.map((l) => new Set([l.callerAddress.ip, l.calleeAddress.ip]));
    servers = new Set([...inEvery[0]!].filter((ip) => inEvery.every((set) => set.has(ip))));
  }
  const own = new Map<string, Set<CallLeg>>();
  const represented = new Map<string, Set<CallLeg>>();
  for (const leg of legs) {
    for (const side of ["caller", "callee"] as const) {
      const p = party(leg, side);
      if (p === null) continue;
      const address = side === "caller" ? leg.callerAddress.ip : leg.calleeAddress.ip;
      const target = servers.has(address) ? represented : own;
      if (!target.has(p)) target.set(p, new Set());
      target.get(p)!.add(leg);
    }
  }
  const parties = new Set([...own.keys(), ...represented.keys()]);
  const participants = [...parties].map((p) => {
    const carrying = [...(own.get(p) ?? represented.get(p) ?? [])].sort((a, b) =>
      a.startTs - b.startTs
    );
    const answers = carrying.map((l) => l.answerTs).filter((t): t is number => t !== null);
    const ends = carrying.map((l) => l.endTs).filter((t): t is number => t !== null);
    return {
      party: p,
      legs: carrying.map((l) => l.id),
      joinedAt: answers.length > 0 ? Math.min(...answers) : null,
      leftAt: ends.length > 0 ? Math.max(...ends) : null,
    };
  }).filter((p) => p.joinedAt !== null).sort((a, b) =>
    a.joinedAt! - b.joinedAt! || a.party.localeCompare(b.party)
  );
  return { master, startedAt: call.fields.startedAt, participants };
}
