import assert from "node:assert/strict";
import { parseParams, readQuoted } from "./params.ts";

Deno.test("parseParams reads flags, values and quoted values", () => {
  const p = parseParams(
    ';Transport=UDP;lr; maddr = 10.0.0.1 ;+sip.instance="<urn:uuid:1;x>";q=0.5',
  );
  assert.deepEqual([...p.entries()], [
    ["transport", "UDP"],
    ["lr", null],
    ["maddr", "10.0.0.1"],
    ["+sip.instance", "<urn:uuid:1;x>"],
    ["q", "0.5"],
  ]);
});

Deno.test("parseParams keeps the first of a repeated name and ignores empty names", () => {
  const p = parseParams(";tag=1;;=x;TAG=2");
  assert.equal(p.get("tag"), "1");
  assert.equal(p.size, 1);
});

Deno.test("parseParams stores hostile names as plain map keys", () => {
  const p = parseParams(";__proto__=1;constructor");
  assert.equal(p.get("__proto__"), "1");
  assert.equal(p.get("constructor"), null);
  assert.equal(Object.getPrototypeOf(p), Map.prototype);
});

Deno.test("readQuoted unescapes and reports an unterminated string", () => {
  assert.deepEqual(readQuoted('x"a\\"b"rest', 1), { value: 'a"b', end: 7, closed: true });
  assert.deepEqual(readQuoted('"abc', 0), { value: "abc", end: 4, closed: false });
});
