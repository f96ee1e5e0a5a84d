/**
 * A deterministic generator of large, realistic captures for benchmarks:
 * phones register (401 challenge), call through a server (INVITE with a 407
 * challenge, 100, 180, 200, ACK), talk with 20 ms G.711 RTP both ways (with
 * some loss and reordering), and hang up (BYE, 200). Calls overlap at a
 * chosen concurrency; packets are written in time order with bounded memory.
 *
 * ```sh
 * deno run -A tools/synth/bench_capture.ts OUT.pcap [--calls 1000] [--seconds 12] [--concurrent 60]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PcapWriter } from "../../engine/capture/pcap_writer.ts";
import { buildUdpFrame } from "./packet_builder.ts";
import { SeededRandom } from "./random.ts";
import { buildRtpPacket, encodeG711, ToneGenerator } from "./rtp_builder.ts";
import {
  buildSdp,
  digestCredentials,
  encodeSipMessage,
  formatDigestChallenge,
  SipDialog,
  type SipDialog as SipDialogType,
  type SipDraft,
} from "./sip_builder.ts";

/** Shape of a benchmark capture. */
export interface BenchCaptureOptions {
  /** Calls placed. */
  calls: number;
  /** Mean talk time of a call, seconds. */
  talkSeconds: number;
  /** Calls in progress at once (calls start at an even pace to keep this). */
  concurrent: number;
  /** Fraction of RTP packets lost. */
  loss: number;
  /** Fraction of RTP packets swapped with the next one. */
  reorder: number;
  /** Seed of every random choice. */
  seed: number;
  /** Capture start, seconds since the epoch. */
  start: number;
}

/** Defaults: about 1.2 million packets. */
export const DEFAULT_BENCH_OPTIONS: BenchCaptureOptions = {
  calls: 1000,
  talkSeconds: 12,
  concurrent: 60,
  loss: 0.005,
  reorder: 0.002,
  seed: 20261123,
  start: 1_780_000_000,
};

/** What was written. */
export interface BenchCaptureSummary {
  /** Packets written. */
  packets: number;
  /** Of which SIP. */
  sipMessages: number;
  /** Of which RTP. */
  rtpPackets: number;
  /** Bytes written. */
  bytes: number;
  /** Calls. */
  calls: number;
}

const SERVER = "10.0.0.1";
const PHONES = 250;
const RTP_INTERVAL = 0.02;

interface Timed {
  ts: number;
  frame: Uint8Array;
  sip: boolean;
}

/** A time-ordered packet source; the writer merges many of them. */
type Source = Iterator<Timed>;

function phoneAddress(i: number): string {
  return `10.1.${(i >> 8) & 255}.${i & 255}`;
}

function sipFrame(from: string, to: string, draft: SipDraft): Uint8Array {
  return buildUdpFrame({
    src: { ip: from, port: 5060 },
    dst: { ip: to, port: 5060 },
    payload: encodeSipMessage(draft),
  });
}

/** The 20 ms G.711 payloads of a tone, precomputed once per frequency. */
function tonePayloads(frequency: number): Uint8Array[] {
  const tone = new ToneGenerator(frequency, { amplitude: 8000 });
  const samples = new Int16Array(160);
  // 50 packets = one second; frequencies used are whole hertz, so the cycle repeats exactly.
  return Array.from({ length: 50 }, () => encodeG711(tone.fill(samples), "ulaw").slice());
}

function* rtpStream(options: {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  ssrc: number;
  start: number;
  end: number;
  payloads: Uint8Array[];
  random: SeededRandom;
  loss: number;
  reorder: number;
}): Generator<Timed> {
  const count = Math.floor((options.end - options.start) / RTP_INTERVAL);
  const seq0 = options.random.int(0, 65535);
  const ts0 = options.random.uint32();
  const packetAt = (i: number, ts: number): Timed => ({
    ts,
    sip: false,
    frame: buildUdpFrame({
      src: { ip: options.src, port: options.srcPort },
      dst: { ip: options.dst, port: options.dstPort },
      dscp: 46,
      payload: buildRtpPacket({
        payloadType: 0,
        sequence: (seq0 + i) & 0xffff,
        timestamp: (ts0 + i * 160) >>> 0,
        ssrc: options.ssrc,
        marker: i === 0,
      }, options.payloads[i % options.payloads.length]!),
    }),
  });
  for (let i = 0; i < count; i++) {
    const ts = options.start + i * RTP_INTERVAL + options.random.next() * 0.002;
    if (options.random.next() < options.loss) continue;
    if (i + 1 < count && options.random.next() < options.reorder) {
      // The next packet overtakes this one on the wire.
      const later = options.start + (i + 1) * RTP_INTERVAL + 0.001;
      yield packetAt(i + 1, later);
      yield packetAt(i, later + 0.0005);
      i++;
      continue;
    }
    yield packetAt(i, ts);
  }
}

