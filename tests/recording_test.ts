/**
 * The recording plugin end to end, judged by what the files contain: the
 * seed scenarios with the shipped rules (every answered leg's tones in the
 * right stream files and channels, durations, alignment, real parties in
 * the names, the conference's mix and tracks), real sipp calls (sox reads
 * the files; hold is silence), DVI4 and G.729 from public captures, a rule
 * that switches recording off, and a hostile Call-ID.
 */
import { toolWorks } from "./support/tools.ts";
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import { PcapWriter } from "../engine/capture/pcap_writer.ts";
import { openCapture } from "../engine/capture/open.ts";
import type { AnalysisReport } from "../engine/report.ts";
import { DEFAULT_RULES_DIR, loadRules } from "../engine/rules/rule_set.ts";
import { loadSite } from "../engine/rules/site.ts";
import { PluginHost, PluginLoadError } from "../plugins/host.ts";
import { safeName } from "../plugins/paths.ts";
import type { PluginReport } from "../plugins/plugin.ts";
import {
  channelOf,
  dominantFrequency,
  longestClippedRun,
  rms,
  spectralFlatness,
  toneAmplitude,
} from "../plugins/recording/tone_analysis.ts";
import { WavReader } from "../plugins/recording/wav_reader.ts";
import { buildUdpFrame } from "../tools/synth/packet_builder.ts";
import { SeededRandom } from "../tools/synth/random.ts";
import { RtpSender } from "../tools/synth/rtp_builder.ts";
import {
  buildSdp,
  encodeSipMessage,
  SipDialog,
  type SipDraft,
} from "../tools/synth/sip_builder.ts";

const SEED = new URL("../fixtures/seed/", import.meta.url).pathname;
const SIPP = new URL("../fixtures/sipp/", import.meta.url).pathname;
const SHARED = new URL("../../shared/captures/", import.meta.url).pathname;
const VARIANT_SITE = `${SEED}variant-site.yaml`;

const hasSox = toolWorks("sox");
const hasTshark = toolWorks("tshark");
if (!hasSox) console.log("recording_test: sox not installed, the sox checks are skipped");
if (!hasTshark) console.log("recording_test: tshark not installed, the tshark checks are skipped");

/** Tones of the seed parties (fixtures/seed/README.md). */
const PARTY_HZ: ReadonlyMap<string, number> = new Map([
  ["01077141436", 440],
  ["0212345678", 370],
  ["1427", 660],
  ["1428", 880],
  ["0287654321", 523],
  ["0319876543", 523],
  ["2002", 784],
  ["2001", 1047],
]);

interface SidecarStream {
  id: string;
  legId: string | null;
  direction: string | null;
  ssrc: string;
  sender?: string | null;
  channel: "left" | "right" | null;
  file: string | null;
  pcap: string | null;
  codecs: string[];
  sampleRate: number;
  offsetSeconds: number | null;
  durationSeconds: number;
  packets: number;
}

interface Sidecar {
  kind: "leg" | "logical-call";
  id: string;
  scenario?: string | null;
  parties: { caller: string | null; callee: string | null };
  startTs: number | null;
  durationSeconds: number;
  file: string | null;
  conference?: {
    startTs: number;
    mixed: string;
    participants: { party: string; file: string }[];
  } | null;
  streams: SidecarStream[];
}

/** RTP time covered by a G.711 stream: its first to its last packet's end, in seconds. */
interface RtpSpan {
  firstTs: number;
  lastTs: number;
  lastRaw: number;
  lastSamples: number;
}

function spanSeconds(span: RtpSpan): number {
  return (span.lastTs - span.firstTs + span.lastSamples) / 8000;
}

interface Recorded {
  dir: string;
  report: AnalysisReport;
  /** RTP spans of the G.711 streams by stream id, measured beside the plugin. */
  spans: Map<string, RtpSpan>;
  plugin: PluginReport;
  sidecars: (Sidecar & { name: string })[];
  files: string[];
  log: string[];
}

interface RecordOptions {
  /** Run the shipped rules (with this site file, default the shipped one). */
  rules?: boolean;
  site?: string;
  /** More rule files. */
  extraRules?: string[];
  /** Plugin options besides `dir`. */
  options?: Record<string, unknown>;
  /** Directory to record into (default a new temp dir). */
  dir?: string;
}

