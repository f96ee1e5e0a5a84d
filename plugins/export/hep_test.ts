import { toolWorks } from "../../tests/support/tools.ts";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import dgram from "node:dgram";
import { join } from "node:path";
import { Analyzer } from "../../engine/analyzer.ts";
import type { SipMessage } from "../../engine/sip/types.ts";
import { parseSipMessage } from "../../engine/sip/parse.ts";
import { type CollectedFrame, readAll } from "../../engine/capture/test_support.ts";
import { PluginHost, PluginLoadError } from "../host.ts";
import type { PluginFactory } from "../plugin.ts";
import createHepExporter, {
  decodeHep,
  encodeHep,
  HEP_PROTOCOL_QOS_REPORT,
  HEP_PROTOCOL_SIP,
  type HepOptions,
  type HepPacket,
  type HepPlugin,
  parseHepAddress,
} from "./hep.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;
const CAPTURES = new URL("../../../shared/captures/", import.meta.url).pathname;
const PICKUP = `${FIXTURES}seed/3-pickup.pcapng`;
const TEXT = new TextDecoder();

const hasTshark = toolWorks("tshark", ["-v"]);
const hasKamailio = toolWorks("kamailio", ["-v"]);
if (!hasTshark) console.warn("hep_test: tshark not found, skipping the tshark cross-checks");
if (!hasKamailio) {
  console.warn("hep_test: kamailio not found, skipping the Kamailio sipcapture test");
}

// ---------------------------------------------------------------------------
// Helpers

/** A SIP message as the capture holds it: found by this test's own Ethernet/IPv4/UDP reading. */
interface WireSip {
  ts: number;
  src: { ip: string; port: number };
  dst: { ip: string; port: number };
  payload: Uint8Array;
  callId: string;
}

const SIP_START = /^(?:[A-Z]+ \S+ SIP\/2\.0\r?\n|SIP\/2\.0 \d{3} )/;

function callIdOf(payload: Uint8Array): string {
  return /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(TEXT.decode(payload))?.[1] ?? "";
}

/** The SIP messages of an Ethernet/IPv4/UDP capture, in capture order. */
function wireSip(frames: CollectedFrame[]): WireSip[] {
  const out: WireSip[] = [];
  for (const f of frames) {
    const d = f.data;
    if (((d[12]! << 8) | d[13]!) !== 0x0800 || d[23] !== 17) continue;
    const udp = 14 + (d[14]! & 15) * 4;
    const length = ((d[udp + 4]! << 8) | d[udp + 5]!) - 8;
    const payload = d.slice(udp + 8, udp + 8 + length);
    if (!SIP_START.test(TEXT.decode(payload.subarray(0, 200)))) continue;
    out.push({
      ts: f.ts,
      src: { ip: [...d.subarray(26, 30)].join("."), port: (d[udp]! << 8) | d[udp + 1]! },
      dst: { ip: [...d.subarray(30, 34)].join("."), port: (d[udp + 2]! << 8) | d[udp + 3]! },
      payload,
      callId: callIdOf(payload),
    });
  }
  return out;
}

function md5(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** tshark's idea of the SIP payloads of a capture (hex of `udp.payload` or `tcp.payload`). */
async function tsharkPayloads(path: string, field: "udp.payload" | "tcp.payload") {
  const out = await new Deno.Command("tshark", {
    args: ["-r", path, "-Y", "sip", "-T", "fields", "-e", field],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success);
  return TEXT.decode(out.stdout).trim().split("\n").map((hex) =>
    new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)))
  );
}