/** The SIP of one call (and the caller's registration when it is the phone's first call). */
function callSignalling(options: {
  index: number;
  phone: string;
  register: boolean;
  start: number;
  answerAfter: number;
  talk: number;
  random: SeededRandom;
  callerHangsUp: boolean;
}): { messages: Timed[]; answer: number; end: number; phonePort: number; serverPort: number } {
  const { index, phone, random } = options;
  const user = `${2000 + (index % PHONES)}`;
  const dialled = `0${random.int(10000000, 99999999)}`;
  const messages: Timed[] = [];
  let t = options.start;
  const push = (from: string, to: string, draft: SipDraft, delay: number) => {
    t += delay;
    messages.push({ ts: t, frame: sipFrame(from, to, draft), sip: true });
  };
  const realm = "bench.example";
  if (options.register) {
    const reg = new SipDialog({
      callId: `reg-${random.hex(12)}@${phone}`,
      random,
      caller: {
        uri: `sip:${user}@${realm}`,
        tag: random.hex(8),
        contact: `sip:${user}@${phone}:5060`,
        host: phone,
        port: 5060,
      },
      callee: {
        uri: `sip:${user}@${realm}`,
        tag: random.hex(8),
        contact: `sip:${SERVER}`,
        host: SERVER,
        port: 5060,
      },
      requestUri: `sip:${realm}`,
    });
    const first = reg.request("caller", "REGISTER", { headers: [["Expires", "3600"]] });
    push(phone, SERVER, first, 0);
    const nonce = random.hex(16);
    push(
      SERVER,
      phone,
      reg.respond(first, 401, {
        headers: [["WWW-Authenticate", formatDigestChallenge({ realm, nonce })]],
      }),
      0.002,
    );
    const second = reg.resend(first, {
      headers: [[
        "Authorization",
        digestCredentials({
          username: user,
          password: "secret",
          challenge: { realm, nonce },
          method: "REGISTER",
          uri: `sip:${realm}`,
        }),
      ], ["Expires", "3600"]],
    });
    push(phone, SERVER, second, 0.01);
    push(SERVER, phone, reg.respond(second, 200, { headers: [["Expires", "3600"]] }), 0.002);
    t += 0.05;
  }
  const phonePort = 20000 + 2 * (index % 10000);
  const serverPort = 40000 + 2 * (index % 10000);
  const dialog: SipDialogType = new SipDialog({
    callId: `${random.hex(16)}@${phone}`,
    random,
    caller: {
      uri: `sip:${user}@${realm}`,
      displayName: `Ext ${user}`,
      tag: random.hex(10),
      contact: `sip:${user}@${phone}:5060`,
      host: phone,
      port: 5060,
      userAgent: "BenchPhone/1.0",
    },
    callee: {
      uri: `sip:${dialled}@${realm}`,
      tag: random.hex(10),
      contact: `sip:${dialled}@${SERVER}:5060`,
      host: SERVER,
      port: 5060,
      server: "BenchPBX/1.0",
    },
  });
  const offer = buildSdp({
    sessionId: index,
    sessionVersion: 1,
    address: phone,
    port: phonePort,
    payloadTypes: [0, 8],
  });
  const invite = dialog.invite({ body: offer });
  push(phone, SERVER, invite, 0);
  const nonce = random.hex(16);
  const challenge = dialog.respond(invite, 407, {
    headers: [["Proxy-Authenticate", formatDigestChallenge({ realm, nonce })]],
  });
  push(SERVER, phone, challenge, 0.003);
  push(phone, SERVER, dialog.ack(invite, challenge), 0.002);
  const authed = dialog.resend(invite, {
    body: offer,
    headers: [[
      "Proxy-Authorization",
      digestCredentials({
        username: user,
        password: "secret",
        challenge: { realm, nonce },
        method: "INVITE",
        uri: invite.uri,
      }),
    ]],
  });
  push(phone, SERVER, authed, 0.01);
  push(SERVER, phone, dialog.respond(authed, 100), 0.002);
  push(SERVER, phone, dialog.respond(authed, 180), 0.05);
  const answerSdp = buildSdp({
    sessionId: index + 1e6,
    sessionVersion: 1,
    address: SERVER,
    port: serverPort,
    payloadTypes: [0],
  });
  const ok = dialog.respond(authed, 200, { body: answerSdp });
  push(SERVER, phone, ok, options.answerAfter);
  const answer = t;
  push(phone, SERVER, dialog.ack(authed, ok), 0.004);
  t = answer + options.talk;
  const hangup = options.callerHangsUp ? "caller" : "callee";
  const bye = dialog.request(hangup, "BYE");
  const [from, to] = hangup === "caller" ? [phone, SERVER] : [SERVER, phone];
  push(from, to, bye, 0);
  push(to, from, dialog.respond(bye, 200), 0.003);
  return { messages, answer, end: answer + options.talk, phonePort, serverPort };
}

