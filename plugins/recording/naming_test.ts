import assert from "node:assert/strict";
import { recordingBaseName, timeStamp, UniqueNames } from "./naming.ts";

Deno.test("naming: UTC stamp, sanitized parts, unknown parties", () => {
  assert.equal(timeStamp(Date.UTC(2025, 2, 19, 4, 28, 55, 736) / 1000), "20250319-042855");
  assert.equal(timeStamp(NaN), "00000000-000000");
  assert.equal(
    recordingBaseName({
      ts: 0,
      id: "3749d461@112.222.225.77",
      caller: "01077141436",
      callee: "*8",
      suffix: ["caller-to-callee", "0x00000001"],
    }),
    "19700101-000000_3749d461_112.222.225.77_01077141436__8_caller-to-callee_0x00000001",
  );
  assert.equal(
    recordingBaseName({ ts: 0, id: "x", caller: null, callee: null }),
    "19700101-000000_x_unknown_unknown",
  );
});

Deno.test("naming: hostile parts cannot leave the directory or grow without bound", () => {
  const hostile = [
    "../../etc/passwd",
    "/abs/path",
    "..",
    ".",
    "a\u0000b",
    "C:\\windows\\x",
    "__proto__",
    "\u202e\u0645\u0631\u062d\u0628\u0627",
    "x".repeat(5000),
  ];
  for (const a of hostile) {
    for (const b of hostile) {
      const name = recordingBaseName({ ts: 1e9, id: a, caller: b, callee: a, suffix: [b] });
      assert.match(name, /^[0-9]{8}-[0-9]{6}_[A-Za-z0-9+\-_.]+$/);
      assert.ok(!name.includes("/") && !name.includes(".."), name);
      assert.ok(name.length + ".json".length <= 255, `${name.length}`);
    }
  }
});

Deno.test("naming: unique names get a counter, per extension or for a set of them", () => {
  const names = new UniqueNames();
  assert.equal(names.takeAll("call", [".wav", ".json"]), "call");
  assert.equal(names.take("call", ".wav"), "call_2");
  assert.equal(names.takeAll("call", [".wav", ".json"]), "call_3");
  assert.equal(names.take("call", ".pcap"), "call");
});

Deno.test("naming: the memory of names is bounded", () => {
  const names = new UniqueNames(3);
  for (const n of ["a", "b", "c"]) assert.equal(names.take(n, ".wav"), n);
  assert.equal(names.take("a", ".wav"), "a"); // forgotten: starts afresh at the cap
  assert.equal(names.take("a", ".wav"), "a_2");
});
