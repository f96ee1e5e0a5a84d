/**
 * Checks fixtures/realstack against expected/*.json, reading the captures
 * with tshark (never with packetwave's own decoders): SIP message counts,
 * registrations, every digest answer, every leg (From/To users, direction,
 * final state, who ended it, 407 challenge, X-xfer-pressed, hold/resume,
 * REFER, times, SDP media addresses), the order of the messages each
 * scenario was designed around, and the RTP streams (two loss-free PCMU
 * streams per answered leg carrying the right person's tone, plus the
 * conference leg's early-media ringback). Also checks that the tshark
 * reference files beside each capture agree with the expected counts.
 *
 * Skips, with a message, when tshark is not installed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ulawToLinear } from "../synth/rtp_builder.ts";
import { CALLER_HZ, OTHER_CALLER_HZ, PHONE_A_HZ, PHONE_B_HZ, RINGBACK_HZ } from "./rtp_clips.ts";

const DIR = new URL("../../fixtures/realstack/", import.meta.url);
const SERVER_IP = "127.0.1.104";
const MAX_TOTAL_BYTES = 2 * 1024 * 1024;
const TONES = [OTHER_CALLER_HZ, CALLER_HZ, RINGBACK_HZ, PHONE_B_HZ, PHONE_A_HZ];
const CAPTURES = ["1-normal", "2-transfer", "3-pickup", "4-conference", "5-sequential"];

async function hasTool(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(name, { args: ["-v"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const hasTshark = await hasTool("tshark");
if (!hasTshark) console.log("realstack fixtures_test: tshark is not installed; skipping");

async function tshark(args: string[]): Promise<string> {
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "null" }).output();
  assert.ok(out.success, `tshark ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

// ---------------------------------------------------------------------------
// SIP, as tshark hands over the UDP payloads

interface SipMessage {
  /** Capture time, seconds since the epoch. */
  time: number;
  src: string;
  dst: string;
  method: string | null;
  status: number | null;
  headers: Map<string, string[]>;
  body: string;
}

function hexToText(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new TextDecoder().decode(bytes);
}

function parseSip(time: number, src: string, dst: string, text: string): SipMessage {
  const split = text.indexOf("\r\n\r\n");
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split + 4);
  const [startLine = "", ...lines] = head.split("\r\n");
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
  }
  const response = /^SIP\/2\.0 (\d{3})/.exec(startLine);
  return {
    time,
    src,
    dst,
    method: response ? null : startLine.split(" ")[0] ?? null,
    status: response ? Number(response[1]) : null,
    headers,
    body,
  };
}

function header(message: SipMessage, name: string): string | undefined {
  return message.headers.get(name.toLowerCase())?.[0];
}

function cseq(message: SipMessage): { seq: number; method: string } {
  const [seq = "", method = ""] = (header(message, "CSeq") ?? "").split(/\s+/);
  return { seq: Number(seq), method };
}

function uriUser(nameAddr: string | undefined): string {
  return /sip:([^@>;]+)@/.exec(nameAddr ?? "")?.[1] ?? "";
}

function toTag(message: SipMessage): string | null {
  return /;tag=([^;>\s]+)/.exec(header(message, "To") ?? "")?.[1] ?? null;
}

async function readSip(file: URL): Promise<SipMessage[]> {
  const out = await tshark([
    "-r",
    file.pathname,
    "-Y",
    "sip",
    "-T",
    "fields",
    "-e",
    "frame.time_epoch",
    "-e",
    "ip.src",
    "-e",
    "ip.dst",
    "-e",
    "udp.payload",
  ]);
  return out.trim().split("\n").map((line) => {
    const [time = "", src = "", dst = "", payload = ""] = line.split("\t");
    return parseSip(Number(time), src, dst, hexToText(payload.replaceAll(":", "")));
  });
}

// ---------------------------------------------------------------------------
// RTP

interface RtpStreamRow {
  src: string;
  dst: string;
  ssrc: number;
  payload: string;
  packets: number;
  lost: number;
  problems: boolean;
}

/** Parses the stream table of `tshark -z rtp,streams`. */
function parseRtpStreams(text: string): RtpStreamRow[] {
  const rows: RtpStreamRow[] = [];
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 11 || !/^0x[0-9A-Fa-f]+$/.test(cols[6] ?? "")) continue;
    rows.push({
      src: `${cols[2]}:${cols[3]}`,
      dst: `${cols[4]}:${cols[5]}`,
      ssrc: parseInt(cols[6]!, 16),
      payload: cols[7]!,
      packets: Number(cols[8]),
      lost: Number(cols[9]),
      problems: cols.length > 18,
    });
  }
  return rows;
}

