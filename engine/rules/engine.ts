/**
 * The rule engine: on each call and SIP event it evaluates the rules
 * triggered by that event, in priority order; a rule whose condition holds
 * and whose searches find their legs links legs into logical calls, gives
 * scenarios and labels, sets derived fields and emits events. Rules see call
 * events only — never single RTP packets.
 *
 * @module
 */

import type { CallLeg } from "../calls/leg.ts";
import type { CallTracker } from "../calls/tracker.ts";
import type { EventBus } from "../event_bus.ts";
import type { PacketwaveEvent } from "../events.ts";
import type { SipMessage } from "../sip/types.ts";
import { evaluate, HEADERS, readVariable, truthy, useNumberRules, variablesOf } from "./logic.ts";
import { type LogicalCall, type LogicalCallRecord, LogicalCalls } from "./logical_calls.ts";
import type { Rule, RuleFind } from "./rule_set.ts";
import type { Site } from "./site.ts";
import { type LegView, legView } from "./views.ts";

/** One evaluation of a rule, kept for `rules explain`. */
export interface Explanation {
  /** Rule id. */
  rule: string;
  /** Rule file and line. */
  where: string;
  /** Trigger event. */
  event: string;
  /** Event time. */
  ts: number;
  /** Leg the event was about. */
  legId: string | null;
  /** Whether the rule fired. */
  matched: boolean;
  /** Why it did or did not, in a few words. */
  reason: string;
  /** The values its condition read. */
  values: Record<string, unknown>;
  /** The first clause of a top-level `and` that was false, with the values it read. */
  failedClause: ClauseFailure | null;
  /** What each search looked at and kept, and why candidates were turned down. */
  finds: {
    name: string;
    candidates: number;
    matched: string[];
    rejected: ({ leg: string } & ClauseFailure)[];
  }[];
  /** What it did. */
  actions: string[];
}

/** Options of a {@link RuleEngine}. */
export interface RuleEngineOptions {
  /** The rules, sorted by priority. */
  rules: Rule[];
  /** The site. */
  site: Site;
  /** Keep explanations for events of legs this accepts (a Call-ID filter); none by default. */
  explain?: (leg: CallLeg | null) => boolean;
}

type Context = Record<string, unknown>;

/** A false clause of a condition: its position, text and the values it read. */
export interface ClauseFailure {
  /** Index of the clause in the top-level `and` (0 when the condition is not an `and`). */
  index: number;
  /** The clause as JSON, shortened. */
  clause: string;
  /** Values of the variables the clause read. */
  values: Record<string, unknown>;
}

/** Reads one field of a leg view (written out per field, so each read is a plain property load). */
type FieldReader = (view: LegView) => unknown;

/** Leg fields that never change once a leg exists: searches can look them up in an index. */
const STABLE_FIELDS: ReadonlyMap<string, FieldReader> = new Map<string, FieldReader>([
  ["id", (v) => v.id],
  ["callId", (v) => v.callId],
  ["callerAddress.ip", (v) => v.callerAddress.ip],
  ["calleeAddress.ip", (v) => v.calleeAddress.ip],
  ["caller.user", (v) => v.caller.user],
  ["callee.user", (v) => v.callee.user],
  ["caller.number", (v) => v.caller.number],
  ["callee.number", (v) => v.callee.number],
  ["caller.extension", (v) => v.caller.extension],
  ["callee.extension", (v) => v.callee.extension],
  ["dialled", (v) => v.dialled],
  ["dialledNumber", (v) => v.dialledNumber],
]);

/**
 * Leg fields that, once true, stay true, and become true with a call event
 * (`call.referred`, `call.answered`, `call.ringing`): a truthiness index of
 * them, refreshed on each event, is never stale.
 */
const MONOTONIC_FIELDS: ReadonlyMap<string, FieldReader> = new Map<string, FieldReader>([
  ["refer", (v) => v.refer],
  ["answered", (v) => v.answered],
  ["answerTs", (v) => v.answerTs],
  ["ringingTs", (v) => v.ringingTs],
]);

/** An indexed leg field. */
interface IndexedField {
  /** Reads the field. */
  read: FieldReader;
  /** Whether it is filed by truthiness (a field of {@link MONOTONIC_FIELDS}). */
  monotonic: boolean;
  /** Legs by value. */
  index: Map<unknown, Set<CallLeg>>;
  /** Its position in the list (and in each leg's filing). */
  position: number;
  /** How far into the log of leg events it is filed (an absolute log position). */
  cursor: number;
}

