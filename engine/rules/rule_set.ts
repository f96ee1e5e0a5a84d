/**
 * Rule files: their format, loading and validation. Every problem —
 * YAML syntax, an unknown key, a wrong type, an unknown json-logic operator,
 * an unknown context variable — is reported with file, line, column and a
 * reason, before the first packet is read.
 *
 * @module
 */

import { isAbsolute, relative } from "node:path";
import { checkLogic, type Logic } from "./logic.ts";
import {
  EVENT_SCHEMA,
  LEG_SCHEMA,
  LOGICAL_SCHEMA,
  MESSAGE_SCHEMA,
  pathExists,
  valuePathExists,
} from "./context_schema.ts";
import type { Site } from "./site.ts";
import { type LocatedDocument, RuleFileError } from "./located.ts";
import { readLocatedYaml, type YamlCacheOptions } from "./yaml_cache.ts";

/** Events a rule can be triggered by. */
export const TRIGGERS: ReadonlySet<string> = new Set([
  "call.started",
  "call.ringing",
  "call.answered",
  "call.held",
  "call.resumed",
  "call.referred",
  "call.ended",
  "call.completed",
  "logical.completing",
  "sip.request",
  "sip.response",
]);

/** Which legs a `find` looks among. */
export type Among = "active" | "recent" | "any";

/** Which candidate(s) a `find` keeps. */
export type Pick = "nearest" | "earliest" | "latest" | "all";

/** A search for related legs, bound to a name. */
export interface RuleFind {
  /** The name the found leg goes by in later conditions and actions. */
  name: string;
  /** Legs in progress, legs completed within the correlation window, or both. */
  among: Among;
  /** Condition on the candidate (as the name) and everything bound before. */
  where: Logic;
  /** The candidate nearest in start time to `leg`, the earliest, the latest, or all of them. */
  pick: Pick;
  /** When true, the rule still fires without a match (the name is then null). */
  optional: boolean;
}

/** A relation to record between two legs. */
export interface RuleLink {
  /** Name of the leg the relation goes from. */
  from: string;
  /** Name of the leg it points to. */
  to: string;
  /** Relation name (`transferred-to`, `picked-up-from`, `conference-member`, `next-in-hunt`, …). */
  relation: string;
}

/** A derived field to set. */
export interface RuleSet {
  /** `leg`, a find name, or `logical`. */
  target: string;
  /** Field: realCaller, realCallee, record, party.caller, party.callee (legs); master, startedAt (logical). */
  field: string;
  /** Its value, as a json-logic expression. */
  value: Logic;
}

/** One rule. */
export interface Rule {
  /** Unique id. */
  id: string;
  /** What the rule recognizes, in words. */
  description: string;
  /** Higher runs first; ties keep file order. */
  priority: number;
  /** Trigger events. */
  on: string[];
  /** Condition on the trigger's leg (and event, site, logical call), or `null` for always. */
  when: Logic | null;
  /** Searches for related legs, in order. */
  find: RuleFind[];
  /** Scenario to give the logical call, or `null`. */
  scenario: string | null;
  /** Relations to record. */
  links: RuleLink[];
  /** Derived fields to set. */
  set: RuleSet[];
  /** Labels to add to the logical call. */
  labels: string[];
  /** A label for a `rule.event` to emit, or `null`. */
  emit: string | null;
  /** Stop evaluating lower-priority rules for this event when this one fires. */
  stop: boolean;
  /** File it came from. */
  file: string;
  /** Line of its `id`. */
  line: number;
}

