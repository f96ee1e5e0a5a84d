import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { SourceSummary } from "./frame.ts";
import { BpfProgram, type Libpcap, loadLibpcap } from "./libpcap.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "./link_types.ts";
import {
  DEFAULT_LIVE_FILTER,
  LIVE_BATCH_FRAMES,
  LiveCaptureError,
  liveCaptureUnavailable,
  LiveSource,
} from "./live.ts";
import { openCapture } from "./open.ts";

// --- What this machine can do: each group of tests skips with the reason printed. ---

function tryLoad(): Libpcap | null {
  try {
    return loadLibpcap();
  } catch (error) {
    console.log(`live_test: libpcap unavailable, skipping the filter tests: ${String(error)}`);
    return null;
  }
}

function toolAvailable(name: string, args: string[]): boolean {
  try {
    new Deno.Command(name, { args, stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

const lib = tryLoad();
const whyNoCapture = lib ? liveCaptureUnavailable("lo") : "libpcap is not available";
const canCapture = whyNoCapture === null;
if (!canCapture) console.log(`live_test: skipping the live capture tests: ${whyNoCapture}`);
const hasTshark = toolAvailable("tshark", ["-v"]);
const hasSipp = toolAvailable("sipp", ["-v"]);
const hasTcpdump = toolAvailable("tcpdump", ["--version"]);
const CAPTURES = new URL("../../../shared/captures/", import.meta.url);
const hasCaptures = (() => {
  try {
    return Deno.statSync(CAPTURES).isDirectory;
  } catch {
    return false;
  }
})();
if (!hasTshark || !hasCaptures) {
  console.log(
    "live_test: tshark or ../shared/captures missing; skipping the real-data filter test",
  );
}
if (canCapture && (!hasSipp || !hasTcpdump)) {
  console.log("live_test: sipp or tcpdump not installed; skipping the sipp comparison");
}

// --- Helpers ---

/** A loopback address of our own in 127.0.0.0/8, so parallel tests do not see each other. */
function privateLoopback(): [string, string] {
  const b = 1 + Math.floor(Math.random() * 250);
  const c = 1 + Math.floor(Math.random() * 250);
  return [`127.${b}.${c}.10`, `127.${b}.${c}.11`];
}

async function udpSocket(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, address, () => resolve());
  });
  return socket;
}

function send(socket: dgram.Socket, payload: Uint8Array, port: number, address: string) {
  return new Promise<void>((resolve, reject) =>
    socket.send(payload, port, address, (error) => error ? reject(error) : resolve())
  );
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

interface Captured {
  ts: number;
  linkType: number;
  number: number;
  origLen: number;
  data: Uint8Array;
}

/** Starts a capture collecting copies of its frames. */
function collect(source: LiveSource) {
  const frames: Captured[] = [];
  const anomalies: string[] = [];
  source.open();
  const running = source.run({
    onFrame: (f) =>
      frames.push({
        ts: f.ts,
        linkType: f.linkType,
        number: f.number,
        origLen: f.origLen,
        data: f.data.slice(),
      }),
    onAnomaly: (a) => anomalies.push(`${a.reason}: ${a.detail}`),
  });
  return { frames, anomalies, running };
}

/** UDP over IPv4 inside a frame of the given link type: addresses, ports and payload. */
function udpOf(linkType: number, data: Uint8Array) {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let ip: number;
  if (linkType === LINKTYPE_ETHERNET) {
    if (data.length < 14 || v.getUint16(12) !== 0x0800) return null;
    ip = 14;
  } else if (linkType === LINKTYPE_LINUX_SLL) {
    if (data.length < 16 || v.getUint16(14) !== 0x0800) return null;
    ip = 16;
  } else {
    return null;
  }
  if (data.length < ip + 20 || data[ip]! >> 4 !== 4 || data[ip + 9] !== 17) return null;
  const udp = ip + (data[ip]! & 15) * 4;
  if (data.length < udp + 8) return null;
  return {
    src: data.subarray(ip + 12, ip + 16).join("."),
    dst: data.subarray(ip + 16, ip + 20).join("."),
    srcPort: v.getUint16(udp),
    dstPort: v.getUint16(udp + 2),
    udpLength: v.getUint16(udp + 4),
    payload: data.subarray(udp + 8),
  };
}

// --- The default filter, checked without capturing ---

/** Minimal frames for the default-filter check (only what BPF reads is filled in). */
function eth(etherType: number, payload: number[]): Uint8Array {
  return Uint8Array.from([...new Array(12).fill(2), etherType >> 8, etherType & 255, ...payload]);
}
function ip4(protocol: number, fragmentWord = 0, payload: number[] = [0, 0, 0, 0, 0, 0, 0, 0]) {
  const total = 20 + payload.length;
  return [
    0x45,
    0,
    total >> 8,
    total & 255,
    0,
    1,
    fragmentWord >> 8,
    fragmentWord & 255,
    64,
    protocol,
    0,
    0,
    10,
    0,
    0,
    1,
    10,
    0,
    0,
    2,
    ...payload,
  ];
}
function ip6(nextHeader: number, payload: number[] = [0, 0, 0, 0, 0, 0, 0, 0]) {
  return [0x60, 0, 0, 0, 0, payload.length, nextHeader, 64, ...new Array(32).fill(1), ...payload];
}

Deno.test({
  name:
    "the default filter keeps SIP/RTP carriers, fragments, tunnels and wrappers, and drops the rest",
  ignore: !lib,
  fn() {
    const program = new BpfProgram(DEFAULT_LIVE_FILTER, LINKTYPE_ETHERNET);
    const vlan = (inner: number[]) => [0x08, 0x00, ...inner]; // the inner ethertype, then IPv4
    try {
      const kept: [string, Uint8Array][] = [
        ["UDP", eth(0x0800, ip4(17))],
        ["TCP", eth(0x0800, ip4(6, 0, new Array(20).fill(0)))],
        ["SCTP", eth(0x0800, ip4(132))],
        ["later IPv4 fragment of a GRE packet", eth(0x0800, ip4(47, 0x00b9))],
        ["later IPv4 fragment of anything", eth(0x0800, ip4(1, 0x00b9))],
        ["IPv6 fragment of an IP-in-IPv6 packet", eth(0x86dd, ip6(44, [4, 0, 0, 8, 0, 0, 0, 1]))],
        ["GRE / ERSPAN", eth(0x0800, ip4(47))],
        ["IPv4-in-IPv4", eth(0x0800, ip4(4))],
        ["IPv6-in-IPv4", eth(0x0800, ip4(41))],
        ["GRE over IPv6", eth(0x86dd, ip6(47))],
        ["in-band 802.1Q tag", eth(0x8100, [0, 5, ...vlan(ip4(17))])],
        ["802.1ad outer tag", eth(0x88a8, [0, 5, 0x81, 0x00, 0, 6, ...vlan(ip4(17))])],
        ["PPPoE session", eth(0x8864, [0x11, 0, 0, 1, 0, 22, 0, 0x21, ...ip4(17)])],
        ["MPLS", eth(0x8847, [0, 0x01, 0x01, 0x40, ...ip4(17)])],
      ];
      for (const [what, frame] of kept) assert.equal(program.matches(frame), true, what);
      const dropped: [string, Uint8Array][] = [
        ["ARP", eth(0x0806, new Array(28).fill(0))],
        ["ICMP", eth(0x0800, ip4(1))],
        ["IGMP", eth(0x0800, ip4(2))],
        ["OSPF", eth(0x0800, ip4(89))],
        ["ICMPv6", eth(0x86dd, ip6(58))],
        ["LLDP", eth(0x88cc, new Array(20).fill(0))],
      ];
      for (const [what, frame] of dropped) assert.equal(program.matches(frame), false, what);
    } finally {
      program.close();
    }
    // It compiles for every link type a live interface may have and packetwave decodes.
    for (
      const linkType of [
        LINKTYPE_NULL,
        LINKTYPE_RAW,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_LINUX_SLL2,
        LINKTYPE_IPV4,
      ]
    ) {
      new BpfProgram(DEFAULT_LIVE_FILTER, linkType).close();
    }
  },
});

Deno.test({
  name:
    "the default filter keeps every frame of the shared captures that tshark sees as UDP, TCP, SCTP or a fragment",
  ignore: !lib || !hasTshark || !hasCaptures,
  async fn() {
    const files = [...Deno.readDirSync(CAPTURES)]
      .map((e) => e.name)
      .filter((n) => /\.pcap(ng)?$/.test(n))
      .sort();
    assert.ok(files.length >= 30, `only ${files.length} captures`);
    const programs = new Map<number, BpfProgram>();
    let checked = 0;
    let droppedTotal = 0;
    try {
      const queue = [...files];
      const worker = async () => {
        for (let file = queue.shift(); file; file = queue.shift()) {
          const path = new URL(file, CAPTURES).pathname;
          const tshark = await new Deno.Command("tshark", {
            args: [
              "-r",
              path,
              "-Y",
              "udp or tcp or sctp or ipv6.fraghdr or ip.frag_offset > 0 or ip.flags.mf == 1",
              "-T",
              "fields",
              "-e",
              "frame.number",
            ],
            stdout: "piped",
            stderr: "null",
          }).output();
          const wanted = new TextDecoder().decode(tshark.stdout).split("\n").filter((l) => l)
            .map(Number);
          const passed = new Set<number>();
          const opened = await openCapture(path);
          let total = 0;
          try {
            await opened.source.run({
              onFrame(frame) {
                total++;
                let program = programs.get(frame.linkType);
                if (!program) {
                  program = new BpfProgram(DEFAULT_LIVE_FILTER, frame.linkType);
                  programs.set(frame.linkType, program);
                }
                if (program.matches(frame.data, frame.origLen)) passed.add(frame.number);
              },
            });
          } finally {
            opened.close();
          }
          const missed = wanted.filter((n) => !passed.has(n));
          assert.deepEqual(missed, [], `${file}: frames the default filter drops`);
          checked += wanted.length;
          droppedTotal += total - passed.size;
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    } finally {
      for (const p of programs.values()) p.close();
    }
    assert.ok(checked > 15000, `checked ${checked} frames`);
    // The shared captures hold ARP, VRRP and friends: the filter does drop something.
    assert.ok(droppedTotal > 0);
  },
});

// --- Live capture on the loopback interface (root, or CAP_NET_RAW) ---

Deno.test({
  name: "LiveSource captures UDP datagrams on lo with their bytes, timestamps and link type",
  ignore: !canCapture,
  async fn() {
    const [target, other] = privateLoopback();
    const receiver = await udpSocket(target);
    const sender = await udpSocket(other);
    const port = receiver.address().port;
    const source = new LiveSource({
      interface: "lo",
      filter: `udp and dst host ${target} and dst port ${port}`,
      immediate: true,
    });
    let summary: SourceSummary | undefined;
    try {
      const { frames, anomalies, running } = collect(source);
      assert.equal(source.linkType, LINKTYPE_ETHERNET);
      const payloads = [0, 1, 2, 3, 4].map((i) =>
        new TextEncoder().encode(`packetwave live ${i} `.repeat(i * 40 + 1))
      );
      const before = Date.now() / 1000;
      for (const payload of payloads) await send(sender, payload, port, target);
      // Same port, other destination; same destination, other port: the filter must drop both.
      await send(sender, payloads[0]!, port, other);
      await send(sender, payloads[0]!, port + 1 === 65536 ? 1 : port + 1, target);
      const after = Date.now() / 1000;
      assert.ok(await until(() => frames.length >= payloads.length, 5000), "frames arrived");
      await new Promise((resolve) => setTimeout(resolve, 100));
      source.stop();
      summary = await running;

      assert.equal(frames.length, payloads.length, "only the filtered datagrams");
      assert.deepEqual(anomalies, []);
      const sourcePort = sender.address().port;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        assert.equal(f.number, i + 1);
        assert.equal(f.linkType, LINKTYPE_ETHERNET);
        assert.equal(f.origLen, f.data.length);
        assert.ok(
          f.ts >= before - 0.01 && f.ts <= after + 0.01,
          `ts ${f.ts} in [${before}, ${after}]`,
        );
        if (i > 0) assert.ok(f.ts >= frames[i - 1]!.ts, "timestamps do not go back");
        assert.deepEqual([...f.data.subarray(0, 12)], new Array(12).fill(0), "lo has zero MACs");
        const udp = udpOf(f.linkType, f.data);
        assert.ok(udp);
        assert.equal(udp.src, other);
        assert.equal(udp.dst, target);
        assert.equal(udp.srcPort, sourcePort);
        assert.equal(udp.dstPort, port);
        assert.equal(udp.udpLength, payloads[i]!.length + 8);
        assert.deepEqual(udp.payload, payloads[i]);
        assert.equal(f.data.length, 14 + 20 + 8 + payloads[i]!.length);
      }
      assert.equal(summary.frames, payloads.length);
      assert.equal(summary.format, "live");
      assert.equal(summary.bytes, frames.reduce((n, f) => n + f.data.length, 0));
      assert.deepEqual([...summary.linkTypes], [[LINKTYPE_ETHERNET, payloads.length]]);
      const stats = source.stats();
      assert.ok(stats, "stats after the end");
      assert.ok(stats.received >= payloads.length, `received ${stats.received}`);
      assert.equal(stats.dropped, 0);
    } finally {
      source.stop();
      await closeSocket(sender);
      await closeSocket(receiver);
    }
  },
});

Deno.test({
  name: "stop() ends run() promptly and the event loop keeps running during capture",
  ignore: !canCapture,
  async fn() {
    // Matches nothing: run() would wait for ever without stop().
    const source = new LiveSource({
      interface: "lo",
      filter: "udp and port 9 and host 127.254.254.254",
    });
    source.open();
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const started = performance.now();
    const running = source.run({ onFrame: () => {} });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopAt = performance.now();
    source.stop();
    const summary = await running;
    const stopMs = performance.now() - stopAt;
    clearInterval(interval);
    assert.equal(summary.frames, 0);
    assert.ok(stopMs < 250, `run() resolved ${stopMs.toFixed(1)} ms after stop()`);
    // 300 ms of capture at a 10 ms interval: the timer fired throughout.
    assert.ok(
      ticks >= 15,
      `${ticks} timer ticks in ${(performance.now() - started).toFixed(0)} ms`,
    );
    assert.ok(source.stats(), "stats stay readable after the end");
  },
});

Deno.test({
  name: "a burst bigger than one batch arrives complete and in order",
  ignore: !canCapture,
  async fn() {
    const [target, other] = privateLoopback();
    const receiver = await udpSocket(target);
    const sender = await udpSocket(other);
    const port = receiver.address().port;
    const count = LIVE_BATCH_FRAMES * 4 + 17;
    const source = new LiveSource({ interface: "lo", filter: `udp and dst host ${target}` });
    try {
      const sequence: number[] = [];
      source.open();
      const running = source.run({
        onFrame(f) {
          const udp = udpOf(f.linkType, f.data);
          if (udp) {
            sequence.push(new DataView(udp.payload.buffer).getUint32(udp.payload.byteOffset));
          }
        },
      });
      const payload = new Uint8Array(172); // an RTP-sized packet
      for (let i = 0; i < count; i++) {
        new DataView(payload.buffer).setUint32(0, i);
        await send(sender, payload, port, target);
      }
      // Non-immediate mode: the last kernel block is handed over after the 100 ms timeout.
      assert.ok(await until(() => sequence.length >= count, 5000), `${sequence.length}/${count}`);
      source.stop();
      const summary = await running;
      assert.equal(summary.frames, count);
      assert.deepEqual(sequence, Array.from({ length: count }, (_, i) => i));
      assert.equal(source.stats()?.dropped, 0);
    } finally {
      source.stop();
      await closeSocket(sender);
      await closeSocket(receiver);
    }
  },
});

Deno.test({
  name: "the 'any' interface with the default filter delivers Linux cooked frames",
  ignore: !canCapture || Deno.build.os !== "linux",
  async fn() {
    const [target, other] = privateLoopback();
    const receiver = await udpSocket(target);
    const sender = await udpSocket(other);
    const port = receiver.address().port;
    const source = new LiveSource({ immediate: true });
    const marker = new TextEncoder().encode(`packetwave any ${crypto.randomUUID()}`);
    try {
      const { frames, running } = collect(source);
      assert.equal(source.name, "any");
      assert.equal(source.filter, DEFAULT_LIVE_FILTER);
      assert.equal(source.linkType, LINKTYPE_LINUX_SLL);
      await send(sender, marker, port, target);
      const ours = () =>
        frames.filter((f) => {
          const udp = udpOf(f.linkType, f.data);
          return udp !== null && udp.dst === target && udp.dstPort === port;
        });
      assert.ok(await until(() => ours().length >= 1, 5000), "the datagram arrived");
      source.stop();
      await running;
      const f = ours()[0]!;
      assert.equal(f.linkType, LINKTYPE_LINUX_SLL);
      assert.deepEqual(udpOf(f.linkType, f.data)!.payload, marker);
      assert.equal(f.data.length, 16 + 20 + 8 + marker.length);
    } finally {
      source.stop();
      await closeSocket(sender);
      await closeSocket(receiver);
    }
  },
});

Deno.test({
  name: "LiveSource lifecycle: stop before run, a second run, a bad filter, a missing interface",
  ignore: !canCapture,
  async fn() {
    const early = new LiveSource({ interface: "lo", filter: "udp port 9" });
    early.stop();
    const summary = await early.run({ onFrame: () => assert.fail("no frame expected") });
    assert.equal(summary.frames, 0);

    const twice = new LiveSource({ interface: "lo", filter: "udp port 9" });
    twice.open();
    const first = twice.run({ onFrame: () => {} });
    await assert.rejects(() => twice.run({ onFrame: () => {} }), /already running/);
    twice.stop();
    await first;
    await assert.rejects(
      () => twice.run({ onFrame: () => {} }),
      (e) => e instanceof LiveCaptureError && /already ended/.test(e.message),
    );

    const bad = new LiveSource({ interface: "lo", filter: "udp port" });
    assert.throws(
      () => bad.open(),
      (e) => e instanceof LiveCaptureError && e.reason === "filter" && e.device === "lo",
    );
    await assert.rejects(
      () => new LiveSource({ interface: "pwnosuch1" }).run({ onFrame: () => {} }),
      (e) => e instanceof LiveCaptureError && e.reason === "no-such-device",
    );

    const closed = new LiveSource({ interface: "lo" });
    closed.open();
    closed.close();
    assert.ok(closed.stats(), "the last counters stay readable");
    closed.close();
  },
});

// --- sipp calls captured by LiveSource and tcpdump at the same time ---

/** SIP start line and Call-ID of each UDP payload, for comparing two captures. */
function sipSummary(frames: { linkType: number; data: Uint8Array }[]): string[] {
  const out: string[] = [];
  for (const f of frames) {
    const udp = udpOf(f.linkType, f.data);
    if (!udp) continue;
    const text = new TextDecoder().decode(udp.payload);
    const startLine = text.slice(0, text.indexOf("\r\n"));
    const callId = /^(?:call-id|i)[ \t]*:[ \t]*(.*?)\r?$/im.exec(text)?.[1] ?? "";
    out.push(`${startLine} | ${callId}`);
  }
  return out;
}

async function readLineMatching(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  ms: number,
): Promise<{ found: boolean; rest: Promise<string> }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = performance.now() + ms;
  let found = false;
  while (!found && performance.now() < deadline) {
    const timer = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), Math.max(1, deadline - performance.now()))
    );
    const chunk = await Promise.race([reader.read(), timer]);
    if (chunk === "timeout") break;
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    found = pattern.test(text);
  }
  // Keep draining so the child never blocks on a full pipe; the remainder is for messages.
  const rest = (async () => {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return text;
      text += decoder.decode(chunk.value, { stream: true });
    }
  })();
  return { found, rest };
}