/**
 * The log of leg events is filed into every index once it is this long (and
 * longer than {@link LOG_PER_KNOWN_LEG} entries per known leg): legs whose
 * logical call was written by then are never filed under the indexes no
 * search looked at.
 */
const LOG_FLUSH_ENTRIES = 4096;
/** See {@link LOG_FLUSH_ENTRIES}. */
const LOG_PER_KNOWN_LEG = 8;

/** A leg not filed under an index yet. */
const UNFILED: unique symbol = Symbol("unfiled");

/** Up to this many rejected candidates are explained per search. */
const EXPLAINED_REJECTIONS = 5;

/** Evaluates rules on the event stream and builds logical calls. */
export class RuleEngine {
  /** Logical calls being built. */
  readonly logical: LogicalCalls;
  /** Explanations kept (see `explain`). */
  readonly explanations: Explanation[] = [];
  /** Rule firings per rule id. */
  readonly fired: Map<string, number> = new Map();
  readonly #bus: EventBus;
  readonly #calls: CallTracker;
  #site: Site;
  readonly #byTrigger = new Map<string, Rule[]>();
  readonly #explain: (leg: CallLeg | null) => boolean;
  /** Legs whose logical call is not written yet: in progress (`active`) or completed (`recent`). */
  readonly #known = new Set<CallLeg>();
  /**
   * Indexes of known legs by the fields searches compare, by field path.
   * They are brought up to date when a search reads them (from the log of leg
   * events), so a leg is only filed under the indexes searches use.
   */
  readonly #indexes = new Map<string, IndexedField>();
  /** Legs that had an event, in order, not yet filed into every index. */
  #log: CallLeg[] = [];
  /** Absolute log position of `#log[0]`. */
  #logBase = 0;
  /** The indexes in a list: an index's position is its place in each leg's filing. */
  #indexList: IndexedField[] = [];
  /** Where each known leg is filed in the indexes (by position in the list; {@link UNFILED} if not). */
  #filed = new WeakMap<CallLeg, unknown[]>();
  /** One view per leg: its getters read the live leg, so it never goes stale. */
  #views = new WeakMap<CallLeg, LegView>();
  /** Equality clauses of each search, used to turn candidates down before json-logic runs. */
  readonly #keys = new Map<RuleFind, KeyClause[]>();
  /** The same for each rule's condition, on `leg` and `logical`. */
  readonly #whenKeys = new Map<Rule, KeyClause[]>();
  #now = 0;
  #sipListened = false;
  /** The context rules read, reused from event to event (see `#run`). */
  readonly #context: Context = Object.create(null);
  /** The trigger event in {@link RuleEngine.#context}. */
  readonly #event = { type: "", ts: 0 };
  /** Whether `#run` is using {@link RuleEngine.#context} (a nested run gets its own). */
  #running = false;
  /** The leg whose logical call `logical` shows in the shared context. */
  #logicalLeg: CallLeg | null = null;
  /** That view once built (`undefined`: not yet, or stale after a rule acted). */
  #logicalCache: Context | null | undefined = undefined;

  /**
   * @param bus The bus: the engine listens to call and SIP events and emits its own.
   * @param calls The call tracker, for the legs in progress.
   * @param options Rules, site and explanation filter.
   */
  constructor(bus: EventBus, calls: CallTracker, options: RuleEngineOptions) {
    this.#bus = bus;
    this.#calls = calls;
    this.#site = options.site;
    this.#explain = options.explain ?? (() => false);
    this.logical = new LogicalCalls(
      options.site.numberRules,
      options.site.settings.windows.correlationSeconds,
      options.site.settings.servers,
    );
    this.#install(options.rules);
    this.#context.event = this.#event;
    // Most rules never read `logical`: its view is built only when one does.
    Object.defineProperty(this.#context, "logical", {
      get: () => this.#currentLogical(),
      enumerable: true,
      configurable: true,
    });
    const owner = "rules";
    for (
      const type of [
        "call.started",
        "call.ringing",
        "call.answered",
        "call.held",
        "call.resumed",
        "call.referred",
        "call.ended",
      ] as const
    ) {
      bus.on(type, (e) => this.#onCall(e.type, e.ts, e.leg), owner);
    }
    bus.on("call.completed", (e) => {
      this.#onCall(e.type, e.ts, e.leg);
      this.logical.completed(e.leg, e.ts);
      this.tick(e.ts);
    }, owner);
  }

  /** Listens to SIP messages from the first rule that is triggered by them (most are not). */
  #listenToSip(): void {
    if (this.#sipListened) return;
    this.#sipListened = true;
    this.#bus.on("sip.request", (e) => this.#onSip(e.type, e.ts, e.message), "rules");
    this.#bus.on("sip.response", (e) => this.#onSip(e.type, e.ts, e.message), "rules");
  }

