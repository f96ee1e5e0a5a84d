import assert from "node:assert/strict";
import { loadRules, parseRules } from "./rule_set.ts";
import { parseSite } from "./site.ts";
import { RuleFileError } from "./located.ts";

const { site } = await parseSite("featureCodes:\n  pickup: ['*8']\n", "site.yaml");

async function errorsOf(
  text: string,
): Promise<{ line: number; column: number; reason: string }[]> {
  return (await parseRules(text, "rules/test.yaml", site)).errors.map((e) => {
    assert.ok(e instanceof RuleFileError);
    assert.equal(e.file, "rules/test.yaml");
    assert.match(e.message, /^rules\/test\.yaml:\d+:\d+: /);
    return { line: e.line, column: e.column, reason: e.reason };
  });
}

const GOOD = `rules:
  - id: pickup.example
    description: a pickup
    priority: 5
    on: call.ended
    when: { "==": [{ var: leg.state }, cancelled] }
    find:
      picker:
        among: any
        where: { in: [{ var: picker.dialled }, { var: site.featureCodes.pickup }] }
    then:
      scenario: pickup
      link: { from: picker, to: leg, relation: picked-up-from }
      set:
        picker.realCaller: { var: leg.caller.number }
`;

Deno.test("rules: a sound file loads with every field", async () => {
  const { rules, errors } = await parseRules(GOOD, "rules/test.yaml", site);
  assert.deepEqual(errors, []);
  assert.equal(rules.length, 1);
  const r = rules[0]!;
  assert.equal(r.id, "pickup.example");
  assert.deepEqual(r.on, ["call.ended"]);
  assert.equal(r.priority, 5);
  assert.deepEqual(r.find.map((f) => [f.name, f.among, f.pick]), [["picker", "any", "nearest"]]);
  assert.deepEqual(r.links, [{ from: "picker", to: "leg", relation: "picked-up-from" }]);
  assert.deepEqual(r.set.map((s) => [s.target, s.field]), [["picker", "realCaller"]]);
  assert.equal(r.line, 2);
});

Deno.test("rules: a YAML syntax error names its line", async () => {
  const errors = await errorsOf("rules:\n  - id: x\n    on: [call.started\n    then: {}\n");
  assert.equal(errors.length >= 1, true);
  assert.ok(errors[0]!.line >= 3, JSON.stringify(errors));
});

Deno.test("rules: an unknown key is reported at the key", async () => {
  const errors = await errorsOf(
    GOOD.replace("    priority: 5\n", "    priority: 5\n    prority: 7\n"),
  );
  assert.deepEqual(errors, [{ line: 5, column: 5, reason: "unknown key 'prority' in a rule" }]);
});

Deno.test("rules: an unknown operator is reported where it stands", async () => {
  const errors = await errorsOf(
    GOOD.replace(
      '{ "==": [{ var: leg.state }, cancelled] }',
      '{ "contains": [{ var: leg.state }, cancelled] }',
    ),
  );
  assert.deepEqual(errors, [{ line: 6, column: 13, reason: "unknown operator 'contains'" }]);
});

Deno.test("rules: an unknown context variable is reported where it stands", async () => {
  const errors = await errorsOf(
    GOOD.replace("{ var: leg.caller.number }", "{ var: leg.caller.numbr }"),
  );
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.reason, "unknown variable 'leg.caller.numbr'");
  assert.equal(errors[0]!.line, 15);
});

Deno.test("rules: site variables are checked against the site file", async () => {
  const errors = await errorsOf(GOOD.replace("site.featureCodes.pickup", "site.featureCodes.park"));
  assert.deepEqual(errors.map((e) => [e.line, e.reason]), [[
    10,
    "unknown variable 'site.featureCodes.park'",
  ]]);
  const withPark =
    (await parseSite("featureCodes:\n  pickup: ['*8']\n  park: ['*9']\n", "site.yaml")).site;
  const ok = await parseRules(
    GOOD.replace("site.featureCodes.pickup", "site.featureCodes.park"),
    "x.yaml",
    withPark,
  );
  assert.deepEqual(ok.errors, []);
});

