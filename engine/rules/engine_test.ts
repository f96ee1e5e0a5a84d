import assert from "node:assert/strict";
import { Analyzer } from "../analyzer.ts";
import { explainFilter } from "./engine.ts";
import { parseRules } from "./rule_set.ts";
import { loadSite } from "./site.ts";

const { site } = await loadSite();
const FOUR_LEGS =
  new URL("../../fixtures/seed/2-transfer-variant.pcapng", import.meta.url).pathname;

// Each new leg is linked to the one that started just before it; a later rule of the same
// event reads `logical` and must see that link, an earlier one must not.
const CHAIN = `
rules:
  - id: test.before-link
    priority: 200
    on: call.started
    when: { ">=": [{ var: logical.legCount }, 2] }
    then:
      labels: [saw-link-too-early]
  - id: test.link
    priority: 100
    on: call.started
    find:
      other:
        among: any
        pick: latest
        where: { "<": [{ var: other.startTs }, { var: leg.startTs }] }
    then:
      link: { from: leg, to: other, relation: follows }
  - id: test.after-link
    priority: 50
    on: call.started
    when: { ">=": [{ var: logical.legCount }, 2] }
    then:
      labels: [saw-link]
`;

async function analyze(explain: boolean) {
  const { rules, errors } = await parseRules(CHAIN, "chain.yaml", site, { dir: null });
  assert.deepEqual(errors, []);
  const analyzer = new Analyzer({
    rules: { rules, site, explain: explain ? explainFilter("*") : undefined },
  });
  assert.ok(await analyzer.analyzeFile(FOUR_LEGS));
  return analyzer.report().logicalCalls;
}

Deno.test("a rule reads the logical call as the rules before it in the same event left it", async () => {
  const calls = await analyze(false);
  assert.equal(calls.length, 1);
  const [call] = calls;
  assert.equal(call!.legs.length, 4);
  assert.equal(
    call!.relations.filter((r) => r.relation === "follows").length,
    call!.legs.length - 1,
  );
  assert.deepEqual(call!.labels, ["saw-link"]);
});

Deno.test("explaining the rules does not change what they do", async () => {
  assert.deepEqual(await analyze(true), await analyze(false));
});