  /**
   * Replaces the rules (and the site) while running: a live appliance
   * reloads edited rule files this way. Logical calls in progress keep what
   * earlier rules gave them; later events see the new rules.
   *
   * @param rules The new rules, sorted by priority.
   * @param site The new site (the current one when omitted).
   */
  setRules(rules: Rule[], site: Site = this.#site): void {
    this.#site = site;
    this.logical.configure(
      site.numberRules,
      site.settings.windows.correlationSeconds,
      site.settings.servers,
    );
    this.#views = new WeakMap();
    this.#filed = new WeakMap();
    this.#byTrigger.clear();
    this.#keys.clear();
    this.#whenKeys.clear();
    this.#indexes.clear();
    this.#indexList = [];
    this.#log = [];
    this.#logBase = 0;
    this.#install(rules);
    for (const leg of this.#known) this.#log.push(leg);
  }

  #install(rules: Rule[]): void {
    for (const rule of rules) {
      for (const find of rule.find) {
        const keys = keyClauses(find.where, [find.name]);
        this.#keys.set(find, keys);
        for (const k of keys) {
          const path = k.field;
          const read = k.test === looseEqual || k.test === member
            ? STABLE_FIELDS.get(path)
            : k.test === isTruthy
            ? MONOTONIC_FIELDS.get(path)
            : undefined;
          if (read !== undefined && !this.#indexes.has(path)) {
            const field: IndexedField = {
              read,
              monotonic: MONOTONIC_FIELDS.has(path),
              index: new Map(),
              position: this.#indexList.length,
              cursor: this.#logBase,
            };
            this.#indexes.set(path, field);
            this.#indexList.push(field);
          }
        }
      }
      if (rule.when !== null) this.#whenKeys.set(rule, keyClauses(rule.when, ["leg", "logical"]));
      for (const trigger of rule.on) {
        if (trigger === "sip.request" || trigger === "sip.response") this.#listenToSip();
        let list = this.#byTrigger.get(trigger);
        if (!list) this.#byTrigger.set(trigger, list = []);
        list.push(rule);
      }
    }
  }