/** A UDP collector on localhost that decodes what it receives. */
async function udpCollector() {
  const socket = dgram.createSocket("udp4");
  const datagrams: Uint8Array[] = [];
  socket.on("message", (m: Uint8Array) => datagrams.push(new Uint8Array(m)));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = (socket.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    datagrams,
    /** Waits until `count` datagrams arrived (or two seconds passed). */
    async received(count: number): Promise<HepPacket[]> {
      for (let i = 0; i < 200 && datagrams.length < count; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return datagrams.map((d) => {
        const decoded = decodeHep(d);
        assert.ok(decoded.ok, `a received datagram decodes: ${!decoded.ok && decoded.reason}`);
        return decoded.packet;
      });
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Analyzes a capture with the HEP exporter; returns the plugin, the host and the report. */
async function analyzeWithHep(path: string, options: HepOptions, extra: PluginFactory[] = []) {
  let plugin: HepPlugin | null = null;
  const hep: PluginFactory<HepOptions> = async (o, c) => (plugin = await createHepExporter(o, c));
  const analyzer = new Analyzer();
  const logs: string[] = [];
  const host = await PluginHost.load(
    analyzer,
    [
      { use: hep as PluginFactory<never>, options: { ...options } },
      ...extra.map((use) => ({ use })),
    ],
    { log: (line) => logs.push(line) },
  );
  assert.ok(await analyzer.analyzeFile(path));
  const report = analyzer.report();
  await host.close();
  return { plugin: plugin! as HepPlugin, host, report, logs };
}

/** Checks each received packet against the wire message with the same bytes. */
function assertMatchesWire(received: HepPacket[], wire: WireSip[], options: HepOptions): void {
  assert.equal(received.length, wire.length);
  const byHash = new Map<string, WireSip[]>();
  for (const w of wire) {
    const key = md5(w.payload);
    byHash.set(key, [...(byHash.get(key) ?? []), w]);
  }
  for (const p of received) {
    const candidates = byHash.get(md5(p.payload));
    assert.ok(candidates?.length, `the payload is one of the capture's SIP messages`);
    const w = candidates.shift()!;
    assert.deepEqual(p.payload, w.payload);
    assert.deepEqual(p.src, w.src);
    assert.deepEqual(p.dst, w.dst);
    assert.ok(Math.abs(p.ts - w.ts) < 1.5e-6, `timestamp ${p.ts} vs ${w.ts}`);
    assert.equal(p.ipProtocol, 17);
    assert.equal(p.protocolType, HEP_PROTOCOL_SIP);
    assert.equal(p.correlationId, w.callId);
    assert.equal(p.agentId, options.agentId ?? 0);
    assert.equal(p.authKey, options.password ?? null);
  }
}

/** Walks the chunks of a HEP packet with the layout of the spec, apart from `decodeHep`. */
function chunkLayout(bytes: Uint8Array): Array<[vendor: number, type: number, length: number]> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(TEXT.decode(bytes.subarray(0, 4)), "HEP3");
  assert.equal(v.getUint16(4), bytes.length, "the length field counts the whole packet");
  const chunks: Array<[number, number, number]> = [];
  for (let at = 6; at < bytes.length; at += v.getUint16(at + 4)) {
    chunks.push([v.getUint16(at), v.getUint16(at + 2), v.getUint16(at + 4)]);
  }
  return chunks;
}

// ---------------------------------------------------------------------------
// Encoding

const SAMPLE: HepPacket = {
  src: { ip: "192.168.0.54", port: 5060 },
  dst: { ip: "112.222.225.104", port: 5080 },
  ipProtocol: 17,
  ts: 1742358282.2150002,
  protocolType: HEP_PROTOCOL_SIP,
  agentId: 2001,
  authKey: "s3cret",
  correlationId: "abc@192.168.0.54",
  payload: new TextEncoder().encode("BYE sip:1428@112.222.225.104 SIP/2.0\r\nCall-ID: x\r\n\r\n"),
};

Deno.test("hep: IPv4 packet has the spec's chunk layout and decodes to what was encoded", () => {
  const bytes = encodeHep(SAMPLE);
  assert.deepEqual(chunkLayout(bytes), [
    [0, 0x01, 7], // IP family
    [0, 0x02, 7], // IP protocol
    [0, 0x03, 10], // IPv4 source
    [0, 0x04, 10], // IPv4 destination
    [0, 0x07, 8], // source port
    [0, 0x08, 8], // destination port
    [0, 0x09, 10], // seconds
    [0, 0x0a, 10], // microseconds
    [0, 0x0b, 7], // protocol type
    [0, 0x0c, 10], // capture agent id
    [0, 0x0e, 6 + 6], // auth key
    [0, 0x11, 6 + 16], // correlation id
    [0, 0x0f, 6 + SAMPLE.payload.length], // payload
  ]);
  const v = new DataView(bytes.buffer);
  assert.equal(bytes[6 + 6], 2, "AF_INET");
  assert.equal(v.getUint32(6 + 7 + 7 + 10 + 10 + 8 + 8 + 6), 1742358282);
  assert.equal(v.getUint32(6 + 7 + 7 + 10 + 10 + 8 + 8 + 10 + 6), 215000);
  const decoded = decodeHep(bytes);
  assert.ok(decoded.ok);
  assert.equal(decoded.unknownChunks, 0);
  assert.deepEqual(decoded.packet, { ...SAMPLE, ts: 1742358282.215 });
});

Deno.test("hep: IPv6 addresses use the 16-byte chunks; microseconds carry into seconds", () => {
  const bytes = encodeHep({
    ...SAMPLE,
    src: { ip: "2001:db8::1", port: 5060 },
    dst: { ip: "fe80::1%eth0", port: 5060 },
    ts: 1700000000.9999996,
    authKey: null,
    correlationId: null,
  });
  const layout = chunkLayout(bytes);
  assert.deepEqual(layout.slice(2, 4), [[0, 0x05, 22], [0, 0x06, 22]]);
  assert.ok(!layout.some(([, type]) => type === 0x0e || type === 0x11), "no empty chunks");
  assert.equal(bytes[6 + 6], 10, "AF_INET6");
  const decoded = decodeHep(bytes);
  assert.ok(decoded.ok);
  assert.equal(decoded.packet.src.ip, "2001:db8::1");
  assert.equal(decoded.packet.dst.ip, "fe80::1");
  assert.equal(decoded.packet.ts, 1700000001);
});

Deno.test("hep: what cannot be encoded is a RangeError", () => {
  assert.throws(
    () => encodeHep({ ...SAMPLE, dst: { ip: "2001:db8::1", port: 1 } }),
    RangeError,
  );
  assert.throws(() => encodeHep({ ...SAMPLE, src: { ip: "host.example", port: 1 } }), RangeError);
  assert.throws(() => encodeHep({ ...SAMPLE, payload: new Uint8Array(65500) }), RangeError);
  assert.throws(() => encodeHep({ ...SAMPLE, agentId: -1 }), RangeError);
  assert.throws(() => encodeHep({ ...SAMPLE, src: { ip: "10.0.0.1", port: 70000 } }), RangeError);
});

Deno.test("hep: damaged packets give a reason and never throw", () => {
  const good = encodeHep(SAMPLE);
  for (let n = 0; n < good.length; n++) {
    const cut = decodeHep(good.subarray(0, n));
    assert.equal(cut.ok, false, `a packet cut to ${n} bytes is refused`);
  }
  const badMagic = good.slice();
  badMagic[3] = 0x32; // HEP2
  assert.deepEqual(decodeHep(badMagic), { ok: false, reason: "hep.bad-magic" });
  const badChunk = good.slice();
  new DataView(badChunk.buffer).setUint16(6 + 4, 3); // a chunk shorter than its header
  assert.deepEqual(decodeHep(badChunk), { ok: false, reason: "hep.bad-chunk-length" });
  const badSize = good.slice();
  new DataView(badSize.buffer).setUint16(6 + 7 + 7 + 4, 9); // an IPv4 chunk of 3 bytes
  assert.equal(decodeHep(badSize).ok, false);
  // Another vendor's chunk is skipped.
  const vendor = new Uint8Array([0, 0x10, 0, 0x01, 0, 8, 0xab, 0xcd]);
  const withVendor = new Uint8Array(good.length + vendor.length);
  withVendor.set(good);
  withVendor.set(vendor, good.length);
  new DataView(withVendor.buffer).setUint16(4, withVendor.length);
  const decoded = decodeHep(withVendor);
  assert.ok(decoded.ok);
  assert.equal(decoded.unknownChunks, 1);
  // Random damage: a result every time, never an exception.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 5000; i++) {
    const damaged = good.slice();
    for (let k = 0; k < 3; k++) damaged[Math.floor(random() * damaged.length)] = random() * 256;
    const result = decodeHep(damaged);
    assert.equal(typeof result.ok, "boolean");
  }
});

Deno.test("hep: collector addresses", () => {
  assert.deepEqual(parseHepAddress("homer.example:9060"), { host: "homer.example", port: 9060 });
  assert.deepEqual(parseHepAddress("[2001:db8::5]:9060"), { host: "2001:db8::5", port: 9060 });
  for (const bad of ["homer", "homer:0", "homer:99999", "2001:db8::5:9060", ":9060"]) {
    assert.throws(() => parseHepAddress(bad), TypeError, bad);
  }
});

// ---------------------------------------------------------------------------
// The plugin on real captures

Deno.test("hep: completed calls reach a UDP collector, byte for byte, grouped by Call-ID", async () => {
  const collector = await udpCollector();
  try {
    const wire = wireSip((await readAll(await Deno.readFile(PICKUP))).frames);
    assert.equal(wire.length, 24);
    const options: HepOptions = { address: collector.address, agentId: 2001, password: "s3cret" };
    const { plugin, host, report } = await analyzeWithHep(PICKUP, options);
    const received = await collector.received(wire.length);
    assertMatchesWire(received, wire, options);
    assert.deepEqual(host.reports[0]!.errors, 0);
    assert.equal(plugin.stats.messages, 24);
    assert.equal(plugin.stats.rebuilt, 0);
    assert.equal(plugin.stats.sent, 24);
    assert.equal(plugin.stats.calls, report.calls.length);
    // Each Call-ID arrives as one run of messages, in capture order.
    const seen = new Set<string>();
    for (let i = 0; i < received.length; i++) {
      const id = received[i]!.correlationId!;
      if (i > 0 && received[i - 1]!.correlationId === id) {
        assert.ok(received[i]!.ts >= received[i - 1]!.ts, "in capture order within a call");
        continue;
      }
      assert.ok(!seen.has(id), `${id} arrives in one piece`);
      seen.add(id);
    }
    if (hasTshark) {
      const reference = await tsharkPayloads(PICKUP, "udp.payload");
      assert.deepEqual(wire.map((w) => md5(w.payload)), reference.map(md5));
    }
  } finally {
    await collector.close();
  }
});

Deno.test("hep: live mode sends every message at once, in capture order", async () => {
  const collector = await udpCollector();
  try {
    const wire = wireSip((await readAll(await Deno.readFile(PICKUP))).frames);
    const options: HepOptions = { address: collector.address, when: "live" };
    await analyzeWithHep(PICKUP, options);
    const received = await collector.received(wire.length);
    assertMatchesWire(received, wire, options);
    assert.deepEqual(received.map((p) => md5(p.payload)), wire.map((w) => md5(w.payload)));
  } finally {
    await collector.close();
  }
});

Deno.test("hep: a TCP collector receives the same packets as a stream", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunks: Uint8Array[] = [];
  const accepted = (async () => {
    const conn = await listener.accept();
    for await (const chunk of conn.readable) chunks.push(chunk);
  })();
  try {
    const wire = wireSip((await readAll(await Deno.readFile(PICKUP))).frames);
    const options: HepOptions = {
      address: `127.0.0.1:${listener.addr.port}`,
      transport: "tcp",
      agentId: 7,
    };
    const { plugin } = await analyzeWithHep(PICKUP, options);
    await accepted; // the exporter closed its connection
    const stream = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      stream.set(c, at);
      at += c.length;
    }
    const received: HepPacket[] = [];
    for (let i = 0; i < stream.length;) {
      const length = new DataView(stream.buffer, i + 4, 2).getUint16(0);
      const decoded = decodeHep(stream.subarray(i, i + length));
      assert.ok(decoded.ok);
      received.push(decoded.packet);
      i += length;
    }
    assertMatchesWire(received, wire, options);
    assert.equal(plugin.stats.sent, wire.length);
    assert.equal(plugin.stats.failed, 0);
  } finally {
    listener.close();
  }
});