async function record(capture: string, o: RecordOptions = {}): Promise<Recorded> {
  const dir = o.dir ?? await Deno.makeTempDir({ prefix: "pw-recording-" });
  let analyzer: Analyzer;
  let site = null;
  if (o.rules) {
    const loaded = await loadSite(o.site);
    site = loaded.site;
    const { rules, errors } = await loadRules(
      o.extraRules ? [DEFAULT_RULES_DIR, ...o.extraRules] : [],
      site,
    );
    assert.deepEqual([...loaded.errors, ...errors].map(String), []);
    analyzer = new Analyzer({ rules: { rules, site } });
  } else {
    analyzer = new Analyzer();
  }
  const spans = new Map<string, RtpSpan>();
  analyzer.media.onRtpPacket((stream, header) => {
    if (header.payloadType !== 0 && header.payloadType !== 8) return;
    const span = spans.get(stream.id);
    if (!span) {
      spans.set(stream.id, {
        firstTs: header.timestamp,
        lastTs: header.timestamp,
        lastRaw: header.timestamp,
        lastSamples: header.payloadLength,
      });
      return;
    }
    const delta = (header.timestamp - span.lastRaw) | 0; // wraps at 2^32
    if (delta > 0) {
      span.lastTs += delta;
      span.lastRaw = header.timestamp;
      span.lastSamples = header.payloadLength;
    }
  });
  const log: string[] = [];
  const host = await PluginHost.load(
    analyzer,
    [{ use: "recording", options: { dir, ...o.options } }],
    { site, log: (line) => log.push(line) },
  );
  assert.ok(await analyzer.analyzeFile(capture), `cannot read ${capture}`);
  const report = analyzer.report();
  await host.close();
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(e.name);
  files.sort();
  const sidecars = [];
  for (const name of files.filter((f) => f.endsWith(".json"))) {
    sidecars.push({ name, ...JSON.parse(await Deno.readTextFile(`${dir}/${name}`)) as Sidecar });
  }
  return { dir, report, spans, plugin: host.reports[0]!, sidecars, files, log };
}

interface Wav {
  rate: number;
  channels: Int16Array[];
  duration: number;
}

function readWav(path: string): Wav {
  const r = WavReader.open(path);
  try {
    const all = new Int16Array(r.frames * r.channels);
    r.read(0, r.frames, all);
    const channels = [];
    for (let c = 0; c < r.channels; c++) {
      channels.push(r.channels === 1 ? all : channelOf(all, c, r.channels));
    }
    return { rate: r.sampleRate, channels, duration: r.frames / r.sampleRate };
  } finally {
    r.close();
  }
}

function segment(x: Int16Array, rate: number, from: number, to: number): Int16Array {
  return x.subarray(Math.max(0, Math.round(from * rate)), Math.max(0, Math.round(to * rate)));
}

/** First time (seconds) at or after `from` where the signal exceeds `level`, or -1. */
function onset(x: Int16Array, rate: number, from = 0, level = 1000): number {
  for (let i = Math.max(0, Math.round(from * rate)); i < x.length; i++) {
    if (Math.abs(x[i]!) > level) return i / rate;
  }
  return -1;
}

/**
 * A tone's amplitude in each 100 ms window (insensitive to phase jumps between sources),
 * Hann-weighted so a neighbouring tone (ringback 480 Hz beside 440 Hz) does not leak in.
 */
