/**
 * Rule hot reload in live mode: a bad edit of a rule file is rejected with
 * its error and the running rules stay active; a good edit takes effect for
 * the next calls. Needs root, libpcap and sipp; skipped with a message otherwise.
 */
import assert from "node:assert/strict";
import { liveCaptureUnavailable } from "../engine/capture/live.ts";
import { hasProgram, loopbackPair, placeCalls } from "./support/sipp.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const missing = Deno.uid() !== 0
  ? "not root"
  : liveCaptureUnavailable("lo") ?? (!(await hasProgram("sipp")) ? "sipp is not installed" : null);
if (missing) console.warn(`skipping live reload test: ${missing}`);

const COLLECTOR = `
export default (options) => {
  const calls = [];
  return {
    name: "collect-logical",
    on: { "logical.completed": (e) => {
      calls.push(e.call.scenarios);
      Deno.writeTextFileSync(options.file, JSON.stringify(calls));
    } },
  };
};
`;

async function waitFor(check: () => Promise<boolean>, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

Deno.test({
  name: "live: a bad rule edit keeps the old rules and logs the error; a good edit takes effect",
  ignore: missing !== null,
  async fn() {
    const dir = await Deno.makeTempDir();
    const rules = `${dir}/rules`;
    const { uac, uas } = loopbackPair();
    try {
      await Deno.mkdir(rules);
      for (const entry of Deno.readDirSync(`${ROOT}rules`)) {
        if (entry.name.endsWith(".yaml") && entry.name !== "site.yaml") {
          await Deno.copyFile(`${ROOT}rules/${entry.name}`, `${rules}/${entry.name}`);
        }
      }
      // A site whose logical calls are written one second after they end, to keep the test short.
      const site = (await Deno.readTextFile(`${ROOT}rules/site.yaml`)).replace(
        /correlationSeconds: \d+/,
        "correlationSeconds: 1",
      );
      await Deno.writeTextFile(`${dir}/site.yaml`, site);
      await Deno.writeTextFile(`${dir}/collect.ts`, COLLECTOR);
      await Deno.writeTextFile(
        `${dir}/plugins.yaml`,
        `plugins:\n  - use: ./collect.ts\n    options: { file: ${dir}/scenarios.json }\n`,
      );
      const live = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}main.ts`,
          "live",
          "-i",
          "lo",
          "--filter",
          `host ${uac} or host ${uas}`,
          "--rules",
          rules,
          "--site",
          `${dir}/site.yaml`,
          "--plugins",
          `${dir}/plugins.yaml`,
          "--status-seconds",
          "0",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 2500));
      const scenarios = async () => {
        try {
          return JSON.parse(await Deno.readTextFile(`${dir}/scenarios.json`)) as string[][];
        } catch {
          return [];
        }
      };

      // A bad edit: an unknown operator. The shipped rules keep running.
      await Deno.writeTextFile(
        `${rules}/zz-broken.yaml`,
        "rules:\n  - id: broken\n    on: call.started\n    when: { nonsense: [1] }\n    then: { scenario: x }\n",
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await placeCalls({ uac, uas, calls: 1, rate: 1 }), 0);
      assert.ok(
        await waitFor(async () => (await scenarios()).length >= 1, 10),
        "first call written",
      );
      assert.deepEqual((await scenarios())[0], ["normal"]);

      // A good edit: the normal rule now gives another scenario name.
      await Deno.remove(`${rules}/zz-broken.yaml`);
      const normal = await Deno.readTextFile(`${rules}/normal.yaml`);
      await Deno.writeTextFile(
        `${rules}/normal.yaml`,
        normal.replace("scenario: normal", "scenario: normal-edited"),
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await placeCalls({ uac, uas, calls: 1, rate: 1 }), 0);
      assert.ok(
        await waitFor(async () => (await scenarios()).length >= 2, 10),
        "second call written",
      );
      assert.deepEqual((await scenarios())[1], ["normal-edited"]);

      live.kill("SIGTERM");
      const out = await live.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(stderr, /zz-broken\.yaml:4:13: unknown operator 'nonsense'/);
      assert.match(stderr, /the rules already running stay active/);
      assert.match(stderr, /reloaded \d+ rules/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