Deno.test("rules: a name used before its search binds it is unknown", async () => {
  const errors = await errorsOf(GOOD.replace("{ var: leg.state }", "{ var: picker.state }"));
  assert.deepEqual(errors.map((e) => e.reason), ["unknown variable 'picker.state'"]);
});

Deno.test("rules: unknown triggers, link names and set targets are rejected", async () => {
  const errors = await errorsOf(
    GOOD.replace("on: call.ended", "on: call.hungup")
      .replace("from: picker, to: leg", "from: picker, to: other")
      .replace("picker.realCaller:", "picker.colour:"),
  );
  const reasons = errors.map((e) => e.reason);
  assert.ok(reasons.some((r) => r.startsWith("unknown trigger 'call.hungup'")), reasons.join("\n"));
  assert.ok(reasons.some((r) => r.startsWith("link 'to' must name a leg")), reasons.join("\n"));
  assert.ok(reasons.some((r) => r.startsWith("cannot set 'picker.colour'")), reasons.join("\n"));
});

Deno.test("rules: variables inside list iteration are element-relative and not checked", async () => {
  const text = GOOD.replace(
    '{ "==": [{ var: leg.state }, cancelled] }',
    "{ some: [{ var: leg.attempts }, { '==': [{ var: status }, 486] }] }",
  );
  assert.deepEqual(await errorsOf(text), []);
});

Deno.test("rules: hostile names are just unknown", async () => {
  const errors = await errorsOf(
    GOOD.replace("{ var: leg.state }", "{ var: leg.__proto__.polluted }"),
  );
  assert.deepEqual(errors.map((e) => e.reason), ["unknown variable 'leg.__proto__.polluted'"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("rules: duplicate ids across files are errors with both places", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.yaml`, GOOD);
    await Deno.writeTextFile(`${dir}/b.yaml`, GOOD);
    const { rules, errors } = await loadRules([dir], site);
    assert.equal(rules.length, 1);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!.message,
      /b\.yaml:2:1: duplicate rule id 'pickup\.example' \(also .*a\.yaml:2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("site: wrong types and unknown settings are reported with positions", async () => {
  const { errors } = await parseSite(
    "windows:\n  pickupSeconds: soon\n  snoozeSeconds: 3\nnumbers:\n  extensionPattern: '(['\n",
    "s.yaml",
  );
  assert.deepEqual(errors.map((e) => e.message), [
    "s.yaml:2:18: site 'windows.pickupSeconds' must be a number of seconds ≥ 0",
    "s.yaml:3:3: unknown setting 'windows.snoozeSeconds'",
    "s.yaml:5:21: bad extensionPattern: Invalid regular expression: /([/: Unterminated character class",
  ]);
});

Deno.test("rules: the shipped rule set and site file are sound", async () => {
  const { site: shipped, errors: siteErrors } = await (await import("./site.ts")).loadSite();
  const { rules, errors } = await loadRules([], shipped);
  assert.deepEqual([...siteErrors, ...errors].map(String), []);
  assert.ok(rules.length >= 10);
  const ids = rules.map((r) => r.id);
  for (
    const id of [
      "pickup.cancelled-after-pickup",
      "transfer.target",
      "conference.resume-bridges",
      "hunt.next-extension",
      "normal.two-party",
      "b2bua.pair",
    ]
  ) {
    assert.ok(ids.includes(id), id);
  }
});

Deno.test("rules README documents every leg field rules can read", async () => {
  const { LEG_SCHEMA } = await import("./context_schema.ts");
  const readme = await Deno.readTextFile(new URL("../../rules/README.md", import.meta.url));
  assert.equal(LEG_SCHEMA.kind, "map");
  if (LEG_SCHEMA.kind !== "map") return;
  for (const field of Object.keys(LEG_SCHEMA.fields)) {
    assert.ok(
      readme.includes(`\`${field}\``),
      `rules/README.md does not mention leg field '${field}'`,
    );
  }
});
