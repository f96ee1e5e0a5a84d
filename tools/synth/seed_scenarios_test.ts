/**
 * Checks the seed-scenario generator three ways: against the hand-written
 * expectations in fixtures/seed/expected/ (its own bookkeeping), against the
 * committed fixtures (byte for byte), and through tshark, which reads every
 * capture, counts its SIP messages, follows each leg, lists the RTP streams
 * and lets us decode their audio.
 */
import assert from "node:assert/strict";
import { alawToLinear, ulawToLinear } from "./rtp_builder.ts";
import { type CaptureSummary, generateSeedCaptures, SEED_CAPTURES } from "./seed_scenarios.ts";

const FIXTURES = new URL("../../fixtures/seed/", import.meta.url);
const SIZE_BUDGET_BYTES = 3_200_000;

const hasTshark = (() => {
  try {
    return new Deno.Command("tshark", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!hasTshark) console.warn("seed_scenarios_test: tshark not found, skipping the tshark checks");

interface ExpectedMedia {
  codec: "PCMU" | "PCMA";
  phone: string;
  server: string;
  phoneHz: number;
  serverHz: number;
}

interface ExpectedLeg {
  callId: string;
  from: string;
  to: string;
  phone: string;
  direction: "to-phone" | "from-phone";
  state: "answered" | "cancelled" | "busy" | "failed";
  endedBy: "caller" | "callee";
  challenged?: number;
  xferPressed?: boolean;
  answeredAt?: string;
  endedAt?: string;
  holds?: Array<{ by: string; resumed: boolean; at?: string; until?: string }>;
  refer?: { by: string; referTo: string; replaces: string | null };
  replaces?: string;
  earlyMedia?: { serverHz: number };
  media?: ExpectedMedia;
}

interface Expected {
  capture: string;
  site: "seed" | "variant";
  scenario: string;
  registrations: Array<{ user: string; contact: string; expires: number }>;
  legs: ExpectedLeg[];
  calls: Array<{ scenario: string; legs: Array<{ callId: string; relation: string }> }>;
  sipMessages: Record<string, number>;
}

async function loadExpected(file: string): Promise<Expected> {
  const name = file.replace(/\.pcapng$/, ".json");
  return JSON.parse(await Deno.readTextFile(new URL(`expected/${name}`, FIXTURES)));
}

let generation: Promise<{ dir: string; summaries: CaptureSummary[] }> | null = null;
const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of tempDirs) Deno.removeSync(dir, { recursive: true });
});

/** Generates every capture once into a temporary directory, shared by the tests. */
function generated(): Promise<{ dir: string; summaries: CaptureSummary[] }> {
  generation ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "seed_scenarios_test" });
    tempDirs.push(dir);
    return { dir, summaries: await generateSeedCaptures(dir) };
  })();
  return generation;
}