/** A binary min-heap of sources keyed by the time of their next packet. */
class SourceHeap {
  readonly #items: { head: Timed; source: Source }[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(source: Source): void {
    const first = source.next();
    if (first.done) return;
    const items = this.#items;
    items.push({ head: first.value, source });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.head.ts <= items[i]!.head.ts) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  /** Time of the earliest packet. */
  peekTime(): number {
    return this.#items[0]?.head.ts ?? Infinity;
  }

  /** Takes the earliest packet, advancing its source. */
  pop(): Timed {
    const items = this.#items;
    const top = items[0]!;
    const packet = top.head;
    const next = top.source.next();
    if (next.done) {
      const last = items.pop()!;
      if (items.length === 0) return packet;
      items[0] = last;
    } else {
      top.head = next.value;
    }
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < items.length && items[l]!.head.ts < items[smallest]!.head.ts) smallest = l;
      if (r < items.length && items[r]!.head.ts < items[smallest]!.head.ts) smallest = r;
      if (smallest === i) break;
      [items[smallest], items[i]] = [items[i]!, items[smallest]!];
      i = smallest;
    }
    return packet;
  }
}

/**
 * Writes a benchmark capture.
 *
 * @param path Output pcap file.
 * @param options Calls, durations, concurrency, impairments and seed.
 * @returns What was written.
 */
export async function writeBenchCapture(
  path: string,
  options: Partial<BenchCaptureOptions> = {},
): Promise<BenchCaptureSummary> {
  const o = { ...DEFAULT_BENCH_OPTIONS, ...options };
  const random = new SeededRandom(o.seed);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file, { bufferBytes: 1 << 20, closeSink: true });
  await writer.writeHeader();
  const heap = new SourceHeap();
  const pace = (o.talkSeconds + 2) / o.concurrent;
  const tones = [tonePayloads(440), tonePayloads(697)];
  const registered = new Set<number>();
  const summary: BenchCaptureSummary = {
    packets: 0,
    sipMessages: 0,
    rtpPackets: 0,
    bytes: 0,
    calls: o.calls,
  };
  let next = 0;
  const startCall = (index: number) => {
    const phoneIndex = index % PHONES;
    const phone = phoneAddress(phoneIndex + 1);
    const talk = o.talkSeconds * (0.5 + random.next());
    const call = callSignalling({
      index,
      phone,
      register: !registered.has(phoneIndex),
      start: o.start + index * pace,
      answerAfter: 0.5 + random.next() * 2,
      talk,
      random,
      callerHangsUp: random.next() < 0.5,
    });
    registered.add(phoneIndex);
    heap.push(call.messages[Symbol.iterator]());
    const common = {
      start: call.answer + 0.01,
      end: call.end,
      random,
      loss: o.loss,
      reorder: o.reorder,
    };
    heap.push(
      rtpStream({
        ...common,
        src: phone,
        srcPort: call.phonePort,
        dst: SERVER,
        dstPort: call.serverPort,
        ssrc: random.uint32(),
        payloads: tones[0]!,
      }),
    );
    heap.push(
      rtpStream({
        ...common,
        src: SERVER,
        srcPort: call.serverPort,
        dst: phone,
        dstPort: call.phonePort,
        ssrc: random.uint32(),
        payloads: tones[1]!,
      }),
    );
  };
  while (next < o.calls || heap.size > 0) {
    // Start calls lazily, just before their time, so memory follows concurrency.
    while (next < o.calls && o.start + next * pace <= heap.peekTime()) startCall(next++);
    if (heap.size === 0) continue;
    const packet = heap.pop();
    await writer.writePacket(packet.ts, packet.frame);
    summary.packets++;
    if (packet.sip) summary.sipMessages++;
    else summary.rtpPackets++;
  }
  await writer.close();
  summary.bytes = writer.bytesWritten;
  return summary;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      calls: { type: "string" },
      seconds: { type: "string" },
      concurrent: { type: "string" },
    },
  });
  const out = positionals[0];
  if (!out) {
    console.error("usage: bench_capture.ts OUT.pcap [--calls N] [--seconds S] [--concurrent C]");
    Deno.exit(2);
  }
  const t0 = performance.now();
  const summary = await writeBenchCapture(out, {
    ...(values.calls ? { calls: Number(values.calls) } : {}),
    ...(values.seconds ? { talkSeconds: Number(values.seconds) } : {}),
    ...(values.concurrent ? { concurrent: Number(values.concurrent) } : {}),
  });
  console.log(JSON.stringify({ ...summary, seconds: (performance.now() - t0) / 1000 }));
}
