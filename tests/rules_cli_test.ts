/**
 * The rules commands and rule loading through the CLI, run as a user would:
 * `rules check` (exit codes and file:line:column messages), `rules explain`,
 * and `analyze` refusing a broken rule file.
 */
import assert from "node:assert/strict";
import { cli } from "./support/cli.ts";

Deno.test("cli: rules check passes the shipped rules and lists them", async () => {
  const r = await cli("rules", "check");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok: \d+ rules in 6 file\(s\); site rules\/site\.yaml/);
  assert.match(r.stdout, /pickup\.cancelled-after-pickup/);
});

Deno.test("cli: rules check names file, line, column and reason, and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      file,
      "rules:\n  - id: bad.rule\n    on: call.started\n    when: { contains: [{ var: leg.dialled }, '*'] }\n    then: { scenario: x }\n",
    );
    const r = await cli("rules", "check", file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file}:4:13: unknown operator 'contains'`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: analyze refuses to run with a broken site file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/site.yaml`, "windows:\n  pickupSeconds: -3\n");
    const r = await cli("analyze", "--site", `${dir}/site.yaml`, "fixtures/seed/1-normal.pcapng");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /site\.yaml:2:18: site 'windows\.pickupSeconds' must be a number of seconds/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: rules explain shows what a rule read and why it fired", async () => {
  const r = await cli(
    "rules",
    "explain",
    "fixtures/seed/3-pickup.pcapng",
    "--call",
    "dbcf549ba00ffeeddf00c5d9c0be16c9@192.168.0.54",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /call\.answered\s+FIRED pickup\.answered-after-cancel \(rules\/pickup\.yaml:\d+\)/,
  );
  assert.match(r.stdout, /leg\.dialled = "\*8"/);
  assert.match(r.stdout, /→ set leg\.realCaller = "01077141436"/);
  assert.match(r.stdout, /call\.started\s+FIRED pickup\.transfer-button/);
  assert.match(r.stdout, /Logical call .*: pickup, 01077141436 → 1428/);
});

Deno.test("cli: rules explain says so when the Call-ID is not in the capture", async () => {
  const r = await cli(
    "rules",
    "explain",
    "fixtures/seed/3-pickup.pcapng",
    "--call",
    "nope@nowhere",
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no call with Call-ID nope@nowhere/);
});

Deno.test("cli: analyze --json carries logical calls with real parties", async () => {
  const r = await cli("analyze", "--json", "--no-progress", "fixtures/seed/3-pickup.pcapng");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.logicalCalls.length, 1);
  const call = report.logicalCalls[0];
  assert.equal(call.scenario, "pickup");
  assert.equal(call.caller, "01077141436");
  const pickupLeg = call.legs.find((l: { wire: { callee: string } }) => l.wire.callee === "*8");
  assert.equal(pickupLeg.realCaller, "01077141436");
  assert.deepEqual(call.labels, ["transfer-button"]);
});