  /**
   * Writes the logical calls whose window has passed.
   *
   * @param now Current time.
   */
  tick(now: number): void {
    if (now > this.#now) this.#now = now;
    for (const call of this.logical.ready(this.#now)) this.#write(call, this.#now);
  }

  /** Writes every logical call still held (end of input). */
  flush(): void {
    for (const call of this.logical.all()) this.#write(call, this.#now);
  }

  #onCall(type: string, ts: number, leg: CallLeg): void {
    if (ts > this.#now) this.#now = ts;
    this.logical.of(leg);
    this.#index(leg);
    const rules = this.#byTrigger.get(type);
    if (rules) this.#run(rules, type, ts, leg, null);
  }

  #onSip(type: string, ts: number, message: SipMessage): void {
    const rules = this.#byTrigger.get(type);
    if (rules) this.#run(rules, type, ts, this.#calls.leg(message.callId) ?? null, message);
  }

  #write(call: LogicalCall, ts: number): void {
    const rules = this.#byTrigger.get("logical.completing");
    let first: CallLeg | undefined;
    call.members.forEach((m) => {
      if (first === undefined || m.leg.startTs < first.startTs) first = m.leg;
    });
    if (rules && first) this.#run(rules, "logical.completing", ts, first, null);
    const current = first ? this.logical.byLegId(first.id) ?? call : call;
    const record: LogicalCallRecord = this.logical.record(current);
    this.logical.remove(current);
    current.members.forEach((member) => this.#forget(member.leg));
    this.#bus.emit({ type: "logical.completed", ts, call: record });
  }

  /**
   * Notes an event of a leg: it is filed (again: a monotonic field may have
   * become true) under each index when a search next reads that index.
   */
  #index(leg: CallLeg): void {
    this.#known.add(leg);
    if (this.#indexList.length === 0) return;
    this.#log.push(leg);
    const log = this.#log;
    if (log.length >= LOG_FLUSH_ENTRIES && log.length >= LOG_PER_KNOWN_LEG * this.#known.size) {
      for (const field of this.#indexList) this.#bringUpToDate(field);
      this.#logBase += log.length;
      this.#log = [];
    }
  }

  /** Files the legs of the log the index has not seen yet (those still known). */
  #bringUpToDate(field: IndexedField): void {
    const log = this.#log;
    const end = this.#logBase + log.length;
    for (let at = field.cursor; at < end; at++) {
      const leg = log[at - this.#logBase]!;
      if (this.#known.has(leg)) this.#file(leg, field);
    }
    field.cursor = end;
  }

  /** Files a leg under one index. */
  #file(leg: CallLeg, field: IndexedField): void {
    let filed = this.#filed.get(leg);
    if (!filed) this.#filed.set(leg, filed = new Array(this.#indexList.length).fill(UNFILED));
    const i = field.position;
    const before = filed[i];
    // A stable field filed once, or a monotonic one already true, cannot have changed.
    if (before !== UNFILED && (!field.monotonic || before === true)) return;
    const raw = field.read(this.#view(leg)) ?? null;
    const value = field.monotonic ? truthy(raw) : raw;
    if (before === value) return;
    const index = field.index;
    if (before !== UNFILED) index.get(before)?.delete(leg);
    let set = index.get(value);
    if (!set) index.set(value, set = new Set());
    set.add(leg);
    filed[i] = value;
  }

  #forget(leg: CallLeg): void {
    if (!this.#known.delete(leg)) return;
    const filed = this.#filed.get(leg) ?? [];
    const list = this.#indexList;
    for (let i = 0; i < filed.length && i < list.length; i++) {
      const value = filed[i];
      if (value === UNFILED) continue;
      const index = list[i]!.index;
      const set = index.get(value);
      set?.delete(leg);
      if (set?.size === 0) index.delete(value);
    }
    this.#filed.delete(leg);
  }

  #view(leg: CallLeg): LegView {
    let view = this.#views.get(leg);
    if (!view) {
      view = legView(leg, {
        numbers: this.#site.numberRules,
        derived: (id) => this.logical.peekDerived(id),
        logicalOf: (id) => {
          const call = this.logical.byLegId(id);
          return {
            id: call?.id ?? `lc:${id}`,
            scenarios: call?.scenarios ?? [],
            relations: call?.relations.filter((r) =>
              r.from === id
            ).map((r) => ({ relation: r.relation, to: r.to })) ?? [],
          };
        },
      });
      this.#views.set(leg, view);
    }
    return view;
  }

  #run(
    rules: Rule[],
    type: string,
    ts: number,
    leg: CallLeg | null,
    message: SipMessage | null,
  ): void {
    useNumberRules(this.#site.numberRules);
    const explaining = this.#explain(leg);
    if (explaining || this.#running) {
      // Explanations keep what they read: they get a context of their own.
      const context: Context = Object.create(null);
      context.event = { type, ts };
      context.logical = leg ? this.#logicalView(this.logical.of(leg)) : null;
      this.#runRules(rules, context, type, ts, leg, message, explaining);
      return;
    }
    // Otherwise every event uses the same context, set up here and cleared after: rules
    // run on every call event, and a new context each time was most of what they allocated.
    const context = this.#context;
    this.#running = true;
    this.#event.type = type;
    this.#event.ts = ts;
    this.#logicalLeg = leg;
    this.#logicalCache = undefined;
    try {
      this.#runRules(rules, context, type, ts, leg, message, false);
    } finally {
      for (let r = 0; r < rules.length; r++) {
        const finds = rules[r]!.find;
        for (let f = 0; f < finds.length; f++) delete context[finds[f]!.name];
      }
      delete context.message;
      this.#logicalLeg = null;
      this.#logicalCache = undefined;
      this.#running = false;
    }
  }

  /** Evaluates the rules of one event in order, acting on those that hold. */
  #runRules(
    rules: Rule[],
    context: Context,
    type: string,
    ts: number,
    leg: CallLeg | null,
    message: SipMessage | null,
    explaining: boolean,
  ): void {
    context.site = this.#site.variables;
    const legView = leg ? this.#view(leg) : null;
    context.leg = legView;
    if (message) context.message = messageView(message);
    let previous: Rule | null = null;
    // Indexed loops here and below: this runs on every call event, and iterators allocate.
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      // A rule's search names are gone before the next rule.
      if (previous !== null && previous.find.length > 0) {
        for (let f = 0; f < previous.find.length; f++) delete context[previous.find[f]!.name];
        context.leg = legView;
      }
      previous = rule;
      const explanation: Explanation | null = explaining
        ? {
          rule: rule.id,
          where: `${rule.file}:${rule.line}`,
          event: type,
          ts,
          legId: leg?.id ?? null,
          matched: false,
          reason: "",
          values: {},
          failedClause: null,
          finds: [],
          actions: [],
        }
        : null;
      if (explanation && rule.when !== null) {
        for (const name of variablesOf(rule.when)) {
          explanation.values[name] = summarize(readVariable(context, name));
        }
      }
      const holds = rule.when === null ||
        (this.#keysHold(rule, context, explanation !== null) &&
          truthy(this.#evaluate(rule, rule.when, context)));
      if (!holds) {
        if (explanation) {
          explanation.reason = "condition false";
          explanation.failedClause = this.#whyFalse(rule, rule.when, context);
          this.explanations.push(explanation);
        }
        continue;
      }
      const bindings = this.#find(rule, leg, context, explanation);
      if (bindings.length === 0) {
        if (explanation) {
          explanation.reason = "no leg matched a search";
          this.explanations.push(explanation);
        }
        continue;
      }
      for (const binding of bindings) this.#act(rule, ts, leg, binding, context, explanation);
      // The next rules see what this one did to the logical call.
      if (leg && context === this.#context) this.#logicalCache = undefined;
      else if (leg) context.logical = this.#logicalView(this.logical.of(leg));
      this.fired.set(rule.id, (this.fired.get(rule.id) ?? 0) + 1);
      if (explanation) {
        explanation.matched = true;
        explanation.reason = "condition true" + (rule.find.length > 0 ? ", searches matched" : "");
        this.explanations.push(explanation);
      }
      if (rule.stop) break;
    }
  }

  /** The view of the logical call of the event's leg in the shared context, built when read. */
  #currentLogical(): Context | null {
    if (this.#logicalCache === undefined) {
      const leg = this.#logicalLeg;
      this.#logicalCache = leg ? this.#logicalView(this.logical.of(leg)) : null;
    }
    return this.#logicalCache;
  }

  #evaluate(rule: Rule, logic: unknown, context: Context): unknown {
    try {
      return evaluate(logic, context);
    } catch (error) {
      this.#bus.emit({
        type: "anomaly",
        ts: this.#now,
        frame: 0,
        layer: "rules",
        reason: "rules.evaluation-error",
        detail: `rule ${rule.id} (${rule.file}:${rule.line}): ${(error as Error).message}`,
      });
      return false;
    }
  }

