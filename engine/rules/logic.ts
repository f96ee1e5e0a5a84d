/**
 * The one module that talks to `npm:json-logic-js`: it registers
 * packetwave's own operators once under the `pw` namespace, evaluates
 * conditions, and analyses expressions statically (which operators and
 * which variables a rule uses) so rules are checked before the first packet.
 *
 * Custom operators (all take already-evaluated arguments):
 *
 * | operator | arguments | result |
 * |---|---|---|
 * | `pw.header` | leg, name or names | the first value of that header (the first present, for a list) of the leg's INVITE, or `null` |
 * | `pw.number` | text | the number normalized with the site's rules (digits, national form) |
 * | `pw.extension` | text | the extension the site's pattern finds in the text, or `null` |
 * | `pw.within` | time a, time b, seconds | both times known and at most that far apart |
 * | `pw.between` | time, from, to | from ≤ time ≤ to, all known |
 * | `pw.matches` | text, regular expression | whether the expression matches |
 * | `pw.count` | list | its length (0 for anything else) |
 * | `pw.correlated` | leg a, leg b, header names | a header of a carries the same id as b's, or b's Call-ID |
 *
 * @module
 */

import jsonLogic from "json-logic-js";
import {
  type CompiledLogic,
  compileLogic,
  type CompileOptions,
  type CustomOperator,
} from "./compiled_logic.ts";
import { extensionOf, normalizeNumber, type NumberRules } from "./numbers.ts";
import { RecentValues } from "../recent_values.ts";

/** A json-logic expression. */
export type Logic = unknown;

/** Operators json-logic-js evaluates itself. */
export const BUILTIN_OPERATORS: ReadonlySet<string> = new Set([
  "==",
  "===",
  "!=",
  "!==",
  ">",
  ">=",
  "<",
  "<=",
  "!!",
  "!",
  "%",
  "in",
  "cat",
  "substr",
  "+",
  "*",
  "-",
  "/",
  "min",
  "max",
  "merge",
  "var",
  "missing",
  "missing_some",
  "if",
  "?:",
  "and",
  "or",
  "filter",
  "map",
  "reduce",
  "all",
  "none",
  "some",
]);

/** packetwave's operators, by their full names. */
export const CUSTOM_OPERATORS: ReadonlySet<string> = new Set([
  "pw.header",
  "pw.number",
  "pw.extension",
  "pw.within",
  "pw.between",
  "pw.matches",
  "pw.count",
  "pw.correlated",
]);

/** Operators whose second argument is evaluated once per list element (its `var`s are element-relative). */
export const ITERATING_OPERATORS: ReadonlySet<string> = new Set([
  "filter",
  "map",
  "reduce",
  "all",
  "none",
  "some",
]);

/** A hidden link from a leg view to its headers, read by `pw.header`. */
export const HEADERS: unique symbol = Symbol("packetwave.headers");

/** Something `pw.header` can read headers from. */
export interface HeaderSource {
  /** First value of a header, case-insensitively, or `undefined`. */
  get(name: string): string | undefined;
}

let numberRules: NumberRules = { extensionPattern: null, countryCode: null, trunkPrefix: "0" };
const regexCache = new RecentValues<string, RegExp | null>(1000);

function cachedRegex(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    regexCache.set(pattern, re);
  }
  return re;
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** packetwave's operators, as json-logic calls them (`this` is the data). */
const PW_OPERATIONS = {
  header(leg: unknown, name: unknown): string | null {
    if (typeof leg !== "object" || leg === null) return null;
    const source = (leg as { [HEADERS]?: HeaderSource })[HEADERS];
    if (source === undefined) return null;
    if (!Array.isArray(name)) return typeof name === "string" ? source.get(name) ?? null : null;
    // A list of names gives the first header present.
    for (let i = 0; i < name.length; i++) {
      const n: unknown = name[i];
      if (typeof n !== "string") continue;
      const value = source.get(n);
      if (value !== undefined) return value;
    }
    return null;
  },
  number(text: unknown): string | null {
    return typeof text === "string" ? normalizeNumber(text, numberRules) : null;
  },
  extension(text: unknown): string | null {
    return typeof text === "string" ? extensionOf(text, numberRules) : null;
  },
  within(a: unknown, b: unknown, seconds: unknown): boolean {
    return isTime(a) && isTime(b) && isTime(seconds) && Math.abs(a - b) <= seconds;
  },
  between(t: unknown, from: unknown, to: unknown): boolean {
    return isTime(t) && isTime(from) && isTime(to) && from <= t && t <= to;
  },
  matches(text: unknown, pattern: unknown): boolean {
    if (typeof text !== "string" || typeof pattern !== "string") return false;
    return cachedRegex(pattern)?.test(text) ?? false;
  },
  count(list: unknown): number {
    return Array.isArray(list) ? list.length : 0;
  },
  correlated(a: unknown, b: unknown, names: unknown): boolean {
    if (
      !Array.isArray(names) || typeof a !== "object" || a === null || typeof b !== "object" ||
      b === null
    ) {
      return false;
    }
    const ha = (a as { [HEADERS]?: HeaderSource })[HEADERS];
    const hb = (b as { [HEADERS]?: HeaderSource })[HEADERS];
    const callIdB = (b as { callId?: unknown }).callId;
    for (const name of names) {
      if (typeof name !== "string") continue;
      const value = ha?.get(name);
      if (!value) continue;
      if (value === hb?.get(name) || value === callIdB) return true;
    }
    return false;
  },
};
jsonLogic.add_operation("pw", PW_OPERATIONS);