function sorted(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

Deno.test("generator intent matches the hand-written expectations", async () => {
  const { summaries } = await generated();
  assert.deepEqual(summaries.map((s) => s.file), SEED_CAPTURES.map((c) => c.file));
  for (const summary of summaries) {
    const expected = await loadExpected(summary.file);
    assert.equal(expected.capture, summary.file);
    assert.deepEqual(summary.sipCounts, sorted(expected.sipMessages), summary.file);
    assert.deepEqual(
      summary.legs.map((l) => l.callId).sort(),
      expected.legs.map((l) => l.callId).sort(),
      summary.file,
    );
    for (const leg of expected.legs) {
      const made = summary.legs.find((l) => l.callId === leg.callId)!;
      assert.equal(made.answered, leg.state === "answered", `${summary.file} ${leg.callId}`);
      if (leg.media !== undefined) {
        assert.equal(made.phoneMedia, leg.media.phone, leg.callId);
        assert.equal(made.serverMedia, leg.media.server, leg.callId);
        assert.ok(made.phoneRtpPackets >= 50 && made.serverRtpPackets >= 50, leg.callId);
      } else {
        assert.equal(made.phoneRtpPackets + made.serverRtpPackets, 0, leg.callId);
      }
    }
    for (const call of expected.calls) {
      for (const member of call.legs) {
        assert.ok(expected.legs.some((l) => l.callId === member.callId), member.callId);
      }
    }
  }
});

Deno.test("seed captures keep the report's time spans", async () => {
  const { summaries } = await generated();
  // Start and end of each capture in the report (KST), to the second.
  const spans: Record<string, [string, string]> = {
    "1-normal.pcapng": ["13:20:32", "13:21:14"],
    "2-transfer.pcapng": ["13:23:02", "13:23:53"],
    "3-pickup.pcapng": ["13:24:42", "13:25:10"],
    "4-conference.pcapng": ["13:28:52", "13:29:26"],
    "5-sequential.pcapng": ["13:31:22", "13:34:21"],
  };
  for (const [file, [start, end]] of Object.entries(spans)) {
    const s = summaries.find((x) => x.file === file)!;
    const epoch = (clock: string) => Date.parse(`2025-03-19T${clock}+09:00`) / 1000;
    assert.ok(Math.abs(s.span[0] - epoch(start)) < 1, `${file} starts at ${s.span[0]}`);
    assert.ok(Math.abs(s.span[1] - epoch(end)) < 1, `${file} ends at ${s.span[1]}`);
  }
});

Deno.test("generator is deterministic, within budget, and the committed fixtures are current", async () => {
  const { dir, summaries } = await generated();
  const again = await Deno.makeTempDir({ prefix: "seed_scenarios_test" });
  tempDirs.push(again);
  await generateSeedCaptures(again);
  let total = 0;
  for (const s of summaries) {
    const bytes = await Deno.readFile(`${dir}/${s.file}`);
    total += bytes.length;
    assert.equal(bytes.length, s.bytes);
    assert.deepEqual(
      await Deno.readFile(`${again}/${s.file}`),
      bytes,
      `${s.file} differs between runs`,
    );
    let committed: Uint8Array | null = null;
    try {
      committed = await Deno.readFile(new URL(s.file, FIXTURES));
    } catch {
      committed = null;
    }
    assert.ok(
      committed !== null && committed.length === bytes.length &&
        committed.every((b, i) => b === bytes[i]),
      `fixtures/seed/${s.file} is missing or stale: run deno run -A tools/synth/seed_scenarios.ts`,
    );
  }
  assert.ok(total < SIZE_BUDGET_BYTES, `fixtures total ${total} bytes`);
});

function tshark(args: string[]): string {
  const out = new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" }).outputSync();
  const stderr = new TextDecoder().decode(out.stderr).replace(/^Running as user.*\n/m, "");
  assert.equal(out.success, true, stderr);
  assert.doesNotMatch(stderr, /cut short|malformed|error/i, stderr);
  return new TextDecoder().decode(out.stdout);
}

interface SipRow {
  time: number;
  src: string;
  method: string;
  status: string;
  callId: string;
  cseqMethod: string;
  fromUser: string;
  toUser: string;
  /** The last SDP media attribute: the direction, as buildSdp writes it last. */
  direction: string;
  headers: string;
}

/** Options that make tshark verify IPv4 and UDP checksums. */
const CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"];

/** 1 is Wireshark's "Good" checksum status (0 bad, 2 unverified). */
function assertChecksumsGood(ip: string | undefined, udp: string | undefined, what: string): void {
  assert.equal(`${ip}/${udp}`, "1/1", `${what}: IPv4/UDP checksum status`);
}

function sipRows(path: string): SipRow[] {
  const text = tshark([
    "-r",
    path,
    ...CHECKSUMS,
    "-Y",
    "sip",
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-E",
    "occurrence=l",
    ...[
      "ip.checksum.status",
      "udp.checksum.status",
      "frame.time_epoch",
      "ip.src",
      "sip.Method",
      "sip.Status-Code",
      "sip.Call-ID",
      "sip.CSeq.method",
      "sip.from.user",
      "sip.to.user",
      "sdp.media_attr",
      "sip.msg_hdr",
    ].flatMap((f) => ["-e", f]),
  ]);
  return text.trim().split("\n").map((line) => {
    const [
      ipSum,
      udpSum,
      time,
      src,
      method,
      status,
      callId,
      cseqMethod,
      fromUser,
      toUser,
      attr,
      ...rest
    ] = line.split("|");
    assertChecksumsGood(ipSum, udpSum, `SIP frame at ${time}`);
    return {
      time: Number(time),
      src: src!,
      method: method!,
      status: status!,
      callId: callId!,
      cseqMethod: cseqMethod!,
      fromUser: fromUser!,
      toUser: toUser!,
      direction: attr!,
      headers: rest.join("|").replaceAll("\\r\\n", "\n"),
    };
  });
}

function epochOf(iso: string): number {
  return Date.parse(iso) / 1000;
}

function assertTime(actual: number | undefined, iso: string, what: string): void {
  assert.ok(actual !== undefined, `${what}: not found`);
  assert.ok(Math.abs(actual - epochOf(iso)) < 0.001, `${what}: ${actual} is not ${iso}`);
}

/** Checks one expected leg against what tshark saw of its Call-ID. */
function checkLeg(leg: ExpectedLeg, rows: SipRow[], xferAllowed: boolean): void {
  const own = rows.filter((r) => r.callId === leg.callId);
  const invites = own.filter((r) => r.method === "INVITE");
  const first = invites[0];
  assert.ok(first !== undefined, `${leg.callId}: no INVITE`);
  assert.equal(first.fromUser, leg.from, `${leg.callId} From user`);
  assert.equal(first.toUser, leg.to, `${leg.callId} To user`);
  const callerIp = first.src;
  assert.equal(callerIp === leg.phone, leg.direction === "from-phone", `${leg.callId} direction`);
  const inviteResponses = own.filter((r) => r.status !== "" && r.cseqMethod === "INVITE");
  const has = (code: string) => inviteResponses.some((r) => r.status === code);
  const state = has("200")
    ? "answered"
    : own.some((r) => r.method === "CANCEL") && has("487")
    ? "cancelled"
    : has("486")
    ? "busy"
    : "failed";
  assert.equal(state, leg.state, `${leg.callId} state`);
  const bye = own.find((r) => r.method === "BYE");
  const ender = bye ?? own.find((r) => r.method === "CANCEL") ??
    inviteResponses.find((r) => Number(r.status) >= 300 && !["401", "407"].includes(r.status));
  assert.ok(ender !== undefined, `${leg.callId}: nothing ends it`);
  assert.equal(ender.src === callerIp ? "caller" : "callee", leg.endedBy, `${leg.callId} ended by`);
  const challenge = inviteResponses.find((r) => r.status === "401" || r.status === "407");
  assert.equal(challenge?.status, leg.challenged?.toString(), `${leg.callId} challenge`);
  if (challenge !== undefined) {
    assert.equal(invites.length >= 2, true, `${leg.callId}: no INVITE after the challenge`);
    const header = challenge.status === "407"
      ? "Proxy-Authorization: Digest"
      : "Authorization: Digest";
    assert.ok(
      invites[1]!.headers.includes(header),
      `${leg.callId}: re-sent INVITE lacks ${header}`,
    );
  }
  const xfer = invites.some((r) => r.headers.includes("X-xfer-pressed: True"));
  assert.equal(xfer, leg.xferPressed === true, `${leg.callId} X-xfer-pressed`);
  if (!xferAllowed) assert.ok(!own.some((r) => r.headers.includes("X-xfer-pressed")));
  if (leg.answeredAt !== undefined) {
    const ok = inviteResponses.find((r) => r.status === "200");
    assertTime(ok?.time, leg.answeredAt, `${leg.callId} answered`);
  }
  if (leg.endedAt !== undefined) assertTime(bye?.time, leg.endedAt, `${leg.callId} ended`);
  const reinvites = invites.filter((r) => r !== first && !r.headers.includes("Authorization:"));
  for (const hold of leg.holds ?? []) {
    const holder = (r: SipRow) => (r.src === callerIp) === (hold.by === "caller");
    const sendonly = reinvites.find((r) => holder(r) && r.direction === "sendonly");
    assert.ok(sendonly !== undefined, `${leg.callId}: no hold re-INVITE`);
    if (hold.at !== undefined) assertTime(sendonly.time, hold.at, `${leg.callId} hold`);
    const resume = reinvites.find((r) =>
      holder(r) && r.time > sendonly.time && r.direction === "sendrecv"
    );
    assert.equal(resume !== undefined, hold.resumed, `${leg.callId} resumed`);
    if (hold.until !== undefined) assertTime(resume?.time, hold.until, `${leg.callId} resume`);
  }
  if (leg.refer !== undefined) {
    const refer = own.find((r) => r.method === "REFER");
    assert.ok(refer !== undefined, `${leg.callId}: no REFER`);
    assert.equal(refer.src === callerIp ? "caller" : "callee", leg.refer.by);
    const referTo = /^Refer-To: <([^>?]+)(\?[^>]*)?>/m.exec(refer.headers);
    assert.equal(referTo?.[1], leg.refer.referTo);
    const replaces = referTo?.[2]?.match(/^\?Replaces=(.*?)%3B/)?.[1];
    assert.equal(
      replaces === undefined ? null : decodeURIComponent(replaces),
      leg.refer.replaces,
      `${leg.callId} Refer-To Replaces`,
    );
    assert.match(refer.headers, /^Referred-By: /m);
    const notifies = own.filter((r) => r.method === "NOTIFY");
    assert.deepEqual(
      notifies.map((n) => /^Subscription-State: (\w+)/m.exec(n.headers)?.[1]),
      ["active", "terminated"],
    );
  }
  if (leg.replaces !== undefined) {
    assert.match(first.headers, new RegExp(`^Replaces: ${leg.replaces};to-tag=`, "m"));
  }
}

interface StreamRow {
  src: string;
  dst: string;
  payload: string;
  packets: number;
  lost: number;
}

/** RTP streams as tshark lists them (from the SDP it saw), after checking its expert summary. */
function rtpStreams(path: string): StreamRow[] {
  const text = tshark(["-r", path, "-q", "-z", "expert", "-z", "rtp,streams"]);
  // No expert warnings or errors (notes, such as an unknown X- header, are fine).
  assert.doesNotMatch(text, /^(Errors|Warns) \(/m, text);
  const rows: StreamRow[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+\.\d+$/.test(f[0]!)) continue;
    rows.push({
      src: `${f[2]}:${f[3]}`,
      dst: `${f[4]}:${f[5]}`,
      payload: f[7]!,
      packets: Number(f[8]),
      lost: Number(f[9]),
    });
  }
  return rows;
}

const PALETTE_HZ = [370, 425, 440, 480, 523, 660, 784, 880, 1047];

function goertzel(samples: number[], frequency: number): number {
  const k = 2 * Math.cos((2 * Math.PI * frequency) / 8000);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/** The palette frequency that dominates the first second of each RTP stream, by flow and SSRC. */
function streamTones(
  path: string,
): { frames: number; tones: Map<string, Array<{ packets: number; hz: number }>> } {
  const text = tshark([
    "-r",
    path,
    ...CHECKSUMS,
    "-Y",
    "rtp",
    "-T",
    "fields",
    "-E",
    "separator=|",
    ...[
      "ip.checksum.status",
      "udp.checksum.status",
      "ip.src",
      "udp.srcport",
      "ip.dst",
      "udp.dstport",
      "rtp.ssrc",
      "rtp.p_type",
      "rtp.payload",
    ]
      .flatMap((f) => ["-e", f]),
  ]);
  const groups = new Map<string, { flow: string; packets: number; samples: number[] }>();
  const lines = text.trim().split("\n");
  for (const line of lines) {
    const [ipSum, udpSum, srcIp, srcPort, dstIp, dstPort, ssrc, pt, payload] = line.split("|");
    assertChecksumsGood(ipSum, udpSum, `RTP ${srcIp}:${srcPort}`);
    const flow = `${srcIp}:${srcPort}>${dstIp}:${dstPort}`;
    const key = `${flow}/${ssrc}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, group = { flow, packets: 0, samples: [] });
    group.packets++;
    if (group.samples.length >= 8000) continue;
    const decode = pt === "8" ? alawToLinear : ulawToLinear;
    const hex = payload!.replaceAll(":", "");
    for (let i = 0; i + 1 < hex.length; i += 2) {
      group.samples.push(decode(parseInt(hex.slice(i, i + 2), 16)));
    }
  }
  const out = new Map<string, Array<{ packets: number; hz: number }>>();
  for (const g of groups.values()) {
    const powers = PALETTE_HZ.map((hz) => ({ hz, p: goertzel(g.samples, hz) }))
      .sort((a, b) => b.p - a.p);
    // A clean tone: the best frequency outweighs the runner-up a hundredfold.
    assert.ok(powers[0]!.p > 100 * powers[1]!.p, `${g.flow}: no clear tone`);
    const list = out.get(g.flow) ?? [];
    list.push({ packets: g.packets, hz: powers[0]!.hz });
    out.set(g.flow, list.sort((a, b) => b.packets - a.packets));
  }
  return { frames: lines.length, tones: out };
}

Deno.test({
  name: "tshark reads every capture as the generator intended",
  ignore: !hasTshark,
  async fn(t) {
    const { dir, summaries } = await generated();
    for (const capture of SEED_CAPTURES) {
      await t.step(capture.file, async () => {
        const path = `${dir}/${capture.file}`;
        const expected = await loadExpected(capture.file);

        const summary = summaries.find((s) => s.file === capture.file)!;

        // SIP message counts per method and status (every SIP frame has good checksums).
        const rows = sipRows(path);
        const counts: Record<string, number> = {};
        for (const r of rows) {
          const key = r.method !== "" ? r.method : r.status;
          counts[key] = (counts[key] ?? 0) + 1;
        }
        assert.deepEqual(sorted(counts), sorted(expected.sipMessages));

        // Registrations: each phone gets a 200 with its binding.
        for (const reg of expected.registrations) {
          assert.ok(
            rows.some((r) =>
              r.status === "200" && r.cseqMethod === "REGISTER" &&
              r.headers.includes(`Contact: <${reg.contact}>;expires=${reg.expires}\n`)
            ),
            `no registration of ${reg.user}`,
          );
        }

        // Every leg, as tshark sees it.
        for (const leg of expected.legs) checkLeg(leg, rows, expected.site === "seed");
        const invited = new Set(rows.filter((r) => r.method === "INVITE").map((r) => r.callId));
        assert.deepEqual([...invited].sort(), expected.legs.map((l) => l.callId).sort());

        // RTP: two streams per answered leg, none lost, in the leg's codec and voices.
        const streams = rtpStreams(path);
        const { frames: rtpFrames, tones } = streamTones(path);
        // Every frame is SIP or RTP that tshark decodes from the signalling it saw.
        assert.equal(rows.length + rtpFrames, summary.packets, "frames neither SIP nor RTP");
        for (const leg of expected.legs) {
          const media = leg.media;
          if (media === undefined) {
            continue;
          }
          const payload = media.codec === "PCMU" ? "g711U" : "g711A";
          for (
            const [src, dst, hz] of [
              [media.phone, media.server, media.phoneHz],
              [media.server, media.phone, media.serverHz],
            ] as const
          ) {
            const found = streams.filter((s) => s.src === src && s.dst === dst);
            assert.ok(found.length > 0, `${leg.callId}: no RTP stream ${src} > ${dst}`);
            const main = found.sort((a, b) => b.packets - a.packets)[0]!;
            assert.equal(main.payload, payload);
            assert.ok(main.packets >= 50, `${src} > ${dst}: ${main.packets} packets`);
            assert.equal(main.lost, 0);
            const heard = tones.get(`${src}>${dst}`) ?? [];
            assert.equal(heard[0]?.hz, hz, `${src} > ${dst} tone`);
            if (src === media.server && leg.earlyMedia !== undefined) {
              assert.equal(heard[1]?.hz, leg.earlyMedia.serverHz, `${leg.callId} early media`);
            } else {
              assert.equal(heard.length, 1, `${src} > ${dst}: one SSRC`);
            }
          }
        }
        const answered = expected.legs.filter((l) => l.media !== undefined).length;
        const early = expected.legs.filter((l) => l.earlyMedia !== undefined).length;
        assert.equal(streams.length, 2 * answered + early, "RTP stream count");
      });
    }
  },
});