  /** Runs the rule's searches; returns one binding per match of an `all` search (else one). */
  #find(
    rule: Rule,
    leg: CallLeg | null,
    context: Context,
    explanation: Explanation | null,
  ): Binding[] {
    let bindings: Binding[] = [[leg]];
    for (const find of rule.find) {
      const next: Binding[] = [];
      for (const binding of bindings) {
        this.#bind(rule, binding, context);
        const matches = this.#search(rule, find, binding, context, explanation !== null);
        explanation?.finds.push({
          name: find.name,
          candidates: matches.candidates,
          matched: matches.legs.map((l) => l.id),
          rejected: matches.rejected,
        });
        if (matches.legs.length === 0) {
          if (find.optional) next.push([...binding, null]);
          continue;
        }
        for (const found of matches.legs) next.push([...binding, found]);
      }
      bindings = next;
      if (bindings.length === 0) break;
    }
    return bindings;
  }

  /** Puts the views of a binding's legs into the context, under their names. */
  #bind(rule: Rule, binding: Binding, context: Context): void {
    for (let i = 0; i < binding.length; i++) {
      const bound = binding[i] ?? null;
      context[i === 0 ? "leg" : rule.find[i - 1]!.name] = bound ? this.#view(bound) : null;
    }
  }

  #search(
    rule: Rule,
    find: RuleFind,
    binding: Binding,
    context: Context,
    explaining: boolean,
  ): SearchResult {
    // Values the candidate must equal (or be in), computed once for all candidates.
    const keys = explaining ? NO_KEYS : this.#keys.get(find) ?? NO_KEYS;
    const wanted: unknown[] = [];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      wanted.push(k.constant ? k.value : this.#evaluate(rule, k.value, context));
    }
    // A key on an indexed field picks the candidates from its index: the smallest set wins.
    let source: Iterable<CallLeg> = this.#known;
    let size = this.#known.size;
    for (let i = 0; i < keys.length && size > 0; i++) {
      const k = keys[i]!;
      const field = this.#indexes.get(k.field);
      if (!field) continue;
      this.#bringUpToDate(field);
      const index = field.index;
      let set: Set<CallLeg> | undefined;
      if (k.test === isTruthy) set = index.get(true);
      else if (k.test === looseEqual) set = index.get(wanted[i]);
      else if (k.test === member && Array.isArray(wanted[i])) {
        set = new Set((wanted[i] as unknown[]).flatMap((v) => [...(index.get(v) ?? [])]));
      } else continue;
      if (set === undefined || set.size < size) {
        source = set ?? NO_LEGS;
        size = set?.size ?? 0;
      }
    }
    // No candidate: the search is over before anything is built for it.
    if (size === 0) return explaining ? { candidates: 0, legs: [], rejected: [] } : NO_MATCH;
    const rejected: ({ leg: string } & ClauseFailure)[] = [];
    const anchor = binding[0]?.startTs ?? this.#now;
    const matched: CallLeg[] = [];
    let candidates = 0;
    // The candidates of the kind the search looks among (in progress, completed, or any).
    const pool: CallLeg[] = [];
    for (const l of source) {
      if (find.among === "any" || (find.among === "recent") === l.completed) pool.push(l);
    }
    for (const candidate of pool) {
      if (isBound(binding, candidate)) continue;
      candidates++;
      const view = this.#view(candidate);
      if (!keysHold(keys, wanted, view)) continue;
      context[find.name] = view;
      if (truthy(this.#evaluate(rule, find.where, context))) matched.push(candidate);
      else if (explaining && rejected.length < EXPLAINED_REJECTIONS) {
        const why = this.#whyFalse(rule, find.where, context);
        if (why) rejected.push({ leg: candidate.id, ...why });
      }
    }
    delete context[find.name];
    if (matched.length <= 1 || find.pick === "all") {
      return { candidates, legs: matched.sort((a, b) => a.startTs - b.startTs), rejected };
    }
    const best = matched.reduce((a, b) => {
      switch (find.pick) {
        case "earliest":
          return b.startTs < a.startTs ? b : a;
        case "latest":
          return b.startTs > a.startTs ? b : a;
        default:
          return Math.abs(b.startTs - anchor) < Math.abs(a.startTs - anchor) ? b : a;
      }
    });
    return { candidates, legs: [best], rejected };
  }

  /** Whether the simple clauses of a rule's condition hold (json-logic decides the rest). */
  #keysHold(rule: Rule, context: Context, explaining: boolean): boolean {
    if (explaining) return true;
    const keys = this.#whenKeys.get(rule) ?? NO_KEYS;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const wanted = k.constant ? k.value : this.#evaluate(rule, k.value, context);
      if (!k.test(readPath(context[k.root], k.path), wanted)) return false;
    }
    return true;
  }

  /** Finds the first false clause of a condition (each clause of a top-level `and`, else the whole). */
  #whyFalse(rule: Rule, logic: unknown, context: Context): ClauseFailure | null {
    const clauses = isAnd(logic) ? logic.and : [logic];
    for (const [index, clause] of clauses.entries()) {
      if (truthy(this.#evaluate(rule, clause, context))) continue;
      const values: Record<string, unknown> = {};
      for (const name of variablesOf(clause)) values[name] = summarize(readVariable(context, name));
      const text = JSON.stringify(clause);
      return { index, clause: text.length > 160 ? `${text.slice(0, 159)}…` : text, values };
    }
    return null;
  }

  #act(
    rule: Rule,
    ts: number,
    leg: CallLeg | null,
    binding: Binding,
    context: Context,
    explanation: Explanation | null,
  ): void {
    this.#bind(rule, binding, context);
    const note = (text: string) => explanation?.actions.push(text);
    for (const link of rule.links) {
      const from = boundLeg(rule, binding, link.from);
      const to = boundLeg(rule, binding, link.to);
      if (!from || !to) continue;
      this.logical.link(from, to, link.relation, rule.id);
      note(`link ${from.id} ${link.relation} ${to.id}`);
    }
    // Values are evaluated before any is assigned, so they all see the same state.
    const values = rule.set.map((s) => ({ s, value: this.#evaluate(rule, s.value, context) }));
    const legs = binding.filter((l): l is CallLeg => l !== null);
    const anchorLeg = leg ?? legs[0] ?? null;
    const call = anchorLeg ? this.logical.of(anchorLeg) : null;
    for (const { s, value } of values) {
      if (s.target === "logical") {
        if (!call) continue;
        if (s.field === "master") call.fields.master = typeof value === "string" ? value : null;
        else call.fields.startedAt = typeof value === "number" ? value : null;
        note(`set logical.${s.field} = ${JSON.stringify(value)}`);
        continue;
      }
      const target = boundLeg(rule, binding, s.target);
      if (!target) continue;
      const d = this.logical.derived(target.id);
      const text = value === null || value === undefined ? null : String(value);
      switch (s.field) {
        case "realCaller":
          d.realCaller = text;
          break;
        case "realCallee":
          d.realCallee = text;
          break;
        case "record":
          d.record = typeof value === "boolean" ? value : truthy(value);
          break;
        case "party.caller":
          d.party.caller = text;
          break;
        case "party.callee":
          d.party.callee = text;
          break;
      }
      note(`set ${s.target}.${s.field} = ${JSON.stringify(value)}`);
    }
    if (!call) return;
    call.rules.add(rule.id);
    for (const label of rule.labels) {
      if (!call.labels.includes(label)) call.labels.push(label);
      note(`label ${label}`);
    }
    if (rule.scenario !== null) {
      if (!call.scenarios.includes(rule.scenario)) {
        call.scenarios.push(rule.scenario);
        this.#bus.emit({
          type: "scenario.matched",
          ts,
          scenario: rule.scenario,
          rule: rule.id,
          logicalId: call.id,
          legIds: legs.map((l) => l.id),
        });
      }
      note(`scenario ${rule.scenario}`);
    }
    if (rule.emit !== null) {
      this.#bus.emit({
        type: "rule.event",
        ts,
        rule: rule.id,
        label: rule.emit,
        logicalId: call.id,
        legIds: legs.map((l) => l.id),
      });
      note(`emit ${rule.emit}`);
    }
  }

  #logicalView(call: LogicalCall): Context {
    let answered = false;
    call.members.forEach((m) => {
      if (m.leg.answerTs !== null) answered = true;
    });
    return {
      id: call.id,
      scenarios: [...call.scenarios],
      labels: [...call.labels],
      legCount: call.members.size,
      answered,
      master: call.fields.master,
    };
  }
}