const RULE_KEYS = new Set([
  "id",
  "description",
  "priority",
  "on",
  "when",
  "find",
  "then",
  "stop",
  "enabled",
]);
const FIND_KEYS = new Set(["among", "where", "pick", "optional"]);
const THEN_KEYS = new Set(["scenario", "link", "set", "label", "labels", "emit"]);
const LINK_KEYS = new Set(["from", "to", "relation"]);
const LEG_FIELDS = new Set(["realCaller", "realCallee", "record", "party.caller", "party.callee"]);
const LOGICAL_FIELDS = new Set(["master", "startedAt"]);
const NAME = /^[a-z][a-zA-Z0-9_]*$/;
const IDENT = /^[a-z0-9][a-z0-9._-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Checks a variable name against the documented context.
 *
 * @param name Dotted variable name.
 * @param names Leg names bound at that point (`leg` and find names).
 * @param site The site, for `site.*`.
 * @param sip Whether `message` is available (sip.* triggers).
 * @returns Whether the variable is known.
 */
export function knownVariable(
  name: string,
  names: ReadonlySet<string>,
  site: Site,
  sip: boolean,
): boolean {
  const [root = "", ...rest] = name.split(".");
  if (names.has(root)) return pathExists(LEG_SCHEMA, rest);
  switch (root) {
    case "event":
      return pathExists(EVENT_SCHEMA, rest);
    case "logical":
      return pathExists(LOGICAL_SCHEMA, rest);
    case "site":
      return valuePathExists(site.variables, rest);
    case "message":
      return sip && pathExists(MESSAGE_SCHEMA, rest);
    default:
      return false;
  }
}

/**
 * Validates one rule file's document and builds its rules.
 *
 * @param doc The parsed file.
 * @param site The site the rules will run with (for `site.*` variables).
 * @returns The rules that are sound, and every problem found.
 */
export function rulesFromDocument(
  doc: LocatedDocument,
  site: Site,
): { rules: Rule[]; errors: RuleFileError[] } {
  const errors: RuleFileError[] = [];
  const rules: Rule[] = [];
  const fail = (path: (string | number)[], reason: string, key = false) =>
    errors.push(new RuleFileError(doc.file, key ? doc.keyAt(path) : doc.at(path), reason));
  const root = doc.value;
  if (root === null) return { rules, errors }; // an empty file
  if (!isRecord(root)) {
    fail([], "a rule file is a map with a 'rules' list");
    return { rules, errors };
  }
  for (const key of Object.keys(root)) {
    if (key !== "rules") fail([key], `unknown key '${key}' (a rule file has only 'rules')`, true);
  }
  const list = root.rules;
  if (list === undefined || list === null) return { rules, errors };
  if (!Array.isArray(list)) {
    fail(["rules"], "'rules' must be a list of rules");
    return { rules, errors };
  }
  list.forEach((raw, i) => {
    const before = errors.length;
    const rule = ruleFrom(raw, ["rules", i]);
    if (rule && errors.length === before) rules.push(rule);
  });
  return { rules, errors };

  function ruleFrom(raw: unknown, path: (string | number)[]): Rule | null {
    if (!isRecord(raw)) {
      fail(path, "a rule must be a map");
      return null;
    }
    for (const key of Object.keys(raw)) {
      if (!RULE_KEYS.has(key)) fail([...path, key], `unknown key '${key}' in a rule`, true);
    }
    if (raw.enabled === false) return null;
    const id = raw.id;
    if (typeof id !== "string" || !IDENT.test(id)) {
      fail([...path, "id"], "a rule needs an 'id' of lower-case letters, digits, '.', '-' or '_'");
    }
    const description = typeof raw.description === "string" ? raw.description : "";
    if (raw.description !== undefined && typeof raw.description !== "string") {
      fail([...path, "description"], "'description' must be text");
    }
    const priority = raw.priority ?? 0;
    if (typeof priority !== "number" || !Number.isFinite(priority)) {
      fail([...path, "priority"], "'priority' must be a number");
    }
    const on = typeof raw.on === "string" ? [raw.on] : raw.on;
    if (!Array.isArray(on) || on.length === 0) {
      fail([...path, "on"], `'on' must name a trigger event: ${[...TRIGGERS].join(", ")}`);
    } else {
      on.forEach((t, j) => {
        if (typeof t !== "string" || !TRIGGERS.has(t)) {
          fail(
            [...path, "on", ...(typeof raw.on === "string" ? [] : [j])],
            `unknown trigger '${t}' (known: ${[...TRIGGERS].join(", ")})`,
          );
        }
      });
    }
    const triggers = Array.isArray(on) ? on.map(String) : [];
    const sip = triggers.some((t) => t.startsWith("sip."));
    const names = new Set(["leg"]);
    checkExpression(raw.when, [...path, "when"], names, sip);

    const finds: RuleFind[] = [];
    if (raw.find !== undefined) {
      if (!isRecord(raw.find)) {
        fail(
          [...path, "find"],
          "'find' must map names to searches: find: { other: { among, where } }",
        );
      } else {
        for (const [name, spec] of Object.entries(raw.find)) {
          const at = [...path, "find", name];
          if (
            !NAME.test(name) || name === "leg" ||
            ["site", "event", "logical", "message"].includes(name)
          ) {
            fail(at, `'${name}' cannot name a found leg`, true);
            continue;
          }
          if (!isRecord(spec)) {
            fail(at, "a search must be a map with 'among', 'where' and 'pick'");
            continue;
          }
          for (const key of Object.keys(spec)) {
            if (!FIND_KEYS.has(key)) fail([...at, key], `unknown key '${key}' in a search`, true);
          }
          const among = spec.among ?? "active";
          if (among !== "active" && among !== "recent" && among !== "any") {
            fail([...at, "among"], "'among' must be active, recent or any");
          }
          const pick = spec.pick ?? "nearest";
          if (!["nearest", "earliest", "latest", "all"].includes(String(pick))) {
            fail([...at, "pick"], "'pick' must be nearest, earliest, latest or all");
          }
          if (spec.optional !== undefined && typeof spec.optional !== "boolean") {
            fail([...at, "optional"], "'optional' must be true or false");
          }
          const inner = new Set([...names, name]);
          checkExpression(spec.where, [...at, "where"], inner, sip);
          names.add(name);
          finds.push({
            name,
            among: among as Among,
            where: spec.where ?? true,
            pick: pick as Pick,
            optional: spec.optional === true,
          });
        }
      }
    }

    const then = raw.then;
    const links: RuleLink[] = [];
    const sets: RuleSet[] = [];
    const labels: string[] = [];
    let scenario: string | null = null;
    let emit: string | null = null;
    if (!isRecord(then)) {
      fail(
        [...path, "then"],
        "a rule needs 'then' with what it does (scenario, link, set, labels, emit)",
      );
    } else {
      for (const key of Object.keys(then)) {
        if (!THEN_KEYS.has(key)) fail([...path, "then", key], `unknown action '${key}'`, true);
      }
      if (then.scenario !== undefined) {
        if (typeof then.scenario !== "string" || !IDENT.test(then.scenario)) {
          fail([...path, "then", "scenario"], "'scenario' must be a name such as pickup");
        } else scenario = then.scenario;
      }
      const rawLinks = then.link === undefined
        ? []
        : Array.isArray(then.link)
        ? then.link
        : [then.link];
      rawLinks.forEach((l, j) => {
        const at = [...path, "then", "link", ...(Array.isArray(then.link) ? [j] : [])];
        if (!isRecord(l)) return fail(at, "a link is a map: { from, to, relation }");
        for (const key of Object.keys(l)) {
          if (!LINK_KEYS.has(key)) fail([...at, key], `unknown key '${key}' in a link`, true);
        }
        for (const end of ["from", "to"] as const) {
          if (typeof l[end] !== "string" || !names.has(l[end] as string)) {
            fail([...at, end], `link '${end}' must name a leg: ${[...names].join(", ")}`);
          }
        }
        if (typeof l.relation !== "string" || !IDENT.test(l.relation)) {
          fail([...at, "relation"], "a link needs a 'relation' name such as transferred-to");
        }
        links.push({ from: String(l.from), to: String(l.to), relation: String(l.relation) });
      });
      if (then.set !== undefined) {
        if (!isRecord(then.set)) {
          fail([...path, "then", "set"], "'set' maps targets (other.realCaller) to values");
        } else {
          for (const [target, value] of Object.entries(then.set)) {
            const at = [...path, "then", "set", target];
            const dot = target.indexOf(".");
            const who = dot < 0 ? target : target.slice(0, dot);
            const field = dot < 0 ? "" : target.slice(dot + 1);
            if (
              who === "logical"
                ? !LOGICAL_FIELDS.has(field)
                : !names.has(who) || !LEG_FIELDS.has(field)
            ) {
              fail(
                at,
                `cannot set '${target}': legs take ${[...LEG_FIELDS].join(", ")}; logical takes ${
                  [...LOGICAL_FIELDS].join(", ")
                }`,
                true,
              );
              continue;
            }
            checkExpression(value, at, names, sip);
            sets.push({ target: who, field, value });
          }
        }
      }
      const rawLabels = then.labels ?? (then.label === undefined ? [] : [then.label]);
      if (!Array.isArray(rawLabels) || !rawLabels.every((l) => typeof l === "string")) {
        fail(
          [...path, "then", then.labels !== undefined ? "labels" : "label"],
          "labels must be text",
        );
      } else labels.push(...rawLabels);
      if (then.emit !== undefined) {
        if (typeof then.emit !== "string") {
          fail([...path, "then", "emit"], "'emit' must be a label");
        } else emit = then.emit;
      }
    }
    if (raw.stop !== undefined && typeof raw.stop !== "boolean") {
      fail([...path, "stop"], "'stop' must be true or false");
    }
    return {
      id: String(id),
      description,
      priority: typeof priority === "number" ? priority : 0,
      on: triggers,
      when: raw.when ?? null,
      find: finds,
      scenario,
      links,
      set: sets,
      labels,
      emit,
      stop: raw.stop === true,
      file: doc.file,
      line: doc.at(path).line,
    };
  }

  function checkExpression(
    logic: unknown,
    path: (string | number)[],
    names: ReadonlySet<string>,
    sip: boolean,
  ): void {
    if (logic === undefined) return;
    for (const problem of checkLogic(logic, (name) => knownVariable(name, names, site, sip))) {
      fail([...path, ...problem.path], problem.message, problem.operator === true);
    }
  }
}

/**
 * Parses and validates rule text.
 *
 * @param text YAML text.
 * @param file Name for messages.
 * @param site The site.
 * @param cache Where parsed files are kept (see `yaml_cache.ts`).
 * @returns Sound rules and every problem.
 */
export async function parseRules(
  text: string,
  file: string,
  site: Site,
  cache: YamlCacheOptions = {},
): Promise<{ rules: Rule[]; errors: RuleFileError[] }> {
  const { document, errors } = await readLocatedYaml(text, file, cache);
  if (errors.length > 0) return { rules: [], errors };
  return rulesFromDocument(document, site);
}

/** The directory of the shipped rules. */
export const DEFAULT_RULES_DIR: URL = new URL("../../rules/", import.meta.url);

/**
 * Loads rule files: a file, or every `*.yaml` in a directory except `site.yaml`.
 * Duplicate rule ids across files are errors too.
 *
 * @param paths Files or directories; the shipped `rules/` when empty.
 * @param site The site.
 * @returns Sound rules (sorted by priority, then file order) and every problem.
 */
export async function loadRules(
  paths: (string | URL)[],
  site: Site,
): Promise<{ rules: Rule[]; errors: RuleFileError[] }> {
  const files: string[] = [];
  for (const p of paths.length > 0 ? paths : [DEFAULT_RULES_DIR]) {
    const path = typeof p === "string" ? p : p.pathname;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      return {
        rules: [],
        errors: [new RuleFileError(path, { line: 1, column: 1 }, "no such file or directory")],
      };
    }
    if (info.isDirectory) {
      const names: string[] = [];
      for await (const e of Deno.readDir(path)) {
        if (e.isFile && /\.ya?ml$/.test(e.name) && e.name !== "site.yaml") names.push(e.name);
      }
      files.push(...names.sort().map((n) => displayPath(`${path.replace(/\/$/, "")}/${n}`)));
    } else files.push(displayPath(path));
  }
  const rules: Rule[] = [];
  const errors: RuleFileError[] = [];
  const seen = new Map<string, Rule>();
  for (const file of files) {
    const result = await parseRules(await Deno.readTextFile(file), file, site);
    errors.push(...result.errors);
    for (const rule of result.rules) {
      const twin = seen.get(rule.id);
      if (twin) {
        errors.push(
          new RuleFileError(
            file,
            { line: rule.line, column: 1 },
            `duplicate rule id '${rule.id}' (also ${twin.file}:${twin.line})`,
          ),
        );
        continue;
      }
      seen.set(rule.id, rule);
      rules.push(rule);
    }
  }
  return { rules: sortRules(rules), errors };
}

/**
 * Orders rules: higher priority first, then in load order.
 *
 * @param rules Rules in load order.
 * @returns A new sorted array.
 */
export function sortRules(rules: Rule[]): Rule[] {
  return rules.map((r, i) => ({ r, i })).sort((a, b) => b.r.priority - a.r.priority || a.i - b.i)
    .map((x) => x.r);
}

/**
 * A path as messages show it: relative to the working directory when inside it.
 *
 * @param path A file path.
 * @returns The path to print.
 */
export function displayPath(path: string): string {
  const rel = relative(Deno.cwd(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}
