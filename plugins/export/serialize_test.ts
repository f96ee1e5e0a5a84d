import assert from "node:assert/strict";
import { Analyzer } from "../../engine/analyzer.ts";
import type { PacketwaveEvent } from "../../engine/events.ts";
import { loadRules } from "../../engine/rules/rule_set.ts";
import { loadSite } from "../../engine/rules/site.ts";
import { parseSipMessage } from "../../engine/sip/parse.ts";
import { ALL_EVENT_TYPES, bodyText, serializeEvent, serializeSipMessage } from "./serialize.ts";
import { HOSTILE_DISPLAY_NAME, writeHostileCapture } from "./testing_hostile.ts";

const SEED = new URL("../../fixtures/seed/", import.meta.url).pathname;

/** JSON.stringify that fails on anything that would not survive the round trip. */
function strictJson(value: unknown): string {
  return JSON.stringify(value, function check(key, v) {
    if (v instanceof Map || v instanceof Set || ArrayBuffer.isView(v) || typeof v === "function") {
      throw new TypeError(`not JSON at '${key}': ${Object.prototype.toString.call(v)}`);
    }
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`class instance at '${key}': ${proto?.constructor?.name}`);
      }
    }
    return v;
  });
}

async function events(path: string): Promise<PacketwaveEvent[]> {
  const { site } = await loadSite();
  const { rules } = await loadRules([], site);
  const analyzer = new Analyzer({ rules: { rules, site } });
  const seen: PacketwaveEvent[] = [];
  analyzer.bus.onAny((e) => seen.push(serializeEvent(e) as unknown as PacketwaveEvent), "test");
  assert.ok(await analyzer.analyzeFile(path));
  analyzer.report();
  return seen;
}

Deno.test("serialize: every event of a real analysis is plain JSON with type, ts and ISO time", async () => {
  const seen = await events(`${SEED}2-transfer.pcapng`);
  const types = new Set(seen.map((e) => e.type));
  for (
    const t of [
      "sip.request",
      "sip.response",
      "call.started",
      "call.held",
      "call.referred",
      "call.completed",
      "rtp.stream.ended",
      "registration",
      "scenario.matched",
      "logical.completed",
    ]
  ) assert.ok(types.has(t as PacketwaveEvent["type"]), `no ${t} event`);
  for (const e of seen) {
    const text = strictJson(e);
    const back = JSON.parse(text) as Record<string, unknown>;
    assert.equal(back.type, e.type);
    assert.equal(typeof back.ts, "number");
    assert.equal(back.time, new Date(Math.round((back.ts as number) * 1000)).toISOString());
  }
  const completed = seen.find((e) => e.type === "call.completed") as unknown as {
    leg: { id: string; callId: string; caller: { user: string } };
  };
  assert.ok(completed.leg.callId.length > 0);
  assert.equal(typeof completed.leg.caller.user, "string");
});

Deno.test("serialize: SIP messages keep hostile header names as plain strings, bodies as text or base64", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const capture = await writeHostileCapture(`${dir}/hostile.pcap`);
    const seen = (await events(capture.path)) as unknown as Record<string, unknown>[];
    const lines = seen.map((e) => JSON.parse(strictJson(e)) as Record<string, unknown>);
    const invite = lines.find((l) => l.method === "INVITE")!;
    const headers = invite.headers as [string, string][];
    assert.deepEqual(headers.find(([n]) => n === "__proto__"), ["__proto__", '{"polluted":true}']);
    assert.deepEqual(headers.find(([n]) => n === "constructor"), ["constructor", "prototype"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(invite), Object.prototype);
    assert.deepEqual(invite.from, {
      user: "1001",
      displayName: HOSTILE_DISPLAY_NAME,
      uri: "sip:1001@pbx.example",
      tag: "c1",
    });
    assert.equal(invite.callId, capture.callId);
    assert.deepEqual(invite.cseq, { seq: 1, method: "INVITE" });
    const body = invite.body as { text: string; length: number; contentType: string };
    assert.match(body.text, /^v=0\r\n/);
    assert.equal(body.length, new TextEncoder().encode(body.text).length);
    assert.equal(body.contentType, "application/sdp");
    const info = lines.find((l) => l.method === "INFO")!;
    const binary = info.body as { base64: string; length: number };
    const bytes = Uint8Array.from(atob(binary.base64), (c) => c.charCodeAt(0));
    assert.equal(binary.length, 9);
    assert.equal(bytes.length, 9);
    assert.deepEqual([...bytes.subarray(0, 4)], [1, 2, 0, 0x10]);
    assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), "ISUP");
    const ringing = lines.find((l) => l.status === 180)!;
    assert.equal(ringing.reason, capture.ringingReason);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serialize: a message's fields, and binary or non-UTF-8 bodies", () => {
  const text = "SIP/2.0 486 Busy Here\r\nCall-ID: a@b\r\nCSeq: 7 INVITE\r\n" +
    'From: "A, B" <sip:100@x>;tag=1\r\nTo: <sip:200@x>;tag=2\r\nContent-Type: text/plain\r\n' +
    "Content-Length: 3\r\n\r\n\xe9\xe9\xe9";
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  const parsed = parseSipMessage(bytes);
  assert.ok(parsed.ok);
  const s = serializeSipMessage(parsed.message);
  assert.equal(s.status, 486);
  assert.equal(s.reason, "Busy Here");
  assert.equal(s.method, undefined);
  assert.deepEqual(s.from, { user: "100", displayName: "A, B", uri: "sip:100@x", tag: "1" });
  assert.deepEqual(s.to?.tag, "2");
  // Latin-1 bytes are not UTF-8: base64, even though the type is text.
  assert.deepEqual(s.body, { contentType: "text/plain", length: 3, base64: "6enp" });
  assert.equal(bodyText(new TextEncoder().encode("a=1\r\n"), "application/sdp"), "a=1\r\n");
  assert.equal(bodyText(new TextEncoder().encode("a\u0000b"), "application/sdp"), null);
  assert.equal(bodyText(new TextEncoder().encode("abc"), "application/octet-stream"), null);
});

Deno.test("serialize: the event type list is complete and unique", () => {
  assert.equal(new Set(ALL_EVENT_TYPES).size, ALL_EVENT_TYPES.length);
  assert.ok(ALL_EVENT_TYPES.includes("logical.completed"));
  assert.ok(ALL_EVENT_TYPES.includes("rtcp.packet"));
  assert.equal(ALL_EVENT_TYPES.length, 19);
});