/** A clause of a search that compares a candidate field with a value not depending on the candidate. */
interface KeyClause {
  /** The variable the field is under: a search's name, `leg` or `logical`. */
  root: string;
  /** Path of the field below the root. */
  path: string[];
  /** Expression of the value (evaluated once per search). */
  value: unknown;
  /** The comparison, as json-logic makes it. */
  test: (field: unknown, wanted: unknown) => boolean;
  /** The path joined with dots: the name of its index, if the field has one. */
  field: string;
  /** Whether `value` is a constant (else it is evaluated for each search). */
  constant: boolean;
  /** The field's reader, for the fields indexes know; else the path is walked. */
  read: FieldReader | null;
}

/** No key clauses. */
const NO_KEYS: readonly KeyClause[] = Object.freeze([]);
/** No legs. */
const NO_LEGS: ReadonlySet<CallLeg> = new Set();

/** The legs a rule has bound so far: the event's leg, then one per search, in order (null: none). */
type Binding = (CallLeg | null)[];

/** What a search found. */
interface SearchResult {
  /** Candidates looked at. */
  candidates: number;
  /** The legs kept. */
  legs: readonly CallLeg[];
  /** Why some candidates were turned down (when explaining). */
  rejected: ({ leg: string } & ClauseFailure)[];
}

