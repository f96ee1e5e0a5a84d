import assert from "node:assert/strict";
import { EventBus } from "../event_bus.ts";
import type { PacketwaveEvent, SipRequestEvent, SipResponseEvent } from "../events.ts";
import { parseSipMessage } from "../sip/parse.ts";
import type { SipRequest, SipResponse } from "../sip/types.ts";
import { CallTracker, parseReason, stateOfFinal } from "./tracker.ts";

const A = { ip: "10.0.0.1", port: 5060 };
const B = { ip: "10.0.0.2", port: 5060 };

function message(text: string) {
  const result = parseSipMessage(new TextEncoder().encode(text.replaceAll("\n", "\r\n")));
  if (!result.ok) throw new Error(result.reason);
  return result.message;
}

function invite(callId: string, extra = ""): string {
  return `INVITE sip:1002@10.0.0.2 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK${callId}
From: <sip:1001@10.0.0.1>;tag=a
To: <sip:1002@10.0.0.2>
Call-ID: ${callId}
CSeq: 1 INVITE
${extra}Content-Length: 0

`;
}

function response(callId: string, status: number, method = "INVITE", cseq = 1): string {
  return `SIP/2.0 ${status} Whatever
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK${callId}
From: <sip:1001@10.0.0.1>;tag=a
To: <sip:1002@10.0.0.2>;tag=b
Call-ID: ${callId}
CSeq: ${cseq} ${method}
Content-Length: 0

`;
}

function harness(options = {}) {
  const events: PacketwaveEvent[] = [];
  const bus = new EventBus();
  bus.onAny((e) => events.push(e));
  const tracker = new CallTracker(bus, {}, options);
  const request = (ts: number, text: string, src = A, dst = B) =>
    tracker.onRequest(
      {
        type: "sip.request",
        ts,
        frame: 0,
        src,
        dst,
        transport: "udp",
        message: message(text) as SipRequest,
      } satisfies SipRequestEvent,
    );
  const reply = (ts: number, text: string) =>
    tracker.onResponse(
      {
        type: "sip.response",
        ts,
        frame: 0,
        src: B,
        dst: A,
        transport: "udp",
        message: message(text) as SipResponse,
      } satisfies SipResponseEvent,
    );
  return { tracker, events, request, reply };
}

Deno.test("tracker: an unanswered call times out after the setup timeout of capture time", () => {
  const { tracker, events, request } = harness({ setupTimeoutSeconds: 60 });
  request(1000, invite("x1"));
  request(1030, invite("x2"));
  assert.equal(tracker.leg("x1")?.state, "trying");
  request(1061, invite("x3")); // the clock moves on with other traffic
  const ended = events.filter((e) => e.type === "call.ended").map((e) =>
    e.type === "call.ended" && e.leg
  );
  assert.equal(ended.length, 1);
  assert.equal(ended[0] && ended[0].callId, "x1");
  assert.equal(ended[0] && ended[0].state, "timed-out");
  assert.equal(ended[0] && ended[0].endedBy, "timeout");
});

Deno.test("tracker: tick() times out and completes calls without traffic (live capture)", () => {
  const { tracker, events, request, reply } = harness({
    idleTimeoutSeconds: 100,
    completionGraceSeconds: 2,
  });
  request(1000, invite("live"));
  reply(1001, response("live", 200));
  tracker.tick(1050);
  assert.equal(tracker.leg("live")?.state, "answered");
  tracker.tick(1102);
  assert.equal(events.some((e) => e.type === "call.ended"), true);
  tracker.tick(1105);
  assert.equal(tracker.size, 0);
  assert.equal(events.filter((e) => e.type === "call.completed").length, 1);
});

Deno.test("tracker: past the cap, final legs are completed first", () => {
  const { tracker, events, request, reply } = harness({ maxLegs: 2, completionGraceSeconds: 1000 });
  request(1, invite("open"));
  request(2, invite("busy"));
  reply(2.1, response("busy", 486));
  request(3, invite("new"));
  const completed = events.filter((e) => e.type === "call.completed").map((e) =>
    e.type === "call.completed" && e.leg.callId
  );
  assert.deepEqual(completed, ["busy"]);
  assert.equal(tracker.leg("open")?.state, "trying");
  assert.ok(events.some((e) => e.type === "anomaly" && e.reason === "calls.table-full"));
});

Deno.test("tracker: a 407 challenge does not end the leg; the re-sent INVITE carries on", () => {
  const { tracker, request, reply } = harness();
  request(1, invite("auth"));
  reply(1.01, response("auth", 407));
  assert.equal(tracker.leg("auth")?.state, "trying");
  request(
    1.02,
    invite("auth").replace("CSeq: 1 INVITE", "CSeq: 2 INVITE").replace(
      "branch=z9hG4bKauth",
      "branch=z9hG4bK2",
    ),
  );
  reply(1.5, response("auth", 200, "INVITE", 2).replace("branch=z9hG4bKauth", "branch=z9hG4bK2"));
  const leg = tracker.leg("auth")!;
  assert.equal(leg.state, "answered");
  assert.deepEqual(leg.attempts.map((a) => [a.status, a.challenged]), [[407, true], [200, false]]);
});

Deno.test("tracker: a 200 that crosses a CANCEL answers the call", () => {
  const { tracker, request, reply } = harness();
  request(1, invite("race"));
  request(
    2,
    invite("race").replace(/^INVITE/, "CANCEL").replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL"),
  );
  reply(2.001, response("race", 200));
  assert.equal(tracker.leg("race")?.state, "answered");
});

Deno.test("tracker: final statuses map to states; Reason headers are read", () => {
  assert.equal(stateOfFinal(486), "busy");
  assert.equal(stateOfFinal(600), "busy");
  assert.equal(stateOfFinal(487), "cancelled");
  assert.equal(stateOfFinal(503), "failed");
  assert.equal(stateOfFinal(404), "rejected");
  assert.equal(stateOfFinal(603), "rejected");
  assert.equal(stateOfFinal(408), "timed-out");
  const bye = message(invite("r", 'Reason: Q.850;cause=16;text="NORMAL_CLEARING"\n'));
  assert.deepEqual(parseReason(bye), { protocol: "Q.850", cause: 16, text: "NORMAL_CLEARING" });
});

Deno.test("tracker: a leg adopted from a BYE under a Call-ID used before gets its own id", () => {
  const { events, request, reply } = harness();
  request(0, invite("reused"));
  reply(0.1, response("reused", 200));
  request(1, invite("reused").replace("INVITE sip", "BYE sip").replace("1 INVITE", "2 BYE"));
  reply(1.1, response("reused", 200, "BYE", 2));
  // Much later a dialog with the same Call-ID shows up mid-call (its INVITE was not captured).
  const bye = invite("reused").replace("INVITE sip", "BYE sip").replace("1 INVITE", "7 BYE")
    .replace("To: <sip:1002@10.0.0.2>", "To: <sip:1002@10.0.0.2>;tag=z");
  request(400, bye);
  const started = events.filter((e) => e.type === "call.started").map((e) =>
    e.type === "call.started" ? e.leg.id : ""
  );
  assert.deepEqual(started, ["reused", "reused#2"]);
});
