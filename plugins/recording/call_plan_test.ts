import assert from "node:assert/strict";
import type { LogicalCallRecord, LogicalLeg } from "../../engine/rules/logical_calls.ts";
import { legPlan, logicalPlan, type RecordedStream, senderOf } from "./call_plan.ts";

function stream(
  legId: string,
  direction: "caller-to-callee" | "callee-to-caller",
  firstArrival: number,
  seconds = 1,
  wav: string | null = `${legId}-${direction}.wav`,
): RecordedStream {
  return {
    id: `${legId}/${direction}/${firstArrival}`,
    legId,
    direction,
    ssrcHex: "0x00000001",
    src: { ip: "10.0.0.1", port: 4000 },
    dst: { ip: "10.0.0.2", port: 5000 },
    wav,
    pcap: wav ? null : `${legId}.pcap`,
    sampleRate: 8000,
    frames: wav ? 8000 * seconds : 0,
    firstArrival,
    lastArrival: firstArrival + seconds,
    coverage: [0, 8000 * seconds],
    codecs: ["PCMU"],
    undecodable: [],
    packets: 50 * seconds,
    lost: 0,
  };
}

function leg(
  id: string,
  parties: { caller: string | null; callee: string | null },
  extra: Partial<LogicalLeg> = {},
): LogicalLeg {
  return {
    id,
    callId: id,
    relations: [],
    state: "ended",
    wire: { ...parties },
    parties,
    realCaller: parties.caller,
    realCallee: parties.callee,
    startTs: 0,
    answerTs: 1,
    endTs: 10,
    endedBy: null,
    record: null,
    ...extra,
  };
}

function call(legs: LogicalLeg[], extra: Partial<LogicalCallRecord> = {}): LogicalCallRecord {
  return {
    id: `lc:${legs[0]!.id}`,
    scenarios: [],
    scenario: null,
    labels: [],
    caller: legs[0]!.parties.caller,
    callee: legs.at(-1)!.parties.callee,
    answeredBy: null,
    hungUpBy: null,
    startTs: 0,
    answerTs: 1,
    endTs: 10,
    legs,
    relations: [],
    talks: [],
    transfer: null,
    pickup: null,
    hunt: null,
    conference: null,
    rules: [],
    ...extra,
  };
}

const ids = (groups: { streams: RecordedStream[] }[]) =>
  groups.flatMap((g) => g.streams.map((s) => s.id));

Deno.test("call plan: a leg's caller stream goes left, the callee's right; no audio, no plan", () => {
  const a = stream("L", "caller-to-callee", 100.2, 2);
  const b = stream("L", "callee-to-caller", 100, 3);
  const plan = legPlan([a, b])!;
  assert.equal(plan.start, 100);
  assert.equal(plan.duration, 3);
  assert.deepEqual(ids(plan.channels[0]!), [a.id]);
  assert.deepEqual(ids(plan.channels[1]!), [b.id]);
  assert.equal(legPlan([stream("L", "caller-to-callee", 0, 1, null)]), null);
});

Deno.test("call plan: a pickup's real caller is on the wire's callee side, and goes left", () => {
  // The picking phone (1428) called *8; the rules made the callee side the real caller.
  const pickup = leg("P", { caller: "1428", callee: "01077141436" }, {
    wire: { caller: "109Q1428", callee: "*8" },
  });
  const fromPhone = stream("P", "caller-to-callee", 10);
  const fromServer = stream("P", "callee-to-caller", 10);
  const plan = logicalPlan(
    call([leg("B", { caller: "01077141436", callee: "1427" }), pickup], {
      caller: "01077141436",
    }),
    (id) => (id === "P" ? [fromPhone, fromServer] : []),
  )!;
  assert.equal(senderOf(pickup, "callee-to-caller"), "01077141436");
  assert.equal(plan.caller, "01077141436");
  assert.deepEqual(ids(plan.stereo.channels[0]!), [fromServer.id]);
  assert.deepEqual(plan.stereo.channels[1]!.map((g) => g.party), ["1428"]);
  assert.deepEqual(plan.streams.map((u) => [u.sender, u.channel]).sort(), [
    ["01077141436", "left"],
    ["1428", "right"],
  ]);
});