/** A search that had no candidate (shared: nothing is built for it). */
const NO_MATCH: SearchResult = Object.freeze({
  candidates: 0,
  legs: Object.freeze([]),
  rejected: [],
});

/** Whether a leg is already bound (a search never finds a leg bound before it). */
function isBound(binding: Binding, leg: CallLeg): boolean {
  for (let i = 0; i < binding.length; i++) if (binding[i]?.id === leg.id) return true;
  return false;
}

/** The leg bound under a name (`leg` or a search's name), if any. */
function boundLeg(rule: Rule, binding: Binding, name: string): CallLeg | null {
  if (name === "leg") return binding[0] ?? null;
  const at = rule.find.findIndex((f) => f.name === name);
  return at < 0 ? null : binding[at + 1] ?? null;
}

/** Whether a candidate's view passes every key clause, given their wanted values. */
function keysHold(keys: readonly KeyClause[], wanted: readonly unknown[], view: LegView): boolean {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const value = k.read !== null ? k.read(view) ?? null : readPath(view, k.path);
    if (!k.test(value, wanted[i])) return false;
  }
  return true;
}

/** `==` as json-logic makes it (JavaScript's loose equality). */
function looseEqual(a: unknown, b: unknown): boolean {
  // deno-lint-ignore eqeqeq
  return a == b;
}

