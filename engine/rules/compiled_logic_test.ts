import assert from "node:assert/strict";
import jsonLogic from "json-logic-js";
import { compileLogic, type CompileOptions, logicTruthy } from "./compiled_logic.ts";

// A namespace of its own, so the library's real `pw` operators are not touched.
const T_OPERATIONS = {
  count(list: unknown): number {
    return Array.isArray(list) ? list.length : 0;
  },
  self(this: unknown): unknown {
    return this;
  },
};
jsonLogic.add_operation("t", T_OPERATIONS);
const OPTIONS: CompileOptions = {
  custom: { "t.count": T_OPERATIONS.count, "t.self": T_OPERATIONS.self },
  fallback: (logic, data) => jsonLogic.apply(logic as never, data as never),
};

/** What an evaluation gives: its value, or the error's message. */
function outcome(run: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function same(logic: unknown, data: unknown): void {
  const expected = outcome(() => jsonLogic.apply(logic as never, data as never));
  const actual = outcome(() => compileLogic(logic, OPTIONS)(data));
  assert.deepEqual(actual, expected, `${JSON.stringify(logic)} on ${JSON.stringify(data)}`);
}

Deno.test("compiled logic: the cases json-logic documents, value for value", () => {
  const data = {
    a: { b: 1, c: "1", d: null, e: [], f: [1, 2], g: "" },
    n: 0,
    s: "abc",
    list: ["x", "y"],
    leg: { id: "L1", answered: true },
  };
  const cases: unknown[] = [
    { "==": [{ var: "a.b" }, "1"] },
    { "===": [{ var: "a.b" }, "1"] },
    { "!=": [{ var: "a.c" }, 1] },
    { "!==": [{ var: "a.c" }, 1] },
    { "<": [1, { var: "a.b" }, 3] },
    { "<": [1, 2, { var: "missing" }] },
    { "<=": [1, { var: "a.b" }, 1] },
    { ">": [{ var: "s" }, "abb"] },
    { ">=": [null, 0] },
    { "!": [{ var: "a.e" }] },
    { "!": { var: "a.f" } },
    { "!!": [[]] },
    { "!!": [["0"]] },
    { "!": [] },
    { in: ["b", { var: "s" }] },
    { in: ["x", { var: "list" }] },
    { in: ["x", 5] },
    { in: ["x", null] },
    { and: [] },
    { or: [] },
    { and: [true, { var: "a.b" }, { var: "a.g" }, "never"] },
    { or: [false, { var: "a.e" }, 0, { var: "n" }] },
    { or: [false, "first", "second"] },
    { if: [] },
    { if: [true] },
    { if: [false, 1] },
    { if: [{ var: "a.e" }, "yes", { var: "n" }, "zero", "else"] },
    { "?:": [{ var: "leg.answered" }, "answered", "not"] },
    { var: "" },
    { var: null },
    { var: [] },
    { var: [[]] },
    { var: "a" },
    { var: "a.d.x" },
    { var: "a.d" },
    { var: ["a.x", "default"] },
    { var: ["a.x"] },
    { var: ["a.b", "default"] },
    { var: ["a.x", { var: "s" }] },
    { var: [{ cat: ["a", ".", "b"] }] },
    { var: [{ var: "missingName" }, 7] },
    { var: 1 },
    { var: "list.1" },
    { var: "s.length" },
    { var: {} },
    [{ var: "n" }, 1, [{ var: "s" }]],
    { cat: ["n=", { var: "n" }] },
    { "+": ["1", 2] },
    { missing: ["a.b", "zzz"] },
    { some: [{ var: "list" }, { "==": [{ var: "" }, "y"] }] },
    { all: [[], true] },
    { "t.count": [{ var: "list" }] },
    { "t.count": { var: "a.f" } },
    { "t.self": [] },
    { "t.nope": [1] },
    { nope: [1] },
    { "==": 5 },
    {},
    { a: 1, b: 2 },
    "text",
    42,
    null,
  ];
  for (const logic of cases) same(logic, data);
  same({ var: "x" }, null);
  same({ var: "" }, 5);
  same({ "==": [{ var: "x" }, null] }, undefined);
});

/** A deterministic generator (xorshift32). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

Deno.test("compiled logic: 20,000 random expressions give what json-logic gives", () => {
  const next = random(20261123);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const names = [
    "a",
    "a.b",
    "a.c",
    "a.d",
    "a.e",
    "a.f",
    "n",
    "s",
    "list",
    "list.0",
    "zz",
    "a.zz.q",
    "",
  ];
  const constants: unknown[] = [
    0,
    1,
    -1,
    2.5,
    "",
    "0",
    "1",
    "a",
    "abc",
    null,
    true,
    false,
    [],
    [1],
    ["a", "b"],
  ];
  const ops = [
    "==",
    "===",
    "!=",
    "!==",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    "!!",
    "in",
    "and",
    "or",
    "if",
    "?:",
    "cat",
    "+",
    "t.count",
    "some",
    "missing",
  ];
  const expression = (depth: number): unknown => {
    const r = next();
    if (depth <= 0 || r < 0.25) return pick(constants);
    if (r < 0.45) {
      const name = pick(names);
      const k = next();
      if (k < 0.5) return { var: name };
      if (k < 0.8) return { var: [name, expression(depth - 1)] };
      return { var: [{ cat: [pick(["a", "list", ""]), pick(["", ".b", ".0", ".x"])] }] };
    }
    const op = pick(ops);
    const count = Math.floor(next() * 4);
    const args = Array.from({ length: count }, () => expression(depth - 1));
    if (op === "some") {
      return { some: [{ var: "list" }, { "==": [{ var: "" }, pick(["x", "y"])] }] };
    }
    return { [op]: count === 1 && next() < 0.5 ? args[0] : args };
  };
  const datasets = [
    { a: { b: 1, c: "1", d: null, e: [], f: [1, 2] }, n: 0, s: "abc", list: ["x", "y"] },
    { a: { b: "b", c: 0, d: { q: 1 }, e: [0], f: "" }, n: 3, s: "", list: [] },
    null,
  ];
  let truthyResults = 0;
  for (let i = 0; i < 20000; i++) {
    const logic = expression(4);
    for (const data of datasets) same(logic, data);
    if (logicTruthy(compileLogic(logic, OPTIONS)(datasets[0]))) truthyResults++;
  }
  // Both outcomes were exercised, not one of them over and over.
  assert.ok(truthyResults > 2000 && truthyResults < 18000, `${truthyResults} truthy`);
});

Deno.test("compiled logic: a constant is returned as it is, not copied", () => {
  const list = [1, 2];
  const object = { a: 1, b: 2 };
  assert.equal(compileLogic(object, OPTIONS)(null), object);
  assert.equal(compileLogic({ if: [true, object] }, OPTIONS)(null), object);
  assert.notEqual(compileLogic(list, OPTIONS)(null), list);
  assert.deepEqual(compileLogic(list, OPTIONS)(null), list);
});