Deno.test("call plan: the duplicate half of a B2BUA pair and a record-off leg are left out", () => {
  const legs = [
    leg("A", { caller: "100", callee: "200" }),
    leg("B", { caller: "100", callee: "200" }, {
      relations: [{ relation: "b2bua-leg", to: "A" }],
    }),
    leg("C", { caller: "100", callee: "300" }, { record: false }),
  ];
  const streams = new Map([
    ["A", [stream("A", "caller-to-callee", 0), stream("A", "callee-to-caller", 0)]],
    ["B", [stream("B", "caller-to-callee", 0), stream("B", "callee-to-caller", 0)]],
    ["C", [stream("C", "caller-to-callee", 2)]],
  ]);
  const plan = logicalPlan(call(legs), (id) => streams.get(id) ?? [])!;
  assert.deepEqual(plan.skipped, [
    { leg: "B", reason: "b2bua-duplicate" },
    { leg: "C", reason: "record-off" },
  ]);
  assert.ok(plan.streams.every((u) => u.stream.legId === "A"));
  // The partner recorded nothing: then the other half is all there is, and it is kept.
  streams.set("A", []);
  const fallback = logicalPlan(call(legs), (id) => streams.get(id) ?? [])!;
  assert.deepEqual(fallback.skipped, [{ leg: "C", reason: "record-off" }]);
  assert.ok(fallback.streams.every((u) => u.stream.legId === "B"));
});

Deno.test("call plan: everyone but the caller goes right, one group per party", () => {
  const legs = [
    leg("1", { caller: "X", callee: "B" }),
    leg("2", { caller: "X", callee: "A" }, {
      relations: [{ relation: "transferred-to", to: "1" }],
    }),
  ];
  const s = new Map([
    ["1", [stream("1", "caller-to-callee", 0, 3), stream("1", "callee-to-caller", 0, 3)]],
    ["2", [stream("2", "caller-to-callee", 5, 2), stream("2", "callee-to-caller", 5, 2)]],
  ]);
  const plan = logicalPlan(call(legs), (id) => s.get(id)!)!;
  assert.deepEqual(plan.stereo.channels[0]!.map((g) => [g.party, g.streams.length]), [["X", 2]]);
  assert.deepEqual(plan.stereo.channels[1]!.map((g) => [g.party, g.streams.length]), [
    ["B", 1],
    ["A", 1],
  ]);
  assert.equal(plan.stereo.duration, 7);
  assert.equal(plan.conference, null);
});

Deno.test("call plan: a conference has a track per participant from its own legs, from the start", () => {
  const legs = [
    leg("M", { caller: "X", callee: "B" }),
    leg("C", { caller: "B", callee: "A" }, {
      relations: [{ relation: "conference-member", to: "M" }],
    }),
  ];
  const s = new Map([
    ["M", [stream("M", "caller-to-callee", 0, 20), stream("M", "callee-to-caller", 0, 20)]],
    ["C", [stream("C", "caller-to-callee", 8, 10), stream("C", "callee-to-caller", 8, 10)]],
  ]);
  const conference = {
    master: "M",
    startedAt: 10,
    participants: [
      { party: "X", legs: ["M"], joinedAt: 1, leftAt: 20 },
      { party: "B", legs: ["M", "C"], joinedAt: 1, leftAt: 20 },
      { party: "A", legs: ["C"], joinedAt: 9, leftAt: 18 },
    ],
  };
  const plan = logicalPlan(call(legs, { conference }), (id) => s.get(id)!)!;
  const c = plan.conference!;
  assert.equal(c.start, 10);
  assert.equal(c.mixed.duration, 10);
  assert.deepEqual(c.participants.map((p) => [p.party, ids(p.track.channels[0]!)]), [
    ["X", [s.get("M")![0]!.id]],
    // B on both legs: the master leg first, the conference leg fills its gaps.
    ["B", [s.get("M")![1]!.id, s.get("C")![0]!.id]],
    ["A", [s.get("C")![1]!.id]],
  ]);
  assert.ok(c.participants.every((p) => p.track.duration === 10 && p.track.start === 10));
  assert.equal(c.mixed.channels.length, 1);
  assert.equal(c.mixed.channels[0]!.length, 3);
});