function windowed(x: Int16Array, rate: number, hz: number): number[] {
  const n = Math.round(rate / 10);
  const hann = Float64Array.from({ length: n }, (_, i) => 1 - Math.cos(2 * Math.PI * i / n));
  const w = new Float64Array(n);
  const out = [];
  for (let i = 0; i + n <= x.length; i += n) {
    for (let j = 0; j < n; j++) w[j] = x[i + j]! * hann[j]!;
    out.push(toneAmplitude(w, rate, hz));
  }
  return out;
}

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} is not within ${tolerance} of ${expected}`,
  );
}

async function cleanup(r: Recorded): Promise<void> {
  await Deno.remove(r.dir, { recursive: true });
}

interface ExpectedLeg {
  callId: string;
  state: string;
  media?: { phone: string; server: string; phoneHz: number; serverHz: number };
}

const SEEDS = [
  "1-normal",
  "2-transfer",
  "3-pickup",
  "4-conference",
  "5-sequential",
  "1-normal-variant",
  "2-transfer-variant",
  "3-pickup-variant",
  "4-conference-variant",
  "5-sequential-variant",
];

for (const seed of SEEDS) {
  Deno.test(`recording: ${seed} with rules: tones, durations and alignment of every answered leg`, async () => {
    const r = await record(`${SEED}${seed}.pcapng`, {
      rules: true,
      site: seed.endsWith("-variant") ? VARIANT_SITE : undefined,
    });
    try {
      assert.equal(r.plugin.errors, 0, r.plugin.firstError ?? "");
      assert.equal(r.plugin.warnings, 0, r.log.join("\n"));
      const expected = JSON.parse(await Deno.readTextFile(`${SEED}expected/${seed}.json`)) as {
        legs: ExpectedLeg[];
        calls: { caller: string }[];
      };
      const logical = r.sidecars.filter((s) => s.kind === "logical-call");
      assert.equal(logical.length, expected.calls.length);
      const streams = logical.flatMap((s) => s.streams);
      const records = new Map(r.report.streams.map((s) => [s.id, s]));
      assert.ok(records.size > 0);

      // 1. Every answered leg: each direction's stream file carries that side's tone, as long
      //    as the RTP span (first timestamp to the end of the last packet).
      let checked = 0;
      for (const leg of expected.legs.filter((l) => l.state === "answered")) {
        for (
          const [from, to, hz] of [
            [leg.media!.phone, leg.media!.server, leg.media!.phoneHz],
            [leg.media!.server, leg.media!.phone, leg.media!.serverHz],
          ] as const
        ) {
          const candidates = streams.filter((s) =>
            s.legId === leg.callId && s.id.startsWith(`${from}>${to}/`) && s.file !== null
          );
          assert.ok(candidates.length > 0, `${leg.callId}: no file for ${from}>${to}`);
          // Early media (ringback) is another SSRC on the same ports: the voice is the longest.
          const voice = candidates.sort((a, b) => b.durationSeconds - a.durationSeconds)[0]!;
          const wav = readWav(`${r.dir}/${voice.file}`);
          const x = wav.channels[0]!;
          near(dominantFrequency(x, wav.rate), hz, 3, `${voice.file} tone`);
          assert.ok(rms(x) > 2000, `${voice.file}: RMS ${rms(x)}`);
          near(wav.duration, spanSeconds(r.spans.get(voice.id)!), 0, `${voice.file} duration`);
          // ... which is the arrival span within the seed's ±0.8 ms jitter and 20 ms grid.
          near(wav.duration, records.get(voice.id)!.duration + 0.02, 0.012, voice.id);
          checked++;
        }
      }
      assert.equal(checked, 2 * expected.legs.filter((l) => l.state === "answered").length);

      // 2. Each logical call's stereo file: the caller's tone left, the others right, each
      //    stream at its place (no leak to the other channel), onsets within 20 ms.
      for (const call of logical) {
        assert.ok(call.file, `${call.name}: no stereo file`);
        const wav = readWav(`${r.dir}/${call.file}`);
        assert.equal(wav.channels.length, 2);
        const [left, right] = wav.channels as [Int16Array, Int16Array];
        const callerHz = PARTY_HZ.get(call.parties.caller!)!;
        near(dominantFrequency(left, wav.rate), callerHz, 3, `${call.file} left tone`);
        assert.ok(toneAmplitude(right, wav.rate, callerHz) < 20, "the caller leaks into the right");
        near(wav.duration, call.durationSeconds, 0.001, `${call.file} duration`);
        for (const s of call.streams.filter((s) => s.channel !== null)) {
          const own = readWav(`${r.dir}/${s.file}`);
          const hz = dominantFrequency(own.channels[0]!, own.rate);
          const [here, there] = s.channel === "left" ? [left, right] : [right, left];
          const o = s.offsetSeconds!;
          // Window by window (100 ms) where the stream has its tone, the channel has it too at
          // the same place (its own or the same party's other stream), and the other not at all.
          const start = Math.round(o * wav.rate);
          const mine = windowed(own.channels[0]!, own.rate, hz);
          const ours = windowed(
            here.subarray(start, start + own.channels[0]!.length),
            wav.rate,
            hz,
          );
          const theirs = windowed(
            there.subarray(start, start + own.channels[0]!.length),
            wav.rate,
            hz,
          );
          const active = mine.map((a, i) => [a, i] as const).filter(([a]) => a > 2000);
          assert.ok(active.length > 0, `${s.id} has no tone`);
          const kept = active.filter(([a, i]) => ours[i]! > 0.9 * a).length / active.length;
          assert.ok(kept > 0.95, `${s.id} in ${s.channel}: ${kept} of its windows`);
          const leak = Math.max(...active.map(([, i]) => theirs[i]!));
          // (An abrupt start or stop in a window spreads a little energy: 3 % of full scale.)
          assert.ok(leak < 240, `${s.id} leaks into the other channel: ${leak}`);
          if (s.sender !== null && s.sender !== undefined && s.channel === "left") {
            assert.equal(s.sender, call.parties.caller);
          }
          // Where the channel was silent just before the stream, it starts on time.
          if (rms(segment(here, wav.rate, o - 0.2, o - 0.03)) < 1) {
            near(onset(here, wav.rate, o - 0.2), o, 0.02, `${s.id} onset in ${s.channel}`);
          }
        }
        for (const channel of ["left", "right"] as const) {
          const first = Math.min(
            ...call.streams.filter((s) => s.channel === channel).map((s) => s.offsetSeconds!),
          );
          const x = channel === "left" ? left : right;
          near(onset(x, wav.rate), first, 0.02, `${call.file} ${channel} onset`);
        }
      }
    } finally {
      await cleanup(r);
    }
  });
}

Deno.test("recording: the pickup's logical call files carry the real parties, never *8", async () => {
  for (
    const [seed, site, caller, callee, code] of [
      ["3-pickup", undefined, "01077141436", "1428", safeName("*8")],
      ["3-pickup-variant", VARIANT_SITE, "0287654321", "2001", safeName("**5")],
    ] as const
  ) {
    const r = await record(`${SEED}${seed}.pcapng`, { rules: true, site });
    try {
      const call = r.sidecars.find((s) => s.kind === "logical-call")!;
      assert.equal(call.scenario, "pickup");
      assert.deepEqual(call.parties, { ...call.parties, caller, callee });
      const base = call.name.replace(/\.json$/, "");
      const own = r.files.filter((f) => f.startsWith(base));
      assert.deepEqual(own.sort(), [`${base}.json`, `${base}.wav`]);
      for (const name of own) {
        assert.match(name, new RegExp(`_${caller}_${callee}\\.(wav|json)$`));
        assert.ok(!name.includes(`_${code}`), name);
      }
      // The stream files name the wire (the pickup leg dials the code), the call file does not.
      assert.ok(r.files.some((f) => f.endsWith(".wav") && f.includes(`_${code}_`)));
    } finally {
      await cleanup(r);
    }
  }
});

Deno.test("recording: a conference gives a mixed file of all parties and a track per participant", async () => {
  for (
    const [seed, site, tones] of [
      ["4-conference", undefined, { "01077141436": 440, "1427": 660, "1428": 880 }],
      ["4-conference-variant", VARIANT_SITE, { "0287654321": 523, "2002": 784, "2001": 1047 }],
    ] as const
  ) {
    const r = await record(`${SEED}${seed}.pcapng`, { rules: true, site });
    try {
      const call = r.sidecars.find((s) => s.kind === "logical-call")!;
      const conference = call.conference!;
      assert.ok(conference, "no conference files");
      const mixed = readWav(`${r.dir}/${conference.mixed}`);
      assert.equal(mixed.channels.length, 1);
      const all = Object.values(tones) as number[];
      for (const hz of all) {
        // Present (amplitude 8000) in most of the mix: one party leaves before the end.
        const a = windowed(mixed.channels[0]!, mixed.rate, hz);
        const present = a.filter((x) => x > 6000).length / a.length;
        assert.ok(present > 0.6, `${seed}: ${hz} Hz in ${present} of the mix`);
      }
      assert.deepEqual(
        conference.participants.map((p) => p.party).sort(),
        Object.keys(tones).sort(),
      );
      for (const p of conference.participants) {
        const track = readWav(`${r.dir}/${p.file}`);
        const hz = tones[p.party as keyof typeof tones] as number;
        near(dominantFrequency(track.channels[0]!, track.rate), hz, 3, `${p.file} tone`);
        // Its own voice once (a party heard on two legs is not added to itself) ...
        const own = windowed(track.channels[0]!, track.rate, hz);
        assert.ok(Math.max(...own) < 8200, `${p.party}: amplitude ${Math.max(...own)}`);
        const present = own.filter((x) => x > 6000).length / own.length;
        assert.ok(present > 0.6, `${p.party}: own voice in ${present} of the track`);
        // ... and nobody else's.
        for (const other of all.filter((f) => f !== hz)) {
          const leak = Math.max(...windowed(track.channels[0]!, track.rate, other));
          assert.ok(leak < 240, `${p.party}: ${other} Hz at ${leak}`);
        }
        near(track.duration, mixed.duration, 0.001, `${p.file} length`);
      }
    } finally {
      await cleanup(r);
    }
  }
});

Deno.test("recording: real sipp calls without rules: stream and leg files with the RTP durations", async () => {
  const r = await record(`${SIPP}answered_udp.pcap`);
  try {
    assert.equal(r.plugin.errors, 0);
    const legs = r.sidecars.filter((s) => s.kind === "leg");
    assert.equal(legs.length, 2);
    for (const leg of legs) {
      assert.equal(leg.streams.length, 2);
      for (const s of leg.streams) {
        // 30 ms A-law packets; the caller's DTMF packets at the end are not audio.
        const wav = readWav(`${r.dir}/${s.file}`);
        assert.equal(wav.rate, 8000);
        assert.ok(rms(wav.channels[0]!) > 100, `${s.file} is silent`);
        near(wav.duration, spanSeconds(r.spans.get(s.id)!), 0, `${s.file} duration`);
        // The manifest's plan: 100 audio packets of 30 ms each way.
        near(wav.duration, 3, 0.001, `${s.file} duration`);
        assert.equal(s.channel, s.direction === "caller-to-callee" ? "left" : "right");
      }
      const stereo = readWav(`${r.dir}/${leg.file}`);
      assert.equal(stereo.channels.length, 2);
      const end = Math.max(...leg.streams.map((s) => s.offsetSeconds! + s.durationSeconds));
      near(stereo.duration, end, 0.001, `${leg.file} duration`);
      if (hasSox) {
        for (const file of [leg.file!, ...leg.streams.map((s) => s.file!)]) {
          const out = new Deno.Command("sox", { args: ["--i", `${r.dir}/${file}`] }).outputSync();
          assert.ok(out.success, new TextDecoder().decode(out.stderr));
          const info = new TextDecoder().decode(out.stdout);
          const channels = Number(/Channels\s*:\s*(\d+)/.exec(info)![1]);
          const rate = Number(/Sample Rate\s*:\s*(\d+)/.exec(info)![1]);
          const samples = Number(/=\s*(\d+)\s+samples/.exec(info)![1]);
          assert.equal(channels, file === leg.file ? 2 : 1);
          assert.equal(rate, 8000);
          near(samples / rate, readWav(`${r.dir}/${file}`).duration, 1e-9, `sox ${file}`);
        }
      }
    }
  } finally {
    await cleanup(r);
  }
});

Deno.test("recording: loss, duplicates and reordering (sipp answered_udp_impaired.pcap)", async () => {
  const plan = JSON.parse(
    await Deno.readTextFile(`${SIPP}answered_udp_impaired.pcap.impair.json`),
  ) as { streams: { flow: string; ssrc: string; droppedSeqs: number[] }[] };
  const clean = await record(`${SIPP}answered_udp.pcap`);
  const impaired = await record(`${SIPP}answered_udp_impaired.pcap`);
  try {
    assert.equal(impaired.plugin.errors, 0);
    const files = (r: Recorded) =>
      new Map(r.sidecars.flatMap((c) => c.streams).map((s) => [s.id, `${r.dir}/${s.file}`]));
    const a = files(clean);
    const b = files(impaired);
    assert.equal(b.size, 4);
    for (const stream of plan.streams) {
      const [src, dst] = stream.flow.split(" > ");
      const id = `${src}>${dst}/${stream.ssrc}`;
      const x = readWav(a.get(id)!).channels[0]!;
      const y = readWav(b.get(id)!).channels[0]!;
      // Same length and place: duplicates dropped, swapped packets put back in order ...
      assert.equal(y.length, x.length, id);
      // ... and the only differences are the dropped packets (30 ms, 240 samples), now silence.
      const differing = new Set<number>();
      for (let i = 0; i < x.length; i++) {
        if (x[i] !== y[i]) {
          differing.add(Math.floor(i / 240));
          assert.equal(y[i], 0, `${id}: sample ${i}`);
        }
      }
      assert.equal(differing.size, stream.droppedSeqs.length, `${id}: ${[...differing]}`);
      for (const block of differing) assert.ok(rms(x.subarray(block * 240, block * 240 + 240)) > 0);
    }
  } finally {
    await cleanup(clean);
    await cleanup(impaired);
  }
});

Deno.test("recording: hold is silence in the held side's channel (sipp hold_udp.pcap)", async () => {
  const r = await record(`${SIPP}hold_udp.pcap`);
  try {
    const leg = r.sidecars.find((s) => s.kind === "leg")!;
    const call = r.report.calls[0]!;
    const hold = call.holds[0]!;
    assert.ok(hold && hold.end !== null, "the capture has a hold");
    const stereo = readWav(`${r.dir}/${leg.file}`);
    const [left, right] = stereo.channels as [Int16Array, Int16Array];
    const t0 = leg.startTs!;
    // The callee was put on hold and stopped sending (sendonly/recvonly): silence on the right.
    const quietFrom = Math.max(hold.start, t0) - t0 + 0.1;
    const quietTo = hold.end! - t0 - 0.1;
    assert.ok(quietTo - quietFrom > 2, `hold of ${quietTo - quietFrom} s`);
    assert.equal(rms(segment(right, stereo.rate, quietFrom, quietTo)), 0);
    assert.ok(rms(segment(right, stereo.rate, 0, hold.start - t0 - 0.1)) > 100);
    assert.ok(rms(segment(right, stereo.rate, hold.end! - t0 + 0.1, stereo.duration)) > 100);
    // The caller went on sending while holding; its channel is not silent there.
    assert.ok(rms(segment(left, stereo.rate, quietFrom, quietTo)) > 100);
  } finally {
    await cleanup(r);
  }
});

Deno.test("recording: DVI4 at 8 and 16 kHz from a public capture is plausible audio of the right length", async () => {
  const r = await record(`${SHARED}redrabbit__sip-rtp-dvi4.pcap`);
  try {
    assert.equal(r.plugin.warnings, 0, r.log.join("\n"));
    const streams = r.sidecars.flatMap((s) => s.streams);
    assert.deepEqual(streams.map((s) => s.sampleRate).sort(), [16000, 8000]);
    for (const s of streams) {
      const wav = readWav(`${r.dir}/${s.file}`);
      const x = wav.channels[0]!;
      // 425 packets of 20 ms each (tshark: no loss).
      assert.equal(s.packets, 425);
      near(wav.duration, 425 * 0.02, 0.001, `${s.file} duration`);
      assert.ok(rms(x) > 300, `${s.file}: RMS ${rms(x)}`);
      assert.ok(longestClippedRun(x) < 8, `${s.file} clips`);
      // Speech or tones, not noise a broken decoder would make.
      assert.ok(spectralFlatness(x, wav.rate) < 0.3, `${s.file}: flatness`);
    }
  } finally {
    await cleanup(r);
  }
});

Deno.test("recording: G.729 is reported once and its packets are kept in a pcap", async () => {
  const r = await record(`${SHARED}lundgrel__sip-rtp-g729a.pcap`);
  try {
    assert.equal(r.plugin.errors, 0);
    assert.equal(r.plugin.warnings, 1);
    assert.match(r.log.join("\n"), /G729 \(payload type 18\) cannot be decoded/);
    const pcaps = r.files.filter((f) => f.endsWith(".pcap"));
    assert.equal(pcaps.length, 1);
    assert.equal(r.files.filter((f) => f.endsWith(".wav")).length, 0);
    const leg = r.sidecars.find((s) => s.kind === "leg")!;
    assert.equal(leg.file, null);
    assert.deepEqual(leg.streams.map((s) => s.pcap), pcaps);
    // Our reader sees every frame, with the capture's link type and original bytes.
    const opened = await openCapture(`${r.dir}/${pcaps[0]}`);
    let frames = 0;
    const summary = await opened.source.run({ onFrame: () => void frames++ });
    opened.close();
    assert.equal(frames, 425);
    assert.deepEqual([...summary.linkTypes.keys()], [1]);
    if (hasTshark) {
      const out = new Deno.Command("tshark", {
        args: [
          "-r",
          `${r.dir}/${pcaps[0]}`,
          "-o",
          "rtp.heuristic_rtp:TRUE",
          "-T",
          "fields",
          "-e",
          "rtp.p_type",
        ],
      }).outputSync();
      assert.ok(out.success);
      const types = new TextDecoder().decode(out.stdout).trim().split("\n");
      assert.equal(types.length, 425);
      assert.ok(types.every((t) => t === "18"));
    }
  } finally {
    await cleanup(r);
  }
});

Deno.test("recording: a rule with record: false keeps that leg out of every file", async () => {
  const dir = await Deno.makeTempDir();
  const rule = `${dir}/no_record.yaml`;
  await Deno.writeTextFile(
    rule,
    `rules:
  - id: test.no-record-1427
    description: Calls to 1427 are not recorded.
    on: call.started
    when: { "==": [{ var: leg.callee.number }, "1427"] }
    then:
      set:
        leg.record: false
