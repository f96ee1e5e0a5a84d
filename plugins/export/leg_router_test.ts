import assert from "node:assert/strict";
import { Analyzer } from "../../engine/analyzer.ts";
import { SipLegRouter } from "./leg_router.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;
const SHARED = new URL("../../../shared/captures/", import.meta.url).pathname;

async function captures(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /\.(pcap|pcapng)$/.test(e.name)) out.push(`${dir}${e.name}`);
    }
  } catch {
    console.warn(`leg_router_test: ${dir} is not there, skipped`);
  }
  return out.sort();
}

/** Files each SIP message under a leg with the router; returns per leg: [router count, tracker count]. */
async function compare(path: string): Promise<Map<string, [number, number]>> {
  const analyzer = new Analyzer();
  const counts = new Map<string, number>();
  const result = new Map<string, [number, number]>();
  const router = new SipLegRouter<number>((legId) =>
    counts.set(legId, (counts.get(legId) ?? 0) + 1)
  );
  const bus = analyzer.bus;
  bus.on("sip.request", (e) => {
    const register = e.message.method.toUpperCase() === "REGISTER";
    router.message(e.message.callId, register, analyzer.currentFrame, e.frame);
  });
  bus.on("sip.response", (e) => {
    router.message(e.message.callId, false, analyzer.currentFrame, e.frame);
  });
  bus.on("call.started", (e) => router.started(e.leg));
  bus.on("call.completed", (e) => {
    router.completed(e.leg, analyzer.currentFrame);
    result.set(e.leg.id, [counts.get(e.leg.id) ?? 0, e.leg.messages]);
    counts.delete(e.leg.id);
  });
  await analyzer.analyzeFile(path);
  analyzer.report();
  router.resolve();
  assert.equal(counts.size, 0, `messages filed after their leg completed: ${[...counts.keys()]}`);
  return result;
}

Deno.test("leg router: files exactly the messages the call tracker counts, on every fixture and shared capture", async () => {
  const files = [
    ...await captures(`${FIXTURES}seed/`),
    ...await captures(`${FIXTURES}realstack/`),
    ...await captures(`${FIXTURES}sipp/`),
    ...await captures(SHARED),
  ];
  assert.ok(files.length >= 20, `only ${files.length} captures found`);
  let legs = 0;
  let messages = 0;
  for (const file of files) {
    for (const [leg, [routed, tracked]] of await compare(file)) {
      assert.equal(routed, tracked, `${file}: leg ${leg}`);
      legs++;
      messages += tracked;
    }
  }
  assert.ok(legs >= 40 && messages >= 300, `${legs} legs, ${messages} messages`);
});
