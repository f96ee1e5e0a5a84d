/**
 * The five seed scenarios and their variants, classified by the shipped
 * YAML rules, against the expected logical calls written by hand from the
 * user's scenario report (fixtures/seed/expected/*.json, reviewed; see
 * fixtures/seed/README.md). The variants come from a site whose pickup code
 * is `**5`: fixtures/seed/variant-site.yaml is the shipped site file with
 * that one line changed, and nothing else — which a test here checks.
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import type { LogicalCallRecord } from "../engine/rules/logical_calls.ts";
import { loadRules } from "../engine/rules/rule_set.ts";
import { loadSite, type Site } from "../engine/rules/site.ts";
import { assertSipCounts, assertStreamsMatch } from "./support/compare.ts";

const SEED = new URL("../fixtures/seed/", import.meta.url).pathname;
const REALSTACK = new URL("../fixtures/realstack/", import.meta.url).pathname;
const SHIPPED_SITE = new URL("../rules/site.yaml", import.meta.url).pathname;
const VARIANT_SITE = `${SEED}variant-site.yaml`;

interface ExpectedCall {
  scenario: string;
  caller: string;
  callee: string;
  answeredBy: string;
  hungUpBy: string;
  transfer?: LogicalCallRecord["transfer"];
  pickup?: LogicalCallRecord["pickup"];
  hunt?: LogicalCallRecord["hunt"];
  conference?: {
    master: string;
    startedAt: string;
    participants: { party: string; legs: string[]; joinedAt: string; leftAt: string }[];
  };
  legs: { callId: string; relation: string; relatedTo?: string }[];
}

async function analyze(
  capture: string,
  sitePath: string,
  dir = SEED,
): Promise<LogicalCallRecord[]> {
  const { site, errors: siteErrors } = await loadSite(sitePath);
  const { rules, errors } = await loadRules([], site);
  assert.deepEqual([...siteErrors, ...errors].map(String), []);
  const analyzer = new Analyzer({ rules: { rules, site } });
  assert.ok(await analyzer.analyzeFile(`${dir}${capture}`));
  const report = analyzer.report();
  if (dir === REALSTACK) {
    // Real SIP stacks: SIP counts and RTP streams also agree with tshark.
    assertSipCounts(report, await Deno.readTextFile(`${dir}${capture}.sipstat.txt`));
    assertStreamsMatch(report, await Deno.readTextFile(`${dir}${capture}.rtpstreams.txt`));
  }
  return report.logicalCalls;
}

function near(ours: number | null | undefined, iso: string, what: string): void {
  assert.ok(ours !== null && ours !== undefined, `${what}: missing`);
  assert.ok(Math.abs(ours - Date.parse(iso) / 1000) < 0.001, `${what}: ${ours} vs ${iso}`);
}

function checkCall(ours: LogicalCallRecord, want: ExpectedCall): void {
  const where = `logical call of ${want.legs[0]!.callId}`;
  assert.equal(ours.scenario, want.scenario, `${where}: scenario`);
  assert.equal(ours.caller, want.caller, `${where}: caller`);
  assert.equal(ours.callee, want.callee, `${where}: callee`);
  assert.equal(ours.answeredBy, want.answeredBy, `${where}: answered by`);
  assert.equal(ours.hungUpBy, want.hungUpBy, `${where}: hung up by`);
  assert.deepEqual(
    ours.legs.map((l) => l.callId).sort(),
    want.legs.map((l) => l.callId).sort(),
    `${where}: legs`,
  );
  for (const leg of want.legs) {
    const got = ours.legs.find((l) => l.callId === leg.callId)!;
    if (leg.relation === "initial") {
      // A B2BUA pairing is extra detail; no other relation may leave the initial leg.
      assert.deepEqual(
        got.relations.filter((r) => r.relation !== "b2bua-leg"),
        [],
        `${leg.callId}: initial`,
      );
    } else {
      const target = ours.legs.find((l) => l.callId === leg.relatedTo)!;
      assert.ok(
        got.relations.some((r) => r.relation === leg.relation && r.to === target.id),
        `${leg.callId}: ${leg.relation} ${leg.relatedTo}, we have ${JSON.stringify(got.relations)}`,
      );
    }
  }
  if (want.transfer) {
    const transfer = ours.transfer;
    if (transfer === null) {
      throw new assert.AssertionError({ message: `${where}: no transfer details` });
    }
    for (const [key, value] of Object.entries(want.transfer)) {
      assert.deepEqual(transfer[key as keyof typeof transfer], value, `transfer ${key}`);
    }
    assert.equal(transfer.completed, true);
    assert.equal(transfer.status, 202);
    assert.equal(transfer.progress, 200, "NOTIFY sipfrag reported the target's 200 OK");
  }
  if (want.pickup) assert.deepEqual(ours.pickup, want.pickup);
  if (want.hunt) assert.deepEqual(ours.hunt, want.hunt);
  if (want.conference) {
    const c: NonNullable<LogicalCallRecord["conference"]> | null = ours.conference;
    if (c === null) throw new assert.AssertionError({ message: `${where}: no conference details` });

    assert.equal(c.master, want.conference.master);
    near(c.startedAt, want.conference.startedAt, "conference start");
    assert.deepEqual(
      c.participants.map((p) => p.party).sort(),
      want.conference.participants.map((p) => p.party).sort(),
    );
    for (const p of want.conference.participants) {
      const got: { legs: string[]; joinedAt: number | null; leftAt: number | null } = c.participants
        .find((x) => x.party === p.party)!;

      assert.deepEqual(got.legs.sort(), [...p.legs].sort(), `${p.party} legs`);
      near(got.joinedAt, p.joinedAt, `${p.party} joined`);
      near(got.leftAt, p.leftAt, `${p.party} left`);
    }
  }
}

const files = [...Deno.readDirSync(`${SEED}expected`)].map((e) => e.name).filter((n) =>
  n.endsWith(".json")
).sort();

for (const file of files) {
  const expected: { capture: string; calls: ExpectedCall[] } = JSON.parse(
    await Deno.readTextFile(`${SEED}expected/${file}`),
  );
  const variant = expected.capture.includes("-variant");
  Deno.test(`seed scenario: ${expected.capture} (${variant ? "variant" : "shipped"} site)`, async () => {
    const calls = await analyze(expected.capture, variant ? VARIANT_SITE : SHIPPED_SITE);
    assert.equal(calls.length, expected.calls.length, "logical calls");
    for (const want of expected.calls) {
      const ours = calls.find((c) => c.legs.some((l) => l.callId === want.legs[0]!.callId));
      assert.ok(ours, `a logical call with ${want.legs[0]!.callId}`);
      checkCall(ours, want);
    }
  });
}

const realstack = [...Deno.readDirSync(`${REALSTACK}expected`)].map((e) => e.name).filter((n) =>
  n.endsWith(".json")
).sort();

for (const file of realstack) {
  const expected: { capture: string; calls: ExpectedCall[] } = JSON.parse(
    await Deno.readTextFile(`${REALSTACK}expected/${file}`),
  );
  Deno.test(`real-stack scenario (sipp on loopback): ${expected.capture}`, async () => {
    const calls = await analyze(expected.capture, SHIPPED_SITE, REALSTACK);
    assert.equal(calls.length, expected.calls.length, "logical calls");
    for (const want of expected.calls) {
      const ours = calls.find((c) => c.legs.some((l) => l.callId === want.legs[0]!.callId));
      assert.ok(ours, `a logical call with ${want.legs[0]!.callId}`);
      checkCall(ours, want);
    }
  });
}

Deno.test("site: the variant site differs from the shipped one only in its pickup code", async () => {
  const shipped = (await Deno.readTextFile(SHIPPED_SITE)).split("\n");
  const variant = (await Deno.readTextFile(VARIANT_SITE)).split("\n");
  assert.equal(shipped.length, variant.length);
  const changed = shipped.flatMap((line, i) => line === variant[i] ? [] : [[line, variant[i]]]);
  assert.deepEqual(changed, [['  pickup: ["*8"]', '  pickup: ["**5"]']]);
});

Deno.test("negative: a code that is not in the site file is not a pickup", async () => {
  const calls = await analyze("3-pickup-variant.pcapng", SHIPPED_SITE); // **5 is not the shipped *8
  assert.ok(calls.every((c) => !c.scenarios.includes("pickup")));
  assert.equal(calls.length, 2, "the ringing leg and the **5 leg stay apart");
});

Deno.test("negative: a normal call is classified as nothing else", async () => {
  for (const capture of ["1-normal.pcapng", "1-normal-variant.pcapng"]) {
    const calls = await analyze(capture, capture.includes("variant") ? VARIANT_SITE : SHIPPED_SITE);
    assert.deepEqual(calls.map((c) => c.scenarios), [["normal"]]);
    assert.deepEqual(calls.map((c) => c.labels), [[]]);
  }
});

Deno.test("site: numbers follow the site's rules", async () => {
  const { site }: { site: Site } = await loadSite(SHIPPED_SITE);
  const { extensionOf, normalizeNumber } = await import("../engine/rules/numbers.ts");
  assert.equal(extensionOf("109Q1427", site.numberRules), "1427");
  assert.equal(extensionOf("1428", site.numberRules), "1428");
  assert.equal(extensionOf("01077141436", site.numberRules), null);
  assert.equal(normalizeNumber("+821077141436", site.numberRules), "01077141436");
});