/** The same operators by their full names, for compiled expressions. */
const COMPILE_OPTIONS: CompileOptions = {
  custom: Object.fromEntries(
    Object.entries(PW_OPERATIONS).map(([name, fn]) => [`pw.${name}`, fn as CustomOperator]),
  ),
  fallback: (logic, data) => jsonLogic.apply(logic as never, data as never),
};

/** Compiled expressions, by the expression object (rules do not change once loaded). */
const compiled = new WeakMap<object, CompiledLogic>();

/**
 * Sets the number rules `pw.number` and `pw.extension` use (the site's).
 *
 * @param rules Extension pattern and national numbering.
 */
export function useNumberRules(rules: NumberRules): void {
  numberRules = rules;
}

/**
 * Evaluates an expression against data: compiled into a closure the
 * first time ({@linkcode compileLogic}), with json-logic's results.
 *
 * @param logic The expression.
 * @param data The context.
 * @returns Its value.
 */
export function evaluate(logic: Logic, data: unknown): unknown {
  if (typeof logic !== "object" || logic === null) return logic;
  let fn = compiled.get(logic);
  if (fn === undefined) {
    fn = compileLogic(logic, COMPILE_OPTIONS);
    compiled.set(logic, fn);
  }
  return fn(data);
}

/**
 * Whether a value is truthy by json-logic's rules (an empty list is false).
 *
 * @param value Any value.
 * @returns Its truth.
 */
export function truthy(value: unknown): boolean {
  return jsonLogic.truthy(value);
}

/** A problem found in an expression without running it. */
export interface LogicProblem {
  /** Path of the offending node inside the expression, as keys and indexes. */
  path: (string | number)[];
  /** What is wrong. */
  message: string;
  /** Whether the problem is the operator itself (report the key's position, not its arguments'). */
  operator?: boolean;
}

/**
 * Checks an expression: every operator must be known, and every `var`
 * outside list iteration must name a variable `knownVariable` accepts.
 *
 * @param logic The expression.
 * @param knownVariable Whether a dotted variable name is part of the documented context.
 * @returns The problems found (empty when the expression is sound).
 */
export function checkLogic(logic: Logic, knownVariable: (name: string) => boolean): LogicProblem[] {
  const problems: LogicProblem[] = [];
  walk(logic, [], false);
  return problems;

  function walk(node: unknown, path: (string | number)[], iterating: boolean): void {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...path, i], iterating));
      return;
    }
    if (node === null || typeof node !== "object") return;
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      problems.push({
        path,
        message: `an operation must have exactly one operator, found ${keys.length} (${
          keys.join(", ")
        })`,
      });
      return;
    }
    const op = keys[0]!;
    const args = (node as Record<string, unknown>)[op];
    const here = [...path, op];
    if (!BUILTIN_OPERATORS.has(op) && !CUSTOM_OPERATORS.has(op)) {
      problems.push({ path: here, message: `unknown operator '${op}'`, operator: true });
      return;
    }
    if (op === "var") {
      const name = Array.isArray(args) ? args[0] : args;
      if (iterating) return;
      if (typeof name !== "string" && typeof name !== "number") {
        problems.push({ path: here, message: "a var needs a variable name" });
      } else if (!knownVariable(String(name))) {
        problems.push({ path: here, message: `unknown variable '${name}'` });
      }
      return;
    }
    if (ITERATING_OPERATORS.has(op) && Array.isArray(args)) {
      walk(args[0], [...here, 0], iterating);
      args.slice(1).forEach((a, i) => walk(a, [...here, i + 1], true));
      return;
    }
    walk(args, here, iterating);
  }
}

/**
 * The variables an expression reads (outside list iteration), for `rules explain`.
 *
 * @param logic The expression.
 * @returns Dotted names, each once, in order of appearance.
 */
export function variablesOf(logic: Logic): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, iterating: boolean) => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, iterating));
    if (node === null || typeof node !== "object") return;
    const [op] = Object.keys(node);
    if (op === undefined) return;
    const args = (node as Record<string, unknown>)[op];
    if (op === "var") {
      const name = Array.isArray(args) ? args[0] : args;
      if (
        !iterating && (typeof name === "string" || typeof name === "number") &&
        !seen.has(String(name))
      ) {
        seen.add(String(name));
        names.push(String(name));
      }
      return;
    }
    if (ITERATING_OPERATORS.has(op) && Array.isArray(args)) {
      visit(args[0], iterating);
      args.slice(1).forEach((a) => visit(a, true));
      return;
    }
    visit(args, iterating);
  };
  visit(logic, false);
  return names;
}

/**
 * Reads a dotted variable from data as json-logic's `var` does.
 *
 * @param data The context.
 * @param name A dotted name.
 * @returns The value, or `null` when a step is missing.
 */
export function readVariable(data: unknown, name: string): unknown {
  return evaluate({ var: name }, data);
}