`,
  );
  const r = await record(`${SEED}2-transfer.pcapng`, { rules: true, extraRules: [rule] });
  try {
    const call = r.sidecars.find((s) => s.kind === "logical-call")!;
    const first = "e091034a9f3bf6810bb0bf992c0a15e9eacf874f@112.222.225.77";
    assert.ok(call.streams.every((s) => s.legId !== first));
    const streamFiles = r.files.filter((f) => /_(caller-to-callee|callee-to-caller)_/.test(f));
    assert.equal(streamFiles.length, 2);
    assert.ok(streamFiles.every((f) => f.includes("_9bdffcde4d1683688a469de826eaa422e6034f38_")));
    const wav = readWav(`${r.dir}/${call.file}`);
    assert.ok(toneAmplitude(wav.channels[1]!, wav.rate, 660) < 5, "1427 was recorded");
    assert.ok(toneAmplitude(wav.channels[1]!, wav.rate, 880) > 2000, "1428 is missing");
    assert.ok(toneAmplitude(wav.channels[0]!, wav.rate, 440) > 2000, "the caller is missing");
  } finally {
    await cleanup(r);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recording: streams: false still makes call files and leaves no stream files", async () => {
  const r = await record(`${SEED}1-normal.pcapng`, { rules: true, options: { streams: false } });
  try {
    assert.deepEqual(r.files.map((f) => f.replace(/^.*\./, "")).sort(), ["json", "wav"]);
    const entries = [];
    for await (const e of Deno.readDir(r.dir)) entries.push(e.name);
    assert.equal(entries.length, 2, "the work directory was not removed");
    const wav = readWav(`${r.dir}/${r.sidecars[0]!.file}`);
    near(dominantFrequency(wav.channels[0]!, wav.rate), 440, 3, "left");
    near(dominantFrequency(wav.channels[1]!, wav.rate), 660, 3, "right");
  } finally {
    await cleanup(r);
  }
});

/** A call whose Call-ID tries to climb out of the recording directory. */
async function hostileCapture(path: string): Promise<void> {
  const random = new SeededRandom(7);
  const caller = { ip: "10.9.0.1", sip: 5060, rtp: 40000 };
  const callee = { ip: "10.9.0.2", sip: 5060, rtp: 50000 };
  const dialog = new SipDialog({
    callId: "../../etc/x",
    random,
    caller: {
      uri: "sip:../../a@10.9.0.1",
      tag: "t1",
      contact: "sip:a@10.9.0.1",
      host: caller.ip,
      port: caller.sip,
    },
    callee: {
      uri: "sip:..%2F..%2Fb@10.9.0.2",
      tag: "t2",
      contact: "sip:b@10.9.0.2",
      host: callee.ip,
      port: callee.sip,
    },
  });
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file);
  let t = 1_750_000_000;
  const sip = async (from: typeof caller, to: typeof caller, draft: SipDraft) => {
    const frame = buildUdpFrame({
      src: { ip: from.ip, port: from.sip },
      dst: { ip: to.ip, port: to.sip },
      payload: encodeSipMessage(draft),
    });
    await writer.writePacket(t, frame);
    t += 0.01;
  };
  const sdp = (ip: string, port: number) =>
    buildSdp({ address: ip, port, payloadTypes: [0], sessionId: 1, sessionVersion: 1 });
  const invite = dialog.invite({ body: sdp(caller.ip, caller.rtp) });
  await sip(caller, callee, invite);
  const ok = dialog.respond(invite, 200, { body: sdp(callee.ip, callee.rtp) });
  await sip(callee, caller, ok);
  await sip(caller, callee, dialog.ack(invite, ok));
  const a = new RtpSender({ ssrc: 0x11, frequency: 500 });
  const b = new RtpSender({ ssrc: 0x22, frequency: 700 });
  const packets = [
    ...[...a.span(t, t + 1)].map((p) => ({ ...p, from: caller, to: callee })),
    ...[...b.span(t, t + 1)].map((p) => ({ ...p, from: callee, to: caller })),
  ].sort((x, y) => x.time - y.time);
  for (const p of packets) {
    await writer.writePacket(
      p.time,
      buildUdpFrame({
        src: { ip: p.from.ip, port: p.from.rtp },
        dst: { ip: p.to.ip, port: p.to.rtp },
        payload: p.packet,
      }),
    );
  }
  t += 1.1;
  await sip(caller, callee, dialog.request("caller", "BYE"));
  await writer.close();
}

Deno.test("recording: a hostile Call-ID and users write only inside dir", async () => {
  const root = await Deno.makeTempDir({ prefix: "pw-hostile-" });
  try {
    await Deno.mkdir(`${root}/a/b`, { recursive: true });
    const capture = `${root}/hostile.pcap`;
    await hostileCapture(capture);
    const dir = `${root}/a/b/rec`;
    for (const rules of [false, true]) {
      const r = await record(capture, { rules, dir });
      assert.equal(r.plugin.errors, 0, r.plugin.firstError ?? "");
      assert.equal(r.report.calls[0]?.callId, "../../etc/x");
      assert.ok(r.files.filter((f) => f.endsWith(".wav")).length >= 3, r.files.join(", "));
      assert.ok(r.files.every((f) => f.includes("_etc_x_")), r.files.join(", "));
    }
    // Nothing anywhere else under root.
    const found: string[] = [];
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(d)) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory) await walk(p);
        else found.push(p.slice(root.length + 1));
      }
    };
    await walk(root);
    assert.ok(
      found.every((p) => p === "hostile.pcap" || p.startsWith("a/b/rec/")),
      found.join("\n"),
    );
    const sidecar = found.find((p) => p.endsWith(".json"))!;
    const parsed = JSON.parse(await Deno.readTextFile(`${root}/${sidecar}`));
    assert.equal(parsed.streams.length, 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("recording: bad options are a load error naming the plugin", async () => {
  for (
    const options of [{}, { dir: "" }, { dir: "/tmp/x", jitterMs: -1 }, {
      dir: "/tmp/x",
      calls: "yes",
    }]
  ) {
    await assert.rejects(
      () => PluginHost.load(new Analyzer(), [{ use: "recording", options }]),
      (e: unknown) => e instanceof PluginLoadError && /recording/.test(e.message),
    );
  }
});

Deno.test("recording: input cut short: close() leaves valid files for what was seen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pw-recording-" });
  try {
    const { site } = await loadSite();
    const { rules } = await loadRules([], site);
    const analyzer = new Analyzer({ rules: { rules, site } });
    const host = await PluginHost.load(analyzer, [{ use: "recording", options: { dir } }], {
      site,
      log: () => {},
    });
    // Stop in the middle of the conference's three-party phase: no leg has ended.
    const opened = await openCapture(`${SEED}4-conference.pcapng`);
    let cutAt = 0;
    await opened.source.run({
      onFrame: (frame) => {
        if (cutAt !== 0) return;
        analyzer.onFrame(frame);
        if (frame.ts >= 1742358560) {
          cutAt = frame.ts;
          opened.source.stop();
        }
      },
    });
    opened.close();
    await host.close(); // no analyzer.finish(): as when the process is interrupted
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const wavs = names.filter((n) => n.endsWith(".wav"));
    // Seven stream files and one stereo file per leg (the logical call never completed).
    assert.equal(wavs.filter((n) => /_(caller|callee)-to-(callee|caller)_/.test(n)).length, 7);
    assert.equal(names.filter((n) => n.endsWith(".json")).length, 3);
    for (const name of wavs) {
      const wav = readWav(`${dir}/${name}`);
      assert.ok(wav.duration > 0, name);
      if (hasSox) {
        const out = new Deno.Command("sox", { args: ["--i", "-D", `${dir}/${name}`] }).outputSync();
        assert.ok(out.success, name);
        near(Number(new TextDecoder().decode(out.stdout)), wav.duration, 0.001, name);
      }
    }
    // The master leg's stereo file runs up to the cut.
    const master = JSON.parse(
      Deno.readTextFileSync(
        `${dir}/${names.find((n) => n.includes("_3749d461") && n.endsWith(".json"))}`,
      ),
    ) as Sidecar;
    near(master.startTs! + master.durationSeconds, cutAt, 0.05, "end of the master leg's file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every file of a directory, by name, with its bytes. */
function contents(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of Deno.readDirSync(dir)) {
    if (e.isFile) out.set(e.name, Deno.readFileSync(`${dir}/${e.name}`));
  }
  return out;
}

/** No memory to go faster: everything synchronous, call files mixed from the stream files. */
const NO_MEMORY = { retainBytes: 0, pendingBytes: 0, inFlightBytes: 0 };

Deno.test("recording: without memory to go faster, the very same files (with and without rules)", async () => {
  const cases: [string, RecordOptions][] = [
    [`${SEED}4-conference.pcapng`, { rules: true }],
    [`${SEED}2-transfer.pcapng`, { rules: true, options: { streams: false } }],
    [`${SIPP}answered_udp_impaired.pcap`, {}],
    [`${SHARED}redrabbit__sip-rtp-dvi4.pcap`, {}],
  ];
  for (const [capture, o] of cases) {
    const fast = await record(capture, o);
    const slow = await record(capture, { ...o, options: { ...o.options, memory: NO_MEMORY } });
    const tight = await record(capture, {
      ...o,
      options: {
        ...o.options,
        memory: { retainBytes: 70000, pendingBytes: 30000, inFlightBytes: 9000 },
      },
    });
    try {
      const want = contents(fast.dir);
      assert.ok(want.size > 0, capture);
      for (const other of [slow, tight]) {
        const got = contents(other.dir);
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), capture);
        for (const [name, bytes] of want) {
          assert.deepEqual(got.get(name), bytes, `${capture}: ${name}`);
        }
        assert.equal(other.plugin.warnings, fast.plugin.warnings, other.log.join("\n"));
        assert.equal(other.plugin.errors, 0);
      }
    } finally {
      for (const r of [fast, slow, tight]) await cleanup(r);
    }
  }
});

Deno.test("recording: bad memory options are a load error naming the plugin", async () => {
  for (const memory of [5, { retainBytes: -1 }, { pendingBytes: "lots" }, { inFlightBytes: NaN }]) {
    await assert.rejects(
      () =>
        PluginHost.load(new Analyzer(), [{ use: "recording", options: { dir: "/tmp/x", memory } }]),
      (e: unknown) => e instanceof PluginLoadError && /memory/.test(e.message),
    );
  }
});

Deno.test("recording: files that cannot be written are reported, and close() still finishes", async () => {
  for (const memory of [undefined, NO_MEMORY]) {
    const dir = await Deno.makeTempDir({ prefix: "pw-recording-" });
    const log: string[] = [];
    const analyzer = new Analyzer();
    const host = await PluginHost.load(
      analyzer,
      [{ use: "recording", options: { dir, memory } }],
      { log: (line) => log.push(line) },
    );
    await Deno.remove(dir, { recursive: true }); // gone before the first file
    assert.ok(await analyzer.analyzeFile(`${SIPP}answered_udp.pcap`));
    analyzer.report();
    await host.close();
    const report = host.reports[0]!;
    assert.equal(report.errors, 0, report.firstError ?? "");
    assert.ok(report.warnings >= 3, log.join("\n")); // two stream files, the call file, its sidecar
    assert.ok(log.some((l) => /cannot write .*NotFound|No such file/i.test(l)), log.join("\n"));
    assert.ok(!(await Deno.stat(dir).then(() => true, () => false)));
  }
});