Deno.test("hep: a collector that is down does not stop the analysis; losses are counted, warned once", async () => {
  // A port nobody listens on.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const plain = new Analyzer();
  await plain.analyzeFile(PICKUP);
  const expected = plain.report();
  for (const transport of ["tcp", "udp"] as const) {
    const { plugin, host, report } = await analyzeWithHep(PICKUP, {
      address: `127.0.0.1:${port}`,
      transport,
      when: "live",
    });
    assert.deepEqual(report.summary, expected.summary, `${transport}: the analysis is unchanged`);
    assert.equal(report.calls.length, expected.calls.length);
    assert.equal(plugin.stats.messages, 24);
    assert.equal(host.reports[0]!.errors, 0);
    if (transport === "tcp") {
      assert.equal(plugin.stats.sent, 0);
      assert.equal(plugin.stats.failed, 24);
      assert.equal(host.reports[0]!.warnings, 1);
    } else {
      // UDP cannot tell: the datagrams leave and are lost.
      assert.equal(plugin.stats.sent + plugin.stats.failed, 24);
    }
  }
});

Deno.test("hep: small buffers send calls early but lose nothing", async () => {
  const collector = await udpCollector();
  try {
    const wire = wireSip((await readAll(await Deno.readFile(PICKUP))).frames);
    const options: HepOptions = {
      address: collector.address,
      maxBufferedCalls: 1,
      maxMessagesPerCall: 3,
    };
    const { plugin, host } = await analyzeWithHep(PICKUP, options);
    const received = await collector.received(wire.length);
    assertMatchesWire(received, wire, options);
    assert.equal(plugin.stats.sent, 24);
    assert.equal(host.reports[0]!.warnings, 2, "one warning per kind: per-call cap, buffer full");
  } finally {
    await collector.close();
  }
});

