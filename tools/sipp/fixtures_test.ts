/**
 * Checks fixtures/sipp against its MANIFEST.json: the files are there and
 * small, each has the link type and format the manifest says, the calls the
 * scenarios were designed to make are in the file, and Wireshark's reference
 * figures written beside each capture agree with the design (SIP message,
 * method and status counts; RTP streams, SSRCs and packet counts).
 */
import assert from "node:assert/strict";
import { openCapture } from "../../engine/capture/open.ts";

const DIR = new URL("../../fixtures/sipp/", import.meta.url);
const MAX_CAPTURE_BYTES = 1 << 20;
const MAX_TOTAL_BYTES = 4 << 20;

interface Segment {
  phase: string;
  packets: number;
  payloadType: number;
}
interface Stream {
  direction: string;
  src: string;
  dst: string;
  ssrc: string;
  packets: number;
  payloadTypes: number[];
  segments: Segment[];
  dropped?: number;
  duplicated?: number;
  reorderedPairs?: number;
}
interface ExpectedCall {
  responses: number[];
  responsesAfterAuth?: number[];
  finalStatus: number;
  answered: boolean;
  endedBy: string | null;
  cancelledBy: string | null;
  authChallenge: number | null;
  held: boolean;
  holdIntervals: number;
  earlyMedia: boolean;
  dtmf: string;
  rtp: Stream[];
}
interface Registration {
  challenge: number;
  finalStatus: number;
  requests: number;
}
interface CaptureEntry {
  file: string;
  shape: string;
  transport: string;
  linkType: number;
  format: string;
  derivedFrom: string | null;
  calls: number;
  sipMessages: number;
  registrations: Registration[];
  expectedCalls: ExpectedCall[];
}
interface Manifest {
  captures: CaptureEntry[];
}

function exists(url: URL): boolean {
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

const hasFixtures = exists(new URL("MANIFEST.json", DIR));
if (!hasFixtures) console.log("fixtures_test: fixtures/sipp/MANIFEST.json missing; skipping");
const manifest: Manifest = hasFixtures
  ? JSON.parse(Deno.readTextFileSync(new URL("MANIFEST.json", DIR)))
  : { captures: [] };

/** tshark's `-z sip,stat` text: message count, status and method counts. */
function parseSipStat(text: string) {
  const messages = Number(/Number of SIP messages: (\d+)/.exec(text)?.[1]);
  const resent = Number(/Number of resent SIP messages: (\d+)/.exec(text)?.[1]);
  const statuses = new Map<number, number>();
  for (const m of text.matchAll(/^\s+SIP (\d{3}) .*?:\s+(\d+) Packets$/gm)) {
    statuses.set(Number(m[1]), Number(m[2]));
  }
  const methods = new Map<string, number>();
  const list = text.split("* List of SIP Request methods")[1]?.split("*")[0] ?? "";
  for (const m of list.matchAll(/^\s+([A-Z]+)\s+:\s+(\d+) Packets$/gm)) {
    methods.set(m[1]!, Number(m[2]));
  }
  return { messages, resent, statuses, methods };
}

interface StreamRow {
  src: string;
  dst: string;
  ssrc: string;
  payload: string;
  packets: number;
  lost: number;
}

/** tshark's `-z rtp,streams` table rows. */
function parseRtpStreams(text: string): StreamRow[] {
  const rows: StreamRow[] = [];
  const row =
    /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-F]+)\s+(.+?)\s+(\d+)\s+(-?\d+) \(/gm;
  for (const m of text.matchAll(row)) {
    rows.push({
      src: `${m[1]}:${m[2]}`,
      dst: `${m[3]}:${m[4]}`,
      ssrc: m[5]!,
      payload: m[6]!,
      packets: Number(m[7]),
      lost: Number(m[8]),
    });
  }
  return rows;
}

function add<K>(map: Map<K, number>, key: K, n = 1): void {
  if (n !== 0) map.set(key, (map.get(key) ?? 0) + n);
}

/** SIP requests and responses the scenarios of one capture send, by design. */
function designedSip(entry: CaptureEntry) {
  const methods = new Map<string, number>();
  const statuses = new Map<number, number>();
  for (const call of entry.expectedCalls) {
    const invites = 1 + (call.authChallenge === null ? 0 : 1) + 2 * call.holdIntervals;
    add(methods, "INVITE", invites);
    add(methods, "ACK", invites); // every INVITE's final response is ACKed
    for (const code of [...call.responses, ...(call.responsesAfterAuth ?? [])]) add(statuses, code);
    add(statuses, 200, 2 * call.holdIntervals); // the re-INVITEs
    if (call.endedBy !== null) {
      add(methods, "BYE");
      add(statuses, 200);
    }
    if (call.cancelledBy !== null) {
      add(methods, "CANCEL");
      add(statuses, 200);
    }
  }
  for (const reg of entry.registrations) {
    add(methods, "REGISTER", reg.requests);
    add(statuses, reg.challenge);
    add(statuses, reg.finalStatus);
  }
  return { methods, statuses };
}

