import assert from "node:assert/strict";
import { RecentValues } from "./recent_values.ts";

Deno.test("RecentValues keeps the last entries set and drops the oldest first", () => {
  const recent = new RecentValues<string, number | null>(3);
  recent.set("a", 1);
  recent.set("b", null);
  recent.set("c", 3);
  recent.set("c", 30); // setting a kept key again drops nothing
  assert.equal(recent.size, 3);
  assert.equal(recent.get("a"), 1);
  assert.equal(recent.get("b"), null);
  recent.set("d", 4);
  assert.equal(recent.get("a"), undefined);
  assert.equal(recent.get("b"), null);
  assert.equal(recent.get("c"), 30);
  assert.equal(recent.get("d"), 4);
  assert.equal(recent.size, 3);
});

Deno.test("RecentValues takes hostile keys as plain keys", () => {
  const recent = new RecentValues<string, string>(2);
  recent.set("__proto__", "x");
  recent.set("constructor", "y");
  assert.equal(recent.get("__proto__"), "x");
  assert.equal(recent.get("constructor"), "y");
  assert.equal(recent.get("toString"), undefined);
});