Deno.test("hep: quality reports (type 0x22) carry each call stream's statistics", async () => {
  const collector = await udpCollector();
  try {
    const { plugin, report } = await analyzeWithHep(PICKUP, {
      address: collector.address,
      qualityReports: true,
    });
    const streams = report.streams.filter((s) => s.legId !== null);
    assert.ok(streams.length >= 2);
    const received = await collector.received(24 + streams.length);
    const reports = received.filter((p) => p.protocolType === HEP_PROTOCOL_QOS_REPORT);
    assert.equal(reports.length, streams.length);
    assert.equal(plugin.stats.qualityReports, streams.length);
    for (const p of reports) {
      const json = JSON.parse(TEXT.decode(p.payload));
      const stream = streams.find((s) =>
        s.src.ip === p.src.ip && s.src.port === p.src.port && s.ssrcHex === json.SSRC
      );
      assert.ok(stream, `a report for ${json.SSRC}`);
      const leg = report.calls.find((c) => c.id === stream.legId)!;
      assert.equal(json.CORRELATION_ID, leg.callId);
      assert.equal(p.correlationId, leg.callId);
      assert.deepEqual(p.dst, stream.dst);
      assert.equal(json.TOTAL_PK, stream.packets);
      assert.equal(json.EXPECTED_PK, stream.expected);
      assert.equal(json.DIR, stream.direction === "caller-to-callee" ? 0 : 1);
      assert.equal(json.MOS, Math.round(stream.mos!.mos * 1000) / 1000);
      // Sent with its call: right after a SIP message of the same Call-ID.
      const i = received.indexOf(p);
      assert.equal(received[i - 1]!.correlationId, leg.callId);
    }
  } finally {
    await collector.close();
  }
});