Deno.test({
  name: "sipp calls on loopback: LiveSource and tcpdump capture the same SIP messages",
  ignore: !canCapture || !hasSipp || !hasTcpdump,
  async fn() {
    const [uas, uac] = privateLoopback();
    const filter = `udp and host ${uas}`;
    const dir = await Deno.makeTempDir({ prefix: "packetwave_live_" });
    const pcapPath = `${dir}/tcpdump.pcap`;
    const children: Deno.ChildProcess[] = [];
    const source = new LiveSource({ interface: "lo", filter, immediate: true });
    let running: Promise<SourceSummary> | null = null;
    let tcpdumpErr: Promise<string> = Promise.resolve("");
    try {
      const live = collect(source);
      running = live.running;
      const tcpdump = new Deno.Command("tcpdump", {
        args: [
          "-i",
          "lo",
          "-n",
          "-U",
          "--immediate-mode",
          "--time-stamp-precision=nano",
          "-w",
          pcapPath,
          filter,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      children.push(tcpdump);
      const ready = await readLineMatching(tcpdump.stderr, /listening on lo/, 10000);
      tcpdumpErr = ready.rest;
      assert.ok(ready.found, "tcpdump started");

      const sippArgs = ["-nostdin", "-timeout", "30s", "-timeout_error"];
      const server = new Deno.Command("sipp", {
        args: ["-sn", "uas", "-i", uas, "-p", "5060", ...sippArgs],
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      children.push(server);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const client = new Deno.Command("sipp", {
        args: [
          "-sn",
          "uac",
          `${uas}:5060`,
          "-i",
          uac,
          "-p",
          "5060",
          "-m",
          "3",
          "-r",
          "10",
          ...sippArgs,
        ],
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      children.push(client);
      const clientStatus = await client.status;
      assert.equal(clientStatus.code, 0, "sipp made its 3 calls successfully");

      // Both captures are in immediate mode; give the last packets a moment.
      await new Promise((resolve) => setTimeout(resolve, 300));
      source.stop();
      const summary = await running;
      running = null;
      tcpdump.kill("SIGINT");
      await tcpdump.status;
      const tcpdumpText = await tcpdumpErr;

      const opened = await openCapture(pcapPath);
      const reference: Captured[] = [];
      try {
        await opened.source.run({
          onFrame: (f) =>
            reference.push({
              ts: f.ts,
              linkType: f.linkType,
              number: f.number,
              origLen: f.origLen,
              data: f.data.slice(),
            }),
        });
      } finally {
        opened.close();
      }

      const ours = sipSummary(live.frames);
      const theirs = sipSummary(reference);
      // sipp's built-in scenarios: INVITE, 180, 200, ACK, BYE, 200 per call (more if retransmitted).
      assert.ok(theirs.length >= 18, `tcpdump saw ${theirs.length} SIP messages: ${tcpdumpText}`);
      assert.deepEqual(ours, theirs);
      assert.equal(summary.frames, reference.length);
      // The same packets, byte for byte, with the same kernel timestamps.
      for (let i = 0; i < reference.length; i++) {
        assert.deepEqual(live.frames[i]!.data, reference[i]!.data, `frame ${i + 1}`);
        const dt = Math.abs(live.frames[i]!.ts - reference[i]!.ts);
        assert.ok(dt < 1e-6, `frame ${i + 1} timestamps differ by ${dt} s`);
      }
      // Per call: request methods and response codes, in order.
      const calls = new Map<string, string[]>();
      for (const line of ours) {
        const [startLine, callId] = line.split(" | ") as [string, string];
        const words = startLine.split(" ");
        const what = words[0] === "SIP/2.0" ? words[1]! : words[0]!;
        calls.set(callId, [...(calls.get(callId) ?? []), what]);
      }
      assert.equal(calls.size, 3, "three calls");
      for (const [callId, steps] of calls) {
        for (const step of ["INVITE", "180", "200", "ACK", "BYE"]) {
          assert.ok(steps.includes(step), `${callId}: no ${step} in ${steps.join(" ")}`);
        }
        assert.equal(steps[0], "INVITE", callId);
      }
    } finally {
      source.stop();
      if (running) await running.catch(() => {});
      for (const child of children.reverse()) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already exited
        }
        await child.status;
      }
      await tcpdumpErr.catch(() => "");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