/** Call-IDs of the INVITEs and REGISTERs found in the frames' bytes. */
async function dialogsIn(path: string) {
  const opened = await openCapture(path);
  const invites = new Set<string>();
  const registers = new Set<string>();
  const linkTypes = new Set<number>();
  const decoder = new TextDecoder("latin1");
  try {
    await opened.source.run({
      onFrame(frame) {
        linkTypes.add(frame.linkType);
        const text = decoder.decode(frame.data);
        const start = /(INVITE|REGISTER) sip:\S+ SIP\/2\.0\r\n/.exec(text);
        if (start === null) return;
        const callId = /\r\nCall-ID: *([^\r\n]+)/i.exec(text.slice(start.index))?.[1];
        if (callId !== undefined) (start[1] === "INVITE" ? invites : registers).add(callId);
      },
    });
  } finally {
    opened.close();
  }
  return { invites, registers, linkTypes, format: opened.format };
}

Deno.test({
  name: "sipp fixtures: every listed file is there, small, with its tshark references",
  ignore: !hasFixtures,
  fn() {
    assert.ok(manifest.captures.length >= 11);
    let total = 0;
    for (const entry of manifest.captures) {
      const size = Deno.statSync(new URL(entry.file, DIR)).size;
      assert.ok(size < MAX_CAPTURE_BYTES, `${entry.file} is ${size} bytes`);
      total += size;
      for (const suffix of [".sipstat.txt", ".rtpstreams.txt"]) {
        assert.ok(exists(new URL(entry.file + suffix, DIR)), entry.file + suffix);
      }
      assert.equal(entry.calls, entry.expectedCalls.length, entry.file);
    }
    const shapes = new Set(manifest.captures.map((c) => c.shape));
    for (const shape of ["answered", "cancelled", "busy", "declined", "hold", "auth"]) {
      assert.ok(shapes.has(shape), shape);
    }
    assert.ok(shapes.has("early-media") && shapes.has("impaired"));
    let all = 0;
    for (const f of Deno.readDirSync(DIR)) all += Deno.statSync(new URL(f.name, DIR)).size;
    assert.ok(total <= all && all < MAX_TOTAL_BYTES, `fixtures/sipp holds ${all} bytes`);
  },
});

for (const entry of manifest.captures) {
  Deno.test({
    name: `sipp fixtures: ${entry.file} holds the designed calls, and tshark agrees`,
    ignore: !hasFixtures,
    async fn() {
      const path = new URL(entry.file, DIR).pathname;
      const found = await dialogsIn(path);
      assert.deepEqual([...found.linkTypes], [entry.linkType], "link type");
      assert.equal(found.format, entry.format);
      assert.equal(found.invites.size, entry.calls, "calls (distinct INVITE Call-IDs)");
      assert.equal(found.registers.size, entry.registrations.length, "registrations");

      const sip = parseSipStat(await Deno.readTextFile(path + ".sipstat.txt"));
      const designed = designedSip(entry);
      assert.equal(sip.messages, entry.sipMessages, "SIP messages");
      assert.equal(sip.resent, 0, "retransmissions");
      assert.deepEqual(sip.methods, designed.methods, "request methods");
      assert.deepEqual(sip.statuses, designed.statuses, "response codes");

      const rows = parseRtpStreams(await Deno.readTextFile(path + ".rtpstreams.txt"));
      const expected = entry.expectedCalls.flatMap((c) => c.rtp.map((s) => ({ s, c })));
      assert.equal(rows.length, expected.length, "RTP streams");
      for (const { s, c } of expected) {
        const row = rows.find((r) => r.src === s.src && r.dst === s.dst && r.ssrc === s.ssrc);
        assert.ok(row, `no tshark stream ${s.src} > ${s.dst} ${s.ssrc}`);
        assert.equal(row.packets, s.packets, `${s.ssrc} packets`);
        assert.equal(s.packets, s.segments.reduce((n, g) => n + g.packets, 0));
        assert.equal(row.payload.includes("telephone-event"), s.payloadTypes.includes(101));
        // tshark: lost = expected - received; the 3 end packets of a digit share one seq
        const digits = s.payloadTypes.includes(101) ? c.dtmf.length : 0;
        const lost = (s.dropped ?? 0) - (s.duplicated ?? 0) - 2 * digits;
        assert.equal(row.lost, lost, `${s.ssrc} lost`);
      }
    },
  });
}

Deno.test({
  name: "sipp fixtures: the impairment report matches the manifest",
  ignore: !hasFixtures,
  async fn() {
    const entry = manifest.captures.find((c) => c.shape === "impaired")!;
    const report = JSON.parse(
      await Deno.readTextFile(
        new URL(entry.file, DIR).pathname +
          ".impair.json",
      ),
    );
    const streams = entry.expectedCalls.flatMap((c) => c.rtp);
    assert.equal(report.streams.length, streams.length);
    for (const s of streams) {
      const r = report.streams.find((x: { ssrc: string }) => x.ssrc === s.ssrc);
      assert.ok(r, s.ssrc);
      assert.equal(r.flow, `${s.src} > ${s.dst}`);
      assert.equal(r.droppedSeqs.length, s.dropped);
      assert.equal(r.duplicatedSeqs.length, s.duplicated);
      assert.equal(r.swappedSeqs.length, s.reorderedPairs);
      assert.equal(r.packetsOut, s.packets);
    }
  },
});
