import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import type { PluginFactory } from "./plugin.ts";
import { PluginHost, PluginLoadError } from "./host.ts";

const SEED = new URL("../fixtures/seed/", import.meta.url).pathname;

Deno.test("plugins: one that throws on every event does not stop the analysis or the others", async () => {
  const analyzer = new Analyzer();
  const dir = await Deno.makeTempDir();
  try {
    const thrower = `${dir}/thrower.ts`;
    await Deno.writeTextFile(
      thrower,
      `export default () => ({
        name: "thrower",
        on: { "sip.request": () => { throw new Error("boom"); }, "call.completed": () => { throw new Error("bang"); } },
        rtp: () => { throw new Error("rtp boom"); },
      });`,
    );
    let sipRequests = 0;
    let packets = 0;
    let completed = 0;
    const counter: PluginFactory = () => ({
      name: "counter",
      on: { "sip.request": () => void sipRequests++, "call.completed": () => void completed++ },
      rtp: () => void packets++,
    });
    const lines: string[] = [];
    const host = await PluginHost.load(analyzer, [{ use: thrower }, { use: counter }], {
      maxErrors: 50,
      log: (l) => lines.push(l),
    });
    assert.ok(await analyzer.analyzeFile(`${SEED}1-normal.pcapng`));
    const report = analyzer.report();
    await host.close();
    assert.equal(report.summary.sip.requests.INVITE, 1);
    assert.equal(
      sipRequests,
      Object.values(report.summary.sip.requests).reduce((a, b) => a + b, 0),
    );
    assert.equal(packets, report.summary.media.rtpPackets);
    assert.equal(completed, report.calls.length);
    const [t, c] = host.reports;
    assert.equal(t!.name, "thrower");
    assert.equal(t!.disabled, true);
    assert.equal(t!.errors, 50);
    assert.match(t!.firstError!, /boom/);
    assert.equal(c!.name, "counter");
    assert.equal(c!.errors, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plugins: an unknown name or a module without a factory is a clear load error", async () => {
  const analyzer = new Analyzer();
  await assert.rejects(
    () => PluginHost.load(analyzer, [{ use: "no-such-plugin" }]),
    PluginLoadError,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, "export const x = 1;");
    await assert.rejects(
      () => PluginHost.load(analyzer, [{ use: `${dir}/bad.ts` }]),
      (e: unknown) =>
        e instanceof PluginLoadError && /default export must be a plugin factory/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