Deno.test("hep: SIP over TCP is exported from the segments as captured", async () => {
  const path = `${FIXTURES}sipp/answered_tcp.pcap`;
  const collector = await udpCollector();
  try {
    const { plugin } = await analyzeWithHep(path, { address: collector.address, when: "live" });
    const received = await collector.received(7);
    assert.equal(received.length, 7);
    assert.equal(plugin.stats.rebuilt, 0);
    assert.ok(received.every((p) => p.ipProtocol === 6));
    if (hasTshark) {
      const reference = await tsharkPayloads(path, "tcp.payload");
      assert.deepEqual(received.map((p) => md5(p.payload)), reference.map(md5));
    }
  } finally {
    await collector.close();
  }
});

Deno.test({
  name: "hep: messages not in one frame (IPv6 fragments) are written again from the parse",
  ignore: !existsSync(`${CAPTURES}sngrep__ipv6frag.pcap`),
  fn: async () => {
    const path = `${CAPTURES}sngrep__ipv6frag.pcap`;
    const seen: Array<{ message: SipMessage; src: string; dst: string }> = [];
    const watcher: PluginFactory = () => ({
      name: "watcher",
      on: {
        "sip.request": (e) => void seen.push({ message: e.message, src: e.src.ip, dst: e.dst.ip }),
        "sip.response": (e) => void seen.push({ message: e.message, src: e.src.ip, dst: e.dst.ip }),
      },
    });
    const collector = await udpCollector();
    try {
      const { plugin } = await analyzeWithHep(
        path,
        { address: collector.address, when: "live" },
        [watcher],
      );
      const received = await collector.received(seen.length);
      assert.equal(received.length, seen.length);
      assert.ok(plugin.stats.rebuilt > 0, "some messages were fragmented");
      for (const [i, p] of received.entries()) {
        const original = seen[i]!;
        assert.ok(p.src.ip.includes(":"), "IPv6 source");
        assert.equal(p.src.ip, original.src);
        assert.equal(p.dst.ip, original.dst);
        const parsed = parseSipMessage(p.payload);
        assert.ok(parsed.ok, "the exported message parses");
        const m = parsed.message;
        const o = original.message;
        assert.equal(m.callId, o.callId);
        assert.deepEqual(m.cseq, o.cseq);
        assert.deepEqual(m.body, o.body);
        assert.deepEqual([...m.headers.entries()], [...o.headers.entries()]);
        assert.equal(
          m.kind === "request" ? m.method : m.status,
          o.kind === "request" ? o.method : o.status,
        );
      }
    } finally {
      await collector.close();
    }
  },
});