interface RtpPacket {
  time: number;
  ssrc: number;
  payload: Uint8Array;
}

async function readRtp(file: URL): Promise<RtpPacket[]> {
  const out = await tshark([
    "-r",
    file.pathname,
    "-o",
    "rtp.heuristic_rtp:TRUE",
    "-Y",
    "rtp",
    "-T",
    "fields",
    "-e",
    "frame.time_epoch",
    "-e",
    "rtp.ssrc",
    "-e",
    "rtp.payload",
  ]);
  return out.trim().split("\n").map((line) => {
    const [time = "", ssrc = "", hex = ""] = line.split("\t");
    const clean = hex.replaceAll(":", "");
    const payload = new Uint8Array(clean.length / 2);
    for (let i = 0; i < payload.length; i++) {
      payload[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
    }
    return { time: Number(time), ssrc: parseInt(ssrc, 16), payload };
  });
}

function goertzel(samples: number[], hz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + coefficient * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

/** The tone among the designed ones that dominates the first second of a µ-law stream. */
function dominantTone(packets: RtpPacket[]): number {
  const samples = packets.slice(0, 50).flatMap((p) => [...p.payload].map(ulawToLinear));
  let best = 0;
  let bestPower = -1;
  for (const hz of TONES) {
    const power = goertzel(samples, hz);
    if (power > bestPower) [best, bestPower] = [hz, power];
  }
  return best;
}

// ---------------------------------------------------------------------------
// The expected file's shape (see fixtures/seed/README.md)

interface ExpectedHold {
  by: "caller" | "callee";
  resumed: boolean;
  at?: string;
  until?: string;
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
  holds?: ExpectedHold[];
  refer?: { by: "caller" | "callee"; referTo: string; replaces: string | null };
  answeredAt?: string;
  endedAt?: string;
  earlyMedia?: { serverHz: number };
  media?: { codec: string; phone: string; server: string; phoneHz: number; serverHz: number };
}
interface Expected {
  capture: string;
  scenario: string;
  registrations: { user: string; contact: string; expires: number }[];
  legs: ExpectedLeg[];
  calls: {
    scenario: string;
    legs: { callId: string; relation: string; relatedTo?: string; realCaller?: string }[];
    pickup?: { code: string };
    transfer?: { to: string };
  }[];
  sipMessages: Record<string, number>;
}

function loadExpected(name: string): Expected {
  return JSON.parse(Deno.readTextFileSync(new URL(`expected/${name}.json`, DIR)));
}

/** An ISO time of expected/*.json against a capture time, to the millisecond. */
function assertTime(actualSeconds: number, expectedIso: string, what: string): void {
  const expected = Date.parse(expectedIso);
  const actual = Math.floor(actualSeconds * 1000);
  assert.ok(
    Math.abs(actual - expected) <= 1,
    `${what}: ${new Date(actual).toISOString()} vs ${expectedIso}`,
  );
}

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/** Checks a Digest Authorization / Proxy-Authorization value against password "rs-" + user. */
function assertDigest(value: string, method: string, what: string): void {
  const params = new Map<string, string>();
  for (const m of value.replace(/^Digest\s+/i, "").matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) {
    params.set(m[1]!.toLowerCase(), m[3] ?? m[2]!);
  }
  const user = params.get("username") ?? "";
  const ha1 = md5(`${user}:${params.get("realm")}:rs-${user}`);
  const ha2 = md5(`${method}:${params.get("uri")}`);
  const qop = params.get("qop");
  const response = qop
    ? md5(`${ha1}:${params.get("nonce")}:${params.get("nc")}:${params.get("cnonce")}:${qop}:${ha2}`)
    : md5(`${ha1}:${params.get("nonce")}:${ha2}`);
  assert.equal(params.get("response"), response, `${what}: digest of ${user}`);
  assert.equal(params.get("realm"), SERVER_IP, `${what}: realm`);
}

/** The m= port and c= address of an SDP body. */
function sdpAddress(body: string): { address: string; payloadTypes: string[]; direction: string } {
  const ip = /^c=IN IP4 (\S+)/m.exec(body)?.[1] ?? "";
  const media = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(body);
  const direction = /^a=(sendrecv|sendonly|recvonly|inactive)/m.exec(body)?.[1] ?? "sendrecv";
  return {
    address: `${ip}:${media?.[1] ?? ""}`,
    payloadTypes: (media?.[2] ?? "").trim().split(" "),
    direction,
  };
}

// ---------------------------------------------------------------------------

Deno.test("realstack fixtures: all files are there and small", () => {
  let total = 0;
  for (const name of CAPTURES) {
    for (const suffix of [".pcap", ".pcap.sipstat.txt", ".pcap.rtpstreams.txt"]) {
      total += Deno.statSync(new URL(`${name}${suffix}`, DIR)).size;
    }
    total += Deno.statSync(new URL(`expected/${name}.json`, DIR)).size;
    assert.equal(loadExpected(name).capture, `${name}.pcap`);
  }
  assert.ok(total < MAX_TOTAL_BYTES, `fixtures/realstack holds ${total} bytes`);
});

for (const name of CAPTURES) {
  const file = new URL(`${name}.pcap`, DIR);
  const expected = loadExpected(name);

  Deno.test({
    name: `realstack ${name}: SIP counts, registrations and digests`,
    ignore: !hasTshark,
    async fn() {
      const sip = await readSip(file);
      const counts: Record<string, number> = {};
      for (const m of sip) {
        const key = m.method ?? String(m.status);
        counts[key] = (counts[key] ?? 0) + 1;
      }
      assert.deepEqual(counts, expected.sipMessages);

      // tshark's reference figures beside the capture say the same.
      const stat = Deno.readTextFileSync(new URL(`${name}.pcap.sipstat.txt`, DIR));
      const total = Object.values(expected.sipMessages).reduce((a, b) => a + b, 0);
      assert.match(stat, new RegExp(`Number of SIP messages: ${total}\\n`));
      for (const [key, count] of Object.entries(expected.sipMessages)) {
        const line = /^\d+$/.test(key)
          ? `SIP ${key} [^:]*:\\s+${count} Packets`
          : `${key}\\s+:\\s+${count} Packets`;
        assert.match(stat, new RegExp(line), `${name}.pcap.sipstat.txt: ${key}`);
      }

      for (const registration of expected.registrations) {
        const ok = sip.filter((m) =>
          m.status === 200 && cseq(m).method === "REGISTER" &&
          uriUser(header(m, "From")) === registration.user
        );
        assert.ok(ok.length >= 1, `${registration.user} registered`);
        for (const m of ok) {
          assert.equal(
            header(m, "Contact"),
            `<${registration.contact}>;expires=${registration.expires}`,
          );
        }
      }

      // Every credential a phone sent is a right answer to its challenge.
      let answers = 0;
      for (const m of sip) {
        for (const name of ["Authorization", "Proxy-Authorization"]) {
          const value = header(m, name);
          if (value === undefined || m.method === null) continue;
          assertDigest(value, m.method, `${m.method} ${name}`);
          answers += 1;
        }
      }
      assert.equal(answers, sip.filter((m) => m.status === 401 || m.status === 407).length);
    },
  });

  Deno.test({
    name: `realstack ${name}: legs as designed`,
    ignore: !hasTshark,
    async fn() {
      const sip = await readSip(file);
      const invites = new Set(
        sip.filter((m) => m.method === "INVITE").map((m) => header(m, "Call-ID")),
      );
      assert.deepEqual([...invites].sort(), expected.legs.map((l) => l.callId).sort());
      for (const leg of expected.legs) {
        const what = `${name} ${leg.callId}`;
        const dialog = sip.filter((m) => header(m, "Call-ID") === leg.callId);
        const first = dialog.find((m) => m.method === "INVITE")!;
        const caller = first.src;
        const callee = first.dst;
        assert.equal(uriUser(header(first, "From")), leg.from, `${what}: From`);
        assert.equal(uriUser(header(first, "To")), leg.to, `${what}: To`);
        assert.equal(leg.direction, caller === SERVER_IP ? "to-phone" : "from-phone", what);
        assert.equal(leg.phone, caller === SERVER_IP ? callee : caller, `${what}: phone`);
        const side = (ip: string) => (ip === caller ? "caller" : "callee");

        // Initial INVITEs have no To tag; the last one is the one that went through.
        const initial = dialog.filter((m) => m.method === "INVITE" && toTag(m) === null);
        const last = initial[initial.length - 1]!;
        const finals = dialog.filter((m) =>
          m.status !== null && m.status >= 200 && cseq(m).method === "INVITE" &&
          cseq(m).seq === cseq(last).seq
        );
        const final = finals[0]?.status;
        const state = final === 200
          ? "answered"
          : final === 487
          ? "cancelled"
          : final === 486
          ? "busy"
          : "failed";
        assert.equal(state, leg.state, `${what}: state`);
        const bye = dialog.find((m) => m.method === "BYE");
        const cancel = dialog.find((m) => m.method === "CANCEL");
        const endedBy = state === "answered"
          ? side(bye!.src)
          : state === "cancelled"
          ? side(cancel!.src)
          : side(finals[0]!.src);
        assert.equal(endedBy, leg.endedBy, `${what}: ended by`);

        const challenges = dialog.filter((m) => m.status === 401 || m.status === 407);
        assert.deepEqual(challenges.map((m) => m.status), leg.challenged ? [leg.challenged] : []);
        assert.equal(
          initial.length,
          leg.challenged ? 2 : 1,
          `${what}: INVITE re-sent once after the challenge`,
        );
        for (const invite of initial) {
          assert.equal(
            header(invite, "X-xfer-pressed"),
            leg.xferPressed ? "True" : undefined,
            what,
          );
        }

        // Hold and resume: re-INVITEs (with a To tag) and the direction they offer.
        const reinvites = dialog.filter((m) => m.method === "INVITE" && toTag(m) !== null);
        const holds = reinvites.filter((m) => sdpAddress(m.body).direction === "sendonly");
        assert.equal(holds.length, leg.holds?.length ?? 0, `${what}: holds`);
        for (const [i, hold] of (leg.holds ?? []).entries()) {
          const at = holds[i]!;
          assert.equal(side(at.src), hold.by, `${what}: held by`);
          const answer = dialog.find((m) =>
            m.status === 200 && cseq(m).seq === cseq(at).seq && m.src === at.dst
          );
          assert.equal(
            sdpAddress(answer!.body).direction,
            "recvonly",
            `${what}: hold answered recvonly`,
          );
          const resume = reinvites.find((m) =>
            m.time > at.time && sdpAddress(m.body).direction === "sendrecv"
          );
          assert.equal(resume !== undefined, hold.resumed, `${what}: resumed`);
          if (hold.at !== undefined) assertTime(at.time, hold.at, `${what}: hold`);
          if (hold.until !== undefined) assertTime(resume!.time, hold.until, `${what}: resume`);
        }

        const refer = dialog.find((m) => m.method === "REFER");
        assert.equal(refer !== undefined, leg.refer !== undefined, `${what}: REFER`);
        if (refer !== undefined && leg.refer !== undefined) {
          assert.equal(side(refer.src), leg.refer.by);
          assert.equal(header(refer, "Refer-To"), `<${leg.refer.referTo}>`);
          assert.ok(
            header(refer, "Referred-By")?.includes("sip:109Q1427@"),
            `${what}: Referred-By`,
          );
          assert.equal(leg.refer.replaces, null);
          assert.equal(
            dialog.find((m) => m.status === 202 && cseq(m).method === "REFER")?.src,
            refer.dst,
          );
        }

        if (leg.answeredAt !== undefined) {
          assertTime(finals[0]!.time, leg.answeredAt, `${what}: answered`);
        }
        if (leg.endedAt !== undefined) assertTime(bye!.time, leg.endedAt, `${what}: ended`);

        const early = dialog.find((m) => m.status === 183);
        assert.equal(early !== undefined, leg.earlyMedia !== undefined, `${what}: 183`);
        if (leg.media !== undefined) {
          const offer = sdpAddress(last.body);
          const answer = sdpAddress(finals[0]!.body);
          const phoneSdp = caller === SERVER_IP ? answer : offer;
          const serverSdp = caller === SERVER_IP ? offer : answer;
          assert.equal(phoneSdp.address, leg.media.phone, `${what}: phone media`);
          assert.equal(serverSdp.address, leg.media.server, `${what}: server media`);
          assert.equal(answer.payloadTypes[0], "0", `${what}: the answer picks PCMU`);
          assert.equal(leg.media.codec, "PCMU");
          if (early !== undefined) assert.equal(sdpAddress(early.body).address, leg.media.server);
        }
      }
    },
  });

  Deno.test({
    name: `realstack ${name}: RTP streams and their tones`,
    ignore: !hasTshark,
    async fn() {
      const reference = parseRtpStreams(
        Deno.readTextFileSync(new URL(`${name}.pcap.rtpstreams.txt`, DIR)),
      );
      const fresh = parseRtpStreams(
        await tshark([
          "-r",
          file.pathname,
          "-q",
          "-o",
          "rtp.heuristic_rtp:TRUE",
          "-z",
          "rtp,streams",
        ]),
      );
      assert.deepEqual(
        fresh.map((s) => [s.ssrc, s.packets]).sort(),
        reference.map((s) => [s.ssrc, s.packets]).sort(),
        "the reference file is tshark's view of this capture",
      );
      const packets = await readRtp(file);
      const sip = await readSip(file);
      const media = expected.legs.filter((l) => l.media !== undefined);
      const earlyLegs = expected.legs.filter((l) => l.earlyMedia !== undefined);
      assert.equal(
        reference.length,
        2 * media.length + earlyLegs.length,
        "one stream per direction",
      );
      const seen = new Set<number>();
      for (const leg of media) {
        const { phone, server, phoneHz, serverHz } = leg.media!;
        const answered = sip.find((m) =>
          header(m, "Call-ID") === leg.callId && m.status === 200 && cseq(m).method === "INVITE"
        )!;
        for (
          const [src, dst, hz] of [[phone, server, phoneHz], [server, phone, serverHz]] as const
        ) {
          const streams = reference.filter((s) => s.src === src && s.dst === dst);
          const ssrcs = streams.map((s) => s.ssrc);
          const voice = streams.filter((s) => {
            const first = packets.find((p) => p.ssrc === s.ssrc)!;
            return first.time >= answered.time - 0.001;
          });
          assert.equal(voice.length, 1, `${name} ${src} -> ${dst}: one voice stream`);
          const stream = voice[0]!;
          assert.equal(stream.payload, "g711U");
          assert.equal(stream.lost, 0, `${name} ${src} -> ${dst}: no loss`);
          assert.ok(!stream.problems, `${name} ${src} -> ${dst}: tshark sees no problem`);
          assert.ok(stream.packets >= 100, `${name} ${src} -> ${dst}: at least 2 s of talk`);
          const own = packets.filter((p) => p.ssrc === stream.ssrc);
          assert.equal(dominantTone(own), hz, `${name} ${src} -> ${dst}: tone`);
          for (const ssrc of ssrcs) seen.add(ssrc);
          if (leg.earlyMedia !== undefined && src === server) {
            const ringback = streams.filter((s) => s !== stream);
            assert.equal(ringback.length, 1, `${name}: one early-media stream`);
            const ring = packets.filter((p) => p.ssrc === ringback[0]!.ssrc);
            assert.equal(dominantTone(ring), leg.earlyMedia.serverHz, `${name}: ringback tone`);
            assert.ok(
              ring[ring.length - 1]!.time < answered.time + 0.05,
              `${name}: ringback ends at the answer`,
            );
          }
        }
      }
      assert.equal(seen.size, reference.length, "every stream belongs to a leg");
      assert.equal(
        new Set(reference.map((s) => s.ssrc)).size,
        reference.length,
        "SSRCs are unique",
      );
    },
  });
}

function isInviteOk(m: SipMessage): boolean {
  return m.status === 200 && cseq(m).method === "INVITE";
}

/** The messages of a capture, with a helper to find the first one matching. */
async function ladder(name: string) {
  const sip = await readSip(new URL(`${name}.pcap`, DIR));
  const find = (what: string, test: (m: SipMessage) => boolean): SipMessage => {
    const found = sip.find(test);
    assert.ok(found, `${name}: ${what}`);
    return found;
  };
  return { sip, find };
}

Deno.test({
  name: "realstack 2-transfer: REFER, NOTIFY 100 then 200, the new INVITE in between",
  ignore: !hasTshark,
  async fn() {
    const { sip, find } = await ladder("2-transfer");
    const refer = find("REFER", (m) => m.method === "REFER");
    const notifies = sip.filter((m) => m.method === "NOTIFY");
    assert.deepEqual(notifies.map((m) => m.body.trim()), ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]);
    assert.deepEqual(notifies.map((m) => header(m, "Event")), ["refer", "refer"]);
    assert.match(header(notifies[1]!, "Subscription-State")!, /^terminated/);
    const toA = find("INVITE to A", (m) => m.method === "INVITE" && m.dst === "127.0.1.54");
    const answeredA = find("A answers", (m) => isInviteOk(m) && m.src === "127.0.1.54");
    assert.ok(refer.time < notifies[0]!.time && notifies[0]!.time < toA.time);
    assert.ok(answeredA.time < notifies[1]!.time, "NOTIFY 200 once the target has answered");
  },
});

Deno.test({
  name: "realstack 3-pickup: *8 answered, then B's ringing leg cancelled",
  ignore: !hasTshark,
  async fn() {
    const { find } = await ladder("3-pickup");
    const ringing = find("B rings", (m) => m.status === 180 && m.src === "127.0.1.55");
    const pickup = find("*8", (m) => m.method === "INVITE" && uriUser(header(m, "To")) === "*8");
    const answer = find("A answered", (m) => isInviteOk(m) && m.dst === "127.0.1.54");
    const cancel = find("CANCEL", (m) => m.method === "CANCEL");
    const invite = find("INVITE to B", (m) => m.method === "INVITE" && m.dst === "127.0.1.55");
    assert.ok(ringing.time < pickup.time && pickup.time < answer.time && answer.time < cancel.time);
    assert.equal(
      header(cancel, "Via"),
      header(invite, "Via"),
      "CANCEL in the INVITE's transaction",
    );
    const terminated = find("487", (m) => m.status === 487);
    const ack = find("ACK of 487", (m) => m.method === "ACK" && m.dst === "127.0.1.55");
    assert.equal(
      header(ack, "Via"),
      header(invite, "Via"),
      "ACK of 487 in the INVITE's transaction",
    );
    assert.ok(cancel.time < terminated.time && terminated.time < ack.time);
  },
});

Deno.test({
  name:
    "realstack 4-conference: the bridge calls A before B hears 183; B resumes after the answers",
  ignore: !hasTshark,
  async fn() {
    const { sip, find } = await ladder("4-conference");
    const confInvite = sip.filter((m) =>
      m.method === "INVITE" && m.src === "127.0.1.55" && uriUser(header(m, "To")) === "1428"
    );
    assert.equal(confInvite.length, 2);
    const toA = find("INVITE to A", (m) => m.method === "INVITE" && m.dst === "127.0.1.54");
    assert.equal(uriUser(header(toA, "From")), "1427");
    const progress = find("183", (m) => m.status === 183);
    const answeredA = find("A answers", (m) => isInviteOk(m) && m.src === "127.0.1.54");
    const confCallId = header(confInvite[0]!, "Call-ID");
    const answeredB = find("200 to B", (m) => isInviteOk(m) && header(m, "Call-ID") === confCallId);
    const resume = sip.filter((m) =>
      m.method === "INVITE" && m.src === "127.0.1.55" && toTag(m) !== null
    )[1]!;
    assert.ok(confInvite[1]!.time < toA.time && toA.time <= progress.time);
    assert.ok(progress.time < answeredA.time && answeredA.time < answeredB.time);
    assert.ok(answeredB.time < resume.time);
    const byes = sip.filter((m) => m.method === "BYE").map((m) => `${m.src}>${m.dst}`);
    assert.deepEqual(byes, [
      "127.0.1.54>127.0.1.104",
      "127.0.1.104>127.0.1.55",
      "127.0.1.55>127.0.1.104",
    ]);
  },
});

Deno.test({
  name: "realstack 5-sequential: 486 from B, then at once a new INVITE to A",
  ignore: !hasTshark,
  async fn() {
    const { sip, find } = await ladder("5-sequential");
    const busy = find("486", (m) => m.status === 486);
    const toA = find("INVITE to A", (m) => m.method === "INVITE" && m.dst === "127.0.1.54");
    const delay = toA.time - busy.time;
    assert.ok(delay > 0 && delay < 0.2, `next INVITE ${delay.toFixed(3)} s after the 486`);
    assert.notEqual(header(toA, "Call-ID"), header(busy, "Call-ID"));
    assert.equal(uriUser(header(toA, "From")), uriUser(header(busy, "From")));
    const firstBye = sip.find((m) => m.method === "BYE")!;
    assert.equal(firstBye.src, "127.0.1.55", "B ends its first call before the caller leaves A");
    assert.equal(sip.filter((m) => m.method === "REGISTER").length, 8, "registered and refreshed");
  },
});
