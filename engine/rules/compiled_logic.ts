/**
 * json-logic expressions turned into closures once, so a rule's condition
 * is not walked again (operator lookup, key lists, argument arrays) for
 * every call event. The closures give exactly what `json-logic-js` 2.0.5
 * gives — the comparison, logic and `var` operators it defines, with its
 * truthiness and its lazy `if`/`and`/`or` — and hand everything else
 * (iterating operators, `missing`, arithmetic, unknown operators and their
 * errors) back to the library through `fallback`, whole.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileLogic } from "./compiled_logic.ts";
 *
 * const fallback = () => {
 *   throw new Error("not needed here");
 * };
 * const test = compileLogic({ and: [{ "==": [{ var: "a.b" }, 1] }, { "!": { var: "c" } }] }, {
 *   custom: {},
 *   fallback,
 * });
 * assert.equal(test({ a: { b: "1" }, c: [] }), true);
 * assert.equal(test({ a: { b: 2 } }), false);
 * ```
 *
 * @module
 */

/** A compiled expression: its value for some data. */
export type CompiledLogic = (data: unknown) => unknown;

/** An operator of the custom namespace, called with `this` bound to the data, like json-logic does. */
export type CustomOperator = (this: unknown, ...args: unknown[]) => unknown;

/** What the compiler needs beyond the expression. */
export interface CompileOptions {
  /** Custom operators by their full dotted name (`pw.header`). */
  custom: Readonly<Record<string, CustomOperator>>;
  /** The library's own evaluation, for what is not compiled. */
  fallback: (logic: unknown, data: unknown) => unknown;
}

/**
 * json-logic's truthiness: an empty list is false, everything else as in
 * JavaScript.
 *
 * @param value Any value.
 * @returns Its truth.
 */
export function logicTruthy(value: unknown): boolean {
  if (Array.isArray(value) && value.length === 0) return false;
  return !!value;
}

/** An operation, by json-logic's rule: a plain object with exactly one key. */
function isOperation(logic: unknown): logic is Record<string, unknown> {
  return typeof logic === "object" && logic !== null && !Array.isArray(logic) &&
    Object.keys(logic).length === 1;
}

/**
 * Compiles an expression.
 *
 * @param logic The expression (not changed; constants in it are returned as they are, as
 *   json-logic returns them).
 * @param options Custom operators and the fallback evaluation.
 * @returns Its closure.
 */
export function compileLogic(logic: unknown, options: CompileOptions): CompiledLogic {
  if (Array.isArray(logic)) {
    const items = logic.map((item) => compileLogic(item, options));
    return (data) => items.map((item) => item(data));
  }
  if (!isOperation(logic)) return () => logic;
  const op = Object.keys(logic)[0]!;
  const raw = logic[op];
  const values = Array.isArray(raw) ? raw : [raw];
  const whole = () => (data: unknown) => options.fallback(logic, data);
  switch (op) {
    case "if":
    case "?:": {
      const parts = values.map((v) => compileLogic(v, options));
      return (data) => {
        let i = 0;
        for (; i < parts.length - 1; i += 2) {
          if (logicTruthy(parts[i]!(data))) return parts[i + 1]!(data);
        }
        return i === parts.length - 1 ? parts[i]!(data) : null;
      };
    }
    case "and":
    case "or": {
      // Both stop at the first value that decides: a false one for `and`, a true one for `or`.
      const parts = values.map((v) => compileLogic(v, options));
      const decidedBy = op === "or";
      return (data) => {
        let current: unknown;
        for (let i = 0; i < parts.length; i++) {
          current = parts[i]!(data);
          if (logicTruthy(current) === decidedBy) return current;
        }
        return current;
      };
    }
    case "var":
      return compileVar(values, options);
  }
  const args = values.map((v) => compileLogic(v, options));
  const [a = undefinedValue, b = undefinedValue, c = undefinedValue] = args;
  switch (op) {
    case "==":
      // deno-lint-ignore eqeqeq
      return (data) => a(data) == b(data);
    case "===":
      return (data) => a(data) === b(data);
    case "!=":
      // deno-lint-ignore eqeqeq
      return (data) => a(data) != b(data);
    case "!==":
      return (data) => a(data) !== b(data);
    case ">":
      return (data) => (a(data) as number) > (b(data) as number);
    case ">=":
      return (data) => (a(data) as number) >= (b(data) as number);
    case "<":
    case "<=":
      return compileLess(op === "<=", a, b, args.length > 2 ? c : null);
    case "!!":
      return (data) => logicTruthy(a(data));
    case "!":
      return (data) => !logicTruthy(a(data));
    case "in":
      return (data) => {
        const x = a(data);
        const list = b(data) as { indexOf?: (x: unknown) => number } | null | undefined;
        if (!list || typeof list.indexOf === "undefined") return false;
        return list.indexOf(x) !== -1;
      };
  }
  const custom = Object.hasOwn(options.custom, op) ? options.custom[op]! : null;
  if (custom === null) return whole();
  // Called as json-logic calls it (`this` is the data), without an argument list per call.
  switch (args.length) {
    case 1:
      return (data) => custom.call(data, a(data));
    case 2:
      return (data) => custom.call(data, a(data), b(data));
    case 3:
      return (data) => custom.call(data, a(data), b(data), c(data));
  }
  return (data) => custom.apply(data, args.map((arg) => arg(data)));
}

/** `undefined`, for an argument the expression does not give. */
const undefinedValue: CompiledLogic = () => undefined;

/** `<` and `<=`, with json-logic's optional third argument (`a < b < c`). */
function compileLess(
  orEqual: boolean,
  a: CompiledLogic,
  b: CompiledLogic,
  c: CompiledLogic | null,
): CompiledLogic {
  return (data) => {
    const x = a(data) as number;
    const y = b(data) as number;
    const z = c === null ? undefined : c(data) as number | undefined;
    if (z === undefined) return orEqual ? x <= y : x < y;
    return orEqual ? x <= y && y <= z : x < y && y < z;
  };
}

/**
 * `var`: a dotted path into the data, with an optional default for what is
 * missing (`null` by default); an empty name gives the data itself.
 */
function compileVar(values: unknown[], options: CompileOptions): CompiledLogic {
  const [nameLogic, defaultLogic] = values;
  const hasDefault = values.length > 1;
  const fallbackValue = hasDefault ? compileLogic(defaultLogic, options) : null;
  const read = (data: unknown, parts: string[], notFound: unknown): unknown => {
    let current = data;
    for (let i = 0; i < parts.length; i++) {
      if (current === null || current === undefined) return notFound;
      current = (current as Record<string, unknown>)[parts[i]!];
      if (current === undefined) return notFound;
    }
    return current;
  };
  const notFoundOf = (data: unknown): unknown => {
    if (fallbackValue === null) return null;
    const value = fallbackValue(data);
    return value === undefined ? null : value;
  };
  if (!isOperation(nameLogic) && !Array.isArray(nameLogic)) {
    // A constant name: its path is split once.
    if (nameLogic === undefined || nameLogic === "" || nameLogic === null) {
      // json-logic evaluates the default (and ignores it) even here.
      return (data) => {
        notFoundOf(data);
        return data;
      };
    }
    const parts = String(nameLogic).split(".");
    return (data) => read(data, parts, notFoundOf(data));
  }
  const name = compileLogic(nameLogic, options);
  return (data) => {
    const a = name(data);
    const notFound = notFoundOf(data);
    if (a === undefined || a === "" || a === null) return data;
    return read(data, String(a).split("."), notFound);
  };
}