/** A value json-logic would return as it is (not an operation). */
function isConstant(value: unknown): boolean {
  return value === null || typeof value !== "object" ||
    (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object"));
}

function isTruthy(a: unknown): boolean {
  return truthy(a);
}

function isFalsy(a: unknown): boolean {
  return !truthy(a);
}

/** `in` as json-logic makes it: a member of a list, or a substring. */
function member(a: unknown, b: unknown): boolean {
  if (Array.isArray(b)) return b.includes(a);
  return typeof b === "string" && typeof a === "string" && b.includes(a);
}

/**
 * The clauses of a condition's top-level `and` that compare a field under one
 * of `roots` with a value that does not depend on those roots: equality,
 * membership, truthiness. They can be checked without json-logic to turn
 * candidates down early; json-logic still decides the ones that pass.
 */
function keyClauses(logic: unknown, roots: string[]): KeyClause[] {
  const clauses = isAnd(logic) ? logic.and : [logic];
  const onRoot = (x: unknown): { root: string; path: string[] } | null => {
    if (typeof x !== "object" || x === null || !("var" in x)) return null;
    const name = (x as { var: unknown }).var;
    if (typeof name !== "string") return null;
    const [root = "", ...path] = name.split(".");
    return roots.includes(root) && path.length > 0 ? { root, path } : null;
  };
  const free = (x: unknown) =>
    !variablesOf(x).some((v) => roots.some((root) => v === root || v.startsWith(`${root}.`)));
  const keys: KeyClause[] = [];
  const add = (
    at: { root: string; path: string[] },
    value: unknown,
    test: KeyClause["test"],
  ): void => {
    const field = at.path.join(".");
    const read = STABLE_FIELDS.get(field) ?? MONOTONIC_FIELDS.get(field) ?? null;
    keys.push({ ...at, value, test, field, constant: isConstant(value), read });
  };
  for (const clause of clauses) {
    if (typeof clause !== "object" || clause === null || Object.keys(clause).length !== 1) continue;
    const [op, args] = Object.entries(clause)[0]!;
    const one = Array.isArray(args) ? (args.length === 1 ? args[0] : undefined) : args;
    if (op === "!!" || op === "!") {
      const at = onRoot(one);
      if (at) add(at, null, op === "!!" ? isTruthy : isFalsy);
      continue;
    }
    if (!Array.isArray(args) || args.length !== 2) continue;
    const [a, b] = args;
    if (op === "==") {
      const pa = onRoot(a);
      const pb = onRoot(b);
      if (pa && free(b)) add(pa, b, looseEqual);
      else if (pb && free(a)) add(pb, a, looseEqual);
    } else if (op === "in") {
      const pa = onRoot(a);
      if (pa && free(b)) add(pa, b, member);
    }
  }
  return keys;
}

/** Reads a path of properties, stopping at null. */
function readPath(value: unknown, path: string[]): unknown {
  let current = value;
  for (let i = 0; i < path.length; i++) {
    if (current === null || current === undefined) return null;
    current = (current as Record<string, unknown>)[path[i]!];
  }
  return current ?? null;
}

function isAnd(logic: unknown): logic is { and: unknown[] } {
  return typeof logic === "object" && logic !== null &&
    Array.isArray((logic as { and?: unknown }).and) &&
    Object.keys(logic).length === 1;
}

/** A leg view read whole is shown by its id; everything else as it is. */
function summarize(value: unknown): unknown {
  if (typeof value === "object" && value !== null && "callId" in value && "id" in value) {
    return `<leg ${(value as { id: string }).id}>`;
  }
  return value;
}

function messageView(m: SipMessage): Context {
  const headers = Object.create(null) as Record<string, string>;
  for (const [name, value] of m.headers.entries()) {
    if (!(name in headers)) {
      Object.defineProperty(headers, name, { value, enumerable: true, writable: true });
    }
  }
  const view: Context = {
    method: m.kind === "request" ? m.method : m.cseq?.method ?? null,
    status: m.kind === "response" ? m.status : null,
    requestUser: m.kind === "request" ? m.requestUri?.user ?? null : null,
    fromUser: m.from?.uri?.user ?? null,
    toUser: m.to?.uri?.user ?? null,
    callId: m.callId,
    headers,
  };
  Object.defineProperty(view, HEADERS, { value: m.headers, enumerable: false });
  return view;
}

/** A function that keeps explanations for the legs of one Call-ID (or all legs with `*`). */
export function explainFilter(callId: string | null): (leg: CallLeg | null) => boolean {
  if (callId === null || callId === "*") return () => true;
  return (leg) => leg !== null && (leg.callId === callId || leg.id === callId);
}

/** Events the engine adds to the stream. */
export type RuleEngineEvent = Extract<
  PacketwaveEvent,
  { type: "scenario.matched" | "rule.event" | "logical.completed" }
>;