Deno.test("hep: bad options are load errors, by the built-in name too", async () => {
  const cases: Array<Record<string, unknown>> = [
    {},
    { address: "homer" },
    { address: "127.0.0.1:9060", transport: "sctp" },
    { address: "127.0.0.1:9060", when: "later" },
    { address: "127.0.0.1:9060", agentId: -1 },
    { address: "127.0.0.1:9060", adress: "typo" },
    { address: "127.0.0.1:9060", maxQueueBytes: 0 },
  ];
  for (const options of cases) {
    await assert.rejects(
      () => PluginHost.load(new Analyzer(), [{ use: "hep", options }]),
      PluginLoadError,
      JSON.stringify(options),
    );
  }
  const host = await PluginHost.load(new Analyzer(), [{
    use: "hep",
    options: { address: "127.0.0.1:9" },
  }], { log: () => {} });
  assert.equal(host.reports[0]!.name, "hep");
  await host.close();
});

Deno.test("hep: with network access for the collector only, it runs; without it, a clear load error", async () => {
  const collector = await udpCollector();
  const dir = await Deno.makeTempDir();
  try {
    const script = join(dir, "run.ts");
    const root = new URL("../../", import.meta.url);
    await Deno.writeTextFile(
      script,
      `import { Analyzer } from "${new URL("engine/analyzer.ts", root).href}";
       import { PluginHost } from "${new URL("plugins/host.ts", root).href}";
       const analyzer = new Analyzer();
       try {
         const host = await PluginHost.load(analyzer, [{ use: "hep", options: { address: Deno.args[1], when: "live" } }], { log: () => {} });
         await analyzer.analyzeFile(Deno.args[0]);
         analyzer.report();
         await host.close();
         console.log("done", analyzer.report().summary.sip.messages);
       } catch (error) {
         console.log("load error:", error.message);
       }`,
    );
    const run = async (net: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          new URL("deno.json", root).pathname,
          "--allow-read",
          "--allow-env",
          "--allow-sys",
          `--allow-net=${net}`,
          script,
          PICKUP,
          collector.address,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stdout: TEXT.decode(out.stdout), stderr: TEXT.decode(out.stderr) };
    };
    const allowed = await run(`0.0.0.0:0,${collector.address}`);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^done 24/m);
    assert.equal((await collector.received(24)).length, 24);
    const denied = await run(collector.address);
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /load error: .*needs network access to 0\.0\.0\.0:0/);
  } finally {
    await collector.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// Interoperability: Kamailio's sipcapture module (what Homer 5 ran on) decodes our packets.

Deno.test({
  name: "hep: Kamailio sipcapture decodes every packet to the original SIP message",
  ignore: !hasKamailio,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const probe = dgram.createSocket("udp4");
    await new Promise<void>((r) => probe.bind(0, "127.0.0.1", () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await Deno.mkdir(join(dir, "db"));
    await Deno.writeTextFile(join(dir, "db", "version"), "");
    const fields = [
      "version",
      "0x001",
      "0x002",
      "0x003",
      "0x004",
      "0x007",
      "0x008",
      "0x009",
      "0x00a",
      "0x00b",
      "0x00c",
      "0x00e",
      "0x011",
    ].map((f) => `$hep(${f})`).join("|");
    const config = [
      "#!KAMAILIO",
      "debug=2",
      "log_stderror=yes",
      "fork=no",
      "disable_tcp=yes",
      `listen=udp:127.0.0.1:${port}`,
      'loadmodule "pv.so"',
      'loadmodule "xlog.so"',
      'loadmodule "db_text.so"',
      'loadmodule "sipcapture.so"',
      `modparam("sipcapture", "db_url", "text://${dir}/db")`,
      'modparam("sipcapture", "hep_capture_on", 1)',
      'modparam("sipcapture", "nonsip_hook", 1)',
      "event_route[sipcapture:request] {",
      `  xlog("L_ERR", "HEP|${fields}|$(hep(0x00f){s.md5})|\\n");`,
      "  drop;",
      "}",
      "request_route { drop; }",
      "onreply_route { drop; }",
    ].join("\n");
    await Deno.writeTextFile(join(dir, "kamailio.cfg"), config);
    const child = new Deno.Command("kamailio", {
      args: ["-f", join(dir, "kamailio.cfg"), "-DD", "-E"],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let log = "";
    const reading = (async () => {
      for await (const chunk of child.stderr) log += TEXT.decode(chunk);
    })();
    const lines = () => log.split("\n").filter((l) => l.includes("HEP|"));
    try {
      // Wait until Kamailio answers: send a probe until it shows in its log.
      const sender = dgram.createSocket("udp4");
      const ping = encodeHep({ ...SAMPLE, correlationId: "probe" });
      for (let i = 0; i < 100 && lines().length === 0; i++) {
        sender.send(ping, port, "127.0.0.1");
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise<void>((r) => sender.close(() => r()));
      const probes = lines().length;
      assert.ok(probes > 0, `kamailio did not start: ${log.slice(-500)}`);

      const wire = wireSip((await readAll(await Deno.readFile(PICKUP))).frames);
      const options: HepOptions = { address: `127.0.0.1:${port}`, agentId: 2001, password: "pw" };
      await analyzeWithHep(PICKUP, options);
      for (let i = 0; i < 200 && lines().length - probes < wire.length; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const decoded = lines().slice(probes).map((l) => l.slice(l.indexOf("HEP|")).split("|"));
      assert.equal(decoded.length, wire.length);
      const expected = new Map(wire.map((w) => [md5(w.payload), w]));
      for (const d of decoded) {
        const [
          ,
          version,
          family,
          proto,
          src,
          dst,
          sport,
          dport,
          sec,
          usec,
          type,
          agent,
          auth,
          cid,
          hash,
        ] = d;
        const w = expected.get(hash!);
        assert.ok(w, `Kamailio's payload ${hash} is one of the capture's messages`);
        expected.delete(hash!);
        assert.deepEqual(
          [version, family, proto, type, agent, auth, cid],
          ["3", "2", "17", "1", "2001", "pw", w.callId],
        );
        assert.deepEqual([src, Number(sport), dst, Number(dport)], [
          w.src.ip,
          w.src.port,
          w.dst.ip,
          w.dst.port,
        ]);
        assert.ok(Math.abs(Number(sec) + Number(usec) / 1e6 - w.ts) < 1.5e-6);
      }
      assert.equal(expected.size, 0);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reading;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
